//! The built-in `format-jwt-vc-json` plugin (`jwt_vc_json`, W3C VC as JWT).
//!
//! Server tests claim `employee_badge_jwt_vc` with the independent Node wallet,
//! which verifies the JWT with `jose` against the key published at
//! `/.well-known/jwt-vc-issuer` (signature, `iss`, `nbf`/`exp`), and checks the
//! VC structure and the holder binding (`sub` = did:jwk = `cnf.jwk` = the
//! proof key). Plugin tests load the component in the real runtime and check
//! options and failures, verifying signatures with `p256` directly.

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Map, Value, json};
use sigil_keys::{IssuerKey, Signer as _};
use sigil_plugin_host::{
    CredentialSlot, FormatConfiguration, FormatFailure, IssueInput, PluginError, StatusReference,
};
use sigil_tests::holder::Holder;
use sigil_tests::plugins::LoadedPlugin;
use sigil_tests::wallet;

use crate::offers::{create, issuer};

const CONFIG: &str = "employee_badge_jwt_vc";
const PLUGIN: &str = "format-jwt-vc-json";
const TYPES: [&str; 2] = ["VerifiableCredential", "EmployeeBadgeCredential"];

pub fn jwt_vc_offer(given_name: &str) -> Value {
    json!({
        "credentialConfigurationIds": [CONFIG],
        "credentialClaims": { CONFIG: { "type": "inline", "claims": {
            "given_name": given_name, "family_name": "Lovelace", "employee_id": "E-7",
            "department": "Engines" } } }
    })
}

/// Checks every credential of a wallet report for `employee_badge_jwt_vc`.
pub fn assert_jwt_vcs(report: &Value, issuer: &str, count: usize, given_name: &str) {
    assert_eq!(report["ok"], true, "{report}");
    let creds: Vec<&Value> = report["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["configurationId"] == CONFIG)
        .collect();
    assert_eq!(creds.len(), count, "{report}");
    let mut thumbprints = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for c in creds {
        assert_eq!(c["format"], "jwt_vc_json");
        assert_eq!(c["verified"], true);
        assert_eq!(c["keySource"], "jwt-vc-issuer", "kid resolved via the JWKS");
        assert_eq!(c["header"]["alg"], "ES256");
        assert_eq!(c["header"]["typ"], "JWT");
        let p = &c["payload"];
        assert_eq!(p["iss"], issuer);
        assert_eq!(p["vc"]["type"], json!(TYPES));
        assert_eq!(
            p["vc"]["@context"][0],
            "https://www.w3.org/2018/credentials/v1"
        );
        assert!(p["vc"]["issuanceDate"].as_str().unwrap().ends_with('Z'));
        let nbf = p["nbf"].as_i64().unwrap();
        assert_eq!(
            nbf % 3600,
            0,
            "nbf rounded to the hour (batch unlinkability)"
        );
        assert_eq!(p["exp"].as_i64().unwrap() - nbf, 31_536_000);
        assert!(p["sub"].as_str().unwrap().starts_with("did:jwk:"));
        assert_eq!(c["subjectId"], p["sub"]);
        assert_eq!(c["cnfMatchesHolderKey"], true);
        assert_eq!(c["claims"]["given_name"], given_name);
        assert_eq!(c["claims"]["family_name"], "Lovelace");
        thumbprints.insert(c["holderKeyThumbprint"].as_str().unwrap().to_owned());
        ids.insert(p["jti"].as_str().unwrap().to_owned());
    }
    assert_eq!(thumbprints.len(), count, "each credential has its own key");
    assert_eq!(ids.len(), count, "each credential has its own jti");
}

#[tokio::test]
async fn jwt_vc_is_claimed_and_verified_with_jose() {
    let app = issuer().await;
    let created = create(&app, &jwt_vc_offer("Ada")).await;
    let report =
        wallet::claim(json!({ "offer": created["credentialOffer"], "includeRaw": true })).await;
    assert_jwt_vcs(&report, &app.address, 1, "Ada");
    // The issuance record carries the credential's `jti`, read from the JWT the wallet got.
    let raw = report["credentials"][0]["credential"].as_str().unwrap();
    let jti = b64_json(raw.split('.').nth(1).unwrap())["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(jti.starts_with("urn:uuid:"), "{jti}");
    let offer_id = created["offerId"].as_str().unwrap();
    let view: Value = app
        .admin_get(&format!("/admin/v1/offers/{offer_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["credentials"][0]["identifier"], jti.as_str(), "{view}");
    // An operator finds the credential by it.
    let found: Value = app
        .admin_get(&format!("/admin/v1/credentials?identifier={jti}"))
        .await
        .json()
        .await
        .unwrap();
    let found = found["credentials"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0]["credentialId"],
        view["credentials"][0]["credentialId"]
    );
    assert_eq!(found[0]["identifier"], jti.as_str());
    let vc = &report["credentials"][0]["payload"]["vc"];
    assert_eq!(vc["issuer"], app.address.as_str());
    assert!(vc["id"].as_str().unwrap().starts_with("urn:uuid:"));
    assert!(vc.get("evidence").is_none());
    // Status lists are on by default: the entry, in both places.
    let status = &report["credentials"][0]["payload"]["status"]["status_list"];
    assert_eq!(status["uri"], format!("{}/statuslists/1", app.address));
    assert_eq!(vc["credentialStatus"]["type"], "TokenStatusListEntry");
    assert_eq!(
        vc["credentialStatus"]["statusListCredential"],
        status["uri"]
    );
    assert_eq!(vc["credentialStatus"]["statusListIndex"], status["idx"]);
}

#[tokio::test]
async fn jwt_vc_batch_of_three_binds_each_credential_to_its_own_key() {
    let app = issuer().await;
    let created = create(&app, &jwt_vc_offer("Grace")).await;
    let report = wallet::claim(json!({ "offer": created["credentialOffer"], "batch": 3 })).await;
    assert_jwt_vcs(&report, &app.address, 3, "Grace");
}

#[tokio::test]
async fn jwt_vc_claims_fall_back_to_the_static_source() {
    let app = issuer().await;
    let created = create(&app, &json!({ "credentialConfigurationIds": [CONFIG] })).await;
    let report = wallet::claim(json!({ "offer": created["credentialOffer"] })).await;
    assert_jwt_vcs(&report, &app.address, 1, "Ada");
    assert_eq!(report["credentials"][0]["claims"]["employee_id"], "E-1815");
}

#[tokio::test]
async fn jwt_vc_metadata_uses_jose_names_and_credential_subject_paths() {
    let app = issuer().await;
    let metadata: Value = app
        .get("/.well-known/openid-credential-issuer")
        .await
        .json()
        .await
        .unwrap();
    let c = &metadata["credential_configurations_supported"][CONFIG];
    assert_eq!(c["format"], "jwt_vc_json");
    assert_eq!(c["scope"], CONFIG);
    assert_eq!(c["credential_definition"], json!({ "type": TYPES }));
    assert_eq!(
        c["credential_signing_alg_values_supported"],
        json!(["ES256"])
    );
    assert_eq!(
        c["cryptographic_binding_methods_supported"],
        json!(["did:jwk", "jwk"])
    );
    assert_eq!(
        c["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"],
        json!(["ES256", "ES384", "EdDSA"])
    );
    assert!(c.get("vct").is_none() && c.get("doctype").is_none());
    let claims = c["credential_metadata"]["claims"].as_array().unwrap();
    assert_eq!(
        claims[0]["path"],
        json!(["credentialSubject", "given_name"])
    );
    assert_eq!(claims[0]["mandatory"], true);
    assert!(
        claims
            .iter()
            .all(|c| c["path"][0] == "credentialSubject" && c.get("sd").is_none())
    );
    assert_eq!(
        c["credential_metadata"]["display"][0]["name"],
        "Employee Badge (W3C VC)"
    );
}

#[tokio::test]
async fn jwt_vc_missing_mandatory_claim_is_a_clear_error() {
    let app = issuer().await;
    let mut offer = jwt_vc_offer("Ada");
    offer["credentialClaims"][CONFIG]["claims"]
        .as_object_mut()
        .unwrap()
        .remove("family_name");
    let created = create(&app, &offer).await;
    let report = wallet::claim(json!({ "offer": created["credentialOffer"] })).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["stage"], "credential");
    assert_eq!(report["status"], 400, "{report}");
    assert_eq!(report["error"], "credential_request_denied", "{report}");
    let description = report["errorDescription"].as_str().unwrap();
    assert!(
        description.contains("['credentialSubject','family_name']")
            && description.contains("mandatory"),
        "the error names the claim: {description}"
    );
}

#[tokio::test]
async fn p384_holder_key_is_an_invalid_proof() {
    let app = issuer().await;
    let created = create(&app, &jwt_vc_offer("Ada")).await;
    let code = crate::offers::pre_authorized_code(&app, &created).await;
    let token: Value = app
        .post_form(
            "/token",
            &[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                ),
                ("pre-authorized_code", &code),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    let nonce = crate::credential::nonce(&app).await;
    let holder = Holder::new();
    let p384 = json!({ "kty": "EC", "crv": "P-384",
        "x": URL_SAFE_NO_PAD.encode([7u8; 48]), "y": URL_SAFE_NO_PAD.encode([9u8; 48]) });
    let proof = holder.sign(
        &json!({ "typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": p384 }),
        &json!({ "aud": app.address, "iat": sigil_tests::holder::now(), "nonce": nonce }),
    );
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&json!({ "credential_configuration_id": CONFIG, "proofs": { "jwt": [proof] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_proof", "{body}");
}

// --- the plugin in the runtime ---------------------------------------------

fn plugin() -> LoadedPlugin {
    sigil_tests::plugins::load_only(PLUGIN)
}

fn settings() -> Value {
    json!({
        "id": CONFIG, "format": "jwt_vc_json",
        "credential_definition": { "type": TYPES },
        "claims": [
            {"path": ["given_name"], "mandatory": true},
            {"path": ["credentialSubject", "address", "locality"]}
        ],
        "format_options": {
            "vcdm": "2.0",
            "context": ["https://example.com/contexts/badge/v1"],
            "evidence": [{"type": ["DocumentVerification"], "verifier": "https://hr.example.com"}],
            "terms_of_use": [{"type": "IssuerPolicy", "id": "https://example.com/policy"}]
        },
        "signing_algorithms": ["ES256"]
    })
}

fn configuration(settings: Value) -> FormatConfiguration {
    sigil_tests::plugins::configuration(CONFIG, "jwt_vc_json", settings)
}

fn claims() -> Map<String, Value> {
    json!({ "given_name": "Ada", "address": { "locality": "London" } })
        .as_object()
        .unwrap()
        .clone()
}

fn input(settings: Value, claims: Map<String, Value>, slots: Vec<CredentialSlot>) -> IssueInput {
    IssueInput {
        configuration: configuration(settings),
        claims,
        issuer: "https://issuer.example.com".into(),
        issued_at: 1_767_225_600,
        expires_at: Some(1_798_761_600),
        slots,
    }
}

fn slot(holder_key: Value) -> CredentialSlot {
    CredentialSlot {
        holder_key: Some(holder_key),
        status: None,
    }
}

fn b64_json(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn format_failure(result: Result<impl std::fmt::Debug, PluginError>) -> FormatFailure {
    sigil_tests::plugins::format_failure(PLUGIN, result)
}

#[tokio::test]
async fn vcdm2_options_evidence_terms_and_status_are_issued_and_signed() {
    let p = plugin();
    let key = Arc::new(IssuerKey::generate_p256());
    let holder = Holder::new();
    let mut with_status = slot(holder.jwk.clone());
    with_status.status = Some(StatusReference {
        uri: "https://issuer.example.com/status/7".into(),
        index: 4711,
    });
    let credentials =
        p.rt.issue(
            PLUGIN,
            &input(settings(), claims(), vec![with_status]),
            key.clone(),
        )
        .await
        .unwrap();
    let jwt = &credentials[0];
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let jwk = key.public_jwk();
    let verifying = VerifyingKey::from(
        p256::PublicKey::from_jwk_str(
            &json!({"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}).to_string(),
        )
        .unwrap(),
    );
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
    verifying
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("ES256 signature over header.payload");

    let header = b64_json(parts[0]);
    assert_eq!(
        header,
        json!({"alg": "ES256", "typ": "JWT", "kid": key.key_id()})
    );
    let payload = b64_json(parts[1]);
    let did = format!("did:jwk:{}", URL_SAFE_NO_PAD.encode(holder.jwk.to_string()));
    assert_eq!(payload["sub"], did);
    assert_eq!(payload["cnf"]["jwk"], holder.jwk);
    assert_eq!(payload["nbf"], 1_767_225_600);
    assert_eq!(payload["exp"], 1_798_761_600);
    assert_eq!(
        payload["status"],
        json!({"status_list": {"idx": 4711, "uri": "https://issuer.example.com/status/7"}})
    );
    let vc = &payload["vc"];
    assert_eq!(
        vc["@context"],
        json!([
            "https://www.w3.org/ns/credentials/v2",
            "https://example.com/contexts/badge/v1"
        ])
    );
    assert_eq!(vc["validFrom"], "2026-01-01T00:00:00Z");
    assert_eq!(vc["validUntil"], "2027-01-01T00:00:00Z");
    assert!(vc.get("issuanceDate").is_none());
    assert_eq!(vc["id"], payload["jti"]);
    assert_eq!(vc["credentialSubject"]["id"], did);
    assert_eq!(vc["credentialSubject"]["address"]["locality"], "London");
    assert_eq!(vc["evidence"][0]["type"][0], "DocumentVerification");
    assert_eq!(vc["termsOfUse"][0]["type"], "IssuerPolicy");
    assert_eq!(
        vc["credentialStatus"]["id"],
        "https://issuer.example.com/status/7#4711"
    );

    // A changed payload no longer verifies.
    let mut forged = payload.clone();
    forged["vc"]["credentialSubject"]["given_name"] = json!("Eve");
    let forged = format!(
        "{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged.to_string())
    );
    assert!(verifying.verify(forged.as_bytes(), &signature).is_err());
}

#[tokio::test]
async fn jwt_vc_refuses_bad_settings_claims_and_keys() {
    let p = plugin();
    let key = Arc::new(IssuerKey::generate_p256());
    let holder = Holder::new().jwk;

    let mut s = settings();
    s.as_object_mut().unwrap().remove("credential_definition");
    let e = format_failure(p.rt.format_metadata(PLUGIN, &configuration(s)).await);
    assert!(
        matches!(&e, FormatFailure::InvalidConfiguration(m) if m.contains("credential_definition.type")),
        "{e:?}"
    );

    let mut s = settings();
    s["format_options"]["vcdm"] = json!("3.0");
    let e = format_failure(p.rt.format_metadata(PLUGIN, &configuration(s)).await);
    assert!(
        matches!(&e, FormatFailure::InvalidConfiguration(m) if m.contains("format_options.vcdm")),
        "{e:?}"
    );

    let mut c = claims();
    c.remove("given_name");
    let e = format_failure(
        p.rt.issue(
            PLUGIN,
            &input(settings(), c, vec![slot(holder.clone())]),
            key.clone(),
        )
        .await,
    );
    assert!(
        matches!(&e, FormatFailure::InvalidClaims(m) if m.contains(r#"["credentialSubject","given_name"]"#)),
        "{e:?}"
    );

    let mut c = claims();
    c.insert("id".into(), json!("did:example:someone-else"));
    let e = format_failure(
        p.rt.issue(
            PLUGIN,
            &input(settings(), c, vec![slot(holder.clone())]),
            key.clone(),
        )
        .await,
    );
    assert!(
        matches!(&e, FormatFailure::InvalidClaims(m) if m.contains("`id`")),
        "{e:?}"
    );

    let mut private = holder.clone();
    private["d"] = json!("c2VjcmV0");
    let e = format_failure(
        p.rt.issue(
            PLUGIN,
            &input(settings(), claims(), vec![slot(private)]),
            key.clone(),
        )
        .await,
    );
    assert!(
        matches!(&e, FormatFailure::UnsupportedHolderKey(m) if m.contains("private")),
        "{e:?}"
    );
}

//! The built-in `format-mso-mdoc` plugin (`mso_mdoc`, ISO/IEC 18013-5).
//!
//! Every credential is verified by the independent Node wallet with
//! `@animo-id/mdoc` (issuerAuth COSE_Sign1 with the x5chain leaf, x5chain
//! against the IACA trust anchor, MSO validity, every item digest) plus its
//! own checks (docType, deviceKey = the proof key, unpadded base64url).
//!
//! Plugin tests load the component in the real runtime, signing with a P-256
//! key whose document-signer certificate is made here with `rcgen` under a
//! test IACA (independent of Sigil's key code). Server tests claim
//! `mdl_mdoc` through the wallet and trust the IACA the server wrote to
//! `<keys>/<tenant>/iaca.pem`.
//!
//! `issuing_country` (ISO/IEC 18013-5 §9.3.1): `@animo-id/mdoc` refuses an
//! mDL whose `issuing_country` differs from the DS certificate's
//! `countryName`; the tests show it does, then that Sigil never issues one
//! (refused at offer creation, denied at the credential endpoint, filled in
//! when missing). The wallet's `iso-profile` mode checks the demo IACA and
//! DS certificates against the Annex B profiles (`@peculiar/asn1-x509`).

use std::collections::BTreeSet;
use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use clap::Parser as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, date_time_ymd,
};
use serde_json::{Value, json};
use sigil_keys::{IssuerKey, Signer as _};
use sigil_plugin_host::{
    CredentialSlot, FormatConfiguration, FormatFailure, IssueInput, PluginError,
};
use sigil_tests::holder::Holder;
use sigil_tests::plugins::LoadedPlugin;
use sigil_tests::{Spawn, TestApp, wallet};

use crate::offers::{create, issuer};

const CONFIG: &str = "mdl_mdoc";
const PLUGIN: &str = "format-mso-mdoc";
const DOCTYPE: &str = "org.iso.18013.5.1.mDL";
const MDL: &str = "org.iso.18013.5.1";
const AAMVA: &str = "org.iso.18013.5.1.aamva";
/// A tiny JPEG (the portrait travels as bytes).
const PORTRAIT: &str = "/9j/4AAQSkZJRgABAQEAYABgAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACf/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AKp//2Q==";
/// The mDL mandatory data elements (ISO/IEC 18013-5 §7.2.1).
const MDL_MANDATORY: [&str; 11] = [
    "family_name",
    "given_name",
    "birth_date",
    "issue_date",
    "expiry_date",
    "issuing_country",
    "issuing_authority",
    "document_number",
    "portrait",
    "driving_privileges",
    "un_distinguishing_sign",
];

/// mDL claims: top-level elements (default namespace) and one nested namespace.
pub fn mdl_claims(given_name: &str, country: &str) -> Value {
    json!({
        "family_name": "Lovelace",
        "given_name": given_name,
        "birth_date": "1815-12-10",
        "issue_date": "2026-01-01",
        "expiry_date": "2036-01-01",
        "issuing_country": country,
        "issuing_authority": "Sigil Test Licensing Authority",
        "document_number": "D-1815",
        "portrait": PORTRAIT,
        "driving_privileges": [
            { "vehicle_category_code": "B", "issue_date": "2026-01-01", "expiry_date": "2036-01-01",
              "codes": [{ "code": "01" }] }
        ],
        "un_distinguishing_sign": country,
        "age_over_18": true,
        AAMVA: { "DHS_compliance": "F", "organ_donor": 1 }
    })
}

/// Checks a verified mDL (one wallet report entry).
fn assert_mdl(c: &Value, given_name: &str) {
    assert_eq!(c["format"], "mso_mdoc", "{c}");
    assert_eq!(c["verified"], true);
    assert_eq!(c["docType"], DOCTYPE);
    assert_eq!(c["alg"], -7, "ES256 in the protected header");
    assert_eq!(c["cnfMatchesHolderKey"], true, "deviceKey = proof key");
    let mdl = &c["claims"][MDL];
    for element in MDL_MANDATORY {
        assert!(!mdl[element].is_null(), "{element} present: {c}");
    }
    assert_eq!(mdl["given_name"], given_name);
    assert_eq!(mdl["birth_date"], "1815-12-10");
    assert_eq!(mdl["age_over_18"], true);
    assert_eq!(
        mdl["portrait"],
        URL_SAFE_NO_PAD.encode(STANDARD.decode(PORTRAIT).unwrap())
    );
    assert_eq!(mdl["driving_privileges"][0]["vehicle_category_code"], "B");
    assert_eq!(mdl["driving_privileges"][0]["issue_date"], "2026-01-01");
    let types = &c["types"][MDL];
    for element in ["birth_date", "issue_date", "expiry_date"] {
        assert_eq!(types[element], "full-date", "{element} is tag 1004");
    }
    assert_eq!(types["portrait"], "bytes");
    assert_eq!(types["driving_privileges"], "array");
    assert_eq!(types["family_name"], "string");
    assert_eq!(c["claims"][AAMVA]["DHS_compliance"], "F");
    assert_eq!(c["itemCount"], 14);
    let signed = c["validityInfo"]["signed"].as_str().unwrap();
    assert_eq!(c["validityInfo"]["validFrom"], signed);
    assert!(
        signed.ends_with(":00:00Z") || c["signerNotBefore"] == signed,
        "signed is rounded to the hour, or the signer certificate's notBefore: {c}"
    );
}

// --- a test IACA and document signer ------------------------------------------

/// A P-256 issuer key with a document-signer certificate under a test IACA.
struct TestChain {
    iaca_pem: String,
    key: Arc<IssuerKey>,
}

fn test_chain(country: &str) -> TestChain {
    let iaca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut iaca = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, country);
    dn.push(DnType::CommonName, "Test IACA");
    iaca.distinguished_name = dn;
    iaca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    iaca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    iaca.not_before = date_time_ymd(2025, 1, 1);
    iaca.not_after = date_time_ymd(2035, 1, 1);
    let iaca_cert = iaca.self_signed(&iaca_key).unwrap();
    let issuer = Issuer::new(iaca, iaca_key);

    let ds_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ds = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, country);
    dn.push(DnType::CommonName, "Test Document Signer");
    ds.distinguished_name = dn;
    ds.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    ds.not_before = date_time_ymd(2025, 6, 1);
    ds.not_after = date_time_ymd(2030, 1, 1);
    let ds_cert = ds.signed_by(&ds_key, &issuer).unwrap();

    use p256::pkcs8::DecodePrivateKey as _;
    let secret = p256::SecretKey::from_pkcs8_der(&ds_key.serialize_der()).unwrap();
    let jwk: Value = serde_json::from_str(&secret.to_jwk_string()).unwrap();
    let key = IssuerKey::from_jwk(&jwk)
        .unwrap()
        .with_certificate_chain(vec![ds_cert.der().to_vec()]);
    TestChain {
        iaca_pem: iaca_cert.pem(),
        key: Arc::new(key),
    }
}

// --- the plugin in the runtime ---------------------------------------------

fn plugin() -> LoadedPlugin {
    sigil_tests::plugins::load_only(PLUGIN)
}

fn settings() -> Value {
    let mut claims: Vec<Value> = MDL_MANDATORY
        .iter()
        .map(|e| json!({ "path": [MDL, e], "mandatory": true }))
        .collect();
    claims.push(json!({ "path": ["age_over_18"], "display": [{"name": "Over 18"}] }));
    claims.push(json!({ "path": [AAMVA, "DHS_compliance"] }));
    json!({
        "id": CONFIG, "format": "mso_mdoc", "doctype": DOCTYPE,
        "display": [{"name": "Mobile Driving Licence", "locale": "en-US"}],
        "claims": claims,
        "format_options": { "namespace": MDL },
        "signing_algorithms": ["ES256"]
    })
}

fn configuration(settings: Value) -> FormatConfiguration {
    sigil_tests::plugins::configuration(CONFIG, "mso_mdoc", settings)
}

fn input(settings: Value, claims: Value, slots: Vec<CredentialSlot>) -> IssueInput {
    IssueInput {
        configuration: configuration(settings),
        claims: match claims {
            Value::Object(m) => m,
            other => panic!("claims must be an object: {other}"),
        },
        issuer: "https://issuer.example.com".into(),
        // 2026-01-01T00:00:00Z .. 2027-01-01T00:00:00Z
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

fn format_failure(result: Result<impl std::fmt::Debug, PluginError>) -> FormatFailure {
    sigil_tests::plugins::format_failure(PLUGIN, result)
}

/// Verify one mdoc with the Node wallet (`@animo-id/mdoc`).
async fn verify_only(credential: &str, holder: &Value, iaca_pem: &str) -> Value {
    wallet::claim(json!({
        "mode": "verify-only", "format": "mso_mdoc", "credential": credential,
        "issuer": "https://issuer.example.com", "holderJwk": holder, "doctype": DOCTYPE,
        "trustAnchors": [iaca_pem], "now": "2026-06-01T00:00:00Z"
    }))
    .await
}

#[tokio::test]
async fn mdoc_metadata_uses_cose_algorithms_doctype_and_namespaced_paths() {
    let p = plugin();
    let m =
        p.rt.format_metadata(PLUGIN, &configuration(settings()))
            .await
            .unwrap();
    assert_eq!(m["doctype"], DOCTYPE);
    assert_eq!(m["credential_signing_alg_values_supported"], json!([-7]));
    assert_eq!(
        m["cryptographic_binding_methods_supported"],
        json!(["cose_key"])
    );
    let claims = m["credential_metadata"]["claims"].as_array().unwrap();
    assert_eq!(claims[0]["path"], json!([MDL, "family_name"]));
    assert!(
        claims
            .iter()
            .any(|c| c["path"] == json!([MDL, "age_over_18"])),
        "a one-component path is qualified with the default namespace"
    );
    assert!(
        claims
            .iter()
            .any(|c| c["path"] == json!([AAMVA, "DHS_compliance"]))
    );
    assert_eq!(
        m["credential_metadata"]["display"][0]["name"],
        "Mobile Driving Licence"
    );
}

#[tokio::test]
async fn mdoc_issued_by_the_plugin_verifies_with_animo_mdoc() {
    let p = plugin();
    let chain = test_chain("UT");
    let holder = Holder::new().jwk;
    let credentials =
        p.rt.issue(
            PLUGIN,
            &input(
                settings(),
                mdl_claims("Ada", "UT"),
                vec![slot(holder.clone())],
            ),
            chain.key.clone(),
        )
        .await
        .unwrap();
    assert_eq!(credentials.len(), 1);
    let report = verify_only(&credentials[0], &holder, &chain.iaca_pem).await;
    assert_eq!(report["ok"], true, "{report}");
    let c = &report["credentials"][0];
    assert_mdl(c, "Ada");
    assert_eq!(c["x5chainLength"], 1, "the document signer only, no IACA");
    assert_eq!(
        c["validityInfo"],
        json!({ "signed": "2026-01-01T00:00:00Z", "validFrom": "2026-01-01T00:00:00Z",
                "validUntil": "2027-01-01T00:00:00Z" })
    );
}

#[tokio::test]
async fn mdoc_verification_fails_on_tampering_and_foreign_trust_anchors() {
    let p = plugin();
    let chain = test_chain("UT");
    let holder = Holder::new().jwk;
    let credentials =
        p.rt.issue(
            PLUGIN,
            &input(
                settings(),
                mdl_claims("Ada", "UT"),
                vec![slot(holder.clone())],
            ),
            chain.key.clone(),
        )
        .await
        .unwrap();

    // Change one element value inside its tag-24 item: the digest no longer matches.
    let mut bytes = URL_SAFE_NO_PAD.decode(&credentials[0]).unwrap();
    let at = bytes
        .windows(8)
        .position(|w| w == b"Lovelace")
        .expect("family_name is in the credential");
    bytes[at + 7] = b'f';
    let forged = URL_SAFE_NO_PAD.encode(&bytes);
    let report = verify_only(&forged, &holder, &chain.iaca_pem).await;
    assert_eq!(report["ok"], false, "{report}");
    assert!(
        report["message"].as_str().unwrap().contains("digest"),
        "{report}"
    );

    // Another IACA does not anchor this document signer.
    let other = test_chain("UT");
    let report = verify_only(&credentials[0], &holder, &other.iaca_pem).await;
    assert_eq!(report["ok"], false, "{report}");
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .contains("Issuer certificate must be valid"),
        "{report}"
    );

    // The device key is the holder's, not any key.
    let report = verify_only(&credentials[0], &Holder::new().jwk, &chain.iaca_pem).await;
    assert_eq!(report["ok"], false, "{report}");
}

#[tokio::test]
async fn mdoc_batch_of_three_has_own_device_keys_salts_and_digest_ids() {
    let p = plugin();
    let chain = test_chain("UT");
    let holders: Vec<Value> = (0..3).map(|_| Holder::new().jwk).collect();
    let credentials =
        p.rt.issue(
            PLUGIN,
            &input(
                settings(),
                mdl_claims("Ada", "UT"),
                holders.iter().cloned().map(slot).collect(),
            ),
            chain.key.clone(),
        )
        .await
        .unwrap();
    assert_eq!(credentials.len(), 3);
    let mut salts = BTreeSet::new();
    let mut device_keys = BTreeSet::new();
    let mut validity = BTreeSet::new();
    for (credential, holder) in credentials.iter().zip(&holders) {
        let report = verify_only(credential, holder, &chain.iaca_pem).await;
        assert_eq!(report["ok"], true, "{report}");
        let c = &report["credentials"][0];
        assert_mdl(c, "Ada");
        for salt in c["salts"].as_array().unwrap() {
            assert!(
                salts.insert(salt.as_str().unwrap().to_owned()),
                "salt reused"
            );
        }
        device_keys.insert(c["deviceKey"].to_string());
        validity.insert(c["validityInfo"].to_string());
    }
    assert_eq!(
        salts.len(),
        3 * 14,
        "fresh salts for every item of every credential"
    );
    assert_eq!(device_keys.len(), 3, "each credential bound to its own key");
    assert_eq!(validity.len(), 1, "rounded validity shared by the batch");
}

#[tokio::test]
async fn mdoc_refuses_bad_settings_claims_and_keys() {
    let p = plugin();
    let chain = test_chain("UT");
    let holder = Holder::new().jwk;
    let issue = |settings: Value, claims: Value, slots: Vec<CredentialSlot>| {
        let rt = &p.rt;
        let key = chain.key.clone();
        async move { format_failure(rt.issue(PLUGIN, &input(settings, claims, slots), key).await) }
    };

    let mut s = settings();
    s.as_object_mut().unwrap().remove("doctype");
    let e = format_failure(p.rt.format_metadata(PLUGIN, &configuration(s)).await);
    assert!(
        matches!(&e, FormatFailure::InvalidConfiguration(m) if m.contains("`doctype`")),
        "{e:?}"
    );

    let mut s = settings();
    s["signing_algorithms"] = json!(["ES384"]);
    let e = issue(s, mdl_claims("Ada", "UT"), vec![slot(holder.clone())]).await;
    assert!(
        matches!(&e, FormatFailure::InvalidConfiguration(m) if m.contains("COSE algorithm -7")),
        "{e:?}"
    );

    let mut c = mdl_claims("Ada", "UT");
    c.as_object_mut().unwrap().remove("portrait");
    let e = issue(settings(), c, vec![slot(holder.clone())]).await;
    assert!(
        matches!(&e, FormatFailure::InvalidClaims(m) if m.contains("portrait") && m.contains("mandatory")),
        "{e:?}"
    );

    let mut c = mdl_claims("Ada", "UT");
    c["birth_date"] = json!("10/12/1815");
    let e = issue(settings(), c, vec![slot(holder.clone())]).await;
    assert!(
        matches!(&e, FormatFailure::InvalidClaims(m) if m.contains("birth_date") && m.contains("full-date")),
        "{e:?}"
    );

    let mut c = mdl_claims("Ada", "UT");
    c[MDL] = json!({ "given_name": "Eve" });
    let e = issue(settings(), c, vec![slot(holder.clone())]).await;
    assert!(
        matches!(&e, FormatFailure::InvalidClaims(m) if m.contains("given_name") && m.contains("twice")),
        "{e:?}"
    );

    let secp256k1 = json!({ "kty": "EC", "crv": "secp256k1",
        "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32]) });
    let e = issue(settings(), mdl_claims("Ada", "UT"), vec![slot(secp256k1)]).await;
    assert!(
        matches!(&e, FormatFailure::UnsupportedHolderKey(m) if m.contains("secp256k1")),
        "{e:?}"
    );

    let unbound = CredentialSlot {
        holder_key: None,
        status: None,
    };
    let e = issue(settings(), mdl_claims("Ada", "UT"), vec![unbound]).await;
    assert!(
        matches!(&e, FormatFailure::UnsupportedHolderKey(m) if m.contains("device key")),
        "{e:?}"
    );
}

// --- the server, claimed by the wallet ----------------------------------------

/// The IACA the server wrote beside the default tenant's key.
fn server_iaca(app: &TestApp) -> String {
    let path = app.dir.path().join("keys/default/iaca.pem");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the server writes its demo IACA to {}: {e}", path.display()))
}

/// The country of the server's demo IACA (`C=` of its subject).
fn server_country(iaca_pem: &str) -> String {
    let der = pem_der(iaca_pem);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    cert.subject()
        .iter_country()
        .next()
        .and_then(|c| c.as_str().ok())
        .unwrap()
        .to_owned()
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

fn mdl_offer(given_name: &str, country: &str) -> Value {
    json!({
        "credentialConfigurationIds": [CONFIG],
        "credentialClaims": { CONFIG: { "type": "inline", "claims": mdl_claims(given_name, country) } }
    })
}

#[tokio::test]
async fn mdl_is_claimed_and_verified_against_the_servers_iaca() {
    let app = issuer().await;
    let iaca = server_iaca(&app);
    let country = server_country(&iaca);
    let created = create(&app, &mdl_offer("Ada", &country)).await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "trustAnchors": [iaca]
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["credentials"].as_array().unwrap().len(), 1);
    assert_mdl(&report["credentials"][0], "Ada");
}

#[tokio::test]
async fn mdl_batch_of_three_from_the_server() {
    let app = issuer().await;
    let iaca = server_iaca(&app);
    let country = server_country(&iaca);
    let created = create(&app, &mdl_offer("Grace", &country)).await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "trustAnchors": [iaca], "batch": 3
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    let creds = report["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 3);
    let mut salts = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for c in creds {
        assert_mdl(c, "Grace");
        keys.insert(c["holderKeyThumbprint"].as_str().unwrap().to_owned());
        for s in c["salts"].as_array().unwrap() {
            salts.insert(s.as_str().unwrap().to_owned());
        }
    }
    assert_eq!(keys.len(), 3, "distinct device keys");
    assert_eq!(salts.len(), 3 * 14, "distinct salts");
}

#[tokio::test]
async fn mdl_from_the_static_source_of_the_example_configuration() {
    let app = issuer().await;
    let iaca = server_iaca(&app);
    let created = create(&app, &json!({ "credentialConfigurationIds": [CONFIG] })).await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "trustAnchors": [iaca]
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    let c = &report["credentials"][0];
    assert_eq!(c["claims"][MDL]["document_number"], "SIGIL-0001815");
    assert_eq!(c["types"][MDL]["birth_date"], "full-date");
}

#[tokio::test]
async fn mdl_with_bad_claims_is_denied_with_the_element_named() {
    let app = issuer().await;
    let iaca = server_iaca(&app);
    let country = server_country(&iaca);
    let mut offer = mdl_offer("Ada", &country);
    offer["credentialClaims"][CONFIG]["claims"]["expiry_date"] = json!("someday");
    let created = create(&app, &offer).await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "trustAnchors": [iaca]
    }))
    .await;
    let description = denied(&report);
    assert!(
        description.contains("expiry_date") && description.contains("full-date"),
        "{description}"
    );
    assert!(
        !description.contains("someday"),
        "no claim values on the wire"
    );
}

#[tokio::test]
async fn one_offer_with_all_three_formats_is_claimed_in_one_go() {
    let app = issuer().await;
    let iaca = server_iaca(&app);
    let country = server_country(&iaca);
    let mut body = crate::format_jwt_vc::jwt_vc_offer("Ada");
    body["credentialConfigurationIds"] =
        json!(["employee_badge_sd_jwt", "employee_badge_jwt_vc", CONFIG]);
    let claims = body["credentialClaims"].as_object_mut().unwrap();
    claims.insert(
        "employee_badge_sd_jwt".into(),
        json!({ "type": "inline", "claims": { "given_name": "Ada", "family_name": "Lovelace" } }),
    );
    claims.insert(
        CONFIG.into(),
        json!({ "type": "inline", "claims": mdl_claims("Ada", &country) }),
    );
    let created = create(&app, &body).await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "trustAnchors": [iaca], "batch": 2
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    let creds = report["credentials"].as_array().unwrap();
    let formats: Vec<&str> = creds
        .iter()
        .map(|c| c["format"].as_str().unwrap())
        .collect();
    assert_eq!(
        formats,
        [
            "dc+sd-jwt",
            "dc+sd-jwt",
            "jwt_vc_json",
            "jwt_vc_json",
            "mso_mdoc",
            "mso_mdoc"
        ]
    );
    for c in creds.iter().filter(|c| c["format"] == "dc+sd-jwt") {
        assert_eq!(c["verified"], true);
        assert_eq!(c["claims"]["given_name"], "Ada");
        assert_eq!(c["cnfMatchesHolderKey"], true);
    }
    crate::format_jwt_vc::assert_jwt_vcs(&report, &app.address, 2, "Ada");
    for c in creds.iter().filter(|c| c["format"] == "mso_mdoc") {
        assert_mdl(c, "Ada");
    }
    let keys: BTreeSet<&str> = creds
        .iter()
        .map(|c| c["holderKeyThumbprint"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 6, "every credential has its own holder key");
}

#[tokio::test]
async fn issuer_metadata_lists_the_three_formats_per_the_checklist() {
    let app = issuer().await;
    let metadata: Value = app
        .get("/.well-known/openid-credential-issuer")
        .await
        .json()
        .await
        .unwrap();
    let all = metadata["credential_configurations_supported"]
        .as_object()
        .unwrap();
    let sd = &all["employee_badge_sd_jwt"];
    assert_eq!(sd["format"], "dc+sd-jwt");
    assert!(sd["vct"].is_string());
    assert_eq!(
        sd["credential_signing_alg_values_supported"],
        json!(["ES256"])
    );
    let vc = &all["employee_badge_jwt_vc"];
    assert_eq!(vc["format"], "jwt_vc_json");
    assert_eq!(
        vc["credential_definition"]["type"],
        json!(["VerifiableCredential", "EmployeeBadgeCredential"])
    );
    assert_eq!(
        vc["credential_signing_alg_values_supported"],
        json!(["ES256"])
    );
    let mdl = &all[CONFIG];
    assert_eq!(mdl["format"], "mso_mdoc");
    assert_eq!(mdl["doctype"], DOCTYPE);
    assert_eq!(mdl["credential_signing_alg_values_supported"], json!([-7]));
    assert_eq!(
        mdl["cryptographic_binding_methods_supported"],
        json!(["cose_key"])
    );
    let paths: Vec<&Value> = mdl["credential_metadata"]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["path"])
        .collect();
    for element in MDL_MANDATORY {
        assert!(paths.contains(&&json!([MDL, element])), "{element}");
    }
    // Checklist 4: binding methods and proof types both present.
    for c in all.values() {
        assert!(c["cryptographic_binding_methods_supported"].is_array());
        assert!(c["proof_types_supported"]["jwt"].is_object());
    }
}

// --- issuing_country and the document signer certificate -----------------------

/// A country that is not `country`.
fn other_country(country: &str) -> &'static str {
    if country == "FR" { "DE" } else { "FR" }
}

/// The server's demo document signer chain (PEM, leaf first).
fn server_chain(app: &TestApp) -> String {
    std::fs::read_to_string(app.dir.path().join("keys/default/issuer-p256.chain.pem")).unwrap()
}

/// The wallet's strict ISO/IEC 18013-5 Annex B profile check.
async fn iso_profile(iaca: &str, document_signer: &str) -> Value {
    wallet::claim(json!({ "mode": "iso-profile", "iaca": iaca, "documentSigner": document_signer }))
        .await
}

/// `sigil keys ...` with these arguments, as the binary parses them.
fn sigil_keys(args: &[&str]) -> anyhow::Result<std::process::ExitCode> {
    let cli =
        sigil::cli::Cli::try_parse_from(std::iter::once("sigil").chain(args.iter().copied()))?;
    match cli.command {
        sigil::cli::Command::Keys { command } => sigil::keys_cli::run(command),
        other => panic!("not a keys command: {other:?}"),
    }
}

#[tokio::test]
async fn the_wallets_verifier_refuses_an_issuing_country_other_than_the_certificates() {
    // Issued by the plugin alone (no issuer rule in the way): the
    // independent verifier enforces ISO/IEC 18013-5 §9.3.1 itself.
    let p = plugin();
    let chain = test_chain("UT");
    let holder = Holder::new().jwk;
    for (country, verified) in [("UT", true), ("FR", false)] {
        let credentials =
            p.rt.issue(
                PLUGIN,
                &input(
                    settings(),
                    mdl_claims("Ada", country),
                    vec![slot(holder.clone())],
                ),
                chain.key.clone(),
            )
            .await
            .unwrap();
        let report = verify_only(&credentials[0], &holder, &chain.iaca_pem).await;
        assert_eq!(report["ok"], verified, "{country}: {report}");
        if !verified {
            let message = report["message"].as_str().unwrap();
            assert!(
                message.contains("'issuing_country' (FR) must match the 'countryName' (UT)"),
                "{message}"
            );
        }
    }
}

#[tokio::test]
async fn the_demo_chain_passes_the_strict_iso_profile_check() {
    let app = issuer().await;
    let iaca = server_iaca(&app);
    let report = iso_profile(&iaca, &server_chain(&app)).await;
    assert_eq!(report["ok"], true, "{report}");
    let country = server_country(&iaca);
    assert_eq!(report["documentSigner"]["subject"]["C"], json!([country]));
    assert_eq!(
        report["documentSigner"]["crl"],
        json!([format!("{}/iaca.crl", app.address)])
    );
    // The check is strict: the plain rcgen chain of the plugin tests (no
    // SKI/AKI, no EKU, no IAN, no CRL distribution point) fails it, by name.
    let plain = test_chain("UT");
    let leaf = plain.key.certificate_chain()[0].clone();
    let leaf_pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        STANDARD.encode(leaf)
    );
    let report = iso_profile(&plain.iaca_pem, &leaf_pem).await;
    assert_eq!(report["ok"], false, "{report}");
    let message = report["message"].as_str().unwrap();
    for problem in [
        "document signer: extendedKeyUsage is missing",
        "document signer: authorityKeyIdentifier is missing",
        "document signer: cRLDistributionPoints is missing",
        "IACA: issuerAlternativeName is missing",
    ] {
        assert!(message.contains(problem), "{problem}: {message}");
    }
}

#[tokio::test]
async fn an_inline_mdl_with_another_country_is_refused_at_offer_creation() {
    let app = issuer().await;
    let country = server_country(&server_iaca(&app));
    let wrong = other_country(&country);
    let r = app
        .admin_post("/admin/v1/offers", &mdl_offer("Ada", wrong))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().await.unwrap();
    let errors = p["errors"].as_array().unwrap();
    let e = errors
        .iter()
        .find(|e| e["field"] == "credentialClaims.mdl_mdoc.claims.issuing_country")
        .unwrap_or_else(|| panic!("the field is named: {p}"));
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("'{country}'")) && message.contains("countryName"),
        "{message}"
    );
    // Nested under the namespace, the same; with the certificate's country it is created.
    let mut nested = mdl_offer("Ada", &country);
    nested["credentialClaims"][CONFIG]["claims"][MDL] = json!({ "issuing_country": wrong });
    nested["credentialClaims"][CONFIG]["claims"]
        .as_object_mut()
        .unwrap()
        .remove("issuing_country");
    let r = app.admin_post("/admin/v1/offers", &nested).await;
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!(
        p["errors"][0]["field"],
        "credentialClaims.mdl_mdoc.claims.org.iso.18013.5.1.issuing_country",
        "{p}"
    );
    create(&app, &mdl_offer("Ada", &country)).await;
}

/// An attribute provider on 127.0.0.1 that answers every request with `claims`.
fn provider(claims: &Value) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let body = json!({ "contractVersion": "1", "claims": claims });
    let server = HttpServer::new(move || {
        let body = body.clone();
        App::new().default_service(web::to(move || {
            let body = body.clone();
            async move { HttpResponse::Ok().json(body) }
        }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    origin
}

#[tokio::test]
async fn a_provider_mdl_with_another_country_is_denied_naming_the_mismatch() {
    // The demo IACA is UT (ISO's test country) unless told otherwise.
    let origin = provider(&mdl_claims("Ada", "FR"));
    let app = Spawn::default()
        .issuer()
        .more_plugins(&["claims-attribute-provider"])
        .toml(&format!(
            "[plugins.grants.claims-attribute-provider]\nallowed_hosts = [\"{origin}\"]\nlimits = {{ timeout_ms = 5000 }}\n"
        ))
        .file(
            "attribute-providers/dmv.toml",
            &format!("id = \"dmv\"\nurl = \"{origin}/claims/dmv\"\n"),
        )
        .start()
        .await;
    let iaca = server_iaca(&app);
    let country = server_country(&iaca);
    assert_ne!(country, "FR", "the provider's country differs");
    let created = create(
        &app,
        &json!({
            "credentialConfigurationIds": [CONFIG],
            "credentialClaims": { CONFIG: { "type": "attributeProvider", "id": "dmv" } }
        }),
    )
    .await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "trustAnchors": [iaca]
    }))
    .await;
    let description = denied(&report);
    assert!(
        description.contains("issuing_country")
            && description.contains(&format!("'{country}'"))
            && description.contains("document signer certificate"),
        "{description}"
    );
    assert!(
        !description.contains("FR"),
        "no claim values: {description}"
    );
}

#[tokio::test]
async fn keys_demo_chain_country_and_a_missing_issuing_country_filled_from_it() {
    let app = issuer().await;
    let config = app.dir.path().join("sigil.toml");
    let config = config.to_str().unwrap();
    let keys = app.dir.path().join("keys/default");
    // The UT demo IACA cannot sign an FR document signer (Annex B: the DS
    // carries its IACA's country); the command says how to get one.
    let e = sigil_keys(&[
        "keys",
        "demo-chain",
        "--config",
        config,
        "--country",
        "FR",
        "--force",
    ])
    .unwrap_err();
    assert!(e.to_string().contains("is for UT"), "{e}");
    std::fs::remove_file(keys.join("iaca.pem")).unwrap();
    std::fs::remove_file(keys.join("iaca.private.pem")).unwrap();
    sigil_keys(&[
        "keys",
        "demo-chain",
        "--config",
        config,
        "--country",
        "FR",
        "--force",
    ])
    .unwrap();
    let r = app.admin_post("/admin/v1/keys/reload", &json!({})).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let iaca = server_iaca(&app);
    assert_eq!(server_country(&iaca), "FR");
    let report = iso_profile(&iaca, &server_chain(&app)).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["documentSigner"]["subject"]["C"], json!(["FR"]));

    // An mDL whose claims leave issuing_country out gets FR, and the
    // independent verifier (which checks it against the certificate) accepts it.
    let mut offer = mdl_offer("Ada", "FR");
    offer["credentialClaims"][CONFIG]["claims"]
        .as_object_mut()
        .unwrap()
        .remove("issuing_country");
    let created = create(&app, &offer).await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "trustAnchors": [iaca]
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    let c = &report["credentials"][0];
    assert_mdl(c, "Ada");
    assert_eq!(c["claims"][MDL]["issuing_country"], "FR");
    assert!(c["signerSubject"].as_str().unwrap().contains("C=FR"), "{c}");
    // The example configuration's static claims say UT: denied, not issued.
    let created = create(&app, &json!({ "credentialConfigurationIds": [CONFIG] })).await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "trustAnchors": [iaca]
    }))
    .await;
    assert_eq!(report["error"], "credential_request_denied", "{report}");
}

/// The wallet's report of a `credential_request_denied` (400): its
/// error description.
fn denied(report: &Value) -> &str {
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["status"], 400, "{report}");
    assert_eq!(report["error"], "credential_request_denied", "{report}");
    report["errorDescription"].as_str().unwrap()
}

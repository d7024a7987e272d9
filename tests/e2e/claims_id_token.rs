//! `claims-id-token` through the plugin runtime, with the claims of an ID
//! token signed (ES256) and verified here. The authorization code flow that
//! will feed it real ID tokens comes later.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Value, json};
use sigil_plugin_host::{
    ClaimFailure, ClaimOutcome, ClaimRequest, PluginError, PluginRuntime, RuntimeConfig,
};
use sigil_tests::holder::{Holder, now};

/// An ID token from a pretend OpenID provider.
fn id_token(idp: &Holder) -> String {
    idp.sign(
        &json!({ "alg": "ES256", "typ": "JWT", "kid": "idp-1" }),
        &json!({
            "iss": "https://idp.example", "sub": "user-42", "aud": "sigil", "iat": now(), "exp": now() + 300,
            "given_name": "Katherine", "family_name": "Johnson", "email": "kj@example.org",
            "address": { "locality": "Hampton", "country": "US" }, "groups": ["nasa", "math"]
        }),
    )
}

/// Verify the signature against the provider's JWK and return the claims.
fn verified_claims(token: &str, jwk: &Value) -> Value {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
    point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
    let key = VerifyingKey::from_sec1_bytes(&point).unwrap();
    let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    key.verify(input.as_bytes(), &sig)
        .expect("the ID token verifies");
    let payload = input.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn runtime() -> (tempfile::TempDir, PluginRuntime) {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("claims-id-token");
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(sigil_tests::plugin_source("claims-id-token")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
    let rt = PluginRuntime::load(&RuntimeConfig::new(dir.path())).unwrap();
    assert!(rt.load_errors().is_empty(), "{:?}", rt.load_errors());
    (dir, rt)
}

fn request(id_token_claims: Option<Value>, source: Value) -> ClaimRequest {
    ClaimRequest {
        tenant: "default".into(),
        issuer: "https://issuer.example".into(),
        offer_id: "offer-1".into(),
        credential_configuration_id: "employee_badge_sd_jwt".into(),
        format: "dc+sd-jwt".into(),
        source,
        id_token_claims,
        subject_id: Some("user-42".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn maps_signed_id_token_claims_to_credential_claims() {
    let (_dir, rt) = runtime();
    let idp = Holder::new();
    let claims = verified_claims(&id_token(&idp), &idp.jwk);
    let source = json!({
        "mapping": {
            "/given_name": "given_name",
            "/family_name": "family_name",
            "/address/locality": "address.locality",
            "/groups/1": "team",
            "/not_there": "department"
        },
        "required": ["given_name", "address.locality"]
    });
    let out = rt
        .resolve_claims("claims-id-token", &request(Some(claims), source.clone()))
        .await
        .unwrap();
    let ClaimOutcome::Claims(c) = out else {
        panic!("claims expected")
    };
    assert_eq!(
        Value::Object(c),
        json!({ "given_name": "Katherine", "family_name": "Johnson",
                "address": { "locality": "Hampton" }, "team": "math" }),
        "only mapped claims, nothing else of the token (no email, iss, sub)"
    );
}

#[tokio::test]
async fn missing_required_claim_or_token_is_an_error() {
    let (_dir, rt) = runtime();
    let idp = Holder::new();
    let claims = verified_claims(&id_token(&idp), &idp.jwk);
    let e = rt
        .resolve_claims(
            "claims-id-token",
            &request(
                Some(claims),
                json!({ "mapping": { "/given_name": "given_name" }, "required": ["birthdate"] }),
            ),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PluginError::Claim { error: ClaimFailure::NotFound(m), .. } if m.contains("birthdate")),
        "{e}"
    );
    let e = rt
        .resolve_claims(
            "claims-id-token",
            &request(None, json!({ "mapping": { "/given_name": "given_name" } })),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PluginError::Claim { error: ClaimFailure::InvalidInput(m), .. } if m.contains("authorization code flow")),
        "{e}"
    );
    let e = rt
        .resolve_claims(
            "claims-id-token",
            &request(
                Some(json!({})),
                json!({ "mapping": { "given_name": "given_name" } }),
            ),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("JSON pointer"), "{e}");
}

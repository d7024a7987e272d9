//! Issuer keys and identifiers: Ed25519 and P-384 issuer keys, did:web.

use serde_json::{Value, json};
use sigil_tests::{Spawn, TestApp, wallet};

use crate::offers::{badge_offer, create};

async fn get_json(app: &TestApp, url: &str) -> Value {
    let r = app.client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn ed25519_and_p384_issuer_keys_issue_sd_jwts_the_wallet_verifies() {
    for (alg, kty, crv) in [("EdDSA", "OKP", "Ed25519"), ("ES384", "EC", "P-384")] {
        let app = Spawn::default()
            .issuer()
            .toml(&format!("[keys]\nalgorithm = \"{alg}\"\n"))
            .start()
            .await;
        let jwks = get_json(&app, &format!("{}/.well-known/jwt-vc-issuer", app.address)).await;
        let key = &jwks["jwks"]["keys"][0];
        assert_eq!(key["kty"], kty, "{jwks}");
        assert_eq!(key["crv"], crv, "{jwks}");
        let created = create(&app, &badge_offer()).await;
        // The independent wallet resolves the key from the published JWKS
        // (jose) and verifies the SD-JWT VC (@sd-jwt/sd-jwt-vc).
        let report = wallet::claim(json!({ "offer": created["credentialOffer"] })).await;
        assert_eq!(report["ok"], true, "{alg}: {report}");
        let c = &report["credentials"][0];
        assert_eq!(c["header"]["alg"], alg, "{report}");
        assert_eq!(c["header"]["kid"], key["kid"], "{report}");
        assert_eq!(c["payload"]["iss"], app.address, "{report}");
        assert!(
            c["header"].get("x5c").is_none(),
            "no x5c in an SD-JWT by default"
        );
    }
}

/// Resolve a did:web the way the did:web method says (http here: the test
/// server has no TLS).
fn did_web_url(did: &str) -> String {
    let rest = did.strip_prefix("did:web:").unwrap();
    let mut parts = rest.split(':');
    let host = parts.next().unwrap().replace("%3A", ":");
    let path: Vec<&str> = parts.collect();
    if path.is_empty() {
        format!("http://{host}/.well-known/did.json")
    } else {
        format!("http://{host}/{}/did.json", path.join("/"))
    }
}

#[tokio::test]
async fn did_web_documents_are_served_and_resolvable() {
    let app = Spawn::default()
        .issuer()
        .toml("[tenants.default]\nidentifier = \"did:web\"\n")
        .start()
        .await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    for (tenant, did, jwks_path) in [
        (
            "default",
            format!("did:web:127.0.0.1%3A{port}"),
            "/.well-known/jwt-vc-issuer".to_owned(),
        ),
        (
            "acme",
            format!("did:web:127.0.0.1%3A{port}:acme"),
            "/.well-known/jwt-vc-issuer/acme".to_owned(),
        ),
    ] {
        let doc = get_json(&app, &did_web_url(&did)).await;
        assert_eq!(doc["id"], did, "{tenant}: {doc}");
        let jwks = get_json(&app, &format!("{}{jwks_path}", app.address)).await;
        let key = &jwks["jwks"]["keys"][0];
        let method = &doc["verificationMethod"][0];
        assert_eq!(
            method["id"],
            format!("{did}#{}", key["kid"].as_str().unwrap())
        );
        assert_eq!(method["controller"], did);
        assert_eq!(method["publicKeyJwk"]["x"], key["x"]);
        assert_eq!(method["publicKeyJwk"]["y"], key["y"]);
        assert_eq!(doc["assertionMethod"][0], method["id"]);
    }
}

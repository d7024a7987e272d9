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

#[tokio::test]
async fn rotation_without_restart_keeps_old_credentials_verifiable() {
    let app = Spawn::default().issuer().start().await;
    let offer = create(&app, &badge_offer()).await;
    let first =
        wallet::claim(json!({ "offer": offer["credentialOffer"], "includeRaw": true })).await;
    assert_eq!(first["ok"], true, "{first}");
    let old_kid = first["credentials"][0]["header"]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_credential = first["credentials"][0]["credential"].clone();
    assert!(old_credential.is_string(), "{first}");

    let r = app.admin_post("/admin/v1/keys/rotate", &json!({})).await;
    assert_eq!(r.status(), 200);
    let rotated: Value = r.json().await.unwrap();
    let new_kid = rotated["activeKid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);
    let jwks = get_json(&app, &format!("{}/.well-known/jwt-vc-issuer", app.address)).await;
    let kids: Vec<&str> = jwks["jwks"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        [new_kid.as_str(), old_kid.as_str()],
        "active first, old still published"
    );

    // A new credential is signed with the new key; the wallet verifies it
    // against the JWKS it fetches now.
    let offer = create(&app, &badge_offer()).await;
    let second = wallet::claim(json!({ "offer": offer["credentialOffer"] })).await;
    assert_eq!(second["ok"], true, "{second}");
    assert_eq!(second["credentials"][0]["header"]["kid"], new_kid.as_str());
    // The credential signed before the rotation still verifies.
    let again = wallet::claim(json!({
        "mode": "verify-only", "credential": old_credential, "issuer": app.address
    }))
    .await;
    assert_eq!(again["ok"], true, "{again}");
    assert_eq!(again["credentials"][0]["header"]["kid"], old_kid.as_str());

    // Persisted: the old key sits in retired/, the new one is the active file.
    let dir = app.dir.path().join("keys/default");
    assert!(
        dir.join(format!("retired/{old_kid}.private.jwk.json"))
            .is_file()
    );
    let active: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("issuer-p256.private.jwk.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(active["kid"], new_kid.as_str());
    assert!(
        dir.join("issuer-p256.chain.pem").is_file(),
        "the new key has a demo chain"
    );

    // A server started on the same key folder (a restart, or a second
    // instance sharing it) publishes the same keys with the new one active.
    let restarted = Spawn::default()
        .issuer()
        .share_keys_with(&app)
        .start()
        .await;
    let jwks = get_json(
        &restarted,
        &format!("{}/.well-known/jwt-vc-issuer", restarted.address),
    )
    .await;
    assert_eq!(jwks["jwks"]["keys"][0]["kid"], new_kid.as_str());
    assert_eq!(jwks["jwks"]["keys"][1]["kid"], old_kid.as_str());
}

/// RFC 8410's example Ed25519 private key (PKCS#8 PEM).
const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";

/// A PEM chain file as the base64 DER strings of `x5Chain`.
fn chain_as_x5c(pem: &str) -> Vec<String> {
    pem.split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .map(|block| {
            block
                .split("-----END CERTIFICATE-----")
                .next()
                .unwrap()
                .split_whitespace()
                .collect::<String>()
        })
        .collect()
}

async fn offer_status(app: &TestApp, body: &Value) -> (u16, Value) {
    let r = app.admin_post("/admin/v1/offers", body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn standby_keys_per_offer_key_and_chain_and_activation_by_reload() {
    let app = Spawn::default().issuer().start().await;
    let dir = app.dir.path().join("keys/default");
    let active_kid =
        get_json(&app, &format!("{}/.well-known/jwt-vc-issuer", app.address)).await["jwks"]["keys"]
            [0]["kid"]
            .as_str()
            .unwrap()
            .to_owned();

    // An operator drops a PEM key into the folder and reloads: it is on
    // standby, published, and not signing by default.
    std::fs::write(dir.join("next.private.pem"), ED25519_PEM).unwrap();
    let r = app.admin_post("/admin/v1/keys/reload", &json!({})).await;
    assert_eq!(r.status(), 200);
    let keys: Value = r.json().await.unwrap();
    assert_eq!(keys["activeKid"], active_kid.as_str(), "{keys}");
    let standby = &keys["keys"][1];
    assert_eq!(standby["status"], "standby", "{keys}");
    assert_eq!(standby["name"], "next");
    assert_eq!(standby["alg"], "EdDSA");
    let next_kid = standby["kid"].as_str().unwrap().to_owned();
    let jwks = get_json(&app, &format!("{}/.well-known/jwt-vc-issuer", app.address)).await;
    assert_eq!(jwks["jwks"]["keys"][1]["kid"], next_kid.as_str(), "{jwks}");
    // The metadata is rebuilt for the keys' algorithms.
    let metadata = get_json(
        &app,
        &format!("{}/.well-known/openid-credential-issuer", app.address),
    )
    .await;
    let algs = &metadata["credential_configurations_supported"]["employee_badge_sd_jwt"]["credential_signing_alg_values_supported"];
    assert_eq!(algs, &json!(["ES256", "EdDSA"]), "{metadata}");
    let plain = create(&app, &badge_offer()).await;
    let report = wallet::claim(json!({ "offer": plain["credentialOffer"] })).await;
    assert_eq!(
        report["credentials"][0]["header"]["kid"],
        active_kid.as_str()
    );

    // An offer chooses the standby key: the wallet verifies an EdDSA SD-JWT.
    let mut body = badge_offer();
    body["runtimeOverrides"] = json!({ "issuerKeyId": next_kid });
    let chosen = create(&app, &body).await;
    let report = wallet::claim(json!({ "offer": chosen["credentialOffer"] })).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["credentials"][0]["header"]["alg"], "EdDSA");
    assert_eq!(report["credentials"][0]["header"]["kid"], next_kid.as_str());

    // A per-offer chain is carried (here in an SD-JWT, which carries no chain
    // by default), and must certify the key that signs.
    let x5c = chain_as_x5c(&std::fs::read_to_string(dir.join("issuer-p256.chain.pem")).unwrap());
    assert_eq!(x5c.len(), 1);
    let mut body = badge_offer();
    body["runtimeOverrides"] = json!({ "x5Chain": x5c });
    let with_chain = create(&app, &body).await;
    let report = wallet::claim(json!({ "offer": with_chain["credentialOffer"] })).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        report["credentials"][0]["header"]["x5c"],
        json!(x5c),
        "{report}"
    );
    body["runtimeOverrides"]["issuerKeyId"] = json!(next_kid);
    let (status, p) = offer_status(&app, &body).await;
    assert_eq!(status, 400, "{p}");
    assert_eq!(p["errors"][0]["field"], "runtimeOverrides.x5Chain", "{p}");
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("does not certify the signing key"),
        "{p}"
    );

    // An offer made for the standby key before it is retired cannot be
    // claimed afterwards; the wallet is told plainly.
    let mut body = badge_offer();
    body["runtimeOverrides"] = json!({ "issuerKeyId": "next" });
    let early = create(&app, &body).await;

    // Activate the standby key by the manifest and reload: it signs now.
    std::fs::write(dir.join("keys.toml"), "active = \"next\"\n").unwrap();
    let r = app.admin_post("/admin/v1/keys/reload", &json!({})).await;
    assert_eq!(r.status(), 200);
    let keys: Value = r.json().await.unwrap();
    assert_eq!(keys["activeKid"], next_kid.as_str(), "{keys}");
    let after = create(&app, &badge_offer()).await;
    let report = wallet::claim(json!({ "offer": after["credentialOffer"] })).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["credentials"][0]["header"]["kid"], next_kid.as_str());

    // A manifest naming a missing key: reload refuses, names the file, and
    // the keys in use stay.
    std::fs::write(dir.join("keys.toml"), "active = \"gone\"\n").unwrap();
    let r = app.admin_post("/admin/v1/keys/reload", &json!({})).await;
    assert_eq!(r.status(), 409);
    let p: Value = r.json().await.unwrap();
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("keys.toml") && detail.contains("'gone'"),
        "{p}"
    );
    assert!(detail.contains("issuer-p256, next"), "{p}");
    std::fs::write(dir.join("keys.toml"), "active = \"next\"\n").unwrap();

    // Rotate: `next` is retired. The early offer's claim is denied, and a
    // new offer may not choose it.
    let r = app.admin_post("/admin/v1/keys/rotate", &json!({})).await;
    assert_eq!(r.status(), 200);
    let report = wallet::claim(json!({ "offer": early["credentialOffer"] })).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["stage"], "credential", "{report}");
    assert_eq!(report["status"], 400, "{report}");
    assert_eq!(report["error"], "credential_request_denied", "{report}");
    let description = report["errorDescription"].as_str().unwrap();
    assert!(description.contains("no longer signs with"), "{report}");
    let mut body = badge_offer();
    body["runtimeOverrides"] = json!({ "issuerKeyId": next_kid });
    let (status, p) = offer_status(&app, &body).await;
    assert_eq!(status, 400, "{p}");
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("is retired"),
        "{p}"
    );
}

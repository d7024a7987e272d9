//! The admin offers API: creation, validation, reading, revocation, QR codes.

use serde_json::{Value, json};
use sigil_tests::{Spawn, TestApp};

pub async fn issuer() -> TestApp {
    Spawn::default().issuer().start().await
}

pub fn badge_offer() -> Value {
    json!({
        "credentialConfigurationIds": ["employee_badge_sd_jwt"],
        "credentialClaims": { "employee_badge_sd_jwt": { "type": "inline", "claims": {
            "given_name": "Ada", "family_name": "Lovelace", "employee_id": "E-1", "department": "Engines" } } }
    })
}

pub async fn create(app: &TestApp, body: &Value) -> Value {
    let r = app.admin_post("/admin/v1/offers", body).await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    r.json().await.unwrap()
}

/// The access token a wallet gets for the pre-authorized code of `created`.
pub async fn access_token(app: &TestApp, created: &Value) -> String {
    let code = pre_authorized_code(app, created).await;
    let r: Value = app
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
    r["access_token"].as_str().unwrap().to_owned()
}

/// The pre-authorized code inside an offer, fetched the way a wallet would (or read from the offer URI of a
/// by-value offer).
pub async fn pre_authorized_code(app: &TestApp, created: &Value) -> String {
    let offer: Value = match created["credentialOfferUri"].as_str() {
        Some(url) => app
            .client
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
        None => offer_by_value(created),
    };
    sigil_tests::capture::json(&offer);
    offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn create_returns_the_offer_uri_and_tx_code() {
    let app = issuer().await;
    let mut body = badge_offer();
    body["txCode"] =
        json!({ "inputMode": "numeric", "length": 6, "description": "PIN from the e-mail" });
    let created = create(&app, &body).await;
    let id = created["offerId"].as_str().unwrap();
    assert_eq!(created["tenant"], "default");
    assert_eq!(created["flow"], "pre_authorized_code");
    let uri = format!("{}/credential-offer/{id}", app.address);
    assert_eq!(created["credentialOfferUri"], uri);
    assert!(
        created["credentialOffer"]
            .as_str()
            .unwrap()
            .starts_with("openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1")
    );
    let pin = created["txCodeValue"].as_str().unwrap();
    assert_eq!(pin.len(), 6);
    assert!(pin.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(
        created["qr"]["svg"],
        format!("/admin/v1/offers/{id}/qr.svg")
    );
    assert!(created["expiresAt"].as_str().unwrap().ends_with('Z'));

    // By reference: the offer object, not cacheable.
    let r = app.client.get(&uri).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let offer: Value = r.json().await.unwrap();
    assert_eq!(offer["credential_issuer"], app.address);
    assert_eq!(
        offer["credential_configuration_ids"],
        json!(["employee_badge_sd_jwt"])
    );
    let grant = &offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"];
    assert!(grant["pre-authorized_code"].as_str().unwrap().len() >= 32);
    assert_eq!(
        grant["tx_code"],
        json!({ "input_mode": "numeric", "length": 6, "description": "PIN from the e-mail" })
    );

    // The admin view: status, events, never secrets.
    let r = app.admin_get(&format!("/admin/v1/offers/{id}")).await;
    assert_eq!(r.status(), 200);
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["status"], "resolved");
    let text = view.to_string();
    assert!(!text.contains(grant["pre-authorized_code"].as_str().unwrap()));
    assert!(!text.contains(pin));
    let kinds: Vec<&str> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["offer_created", "offer_resolved"]);
}

#[tokio::test]
async fn by_value_haip_and_given_tx_code() {
    let app = issuer().await;
    let mut body = badge_offer();
    body["valueMode"] = json!("by_value");
    body["scheme"] = json!("haip");
    body["txCode"] = json!({ "value": "493536" });
    body["expiresInSeconds"] = json!(-1);
    let created = create(&app, &body).await;
    assert_eq!(created["txCodeValue"], "493536");
    assert!(created.get("credentialOfferUri").is_none());
    assert_eq!(created["expiresAt"], Value::Null);
    let uri = created["credentialOffer"].as_str().unwrap();
    assert!(uri.starts_with("haip-vci://?credential_offer="), "{uri}");
    let offer = offer_by_value(&created);
    assert_eq!(
        offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"]["length"],
        6
    );
}

/// The credential offer object carried in a by-value offer URI (`…?credential_offer=<JSON>`).
fn offer_by_value(created: &Value) -> Value {
    let uri = created["credentialOffer"].as_str().unwrap();
    let (_, encoded) = uri.split_once("?credential_offer=").unwrap();
    serde_json::from_str(&url_decode(encoded)).unwrap()
}

fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn profile_supplies_configurations_and_defaults() {
    let app = issuer().await;
    let created = create(&app, &json!({ "profile": "employee-badge" })).await;
    assert_eq!(
        created["credentialConfigurationIds"],
        json!(["employee_badge_sd_jwt"])
    );
    assert_eq!(created["txCodeValue"].as_str().unwrap().len(), 6);
}

#[tokio::test]
async fn invalid_requests_are_problems_naming_each_field() {
    let app = issuer().await;
    let cases = [
        (json!({}), "credentialConfigurationIds"),
        (
            json!({ "credentialConfigurationIds": [] }),
            "credentialConfigurationIds",
        ),
        (
            json!({ "credentialConfigurationIds": ["nope"] }),
            "credentialConfigurationIds[0]",
        ),
        (
            json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"], "profile": "employee-badge" }),
            "profile",
        ),
        (json!({ "profile": "nope" }), "profile"),
        (
            json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"], "expiresInSeconds": 0 }),
            "expiresInSeconds",
        ),
        (
            json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"], "valueMode": "sideways" }),
            "valueMode",
        ),
        (
            json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"], "txCode": { "value": "12a4" } }),
            "txCode.value",
        ),
        (
            json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"], "credentialClaims": { "other": { "type": "inline", "claims": {} } } }),
            "credentialClaims.other",
        ),
        (
            json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"], "credentialClaims": { "employee_badge_sd_jwt": { "type": "inline" } } }),
            "credentialClaims.employee_badge_sd_jwt.claims",
        ),
        (
            json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"], "flow": "implicit" }),
            "flow",
        ),
        (
            // The test tenant lists no wallet redirect URIs.
            json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"], "flow": "authorization_code" }),
            "flow",
        ),
        (
            json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"], "issuerStateMode": "include" }),
            "issuerStateMode",
        ),
        (
            json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"], "loginHint": "kj" }),
            "loginHint",
        ),
        (
            json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"], "authorizationServer": "https://as.example" }),
            "authorizationServer",
        ),
        (
            json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"], "issuanceMode": "later" }),
            "issuanceMode",
        ),
    ];
    for (body, field) in cases {
        let r = app.admin_post("/admin/v1/offers", &body).await;
        assert_eq!(r.status(), 400, "{body}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["status"], 400);
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{body}: {p}");
        for e in p["errors"].as_array().unwrap() {
            assert!(!e["message"].as_str().unwrap().is_empty());
        }
    }
    // Unknown members and malformed JSON are problems too.
    let r = app
        .admin_post(
            "/admin/v1/offers",
            &json!({ "credentialConfigurationIds": ["employee_badge_sd_jwt"], "colour": 1 }),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn unknown_offers_and_tenants_are_404_problems() {
    let app = issuer().await;
    for r in [
        app.admin_get("/admin/v1/offers/nope").await,
        app.admin_post("/admin/v1/tenants/nope/offers", &badge_offer())
            .await,
    ] {
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(app.get("/credential-offer/nope").await.status(), 404);
}

#[tokio::test]
async fn qr_codes_render() {
    let app = issuer().await;
    let created = create(&app, &badge_offer()).await;
    let id = created["offerId"].as_str().unwrap();
    let svg = app
        .admin_get(&format!("/admin/v1/offers/{id}/qr.svg"))
        .await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().contains("<svg"));
    let png = app
        .admin_get(&format!("/admin/v1/offers/{id}/qr.png"))
        .await;
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
}

#[tokio::test]
async fn second_tenant_has_its_own_issuer() {
    let app = issuer().await;
    let r = app
        .admin_post("/admin/v1/tenants/acme/offers", &badge_offer())
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["tenant"], "acme");
    let acme = format!("{}/acme", app.address);
    assert_eq!(
        created["credentialOfferUri"],
        format!(
            "{acme}/credential-offer/{}",
            created["offerId"].as_str().unwrap()
        )
    );
    let meta: Value = app
        .get("/.well-known/openid-credential-issuer/acme")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(meta["credential_issuer"], acme);
    assert_eq!(meta["credential_endpoint"], format!("{acme}/credential"));
    let root_meta: Value = app
        .get("/.well-known/openid-credential-issuer")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(root_meta["credential_issuer"], app.address);
    let jwks_root: Value = app
        .get("/.well-known/jwt-vc-issuer")
        .await
        .json()
        .await
        .unwrap();
    let jwks_acme: Value = app
        .get("/.well-known/jwt-vc-issuer/acme")
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(
        jwks_root["jwks"]["keys"][0]["kid"], jwks_acme["jwks"]["keys"][0]["kid"],
        "each tenant has its own key"
    );
    assert_eq!(
        app.get("/.well-known/openid-credential-issuer/nope")
            .await
            .status(),
        404
    );
}

/// Found by `fuzz_admin_offer_create`: an `expiresInSeconds` whose expiry
/// overflows was a panic in the worker (debug) or an offer expired from the
/// start (release); a `txCode.length` of 4294967295 generated a 4 GB code
/// before the length was refused. Both are prompt 400s now.
#[tokio::test]
async fn huge_lifetimes_and_code_lengths_are_prompt_validation_errors() {
    let app = issuer().await;
    let mut long_lived = badge_offer();
    long_lived["expiresInSeconds"] = json!(i64::MAX);
    let mut long_code = badge_offer();
    long_code["txCode"] = json!({ "length": u32::MAX });
    for (body, field) in [
        (long_lived, "expiresInSeconds"),
        (long_code, "txCode.length"),
    ] {
        let started = std::time::Instant::now();
        let r = app.admin_post("/admin/v1/offers", &body).await;
        assert_eq!(r.status(), 400);
        let p: Value = r.json().await.unwrap();
        assert!(
            p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{p}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}

//! An external authorization server (OID4VCI §12.2.4 `authorization_servers`)
//! end to end: a second real `oidc-provider` (`tests/wallet/op.mjs`) issues
//! RFC 9068 JWT access tokens for Sigil's credential issuer URL; the
//! independent wallet (OWF oid4vc-ts) picks it from the offer's
//! `authorization_server`, does PAR + PKCE (+ DPoP) and the scripted login
//! there, and gets the credential at Sigil, which verifies the token with the
//! server's JWKS.

use serde_json::{Value, json};
use sigil_tests::op::{self, Provider};
use sigil_tests::{Spawn, TestApp, wallet};

use crate::offers::{badge_offer, create};

const BADGE: &str = "employee_badge_sd_jwt";
const WALLET: &str = "sigil-test-wallet";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
/// A confidential client of the external server (client credentials grant).
const PROBE: &str = "resource-probe";
const PROBE_SECRET: &str = "resource-probe-secret";
/// Another resource server the external server issues tokens for.
const OTHER: &str = "https://other-resource.example";

/// The default tenant accepts the authorization server `corp` on `port`.
fn corp_toml(port: u16) -> String {
    format!(
        "[tenants.default]\nauthorization_servers = [\"corp\"]\n\n[authorization_servers.corp]\nissuer = \"{}\"\n",
        op::issuer_at(port)
    )
}

/// Sigil accepting `corp`, and `corp` running: the wallet is its public
/// client, and its JWT access tokens are for Sigil's credential issuer URL
/// (or [`OTHER`]).
async fn with_corp() -> (TestApp, Provider) {
    let port = op::free_port();
    let app = Spawn::default()
        .issuer()
        .toml(&corp_toml(port))
        .start()
        .await;
    let provider = Provider::start(
        port,
        &[],
        &json!({
            "clients": [
                { "client_id": WALLET, "token_endpoint_auth_method": "none", "redirect_uris": [REDIRECT] },
                { "client_id": PROBE, "client_secret": PROBE_SECRET, "grant_types": ["client_credentials"],
                  "response_types": [], "redirect_uris": [] }
            ],
            "accessTokenFormat": "jwt",
            "resource": app.address,
            "otherResources": [OTHER],
        }),
    );
    (app, provider)
}

/// The offer object behind a created offer, as a wallet fetches it.
async fn offer_object(app: &TestApp, created: &Value) -> Value {
    app.client
        .get(created["credentialOfferUri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_wallet_authorizes_at_the_external_server_and_gets_the_credential_at_sigil() {
    let (app, provider) = with_corp().await;
    // The metadata lists Sigil's own authorization server first, then corp.
    let metadata: Value = app
        .get("/.well-known/openid-credential-issuer")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["authorization_servers"],
        json!([app.address, provider.issuer])
    );
    let created = create(
        &app,
        &json!({ "flow": "authorization_code", "credentialConfigurationIds": [BADGE], "authorizationServer": "corp" }),
    )
    .await;
    let object = offer_object(&app, &created).await;
    assert_eq!(
        object["grants"],
        json!({ "authorization_code": { "authorization_server": provider.issuer } }),
        "no issuer_state: corp does not know it"
    );
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "flow": "authorization_code",
        "login": { "username": op::SUBJECT }, "redirectUri": REDIRECT
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    // PAR, login and token at corp; DPoP because Sigil advertises it.
    assert_eq!(report["authorization"]["iss"], provider.issuer, "{report}");
    assert!(
        report["authorization"]["requestUri"]
            .as_str()
            .is_some_and(|u| u.starts_with("urn:ietf:params:oauth:request_uri:")),
        "{report}"
    );
    assert_eq!(report["authorization"]["tokenType"], "DPoP", "{report}");
    assert_eq!(report["dpop"], true);
    let sent = provider.last_authorization().await;
    assert_eq!(sent["client_id"], WALLET, "{sent}");
    // The configuration's static claims, verified by the wallet's verifier.
    let credential = &report["credentials"][0];
    assert_eq!(credential["format"], "dc+sd-jwt", "{credential}");
    assert_eq!(credential["claims"]["given_name"], "Ada", "{credential}");
    assert_eq!(credential["claims"]["employee_id"], "E-1815");

    // Pre-authorized offers of the tenant keep working: their grant names
    // Sigil's own authorization server.
    let pre = create(&app, &badge_offer()).await;
    let object = offer_object(&app, &pre).await;
    assert_eq!(
        object["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["authorization_server"],
        app.address
    );
    let report = wallet::claim(json!({ "offer": pre["credentialOffer"] })).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["credentials"][0]["claims"]["employee_id"], "E-1");
}

/// A client credentials token of corp for `resource`.
async fn probe_token(provider: &Provider, resource: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/token", provider.issuer))
        .basic_auth(PROBE, Some(PROBE_SECRET))
        .form(&[("grant_type", "client_credentials"), ("resource", resource)])
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    let token = body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(token.split('.').count(), 3, "a JWT access token: {body}");
    token.to_owned()
}

async fn present(app: &TestApp, token: &str) -> (u16, Value, String) {
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .bearer_auth(token)
        .json(&json!({ "credential_configuration_id": BADGE, "proofs": { "jwt": ["x"] } }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, r.json().await.unwrap(), challenge)
}

#[tokio::test]
async fn a_token_of_the_external_server_for_another_audience_is_invalid_token() {
    let (app, provider) = with_corp().await;
    let (status, body, challenge) = present(&app, &probe_token(&provider, OTHER).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains(&format!("its aud does not contain {}", app.address)),
        "{description}"
    );
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    // For Sigil, but granting no credential: insufficient_scope.
    let (status, body, _) = present(&app, &probe_token(&provider, &app.address).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_scope")),
        "{body}"
    );
    // A JWT of a server the tenant does not accept.
    let (status, body, _) = present(
        &app,
        "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZSJ9.AAAA",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("https://evil.example"),
        "{body}"
    );
}

#[tokio::test]
async fn offers_name_the_tenants_servers_and_nothing_the_external_server_cannot_use() {
    let port = op::free_port();
    let corp = op::issuer_at(port);
    let app = Spawn::default()
        .issuer()
        .toml(&corp_toml(port))
        .start()
        .await;
    // By issuer URL as well as by id.
    let created = create(
        &app,
        &json!({ "flow": "authorization_code", "credentialConfigurationIds": [BADGE], "authorizationServer": corp }),
    )
    .await;
    let object = offer_object(&app, &created).await;
    assert_eq!(
        object["grants"]["authorization_code"]["authorization_server"],
        corp
    );
    let base = json!({ "flow": "authorization_code", "credentialConfigurationIds": [BADGE], "authorizationServer": "corp" });
    let with = |extra: Value| {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        (
            json!({ "authorizationServer": "crop" }),
            "authorizationServer",
            "corp (",
        ),
        (
            json!({ "flow": "both" }),
            "flow",
            "pre-authorized code is always Sigil's own",
        ),
        (
            json!({ "flow": "pre_authorized_code" }),
            "flow",
            "authorization code flow",
        ),
        (
            json!({ "issuerStateMode": "include" }),
            "issuerStateMode",
            "does not know it",
        ),
        (
            json!({ "credentialClaims": { BADGE: { "type": "inline", "claims": { "given_name": "X" } } } }),
            "credentialClaims",
            "claim source for the token's sub",
        ),
        (
            json!({ "runtimeOverrides": { "subjectId": "x" } }),
            "runtimeOverrides",
            "not tied to this offer",
        ),
        (
            json!({ "loginHint": "kj" }),
            "loginHint",
            "runs its own login",
        ),
    ];
    for (extra, field, says) in cases {
        let body = with(extra);
        let r = app.admin_post("/admin/v1/offers", &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let p: Value = r.json().await.unwrap();
        let error = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("{field} in {p}"));
        assert!(
            error["message"].as_str().unwrap().contains(says),
            "{says}: {error}"
        );
    }
    // The acme tenant accepts no external server.
    let r = app.admin_post("/admin/v1/tenants/acme/offers", &base).await;
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert!(
        p.to_string()
            .contains("accepts no external authorization servers"),
        "{p}"
    );
}

//! The authorization code flow end to end: a real upstream OpenID provider
//! (npm `oidc-provider`, `tests/wallet/op.mjs`) on 127.0.0.1, Sigil, and the
//! independent wallet (OWF oid4vc-ts) doing PAR + PKCE (+ DPoP) + token +
//! credential, the login scripted through the provider's own pages. Error
//! paths are driven by hand-built requests.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sigil_tests::op::{self, Provider};
use sigil_tests::{Spawn, TestApp, wallet};

use crate::offers::create;

const SD_JWT: &str = "employee_badge_login";
const MDOC: &str = "employee_badge_login_mdoc";
const MDOC_NS: &str = "com.example.sigil.employee.1";
const REDIRECT: &str = "http://127.0.0.1:9/cb";

/// Sigil logging people in at a fresh provider.
async fn with_provider(extra_toml: &str, provider: Value) -> (TestApp, Provider) {
    let port = op::free_port();
    let app = Spawn::default()
        .issuer()
        .toml(&op::login_toml(port))
        .toml(extra_toml)
        .start()
        .await;
    let provider = Provider::start(port, &[&app.address], &provider);
    (app, provider)
}

fn iaca(app: &TestApp) -> String {
    std::fs::read_to_string(app.dir.path().join("keys/default/iaca.pem")).unwrap()
}

/// The ID token's claims reached both formats.
fn assert_login_claims(report: &Value) {
    assert_eq!(report["ok"], true, "{report}");
    let creds = report["credentials"].as_array().unwrap();
    let sd = creds
        .iter()
        .find(|c| c["format"] == "dc+sd-jwt")
        .expect("an SD-JWT VC");
    assert_eq!(sd["claims"]["given_name"], "Katherine", "{sd}");
    assert_eq!(sd["claims"]["family_name"], "Johnson");
    assert_eq!(sd["claims"]["email"], "kj@example.org");
    let mdoc = creds
        .iter()
        .find(|c| c["format"] == "mso_mdoc")
        .expect("an mdoc");
    assert_eq!(mdoc["claims"][MDOC_NS]["given_name"], "Katherine", "{mdoc}");
    assert_eq!(mdoc["claims"][MDOC_NS]["email"], "kj@example.org");
}

#[tokio::test]
async fn login_at_the_provider_issues_sd_jwt_and_mdoc_with_id_token_claims() {
    let (app, provider) = with_provider("", json!({})).await;
    let created = create(
        &app,
        &json!({ "flow": "authorization_code", "credentialConfigurationIds": [SD_JWT, MDOC],
                 "loginHint": "kj@example.org",
                 "runtimeOverrides": { "loginParameters": { "prompt": "login" } } }),
    )
    .await;
    assert_eq!(created["flow"], "authorization_code");
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "flow": "authorization_code",
        "login": { "username": op::SUBJECT }, "dpop": false, "refresh": true,
        "trustAnchors": [iaca(&app)]
    }))
    .await;
    assert_login_claims(&report);
    assert_eq!(report["authorization"]["iss"], app.address);
    assert_eq!(report["authorization"]["tokenType"], "Bearer");
    assert_eq!(report["refreshed"], true, "{report}");
    assert!(report["offer"]["grants"]["authorization_code"]["issuer_state"].is_string());
    let sent = provider.last_authorization().await;
    assert_eq!(sent["login_hint"], "kj@example.org");
    assert_eq!(sent["prompt"], "login");
    assert_eq!(sent["code_challenge_method"], "S256");
    // The offer view shows the flow's steps.
    let id = created["offerId"].as_str().unwrap();
    let view: Value = app
        .admin_get(&format!("/admin/v1/offers/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str().or(e["kind"].as_str()))
        .collect();
    for k in [
        "authorization_requested",
        "login_started",
        "code_issued",
        "token_issued",
        "token_refreshed",
        "credential_issued",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
}

#[tokio::test]
async fn the_same_with_dpop_and_es256_id_tokens_and_scope() {
    let (app, _provider) = with_provider(
        "[authorization]\ndpop = \"required\"\n",
        json!({ "idTokenAlg": "ES256" }),
    )
    .await;
    let created = create(
        &app,
        &json!({ "flow": "authorization_code", "credentialConfigurationIds": [SD_JWT, MDOC] }),
    )
    .await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "flow": "authorization_code", "request": "scope",
        "login": { "username": op::SUBJECT }, "dpop": true, "refresh": true, "batch": 2,
        "trustAnchors": [iaca(&app)]
    }))
    .await;
    assert_login_claims(&report);
    assert_eq!(report["authorization"]["tokenType"], "DPoP", "{report}");
    assert_eq!(report["dpop"], true);
}

#[tokio::test]
async fn an_offer_without_issuer_state_issues_to_whoever_logs_in() {
    let (app, _provider) = with_provider("", json!({})).await;
    let created = create(
        &app,
        &json!({ "flow": "authorization_code", "issuerStateMode": "omit", "credentialConfigurationIds": [SD_JWT] }),
    )
    .await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "flow": "authorization_code",
        "login": { "username": op::SUBJECT }
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    assert!(
        report["offer"]["grants"]["authorization_code"]
            .get("issuer_state")
            .is_none()
    );
    assert_eq!(
        report["credentials"][0]["claims"]["given_name"],
        "Katherine"
    );
}

#[tokio::test]
async fn a_cancelled_login_sends_the_wallet_access_denied() {
    let (app, _provider) = with_provider("", json!({})).await;
    let created = create(
        &app,
        &json!({ "flow": "authorization_code", "credentialConfigurationIds": [SD_JWT] }),
    )
    .await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "flow": "authorization_code",
        "login": { "username": op::SUBJECT }, "cancel": true
    }))
    .await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["stage"], "authorize", "{report}");
    assert_eq!(report["error"], "access_denied", "{report}");
}

// --- by hand ----------------------------------------------------------------

fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The offer object behind a created offer.
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

async fn par(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let r = app.post_form("/par", form).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A PAR for the offer's issuer_state; returns the request_uri.
async fn pushed(app: &TestApp, state: &str, challenge: &str) -> String {
    let (status, body) = par(
        app,
        &[
            ("response_type", "code"),
            ("client_id", "hand-wallet"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("issuer_state", state),
            ("state", "s1"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["request_uri"].as_str().unwrap().to_owned()
}

/// The scripted login from `/authorize`; the final redirect's query.
async fn login(app: &TestApp, request_uri: &str, client_id: &str) -> Value {
    let url = format!(
        "{}/authorize?{}",
        app.address,
        serde_urlencoded::to_string([("client_id", client_id), ("request_uri", request_uri)])
            .unwrap()
    );
    let report = wallet::claim(json!({
        "mode": "login", "url": url, "login": { "username": op::SUBJECT }, "redirectUri": REDIRECT
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    report
}

fn query_of(location: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(location.split_once('?').map(|(_, q)| q).unwrap_or_default())
        .unwrap()
}

fn param(q: &[(String, String)], name: &str) -> Option<String> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

async fn token(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let r = app.post_form("/token", form).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn code_flow_offer(app: &TestApp) -> String {
    let created = create(
        app,
        &json!({ "flow": "authorization_code", "credentialConfigurationIds": [SD_JWT] }),
    )
    .await;
    let object = offer_object(app, &created).await;
    object["grants"]["authorization_code"]["issuer_state"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn pkce_codes_request_uris_and_refresh_tokens_are_enforced() {
    let (app, _provider) = with_provider("", json!({})).await;
    let state = code_flow_offer(&app).await;
    let (verifier, challenge) = pkce();
    let base = [
        ("response_type", "code"),
        ("client_id", "hand-wallet"),
        ("redirect_uri", REDIRECT),
        ("issuer_state", state.as_str()),
    ];
    // PKCE missing, plain; redirect URI not allowed; wrong issuer_state.
    let (s, b) = par(&app, &base).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "{b}"
    );
    assert!(
        b["error_description"].as_str().unwrap().contains("PKCE"),
        "{b}"
    );
    let plain = [
        base.as_slice(),
        &[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "plain"),
        ],
    ]
    .concat();
    let (s, b) = par(&app, &plain).await;
    assert_eq!(s, 400);
    assert!(
        b["error_description"].as_str().unwrap().contains("plain"),
        "{b}"
    );
    let mut evil = [
        base.as_slice(),
        &[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    ]
    .concat();
    evil[2] = ("redirect_uri", "https://evil.example/cb");
    let (s, b) = par(&app, &evil).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "{b}"
    );
    assert!(
        b["error_description"]
            .as_str()
            .unwrap()
            .contains("redirect_uri"),
        "{b}"
    );
    let mut wrong_state = [
        base.as_slice(),
        &[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    ]
    .concat();
    wrong_state[3] = ("issuer_state", "not-an-issuer-state");
    let (s, b) = par(&app, &wrong_state).await;
    assert_eq!(s, 400);
    assert!(
        b["error_description"]
            .as_str()
            .unwrap()
            .contains("issuer_state"),
        "{b}"
    );

    // A foreign client's request_uri: an error page, no redirect.
    let request_uri = pushed(&app, &state, &challenge).await;
    let foreign = login(&app, &request_uri, "someone-else").await;
    assert!(foreign["location"].is_null(), "{foreign}");
    assert_eq!(foreign["status"], 400);

    // The real login: a code at the wallet's redirect URI with state and iss.
    let back = login(&app, &request_uri, "hand-wallet").await;
    let q = query_of(back["location"].as_str().unwrap());
    assert_eq!(param(&q, "state").as_deref(), Some("s1"));
    assert_eq!(param(&q, "iss").as_deref(), Some(app.address.as_str()));
    let code = param(&q, "code").unwrap();
    // The used request_uri does not start another login.
    let again = login(&app, &request_uri, "hand-wallet").await;
    assert!(again["location"].is_null(), "{again}");

    let grant = |verifier: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("client_id", "hand-wallet".to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let form =
        |v: &[(&'static str, String)]| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let wrong = URL_SAFE_NO_PAD.encode([7u8; 32]);
    let f = form(&grant(&wrong));
    let (s, b) = token(
        &app,
        &f.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );
    let f = form(&grant(&verifier));
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, first) = token(&app, &pairs).await;
    assert_eq!(s, 200, "{first}");
    let access = first["access_token"].as_str().unwrap().to_owned();
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();

    // Refresh rotates; the old refresh token again revokes everything.
    let (s, second) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "hand-wallet"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let (s, b) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "hand-wallet"),
        ],
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );
    let newest = second["refresh_token"].as_str().unwrap();
    let (s, _) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", newest),
            ("client_id", "hand-wallet"),
        ],
    )
    .await;
    assert_eq!(s, 400, "the whole grant is revoked");

    // The code again: invalid_grant, and its tokens are dead.
    let (s, b) = token(&app, &pairs).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_grant")),
        "{b}"
    );
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .bearer_auth(&access)
        .json(&json!({ "credential_configuration_id": SD_JWT, "proofs": { "jwt": ["x"] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn an_expired_request_uri_is_refused() {
    let (app, _provider) =
        with_provider("[authorization]\nrequest_uri_seconds = 10\n", json!({})).await;
    let state = code_flow_offer(&app).await;
    let (_, challenge) = pkce();
    let request_uri = pushed(&app, &state, &challenge).await;
    tokio::time::sleep(std::time::Duration::from_secs(11)).await;
    let r = login(&app, &request_uri, "hand-wallet").await;
    assert!(r["location"].is_null(), "{r}");
    assert_eq!(r["status"], 400);
}

/// PAR, scripted login and the code for `app`'s offer with `issuer_state`
/// `state`, with the login's callback answered by `callback_at` (another
/// instance behind the same public URL) when given.
async fn code_for(
    app: &TestApp,
    state: &str,
    challenge: &str,
    callback_at: Option<&TestApp>,
) -> String {
    let request_uri = pushed(app, state, challenge).await;
    let url = format!(
        "{}/authorize?{}",
        app.address,
        serde_urlencoded::to_string([
            ("client_id", "hand-wallet"),
            ("request_uri", request_uri.as_str())
        ])
        .unwrap()
    );
    let mut input = json!({ "mode": "login", "url": url, "login": { "username": op::SUBJECT }, "redirectUri": REDIRECT });
    if let Some(other) = callback_at {
        // The load balancer sends the callback to the other instance.
        input["rewrite"] = json!({ "from": format!("{}/login/callback", app.address), "to": format!("{}/login/callback", other.address) });
    }
    let report = wallet::claim(input).await;
    assert_eq!(report["ok"], true, "{report}");
    if let Some(other) = callback_at {
        let hops = report["hops"].as_array().unwrap();
        assert!(
            hops.iter().any(|h| h
                .as_str()
                .unwrap()
                .starts_with(&format!("{}/login/callback", other.address))),
            "the callback went to the other instance: {report}"
        );
    }
    let location = report["location"]
        .as_str()
        .unwrap_or_else(|| panic!("no redirect: {report}"));
    param(&query_of(location), "code").unwrap()
}

#[tokio::test]
async fn dpop_binds_the_tokens_and_refuses_replayed_or_foreign_proofs() {
    let (app, _provider) = with_provider("", json!({})).await;
    let state = code_flow_offer(&app).await;
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &state, &challenge, None).await;
    let key = sigil_tests::holder::Holder::new();
    let other = sigil_tests::holder::Holder::new();
    let token_url = format!("{}/token", app.address);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", "hand-wallet"),
        ("code_verifier", verifier.as_str()),
    ];
    let r = app
        .client
        .post(&token_url)
        .header("DPoP", key.dpop(&token_url, "t1", None))
        .form(&form)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let credential_url = format!("{}/credential", app.address);
    let nonce: Value = app
        .client
        .post(format!("{}/nonce", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let holder = sigil_tests::holder::Holder::new();
    let request = json!({ "credential_configuration_id": SD_JWT,
        "proofs": { "jwt": [holder.proof(&app.address, nonce["c_nonce"].as_str().unwrap())] } });
    let send = |scheme: &'static str, proof: Option<String>| {
        let mut b = app
            .client
            .post(&credential_url)
            .header("Authorization", format!("{scheme} {access}"))
            .json(&request);
        if let Some(p) = proof {
            b = b.header("DPoP", p);
        }
        async move {
            let r = b.send().await.unwrap();
            let status = r.status().as_u16();
            let challenge = r
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: Value = r.json().await.unwrap();
            (status, body, challenge)
        }
    };
    let (s, b, _) = send("Bearer", None).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_token")),
        "downgraded to Bearer: {b}"
    );
    let (s, b, challenge) = send(
        "DPoP",
        Some(other.dpop(&credential_url, "c1", Some(&access))),
    )
    .await;
    assert_eq!(s, 401, "another key: {b}");
    assert!(challenge.unwrap().contains("DPoP"));
    let good = key.dpop(&credential_url, "c2", Some(&access));
    let (s, b, _) = send("DPoP", Some(good.clone())).await;
    assert_eq!(s, 200, "{b}");
    let (s, b, _) = send("DPoP", Some(good)).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_dpop_proof")),
        "replayed: {b}"
    );
    // The refresh token is bound to the key.
    let refresh = body["refresh_token"].as_str().unwrap();
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", "hand-wallet"),
    ];
    let r = app
        .client
        .post(&token_url)
        .header("DPoP", other.dpop(&token_url, "t2", None))
        .form(&refresh_form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = app
        .client
        .post(&token_url)
        .header("DPoP", key.dpop(&token_url, "t3", None))
        .form(&refresh_form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

#[tokio::test]
async fn a_login_started_on_one_instance_finishes_on_the_other() {
    // Two instances behind one public URL on one database: PostgreSQL when
    // the suite runs on it, else one SQLite file.
    let dir = tempfile::tempdir().unwrap();
    let url = match std::env::var("SIGIL_TEST_DATABASE").as_deref() {
        Ok("postgres") => sigil_store::testing::fresh_postgres_url()
            .await
            .expect("PostgreSQL on 127.0.0.1:5432"),
        _ => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("shared.db").display()
        ),
    };
    let port = op::free_port();
    let a = Spawn::default()
        .issuer()
        .database(&url)
        .toml(&op::login_toml(port))
        .start()
        .await;
    let b = Spawn::default()
        .issuer()
        .database(&url)
        .share_keys_with(&a)
        .public_url(&a.address)
        .toml(&op::login_toml(port))
        .start()
        .await;
    let _provider = Provider::start(port, &[&a.address], &json!({}));
    let state = code_flow_offer(&a).await;
    let (verifier, challenge) = pkce();
    let code = code_for(&a, &state, &challenge, Some(&b)).await;
    // ...and the token comes from the first again.
    let (s, body) = token(
        &a,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", "hand-wallet"),
            ("code_verifier", verifier.as_str()),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn broken_id_tokens_send_the_wallet_an_error_and_issue_nothing() {
    for (tamper, words) in [
        ("signature", "signature"),
        ("nonce", "nonce"),
        ("audience", "aud"),
        ("expired", "expired"),
    ] {
        let (app, _provider) = with_provider("", json!({ "tamper": tamper })).await;
        let state = code_flow_offer(&app).await;
        let (_, challenge) = pkce();
        let request_uri = pushed(&app, &state, &challenge).await;
        let back = login(&app, &request_uri, "hand-wallet").await;
        let location = back["location"]
            .as_str()
            .unwrap_or_else(|| panic!("{tamper}: {back}"));
        let q = query_of(location);
        assert_eq!(
            param(&q, "error").as_deref(),
            Some("server_error"),
            "{tamper}: {location}"
        );
        assert_eq!(param(&q, "state").as_deref(), Some("s1"));
        assert!(param(&q, "code").is_none());
        let description = param(&q, "error_description").unwrap().to_lowercase();
        assert!(
            description.contains("id token") && description.contains(words),
            "{tamper}: {description}"
        );
    }
}

#[tokio::test]
async fn code_flow_offers_are_checked_and_carry_their_grants() {
    let (app, _provider) = with_provider("", json!({})).await;
    let both = create(&app, &json!({ "flow": "both", "credentialConfigurationIds": [SD_JWT], "txCode": { "length": 6 } })).await;
    let object = offer_object(&app, &both).await;
    assert!(
        object["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"]
            .is_object(),
        "{object}"
    );
    assert!(
        object["grants"]["authorization_code"]["issuer_state"].is_string(),
        "{object}"
    );
    for (body, field) in [
        (
            json!({ "flow": "authorization_code", "credentialConfigurationIds": [SD_JWT], "txCode": { "length": 6 } }),
            "txCode",
        ),
        (
            json!({ "flow": "authorization_code", "credentialConfigurationIds": [SD_JWT], "issuerStateMode": "omit",
                 "credentialClaims": { SD_JWT: { "type": "inline", "claims": { "given_name": "A", "family_name": "B" } } } }),
            "credentialClaims",
        ),
        (
            json!({ "flow": "authorization_code", "credentialConfigurationIds": [SD_JWT],
                 "runtimeOverrides": { "loginParameters": { "redirect_uri": "https://evil.example" } } }),
            "runtimeOverrides.loginParameters.redirect_uri",
        ),
    ] {
        let r = app.admin_post("/admin/v1/offers", &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let p: Value = r.json().await.unwrap();
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{body}: {p}");
    }
    // The authorization server metadata names the flow's endpoints.
    let meta: Value = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["pushed_authorization_request_endpoint"],
        format!("{}/par", app.address)
    );
    assert_eq!(meta["require_pushed_authorization_requests"], true);
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert!(
        meta["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(SD_JWT))
    );
}

#[tokio::test]
async fn an_offer_can_remap_the_id_token_claims_and_dpop_nonces_are_honoured() {
    let (app, _provider) = with_provider("[authorization]\ndpop_nonce = true\n", json!({})).await;
    let created = create(
        &app,
        &json!({ "flow": "authorization_code", "credentialConfigurationIds": [SD_JWT],
                 "runtimeOverrides": { "idTokenClaimsMapping": {
                     "/email": "given_name", "/family_name": "family_name" } } }),
    )
    .await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "flow": "authorization_code",
        "login": { "username": op::SUBJECT }, "dpop": true
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    let claims = &report["credentials"][0]["claims"];
    assert_eq!(claims["given_name"], "kj@example.org", "{claims}");
    assert!(claims.get("email").is_none(), "{claims}");
    assert_eq!(report["authorization"]["tokenType"], "DPoP");
}

#[tokio::test]
async fn a_second_tenant_has_its_own_login_under_its_path() {
    let port = op::free_port();
    let app = Spawn::default()
        .issuer()
        .toml(&format!(
            "[tenants.corp]\ncredential_configurations = [\"{SD_JWT}\"]\nredirect_uris = [\"http://127.0.0.1/*\"]\n\n[tenants.corp.login]\nissuer = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n",
            op::issuer_at(port),
            op::CLIENT_ID,
            op::CLIENT_SECRET
        ))
        .start()
        .await;
    let corp = format!("{}/corp", app.address);
    let _provider = Provider::start(port, &[&corp], &json!({}));
    let r = app
        .admin_post(
            "/admin/v1/tenants/corp/offers",
            &json!({ "flow": "authorization_code", "credentialConfigurationIds": [SD_JWT] }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "flow": "authorization_code",
        "login": { "username": op::SUBJECT }, "dpop": true
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["credentialIssuer"], corp);
    assert_eq!(report["authorization"]["iss"], corp);
    assert_eq!(
        report["credentials"][0]["claims"]["given_name"],
        "Katherine"
    );
    let hops: Vec<&str> = report["authorization"]["hops"]
        .as_array()
        .map(|h| h.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        hops.iter()
            .any(|h| h.starts_with(&format!("{corp}/login/callback"))),
        "{hops:?}"
    );
    // Its authorization server metadata sits at the inserted well-known path.
    let meta: Value = app
        .get("/.well-known/oauth-authorization-server/corp")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], corp);
    assert_eq!(meta["authorization_endpoint"], format!("{corp}/authorize"));
}

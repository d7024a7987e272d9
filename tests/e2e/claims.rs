//! Dynamic claim sources (issue #5): attribute providers and webhooks played
//! by a real HTTP server on 127.0.0.1, priority and no-merge rules, data
//! functions, runtime overrides, offer validation, and the latency a provider
//! adds at the credential endpoint.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use sigil_tests::holder::Holder;
use sigil_tests::{Spawn, TestApp, wallet};

use crate::offers::create;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const BADGE: &str = "employee_badge_sd_jwt";

// ---------------------------------------------------------------- the mock

/// One request the mock received.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: String,
}

/// What the mock answers on any path but `/token`.
#[derive(Clone)]
pub(crate) enum Behaviour {
    Json(Value),
    Slow(u64, Value),
    Status(u16),
    Raw(String),
    Redirect(String),
}

struct MockState {
    behaviour: Behaviour,
    seen: Vec<Seen>,
}

/// A provider/webhook on 127.0.0.1 (actix-web), also an OAuth2 token
/// endpoint at `/token` (client `sigil` / `s3cret`, scope `claims.read`).
#[derive(Clone)]
pub(crate) struct Mock {
    state: Arc<Mutex<MockState>>,
    origin: String,
}

pub(crate) fn contract_claims(given: &str) -> Value {
    json!({ "contractVersion": "1", "claims": {
        "given_name": given, "family_name": "Hopper", "employee_id": "E-1906", "department": "Compilers" } })
}

async fn handle(req: HttpRequest, body: web::Bytes, mock: web::Data<Mock>) -> HttpResponse {
    let seen = Seen {
        method: req.method().to_string(),
        path: req.path().to_owned(),
        query: req.query_string().to_owned(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let behaviour = {
        let mut s = mock.state.lock().unwrap();
        s.seen.push(seen.clone());
        s.behaviour.clone()
    };
    if seen.path == "/token" {
        let basic = format!("Basic {}", STANDARD.encode("sigil:s3cret"));
        let ok = seen.headers.get("authorization") == Some(&basic)
            && seen.body.contains("grant_type=client_credentials")
            && seen.body.contains("scope=claims.read");
        return if ok {
            HttpResponse::Ok().json(
                json!({ "access_token": "oauth-at-42", "token_type": "Bearer", "expires_in": 60 }),
            )
        } else {
            HttpResponse::Unauthorized().json(json!({ "error": "invalid_client" }))
        };
    }
    match behaviour {
        Behaviour::Json(v) => HttpResponse::Ok().json(v),
        Behaviour::Slow(ms, v) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            HttpResponse::Ok().json(v)
        }
        Behaviour::Status(code) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
                .json(json!({ "error": "boom" }))
        }
        Behaviour::Raw(text) => HttpResponse::Ok()
            .content_type("application/json")
            .body(text),
        Behaviour::Redirect(to) => HttpResponse::Found()
            .insert_header(("location", to))
            .finish(),
    }
}

impl Mock {
    pub(crate) fn start(behaviour: Behaviour) -> Self {
        let state = Arc::new(Mutex::new(MockState {
            behaviour,
            seen: Vec::new(),
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mock = Mock {
            state,
            origin: format!("http://127.0.0.1:{port}"),
        };
        let data = web::Data::new(mock.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(1 << 20))
                .default_service(web::to(handle))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        mock
    }

    pub(crate) fn set(&self, b: Behaviour) {
        self.state.lock().unwrap().behaviour = b;
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    fn last_claims_request(&self) -> Seen {
        self.seen()
            .into_iter()
            .rev()
            .find(|s| s.path != "/token")
            .expect("the mock was called")
    }
}

// ------------------------------------------------------------- the issuer

fn grants(origin: &str) -> String {
    format!(
        "[plugins.grants.claims-attribute-provider]\nallowed_hosts = [\"{origin}\"]\nlimits = {{ timeout_ms = 5000 }}\n\n\
         [plugins.grants.claims-webhook]\nallowed_hosts = [\"http://127.0.0.1:*\"]\nlimits = {{ timeout_ms = 5000 }}\n\n\
         [claims]\ninline_webhook_secret = \"inline-secret\"\n"
    )
}

fn provider_file(id: &str, origin: &str, extra: &str) -> String {
    format!("id = \"{id}\"\nurl = \"{origin}/claims/{id}\"\n{extra}\n")
}

pub(crate) fn spawn(mock: &Mock) -> Spawn {
    Spawn::default()
        .issuer()
        .more_plugins(&["claims-attribute-provider", "claims-webhook"])
        .toml(&grants(&mock.origin))
        .file(
            "attribute-providers/crm.toml",
            &provider_file("crm", &mock.origin, ""),
        )
        .file(
            "webhook-endpoints/hr.toml",
            &format!(
                "id = \"hr\"\nurl = \"{}/hooks/hr\"\nsecret = \"hr-webhook-secret\"\n",
                mock.origin
            ),
        )
}

/// Token for an offer, then one credential request; returns the HTTP status,
/// the body and the token (for retries).
struct Flow {
    token: String,
    holder: Holder,
}

async fn token_for(app: &TestApp, offer: &Value) -> Flow {
    let created = create(app, offer).await;
    let code = crate::offers::pre_authorized_code(app, &created).await;
    let r = app
        .post_form(
            "/token",
            &[("grant_type", GRANT), ("pre-authorized_code", &code)],
        )
        .await;
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    Flow {
        token,
        holder: Holder::new(),
    }
}

async fn request_credential(app: &TestApp, flow: &Flow) -> (u16, Value) {
    let nonce = crate::credential::nonce(app).await;
    let proof = flow.holder.proof(&app.address, &nonce);
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .bearer_auth(&flow.token)
        .json(&json!({ "credential_configuration_id": BADGE, "proofs": { "jwt": [proof] } }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn issue(app: &TestApp, offer: &Value) -> (u16, Value) {
    let flow = token_for(app, offer).await;
    request_credential(app, &flow).await
}

/// The issuer-signed payload and every disclosed claim of an SD-JWT VC.
fn open(body: &Value) -> (Value, Map<String, Value>) {
    let sd_jwt = body["credentials"][0]["credential"].as_str().unwrap();
    let mut parts = sd_jwt.split('~');
    let jwt = parts.next().unwrap();
    let payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let mut claims = Map::new();
    for d in parts.filter(|p| !p.is_empty()) {
        let arr: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(d).unwrap()).unwrap();
        if let (Some(name), Some(v)) = (arr[1].as_str(), arr.get(2)) {
            claims.insert(name.to_owned(), v.clone());
        }
    }
    for (k, v) in payload.as_object().unwrap() {
        if !k.starts_with('_') {
            claims.entry(k.clone()).or_insert(v.clone());
        }
    }
    (payload, claims)
}

#[allow(clippy::needless_pass_by_value, reason = "called with json! literals")]
fn offer_with(source: Value) -> Value {
    json!({ "credentialConfigurationIds": [BADGE], "credentialClaims": { BADGE: source } })
}

fn provider_offer(id: &str) -> Value {
    offer_with(json!({ "type": "attributeProvider", "id": id }))
}

fn verify_signature(seen: &Seen, secret: &str) {
    let header = seen.headers.get("sigil-signature").expect("signed request");
    let parts: BTreeMap<&str, &str> = header
        .split(',')
        .filter_map(|p| p.split_once('='))
        .collect();
    let t = parts["t"];
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", seen.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(parts["v1"], expected, "HMAC-SHA256 over t.body");
    let age = sigil_tests::holder::now() - t.parse::<i64>().unwrap();
    assert!((0..30).contains(&age), "fresh timestamp");
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn each_auth_mode_reaches_the_provider() {
    let mock = Mock::start(Behaviour::Json(contract_claims("Grace")));
    let o = mock.origin.clone();
    let app = spawn(&mock)
        .file(
            "attribute-providers/key.toml",
            &provider_file(
                "key",
                &o,
                "[auth]\ntype = \"api-key\"\nheader = \"x-crm-key\"\nvalue = \"k-123\"",
            ),
        )
        .file(
            "attribute-providers/bearer.toml",
            &provider_file(
                "bearer",
                &o,
                "[auth]\ntype = \"bearer\"\ntoken = { file = \"secrets/bearer\" }",
            ),
        )
        .file("secrets/bearer", "t-456\n")
        .file(
            "attribute-providers/basic.toml",
            &provider_file(
                "basic",
                &o,
                "method = \"GET\"\n[auth]\ntype = \"basic\"\nusername = \"sigil\"\npassword = \"p@ss:word\"",
            ),
        )
        .file(
            "attribute-providers/oauth.toml",
            &provider_file(
                "oauth",
                &o,
                &format!(
                    "[auth]\ntype = \"oauth2\"\ntoken_url = \"{o}/token\"\nclient_id = \"sigil\"\nclient_secret = \"s3cret\"\nscope = \"claims.read\""
                ),
            ),
        )
        .start()
        .await;
    let expect: [(&str, &str, String); 4] = [
        ("key", "x-crm-key", "k-123".into()),
        ("bearer", "authorization", "Bearer t-456".into()),
        (
            "basic",
            "authorization",
            format!("Basic {}", STANDARD.encode("sigil:p@ss:word")),
        ),
        ("oauth", "authorization", "Bearer oauth-at-42".into()),
    ];
    for (id, header, value) in expect {
        let flow = token_for(&app, &provider_offer(id)).await;
        let (status, body) = request_credential(&app, &flow).await;
        assert_eq!(status, 200, "{id}: {body}");
        let (_, claims) = open(&body);
        assert_eq!(claims["given_name"], "Grace", "{id}");
        let seen = mock.last_claims_request();
        assert_eq!(seen.path, format!("/claims/{id}"));
        assert_eq!(seen.headers.get(header), Some(&value), "{id}: {seen:?}");
        assert_eq!(seen.headers.get("sigil-contract-version").unwrap(), "1");
        assert!(
            !seen.headers.contains_key("sigil-signature"),
            "providers are not signed"
        );
        if id == "basic" {
            assert_eq!(seen.method, "GET");
            assert!(seen.query.contains("contractVersion=1"), "{}", seen.query);
            assert!(
                seen.query
                    .contains("credentialConfigurationId=employee_badge_sd_jwt")
            );
        } else {
            assert_eq!(seen.method, "POST");
            let req: Value = serde_json::from_str(&seen.body).unwrap();
            assert_eq!(req["contractVersion"], "1");
            assert_eq!(req["tenant"], "default");
            assert_eq!(req["issuer"], app.address);
            assert_eq!(req["credentialConfigurationId"], BADGE);
            assert_eq!(req["format"], "dc+sd-jwt");
            assert_eq!(
                req["source"],
                json!({ "type": "attributeProvider", "id": id })
            );
            assert_eq!(req["subject"]["holderKeys"][0], flow.holder.jwk);
            assert!(req["offerId"].as_str().is_some_and(|s| !s.is_empty()));
            assert!(req.get("idTokenClaims").is_none());
        }
    }
    let token_calls: Vec<Seen> = mock
        .seen()
        .into_iter()
        .filter(|s| s.path == "/token")
        .collect();
    assert_eq!(token_calls.len(), 1, "one OAuth2 token per claims call");
}

#[tokio::test]
async fn webhooks_are_signed_with_hmac_sha256() {
    let mock = Mock::start(Behaviour::Json(contract_claims("Hedy")));
    let app = spawn(&mock).start().await;
    // A named endpoint, signed with its own secret.
    let (status, body) = issue(&app, &offer_with(json!({ "type": "webhook", "id": "hr" }))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(open(&body).1["given_name"], "Hedy");
    let seen = mock.last_claims_request();
    assert_eq!(seen.path, "/hooks/hr");
    verify_signature(&seen, "hr-webhook-secret");
    let req: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(req["source"], json!({ "type": "webhook", "id": "hr" }));
    // An inline webhook with bearer auth, signed with [claims].inline_webhook_secret.
    let url = format!("{}/hooks/inline?tenant=x", mock.origin);
    let (status, body) = issue(
        &app,
        &offer_with(json!({ "type": "webhook", "webhook": {
            "url": url, "auth": { "type": "bearer", "token": "per-offer" } } })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let seen = mock.last_claims_request();
    assert_eq!(seen.path, "/hooks/inline");
    assert_eq!(seen.headers["authorization"], "Bearer per-offer");
    verify_signature(&seen, "inline-secret");
    // The signature covers the body: a different secret does not verify.
    let result = std::panic::catch_unwind(|| verify_signature(&seen, "hr-webhook-secret"));
    assert!(result.is_err(), "a wrong secret must not verify");
    // A per-offer webhook in runtimeOverrides serves every configuration.
    let (status, _) = issue(
        &app,
        &json!({ "credentialConfigurationIds": [BADGE],
                 "runtimeOverrides": { "webhook": { "url": format!("{}/hooks/override", mock.origin) } } }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(mock.last_claims_request().path, "/hooks/override");
}

#[tokio::test]
async fn slow_provider_times_out_and_the_same_token_succeeds_later() {
    let mock = Mock::start(Behaviour::Slow(2_000, contract_claims("Late")));
    let app = spawn(&mock)
        .file(
            "attribute-providers/slow.toml",
            &provider_file("slow", &mock.origin, "timeout_ms = 400"),
        )
        .start()
        .await;
    let flow = token_for(&app, &provider_offer("slow")).await;
    let started = Instant::now();
    let (status, body) = request_credential(&app, &flow).await;
    let took = started.elapsed();
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"], "server_error");
    let d = body["error_description"].as_str().unwrap();
    assert!(
        d.contains("attribute provider 'slow' did not answer") && d.contains("400 ms"),
        "{d}"
    );
    assert!(d.contains("retried with the same access token"), "{d}");
    assert!(
        took < Duration::from_millis(1_800),
        "gave up after {took:?}"
    );
    // The provider recovers; the wallet retries with the same access token
    // (and a fresh nonce): nothing was used up.
    mock.set(Behaviour::Json(contract_claims("Recovered")));
    let (status, body) = request_credential(&app, &flow).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(open(&body).1["given_name"], "Recovered");
}

#[tokio::test]
async fn provider_failures_are_clear_errors() {
    let mock = Mock::start(Behaviour::Status(500));
    // A second server on another port: not granted, must never be reached.
    let forbidden = Mock::start(Behaviour::Json(contract_claims("Evil")));
    let app = spawn(&mock)
        .file(
            "attribute-providers/small.toml",
            &provider_file("small", &mock.origin, "max_response_bytes = 1024"),
        )
        .start()
        .await;
    let big = json!({ "claims": { "given_name": "x".repeat(4096) } }).to_string();
    let cases: Vec<(Behaviour, &str, &str)> = vec![
        (
            Behaviour::Status(500),
            "crm",
            "answered the claims request with HTTP 500",
        ),
        (
            Behaviour::Raw("{\"claims\": {".into()),
            "crm",
            "malformed JSON",
        ),
        (
            Behaviour::Json(json!({ "name": "no claims member" })),
            "crm",
            "without a claims object",
        ),
        (
            Behaviour::Json(json!({ "status": "maybe" })),
            "crm",
            "unknown status 'maybe'",
        ),
        (
            Behaviour::Raw(big),
            "small",
            "more than max_response_bytes (1024)",
        ),
        (
            Behaviour::Redirect(format!("{}/claims/crm", forbidden.origin)),
            "crm",
            "redirects are not followed",
        ),
    ];
    for (behaviour, id, expected) in cases {
        mock.set(behaviour);
        let (status, body) = issue(&app, &provider_offer(id)).await;
        assert_eq!(status, 500, "{expected}: {body}");
        assert_eq!(body["error"], "server_error");
        let d = body["error_description"].as_str().unwrap();
        assert!(d.contains(expected), "expected '{expected}' in: {d}");
        assert!(d.contains(&format!("attribute provider '{id}'")), "{d}");
    }
    assert!(
        forbidden.seen().is_empty(),
        "the redirect target was contacted: {:?}",
        forbidden.seen()
    );
}

#[tokio::test]
async fn pending_and_denied_answers() {
    let mock = Mock::start(Behaviour::Json(
        json!({ "status": "pending", "intervalSeconds": 30, "reason": "HR review" }),
    ));
    let app = spawn(&mock).start().await;
    let flow = token_for(&app, &provider_offer("crm")).await;
    // Pending defers the issuance (OID4VCI §9; the polls are in e2e/deferred.rs).
    let (status, body) = request_credential(&app, &flow).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["interval"], 30, "{body}");
    assert!(body["transaction_id"].is_string(), "{body}");
    assert!(
        !body.to_string().contains("HR review"),
        "the reason is not the wallet's: {body}"
    );
    // A new request once the source is ready gets the credential at once.
    mock.set(Behaviour::Json(contract_claims("Ready")));
    let (status, _) = request_credential(&app, &flow).await;
    assert_eq!(status, 200);
    mock.set(Behaviour::Json(
        json!({ "status": "denied", "reason": "left the company" }),
    ));
    let (status, body) = issue(&app, &provider_offer("crm")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "credential_request_denied");
    assert!(!body.to_string().contains("left the company"));
}

#[tokio::test]
async fn response_mapping_turns_any_json_into_claims() {
    let mock = Mock::start(Behaviour::Json(json!({
        "person": { "first": "Ada", "last": "Lovelace", "address": { "city": "London" } },
        "unused": true
    })));
    let app = spawn(&mock)
        .file(
            "attribute-providers/mapped.toml",
            &provider_file(
                "mapped",
                &mock.origin,
                "[mapping]\n\"/person/first\" = \"given_name\"\n\"/person/last\" = \"family_name\"\n\"/person/address/city\" = \"address.locality\"\n\"/missing\" = \"department\"",
            ),
        )
        .start()
        .await;
    let (status, body) = issue(&app, &provider_offer("mapped")).await;
    assert_eq!(status, 200, "{body}");
    let (_, claims) = open(&body);
    assert_eq!(claims["given_name"], "Ada");
    assert_eq!(claims["family_name"], "Lovelace");
    assert!(claims.get("department").is_none());
    assert!(claims.get("unused").is_none());
}

/// A configuration with both an attribute provider and static claims.
const PROVIDER_BADGE: &str = r#"id = "provider_badge"
format = "dc+sd-jwt"
vct = "https://credentials.sigil.example/provider_badge"
attribute_provider = "crm"
[[claims]]
path = ["given_name"]
[source]
type = "static"
claims = { given_name = "Static", employee_id = "S-1", department = "Static dept" }
"#;

async fn issue_for(app: &TestApp, config: &str, offer: &Value) -> (u16, Value) {
    let created = create(app, offer).await;
    claim_created(app, config, &created).await
}

/// Redeem a created offer's code and request one `config` credential with a
/// fresh holder key: the credential endpoint's status and body.
pub async fn claim_created(app: &TestApp, config: &str, created: &Value) -> (u16, Value) {
    let code = crate::offers::pre_authorized_code(app, created).await;
    let r = app
        .post_form(
            "/token",
            &[("grant_type", GRANT), ("pre-authorized_code", &code)],
        )
        .await;
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let holder = Holder::new();
    let nonce = crate::credential::nonce(app).await;
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .bearer_auth(&token)
        .json(&json!({ "credential_configuration_id": config,
                       "proofs": { "jwt": [holder.proof(&app.address, &nonce)] } }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn priority_offer_then_provider_then_static_without_merging() {
    let mock = Mock::start(Behaviour::Json(
        json!({ "claims": { "given_name": "FromProvider", "family_name": "P" } }),
    ));
    let app = spawn(&mock)
        .file(
            "credential-configurations/provider_badge.toml",
            PROVIDER_BADGE,
        )
        .start()
        .await;
    let ids = json!(["provider_badge"]);
    // 1. The offer's source wins; neither provider nor static claims leak in.
    let (s, body) = issue_for(
        &app,
        "provider_badge",
        &json!({ "credentialConfigurationIds": ids, "credentialClaims": { "provider_badge":
            { "type": "inline", "claims": { "given_name": "FromOffer" } } } }),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (_, c) = open(&body);
    assert_eq!(c["given_name"], "FromOffer");
    assert!(
        c.get("family_name").is_none() && c.get("employee_id").is_none(),
        "{c:?}"
    );
    assert!(mock.seen().is_empty(), "the provider is not asked");
    // 2. No offer source: the configuration's provider, not merged with static.
    let (s, body) = issue_for(
        &app,
        "provider_badge",
        &json!({ "credentialConfigurationIds": ids }),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (_, c) = open(&body);
    assert_eq!(c["given_name"], "FromProvider");
    assert!(
        c.get("employee_id").is_none() && c.get("department").is_none(),
        "{c:?}"
    );
    assert_eq!(mock.seen().len(), 1);
    // 3. No provider: static claims (the example badge), not merged with the offer's overrides.
    let (s, body) = issue(&app, &json!({ "credentialConfigurationIds": [BADGE] })).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(open(&body).1["employee_id"], "E-1815");
    // runtimeOverrides.credentialData replaces static claims as a whole.
    let (s, body) = issue(
        &app,
        &json!({ "credentialConfigurationIds": [BADGE], "runtimeOverrides": { "credentialData":
            { "given_name": "Override", "family_name": "O" } } }),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (_, c) = open(&body);
    assert_eq!(c["given_name"], "Override");
    assert!(
        c.get("employee_id").is_none(),
        "no merge with static: {c:?}"
    );
    // An offer-level provider beats the configuration's static claims too.
    let (s, body) = issue(&app, &provider_offer("crm")).await;
    assert_eq!(s, 200);
    let (_, c) = open(&body);
    assert_eq!(c["given_name"], "FromProvider");
    assert!(c.get("employee_id").is_none());
    // credentialData cannot silently lose to a configuration's provider.
    let r = app
        .admin_post(
            "/admin/v1/offers",
            &json!({ "credentialConfigurationIds": ids,
                     "runtimeOverrides": { "credentialData": { "given_name": "X" } } }),
        )
        .await;
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!(
        p["errors"][0]["field"], "runtimeOverrides.credentialData",
        "{p}"
    );
}

#[tokio::test]
async fn data_functions_and_overrides_reach_the_credential() {
    let mock = Mock::start(Behaviour::Json(contract_claims("Unused")));
    let app = spawn(&mock).start().await;
    let before = sigil_tests::holder::now();
    let (s, body) = issue(
        &app,
        &json!({
            "credentialConfigurationIds": [BADGE],
            "credentialClaims": { BADGE: { "type": "inline", "claims": {
                "given_name": "Ada", "family_name": "Lovelace",
                "employee_id": "urn:uuid:<uuid>", "department": "<offer-id>" } } },
            "runtimeOverrides": {
                "subjectId": "did:example:ada",
                "mapping": { "member.since": "<timestamp-in-seconds>", "member.until": "<timestamp-in-seconds:+365d>",
                             "member.issued": "<timestamp>", "member.by": "<issuer-id>", "member.sub": "<subject-id>" },
                "validitySeconds": 86400,
                "selectiveDisclosure": { "department": false }
            }
        }),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (payload, c) = open(&body);
    let id = c["employee_id"].as_str().unwrap();
    assert!(id.starts_with("urn:uuid:") && id.len() == 45, "{id}");
    let m = &c["member"];
    let since = m["since"].as_i64().unwrap();
    assert!(since >= before && since <= before + 5, "{since}");
    assert_eq!(m["until"].as_i64().unwrap(), since + 365 * 86_400);
    assert!(m["issued"].as_str().unwrap().ends_with('Z'));
    assert_eq!(m["by"], app.address);
    assert_eq!(m["sub"], "did:example:ada");
    // selectiveDisclosure false: department is in the signed payload itself.
    let offer_id = payload["department"]
        .as_str()
        .expect("department not disclosable");
    assert_eq!(offer_id.len(), 36);
    assert_eq!(
        payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(),
        86_400
    );
}

#[tokio::test]
async fn offer_validation_is_problem_json() {
    let mock = Mock::start(Behaviour::Json(contract_claims("x")));
    let app = spawn(&mock).start().await;
    let cases = [
        (
            json!({ "credentialConfigurationIds": [BADGE], "credentialClaims": { "other": { "type": "inline", "claims": {} } } }),
            "credentialClaims.other",
            "not one of the offer's",
        ),
        (
            provider_offer("nope"),
            "credentialClaims.employee_badge_sd_jwt.id",
            "unknown attribute provider 'nope'; configured: crm",
        ),
        (
            offer_with(
                json!({ "type": "webhook", "webhook": { "url": "https://evil.example/hook" } }),
            ),
            "credentialClaims.employee_badge_sd_jwt.webhook.url",
            "origin https://evil.example is not allowed for plugin 'claims-webhook'. Fix: add \"https://evil.example\" to plugins.grants.claims-webhook.allowed_hosts",
        ),
        (
            offer_with(
                json!({ "type": "webhook", "webhook": { "url": "http://127.0.0.1:1/x", "auth": { "type": "bearer" } } }),
            ),
            "credentialClaims.employee_badge_sd_jwt.webhook.auth.token",
            "non-empty string",
        ),
        (
            offer_with(json!({ "type": "webhook", "id": "nope" })),
            "credentialClaims.employee_badge_sd_jwt.id",
            "unknown webhook endpoint 'nope'",
        ),
        (
            offer_with(json!({ "type": "inline", "claims": { "a": { "b": "<uuidd>" } } })),
            "credentialClaims.employee_badge_sd_jwt.claims.a.b",
            "unknown data function <uuidd>",
        ),
        (
            json!({ "credentialConfigurationIds": [BADGE], "runtimeOverrides": { "issuerDid": "did:x" } }),
            "runtimeOverrides.issuerDid",
            "unknown member",
        ),
        (
            json!({ "credentialConfigurationIds": [BADGE], "runtimeOverrides": { "validitySeconds": 0 } }),
            "runtimeOverrides.validitySeconds",
            "whole number",
        ),
        (
            json!({ "credentialConfigurationIds": [BADGE], "runtimeOverrides": { "issuerKeyId": "other-key" } }),
            "runtimeOverrides.issuerKeyId",
            "is not a signing key of tenant",
        ),
        (
            json!({ "credentialConfigurationIds": [BADGE], "runtimeOverrides": { "x5Chain": ["not base64!"] } }),
            "runtimeOverrides.x5Chain",
            "DER certificates",
        ),
        (
            json!({ "credentialConfigurationIds": [BADGE], "runtimeOverrides": { "selectiveDisclosure": { "a": "yes" } } }),
            "runtimeOverrides.selectiveDisclosure",
            "true (disclosable)",
        ),
        (
            json!({ "credentialConfigurationIds": [BADGE], "runtimeOverrides": { "mapping": { "x": "<timestamp:+5y>" } } }),
            "runtimeOverrides.mapping.x",
            "+5y",
        ),
        (
            json!({ "credentialConfigurationIds": [BADGE], "webhookEndpointId": "nope" }),
            "webhookEndpointId",
            "unknown event endpoint 'nope'",
        ),
    ];
    for (body, field, message) in cases {
        let r = app.admin_post("/admin/v1/offers", &body).await;
        assert_eq!(r.status(), 400, "{body}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{body}"
        );
        let p: Value = r.json().await.unwrap();
        let errors = p["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["message"].as_str().unwrap().contains(message)),
            "expected {field}: {message} in {p}"
        );
    }
    // EUDIPLO's attributeProviderId is the same field; the tenant's own key id is fine.
    let r = app
        .admin_post(
            "/admin/v1/offers",
            &offer_with(json!({ "type": "attributeProvider", "attributeProviderId": "crm" })),
        )
        .await;
    assert_eq!(r.status(), 201);
    // A claims webhook is not an event endpoint (event endpoints are
    // config/event-endpoints/; tests/e2e/webhooks.rs uses them).
    let r = app
        .admin_post(
            "/admin/v1/offers",
            &json!({ "credentialConfigurationIds": [BADGE], "webhookEndpointId": "hr" }),
        )
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn wallet_claims_credentials_from_each_source() {
    let mock = Mock::start(Behaviour::Json(contract_claims("Remote")));
    let app = spawn(&mock).start().await;
    let sources = [
        (
            "inline",
            offer_with(json!({ "type": "inline", "claims": {
            "given_name": "Inline", "family_name": "L" } })),
            "Inline",
        ),
        (
            "static",
            json!({ "credentialConfigurationIds": [BADGE] }),
            "Ada",
        ),
        ("attribute provider", provider_offer("crm"), "Remote"),
        (
            "webhook",
            offer_with(json!({ "type": "webhook", "id": "hr" })),
            "Remote",
        ),
    ];
    for (what, offer, given) in sources {
        let created = create(&app, &offer).await;
        let report = wallet::claim(json!({ "offer": created["credentialOffer"] })).await;
        assert_eq!(report["ok"], true, "{what}: {report}");
        let c = &report["credentials"][0];
        assert_eq!(c["cnfMatchesHolderKey"], true, "{what}");
        assert_eq!(c["claims"]["given_name"], given, "{what}: {report}");
    }
    let paths: Vec<String> = mock.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/claims/crm", "/hooks/hr"]);
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The latency a provider adds at the credential endpoint (printed; run with
/// `--nocapture` to see it). The provider answers at once from 127.0.0.1,
/// so the figure is Sigil's own cost: the plugin's HTTP call and JSON work.
#[tokio::test]
async fn latency_of_provider_backed_issuance_vs_inline() {
    let mock = Mock::start(Behaviour::Json(contract_claims("Fast")));
    let app = spawn(&mock).start().await;
    let inline = offer_with(json!({ "type": "inline", "claims": {
        "given_name": "Grace", "family_name": "Hopper", "employee_id": "E-1906", "department": "Compilers" } }));
    let mut results = Vec::new();
    for (what, offer) in [
        ("inline", inline.clone()),
        ("attribute provider", provider_offer("crm")),
        (
            "webhook (signed)",
            offer_with(json!({ "type": "webhook", "id": "hr" })),
        ),
    ] {
        let mut times = Vec::new();
        for i in 0..25 {
            let flow = token_for(&app, &offer).await;
            let nonce = crate::credential::nonce(&app).await;
            let proof = flow.holder.proof(&app.address, &nonce);
            let started = Instant::now();
            let r = app
                .client
                .post(format!("{}/credential", app.address))
                .bearer_auth(&flow.token)
                .json(
                    &json!({ "credential_configuration_id": BADGE, "proofs": { "jwt": [proof] } }),
                )
                .send()
                .await
                .unwrap();
            let status = r.status();
            let _ = r.bytes().await.unwrap();
            if i >= 5 {
                times.push(started.elapsed());
            }
            assert_eq!(status, 200, "{what}");
        }
        results.push((what, median(times)));
    }
    let base = results[0].1;
    for (what, m) in &results {
        println!(
            "credential endpoint, {what}: median {:.2} ms (+{:.2} ms vs inline)",
            m.as_secs_f64() * 1e3,
            (m.as_secs_f64() - base.as_secs_f64()) * 1e3
        );
    }
}

//! Bad input, as a hostile client sends it: every answer a clear 4xx (never
//! a 5xx), problem+json on the admin API, the spec's error codes on the
//! wallet routes. Runs on SQLite and again on PostgreSQL (`cargo xtask test`).

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use sigil_tests::holder::Holder;
use sigil_tests::{ADMIN_TOKEN, Spawn, TestApp};

use crate::claims::claim_created;
use crate::credential::{access_token, nonce};
use crate::offers::{badge_offer, create, issuer, pre_authorized_code};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// A problem+json answer: its status, and the body read as JSON.
async fn problem(r: reqwest::Response, status: u16) -> Value {
    let url = r.url().clone();
    assert_eq!(r.status(), status, "{url}");
    assert_eq!(
        r.headers()[CONTENT_TYPE],
        "application/problem+json",
        "{url}"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], status, "{url}: {body}");
    assert!(body["type"].as_str().unwrap().starts_with("https://"));
    assert!(!body["detail"].as_str().unwrap().is_empty());
    body
}

fn fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|f| f["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str) -> reqwest::Response {
    app.client
        .request(method, format!("{}{path}", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
}

async fn admin_raw(app: &TestApp, path: &str, content_type: &str, body: &str) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .header(CONTENT_TYPE, content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn nul_in_admin_text_is_a_400_naming_the_field() {
    let app = issuer().await;
    let mut in_value = badge_offer();
    in_value["credentialClaims"]["employee_badge_sd_jwt"]["claims"]["given_name"] =
        json!("A\u{0}da");
    let mut in_name = badge_offer();
    in_name["credentialClaims"]["employee_badge_sd_jwt"]["claims"]["x\u{0}"] = json!(1);
    let mut in_tx = badge_offer();
    in_tx["txCode"] = json!({ "description": "PIN\u{0}" });
    let in_id = json!({ "credentialConfigurationIds": ["employee_\u{0}badge"] });
    let in_profile = json!({ "profile": "\u{0}" });
    let cases = [
        (
            in_value,
            "credentialClaims.employee_badge_sd_jwt.claims.given_name",
        ),
        (
            in_name,
            "credentialClaims.employee_badge_sd_jwt.claims.x\\u0000",
        ),
        (in_tx, "txCode.description"),
        (in_id, "credentialConfigurationIds[0]"),
        (in_profile, "profile"),
    ];
    for (body, field) in cases {
        let r = app.admin_post("/admin/v1/offers", &body).await;
        let p = problem(r, 400).await;
        assert_eq!(fields(&p), [field], "{p}");
    }
    // In path segments: an offer id or a tenant no resource can have.
    for path in [
        "/admin/v1/offers/%00",
        "/admin/v1/offers/a%00b/qr.svg",
        "/admin/v1/tenants/%00/keys",
    ] {
        problem(admin(&app, reqwest::Method::GET, path).await, 404).await;
    }
    problem(
        admin(&app, reqwest::Method::DELETE, "/admin/v1/offers/%00").await,
        404,
    )
    .await;
    let r = app
        .admin_post("/admin/v1/tenants/ac%00me/offers", &badge_offer())
        .await;
    problem(r, 404).await;
}

#[tokio::test]
async fn nul_on_the_wallet_routes_gets_the_spec_errors() {
    let app = issuer().await;
    for path in [
        "/credential-offer/%00",
        "/credential-offer/x%00y",
        "/acme/credential-offer/%00",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "not_found", "{path}");
    }
    let r = app
        .post_form(
            "/token",
            &[("grant_type", GRANT), ("pre-authorized_code", "a\u{0}b")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let created = create(&app, &{
        let mut b = badge_offer();
        b["txCode"] = json!({ "value": "1234" });
        b
    })
    .await;
    let code = pre_authorized_code(&app, &created).await;
    let r = app
        .post_form(
            "/token",
            &[
                ("grant_type", GRANT),
                ("pre-authorized_code", &code),
                ("tx_code", "12\u{0}4"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let token = access_token(&app).await;
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .bearer_auth(&token)
        .json(
            &json!({ "credential_configuration_id": "employee\u{0}", "proofs": { "jwt": ["x"] } }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unknown_credential_configuration"
    );
}

#[tokio::test]
async fn offer_lifetime_is_bounded_per_tenant() {
    let app = Spawn::default()
        .issuer()
        .toml("[tenants.short]\nmax_offer_lifetime_seconds = 600\nallow_non_expiring_offers = false\n")
        .start()
        .await;
    for (path, seconds, ok) in [
        ("/admin/v1/offers", json!(1_000_000_000_000i64), false),
        ("/admin/v1/offers", json!(30 * 86_400 + 1), false),
        ("/admin/v1/offers", json!(30 * 86_400), true),
        ("/admin/v1/offers", json!(-1), true),
        ("/admin/v1/offers", json!(-2), false),
        ("/admin/v1/tenants/short/offers", json!(600), true),
        ("/admin/v1/tenants/short/offers", json!(601), false),
        ("/admin/v1/tenants/short/offers", json!(-1), false),
    ] {
        let mut body = badge_offer();
        body["expiresInSeconds"] = seconds.clone();
        let r = app.admin_post(path, &body).await;
        if ok {
            assert_eq!(r.status(), 201, "{path} {seconds}");
        } else {
            let p = problem(r, 400).await;
            assert_eq!(fields(&p), ["expiresInSeconds"], "{path} {seconds}: {p}");
        }
    }
    // Not a whole number at all: named too.
    let mut body = badge_offer();
    body["expiresInSeconds"] = json!(1e300);
    let p = problem(app.admin_post("/admin/v1/offers", &body).await, 400).await;
    assert_eq!(fields(&p), ["expiresInSeconds"], "{p}");
    body["expiresInSeconds"] = json!(600);
    body["txCode"] = json!({ "length": 1_000_000_000_000i64 });
    let p = problem(app.admin_post("/admin/v1/offers", &body).await, 400).await;
    assert_eq!(fields(&p), ["txCode.length"], "{p}");
}

#[tokio::test]
async fn thousands_of_bad_entries_get_a_bounded_problem() {
    let app = issuer().await;
    let ids: Vec<String> = (0..5_000)
        .map(|i| format!("no-such-configuration-{i}"))
        .collect();
    let r = app
        .admin_post(
            "/admin/v1/offers",
            &json!({ "credentialConfigurationIds": ids }),
        )
        .await;
    let text_len = r.content_length();
    let p = problem(r, 400).await;
    assert_eq!(p["errors"].as_array().unwrap().len(), 50);
    assert!(
        p["errorsOmitted"].as_u64().unwrap() >= 4_950,
        "{}",
        p["errorsOmitted"]
    );
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("more errors are not listed")
    );
    assert!(text_len.unwrap_or(0) < 64 * 1024, "{text_len:?}");
    // Thousands of NULs: counted, not listed.
    let claims: serde_json::Map<String, Value> = (0..3_000)
        .map(|i| (format!("c{i}"), json!("\u{0}")))
        .collect();
    let mut body = badge_offer();
    body["credentialClaims"]["employee_badge_sd_jwt"]["claims"] = Value::Object(claims);
    let p = problem(app.admin_post("/admin/v1/offers", &body).await, 400).await;
    assert_eq!(p["errors"].as_array().unwrap().len(), 50);
    assert_eq!(p["errorsOmitted"], 2_950);
}

#[tokio::test]
async fn every_admin_error_is_problem_json() {
    let app = issuer().await;
    use reqwest::Method as M;
    for (method, path, status) in [
        (M::GET, "/admin", 404),
        (M::GET, "/admin/", 404),
        (M::GET, "/admin/v1", 404),
        (M::GET, "/admin/v1/nope", 404),
        (M::GET, "/admin/v2/offers", 404),
        (M::GET, "/admin/v1/tenants/nope/keys", 404),
        (M::POST, "/admin/v1/tenants/nope/keys/rotate", 404),
        (
            M::GET,
            "/admin/v1/offers/00000000-0000-4000-8000-000000000000",
            404,
        ),
        (M::GET, "/admin/v1/offers/..", 404),
        (M::GET, "/admin/v1/offers/%2e%2e/qr.png", 404),
        (M::GET, "/admin/v1/offers/a%2Fb", 404),
        (M::GET, "/admin/v1/offers", 405),
        (M::PUT, "/admin/v1/offers/x", 405),
        (M::PATCH, "/admin/v1/keys", 405),
        (M::GET, "/admin/v1/keys/rotate", 405),
        (M::DELETE, "/admin/v1/plugins", 405),
    ] {
        let r = admin(&app, method.clone(), path).await;
        let allow = r
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned());
        problem(r, status).await;
        assert_eq!(allow.is_some(), status == 405, "{method} {path}");
    }
    let r = admin(&app, M::PUT, "/admin/v1/offers/x").await;
    assert_eq!(r.headers()["allow"], "GET, DELETE");
    // Dot segments as sent on the wire (an HTTP client library would
    // normalise them away).
    for path in [
        "/admin/v1/../v1/keys",
        "/admin/v1/./keys",
        "/admin/v1/offers/../keys",
        "/admin/../admin/v1/keys",
    ] {
        let (status, content_type, body) = raw_get(&app, path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(content_type, "application/problem+json", "{path}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["status"], 404, "{path}");
    }
    // Unauthenticated: a path no route has is 404 (nothing there to
    // protect); a route is 401 before anything else.
    let r = app.get("/admin/v1/no-such-route").await;
    problem(r, 404).await;
    let r = app.get("/admin/v1/keys").await;
    problem(r, 401).await;
}

/// A GET sent byte for byte as given (no normalisation of the path):
/// status, content type and body.
async fn raw_get(app: &TestApp, path: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let host = app.address.trim_start_matches("http://").to_owned();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nConnection: close\r\n\r\n"
    );
    let text = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&host).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

#[tokio::test]
async fn http_rules_for_schemes_media_types_duplicates_and_sizes() {
    let app = issuer().await;
    // The bearer scheme in any case, on the admin API and the credential endpoint.
    let r = app
        .client
        .get(format!("{}/admin/v1/keys", app.address))
        .header("Authorization", format!("bearer {ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = access_token(&app).await;
    let holder = Holder::new();
    let proof = holder.proof(&app.address, &nonce(&app).await);
    let good = json!({ "credential_configuration_id": "employee_badge_sd_jwt", "proofs": { "jwt": [proof] } });
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .header("Authorization", format!("BEARER {token}"))
        .header(CONTENT_TYPE, "text/plain")
        .body(good.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a credential request must be JSON");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_credential_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
    // A repeated member is refused, never "last one wins".
    let text = good.to_string();
    let twice = text.replacen(
        "{",
        "{\"credential_configuration_id\":\"employee_badge_sd_jwt\",",
        1,
    );
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .header("Authorization", format!("bearer {token}"))
        .header(CONTENT_TYPE, "application/json")
        .body(twice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_credential_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("appears twice"),
        "{body}"
    );
    // The token endpoint wants a form.
    let r = app
        .client
        .post(format!("{}/token", app.address))
        .json(&json!({ "grant_type": GRANT, "pre-authorized_code": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    // The admin API wants JSON, once per member.
    let offer = badge_offer().to_string();
    let dup = offer.replacen(
        '{',
        "{\"profile\":\"employee-badge\",\"profile\":\"all-formats\",",
        1,
    );
    let nested = offer.replacen("\"given_name\"", "\"family_name\":\"x\",\"given_name\"", 1);
    for (content_type, body, status, says) in [
        ("text/plain", offer.as_str(), 415, "application/json"),
        (
            "application/x-www-form-urlencoded",
            "a=b",
            415,
            "application/json",
        ),
        (
            "application/json",
            dup.as_str(),
            400,
            "\"profile\" appears twice",
        ),
        (
            "application/json",
            nested.as_str(),
            400,
            "\"family_name\" appears twice",
        ),
        (
            "application/json; charset=utf-8",
            "{",
            400,
            "not valid JSON",
        ),
    ] {
        let r = admin_raw(&app, "/admin/v1/offers", content_type, body).await;
        let p = problem(r, status).await;
        assert!(p["detail"].as_str().unwrap().contains(says), "{p}");
    }
    // Sizes: a huge head is 431, a huge body 413, on every kind of route.
    let big = "x".repeat(40 * 1024);
    for path in ["/admin/v1/keys", "/.well-known/openid-credential-issuer"] {
        let r = app
            .client
            .get(format!("{}{path}", app.address))
            .bearer_auth(ADMIN_TOKEN)
            .header("X-Padding", &big)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 431, "{path}");
    }
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(300 * 1024));
    problem(
        admin_raw(&app, "/admin/v1/offers", "application/json", &huge).await,
        413,
    )
    .await;
    for (path, content_type) in [
        ("/credential", "application/json"),
        ("/token", "application/x-www-form-urlencoded"),
    ] {
        let r = app
            .client
            .post(format!("{}{path}", app.address))
            .header(CONTENT_TYPE, content_type)
            .body(huge.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{path}");
    }
}

async fn event_kinds(app: &TestApp, id: &str) -> Vec<String> {
    let r = app.admin_get(&format!("/admin/v1/offers/{id}")).await;
    let body: Value = r.json().await.unwrap();
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn revoking_says_what_happened() {
    let app = issuer().await;
    let created = create(&app, &badge_offer()).await;
    let id = created["offerId"].as_str().unwrap();
    let path = format!("/admin/v1/offers/{id}");
    assert_eq!(app.admin_delete(&path).await.status(), 204);
    assert_eq!(app.admin_delete(&path).await.status(), 204, "idempotent");
    let revoked = event_kinds(&app, id).await;
    assert_eq!(
        revoked.iter().filter(|k| *k == "offer_revoked").count(),
        1,
        "{revoked:?}"
    );

    let created = create(&app, &badge_offer()).await;
    let id = created["offerId"].as_str().unwrap();
    let (status, _) = claim_created(&app, "employee_badge_sd_jwt", &created).await;
    assert_eq!(
        status, 200,
        "its one credential is issued: the offer is consumed"
    );
    let path = format!("/admin/v1/offers/{id}");
    let p = problem(app.admin_delete(&path).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("consumed"), "{p}");
    let kinds = event_kinds(&app, id).await;
    assert!(!kinds.iter().any(|k| k == "offer_revoked"), "{kinds:?}");
    let r = app.admin_get(&path).await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "consumed");
}

/// The key for tenant `acme` (a file secret) and the digest entry of a second one.
const ACME_KEY: &str = "acme-admin-key-0123456789abcdef";
const ACME_KEY_2: &str = "acme-second-key-0123456789abcdef";

async fn with_tenant_keys() -> TestApp {
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(ACME_KEY_2.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // `issuer()` ends with the `[tenants.acme]` table: these keys are acme's.
    Spawn::default()
        .issuer()
        .toml(&format!(
            "admin_keys = [{{ file = \"secrets/acme-admin.key\" }}, \"sha256:{digest}\"]"
        ))
        .toml("[tenants.beta]\ncredential_configurations = [\"mdl_mdoc\"]")
        .file("secrets/acme-admin.key", &format!("{ACME_KEY}\n"))
        .start()
        .await
}

async fn as_key(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut r = app
        .client
        .request(method, format!("{}{path}", app.address))
        .bearer_auth(key);
    if let Some(b) = body {
        r = r.json(b);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn a_tenant_key_reaches_its_tenant_only() {
    use reqwest::Method as M;
    let app = with_tenant_keys().await;
    let theirs = create(&app, &badge_offer()).await;
    let theirs = theirs["offerId"].as_str().unwrap().to_owned();
    for key in [ACME_KEY, ACME_KEY_2] {
        // Its own tenant: offers, keys, its plugins.
        let r = as_key(
            &app,
            key,
            M::POST,
            "/admin/v1/tenants/acme/offers",
            Some(&badge_offer()),
        )
        .await;
        assert_eq!(r.status(), 201);
        let mine: Value = r.json().await.unwrap();
        let mine = mine["offerId"].as_str().unwrap();
        for path in [
            format!("/admin/v1/offers/{mine}"),
            format!("/admin/v1/offers/{mine}/qr.svg"),
            "/admin/v1/tenants/acme/keys".to_owned(),
        ] {
            assert_eq!(
                as_key(&app, key, M::GET, &path, None).await.status(),
                200,
                "{path}"
            );
        }
        let r = as_key(&app, key, M::GET, "/admin/v1/plugins", None).await;
        let listed: Value = r.json().await.unwrap();
        let ids: Vec<&str> = listed["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&"format-sd-jwt-vc"), "{ids:?}");
        assert!(!ids.contains(&"format-mso-mdoc"), "{ids:?}");
        let r = as_key(
            &app,
            key,
            M::POST,
            "/admin/v1/plugins/claims-inline/resolve",
            Some(&json!({ "inlineClaims": { "a": 1 } })),
        )
        .await;
        assert_eq!(r.status(), 200);
        // Another tenant's offers, keys and plugins: 404, as if they did not exist.
        for (method, path, body) in [
            (M::GET, format!("/admin/v1/offers/{theirs}"), None),
            (M::GET, format!("/admin/v1/offers/{theirs}/qr.png"), None),
            (M::DELETE, format!("/admin/v1/offers/{theirs}"), None),
            (M::POST, "/admin/v1/offers".to_owned(), Some(badge_offer())),
            (
                M::POST,
                "/admin/v1/tenants/beta/offers".to_owned(),
                Some(badge_offer()),
            ),
            (M::GET, "/admin/v1/keys".to_owned(), None),
            (M::POST, "/admin/v1/keys/rotate".to_owned(), None),
            (M::GET, "/admin/v1/tenants/beta/keys".to_owned(), None),
            (
                M::POST,
                "/admin/v1/tenants/beta/keys/reload".to_owned(),
                None,
            ),
            (
                M::POST,
                "/admin/v1/plugins/format-mso-mdoc/resolve".to_owned(),
                Some(json!({})),
            ),
        ] {
            let r = as_key(&app, key, method.clone(), &path, body.as_ref()).await;
            let p = problem(r, 404).await;
            assert!(!p.to_string().contains("forbidden"), "{method} {path}: {p}");
        }
        // The other tenant's offer is untouched.
        let r = app.admin_get(&format!("/admin/v1/offers/{theirs}")).await;
        assert_eq!(r.json::<Value>().await.unwrap()["status"], "created");
    }
    // A wrong key is 401; the global token still reaches everything.
    let r = as_key(
        &app,
        "acme-admin-key-0123456789abcdeX",
        M::GET,
        "/admin/v1/tenants/acme/keys",
        None,
    )
    .await;
    problem(r, 401).await;
    assert_eq!(
        app.admin_get("/admin/v1/tenants/beta/keys").await.status(),
        200
    );
    let r = app.admin_get("/admin/v1/plugins").await;
    let all: Value = r.json().await.unwrap();
    assert!(all["plugins"].to_string().contains("format-mso-mdoc"));
}

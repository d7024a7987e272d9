//! `GET /metrics`: a full pre-authorized flow of the independent wallet
//! (and a few refusals provoked here) moves exactly its counters, read
//! with an independent, strict parser of the Prometheus text format; who
//! may scrape; metrics off; the separate listener without authentication.
//!
//! Each test has a server of its own, and each server its own registry,
//! so the flows of concurrent tests never show in these counts.

use std::collections::BTreeMap;

use prom_text_format_parser::{Scrape, Type, ValueType};
use serde_json::{Value, json};
use sigil_tests::{ADMIN_TOKEN, Spawn, TestApp, wallet};

use crate::offers::{badge_offer, create, pre_authorized_code};

const METRICS_TOKEN: &str = "metrics-token-of-the-e2e-test";
const CONFIGURATION: &str = "employee_badge_sd_jwt";
const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// A sample's family, value type (`value`, `sum`, `count`) and sorted labels.
type SampleKey = (String, &'static str, Vec<(String, String)>);

/// Every sample of a scrape, by [`SampleKey`].
struct Samples(BTreeMap<SampleKey, f64>);

impl Samples {
    /// `text` read strictly: a line the parser cannot read fails the test.
    fn parse(text: &str) -> Self {
        let scrape = Scrape::parse(text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        let mut samples = BTreeMap::new();
        for metric in scrape.metrics {
            assert_ne!(metric.kind, Type::Untyped, "{} has a TYPE", metric.name);
            for s in metric.samples {
                let kind = match s.value.value_type {
                    ValueType::Sample => "value",
                    ValueType::Sum => "sum",
                    ValueType::Count => "count",
                };
                let mut labels: Vec<(String, String)> = s
                    .labels
                    .iter()
                    .map(|l| (l.key.clone(), l.value.clone()))
                    .collect();
                labels.sort();
                let key = (metric.name.clone(), kind, labels);
                assert!(
                    samples.insert(key, s.value.value.as_f64()).is_none(),
                    "one sample per label set: {text}"
                );
            }
        }
        Self(samples)
    }

    /// The sum of the `kind` values (`value`, `count`, `sum`) of `family`
    /// whose labels include `labels` (0 when there is none).
    fn total(&self, family: &str, kind: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|((name, k, have), _)| {
                name == family
                    && *k == kind
                    && labels
                        .iter()
                        .all(|(key, value)| have.iter().any(|(hk, hv)| hk == key && hv == value))
            })
            .map(|(_, v)| v)
            .sum()
    }

    /// [`Samples::total`] of counter or gauge values.
    fn value(&self, family: &str, labels: &[(&str, &str)]) -> f64 {
        self.total(family, "value", labels)
    }
}

/// `GET /metrics` with `token` as bearer token (none: no header).
async fn get_metrics(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(format!("{}/metrics", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// A scrape with `token`: 200, the Prometheus text format, parsed.
async fn scrape_with(app: &TestApp, token: &str) -> Samples {
    let r = get_metrics(app, Some(token)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    Samples::parse(&r.text().await.unwrap())
}

/// The change of `f(samples)` from `before` to `after`.
fn delta(before: &Samples, after: &Samples, f: impl Fn(&Samples) -> f64) -> f64 {
    f(after) - f(before)
}

/// The change of the counter `family` (label subset `labels`).
fn moved(before: &Samples, after: &Samples, family: &str, labels: &[(&str, &str)]) -> f64 {
    delta(before, after, |s| s.value(family, labels))
}

/// The change of the count of the histogram `family` (label subset `labels`).
fn counted(before: &Samples, after: &Samples, family: &str, labels: &[(&str, &str)]) -> f64 {
    delta(before, after, |s| s.total(family, "count", labels))
}

/// The path of `url` (the server's routes for the default tenant are their
/// literal paths, apart from the offer's id).
fn path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |at| &rest[at..]);
    path.split(['?', '#']).next().unwrap_or_default().to_owned()
}

/// The route pattern the server matches `path` with (default tenant).
fn route_of(path: &str) -> String {
    for (prefix, pattern) in [
        ("/credential-offer/", "/credential-offer/{offer}"),
        ("/statuslists/", "/statuslists/{n}"),
    ] {
        if path.starts_with(prefix) {
            return pattern.into();
        }
    }
    path.into()
}

#[tokio::test]
async fn a_full_flow_moves_exactly_its_counters() {
    let app = Spawn::default()
        .issuer()
        .env("SIGIL_TEST_METRICS_TOKEN", METRICS_TOKEN)
        .toml("[metrics]\ntoken_env = \"SIGIL_TEST_METRICS_TOKEN\"\n")
        .start()
        .await;
    // Set up before the first scrape: the offer the wallet claims, and a
    // second offer whose code this test redeems itself.
    let created = create(&app, &badge_offer()).await;
    let other = create(&app, &badge_offer()).await;
    let code = pre_authorized_code(&app, &other).await;

    let before = scrape_with(&app, METRICS_TOKEN).await;
    let report = wallet::claim(json!({ "offer": created["credentialOffer"], "trace": true })).await;
    assert_eq!(report["ok"], true, "{report}");
    let trace = report["trace"].as_array().unwrap().clone();
    // Provoked refusals: a code never issued (token endpoint), an unknown
    // access token, and a proof that is no JWT with a live token.
    let r = app
        .post_form(
            "/token",
            &[
                ("grant_type", PRE_AUTHORIZED_GRANT),
                ("pre-authorized_code", "never-issued"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = app
        .post_form(
            "/token",
            &[
                ("grant_type", PRE_AUTHORIZED_GRANT),
                ("pre-authorized_code", &code),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let access: Value = r.json().await.unwrap();
    let credential = |bearer: String, proof: &str| {
        app.client
            .post(format!("{}/credential", app.address))
            .bearer_auth(bearer)
            .json(&json!({ "credential_configuration_id": CONFIGURATION, "proofs": { "jwt": [proof] } }))
            .send()
    };
    let r = credential("not-a-token".into(), "x").await.unwrap();
    assert_eq!(r.status(), 401);
    let r = credential(access["access_token"].as_str().unwrap().into(), "not-a-jwt")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_proof");
    let mine: [(&str, &str, u16); 4] = [
        ("POST", "/token", 400),
        ("POST", "/token", 200),
        ("POST", "/credential", 401),
        ("POST", "/credential", 400),
    ];
    let after = scrape_with(&app, ADMIN_TOKEN).await;

    // Issuances: the wallet's one, and the two refused requests that named
    // the configuration.
    let issuance = |outcome: &'static str| {
        move |s: &Samples| {
            s.value(
                "sigil_issuances_total",
                &[
                    ("tenant", "default"),
                    ("configuration", CONFIGURATION),
                    ("format", "dc+sd-jwt"),
                    ("outcome", outcome),
                ],
            )
        }
    };
    assert_eq!(delta(&before, &after, issuance("issued")), 1.0);
    assert_eq!(delta(&before, &after, issuance("refused")), 2.0);
    assert_eq!(moved(&before, &after, "sigil_issuances_total", &[]), 3.0);
    // Error answers by endpoint and code.
    let oauth = |endpoint: &'static str, error: &'static str| {
        move |s: &Samples| {
            s.value(
                "sigil_oauth_errors_total",
                &[("endpoint", endpoint), ("error", error)],
            )
        }
    };
    assert_eq!(delta(&before, &after, oauth("token", "invalid_grant")), 1.0);
    assert_eq!(
        delta(&before, &after, oauth("credential", "invalid_token")),
        1.0
    );
    assert_eq!(
        delta(&before, &after, oauth("credential", "invalid_proof")),
        1.0
    );
    assert_eq!(moved(&before, &after, "sigil_oauth_errors_total", &[]), 3.0);

    // HTTP: every request the wallet made, the four above and the first
    // scrape, by matched route (here each route's literal path) and status.
    let mut expected: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    for entry in &trace {
        let url = entry["url"].as_str().unwrap();
        assert!(url.starts_with(&app.address), "the wallet called {url}");
        let route = route_of(&path(url));
        let method = entry["method"].as_str().unwrap().to_owned();
        let status = entry["status"].as_u64().unwrap().to_string();
        *expected.entry((method, route, status)).or_default() += 1.0;
    }
    for (method, route, status) in mine {
        *expected
            .entry((method.into(), route.into(), status.to_string()))
            .or_default() += 1.0;
    }
    *expected
        .entry(("GET".into(), "/metrics".into(), "200".into()))
        .or_default() += 1.0;
    let mut wrong = Vec::new();
    let mut by_route: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for ((method, route, status), n) in &expected {
        let labels = [
            ("method", method.as_str()),
            ("route", route.as_str()),
            ("status", status.as_str()),
        ];
        let got = moved(&before, &after, "sigil_http_requests_total", &labels);
        if got != *n {
            wrong.push(format!("{method} {route} {status}: {got}, expected {n}"));
        }
        *by_route
            .entry((method.as_str(), route.as_str()))
            .or_default() += n;
    }
    for ((method, route), n) in by_route {
        let timed = [("method", method), ("route", route)];
        let got = counted(
            &before,
            &after,
            "sigil_http_request_duration_seconds",
            &timed,
        );
        if got != n {
            wrong.push(format!("{method} {route} timed: {got}, expected {n}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let requests: f64 = expected.values().sum();
    assert_eq!(
        moved(&before, &after, "sigil_http_requests_total", &[]),
        requests,
        "no request counted that was not made"
    );
    assert_eq!(
        counted(&before, &after, "sigil_http_request_duration_seconds", &[]),
        requests
    );
    for route in ["/token", "/nonce", "/credential"] {
        assert!(
            expected.keys().any(|(_, r, _)| r == route),
            "the wallet called {route}: {trace:?}"
        );
    }

    // Plugins: the inline claim source and the SD-JWT format, once each.
    for (plugin, call) in [
        ("claims-inline", "resolve_claims"),
        ("format-sd-jwt-vc", "issue"),
    ] {
        let ok = [("plugin", plugin), ("call", call), ("outcome", "ok")];
        assert_eq!(
            moved(&before, &after, "sigil_plugin_calls_total", &ok),
            1.0,
            "{plugin} {call}"
        );
        let timed = [("plugin", plugin), ("call", call)];
        assert_eq!(
            counted(
                &before,
                &after,
                "sigil_plugin_call_duration_seconds",
                &timed
            ),
            1.0
        );
    }
    assert_eq!(
        moved(&before, &after, "sigil_plugin_calls_total", &[]),
        2.0,
        "no other plugin call"
    );
    assert_eq!(moved(&before, &after, "sigil_plugin_traps_total", &[]), 0.0);

    // The database was used, and the writer's queue is empty again.
    let db = |operation| {
        counted(
            &before,
            &after,
            "sigil_db_query_duration_seconds",
            &[("operation", operation)],
        )
    };
    // SQLite writes in batches (its writer thread), PostgreSQL statement by
    // statement.
    let writes = db("batch") + db("insert") + db("update") + db("delete");
    assert!(writes >= 2.0, "the token and the issuance were written");
    assert!(db("select") >= 1.0, "the access token was read");
    assert_eq!(after.value("sigil_sqlite_writer_queue_depth", &[]), 0.0);
    assert_eq!(
        after.value(
            "sigil_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
}

#[tokio::test]
async fn the_admin_token_or_the_metrics_token_may_scrape() {
    let app = Spawn::default()
        .env("SIGIL_TEST_METRICS_TOKEN", METRICS_TOKEN)
        .env("SIGIL_TEST_ACME_KEY", "acme-admin-key-0123456789")
        .toml(
            "[metrics]\ntoken_env = \"SIGIL_TEST_METRICS_TOKEN\"\n\n[tenants.acme]\nadmin_keys = [{ env = \"SIGIL_TEST_ACME_KEY\" }]\n",
        )
        .start()
        .await;
    for token in [None, Some("wrong-token-0123456789")] {
        let r = get_metrics(&app, token).await;
        assert_eq!(r.status(), 401, "{token:?}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let problem: Value = r.json().await.unwrap();
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("metrics token or admin token"),
            "{problem}"
        );
    }
    let r = get_metrics(&app, Some("acme-admin-key-0123456789")).await;
    assert_eq!(r.status(), 403, "a tenant's key sees one tenant");
    for token in [ADMIN_TOKEN, METRICS_TOKEN] {
        let samples = scrape_with(&app, token).await;
        assert_eq!(samples.value("sigil_build_info", &[]), 1.0);
    }
}

#[tokio::test]
async fn metrics_off_answer_404() {
    let app = Spawn::default()
        .toml("[metrics]\nenabled = false\n")
        .start()
        .await;
    assert_eq!(app.get("/health").await.status(), 200);
    let r = get_metrics(&app, Some(ADMIN_TOKEN)).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: Value = r.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("enabled"),
        "{problem}"
    );
}

#[tokio::test]
async fn the_separate_listener_serves_metrics_without_authentication() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = Spawn::default()
        .toml(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"))
        .start()
        .await;
    assert_eq!(app.get("/health").await.status(), 200);
    let r = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let samples = Samples::parse(&r.text().await.unwrap());
    assert_eq!(samples.value("sigil_build_info", &[]), 1.0);
    // The health check went through the main listener, and is counted.
    assert_eq!(
        samples.value(
            "sigil_http_requests_total",
            &[("route", "/health"), ("status", "200")]
        ),
        1.0
    );
    // The main listener still wants a token.
    assert_eq!(get_metrics(&app, None).await.status(), 401);
}

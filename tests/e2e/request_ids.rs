//! Request ids (`x-request-id`, from the caller, its `traceparent`, or
//! fresh) on every response, and the spans of a request in the log, from
//! the HTTP layer through the issuer to the store and the plugins.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use sigil_tests::holder::Holder;
use sigil_tests::{Spawn, TestApp};

use crate::credential::{access_token, nonce};
use crate::offers::issuer;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn id_of(r: &reqwest::Response) -> String {
    r.headers()
        .get("x-request-id")
        .unwrap_or_else(|| panic!("no x-request-id on {} {}", r.status(), r.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(format!("{}{path}", app.address));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn generated(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn the_callers_id_is_echoed() {
    let app = Spawn::default().start().await;
    let r = get(&app, "/health", &[("x-request-id", "lb-7f3a:0001")]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(id_of(&r), "lb-7f3a:0001");
}

#[tokio::test]
async fn the_trace_id_of_a_traceparent_is_the_id() {
    let app = Spawn::default().start().await;
    let traceparent = format!("00-{TRACE}-00f067aa0ba902b7-01");
    let r = get(&app, "/health", &[("traceparent", &traceparent)]).await;
    assert_eq!(id_of(&r), TRACE);
    let r = get(
        &app,
        "/health",
        &[("traceparent", &traceparent), ("x-request-id", "mine")],
    )
    .await;
    assert_eq!(id_of(&r), "mine", "x-request-id wins");
}

#[tokio::test]
async fn otherwise_a_fresh_id_is_made() {
    let app = Spawn::default().start().await;
    let a = id_of(&get(&app, "/health", &[]).await);
    let b = id_of(&get(&app, "/health", &[("traceparent", "00-not-a-trace-01")]).await);
    let c = id_of(&get(&app, "/health", &[("x-request-id", &"x".repeat(129))]).await);
    for id in [&a, &b, &c] {
        assert!(generated(id), "{id}");
    }
    assert!(a != b && b != c && a != c);
}

#[tokio::test]
async fn errors_and_unknown_paths_carry_the_id_too() {
    let app = issuer().await;
    let h = [("x-request-id", "err-1")];
    let not_found = get(&app, "/no/such/path", &h).await;
    assert_eq!(not_found.status(), 404);
    assert_eq!(id_of(&not_found), "err-1");
    let problem = get(&app, "/admin/v1/plugins", &h).await;
    assert_eq!(problem.status(), 401);
    assert_eq!(
        problem.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(id_of(&problem), "err-1");
    let oauth = app
        .client
        .post(format!("{}/token", app.address))
        .header("x-request-id", "err-2")
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth.status(), 400);
    assert_eq!(id_of(&oauth), "err-2");
    // Refused before routing (limits): the id is there too.
    let big = "a".repeat(40 * 1024);
    let too_large = get(
        &app,
        "/health",
        &[("x-request-id", "err-3"), ("x-big", &big)],
    )
    .await;
    assert_eq!(too_large.status(), 431);
    assert_eq!(id_of(&too_large), "err-3");
}

/// The log lines of request `id` (waiting briefly for the last ones).
async fn lines_of(id: &str, until: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let log = sigil_tests::capture::log_path().expect("the e2e run captures its log");
    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .filter(|l| l.contains(id))
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["request_id"] == id)
            .collect();
        if until(&lines) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    lines
}

fn span_names(lines: &[Value]) -> BTreeSet<String> {
    lines
        .iter()
        .flat_map(|l| l["spans"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_credential_request_is_traced_through_issuer_store_and_plugins() {
    let app = issuer().await;
    let token = access_token(&app).await;
    let c_nonce = nonce(&app).await;
    let proof = Holder::new().proof(&app.address, &c_nonce);
    let id = format!("e2e-spans-{}", std::process::id());
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .bearer_auth(&token)
        .header("x-request-id", &id)
        .json(&json!({
            "credential_configuration_id": "employee_badge_sd_jwt",
            "proofs": { "jwt": [proof] },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(id_of(&r), id);

    let wanted = [
        "http.request",
        "issuer.credential",
        "store.find_access_token_and_offer",
        "plugin.call",
        "store.finish_credential",
    ];
    let lines = lines_of(&id, |lines| {
        let names = span_names(lines);
        wanted.iter().all(|w| names.contains(*w)) && lines.iter().any(|l| l["message"] == "request")
    })
    .await;
    let names = span_names(&lines);
    for w in wanted {
        assert!(names.contains(w), "no span {w} in {names:?}");
    }
    // The nesting: the store and the plugins below the issuer, below HTTP.
    let finish = lines
        .iter()
        .find(|l| {
            l["spans"].as_array().unwrap().last().unwrap()["name"] == "store.finish_credential"
        })
        .expect("a line of store.finish_credential");
    let chain: Vec<&str> = finish["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        chain,
        [
            "http.request",
            "issuer.credential",
            "store.finish_credential"
        ]
    );
    assert_eq!(finish["spans"][1]["tenant"], "default");
    assert_eq!(finish["spans"][2]["configuration"], "employee_badge_sd_jwt");
    let calls: BTreeSet<&str> = lines
        .iter()
        .flat_map(|l| l["spans"].as_array().unwrap())
        .filter(|s| s["name"] == "plugin.call")
        .map(|s| s["call"].as_str().unwrap())
        .collect();
    assert!(calls.contains("issue"), "{calls:?}");
    let done = lines
        .iter()
        .find(|l| l["message"] == "request")
        .expect("the request's line");
    let http = &done["spans"][0];
    assert_eq!(http["method"], "POST");
    assert_eq!(http["route"], "/credential");
    assert_eq!(http["status"], 200);
    assert!(http["latency_ms"].as_f64().unwrap() > 0.0);
    // The access token and the proof are in no line of the request.
    let text: String = lines.iter().map(Value::to_string).collect();
    assert!(!text.contains(&token));
    assert!(!text.contains(&proof));
}

#[tokio::test]
async fn routes_are_patterns_never_paths() {
    let app = issuer().await;
    let id = format!("e2e-route-{}", std::process::id());
    let r = get(
        &app,
        "/credential-offer/some-offer-id?secret=abc",
        &[("x-request-id", &id)],
    )
    .await;
    assert_eq!(id_of(&r), id);
    let lines = lines_of(&id, |l| l.iter().any(|l| l["message"] == "request")).await;
    let done = lines
        .iter()
        .find(|l| l["message"] == "request")
        .expect("the request's line");
    let route = done["spans"][0]["route"].as_str().unwrap();
    assert!(
        route.contains('{') && !route.contains("some-offer-id"),
        "{route}"
    );
    let text: String = lines.iter().map(Value::to_string).collect();
    assert!(!text.contains("secret=abc"), "{text}");
}

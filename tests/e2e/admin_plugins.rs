use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{Value, json};
use sigil_tests::Spawn;

const HOSTILE: [(&str, u16, &str); 5] = [
    ("spin-loop", 502, "plugin 'spin-loop' ran out of fuel"),
    (
        "alloc-bomb",
        502,
        "plugin 'alloc-bomb' exceeded its memory limit",
    ),
    ("panic", 502, "plugin 'panic' crashed"),
    (
        "malformed-output",
        502,
        "plugin 'malformed-output' returned an invalid result",
    ),
    (
        "slow-sleep",
        504,
        "plugin 'slow-sleep' exceeded its 500ms deadline",
    ),
];

async fn server() -> sigil_tests::TestApp {
    Spawn::default()
        .plugins(&[
            "claims-inline",
            "claims-static",
            "spin-loop",
            "alloc-bomb",
            "panic",
            "malformed-output",
            "slow-sleep",
        ])
        .toml("[plugins.grants.slow-sleep.limits]\ntimeout_ms = 500")
        .start()
        .await
}

#[tokio::test]
async fn admin_api_requires_the_bearer_token() {
    let app = server().await;
    let r = app.get("/admin/v1/plugins").await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 401);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer")
    );
    let r = app
        .client
        .get(format!("{}/admin/v1/plugins", app.address))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn plugins_are_listed_with_kind_version_and_capabilities() {
    let app = server().await;
    let body: Value = app
        .admin_get("/admin/v1/plugins")
        .await
        .json()
        .await
        .unwrap();
    let plugins = body["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 7);
    let inline = plugins.iter().find(|p| p["id"] == "claims-inline").unwrap();
    assert_eq!(inline["kind"], "claim-provider");
    assert_eq!(inline["api"], "sigil:plugin@0.1.0");
    assert_eq!(inline["limits"]["timeoutMs"], 2000);
    assert_eq!(body["loadErrors"], json!([]));
}

#[tokio::test]
async fn dry_run_resolves_inline_claims() {
    let app = server().await;
    let r = app
        .admin_post(
            "/admin/v1/plugins/claims-inline/resolve",
            &json!({ "inlineClaims": { "given_name": "Ada" } }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({ "claims": { "given_name": "Ada" } })
    );
    let r = app
        .admin_post("/admin/v1/plugins/claims-inline/resolve", &json!({}))
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("has no inline claims"),
        "{body}"
    );
    let r = app
        .admin_post("/admin/v1/plugins/nope/resolve", &json!({}))
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .admin_post(
            "/admin/v1/plugins/claims-inline/resolve",
            &json!({ "bogus": 1 }),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

/// Every hostile plugin fails only its own request, with an attributed
/// problem, while good requests and /health keep being answered.
#[tokio::test]
async fn hostile_plugins_fail_alone_while_the_server_keeps_serving() {
    let app = &server().await;
    let started = Instant::now();
    let hostile = join_all(HOSTILE.iter().map(|(id, _, _)| async move {
        app.admin_post(&format!("/admin/v1/plugins/{id}/resolve"), &json!({}))
            .await
    }));
    let good = join_all((0..30).map(|i| {
        let body = json!({ "inlineClaims": { "n": i }, "source": { "claims": { "n": i } } });
        let id = if i % 2 == 0 {
            "claims-inline"
        } else {
            "claims-static"
        };
        async move {
            (
                i,
                app.admin_post(&format!("/admin/v1/plugins/{id}/resolve"), &body)
                    .await,
            )
        }
    }));
    let health = async {
        let mut answered = 0;
        while started.elapsed() < Duration::from_millis(400) {
            let r = app.get("/health").await;
            assert_eq!(r.status(), 200);
            answered += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        answered
    };
    let (hostile, good, health) = tokio::join!(hostile, good, health);
    for ((id, status, message), response) in HOSTILE.iter().zip(hostile) {
        assert_eq!(response.status().as_u16(), *status, "{id}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: Value = response.json().await.unwrap();
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.starts_with(message), "{id}: {detail}");
    }
    for (i, response) in good {
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["claims"]["n"], i);
    }
    assert!(health >= 5, "health answered only {health} times");
    assert_eq!(app.get("/ready").await.status(), 200);
}

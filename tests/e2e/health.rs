use serde_json::Value;
use sigil_tests::Spawn;

#[tokio::test]
async fn health_and_ready_answer_json() {
    let app = Spawn::default()
        .plugins(&["claims-inline", "claims-static"])
        .start()
        .await;
    let r = app.get("/health").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
    let r = app.get("/ready").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["plugins"], 2);
    // The pool: at least the connection the readiness ping used, none busy
    // once it answered, of the most it may open.
    let db = &body["database"];
    assert!(db["connections"].as_u64().unwrap() >= 1, "{body}");
    assert!(db["idle"].as_u64().unwrap() <= db["connections"].as_u64().unwrap());
    assert!(db["maxConnections"].as_u64().unwrap() >= 1, "{body}");
    assert!(
        (0.0..=1.0).contains(&db["saturation"].as_f64().unwrap()),
        "{body}"
    );
}

#[tokio::test]
async fn ready_reports_the_pool_size_configured() {
    let Some(url) = sigil_store::testing::fresh_postgres_url().await else {
        return;
    };
    let app = Spawn::default()
        .plugins(&["claims-inline"])
        .database(&url)
        .database_toml(
            "max_connections = 3\nacquire_timeout_ms = 2000\nstatement_timeout_ms = 1000",
        )
        .start()
        .await;
    let body: Value = app.get("/ready").await.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["database"]["maxConnections"], 3, "{body}");
    drop(app);
    let _ = sigil_store::testing::drop_postgres_schema(&url).await;
}

#[tokio::test]
async fn ready_reports_plugins_that_failed_to_load() {
    let app = Spawn::default()
        .plugins(&["claims-static", "wrong-api-version"])
        .start()
        .await;
    assert_eq!(app.get("/health").await.status(), 200);
    let r = app.get("/ready").await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    let errors = body["pluginErrors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .as_str()
            .unwrap()
            .contains("targets sigil:plugin@0.9.0"),
        "{errors:?}"
    );
}

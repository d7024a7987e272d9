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

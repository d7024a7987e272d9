//! The notification endpoint (OID4VCI §11): the independent wallet sends
//! notifications with its library's `sendNotification`; errors are driven
//! by hand. What the wallet said shows on the admin offer view.

use serde_json::{Value, json};
use sigil_tests::{TestApp, wallet};

use crate::offers::{access_token, badge_offer, create, issuer};

async fn post(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut r = app
        .client
        .post(format!("{}/notification", app.address))
        .json(body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_wallet_notifies_and_the_offer_view_shows_it() {
    let app = issuer().await;
    let meta: Value = app
        .get("/.well-known/openid-credential-issuer")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["notification_endpoint"],
        format!("{}/notification", app.address)
    );
    let created = create(&app, &badge_offer()).await;
    let report = wallet::claim(json!({
        "offer": created["credentialOffer"], "batch": 2,
        "notify": [
            { "event": "credential_accepted" },
            { "event": "credential_accepted" },
            { "event": "credential_deleted", "description": "removed by the holder" },
            { "event": "credential_accepted", "notificationId": "not-issued" }
        ]
    }))
    .await;
    assert_eq!(report["ok"], true, "{report}");
    let results = report["notifications"].as_array().unwrap();
    for r in &results[..3] {
        assert_eq!(
            (r["ok"].as_bool(), r["status"].as_u64()),
            (Some(true), Some(204)),
            "{r}"
        );
    }
    assert_eq!(results[3]["ok"], false);
    assert_eq!(results[3]["status"], 400, "{}", results[3]);
    assert_eq!(results[3]["error"], "invalid_notification_id");
    let id = created["offerId"].as_str().unwrap();
    let view: Value = app
        .admin_get(&format!("/admin/v1/offers/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let credentials = view["credentials"].as_array().unwrap();
    assert_eq!(
        credentials.len(),
        2,
        "one row per credential of the batch: {view}"
    );
    for c in credentials {
        assert_eq!(c["credentialConfigurationId"], "employee_badge_sd_jwt");
        assert_eq!(c["format"], "dc+sd-jwt");
        assert_eq!(c["status"], "valid");
        assert_eq!(c["notification"]["event"], "credential_deleted", "{c}");
        assert_eq!(c["notification"]["description"], "removed by the holder");
        assert!(c.get("claims").is_none(), "never the claims");
    }
    let thumbprints: Vec<&str> = report["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["holderKeyThumbprint"].as_str())
        .collect();
    for c in credentials {
        assert!(
            thumbprints.contains(&c["holderKeyThumbprint"].as_str().unwrap()),
            "{c}"
        );
    }
    let received = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "notification_received")
        .count();
    assert_eq!(received, 3, "{view}");
}

#[tokio::test]
async fn bad_notifications_get_the_spec_errors() {
    let app = issuer().await;
    let created = create(&app, &badge_offer()).await;
    let token = &access_token(&app, &created).await;
    let (s, b) = post(
        &app,
        None,
        &json!({ "notification_id": "x", "event": "credential_accepted" }),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_token")),
        "{b}"
    );
    let (s, b) = post(
        &app,
        Some(token),
        &json!({ "notification_id": "x", "event": "credential_lost" }),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_notification_request")),
        "{b}"
    );
    assert!(
        b["error_description"]
            .as_str()
            .unwrap()
            .contains("credential_accepted"),
        "{b}"
    );
    let (s, b) = post(
        &app,
        Some(token),
        &json!({ "event": "credential_accepted" }),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_notification_request")),
        "{b}"
    );
    let (s, b) = post(
        &app,
        Some(token),
        &json!({ "notification_id": "x", "event": "credential_accepted" }),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_notification_id")),
        "{b}"
    );
}

//! The notification endpoint (§11) on fakes: a credential response's
//! `notification_id`, each event, idempotence, and the errors.

use serde_json::json;

use super::fakes::{Holder, NOW, World};
use crate::endpoints::credential::{CredentialAccess, CredentialRequest};
use crate::endpoints::notification::{NotificationCause, NotificationRequest};
use crate::errors::NotificationErrorCode as Code;
use crate::model::EventKind;
use crate::ports::NoProviders;

/// A token and the notification_id of one credential response for offer `id`.
async fn issued(w: &World, id: &str) -> (String, String) {
    let token = w
        .token_for(id, &["badge"], |o| {
            World::inline(o, "badge", json!({ "given_name": "Ada" }))
        })
        .await;
    let holder = Holder::new();
    let nonce = w.issuer.nonce(&w.tenant).c_nonce;
    let body = json!({ "credential_configuration_id": "badge", "proofs": { "jwt": [holder.proof(&nonce, NOW)] } });
    let r = w
        .issuer
        .credential(
            &w.tenant,
            Some(&format!("Bearer {token}")),
            CredentialRequest::from_json(body.to_string().as_bytes()),
        )
        .await
        .unwrap()
        .into_issued()
        .unwrap();
    assert!(!r.notification_id.is_empty());
    (token, r.notification_id)
}

async fn notify(w: &World, token: &str, body: serde_json::Value) -> Result<(), NotificationCause> {
    let authorization = format!("Bearer {token}");
    let url = "https://issuer.example/notification";
    let access = CredentialAccess {
        authorization: Some(&authorization),
        dpop: &[],
        url,
    };
    let request =
        NotificationRequest::from_body(Some("application/json"), body.to_string().as_bytes());
    w.issuer
        .notification(&w.tenant, access, request, &NoProviders)
        .await
}

#[tokio::test]
async fn each_event_is_recorded_on_the_response_credentials_idempotently() {
    let w = World::new();
    let (token, id) = issued(&w, "o1").await;
    for event in [
        "credential_accepted",
        "credential_accepted",
        "credential_deleted",
    ] {
        notify(
            &w,
            &token,
            json!({ "notification_id": id, "event": event, "event_description": "ok" }),
        )
        .await
        .unwrap();
    }
    let credentials = w.store().credentials.lock().unwrap().clone();
    assert_eq!(credentials.len(), 1);
    let n = credentials[0].notification.clone().unwrap();
    assert_eq!(
        (n.event.as_str(), n.description.as_deref()),
        ("credential_deleted", Some("ok"))
    );
    let kinds = w.store().event_kinds();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == EventKind::NotificationReceived)
            .count(),
        3
    );
}

#[tokio::test]
async fn unknown_ids_bad_requests_and_tokens_are_refused() {
    let w = World::new();
    let (token, id) = issued(&w, "o1").await;
    let (other_token, other_id) = issued(&w, "o2").await;
    let e = notify(
        &w,
        &token,
        json!({ "notification_id": "nope", "event": "credential_accepted" }),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (e.code(), e.code().status()),
        (Code::InvalidNotificationId, 400)
    );
    // Another offer's notification_id is unknown to this token.
    let e = notify(
        &w,
        &token,
        json!({ "notification_id": other_id, "event": "credential_accepted" }),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::InvalidNotificationId);
    let e = notify(
        &w,
        &other_token,
        json!({ "notification_id": id, "event": "credential_accepted" }),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::InvalidNotificationId);
    for bad in [
        json!({ "notification_id": id, "event": "credential_lost" }),
        json!({ "notification_id": id }),
        json!({ "notification_id": id, "event": "credential_failure", "event_description": "é" }),
        json!([]),
    ] {
        let e = notify(&w, &token, bad.clone()).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidNotificationRequest, "{bad}");
        assert!(!e.description().is_empty());
    }
    let e = notify(
        &w,
        "not-a-token",
        json!({ "notification_id": id, "event": "credential_accepted" }),
    )
    .await
    .unwrap_err();
    assert_eq!((e.code(), e.code().status()), (Code::InvalidToken, 401));
    assert!(
        w.store()
            .credentials
            .lock()
            .unwrap()
            .iter()
            .all(|c| c.notification.is_none())
    );
}

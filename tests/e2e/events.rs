//! Server-sent event streams of the admin API: events caused on one
//! instance reach a subscriber on another (both read the shared
//! PostgreSQL), and a subscriber that reconnects with `Last-Event-ID` gets
//! every event after it, none twice.

use std::time::Duration;

use serde_json::{Value, json};
use sigil_tests::{ADMIN_TOKEN, Spawn, TestApp, wallet};

use crate::concurrency::two_instances;

use crate::offers::{badge_offer, create};

/// One server-sent event.
#[derive(Debug, Clone)]
struct Event {
    id: i64,
    kind: String,
    data: Value,
}

/// A subscriber reading a `text/event-stream`.
struct Subscriber {
    response: reqwest::Response,
    buffer: String,
}

impl Subscriber {
    async fn open(app: &TestApp, path: &str, last_event_id: Option<i64>) -> Self {
        let mut request = app
            .client
            .get(format!("{}{path}", app.address))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments and `retry` skipped), or `None` after 20 s.
    async fn next(&mut self) -> Option<Event> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (None, None, None);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse::<i64>().ok();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        kind = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = serde_json::from_str::<Value>(v).ok();
                    }
                }
                if let (Some(id), Some(kind), Some(data)) = (id, kind, data) {
                    return Some(Event { id, kind, data });
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.response.chunk())
                .await
                .ok()?
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Events until one of `kind` for `offer` (inclusive).
    async fn until(&mut self, offer: &str, kind: &str) -> Vec<Event> {
        let mut seen = Vec::new();
        while let Some(e) = self.next().await {
            let done = e.kind == kind && e.data["offerId"] == offer;
            seen.push(e);
            if done {
                return seen;
            }
        }
        panic!("no {kind} event of offer {offer}; saw {seen:?}");
    }
}

/// Create an offer on `app` and claim it with the independent wallet.
async fn claimed_offer(app: &TestApp) -> String {
    let created = create(app, &badge_offer()).await;
    let report = wallet::claim(json!({ "offer": created["credentialOffer"] })).await;
    assert_eq!(report["ok"], true, "{report}");
    created["offerId"].as_str().unwrap().to_owned()
}

fn kinds_of<'a>(events: &'a [Event], offer: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter(|e| e.data["offerId"] == offer)
        .map(|e| e.kind.as_str())
        .collect()
}

#[tokio::test]
async fn a_subscriber_on_one_instance_sees_another_and_resumes_without_gaps() {
    let (url, a, b) = two_instances().await;
    // Subscribed on A; the flow runs on B.
    let mut stream = Subscriber::open(&a, "/admin/v1/events/stream", None).await;
    let first = claimed_offer(&b).await;
    let seen = stream.until(&first, "credential_issued").await;
    let flow = [
        "offer_created",
        "offer_resolved",
        "token_issued",
        "credential_issued",
    ];
    assert_eq!(kinds_of(&seen, &first), flow, "{seen:?}");
    for e in &seen {
        // The envelope (docs/events.md) and the SSE id agree.
        assert_eq!(e.data["id"], e.id.to_string());
        assert_eq!(e.data["type"], e.kind);
        assert_eq!(e.data["tenant"], "default");
        assert!(e.data["occurredAt"].as_str().unwrap().ends_with('Z'));
        assert!(e.data["data"].is_object());
    }
    assert!(seen.windows(2).all(|w| w[0].id < w[1].id));
    let last = seen.last().unwrap().id;
    // Disconnected while a second flow runs on B.
    drop(stream);
    let second = claimed_offer(&b).await;
    let mut resumed = Subscriber::open(&a, "/admin/v1/events/stream", Some(last)).await;
    let after = resumed.until(&second, "credential_issued").await;
    assert_eq!(kinds_of(&after, &second), flow, "{after:?}");
    assert!(
        after
            .iter()
            .all(|e| e.id > last && e.data["offerId"] != first)
    );
    assert!(after.windows(2).all(|w| w[0].id < w[1].id));

    // One offer's stream starts with its history.
    let mut history =
        Subscriber::open(&a, &format!("/admin/v1/offers/{first}/events/stream"), None).await;
    let past = history.until(&first, "credential_issued").await;
    assert_eq!(kinds_of(&past, &first), flow);
    assert_eq!(past.len(), flow.len(), "only this offer's events: {past:?}");
    let _ = sigil_store::testing::drop_postgres_schema(&url).await;
}

#[tokio::test]
async fn streams_are_admin_resources() {
    let app = Spawn::default().issuer().start().await;
    let r = app.get("/admin/v1/events/stream").await;
    assert_eq!(r.status(), 401);
    let r = app
        .client
        .get(format!("{}/admin/v1/events/stream", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let r = app
        .admin_get("/admin/v1/offers/no-such-offer/events/stream")
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .admin_get("/admin/v1/tenants/nobody/events/stream")
        .await;
    assert_eq!(r.status(), 404);
}

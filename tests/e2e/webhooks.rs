//! Webhook delivery to event endpoints (`event-endpoints/<id>.toml`): each
//! event of an offer that names the endpoint is posted once acknowledged,
//! signed (`Sigil-Signature`, checked here with the `hmac` crate, not
//! Sigil's code), with `Idempotency-Key`, in order per offer; failures are
//! retried, then dead-lettered and redelivered on request; a receiver
//! outage and an instance killed mid-delivery lose nothing.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures::future::join_all;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use sigil_tests::holder::Holder;
use sigil_tests::op::free_port;
use sigil_tests::{Spawn, TestApp, root, wallet};

use crate::concurrency::two_instances_with;
use crate::offers::{access_token, badge_offer, create};

const SECRET: &str = "e2e-event-endpoint-secret-0123456789";

/// Fast retries, short leases: what a test can wait for.
const DELIVERY: &str = "[event_delivery]\npoll_ms = 100\ninitial_backoff_ms = 200\nmax_backoff_seconds = 1\nlease_seconds = 3\n";

fn endpoint(id: &str, port: u16, path: &str) -> String {
    format!("id = \"{id}\"\nurl = \"http://127.0.0.1:{port}{path}\"\nsecret = \"{SECRET}\"\n")
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Delivery {
    path: String,
    key: String,
    event_id: String,
    body: Value,
}

#[derive(Default)]
struct Inbox {
    got: Vec<Delivery>,
    /// Paths answered 500 for now.
    failing: HashSet<String>,
    /// Requests whose signature did not verify.
    bad: Vec<String>,
}

/// An integrator's receiver on 127.0.0.1: verifies each signature and
/// records each request; it can be down (not listening), failing (500) or
/// slow.
struct Receiver {
    port: u16,
    inbox: Arc<Mutex<Inbox>>,
    delay: Duration,
    server: Option<actix_web::dev::ServerHandle>,
}

fn verify(req: &HttpRequest, body: &[u8]) -> Result<(), String> {
    let header = req
        .headers()
        .get("Sigil-Signature")
        .ok_or("no Sigil-Signature")?
        .to_str()
        .map_err(|e| e.to_string())?;
    let (t, v1) = header
        .split_once(",v1=")
        .ok_or_else(|| format!("bad signature header {header}"))?;
    let t: i64 = t
        .strip_prefix("t=")
        .ok_or("no t=")?
        .parse()
        .map_err(|_| "bad t")?;
    let age = sigil_tests::holder::now() - t;
    if !(-5..=300).contains(&age) {
        return Err(format!("signature time {t} is {age} s off"));
    }
    let expected: Vec<u8> = (0..v1.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&v1[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| "signature does not verify".to_owned())
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<(Arc<Mutex<Inbox>>, Duration)>,
) -> HttpResponse {
    let (inbox, delay) = state.get_ref();
    if !delay.is_zero() {
        tokio::time::sleep(*delay).await;
    }
    let mut inbox = inbox.lock().unwrap();
    if let Err(e) = verify(&req, &body) {
        inbox.bad.push(e);
        return HttpResponse::Unauthorized().finish();
    }
    let json: Value = serde_json::from_slice(&body).unwrap();
    let header = |n: &str| req.headers().get(n).unwrap().to_str().unwrap().to_owned();
    if inbox.failing.contains(req.path()) {
        return HttpResponse::InternalServerError().finish();
    }
    inbox.got.push(Delivery {
        path: req.path().to_owned(),
        key: header("Idempotency-Key"),
        event_id: header("Sigil-Event-Id"),
        body: json,
    });
    HttpResponse::NoContent().finish()
}

impl Receiver {
    fn new(delay: Duration) -> Self {
        Self {
            port: free_port(),
            inbox: Arc::default(),
            delay,
            server: None,
        }
    }

    fn start(&mut self) {
        let state = web::Data::new((self.inbox.clone(), self.delay));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .default_service(web::post().to(receive))
        })
        .workers(2)
        .bind(("127.0.0.1", self.port))
        .unwrap()
        .run();
        self.server = Some(server.handle());
        tokio::spawn(server);
    }

    /// What was acknowledged; no request may have had a bad signature.
    fn got(&self) -> Vec<Delivery> {
        let inbox = self.inbox.lock().unwrap();
        assert!(inbox.bad.is_empty(), "bad signatures: {:?}", inbox.bad);
        inbox.got.clone()
    }

    fn set_failing(&self, path: &str, failing: bool) {
        let mut inbox = self.inbox.lock().unwrap();
        if failing {
            inbox.failing.insert(path.to_owned());
        } else {
            inbox.failing.remove(path);
        }
    }

    /// Wait (up to `secs`) until `done` holds for what was received.
    async fn wait_for(
        &self,
        secs: u64,
        what: &str,
        done: impl Fn(&[Delivery]) -> bool,
    ) -> Vec<Delivery> {
        let start = Instant::now();
        loop {
            let got = self.got();
            if done(&got) {
                return got;
            }
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "waited {secs} s for {what}; got {} deliveries",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(h) = self.server.take() {
            drop(h.stop(false));
        }
    }
}

fn offer_for(endpoint: Option<&str>) -> Value {
    let mut body = badge_offer();
    if let Some(id) = endpoint {
        body["webhookEndpointId"] = json!(id);
    }
    body
}

/// The types delivered for `offer`, in the order first received.
fn kinds(got: &[Delivery], offer: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    got.iter()
        .filter(|d| d.body["offerId"] == offer && seen.insert(d.key.clone()))
        .map(|d| d.body["type"].as_str().unwrap().to_owned())
        .collect()
}

const FLOW: [&str; 4] = [
    "offer_created",
    "offer_resolved",
    "token_issued",
    "credential_issued",
];

#[tokio::test]
async fn events_reach_the_offers_endpoint_signed_in_order_and_dead_letters_can_be_redelivered() {
    let mut receiver = Receiver::new(Duration::ZERO);
    receiver.start();
    let port = receiver.port;
    let badge = std::fs::read_to_string(
        root().join("config/credential-configurations/employee_badge_sd_jwt.toml"),
    )
    .unwrap()
    .replace(
        "id = \"employee_badge_sd_jwt\"",
        "id = \"badge_with_events\"\nwebhook_endpoint_id = \"rp\"",
    );
    assert!(badge.contains("badge_with_events"));
    let app = Spawn::default()
        .issuer()
        .toml(&format!("{DELIVERY}retry_horizon_seconds = 2\n"))
        .file("event-endpoints/rp.toml", &endpoint("rp", port, "/events"))
        .file(
            "event-endpoints/strict.toml",
            &endpoint("strict", port, "/strict"),
        )
        .file("credential-configurations/badge_with_events.toml", &badge)
        .start()
        .await;

    // An offer naming no endpoint: its events go nowhere.
    let quiet = create(&app, &offer_for(None)).await;
    // Claimed with the independent wallet.
    let named = create(&app, &offer_for(Some("rp"))).await;
    let named_id = named["offerId"].as_str().unwrap();
    let report = wallet::claim(json!({ "offer": named["credentialOffer"] })).await;
    assert_eq!(report["ok"], true, "{report}");
    let got = receiver
        .wait_for(20, "the claimed offer's events", |g| {
            kinds(g, named_id).len() == FLOW.len()
        })
        .await;
    assert_eq!(kinds(&got, named_id), FLOW);
    for d in &got {
        assert_eq!(d.path, "/events");
        assert_eq!(d.key, d.event_id);
        assert_eq!(d.body["id"], d.key.as_str());
        assert_eq!(d.body["tenant"], "default");
        assert!(d.body["occurredAt"].as_str().unwrap().ends_with('Z'));
        assert!(d.body["data"].is_object());
    }
    assert!(got.iter().all(|d| d.body["offerId"] != quiet["offerId"]));

    // The configuration names the endpoint when the offer does not.
    let mut by_configuration = badge_offer();
    by_configuration["credentialConfigurationIds"] = json!(["badge_with_events"]);
    by_configuration["credentialClaims"] = json!({ "badge_with_events": by_configuration["credentialClaims"]["employee_badge_sd_jwt"].clone() });
    let configured = create(&app, &by_configuration).await;
    let configured_id = configured["offerId"].as_str().unwrap();
    receiver
        .wait_for(10, "the configuration's endpoint", |g| {
            !kinds(g, configured_id).is_empty()
        })
        .await;

    // An endpoint that keeps failing: retried, then a dead letter after
    // the horizon (2 s here), then redelivered on request.
    receiver.set_failing("/strict", true);
    let failing = create(&app, &offer_for(Some("strict"))).await;
    let failing_id = failing["offerId"].as_str().unwrap().to_owned();
    let dropped = create(&app, &offer_for(Some("strict"))).await;
    let start = Instant::now();
    let (dead, other) = loop {
        let r = app
            .admin_get("/admin/v1/event-endpoints/strict/dead-letters")
            .await;
        assert_eq!(r.status(), 200);
        let page: Value = r.json().await.unwrap();
        if let [first, second] = page["items"].as_array().unwrap().as_slice() {
            break (first.clone(), second.clone());
        }
        assert!(start.elapsed() < Duration::from_secs(15), "no dead letter");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(dead["offerId"], failing_id.as_str());
    assert_eq!(dead["type"], "offer_created");
    assert_eq!(dead["state"], "dead");
    assert_eq!(dead["lastError"], "HTTP 500");
    assert!(dead["attempts"].as_u64().unwrap() >= 2, "{dead}");
    assert_eq!(dead["event"]["id"], dead["eventId"]);
    let list: Value = app
        .admin_get("/admin/v1/event-endpoints")
        .await
        .json()
        .await
        .unwrap();
    let strict = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "strict")
        .unwrap()
        .clone();
    assert_eq!(strict["dead"], 2, "{list}");
    // One is dropped for good.
    assert_eq!(other["offerId"], dropped["offerId"]);
    let drop_path = format!(
        "/admin/v1/event-endpoints/strict/dead-letters/{}",
        other["eventId"].as_str().unwrap()
    );
    let r = app
        .client
        .delete(format!("{}{drop_path}", app.address))
        .bearer_auth(sigil_tests::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    receiver.set_failing("/strict", false);
    let event_id = dead["eventId"].as_str().unwrap();
    let path = format!("/admin/v1/event-endpoints/strict/dead-letters/{event_id}/redeliver");
    let r = app.admin_post(&path, &json!({})).await;
    assert_eq!(r.status(), 202, "{:?}", r.text().await);
    receiver
        .wait_for(10, "the redelivered event", |g| {
            g.iter().any(|d| d.path == "/strict" && d.key == event_id)
        })
        .await;
    let again = app.admin_post(&path, &json!({})).await;
    assert_eq!(again.status(), 404);
    let page: Value = app
        .admin_get("/admin/v1/event-endpoints/strict/dead-letters")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"], json!([]), "{page}");
    assert!(
        receiver
            .got()
            .iter()
            .all(|d| d.body["offerId"] != dropped["offerId"])
    );
    assert_eq!(again.headers()["content-type"], "application/problem+json");
    let unknown = app
        .admin_get("/admin/v1/event-endpoints/nope/dead-letters")
        .await;
    assert_eq!(unknown.status(), 404);

    // An offer naming an endpoint that does not exist is refused.
    let r = app
        .admin_post("/admin/v1/offers", &offer_for(Some("nope")))
        .await;
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(
        problem["errors"][0]["field"], "webhookEndpointId",
        "{problem}"
    );
}

/// Create, resolve, redeem and claim one offer on `app` (four events).
async fn claim_quickly(app: &TestApp) -> String {
    let created = create(app, &offer_for(Some("rp"))).await;
    let token = access_token(app, &created).await;
    let nonce: Value = app
        .client
        .post(format!("{}/nonce", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let proof = Holder::new().proof(&app.address, nonce["c_nonce"].as_str().unwrap());
    let r = app
        .client
        .post(format!("{}/credential", app.address))
        .bearer_auth(token)
        .json(&json!({
            "credential_configuration_id": "employee_badge_sd_jwt",
            "proofs": { "jwt": [proof] }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    created["offerId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_outage_and_an_instance_killed_mid_delivery_lose_nothing() {
    // The receiver answers slowly, so that delivery is in flight when the
    // instance holding the endpoint is killed.
    let mut receiver = Receiver::new(Duration::from_millis(20));
    let port = receiver.port;
    let (url, mut a, b) = two_instances_with(|s| {
        s.toml(DELIVERY)
            .file("event-endpoints/rp.toml", &endpoint("rp", port, "/events"))
    })
    .await;
    // The receiver is down while 200 offers are claimed on both instances.
    let mut offers = Vec::new();
    for round in 0..20 {
        let claims = (0..10).map(|i| {
            let app = if (round + i) % 2 == 0 { &a.app } else { &b };
            claim_quickly(app)
        });
        offers.extend(join_all(claims).await);
    }
    assert!(receiver.got().is_empty());
    // Back up: delivery starts on the instance holding the endpoint (A,
    // started first); A is killed in the middle of it.
    receiver.start();
    receiver
        .wait_for(30, "delivery to start", |g| g.len() >= 150)
        .await;
    a.kill().await;
    let killed_at = receiver.got().len();
    let expected = offers.len() * FLOW.len();
    let got = receiver
        .wait_for(60, "every event after the kill", |g| {
            g.iter().map(|d| &d.key).collect::<HashSet<_>>().len() >= expected
        })
        .await;
    // Every event once by key; a redelivery carries the same key and body.
    let mut by_key: BTreeMap<&str, &Value> = BTreeMap::new();
    for d in &got {
        assert_eq!(d.key, d.event_id);
        assert_eq!(d.body["id"], d.key.as_str());
        if let Some(first) = by_key.insert(&d.key, &d.body) {
            assert_eq!(first, &d.body, "a redelivery of {} differs", d.key);
        }
    }
    assert_eq!(by_key.len(), expected);
    for offer in &offers {
        assert_eq!(kinds(&got, offer), FLOW, "offer {offer}");
    }
    eprintln!(
        "outage test: {} events, {} requests, {} redelivered with the same key ({} received before the kill)",
        expected,
        got.len(),
        got.len() - expected,
        killed_at
    );
    let _ = sigil_store::testing::drop_postgres_schema(&url).await;
}

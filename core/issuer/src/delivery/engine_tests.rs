//! The engine over an in-memory store and a scripted receiver.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sigil_settings::EventDeliverySettings;

use super::engine::{Deliverer, Now};
use super::model::{DeliveryState, PendingDelivery};
use super::route::Target;
use super::signature::sign;
use super::store::DeliveryStore;
use super::transport::{Post, WebhookTransport};
use crate::model::{EventKind, EventRecord};
use crate::ports::StoreFailure;

const T0: i64 = 1_800_000_000;

#[derive(Default)]
struct Db {
    /// Events with their offer's endpoint.
    events: Vec<(EventRecord, Option<String>)>,
    /// endpoint → (position, holder, lease until ms).
    cursors: HashMap<String, (i64, Option<String>, i64)>,
    deliveries: BTreeMap<(String, i64), PendingDelivery>,
}

#[derive(Clone, Default)]
struct FakeStore(Arc<Mutex<Db>>);

impl FakeStore {
    fn add(&self, offer: &str, endpoint: Option<&str>, kind: EventKind, at: i64) -> i64 {
        let mut db = self.0.lock().unwrap();
        let id = db.events.len() as i64 + 1;
        db.events.push((
            EventRecord {
                id,
                tenant: "default".into(),
                offer_id: offer.into(),
                kind,
                detail: json!({}),
                created_at: at,
            },
            endpoint.map(str::to_owned),
        ));
        id
    }

    fn holds(db: &Db, endpoint: &str, holder: &str) -> bool {
        db.cursors
            .get(endpoint)
            .is_some_and(|(_, h, _)| h.as_deref() == Some(holder))
    }

    fn rows(&self) -> Vec<PendingDelivery> {
        self.0
            .lock()
            .unwrap()
            .deliveries
            .values()
            .cloned()
            .collect()
    }

    fn position(&self, endpoint: &str) -> i64 {
        self.0.lock().unwrap().cursors[endpoint].0
    }
}

impl DeliveryStore for FakeStore {
    async fn lease_endpoint(
        &self,
        endpoint: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
        start: i64,
    ) -> Result<Option<i64>, StoreFailure> {
        let mut db = self.0.lock().unwrap();
        let c = db
            .cursors
            .entry(endpoint.to_owned())
            .or_insert((start, None, 0));
        let free = c.1.is_none() || c.1.as_deref() == Some(holder) || c.2 <= now_ms;
        if !free {
            return Ok(None);
        }
        c.1 = Some(holder.to_owned());
        c.2 = until_ms;
        Ok(Some(c.0))
    }

    async fn release_endpoint(&self, endpoint: &str, holder: &str) -> Result<(), StoreFailure> {
        let mut db = self.0.lock().unwrap();
        if Self::holds(&db, endpoint, holder) {
            db.cursors.get_mut(endpoint).unwrap().1 = None;
        }
        Ok(())
    }

    async fn last_event_id(&self) -> Result<i64, StoreFailure> {
        Ok(self.0.lock().unwrap().events.len() as i64)
    }

    async fn events_to_deliver(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<(EventRecord, Option<String>)>, StoreFailure> {
        let db = self.0.lock().unwrap();
        Ok(db
            .events
            .iter()
            .filter(|(e, _)| e.id > after)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn advance_endpoint(
        &self,
        endpoint: &str,
        holder: &str,
        position: i64,
        pending: &[PendingDelivery],
    ) -> Result<bool, StoreFailure> {
        let mut db = self.0.lock().unwrap();
        if !Self::holds(&db, endpoint, holder) {
            return Ok(false);
        }
        db.cursors.get_mut(endpoint).unwrap().0 = position;
        for p in pending {
            db.deliveries
                .entry((p.endpoint_id.clone(), p.event_id))
                .or_insert_with(|| p.clone());
        }
        Ok(true)
    }

    async fn pending_deliveries(
        &self,
        endpoint: &str,
        limit: u64,
    ) -> Result<Vec<(PendingDelivery, EventRecord)>, StoreFailure> {
        let db = self.0.lock().unwrap();
        Ok(db
            .deliveries
            .values()
            .filter(|d| d.endpoint_id == endpoint && d.state == DeliveryState::Retrying)
            .take(limit as usize)
            .map(|d| (d.clone(), db.events[d.event_id as usize - 1].0.clone()))
            .collect())
    }

    async fn settle_delivery(
        &self,
        endpoint: &str,
        holder: &str,
        event_id: i64,
        update: Option<&PendingDelivery>,
    ) -> Result<bool, StoreFailure> {
        let mut db = self.0.lock().unwrap();
        if !Self::holds(&db, endpoint, holder) {
            return Ok(false);
        }
        let key = (endpoint.to_owned(), event_id);
        match update {
            None => {
                db.deliveries.remove(&key);
            }
            Some(u) => {
                db.deliveries.insert(key, u.clone());
            }
        }
        Ok(true)
    }
}

/// A receiver that is up or down, and what it acknowledged.
#[derive(Clone, Default)]
struct Receiver {
    down: Arc<Mutex<bool>>,
    /// Event ids it refuses with 500 whatever happens.
    poison: Arc<Mutex<Vec<String>>>,
    got: Arc<Mutex<Vec<Post>>>,
}

impl Receiver {
    fn set_down(&self, down: bool) {
        *self.down.lock().unwrap() = down;
    }

    /// The acknowledged event ids, in order.
    fn acked(&self) -> Vec<i64> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|p| header(p, "Idempotency-Key").parse().unwrap())
            .collect()
    }
}

fn header<'a>(p: &'a Post, name: &str) -> &'a str {
    p.headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
        .unwrap()
}

impl WebhookTransport for Receiver {
    async fn post(&self, request: Post) -> Result<(), String> {
        if *self.down.lock().unwrap() {
            return Err("connection failed".into());
        }
        let id = header(&request, "Idempotency-Key").to_owned();
        if self.poison.lock().unwrap().contains(&id) {
            return Err("HTTP 500".into());
        }
        self.got.lock().unwrap().push(request);
        Ok(())
    }
}

fn settings() -> EventDeliverySettings {
    EventDeliverySettings {
        retry_horizon_seconds: 60,
        initial_backoff_ms: 1_000,
        max_backoff_seconds: 8,
        ..EventDeliverySettings::default()
    }
}

fn deliverer(
    store: &FakeStore,
    receiver: &Receiver,
    holder: &str,
    target: Target,
) -> Deliverer<FakeStore, Receiver> {
    Deliverer::new(
        store.clone(),
        receiver.clone(),
        target,
        holder.into(),
        settings(),
        || 0,
    )
}

fn hooks() -> Target {
    Target::new(
        "hooks",
        "https://rp.example/hooks",
        "0123456789abcdef",
        None,
    )
}

fn at(secs: i64, start: Instant) -> Now {
    Now {
        ms: (T0 + secs) * 1_000,
        instant: start + Duration::from_secs(secs.max(0) as u64),
    }
}

#[tokio::test]
async fn posts_the_events_meant_for_the_endpoint_signed_and_in_order() {
    let store = FakeStore::default();
    let receiver = Receiver::default();
    let start = Instant::now();
    let mut d = deliverer(&store, &receiver, "a", hooks());
    // The first lease starts at the end of the log: history is not replayed.
    store.add("old", Some("hooks"), EventKind::OfferCreated, T0);
    assert!(d.step(at(0, start)).await.unwrap().holding);
    let e1 = store.add("o1", Some("hooks"), EventKind::OfferCreated, T0);
    store.add("o2", Some("other"), EventKind::OfferCreated, T0);
    store.add("o3", None, EventKind::OfferCreated, T0);
    let e4 = store.add("o1", Some("hooks"), EventKind::TokenIssued, T0);
    let report = d.step(at(1, start)).await.unwrap();
    assert_eq!(report.delivered, 2);
    assert_eq!(receiver.acked(), vec![e1, e4]);
    assert_eq!(store.position("hooks"), 5);
    let got = receiver.got.lock().unwrap();
    let body: serde_json::Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(body["type"], "token_issued");
    assert_eq!(body["offerId"], "o1");
    assert_eq!(body["id"], e4.to_string());
    let t: i64 = T0 + 1;
    assert_eq!(
        header(&got[1], "Sigil-Signature"),
        sign("0123456789abcdef", t, &got[1].body)
    );
    assert_eq!(header(&got[1], "Sigil-Event-Type"), "token_issued");
}

#[tokio::test]
async fn the_endpoints_filter_leaves_other_kinds_out() {
    let store = FakeStore::default();
    let receiver = Receiver::default();
    let start = Instant::now();
    let only = Target::new(
        "hooks",
        "https://rp.example/hooks",
        "0123456789abcdef",
        Some(vec![EventKind::CredentialIssued]),
    );
    let mut d = deliverer(&store, &receiver, "a", only);
    d.step(at(0, start)).await.unwrap();
    store.add("o1", Some("hooks"), EventKind::OfferCreated, T0);
    let issued = store.add("o1", Some("hooks"), EventKind::CredentialIssued, T0);
    d.step(at(1, start)).await.unwrap();
    assert_eq!(receiver.acked(), vec![issued]);
}

#[tokio::test]
async fn an_outage_loses_nothing_and_keeps_each_offers_order() {
    let store = FakeStore::default();
    let receiver = Receiver::default();
    let start = Instant::now();
    let mut d = deliverer(&store, &receiver, "a", hooks());
    d.step(at(0, start)).await.unwrap();
    receiver.set_down(true);
    let mut ids = Vec::new();
    for offer in ["o1", "o2", "o3"] {
        for kind in [
            EventKind::OfferCreated,
            EventKind::TokenIssued,
            EventKind::CredentialIssued,
        ] {
            ids.push((offer, store.add(offer, Some("hooks"), kind, T0)));
        }
    }
    let report = d.step(at(1, start)).await.unwrap();
    // One attempt per offer; the rest wait behind it.
    assert_eq!(report.failed, 3);
    assert_eq!(store.rows().len(), 9);
    assert_eq!(store.position("hooks"), 9);
    // Still down: retried after the backoff, not before.
    assert_eq!(d.step(at(1, start)).await.unwrap().failed, 0);
    assert_eq!(d.step(at(2, start)).await.unwrap().failed, 3);
    // A new event of o1 while its earlier ones are pending waits too.
    let late = store.add("o1", Some("hooks"), EventKind::NotificationReceived, T0 + 2);
    ids.push(("o1", late));
    assert_eq!(d.step(at(2, start)).await.unwrap().failed, 0);
    assert_eq!(store.rows().len(), 10);
    receiver.set_down(false);
    d.step(at(10, start)).await.unwrap();
    assert!(store.rows().is_empty(), "{:?}", store.rows());
    let acked = receiver.acked();
    assert_eq!(acked.len(), 10);
    for offer in ["o1", "o2", "o3"] {
        let expected: Vec<i64> = ids
            .iter()
            .filter(|(o, _)| *o == offer)
            .map(|(_, id)| *id)
            .collect();
        let got: Vec<i64> = acked
            .iter()
            .copied()
            .filter(|id| expected.contains(id))
            .collect();
        assert_eq!(got, expected, "{offer} in order");
    }
}

#[tokio::test]
async fn a_poisoned_event_dies_after_the_horizon_and_blocks_only_its_offer() {
    let store = FakeStore::default();
    let receiver = Receiver::default();
    let start = Instant::now();
    let mut d = deliverer(&store, &receiver, "a", hooks());
    d.step(at(0, start)).await.unwrap();
    let bad = store.add("o1", Some("hooks"), EventKind::OfferCreated, T0);
    let after_bad = store.add("o1", Some("hooks"), EventKind::TokenIssued, T0);
    let other = store.add("o2", Some("hooks"), EventKind::OfferCreated, T0);
    receiver.poison.lock().unwrap().push(bad.to_string());
    d.step(at(1, start)).await.unwrap();
    assert_eq!(receiver.acked(), vec![other]);
    // Retried with backoff until the horizon (60 s from the event) passes.
    for s in (2..70).step_by(3) {
        d.step(at(s, start)).await.unwrap();
    }
    let rows = store.rows();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].event_id, bad);
    assert_eq!(rows[0].state, DeliveryState::Dead);
    assert!(rows[0].attempts >= 5, "{rows:?}");
    assert_eq!(rows[0].last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(receiver.acked(), vec![other, after_bad]);
}

#[tokio::test]
async fn one_instance_delivers_and_another_takes_over_after_the_lease() {
    let store = FakeStore::default();
    let receiver = Receiver::default();
    let start = Instant::now();
    let mut a = deliverer(&store, &receiver, "a", hooks());
    let mut b = deliverer(&store, &receiver, "b", hooks());
    assert!(a.step(at(0, start)).await.unwrap().holding);
    assert!(!b.step(at(0, start)).await.unwrap().holding);
    let e1 = store.add("o1", Some("hooks"), EventKind::OfferCreated, T0);
    a.step(at(1, start)).await.unwrap();
    assert!(!b.step(at(1, start)).await.unwrap().holding);
    // a dies; b waits out the lease (30 s) and goes on from a's position.
    let e2 = store.add("o1", Some("hooks"), EventKind::TokenIssued, T0 + 2);
    assert!(!b.step(at(20, start)).await.unwrap().holding);
    assert!(b.step(at(32, start)).await.unwrap().holding);
    assert_eq!(receiver.acked(), vec![e1, e2]);
    // a comes back: its writes are fenced off, it stands by.
    store.add("o1", Some("hooks"), EventKind::CredentialIssued, T0 + 33);
    assert!(!a.step(at(33, start)).await.unwrap().holding);
    assert_eq!(receiver.acked().len(), 2);
    b.step(at(34, start)).await.unwrap();
    assert_eq!(receiver.acked().len(), 3);
}

//! Webhook delivery storage (ADR 0021): endpoint leases, fencing of the
//! holder's writes, pending deliveries, dead letters, on both databases.

use std::sync::Arc;

use sigil_issuer::delivery::DeliveryStore;
use sigil_store::{
    DeliveryState, EndpointProgress, EventKind, EventRecord, NewEvent, PendingDelivery, Store,
};

use super::{Db, RACERS, TENANT, now, offer};

on_both!(
    lease_is_taken_refused_renewed_and_taken_over,
    concurrent_leases_across_instances_have_one_holder,
    writes_of_a_non_holder_change_nothing,
    pending_deliveries_come_by_event_id,
    settle_replaces_or_deletes_a_delivery,
    dead_letters_and_redelivery_follow_the_tenant,
    events_to_deliver_carry_their_offers_endpoint,
    purge_keeps_an_offer_with_an_event_to_deliver,
);

const HOOK: &str = "hook-1";

/// Appends one event per offer of `offers` and returns them, by id.
async fn events(s: &Store, offers: &[(&str, &str)]) -> Vec<EventRecord> {
    let after = s.last_event_id().await.unwrap();
    for (tenant, offer_id) in offers {
        s.append_event(NewEvent::bare(
            tenant,
            offer_id,
            EventKind::OfferCreated,
            now(),
        ))
        .await
        .unwrap();
    }
    s.events_after(after, 100).await.unwrap()
}

/// A delivery of `event` to [`HOOK`] that failed once.
fn failed(event: &EventRecord) -> PendingDelivery {
    PendingDelivery {
        endpoint_id: HOOK.to_owned(),
        event_id: event.id,
        offer_id: event.offer_id.clone(),
        tenant: event.tenant.clone(),
        state: DeliveryState::Retrying,
        attempts: 1,
        next_attempt_ms: 5_000,
        since: event.created_at,
        last_error: Some("HTTP 503".to_owned()),
    }
}

async fn progress(s: &Store) -> Vec<EndpointProgress> {
    s.delivery_progress().await.unwrap()
}

async fn pending_ids(s: &Store) -> Vec<i64> {
    s.pending_deliveries(HOOK, 100)
        .await
        .unwrap()
        .iter()
        .map(|(p, _)| p.event_id)
        .collect()
}

async fn lease_is_taken_refused_renewed_and_taken_over(db: &Db) {
    let (a, b) = (db.store.clone(), db.second().await);
    // First sight: the cursor starts at `start`.
    assert_eq!(
        a.lease_endpoint(HOOK, "a", 1_000, 2_000, 7).await.unwrap(),
        Some(7)
    );
    // Held by a until 2000: refused to b.
    assert_eq!(
        b.lease_endpoint(HOOK, "b", 1_500, 2_500, 0).await.unwrap(),
        None
    );
    // Renewed by a; `start` no longer matters.
    assert_eq!(
        a.lease_endpoint(HOOK, "a", 1_900, 3_000, 99).await.unwrap(),
        Some(7)
    );
    assert_eq!(
        b.lease_endpoint(HOOK, "b", 2_999, 4_000, 0).await.unwrap(),
        None
    );
    let p = progress(&a).await;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].holder.as_deref(), Some("a"));
    assert_eq!(p[0].lease_until_ms, 3_000);
    // Expired at 3000: b takes it over, and a is refused.
    assert_eq!(
        b.lease_endpoint(HOOK, "b", 3_000, 4_000, 0).await.unwrap(),
        Some(7)
    );
    assert_eq!(
        a.lease_endpoint(HOOK, "a", 3_100, 5_000, 0).await.unwrap(),
        None
    );
    // A release by a non-holder changes nothing; the holder's frees it.
    a.release_endpoint(HOOK, "a").await.unwrap();
    assert_eq!(progress(&a).await[0].holder.as_deref(), Some("b"));
    b.release_endpoint(HOOK, "b").await.unwrap();
    let p = progress(&a).await;
    assert_eq!((p[0].holder.as_deref(), p[0].lease_until_ms), (None, 0));
    assert_eq!(
        a.lease_endpoint(HOOK, "a", 3_200, 5_000, 0).await.unwrap(),
        Some(7)
    );
    // Endpoints are independent.
    assert_eq!(
        b.lease_endpoint("hook-2", "b", 3_200, 5_000, 3)
            .await
            .unwrap(),
        Some(3)
    );
    let ids: Vec<_> = progress(&a)
        .await
        .into_iter()
        .map(|p| p.endpoint_id)
        .collect();
    assert_eq!(ids, [HOOK, "hook-2"]);
}

async fn concurrent_leases_across_instances_have_one_holder(db: &Db) {
    let stores = [db.store.clone(), db.second().await];
    for round in 0..3_i64 {
        // Round 0: the cursor is new; round 1: it is free (released);
        // round 2: the lease expired.
        let at = 10_000 * (round + 1);
        let start = Arc::new(tokio::sync::Barrier::new(RACERS));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..RACERS {
            let store = stores[i % 2].clone();
            let start = start.clone();
            tasks.spawn(async move {
                start.wait().await;
                let holder = format!("instance-{round}-{i}");
                let got = store
                    .lease_endpoint(HOOK, &holder, at, at + 5_000, 0)
                    .await
                    .unwrap();
                got.map(|_| holder)
            });
        }
        let mut winners = Vec::new();
        while let Some(r) = tasks.join_next().await {
            winners.extend(r.unwrap());
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let p = progress(&stores[0]).await;
        assert_eq!(p[0].holder.as_ref(), Some(&winners[0]));
        if round == 0 {
            stores[1].release_endpoint(HOOK, &winners[0]).await.unwrap();
        }
    }
}

async fn writes_of_a_non_holder_change_nothing(db: &Db) {
    let (a, b) = (db.store.clone(), db.second().await);
    let evs = events(&a, &[(TENANT, "o1"), (TENANT, "o2")]).await;
    assert_eq!(
        a.lease_endpoint(HOOK, "a", 1_000, 2_000, 0).await.unwrap(),
        Some(0)
    );
    // b does not hold the lease: no position, no pending row.
    assert!(
        !b.advance_endpoint(HOOK, "b", evs[1].id, &[failed(&evs[0])])
            .await
            .unwrap()
    );
    assert_eq!(progress(&a).await[0].position, 0);
    assert!(pending_ids(&a).await.is_empty());
    // An endpoint nobody leased yet has no holder either.
    assert!(!b.advance_endpoint("hook-2", "b", 1, &[]).await.unwrap());
    assert!(progress(&a).await.iter().all(|p| p.endpoint_id == HOOK));
    // a does: position and pending row in one go.
    assert!(
        a.advance_endpoint(HOOK, "a", evs[1].id, &[failed(&evs[0])])
            .await
            .unwrap()
    );
    assert_eq!(progress(&a).await[0].position, evs[1].id);
    assert_eq!(pending_ids(&a).await, [evs[0].id]);
    // Settling by b changes nothing, neither a delete nor an update.
    assert!(!b.settle_delivery(HOOK, "b", evs[0].id, None).await.unwrap());
    let mut dead = failed(&evs[0]);
    dead.state = DeliveryState::Dead;
    assert!(
        !b.settle_delivery(HOOK, "b", evs[0].id, Some(&dead))
            .await
            .unwrap()
    );
    let p = progress(&a).await;
    assert_eq!((p[0].retrying, p[0].dead), (1, 0));
    // Once b took the expired lease over, a's writes are refused.
    assert_eq!(
        b.lease_endpoint(HOOK, "b", 2_000, 3_000, 0).await.unwrap(),
        Some(evs[1].id)
    );
    assert!(
        !a.advance_endpoint(HOOK, "a", evs[1].id + 10, &[])
            .await
            .unwrap()
    );
    assert!(!a.settle_delivery(HOOK, "a", evs[0].id, None).await.unwrap());
    assert_eq!(progress(&a).await[0].position, evs[1].id);
    assert_eq!(pending_ids(&a).await, [evs[0].id]);
    // The new holder settles it.
    assert!(b.settle_delivery(HOOK, "b", evs[0].id, None).await.unwrap());
    assert!(pending_ids(&a).await.is_empty());
}

async fn pending_deliveries_come_by_event_id(db: &Db) {
    let s = &db.store;
    let evs = events(
        s,
        &[
            (TENANT, "o1"),
            (TENANT, "o2"),
            (TENANT, "o1"),
            (TENANT, "o3"),
        ],
    )
    .await;
    s.lease_endpoint(HOOK, "a", 1_000, 2_000, 0).await.unwrap();
    // Given out of order; one waits behind its offer's earlier event.
    let mut waiting = failed(&evs[2]);
    waiting.attempts = 0;
    waiting.next_attempt_ms = 0;
    waiting.last_error = None;
    let mut dead = failed(&evs[1]);
    dead.state = DeliveryState::Dead;
    let pending = [failed(&evs[3]), waiting.clone(), failed(&evs[0]), dead];
    assert!(
        s.advance_endpoint(HOOK, "a", evs[3].id, &pending)
            .await
            .unwrap()
    );
    // Retrying only (not the dead letter), by event id, each with its event.
    let got = s.pending_deliveries(HOOK, 100).await.unwrap();
    let ids: Vec<i64> = got.iter().map(|(p, _)| p.event_id).collect();
    assert_eq!(ids, [evs[0].id, evs[2].id, evs[3].id]);
    assert_eq!(got[1], (waiting.clone(), evs[2].clone()));
    assert_eq!(got[0].1, evs[0]);
    // The limit keeps the first.
    let first = s.pending_deliveries(HOOK, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first[1].0.event_id, evs[2].id);
    // Rows already there are kept as they are.
    let mut again = failed(&evs[2]);
    again.attempts = 9;
    assert!(
        s.advance_endpoint(HOOK, "a", evs[3].id, &[again])
            .await
            .unwrap()
    );
    assert_eq!(s.pending_deliveries(HOOK, 100).await.unwrap()[1].0, waiting);
    // A row whose event is gone is left out; another endpoint's rows too.
    let mut gone = failed(&evs[3]);
    gone.event_id = evs[3].id + 1_000;
    assert!(
        s.advance_endpoint(HOOK, "a", evs[3].id, &[gone])
            .await
            .unwrap()
    );
    s.lease_endpoint("hook-2", "a", 1_000, 2_000, 0)
        .await
        .unwrap();
    let mut other = failed(&evs[1]);
    other.endpoint_id = "hook-2".to_owned();
    assert!(
        s.advance_endpoint("hook-2", "a", evs[3].id, &[other])
            .await
            .unwrap()
    );
    assert_eq!(pending_ids(s).await, [evs[0].id, evs[2].id, evs[3].id]);
    let p = progress(s).await;
    assert_eq!(
        (p[0].endpoint_id.as_str(), p[0].retrying, p[0].dead),
        (HOOK, 4, 1)
    );
    assert_eq!(
        (p[1].endpoint_id.as_str(), p[1].retrying, p[1].dead),
        ("hook-2", 1, 0)
    );
}

async fn settle_replaces_or_deletes_a_delivery(db: &Db) {
    let s = &db.store;
    let evs = events(s, &[(TENANT, "o1"), (TENANT, "o2")]).await;
    s.lease_endpoint(HOOK, "a", 1_000, 2_000, 0).await.unwrap();
    let pending = [failed(&evs[0]), failed(&evs[1])];
    assert!(
        s.advance_endpoint(HOOK, "a", evs[1].id, &pending)
            .await
            .unwrap()
    );
    // An update replaces attempts, next attempt, last error and state only.
    let mut update = failed(&evs[0]);
    update.attempts = 2;
    update.next_attempt_ms = 9_000;
    update.last_error = Some("timeout".to_owned());
    update.since = 1;
    update.offer_id = "elsewhere".to_owned();
    assert!(
        s.settle_delivery(HOOK, "a", evs[0].id, Some(&update))
            .await
            .unwrap()
    );
    let got = s.pending_deliveries(HOOK, 100).await.unwrap();
    let expected = PendingDelivery {
        attempts: 2,
        next_attempt_ms: 9_000,
        last_error: Some("timeout".to_owned()),
        ..failed(&evs[0])
    };
    assert_eq!(got[0].0, expected);
    // Given up: a dead letter, no longer pending.
    update.state = DeliveryState::Dead;
    assert!(
        s.settle_delivery(HOOK, "a", evs[0].id, Some(&update))
            .await
            .unwrap()
    );
    assert_eq!(pending_ids(s).await, [evs[1].id]);
    // Delivered: deleted; settling again (no row) is no error.
    assert!(s.settle_delivery(HOOK, "a", evs[1].id, None).await.unwrap());
    assert!(s.settle_delivery(HOOK, "a", evs[1].id, None).await.unwrap());
    assert!(
        s.settle_delivery(HOOK, "a", evs[1].id, Some(&update))
            .await
            .unwrap()
    );
    assert!(pending_ids(s).await.is_empty());
    let p = progress(s).await;
    assert_eq!((p[0].retrying, p[0].dead), (0, 1));
}

async fn dead_letters_and_redelivery_follow_the_tenant(db: &Db) {
    let s = &db.store;
    let evs = events(s, &[(TENANT, "o1"), ("other", "o2"), (TENANT, "o3")]).await;
    s.lease_endpoint(HOOK, "a", 1_000, 2_000, 0).await.unwrap();
    let pending: Vec<PendingDelivery> = evs
        .iter()
        .map(|e| PendingDelivery {
            state: DeliveryState::Dead,
            attempts: 12,
            ..failed(e)
        })
        .collect();
    assert!(
        s.advance_endpoint(HOOK, "a", evs[2].id, &pending)
            .await
            .unwrap()
    );
    let ids = |rows: Vec<(PendingDelivery, EventRecord)>| -> Vec<i64> {
        rows.into_iter()
            .map(|(p, e)| {
                assert_eq!(p.event_id, e.id);
                p.event_id
            })
            .collect()
    };
    let all = s.dead_letters(HOOK, None, 0, 10).await.unwrap();
    assert_eq!(all[1].0, pending[1]);
    assert_eq!(ids(all), [evs[0].id, evs[1].id, evs[2].id]);
    let mine = s.dead_letters(HOOK, Some(TENANT), 0, 10).await.unwrap();
    assert_eq!(ids(mine), [evs[0].id, evs[2].id]);
    // Paged by event id.
    let page = s.dead_letters(HOOK, None, evs[0].id, 1).await.unwrap();
    assert_eq!(ids(page), [evs[1].id]);
    assert!(
        s.dead_letters("hook-2", None, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Not another tenant's, nor an unknown one.
    assert!(
        !s.redeliver(HOOK, evs[1].id, Some(TENANT), 42)
            .await
            .unwrap()
    );
    assert!(!s.redeliver(HOOK, evs[2].id + 1, None, 42).await.unwrap());
    assert!(!s.redeliver("hook-2", evs[1].id, None, 42).await.unwrap());
    assert!(
        s.redeliver(HOOK, evs[1].id, Some("other"), 42)
            .await
            .unwrap()
    );
    // Retrying again from scratch, the last error kept.
    let back = s.pending_deliveries(HOOK, 10).await.unwrap();
    assert_eq!(back.len(), 1);
    let expected = PendingDelivery {
        state: DeliveryState::Retrying,
        attempts: 0,
        next_attempt_ms: 0,
        since: 42,
        ..pending[1].clone()
    };
    assert_eq!(back[0].0, expected);
    // Only a dead letter is redelivered.
    assert!(!s.redeliver(HOOK, evs[1].id, None, 43).await.unwrap());
    assert!(s.redeliver(HOOK, evs[2].id, None, 43).await.unwrap());
    let left = s.dead_letters(HOOK, None, 0, 10).await.unwrap();
    assert_eq!(ids(left), [evs[0].id]);
    let p = progress(s).await;
    assert_eq!((p[0].retrying, p[0].dead), (2, 1));
}

async fn events_to_deliver_carry_their_offers_endpoint(db: &Db) {
    let s = &db.store;
    assert_eq!(DeliveryStore::last_event_id(s).await.unwrap(), 0);
    // "hooked" names the endpoint, "plain" none, "gone" is no offer.
    let hooked = offer("hooked", "code-hooked", None);
    assert_eq!(hooked.webhook_endpoint_id.as_deref(), Some(HOOK));
    s.insert_offer(&hooked).await.unwrap();
    let mut plain = offer("plain", "code-plain", None);
    plain.webhook_endpoint_id = None;
    s.insert_offer(&plain).await.unwrap();
    let evs = events(
        s,
        &[
            (TENANT, "hooked"),
            (TENANT, "plain"),
            (TENANT, "gone"),
            (TENANT, "hooked"),
        ],
    )
    .await;
    assert_eq!(DeliveryStore::last_event_id(s).await.unwrap(), evs[3].id);

    let got = s.events_to_deliver(0, 100).await.unwrap();
    let expected: Vec<(EventRecord, Option<String>)> = vec![
        (evs[0].clone(), Some(HOOK.to_owned())),
        (evs[1].clone(), None),
        (evs[2].clone(), None),
        (evs[3].clone(), Some(HOOK.to_owned())),
    ];
    assert_eq!(got, expected);
    // After a position, up to a limit.
    let next = s.events_to_deliver(evs[0].id, 2).await.unwrap();
    assert_eq!(next, expected[1..3]);
    assert!(s.events_to_deliver(evs[3].id, 10).await.unwrap().is_empty());
}

async fn purge_keeps_an_offer_with_an_event_to_deliver(db: &Db) {
    let s = &db.store;
    let t = now();
    let grace = 3_600;
    for id in ["waits", "done"] {
        let mut o = offer(id, &format!("code-{id}"), None);
        o.expires_at = Some(t - grace - 10);
        s.insert_offer(&o).await.unwrap();
    }
    let evs = events(s, &[(TENANT, "waits"), (TENANT, "done")]).await;
    s.lease_endpoint(HOOK, "a", 1_000, 2_000, 0).await.unwrap();
    assert!(
        s.advance_endpoint(HOOK, "a", evs[1].id, &[failed(&evs[0])])
            .await
            .unwrap()
    );
    // The purge marks expired offers, and deletes them a grace period later.
    let later = t + grace + 1;
    let purged = async |at: i64| s.purge_expired(at, grace).await.unwrap().offers;

    // "waits" has an event still to deliver: kept with its events.
    assert_eq!(purged(t).await + purged(later).await, 1);
    assert!(s.get_offer_by_id("done").await.unwrap().is_none());
    assert!(s.events("done").await.unwrap().is_empty());
    assert!(s.get_offer_by_id("waits").await.unwrap().is_some());
    assert!(!s.events("waits").await.unwrap().is_empty());
    assert_eq!(pending_ids(s).await, [evs[0].id]);
    // A dead letter keeps it too; once delivered it goes.
    let dead = PendingDelivery {
        state: DeliveryState::Dead,
        ..failed(&evs[0])
    };
    assert!(
        s.settle_delivery(HOOK, "a", evs[0].id, Some(&dead))
            .await
            .unwrap()
    );
    assert_eq!(purged(later).await, 0);
    assert!(s.settle_delivery(HOOK, "a", evs[0].id, None).await.unwrap());
    assert_eq!(purged(later).await, 1);
    assert!(s.get_offer_by_id("waits").await.unwrap().is_none());
    assert!(s.events("waits").await.unwrap().is_empty());
}

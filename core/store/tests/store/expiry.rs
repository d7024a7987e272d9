//! Offer expiry: each offer that expires while `created` or `resolved` is
//! marked `expired` with one `offer_expired` event, on both databases.

use std::sync::Arc;

use serde_json::json;
use sigil_store::{EventKind, OfferStatus, RedeemError};

use super::{Db, RACERS, TENANT, event_kinds, now, offer, redeem};

on_both!(
    expiry_marks_created_and_resolved_offers_once,
    concurrent_expiry_records_one_event_per_offer,
);

/// An instant long past: 2023-11-14T22:13:20Z.
const PAST: i64 = 1_700_000_000;

async fn expiry_marks_created_and_resolved_offers_once(db: &Db) {
    let s = &db.store;
    let t = now();
    let insert = |id: &'static str, expires_at: Option<i64>| {
        let mut o = offer(id, &format!("code-{id}"), None);
        o.expires_at = expires_at;
        async move { s.insert_offer(&o).await.unwrap() }
    };
    insert("created", Some(PAST)).await;
    insert("resolved", Some(t - 1)).await;
    s.mark_resolved("resolved", t - 2).await.unwrap();
    insert("live", Some(t + 600)).await;
    insert("forever", None).await;
    insert("redeemed", Some(t - 1)).await;
    let mut back_then = redeem("code-redeemed", None);
    back_then.now = t - 2;
    s.redeem_pre_authorized_code(back_then).await.unwrap();
    insert("revoked", Some(t - 1)).await;
    assert!(s.revoke_offer(TENANT, "revoked", t - 2).await.unwrap());

    assert_eq!(s.expire_offers(t).await.unwrap(), 2);
    let events = s.events("created").await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, EventKind::OfferExpired);
    assert_eq!(
        (events[0].tenant.as_str(), events[0].created_at),
        (TENANT, t)
    );
    assert_eq!(
        events[0].detail,
        json!({"expiresAt": "2023-11-14T22:13:20Z"})
    );
    assert_eq!(event_kinds(s, "resolved").await, ["offer_expired"]);
    for id in ["created", "resolved"] {
        let o = s.get_offer(TENANT, id).await.unwrap().unwrap();
        assert_eq!(o.progress.status, OfferStatus::Expired, "{id}");
        assert_eq!(o.progress.updated_at, t, "{id}");
    }
    for id in ["live", "forever", "redeemed", "revoked"] {
        assert!(event_kinds(s, id).await.is_empty(), "{id}");
    }
    // Marked once: a later run finds nothing, and the stored status refuses the code.
    assert_eq!(s.expire_offers(t + 60).await.unwrap(), 0);
    assert_eq!(event_kinds(s, "created").await, ["offer_expired"]);
    let e = s
        .redeem_pre_authorized_code(redeem("code-created", None))
        .await
        .unwrap_err();
    assert!(matches!(e, RedeemError::Expired), "{e:?}");
    // An expired offer can still be revoked.
    assert!(s.revoke_offer(TENANT, "created", t + 60).await.unwrap());
    let o = s.get_offer(TENANT, "created").await.unwrap().unwrap();
    assert_eq!(o.progress.status, OfferStatus::Revoked);
}

async fn concurrent_expiry_records_one_event_per_offer(db: &Db) {
    let stores = [db.store.clone(), db.second().await];
    let t = now();
    let ids: Vec<String> = (0..40).map(|i| format!("o{i}")).collect();
    for id in &ids {
        let mut o = offer(id, &format!("code-{id}"), None);
        o.expires_at = Some(t - 1);
        stores[0].insert_offer(&o).await.unwrap();
    }
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..RACERS {
        let store = stores[i % 2].clone();
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            store.expire_offers(t).await.unwrap()
        });
    }
    let mut marked = 0;
    while let Some(n) = tasks.join_next().await {
        marked += n.unwrap();
    }
    // A run that lost every row of a batch stops early; the next run (the
    // next minute) finds what is left.
    marked += stores[0].expire_offers(t).await.unwrap();
    assert_eq!(marked, 40);
    for id in &ids {
        assert_eq!(event_kinds(&stores[0], id).await, ["offer_expired"], "{id}");
    }
}

//! A refused redemption of a code that belongs to an offer stores the event
//! `Redeem::refused` gives, on both databases: a counted wrong transaction
//! code in the count's transaction.

use std::sync::Arc;

use serde_json::{Value, json};
use sigil_issuer::model::RedeemRefusal;
use sigil_store::{EventKind, NewEvent, OfferStatus, RedeemError, Store};

use super::{Db, RACERS, TENANT, now, offer, redeem};

on_both!(
    refusals_of_an_offer_store_the_event_given,
    refusals_without_an_offer_or_a_rule_store_nothing,
    concurrent_wrong_tx_codes_record_each_counted_attempt,
);

/// A stand-in for the token endpoint's rule: every refusal, named.
fn named(tenant: &str, offer_id: &str, refusal: RedeemRefusal, now: i64) -> Option<NewEvent> {
    Some(NewEvent {
        tenant: tenant.to_owned(),
        offer_id: offer_id.to_owned(),
        kind: EventKind::TokenRefused,
        detail: json!({ "refusal": format!("{refusal:?}") }),
        created_at: now,
    })
}

/// The `refusal` of each `token_refused` event of offer `id`.
async fn refusals(s: &Store, id: &str) -> Vec<String> {
    s.events(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::TokenRefused)
        .map(|e| match &e.detail["refusal"] {
            Value::String(r) => r.clone(),
            other => panic!("{other}"),
        })
        .collect()
}

async fn refusals_of_an_offer_store_the_event_given(db: &Db) {
    let s = &db.store;
    let t = now();
    s.insert_offer(&offer("o1", "code-1", Some("tx-1")))
        .await
        .unwrap();
    let attempt = |tx: Option<&'static str>| {
        let mut r = redeem("code-1", tx);
        r.refused = Some(named);
        async move { s.redeem_pre_authorized_code(r).await.unwrap_err() }
    };
    attempt(None).await;
    for _ in 0..3 {
        attempt(Some("tx-bad")).await;
    }
    attempt(Some("tx-1")).await;
    assert_eq!(
        refusals(s, "o1").await,
        [
            "TxCodeRequired",
            "WrongTxCode { remaining: 2 }",
            "WrongTxCode { remaining: 1 }",
            "WrongTxCode { remaining: 0 }",
            "Invalidated",
        ]
    );
    let o1 = s.get_offer(TENANT, "o1").await.unwrap().unwrap();
    assert_eq!(o1.progress.status, OfferStatus::Invalidated);

    // The other states, through the token path (its SQLite batch included).
    let mut expired = offer("expired", "code-expired", None);
    expired.expires_at = Some(t - 1);
    s.insert_offer(&expired).await.unwrap();
    s.insert_offer(&offer("revoked", "code-revoked", None))
        .await
        .unwrap();
    assert!(s.revoke_offer(TENANT, "revoked", t).await.unwrap());
    s.insert_offer(&offer("used", "code-used", None))
        .await
        .unwrap();
    s.insert_offer(&offer("plain", "code-plain", None))
        .await
        .unwrap();
    let token = sigil_store::IssuedToken {
        token_hash: "at-1",
        expires_at: t + 300,
        dpop_jkt: None,
    };
    let mut first = redeem("code-used", None);
    first.refused = Some(named);
    s.redeem_for_token(first, token).await.unwrap();
    for (id, tx, want) in [
        ("expired", None, "Expired"),
        ("revoked", None, "Revoked"),
        ("used", None, "AlreadyUsed"),
        ("plain", Some("tx-1"), "TxCodeNotExpected"),
    ] {
        let code = format!("code-{id}");
        let mut r = redeem(&code, tx);
        r.refused = Some(named);
        let other = sigil_store::IssuedToken {
            token_hash: "at-2",
            ..token
        };
        s.redeem_for_token(r, other).await.unwrap_err();
        assert_eq!(refusals(s, id).await, [want], "{id}");
    }
}

async fn refusals_without_an_offer_or_a_rule_store_nothing(db: &Db) {
    let s = &db.store;
    s.insert_offer(&offer("o1", "code-1", Some("tx-1")))
        .await
        .unwrap();
    let mut unknown = redeem("code-none", None);
    unknown.refused = Some(named);
    let e = s.redeem_pre_authorized_code(unknown).await.unwrap_err();
    assert!(matches!(e, RedeemError::UnknownCode), "{e:?}");
    // A rule that records nothing, or none at all: the attempt still counts.
    let mut silent = redeem("code-1", Some("tx-bad"));
    silent.refused = Some(|_, _, _, _| None);
    s.redeem_pre_authorized_code(silent).await.unwrap_err();
    s.redeem_pre_authorized_code(redeem("code-1", Some("tx-bad")))
        .await
        .unwrap_err();
    assert!(s.events("o1").await.unwrap().is_empty());
    assert!(s.events("").await.unwrap().is_empty());
    let o1 = s.get_offer(TENANT, "o1").await.unwrap().unwrap();
    assert_eq!(o1.progress.tx_attempts, 2);
}

async fn concurrent_wrong_tx_codes_record_each_counted_attempt(db: &Db) {
    let stores = [db.store.clone(), db.second().await];
    stores[0]
        .insert_offer(&offer("o1", "code-1", Some("tx-1")))
        .await
        .unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..RACERS {
        let store = stores[i % 2].clone();
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            let mut r = redeem("code-1", Some("tx-bad"));
            r.refused = Some(named);
            store.redeem_pre_authorized_code(r).await.unwrap_err()
        });
    }
    let mut outcomes = Vec::new();
    while let Some(e) = tasks.join_next().await {
        outcomes.push(format!("{:?}", e.unwrap().refusal().unwrap()));
    }
    outcomes.sort();
    let mut recorded = refusals(&stores[0], "o1").await;
    recorded.sort();
    // One event per refusal, and the three counted ones say what each was told.
    assert_eq!(recorded, outcomes);
    let counted: Vec<&String> = recorded
        .iter()
        .filter(|r| r.starts_with("WrongTxCode"))
        .collect();
    assert_eq!(
        counted,
        [
            "WrongTxCode { remaining: 0 }",
            "WrongTxCode { remaining: 1 }",
            "WrongTxCode { remaining: 2 }",
        ]
    );
}

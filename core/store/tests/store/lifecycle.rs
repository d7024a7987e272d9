//! Credential lifecycle storage (status lists, credential status, deferred
//! transactions, issuance records), on both databases.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use sigil_store::{
    CredentialFilter, CredentialRecord, CredentialStatus, DeferredOrigin, DeferredStatus,
    DeferredTransaction, EventKind, Finish, Issuance, NewEvent, OfferStatus, Settlement,
    StatusChange, StatusEntry, Store, StoreError,
};

use super::{Db, RACERS, TENANT, event_kinds, now, offer, redeem, single_offer};

on_both!(
    reservation_never_hands_out_an_index_twice,
    concurrent_reservations_across_instances_never_collide,
    concurrent_openers_agree_on_one_list,
    change_status_is_conditional_and_raises_the_version,
    defer_with_a_spent_nonce_stores_nothing,
    concurrent_defers_with_one_nonce_record_once,
    settle_and_collect_are_single_use,
    concurrent_collects_have_one_winner,
    find_credentials_filters_and_pages,
    purge_removes_expired_deferred_transactions_only,
    purge_keeps_the_token_of_a_live_deferred_transaction,
);

const SIZE: u64 = 131_072;

/// Offer `id` of one configuration (`pid_sd_jwt`), its code redeemed.
async fn redeemed(s: &Store, id: &str) {
    let code = format!("code-{id}");
    s.insert_offer(&single_offer(id, &code)).await.unwrap();
    s.redeem_pre_authorized_code(redeem(&code, None))
        .await
        .unwrap();
}

/// Credential `id` of offer `offer_id` issued at `at`, in list 1 at `index`.
fn credential(id: &str, offer_id: &str, at: i64, index: Option<u64>) -> CredentialRecord {
    CredentialRecord {
        id: id.to_owned(),
        tenant: TENANT.to_owned(),
        offer_id: offer_id.to_owned(),
        credential_configuration_id: "pid_sd_jwt".to_owned(),
        format: "dc+sd-jwt".to_owned(),
        holder_key_thumbprint: Some(format!("jkt-{id}")),
        notification_id: format!("notify-{offer_id}"),
        created_at: at,
        notification: None,
        status: CredentialStatus::Valid,
        status_entry: index.map(|index| StatusEntry { list: 1, index }),
        expires_at: Some(at + 86_400),
        identifier: None,
    }
}

fn issuance(id: &str, offer_id: &str, count: u32, at: i64) -> Issuance {
    Issuance {
        id: id.to_owned(),
        tenant: TENANT.to_owned(),
        offer_id: offer_id.to_owned(),
        credential_configuration_id: "pid_sd_jwt".to_owned(),
        format: "dc+sd-jwt".to_owned(),
        count,
        created_at: at,
    }
}

fn event(offer_id: &str, kind: EventKind, at: i64) -> NewEvent {
    NewEvent::bare(TENANT, offer_id, kind, at)
}

/// Records `records` (all of one offer) as one credential response.
async fn issue(s: &Store, records: &[CredentialRecord]) {
    let offer_id = &records[0].offer_id;
    let at = records[0].created_at;
    let nonce = format!("n-{}", records[0].id);
    let finished = s
        .finish_credential(
            &[(nonce, now() + 60)],
            issuance(&format!("i-{}", records[0].id), offer_id, 1, at),
            records,
            &["pid_sd_jwt".to_owned()],
            event(offer_id, EventKind::CredentialIssued, at),
        )
        .await
        .unwrap();
    assert_eq!(finished, Finish::Recorded);
}

/// A deterministic stream of candidates below `range` (xorshift).
fn candidates(seed: u64, count: usize, range: u64) -> Vec<u64> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % range
        })
        .collect()
}

async fn reservation_never_hands_out_an_index_twice(db: &Db) {
    let s = &db.store;
    let t = now();
    let list = s.open_status_list(TENANT, SIZE, 2, t).await.unwrap();
    assert_eq!(
        (list.number, list.size, list.bits, list.version, list.open),
        (1, SIZE, 2, 0, true)
    );
    assert_eq!(list.created_at, t);

    let mut got = s
        .reserve_status_indices(TENANT, 1, &[7, 3, 3, 9])
        .await
        .unwrap();
    got.sort_unstable();
    assert_eq!(got, [3, 7, 9], "a duplicate candidate is reserved once");
    assert_eq!(
        s.reserve_status_indices(TENANT, 1, &[9, 4, 3])
            .await
            .unwrap(),
        [4]
    );
    assert!(
        s.reserve_status_indices(TENANT, 1, &[3, 4, 7, 9])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.reserve_status_indices(TENANT, 1, &[])
            .await
            .unwrap()
            .is_empty()
    );
    // The same index in another list or another tenant is another entry.
    assert_eq!(
        s.reserve_status_indices(TENANT, 2, &[3]).await.unwrap(),
        [3]
    );
    assert_eq!(
        s.reserve_status_indices("other", 1, &[3]).await.unwrap(),
        [3]
    );
    // More candidates than one statement takes.
    let many: Vec<u64> = (10..2_510).collect();
    let mut got = s.reserve_status_indices(TENANT, 1, &many).await.unwrap();
    got.sort_unstable();
    assert_eq!(got, many);
    assert!(
        s.reserve_status_indices(TENANT, 1, &many[1_200..1_300])
            .await
            .unwrap()
            .is_empty()
    );
}

/// 8 tasks × 200 candidates from a range of 400, on two stores (two
/// instances): every drawn index is reserved exactly once.
async fn concurrent_reservations_across_instances_never_collide(db: &Db) {
    const TASKS: u64 = 8;
    let stores = [db.store.clone(), db.second().await];
    let start = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
    let mut tasks = tokio::task::JoinSet::new();
    let mut drawn = BTreeSet::new();
    for k in 0..TASKS {
        let store = stores[(k % 2) as usize].clone();
        let start = start.clone();
        let mine = candidates(k + 1, 200, 400);
        drawn.extend(mine.iter().copied());
        tasks.spawn(async move {
            start.wait().await;
            let mut got = Vec::new();
            // Four refills of 50, as an instance's pool would.
            for chunk in mine.chunks(50) {
                got.extend(
                    store
                        .reserve_status_indices(TENANT, 1, chunk)
                        .await
                        .unwrap(),
                );
            }
            got
        });
    }
    let mut handed = Vec::new();
    while let Some(got) = tasks.join_next().await {
        handed.extend(got.unwrap());
    }
    let unique: BTreeSet<u64> = handed.iter().copied().collect();
    assert_eq!(unique.len(), handed.len(), "an index was handed out twice");
    assert_eq!(unique, drawn, "every drawn index is reserved by someone");
}

async fn concurrent_openers_agree_on_one_list(db: &Db) {
    let stores = [db.store.clone(), db.second().await];
    let open_all = || async {
        let start = Arc::new(tokio::sync::Barrier::new(RACERS));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..RACERS {
            let (store, start) = (stores[i % 2].clone(), start.clone());
            tasks.spawn(async move {
                start.wait().await;
                store
                    .open_status_list(TENANT, SIZE, 2, now())
                    .await
                    .unwrap()
            });
        }
        let mut numbers = BTreeSet::new();
        while let Some(list) = tasks.join_next().await {
            numbers.insert(list.unwrap().number);
        }
        numbers
    };
    assert_eq!(open_all().await, BTreeSet::from([1]));
    // Closed: the next opener creates list 2, and only one list 2.
    stores[0].close_status_list(TENANT, 1).await.unwrap();
    assert!(
        !stores[1]
            .status_list(TENANT, 1)
            .await
            .unwrap()
            .unwrap()
            .open
    );
    assert_eq!(open_all().await, BTreeSet::from([2]));
    let two = stores[1].status_list(TENANT, 2).await.unwrap().unwrap();
    assert!(two.open);
    assert!(stores[0].status_list(TENANT, 3).await.unwrap().is_none());
    // Another tenant numbers its own lists; its size and bits are its own.
    let other = stores[0]
        .open_status_list("other", 1_024, 1, now())
        .await
        .unwrap();
    assert_eq!((other.number, other.size, other.bits), (1, 1_024, 1));
    assert!(stores[0].status_list("other", 2).await.unwrap().is_none());
}

fn change(id: &str, from: CredentialStatus, to: CredentialStatus) -> StatusChange {
    let kind = match to {
        CredentialStatus::Revoked => EventKind::CredentialRevoked,
        CredentialStatus::Suspended => EventKind::CredentialSuspended,
        CredentialStatus::Valid => EventKind::CredentialReinstated,
    };
    StatusChange {
        credential_id: id.to_owned(),
        from,
        to,
        event: event("o1", kind, now()),
    }
}

async fn change_status_is_conditional_and_raises_the_version(db: &Db) {
    use CredentialStatus::{Revoked, Suspended, Valid};
    let s = &db.store;
    let t = now();
    s.open_status_list(TENANT, SIZE, 2, t).await.unwrap();
    redeemed(s, "o1").await;
    issue(
        s,
        &[
            credential("c1", "o1", t, Some(5)),
            credential("c2", "o1", t, Some(6)),
            credential("c3", "o1", t, Some(7)),
            credential("c4", "o1", t, None),
        ],
    )
    .await;
    let version = |s: &Store| {
        let s = s.clone();
        async move { s.status_list(TENANT, 1).await.unwrap().unwrap().version }
    };
    assert_eq!(version(s).await, 0);
    assert!(s.status_entries(TENANT, 1).await.unwrap().is_empty());

    let applied = s
        .change_status(
            TENANT,
            &[
                change("c2", Valid, Suspended),
                change("c1", Valid, Revoked),
                change("c3", Suspended, Valid),
                change("nope", Valid, Revoked),
            ],
        )
        .await
        .unwrap();
    assert_eq!(applied, [true, true, false, false]);
    let v1 = version(s).await;
    assert!(v1 > 0);
    let entries: BTreeMap<u64, CredentialStatus> = s
        .status_entries(TENANT, 1)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(entries, BTreeMap::from([(5, Revoked), (6, Suspended)]));
    assert!(s.status_entries(TENANT, 2).await.unwrap().is_empty());
    assert!(s.status_entries("other", 1).await.unwrap().is_empty());
    let c1 = s.credential(TENANT, "c1").await.unwrap().unwrap();
    assert_eq!(c1.status, Revoked);
    assert_eq!(c1.status_entry, Some(StatusEntry { list: 1, index: 5 }));
    assert_eq!(c1.expires_at, Some(t + 86_400));
    assert!(s.credential("other", "c1").await.unwrap().is_none());
    assert_eq!(
        event_kinds(s, "o1").await,
        [
            "credential_issued",
            "credential_suspended",
            "credential_revoked"
        ]
    );

    // The same change again: not applied, no event, same version. Another
    // tenant cannot touch the credential.
    assert_eq!(
        s.change_status(TENANT, &[change("c1", Valid, Revoked)])
            .await
            .unwrap(),
        [false]
    );
    assert_eq!(
        s.change_status("other", &[change("c2", Suspended, Valid)])
            .await
            .unwrap(),
        [false]
    );
    assert_eq!(version(s).await, v1);
    assert_eq!(event_kinds(s, "o1").await.len(), 3);

    // Reinstated: valid again and out of the entries; a credential
    // without an entry changes its record only.
    assert_eq!(
        s.change_status(
            TENANT,
            &[change("c2", Suspended, Valid), change("c4", Valid, Revoked)]
        )
        .await
        .unwrap(),
        [true, true]
    );
    assert!(version(s).await > v1);
    assert_eq!(s.status_entries(TENANT, 1).await.unwrap(), [(5, Revoked)]);
    assert_eq!(
        s.credential(TENANT, "c4").await.unwrap().unwrap().status,
        Revoked
    );
    assert!(s.change_status(TENANT, &[]).await.unwrap().is_empty());
}

fn transaction(id: &str, offer_id: &str, at: i64) -> DeferredTransaction {
    DeferredTransaction {
        id: id.to_owned(),
        tenant: TENANT.to_owned(),
        offer_id: offer_id.to_owned(),
        credential_configuration_id: "pid_sd_jwt".to_owned(),
        format: "dc+sd-jwt".to_owned(),
        holder_keys: vec![
            json!({"kty": "EC", "crv": "P-256", "x": "x1", "y": "y1"}),
            json!({"kty": "EC", "crv": "P-256", "x": "x2", "y": "y2"}),
        ],
        authorization_id: Some("auth-1".to_owned()),
        origin: DeferredOrigin::Source,
        status: DeferredStatus::Pending,
        claims: None,
        reason: Some("the registry is slow".to_owned()),
        interval_seconds: 5,
        created_at: at,
        updated_at: at,
        expires_at: at + 600,
    }
}

async fn defer(s: &Store, t: &DeferredTransaction, nonce: &str) -> Result<Finish, StoreError> {
    s.defer(
        &[(nonce.to_owned(), now() + 60)],
        t,
        event(&t.offer_id, EventKind::CredentialDeferred, t.created_at),
    )
    .await
}

async fn offer_status(s: &Store, id: &str) -> OfferStatus {
    s.get_offer(TENANT, id)
        .await
        .unwrap()
        .unwrap()
        .progress
        .status
}

async fn defer_with_a_spent_nonce_stores_nothing(db: &Db) {
    let s = &db.store;
    let t = now();
    redeemed(s, "o1").await;
    assert!(s.spend_nonce(TENANT, "n1", t + 60, t).await.unwrap());
    let tx = transaction("tx1", "o1", t);
    let spent = s
        .defer(
            &[("n2".to_owned(), t + 60), ("n1".to_owned(), t + 60)],
            &tx,
            event("o1", EventKind::CredentialDeferred, t),
        )
        .await
        .unwrap();
    assert_eq!(spent, Finish::NonceSpent);
    assert!(s.deferred(TENANT, "tx1").await.unwrap().is_none());
    assert!(s.deferred_of_offer("o1").await.unwrap().is_empty());
    assert_eq!(offer_status(s, "o1").await, OfferStatus::TokenIssued);
    assert!(event_kinds(s, "o1").await.is_empty());
    // The fresh nonce of the refused request was not spent.
    assert!(s.spend_nonce(TENANT, "n2", t + 60, t).await.unwrap());

    assert_eq!(defer(s, &tx, "n3").await.unwrap(), Finish::Recorded);
    assert_eq!(s.deferred(TENANT, "tx1").await.unwrap(), Some(tx.clone()));
    assert!(s.deferred("other", "tx1").await.unwrap().is_none());
    assert_eq!(
        s.deferred_of_offer("o1").await.unwrap(),
        std::slice::from_ref(&tx)
    );
    assert_eq!(offer_status(s, "o1").await, OfferStatus::Deferred);
    assert_eq!(event_kinds(s, "o1").await, ["credential_deferred"]);
    // The nonce of a recorded deferral is spent.
    assert!(!s.spend_nonce(TENANT, "n3", t + 60, t).await.unwrap());
    // A transaction id is unique; the failed attempt spends nothing.
    let err = defer(s, &tx, "n4").await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err:?}");
    assert!(s.spend_nonce(TENANT, "n4", t + 60, t).await.unwrap());
    // A second transaction of the offer lists after the first.
    let mut second = transaction("tx2", "o1", t + 1);
    second.origin = DeferredOrigin::Offer;
    second.reason = None;
    second.authorization_id = None;
    assert_eq!(defer(s, &second, "n5").await.unwrap(), Finish::Recorded);
    assert_eq!(s.deferred_of_offer("o1").await.unwrap(), [tx, second]);
}

async fn concurrent_defers_with_one_nonce_record_once(db: &Db) {
    let stores = [db.store.clone(), db.second().await];
    let t = now();
    redeemed(&stores[0], "o1").await;
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..RACERS {
        let (store, start) = (stores[k % 2].clone(), start.clone());
        tasks.spawn(async move {
            let tx = transaction(&format!("tx{k}"), "o1", t);
            start.wait().await;
            defer(&store, &tx, "n1").await.unwrap()
        });
    }
    let mut recorded = 0;
    while let Some(finish) = tasks.join_next().await {
        recorded += usize::from(finish.unwrap() == Finish::Recorded);
    }
    assert_eq!(recorded, 1);
    assert_eq!(stores[1].deferred_of_offer("o1").await.unwrap().len(), 1);
    assert_eq!(event_kinds(&stores[0], "o1").await, ["credential_deferred"]);
}

fn claims(name: &str) -> Map<String, Value> {
    json!({"given_name": name, "address": {"locality": "Berlin"}})
        .as_object()
        .unwrap()
        .clone()
}

async fn settle_and_collect_are_single_use(db: &Db) {
    let s = &db.store;
    let t = now();
    redeemed(s, "o1").await;
    let tx = transaction("tx1", "o1", t);
    assert_eq!(defer(s, &tx, "n1").await.unwrap(), Finish::Recorded);
    let ready = |name: &str| Settlement::Ready(claims(name));
    let settled = |at| event("o1", EventKind::DeferredCompleted, at);

    // Not another tenant's, not an unknown one.
    assert!(
        !s.settle_deferred("other", "tx1", &ready("Erika"), t, settled(t))
            .await
            .unwrap()
    );
    assert!(
        !s.settle_deferred(TENANT, "nope", &ready("Erika"), t, settled(t))
            .await
            .unwrap()
    );
    // Ready, then ready with other claims (the operator may replace them).
    for name in ["Erika", "Maria"] {
        assert!(
            s.settle_deferred(TENANT, "tx1", &ready(name), t + 1, settled(t + 1))
                .await
                .unwrap()
        );
    }
    let got = s.deferred(TENANT, "tx1").await.unwrap().unwrap();
    assert_eq!(got.status, DeferredStatus::Ready);
    assert_eq!(got.claims, Some(claims("Maria")));
    assert_eq!(got.updated_at, t + 1);

    // Collected once: the issuance, its credentials, the offer's status and
    // the event; the claims are gone.
    let records = [
        credential("c1", "o1", t + 2, Some(1)),
        credential("c2", "o1", t + 2, Some(2)),
    ];
    let offered = ["pid_sd_jwt".to_owned()];
    let collect = |id: &str| {
        s.collect_deferred(
            "tx1",
            issuance(id, "o1", 2, t + 2),
            &records,
            &offered,
            event("o1", EventKind::CredentialIssued, t + 2),
        )
    };
    assert!(collect("i1").await.unwrap());
    let got = s.deferred(TENANT, "tx1").await.unwrap().unwrap();
    assert_eq!(got.status, DeferredStatus::Collected);
    assert_eq!(got.claims, None);
    assert_eq!(got.updated_at, t + 2);
    assert_eq!(offer_status(s, "o1").await, OfferStatus::Consumed);
    assert_eq!(s.credentials("o1").await.unwrap(), records);
    assert_eq!(s.issuances("o1").await.unwrap().len(), 1);

    // Never twice, and nothing settles it any more.
    assert!(!collect("i2").await.unwrap());
    assert!(
        !s.settle_deferred(TENANT, "tx1", &ready("Erika"), t + 3, settled(t + 3))
            .await
            .unwrap()
    );
    assert_eq!(s.credentials("o1").await.unwrap().len(), 2);
    assert_eq!(
        event_kinds(s, "o1").await,
        [
            "credential_deferred",
            "deferred_completed",
            "deferred_completed",
            "credential_issued"
        ]
    );

    // Denied: the reason is kept, and a denied transaction is not collected.
    redeemed(s, "o2").await;
    let denied = transaction("tx2", "o2", t);
    assert_eq!(defer(s, &denied, "n2").await.unwrap(), Finish::Recorded);
    assert!(
        s.settle_deferred(
            TENANT,
            "tx2",
            &Settlement::Denied("no such person".to_owned()),
            t + 1,
            event("o2", EventKind::IssuanceDenied, t + 1),
        )
        .await
        .unwrap()
    );
    let got = s.deferred(TENANT, "tx2").await.unwrap().unwrap();
    assert_eq!(got.status, DeferredStatus::Denied);
    assert_eq!(got.reason.as_deref(), Some("no such person"));
    assert!(
        !s.collect_deferred(
            "tx2",
            issuance("i3", "o2", 1, t + 2),
            &[],
            &["pid_sd_jwt".to_owned()],
            event("o2", EventKind::CredentialIssued, t + 2),
        )
        .await
        .unwrap()
    );
    assert_eq!(offer_status(s, "o2").await, OfferStatus::Deferred);

    // Expired: not settled.
    redeemed(s, "o3").await;
    let mut expired = transaction("tx3", "o3", t - 700);
    expired.expires_at = t - 100;
    assert_eq!(defer(s, &expired, "n3").await.unwrap(), Finish::Recorded);
    assert!(
        !s.settle_deferred(TENANT, "tx3", &ready("Erika"), t, settled(t))
            .await
            .unwrap()
    );
    assert_eq!(
        s.deferred(TENANT, "tx3").await.unwrap().unwrap().status,
        DeferredStatus::Pending
    );
}

async fn concurrent_collects_have_one_winner(db: &Db) {
    let stores = [db.store.clone(), db.second().await];
    let t = now();
    redeemed(&stores[0], "o1").await;
    let tx = transaction("tx1", "o1", t);
    assert_eq!(
        defer(&stores[0], &tx, "n1").await.unwrap(),
        Finish::Recorded
    );
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..RACERS {
        let (store, start) = (stores[k % 2].clone(), start.clone());
        tasks.spawn(async move {
            let records = [credential(&format!("c{k}"), "o1", t, Some(k as u64))];
            start.wait().await;
            store
                .collect_deferred(
                    "tx1",
                    issuance(&format!("i{k}"), "o1", 1, t),
                    &records,
                    &["pid_sd_jwt".to_owned()],
                    event("o1", EventKind::CredentialIssued, t),
                )
                .await
                .unwrap()
        });
    }
    let mut won = 0;
    while let Some(collected) = tasks.join_next().await {
        won += usize::from(collected.unwrap());
    }
    assert_eq!(won, 1);
    assert_eq!(stores[0].credentials("o1").await.unwrap().len(), 1);
    assert_eq!(
        event_kinds(&stores[0], "o1").await,
        ["credential_deferred", "credential_issued"]
    );
}

fn filter() -> CredentialFilter {
    CredentialFilter {
        tenant: TENANT.to_owned(),
        limit: 100,
        ..CredentialFilter::default()
    }
}

async fn ids(s: &Store, f: &CredentialFilter) -> Vec<String> {
    s.find_credentials(f)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

async fn find_credentials_filters_and_pages(db: &Db) {
    let s = &db.store;
    let t = now();
    for o in ["o1", "o2"] {
        redeemed(s, o).await;
    }
    // Ids out of order within one issue time, so the id decides there.
    issue(
        s,
        &[
            credential("b", "o1", t, Some(1)),
            credential("a", "o1", t, Some(2)),
            credential("c", "o1", t, None),
        ],
    )
    .await;
    let mut later = [
        credential("a2", "o2", t + 10, Some(3)),
        credential("z2", "o2", t + 10, Some(4)),
    ];
    later[0].format = "mso_mdoc".to_owned();
    later[0].credential_configuration_id = "pid_mdoc".to_owned();
    later[1].holder_key_thumbprint = None;
    issue(s, &later).await;
    let mut d = credential("d", "o1", t + 20, Some(5));
    d.identifier = Some("urn:uuid:d".to_owned());
    issue(s, &[d.clone()]).await;
    // Another tenant's credential never shows.
    let mut foreign = offer("x1", "code-x1", None);
    foreign.tenant = "other".to_owned();
    s.insert_offer(&foreign).await.unwrap();
    let mut stranger = credential("0", "x1", t, None);
    stranger.tenant = "other".to_owned();
    stranger.identifier = d.identifier.clone();
    issue(s, &[stranger]).await;
    s.change_status(
        TENANT,
        &[change(
            "z2",
            CredentialStatus::Valid,
            CredentialStatus::Suspended,
        )],
    )
    .await
    .unwrap();

    let all = ["a", "b", "c", "a2", "z2", "d"];
    assert_eq!(ids(s, &filter()).await, all);
    // Pages of two, each after the last of the one before.
    let mut paged = Vec::new();
    let mut f = CredentialFilter {
        limit: 2,
        ..filter()
    };
    loop {
        let page = s.find_credentials(&f).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        f.after = Some((last.created_at, last.id.clone()));
        paged.extend(page.into_iter().map(|c| c.id));
    }
    assert_eq!(paged, all);

    let by = |f: CredentialFilter| async move { ids(s, &f).await };
    assert_eq!(
        by(CredentialFilter {
            offer_id: Some("o2".into()),
            ..filter()
        })
        .await,
        ["a2", "z2"]
    );
    assert_eq!(
        by(CredentialFilter {
            credential_configuration_id: Some("pid_mdoc".into()),
            ..filter()
        })
        .await,
        ["a2"]
    );
    assert_eq!(
        by(CredentialFilter {
            format: Some("dc+sd-jwt".into()),
            ..filter()
        })
        .await,
        ["a", "b", "c", "z2", "d"]
    );
    assert_eq!(
        by(CredentialFilter {
            status: Some(CredentialStatus::Suspended),
            ..filter()
        })
        .await,
        ["z2"]
    );
    assert_eq!(
        by(CredentialFilter {
            status: Some(CredentialStatus::Valid),
            ..filter()
        })
        .await,
        ["a", "b", "c", "a2", "d"]
    );
    assert_eq!(
        by(CredentialFilter {
            holder_key_thumbprint: Some("jkt-b".into()),
            ..filter()
        })
        .await,
        ["b"]
    );
    // An operator finds a credential by its own identifier (a JWT VC's `jti`),
    // within the tenant.
    assert_eq!(
        by(CredentialFilter {
            identifier: Some("urn:uuid:d".into()),
            ..filter()
        })
        .await,
        ["d"]
    );
    assert!(
        by(CredentialFilter {
            identifier: Some("urn:uuid:nothing".into()),
            ..filter()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        by(CredentialFilter {
            issued_from: Some(t + 10),
            issued_until: Some(t + 20),
            ..filter()
        })
        .await,
        ["a2", "z2"]
    );
    assert_eq!(
        by(CredentialFilter {
            after: Some((t, "b".into())),
            limit: 3,
            ..filter()
        })
        .await,
        ["c", "a2", "z2"]
    );
    let mut other = filter();
    other.tenant = "other".to_owned();
    assert_eq!(ids(s, &other).await, ["0"]);
    // The offer view's list: oldest first, the new fields read back.
    let of_o2 = s.credentials("o2").await.unwrap();
    assert_eq!(of_o2[0], later[0]);
    assert_eq!(of_o2[1].status, CredentialStatus::Suspended);
    let of_o1 = s.credentials("o1").await.unwrap();
    assert_eq!(of_o1.last(), Some(&d));
}

async fn purge_removes_expired_deferred_transactions_only(db: &Db) {
    let s = &db.store;
    let t = now();
    redeemed(s, "o1").await;
    let mut old = transaction("old", "o1", t - 700);
    old.expires_at = t - 1;
    assert_eq!(defer(s, &old, "n1").await.unwrap(), Finish::Recorded);
    let live = transaction("live", "o1", t);
    assert_eq!(defer(s, &live, "n2").await.unwrap(), Finish::Recorded);
    s.open_status_list(TENANT, SIZE, 2, t - 1_000_000)
        .await
        .unwrap();
    s.reserve_status_indices(TENANT, 1, &[1, 2]).await.unwrap();

    let counts = s.purge_expired(t, 0).await.unwrap();
    assert_eq!(counts.deferred_transactions, 1, "{counts:?}");
    assert!(s.deferred(TENANT, "old").await.unwrap().is_none());
    assert_eq!(s.deferred(TENANT, "live").await.unwrap(), Some(live));
    // Status lists and their reserved indices are never purged.
    assert!(s.status_list(TENANT, 1).await.unwrap().is_some());
    assert!(
        s.reserve_status_indices(TENANT, 1, &[1, 2])
            .await
            .unwrap()
            .is_empty()
    );
}

/// In memory, SQLite has no writer thread: the reservation is a batch on
/// the one pooled connection.
#[tokio::test]
async fn sqlite_in_memory_reserves_once() {
    let s = Store::connect("sqlite::memory:").await.unwrap();
    s.open_status_list(TENANT, SIZE, 2, now()).await.unwrap();
    let mut got = s.reserve_status_indices(TENANT, 1, &[4, 2]).await.unwrap();
    got.sort_unstable();
    assert_eq!(got, [2, 4]);
    assert_eq!(
        s.reserve_status_indices(TENANT, 1, &[2, 3]).await.unwrap(),
        [3]
    );
}

/// A wallet polls the deferred endpoint with the access token it had when
/// the transaction was made, long after that token expired: the purge keeps
/// it while the transaction can still be collected, and not after.
async fn purge_keeps_the_token_of_a_live_deferred_transaction(db: &Db) {
    use sigil_issuer::ports::IssuanceStore as _;
    let s = &db.store;
    let t = now();
    for id in ["o1", "o2"] {
        let code = format!("code-{id}");
        s.insert_offer(&single_offer(id, &code)).await.unwrap();
        s.redeem_for_token(
            redeem(&code, None),
            sigil_store::IssuedToken {
                token_hash: &format!("token-{id}"),
                expires_at: t - 10,
                dpop_jkt: None,
            },
        )
        .await
        .unwrap();
    }
    let mut live = transaction("live", "o1", t - 100);
    live.authorization_id = None;
    assert_eq!(defer(s, &live, "n1").await.unwrap(), Finish::Recorded);
    let counts = s.purge_expired(t, 0).await.unwrap();
    assert_eq!(counts.access_tokens, 1, "{counts:?}");
    let found =
        |hash: &'static str| async move { s.access_token(hash, t - 100).await.unwrap().is_some() };
    assert!(
        found("token-o1").await,
        "the deferred offer's token is kept"
    );
    assert!(!found("token-o2").await, "another expired token is purged");
    // Once the transaction is collected, its token goes with the next purge.
    assert!(
        s.collect_deferred(
            "live",
            issuance("i1", "o1", 2, t),
            &[],
            &["pid_sd_jwt".to_owned()],
            event("o1", EventKind::CredentialIssued, t),
        )
        .await
        .unwrap()
    );
    assert_eq!(s.purge_expired(t, 0).await.unwrap().access_tokens, 1);
    assert!(!found("token-o1").await);
}

//! Store scenarios, each run against SQLite (a temp file) and PostgreSQL (a fresh schema).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use sigil_store::testing::{drop_postgres_schema, fresh_postgres_url};
use sigil_store::{
    AccessToken, Backend, ClaimSourceSpec, CredentialRecord, CredentialStatus, EventKind, Finish,
    Flow, Issuance, IssuanceMode, IssuedToken, NewEvent, NotificationRecord, Offer, OfferProgress,
    OfferScheme, OfferStatus, Redeem, RedeemError, RuntimeOverrides, StatusEntry, Store,
    StoreError, TxCode, TxInputMode, ValueMode,
};
use tempfile::TempDir;

/// One database for one test: the store, its URL (to open more pools) and what to clean up.
struct Db {
    store: Store,
    url: String,
    _dir: Option<TempDir>,
}

impl Db {
    async fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/data/sigil.db?mode=rwc", dir.path().display());
        let store = Store::connect(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Sqlite);
        Db {
            store,
            url,
            _dir: Some(dir),
        }
    }

    async fn postgres() -> Option<Db> {
        let url = fresh_postgres_url().await?;
        let store = Store::connect(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Postgres);
        Some(Db {
            store,
            url,
            _dir: None,
        })
    }

    /// Another store (its own connection pool) on the same database.
    async fn second(&self) -> Store {
        Store::connect(&self.url).await.unwrap()
    }

    async fn finish(self) {
        if self.store.backend() == Backend::Postgres {
            drop_postgres_schema(&self.url).await.unwrap();
        }
    }
}

/// Runs a scenario `async fn(&Db)` on both databases.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = super::Db::sqlite().await;
                super::$name(&db).await;
                db.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = super::Db::postgres().await {
                    super::$name(&db).await;
                    db.finish().await;
                }
            }
        }
    )*};
}

#[path = "store/authorizations.rs"]
mod authorizations;
#[path = "store/delivery.rs"]
mod delivery;
#[path = "store/expiry.rs"]
mod expiry;
#[path = "store/lifecycle.rs"]
mod lifecycle;
#[path = "store/refusals.rs"]
mod refusals;

on_both!(
    offer_round_trip,
    redeem_then_already_used,
    unknown_code,
    expired_offer,
    revoked_offer,
    revocation_event_only_when_revoked,
    tx_code_required_does_not_burn,
    wrong_tx_codes_invalidate,
    tx_code_not_expected,
    nonces_are_single_use,
    issuance_is_recorded_once,
    events_oldest_first,
    access_tokens_expire_and_follow_revocation,
    purge_removes_expired_rows,
    concurrent_redeem_has_one_winner,
    concurrent_wrong_tx_codes_count_exactly,
    concurrent_nonce_consumed_once,
    spent_nonces_are_refused_the_second_time,
    concurrent_nonce_spent_once,
    complete_issuance_consumes_after_every_configuration,
    concurrent_redeem_for_token_stores_one_token,
    redeem_for_token_refuses_like_redeem,
    finish_credential_spends_nonces_once_and_records,
    finish_credential_consumes_after_every_configuration,
    concurrent_finishes_of_every_configuration_consume,
    concurrent_finish_credential_with_one_nonce_records_once,
    create_and_resolve_offer_write_their_events,
    concurrent_batches_fail_alone,
    concurrent_first_use_of_an_external_token_records_once,
);

const TENANT: &str = "acme";

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn offer(id: &str, code_hash: &str, tx_code_hash: Option<&str>) -> Offer {
    let claims = json!({"given_name": "Erika", "age": 40});
    Offer {
        id: id.to_owned(),
        tenant: TENANT.to_owned(),
        credential_configuration_ids: vec!["pid_sd_jwt".to_owned(), "pid_mdoc".to_owned()],
        flow: Flow::PreAuthorizedCode,
        value_mode: ValueMode::ByReference,
        scheme: OfferScheme::OpenidCredentialOffer,
        pre_authorized_code_hash: Some(code_hash.to_owned()),
        tx_code_hash: tx_code_hash.map(str::to_owned),
        tx_code: tx_code_hash.map(|_| TxCode {
            input_mode: TxInputMode::Numeric,
            length: Some(6),
            description: Some("Code from the e-mail".to_owned()),
        }),
        issuer_state: None,
        credential_claims: [(
            "pid_sd_jwt".to_owned(),
            ClaimSourceSpec::Inline {
                claims: claims.as_object().unwrap().clone(),
            },
        )]
        .into(),
        runtime_overrides: RuntimeOverrides {
            subject_id: Some("urn:subject:1".to_owned()),
            ..RuntimeOverrides::default()
        },
        issuance_mode: IssuanceMode::Immediate,
        webhook_endpoint_id: Some("hook-1".to_owned()),
        profile: Some("pid".to_owned()),
        created_at: now(),
        expires_at: Some(now() + 600),
        progress: OfferProgress::new(now()),
    }
}

fn redeem<'a>(code_hash: &'a str, tx_code_hash: Option<&'a str>) -> Redeem<'a> {
    Redeem {
        tenant: TENANT,
        code_hash,
        tx_code_hash,
        max_tx_attempts: 3,
        now: now(),
        refused: None,
    }
}

async fn offer_round_trip(db: &Db) {
    let s = &db.store;
    s.ping().await.unwrap();
    let mut new = offer("o1", "code-1", Some("tx-1"));
    new.issuer_state = Some("state-1".to_owned());
    new.expires_at = None;
    let inserted = s.insert_offer(&new.clone()).await.unwrap();
    assert_eq!(inserted.progress.status, OfferStatus::Created);

    let got = s.get_offer(TENANT, "o1").await.unwrap().unwrap();
    assert_eq!(got.id, "o1");
    assert_eq!(got.tenant, TENANT);
    assert_eq!(
        got.credential_configuration_ids,
        new.credential_configuration_ids
    );
    assert_eq!(got.flow, new.flow);
    assert_eq!(got.value_mode, new.value_mode);
    assert_eq!(got.scheme, new.scheme);
    assert_eq!(got.pre_authorized_code_hash.as_deref(), Some("code-1"));
    assert_eq!(got.tx_code_hash.as_deref(), Some("tx-1"));
    assert_eq!(got.tx_code, new.tx_code);
    assert_eq!(got.issuer_state.as_deref(), Some("state-1"));
    assert_eq!(got.credential_claims, new.credential_claims);
    assert_eq!(got.runtime_overrides, new.runtime_overrides);
    assert_eq!(got.issuance_mode, new.issuance_mode);
    assert_eq!(got.webhook_endpoint_id, new.webhook_endpoint_id);
    assert_eq!(got.profile, new.profile);
    assert_eq!(got.created_at, new.created_at);
    assert_eq!(got.expires_at, None);
    assert_eq!(got.progress.status, OfferStatus::Created);
    assert_eq!(got.progress.status.as_str(), "created");
    assert_eq!(got.progress.tx_attempts, 0);
    assert_eq!(got.progress.updated_at, new.created_at);
    assert!(got.progress.resolved_at.is_none() && got.progress.token_issued_at.is_none());

    // Hashes never show in Debug output.
    let debug = format!("{got:?} {new:?}");
    assert!(
        !debug.contains("code-1") && !debug.contains("tx-1"),
        "{debug}"
    );

    assert!(s.get_offer("other", "o1").await.unwrap().is_none());
    assert!(s.get_offer(TENANT, "nope").await.unwrap().is_none());
    assert_eq!(s.get_offer_by_id("o1").await.unwrap().unwrap().id, "o1");

    let at = now();
    s.mark_resolved("o1", at).await.unwrap();
    let got = s.get_offer_by_id("o1").await.unwrap().unwrap();
    assert_eq!(got.progress.status, OfferStatus::Resolved);
    assert_eq!(got.progress.resolved_at, Some(at));
    // A second resolve changes nothing.
    s.mark_resolved("o1", at + 5).await.unwrap();
    assert_eq!(
        s.get_offer_by_id("o1")
            .await
            .unwrap()
            .unwrap()
            .progress
            .resolved_at,
        Some(at)
    );

    // Same id, or same code hash: duplicate.
    let err = s.insert_offer(&new.clone()).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err:?}");
    let err = s
        .insert_offer(&offer("o2", "code-1", None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err:?}");
}

async fn redeem_then_already_used(db: &Db) {
    let s = &db.store;
    s.insert_offer(&offer("o1", "code-1", None)).await.unwrap();
    let r = redeem("code-1", None);
    let won = s.redeem_pre_authorized_code(r).await.unwrap();
    assert_eq!(won.progress.status, OfferStatus::TokenIssued);
    assert_eq!(won.progress.token_issued_at, Some(r.now));
    let again = s.redeem_pre_authorized_code(r).await.unwrap_err();
    assert!(matches!(again, RedeemError::AlreadyUsed), "{again:?}");

    s.mark_credential_issued("o1", r.now + 1, false)
        .await
        .unwrap();
    let got = s.get_offer_by_id("o1").await.unwrap().unwrap();
    assert_eq!(got.progress.status, OfferStatus::CredentialIssued);
    assert_eq!(got.progress.credential_issued_at, Some(r.now + 1));
    s.mark_credential_issued("o1", r.now + 2, true)
        .await
        .unwrap();
    let got = s.get_offer_by_id("o1").await.unwrap().unwrap();
    assert_eq!(got.progress.status, OfferStatus::Consumed);
    assert_eq!(got.progress.consumed_at, Some(r.now + 2));
    let again = s.redeem_pre_authorized_code(r).await.unwrap_err();
    assert!(matches!(again, RedeemError::AlreadyUsed), "{again:?}");
}

async fn unknown_code(db: &Db) {
    let s = &db.store;
    s.insert_offer(&offer("o1", "code-1", None)).await.unwrap();
    let err = s
        .redeem_pre_authorized_code(redeem("code-2", None))
        .await
        .unwrap_err();
    assert!(matches!(err, RedeemError::UnknownCode), "{err:?}");
    let mut other_tenant = redeem("code-1", None);
    other_tenant.tenant = "other";
    let err = s
        .redeem_pre_authorized_code(other_tenant)
        .await
        .unwrap_err();
    assert!(matches!(err, RedeemError::UnknownCode), "{err:?}");
}

async fn expired_offer(db: &Db) {
    let s = &db.store;
    let mut new = offer("o1", "code-1", None);
    new.expires_at = Some(now() - 10);
    s.insert_offer(&new).await.unwrap();
    assert_eq!(
        s.get_offer(TENANT, "o1")
            .await
            .unwrap()
            .unwrap()
            .progress
            .status,
        OfferStatus::Expired
    );
    s.mark_resolved("o1", now()).await.unwrap();
    assert!(
        s.get_offer(TENANT, "o1")
            .await
            .unwrap()
            .unwrap()
            .progress
            .resolved_at
            .is_none()
    );
    let err = s
        .redeem_pre_authorized_code(redeem("code-1", None))
        .await
        .unwrap_err();
    assert!(matches!(err, RedeemError::Expired), "{err:?}");
}

async fn revocation_event_only_when_revoked(db: &Db) {
    let s = &db.store;
    s.insert_offer(&offer("o1", "code-1", None)).await.unwrap();
    let at = now();
    let event = || NewEvent::bare(TENANT, "o1", EventKind::OfferRevoked, at);
    assert!(
        !s.revoke_offer_with_event("other", "o1", at, event())
            .await
            .unwrap()
    );
    assert!(
        s.revoke_offer_with_event(TENANT, "o1", at, event())
            .await
            .unwrap()
    );
    assert!(
        !s.revoke_offer_with_event(TENANT, "o1", at + 1, event())
            .await
            .unwrap()
    );
    assert!(
        !s.revoke_offer_with_event(TENANT, "nope", at, event())
            .await
            .unwrap()
    );
    let revoked: Vec<_> = s
        .events("o1")
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::OfferRevoked)
        .collect();
    assert_eq!(revoked.len(), 1);
    assert_eq!(
        s.get_offer(TENANT, "o1")
            .await
            .unwrap()
            .unwrap()
            .progress
            .revoked_at,
        Some(at)
    );
}

async fn revoked_offer(db: &Db) {
    let s = &db.store;
    s.insert_offer(&offer("o1", "code-1", None)).await.unwrap();
    let at = now();
    assert!(s.revoke_offer(TENANT, "o1", at).await.unwrap());
    let got = s.get_offer(TENANT, "o1").await.unwrap().unwrap();
    assert_eq!(got.progress.status, OfferStatus::Revoked);
    assert_eq!(got.progress.revoked_at, Some(at));
    let err = s
        .redeem_pre_authorized_code(redeem("code-1", None))
        .await
        .unwrap_err();
    assert!(matches!(err, RedeemError::Revoked), "{err:?}");
    // Known but already revoked: true, and the first revocation time stays.
    assert!(s.revoke_offer(TENANT, "o1", at + 9).await.unwrap());
    assert_eq!(
        s.get_offer(TENANT, "o1")
            .await
            .unwrap()
            .unwrap()
            .progress
            .revoked_at,
        Some(at)
    );
    assert!(!s.revoke_offer(TENANT, "nope", at).await.unwrap());
    assert!(!s.revoke_offer("other", "o1", at).await.unwrap());
}

async fn tx_code_required_does_not_burn(db: &Db) {
    let s = &db.store;
    s.insert_offer(&offer("o1", "code-1", Some("tx-1")))
        .await
        .unwrap();
    for _ in 0..5 {
        let err = s
            .redeem_pre_authorized_code(redeem("code-1", None))
            .await
            .unwrap_err();
        assert!(matches!(err, RedeemError::TxCodeRequired), "{err:?}");
    }
    assert_eq!(
        s.get_offer(TENANT, "o1")
            .await
            .unwrap()
            .unwrap()
            .progress
            .tx_attempts,
        0
    );
    let won = s
        .redeem_pre_authorized_code(redeem("code-1", Some("tx-1")))
        .await
        .unwrap();
    assert_eq!(won.progress.status, OfferStatus::TokenIssued);
}

async fn wrong_tx_codes_invalidate(db: &Db) {
    let s = &db.store;
    s.insert_offer(&offer("o1", "code-1", Some("tx-1")))
        .await
        .unwrap();
    for expected in [2, 1, 0] {
        let err = s
            .redeem_pre_authorized_code(redeem("code-1", Some("tx-bad")))
            .await
            .unwrap_err();
        assert!(
            matches!(err, RedeemError::WrongTxCode { remaining } if remaining == expected),
            "{err:?}"
        );
    }
    let got = s.get_offer(TENANT, "o1").await.unwrap().unwrap();
    assert_eq!(got.progress.status, OfferStatus::Invalidated);
    assert_eq!(got.progress.tx_attempts, 3);
    let err = s
        .redeem_pre_authorized_code(redeem("code-1", Some("tx-1")))
        .await
        .unwrap_err();
    assert!(matches!(err, RedeemError::Invalidated), "{err:?}");
    let err = s
        .redeem_pre_authorized_code(redeem("code-1", Some("tx-bad")))
        .await
        .unwrap_err();
    assert!(matches!(err, RedeemError::Invalidated), "{err:?}");
    assert_eq!(
        s.get_offer(TENANT, "o1")
            .await
            .unwrap()
            .unwrap()
            .progress
            .tx_attempts,
        3
    );
}

async fn tx_code_not_expected(db: &Db) {
    let s = &db.store;
    s.insert_offer(&offer("o1", "code-1", None)).await.unwrap();
    let err = s
        .redeem_pre_authorized_code(redeem("code-1", Some("tx-1")))
        .await
        .unwrap_err();
    assert!(matches!(err, RedeemError::TxCodeNotExpected), "{err:?}");
    // Still redeemable without one.
    s.redeem_pre_authorized_code(redeem("code-1", None))
        .await
        .unwrap();
}

async fn nonces_are_single_use(db: &Db) {
    let s = &db.store;
    let t = now();
    s.insert_nonce(TENANT, "n1", t + 60).await.unwrap();
    s.insert_nonce(TENANT, "n-old", t - 1).await.unwrap();
    assert!(!s.consume_nonce("other", "n1", t).await.unwrap());
    assert!(s.consume_nonce(TENANT, "n1", t).await.unwrap());
    assert!(!s.consume_nonce(TENANT, "n1", t).await.unwrap());
    assert!(!s.consume_nonce(TENANT, "n-old", t).await.unwrap());
    assert!(!s.consume_nonce(TENANT, "unknown", t).await.unwrap());
    // Exactly at expiry: refused.
    s.insert_nonce(TENANT, "n2", t + 10).await.unwrap();
    assert!(!s.consume_nonce(TENANT, "n2", t + 10).await.unwrap());
}

async fn spent_nonces_are_refused_the_second_time(db: &Db) {
    let s = &db.store;
    let t = now();
    assert!(s.spend_nonce(TENANT, "n1", t + 60, t).await.unwrap());
    assert!(!s.spend_nonce(TENANT, "n1", t + 60, t + 1).await.unwrap());
    // The same value in another tenant is another nonce.
    assert!(s.spend_nonce("other", "n1", t + 60, t).await.unwrap());
    // A spent nonce is kept until it expires, then purged.
    let counts = s.purge_expired(t + 61, 86_400).await.unwrap();
    assert_eq!(counts.nonces, 2, "{counts:?}");
}

/// Offer `o1` of `pid_sd_jwt` and `pid_mdoc`, its code redeemed; returns
/// the configurations.
async fn redeemed_offer_of_two_configurations(s: &Store) -> [String; 2] {
    s.insert_offer(&offer("o1", "code-1", None)).await.unwrap();
    s.redeem_pre_authorized_code(redeem("code-1", None))
        .await
        .unwrap();
    ["pid_sd_jwt".to_owned(), "pid_mdoc".to_owned()]
}

async fn complete_issuance_consumes_after_every_configuration(db: &Db) {
    let s = &db.store;
    let offered = redeemed_offer_of_two_configurations(s).await;
    let issuance = |id: &str, configuration: &str| Issuance {
        id: id.to_owned(),
        tenant: TENANT.to_owned(),
        offer_id: "o1".to_owned(),
        credential_configuration_id: configuration.to_owned(),
        format: "f".to_owned(),
        count: 1,
        created_at: now(),
    };
    let event = |label: &str| NewEvent {
        tenant: TENANT.to_owned(),
        offer_id: "o1".to_owned(),
        kind: EventKind::CredentialIssued,
        detail: json!({ "label": label }),
        created_at: now(),
    };
    assert!(
        s.complete_issuance(issuance("i1", "pid_sd_jwt"), &offered, event("e1"))
            .await
            .unwrap()
    );
    let got = s.get_offer(TENANT, "o1").await.unwrap().unwrap();
    assert_eq!(got.progress.status, OfferStatus::CredentialIssued);
    // Again for the same configuration: not a first issuance, still not consumed.
    assert!(
        !s.complete_issuance(issuance("i2", "pid_sd_jwt"), &offered, event("e2"))
            .await
            .unwrap()
    );
    let got = s.get_offer(TENANT, "o1").await.unwrap().unwrap();
    assert_eq!(got.progress.status, OfferStatus::CredentialIssued);
    assert!(
        s.complete_issuance(issuance("i3", "pid_mdoc"), &offered, event("e3"))
            .await
            .unwrap()
    );
    let got = s.get_offer(TENANT, "o1").await.unwrap().unwrap();
    assert_eq!(got.progress.status, OfferStatus::Consumed);
    assert!(got.progress.consumed_at.is_some());
    assert_eq!(s.issuances("o1").await.unwrap().len(), 2);
    let kinds = event_kinds(s, "o1").await;
    assert_eq!(kinds, ["e1", "e2", "e3"]);
}

async fn issuance_is_recorded_once(db: &Db) {
    let s = &db.store;
    s.insert_offer(&offer("o1", "code-1", None)).await.unwrap();
    let i = Issuance {
        id: "i1".to_owned(),
        tenant: TENANT.to_owned(),
        offer_id: "o1".to_owned(),
        credential_configuration_id: "pid_sd_jwt".to_owned(),
        format: "dc+sd-jwt".to_owned(),
        count: 2,
        created_at: 100,
    };
    assert!(s.record_issuance(i.clone()).await.unwrap());
    let mut dup = i.clone();
    dup.id = "i2".to_owned();
    assert!(!s.record_issuance(dup).await.unwrap());
    let mut other = i.clone();
    other.id = "i3".to_owned();
    other.credential_configuration_id = "pid_mdoc".to_owned();
    other.format = "mso_mdoc".to_owned();
    other.created_at = 101;
    assert!(s.record_issuance(other).await.unwrap());
    let all = s.issuances("o1").await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, "i1");
    assert_eq!(all[0].count, 2);
    assert_eq!(all[0].format, "dc+sd-jwt");
    assert_eq!(all[1].id, "i3");
    assert!(s.issuances("nope").await.unwrap().is_empty());
}

async fn events_oldest_first(db: &Db) {
    let s = &db.store;
    for (kind, at) in [
        (EventKind::OfferCreated, 100),
        (EventKind::OfferResolved, 100),
        (EventKind::TokenIssued, 101),
    ] {
        s.append_event(NewEvent {
            tenant: TENANT.to_owned(),
            offer_id: "o1".to_owned(),
            kind,
            detail: json!({"kind": kind.as_str()}),
            created_at: at,
        })
        .await
        .unwrap();
    }
    s.append_event(NewEvent {
        tenant: TENANT.to_owned(),
        offer_id: "o2".to_owned(),
        kind: EventKind::OfferCreated,
        detail: json!(null),
        created_at: 50,
    })
    .await
    .unwrap();
    let events = s.events("o1").await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["offer_created", "offer_resolved", "token_issued"]);
    assert_eq!(events[1].detail, json!({"kind": "offer_resolved"}));
    assert!(events[0].id < events[1].id);
    assert_eq!(s.events("o2").await.unwrap().len(), 1);
}

fn token(hash: &str, offer_id: &str, expires_at: i64) -> AccessToken {
    AccessToken {
        token_hash: hash.to_owned(),
        tenant: TENANT.to_owned(),
        offer_id: offer_id.to_owned(),
        credential_configuration_ids: vec!["pid_sd_jwt".to_owned()],
        created_at: now(),
        expires_at,
        authorization_id: None,
        dpop_jkt: None,
    }
}

async fn access_tokens_expire_and_follow_revocation(db: &Db) {
    let s = &db.store;
    let t = now();
    s.insert_offer(&offer("o1", "code-1", None)).await.unwrap();
    s.redeem_pre_authorized_code(redeem("code-1", None))
        .await
        .unwrap();
    s.insert_access_token(token("at-1", "o1", t + 300))
        .await
        .unwrap();
    let found = s.find_access_token("at-1", t).await.unwrap().unwrap();
    assert_eq!(found.offer_id, "o1");
    assert_eq!(found.credential_configuration_ids, ["pid_sd_jwt"]);
    assert!(!format!("{found:?}").contains("at-1"));
    assert!(
        s.find_access_token("at-1", t + 300)
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.find_access_token("at-x", t).await.unwrap().is_none());
    let err = s
        .insert_access_token(token("at-1", "o1", t + 300))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err:?}");

    assert!(s.revoke_offer(TENANT, "o1", t).await.unwrap());
    assert!(s.find_access_token("at-1", t).await.unwrap().is_none());
}

async fn purge_removes_expired_rows(db: &Db) {
    let s = &db.store;
    let t = now();
    let grace = 3600;
    // Expired long ago, marked so long ago, never redeemed: purged with its events.
    let mut stale = offer("stale", "code-stale", None);
    stale.expires_at = Some(t - grace - 10);
    stale.progress.status = OfferStatus::Expired;
    stale.progress.updated_at = t - grace - 5;
    s.insert_offer(&stale).await.unwrap();
    // Expired long ago, not marked yet (no purge ran since): marked now, with its
    // event, and purged a grace period later.
    let mut unmarked = offer("unmarked", "code-unmarked", None);
    unmarked.expires_at = Some(t - grace - 10);
    unmarked.progress.updated_at = t - grace - 10;
    s.insert_offer(&unmarked).await.unwrap();
    // Expired within the grace period: kept.
    let mut recent = offer("recent", "code-recent", None);
    recent.expires_at = Some(t - 10);
    s.insert_offer(&recent).await.unwrap();
    // Redeemed, then expired long ago: kept (with its token history).
    let mut used = offer("used", "code-used", None);
    used.expires_at = Some(t - grace - 10);
    s.insert_offer(&used).await.unwrap();
    let mut back_then = redeem("code-used", None);
    back_then.now = t - grace - 20;
    s.redeem_pre_authorized_code(back_then).await.unwrap();
    // Never expires: kept.
    let mut forever = offer("forever", "code-forever", None);
    forever.expires_at = None;
    s.insert_offer(&forever).await.unwrap();
    for id in ["stale", "used"] {
        s.append_event(NewEvent {
            tenant: TENANT.to_owned(),
            offer_id: id.to_owned(),
            kind: EventKind::OfferCreated,
            detail: json!({}),
            created_at: t,
        })
        .await
        .unwrap();
    }
    s.insert_nonce(TENANT, "n-old", t - 1).await.unwrap();
    s.insert_nonce(TENANT, "n-live", t + 60).await.unwrap();
    s.insert_access_token(token("at-old", "used", t - 1))
        .await
        .unwrap();
    s.insert_access_token(token("at-live", "used", t + 60))
        .await
        .unwrap();

    let counts = s.purge_expired(t, grace).await.unwrap();
    assert_eq!(counts.expired_offers, 2, "unmarked and recent: {counts:?}");
    assert_eq!(counts.nonces, 1, "{counts:?}");
    assert_eq!(counts.access_tokens, 1, "{counts:?}");
    assert_eq!(counts.offers, 1, "{counts:?}");
    assert_eq!(counts.events, 1, "{counts:?}");
    assert!(s.get_offer_by_id("stale").await.unwrap().is_none());
    assert!(s.events("stale").await.unwrap().is_empty());
    for kept in ["recent", "used", "forever", "unmarked"] {
        assert!(s.get_offer_by_id(kept).await.unwrap().is_some(), "{kept}");
    }
    assert_eq!(event_kinds(s, "unmarked").await, ["offer_expired"]);
    assert_eq!(s.events("used").await.unwrap().len(), 1);
    assert!(s.find_access_token("at-live", t).await.unwrap().is_some());
    assert!(s.consume_nonce(TENANT, "n-live", t).await.unwrap());
    // Nothing left to purge.
    let again = s.purge_expired(t, grace).await.unwrap();
    assert_eq!(again, Default::default());
    // A grace period after they were marked, both go, with their events.
    let later = s.purge_expired(t + grace, grace).await.unwrap();
    assert_eq!((later.offers, later.events), (2, 2), "{later:?}");
    for gone in ["recent", "unmarked"] {
        assert!(s.get_offer_by_id(gone).await.unwrap().is_none(), "{gone}");
    }
}

const RACERS: usize = 50;

async fn concurrent_redeem_has_one_winner(db: &Db) {
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
            store
                .redeem_pre_authorized_code(redeem("code-1", Some("tx-1")))
                .await
        });
    }
    let mut wins = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => wins += 1,
            Err(RedeemError::AlreadyUsed) => {}
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(wins, 1);
}

async fn concurrent_wrong_tx_codes_count_exactly(db: &Db) {
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
            store
                .redeem_pre_authorized_code(redeem("code-1", Some("tx-bad")))
                .await
        });
    }
    let mut remaining_seen = Vec::new();
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Err(RedeemError::WrongTxCode { remaining }) => remaining_seen.push(remaining),
            Err(RedeemError::Invalidated) => {}
            other => panic!("unexpected outcome: {other:?}"),
        }
    }
    remaining_seen.sort_unstable();
    assert_eq!(remaining_seen, [0, 1, 2]);
    let got = stores[0].get_offer(TENANT, "o1").await.unwrap().unwrap();
    assert_eq!(got.progress.tx_attempts, 3);
    assert_eq!(got.progress.status, OfferStatus::Invalidated);
}

async fn concurrent_nonce_consumed_once(db: &Db) {
    let stores = [db.store.clone(), db.second().await];
    let t = now();
    stores[0].insert_nonce(TENANT, "n1", t + 60).await.unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..RACERS {
        let store = stores[i % 2].clone();
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            store.consume_nonce(TENANT, "n1", t).await.unwrap()
        });
    }
    let mut consumed = 0;
    while let Some(result) = tasks.join_next().await {
        if result.unwrap() {
            consumed += 1;
        }
    }
    assert_eq!(consumed, 1);
}

async fn concurrent_nonce_spent_once(db: &Db) {
    let stores = [db.store.clone(), db.second().await];
    let t = now();
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..RACERS {
        let store = stores[i % 2].clone();
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            store.spend_nonce(TENANT, "n1", t + 60, t).await.unwrap()
        });
    }
    let mut spent = 0;
    while let Some(result) = tasks.join_next().await {
        if result.unwrap() {
            spent += 1;
        }
    }
    assert_eq!(spent, 1);
}

/// An offer of one configuration, so `finish_credential` takes the single-configuration path (one batch on SQLite).
fn single_offer(id: &str, code_hash: &str) -> Offer {
    let mut o = offer(id, code_hash, None);
    o.credential_configuration_ids = vec!["pid_sd_jwt".to_owned()];
    o
}

async fn concurrent_redeem_for_token_stores_one_token(db: &Db) {
    let stores = [db.store.clone(), db.second().await];
    stores[0]
        .insert_offer(&single_offer("o1", "code-1"))
        .await
        .unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..RACERS {
        let store = stores[i % 2].clone();
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            let hash = format!("token-{i}");
            let r = store
                .redeem_for_token(
                    redeem("code-1", None),
                    IssuedToken {
                        token_hash: &hash,
                        expires_at: now() + 300,
                        dpop_jkt: None,
                    },
                )
                .await;
            (hash, r)
        });
    }
    let mut winners = Vec::new();
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            (hash, Ok(rec)) => {
                assert_eq!(rec.progress.status, OfferStatus::TokenIssued);
                winners.push(hash);
            }
            (_, Err(RedeemError::AlreadyUsed)) => {}
            (_, Err(other)) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    // Exactly the winner's token exists, with its offer, and one event.
    for i in 0..RACERS {
        let hash = format!("token-{i}");
        let found = stores[0]
            .find_access_token_and_offer(&hash, now())
            .await
            .unwrap();
        assert_eq!(found.is_some(), winners.contains(&hash), "{hash}");
        if let Some((token, offer)) = found {
            assert_eq!(token.offer_id, "o1");
            assert_eq!(token.credential_configuration_ids, ["pid_sd_jwt"]);
            assert_eq!(offer.id, "o1");
            assert_eq!(offer.progress.status, OfferStatus::TokenIssued);
        }
    }
    assert_eq!(event_kinds(&stores[0], "o1").await, ["token_issued"]);
}

async fn redeem_for_token_refuses_like_redeem(db: &Db) {
    let s = &db.store;
    s.insert_offer(&offer("o1", "code-1", Some("tx-1")))
        .await
        .unwrap();
    let token = IssuedToken {
        token_hash: "t1",
        expires_at: now() + 300,
        dpop_jkt: Some("jkt-1"),
    };
    let e = s
        .redeem_for_token(redeem("code-1", None), token)
        .await
        .unwrap_err();
    assert!(matches!(e, RedeemError::TxCodeRequired), "{e:?}");
    let e = s
        .redeem_for_token(redeem("code-1", Some("tx-bad")), token)
        .await
        .unwrap_err();
    assert!(
        matches!(e, RedeemError::WrongTxCode { remaining: 2 }),
        "{e:?}"
    );
    let e = s
        .redeem_for_token(redeem("nope", None), token)
        .await
        .unwrap_err();
    assert!(matches!(e, RedeemError::UnknownCode), "{e:?}");
    assert!(s.find_access_token("t1", now()).await.unwrap().is_none());
    s.redeem_for_token(redeem("code-1", Some("tx-1")), token)
        .await
        .unwrap();
    let stored = s.find_access_token("t1", now()).await.unwrap().unwrap();
    assert_eq!(stored.dpop_jkt.as_deref(), Some("jkt-1"));
    assert_eq!(stored.authorization_id, None);
    // Revoking the offer makes its token unusable.
    s.revoke_offer(TENANT, "o1", now()).await.unwrap();
    assert!(
        s.find_access_token_and_offer("t1", now())
            .await
            .unwrap()
            .is_none()
    );
}

fn issued(id: &str, configuration: &str) -> Issuance {
    Issuance {
        id: id.to_owned(),
        tenant: TENANT.to_owned(),
        offer_id: "o1".to_owned(),
        credential_configuration_id: configuration.to_owned(),
        format: "dc+sd-jwt".to_owned(),
        count: 1,
        created_at: now(),
    }
}

fn issued_event(label: &str) -> NewEvent {
    NewEvent {
        tenant: TENANT.to_owned(),
        offer_id: "o1".to_owned(),
        kind: EventKind::CredentialIssued,
        detail: json!({ "n": 1, "label": label }),
        created_at: now(),
    }
}

async fn finish_credential_spends_nonces_once_and_records(db: &Db) {
    let s = &db.store;
    for (o, offered) in [
        (single_offer("o1", "code-1"), vec!["pid_sd_jwt".to_owned()]),
        (
            offer("o2", "code-2", None),
            vec!["pid_sd_jwt".to_owned(), "pid_mdoc".to_owned()],
        ),
    ] {
        let id = o.id.clone();
        let code = o.pre_authorized_code_hash.clone().unwrap();
        s.insert_offer(&o).await.unwrap();
        s.redeem_pre_authorized_code(redeem(&code, None))
            .await
            .unwrap();
        let mut i = issued(&format!("{id}-i1"), "pid_sd_jwt");
        i.offer_id = id.clone();
        let mut e = issued_event("credential_issued");
        e.offer_id = id.clone();
        let n = now();
        let nonces = [(format!("{id}-n1"), n + 60), (format!("{id}-n2"), n + 60)];
        let records: Vec<CredentialRecord> = ["c1", "c2"]
            .iter()
            .zip(0u64..)
            .map(|(c, index)| CredentialRecord {
                id: format!("{id}-{c}"),
                tenant: TENANT.into(),
                offer_id: id.clone(),
                credential_configuration_id: "pid_sd_jwt".into(),
                format: "dc+sd-jwt".into(),
                holder_key_thumbprint: Some(format!("jkt-{c}")),
                notification_id: format!("{id}-notify"),
                created_at: n,
                notification: None,
                status: CredentialStatus::Valid,
                // The SQLite batch and the PostgreSQL transaction write these too.
                status_entry: Some(StatusEntry { list: 1, index }),
                expires_at: Some(n + 3600),
                // One with an identifier (a JWT VC's `jti`), one without.
                identifier: (index == 0).then(|| format!("urn:uuid:{id}-{c}")),
            })
            .collect();
        assert_eq!(
            s.finish_credential(&nonces, i.clone(), &records, &offered, e.clone())
                .await
                .unwrap(),
            Finish::Recorded
        );
        let got = s.get_offer(TENANT, &id).await.unwrap().unwrap();
        let expected = if offered.len() == 1 {
            OfferStatus::Consumed
        } else {
            OfferStatus::CredentialIssued
        };
        assert_eq!(got.progress.status, expected, "{id}");
        // A replay of one of the nonces (with a fresh one beside it) changes nothing.
        i.id = format!("{id}-i2");
        let replay = [(format!("{id}-n3"), n + 60), (format!("{id}-n2"), n + 60)];
        assert_eq!(
            s.finish_credential(&replay, i, &records, &offered, e.clone())
                .await
                .unwrap(),
            Finish::NonceSpent
        );
        assert_eq!(s.issuances(&id).await.unwrap().len(), 1, "{id}");
        assert_eq!(
            s.credentials(&id).await.unwrap(),
            records,
            "the replay stored no credentials: {id}"
        );
        assert_eq!(s.events(&id).await.unwrap().len(), 1, "{id}");
        // The fresh nonce of the refused request was not spent either.
        assert!(
            s.spend_nonce(TENANT, &format!("{id}-n3"), n + 60, n)
                .await
                .unwrap()
        );
        // A notification lands on the response's credentials, once per call.
        let note = |event: &str| NotificationRecord {
            event: event.into(),
            description: Some("shown".into()),
            at: n + 5,
        };
        let mut ev = issued_event("notification_received");
        ev.offer_id = id.clone();
        assert!(
            !s.notify(&id, "unknown", note("credential_accepted"), ev.clone())
                .await
                .unwrap()
        );
        assert!(
            !s.notify(
                "other-offer",
                &format!("{id}-notify"),
                note("credential_accepted"),
                ev.clone()
            )
            .await
            .unwrap()
        );
        for event in ["credential_accepted", "credential_deleted"] {
            assert!(
                s.notify(&id, &format!("{id}-notify"), note(event), ev.clone())
                    .await
                    .unwrap()
            );
        }
        let after = s.credentials(&id).await.unwrap();
        assert!(
            after
                .iter()
                .all(|c| c.notification == Some(note("credential_deleted"))),
            "{after:?}"
        );
        assert_eq!(s.events(&id).await.unwrap().len(), 3, "{id}");
    }
}

/// `finish_credential` on an offer of two configurations (one write batch
/// on SQLite): `credential_issued` until the second configuration is
/// issued, then `consumed`; a repeat of the first changes nothing more.
async fn finish_credential_consumes_after_every_configuration(db: &Db) {
    let s = &db.store;
    let offered = redeemed_offer_of_two_configurations(s).await;
    let n = now();
    let finish = async |nonce: &str, id: &str, configuration: &str| {
        let nonces = [(nonce.to_owned(), n + 60)];
        s.finish_credential(
            &nonces,
            issued(id, configuration),
            &[],
            &offered,
            issued_event(id),
        )
        .await
        .unwrap()
    };
    for (nonce, id, configuration, status) in [
        ("n1", "i1", "pid_sd_jwt", OfferStatus::CredentialIssued),
        ("n2", "i2", "pid_sd_jwt", OfferStatus::CredentialIssued),
        ("n3", "i3", "pid_mdoc", OfferStatus::Consumed),
    ] {
        assert_eq!(finish(nonce, id, configuration).await, Finish::Recorded);
        let got = s.get_offer(TENANT, "o1").await.unwrap().unwrap();
        assert_eq!(got.progress.status, status, "after {id}");
        assert_eq!(
            got.progress.consumed_at.is_some(),
            status == OfferStatus::Consumed
        );
    }
    let configurations: Vec<String> = s
        .issuances("o1")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.credential_configuration_id)
        .collect();
    assert_eq!(configurations, ["pid_sd_jwt", "pid_mdoc"]);
    assert_eq!(event_kinds(s, "o1").await, ["i1", "i2", "i3"]);
}

/// Two requests at once, on two stores, each finishing another configuration
/// of the same offer: whichever commits last sees both issuances, so every
/// offer ends `consumed` (on PostgreSQL the offer's row is locked first).
async fn concurrent_finishes_of_every_configuration_consume(db: &Db) {
    const OFFERS: usize = 20;
    let stores = [db.store.clone(), db.second().await];
    let offered = vec!["pid_sd_jwt".to_owned(), "pid_mdoc".to_owned()];
    for k in 0..OFFERS {
        let (id, code) = (format!("o{k}"), format!("code-{k}"));
        db.store
            .insert_offer(&offer(&id, &code, None))
            .await
            .unwrap();
        db.store
            .redeem_pre_authorized_code(redeem(&code, None))
            .await
            .unwrap();
    }
    let start = Arc::new(tokio::sync::Barrier::new(2 * OFFERS));
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..OFFERS {
        for (c, configuration) in offered.iter().enumerate() {
            let (store, start) = (stores[c].clone(), start.clone());
            let offered = offered.clone();
            let mut i = issued(&format!("o{k}-{configuration}"), configuration);
            i.offer_id = format!("o{k}");
            let mut e = issued_event("credential_issued");
            e.offer_id = i.offer_id.clone();
            tasks.spawn(async move {
                let nonces = [(format!("n-{}", i.id), now() + 60)];
                start.wait().await;
                store.finish_credential(&nonces, i, &[], &offered, e).await
            });
        }
    }
    while let Some(done) = tasks.join_next().await {
        assert_eq!(done.unwrap().unwrap(), Finish::Recorded);
    }
    for k in 0..OFFERS {
        let got = db
            .store
            .get_offer(TENANT, &format!("o{k}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.progress.status, OfferStatus::Consumed, "o{k}");
        assert_eq!(db.store.issuances(&got.id).await.unwrap().len(), 2, "o{k}");
    }
}

async fn concurrent_finish_credential_with_one_nonce_records_once(db: &Db) {
    let stores = [db.store.clone(), db.second().await];
    stores[0]
        .insert_offer(&single_offer("o1", "code-1"))
        .await
        .unwrap();
    stores[0]
        .redeem_pre_authorized_code(redeem("code-1", None))
        .await
        .unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..RACERS {
        let store = stores[i % 2].clone();
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            let nonces = [("n1".to_owned(), now() + 60)];
            store
                .finish_credential(
                    &nonces,
                    issued(&format!("i{i}"), "pid_sd_jwt"),
                    &[],
                    &["pid_sd_jwt".to_owned()],
                    issued_event("credential_issued"),
                )
                .await
                .unwrap()
        });
    }
    let mut recorded = 0;
    while let Some(result) = tasks.join_next().await {
        if result.unwrap() == Finish::Recorded {
            recorded += 1;
        }
    }
    assert_eq!(recorded, 1);
    assert_eq!(stores[0].events("o1").await.unwrap().len(), 1);
}

/// An offer recorded for an external access token: already `token_issued`.
fn external_offer(id: &str) -> Offer {
    let mut o = single_offer(id, &format!("unused-{id}"));
    o.flow = Flow::AuthorizationCode;
    o.pre_authorized_code_hash = None;
    o.progress.status = OfferStatus::TokenIssued;
    o.progress.token_issued_at = Some(now());
    o.expires_at = Some(now() + 600);
    o
}

async fn concurrent_first_use_of_an_external_token_records_once(db: &Db) {
    let stores = [db.store.clone(), db.second().await];
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..RACERS {
        let store = stores[i % 2].clone();
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            let id = format!("e{i}");
            let token = AccessToken {
                token_hash: "external-token".to_owned(),
                tenant: TENANT.to_owned(),
                offer_id: id.clone(),
                credential_configuration_ids: vec!["pid_sd_jwt".to_owned()],
                created_at: now(),
                expires_at: now() + 600,
                authorization_id: None,
                dpop_jkt: Some("jkt".to_owned()),
            };
            let event = NewEvent {
                tenant: TENANT.to_owned(),
                offer_id: id.clone(),
                kind: EventKind::TokenIssued,
                detail: json!({ "grant": "external" }),
                created_at: now(),
            };
            store
                .record_external_token(&external_offer(&id), token, event, now())
                .await
                .unwrap()
                .expect("the token is found, whoever stored it")
        });
    }
    let mut offers = std::collections::BTreeSet::new();
    while let Some(result) = tasks.join_next().await {
        let (token, offer) = result.unwrap();
        assert_eq!(token.offer_id, offer.id);
        assert_eq!(token.dpop_jkt.as_deref(), Some("jkt"));
        assert_eq!(offer.status(), OfferStatus::TokenIssued);
        offers.insert(offer.id);
    }
    assert_eq!(
        offers.len(),
        1,
        "every racer reads the one winner: {offers:?}"
    );
    let winner = offers.into_iter().next().unwrap();
    assert_eq!(db.store.events(&winner).await.unwrap().len(), 1);
    let mut stored = 0;
    for i in 0..RACERS {
        if db
            .store
            .get_offer_by_id(&format!("e{i}"))
            .await
            .unwrap()
            .is_some()
        {
            stored += 1;
        }
    }
    assert_eq!(stored, 1, "the losers' offers were rolled back");
    // A revoked offer stops the token, and recording it again does not revive it.
    assert!(db.store.revoke_offer(TENANT, &winner, now()).await.unwrap());
    let again = AccessToken {
        token_hash: "external-token".to_owned(),
        tenant: TENANT.to_owned(),
        offer_id: "late".to_owned(),
        credential_configuration_ids: vec!["pid_sd_jwt".to_owned()],
        created_at: now(),
        expires_at: now() + 600,
        authorization_id: None,
        dpop_jkt: None,
    };
    let event = NewEvent {
        tenant: TENANT.to_owned(),
        offer_id: "late".to_owned(),
        kind: EventKind::TokenIssued,
        detail: json!({}),
        created_at: now(),
    };
    let found = db
        .store
        .record_external_token(&external_offer("late"), again, event, now())
        .await
        .unwrap();
    assert!(found.is_none());
    assert!(db.store.get_offer_by_id("late").await.unwrap().is_none());
}

#[tokio::test]
async fn postgres_schemas_are_isolated() {
    let (Some(a), Some(b)) = (Db::postgres().await, Db::postgres().await) else {
        return;
    };
    assert_ne!(a.url, b.url);
    a.store
        .insert_offer(&offer("o1", "code-1", None))
        .await
        .unwrap();
    assert!(a.store.get_offer_by_id("o1").await.unwrap().is_some());
    assert!(b.store.get_offer_by_id("o1").await.unwrap().is_none());
    // Reconnecting to a migrated schema applies nothing and keeps the data.
    let again = a.second().await;
    assert!(again.get_offer_by_id("o1").await.unwrap().is_some());
    a.finish().await;
    b.finish().await;
}

#[tokio::test]
async fn sqlite_creates_missing_directories_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/sigil.db");
    // No `mode=rwc`: the store still creates the file.
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.insert_nonce(TENANT, "n1", now() + 60).await.unwrap();
    assert!(path.is_file());
    // WAL mode keeps a -wal file beside the database while connections are open.
    assert!(dir.path().join("a/b/sigil.db-wal").is_file());
}

#[tokio::test]
async fn sqlite_in_memory_works() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store
        .insert_offer(&offer("o1", "code-1", None))
        .await
        .unwrap();
    store
        .redeem_pre_authorized_code(redeem("code-1", None))
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_urls_are_refused() {
    for url in [
        "mysql://localhost/db",
        "nonsense",
        "",
        "sqlite://x.db?mode=bogus",
    ] {
        let err = Store::connect(url).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidUrl(_)), "{url}: {err:?}");
    }
}

/// The kinds of an offer's events, oldest first; a test's own label
/// (`detail.label`) stands for its kind.
async fn event_kinds(s: &Store, offer_id: &str) -> Vec<String> {
    s.events(offer_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| match e.detail.get("label").and_then(|l| l.as_str()) {
            Some(label) => label.to_owned(),
            None => e.kind.as_str().to_owned(),
        })
        .collect()
}

fn event_of(offer_id: &str, kind: EventKind) -> NewEvent {
    NewEvent {
        tenant: TENANT.to_owned(),
        offer_id: offer_id.to_owned(),
        kind,
        detail: json!({}),
        created_at: now(),
    }
}

async fn create_and_resolve_offer_write_their_events(db: &Db) {
    let s = &db.store;
    let created = s
        .create_offer(
            &single_offer("o1", "code-1"),
            event_of("o1", EventKind::OfferCreated),
        )
        .await
        .unwrap();
    assert_eq!(created.status(), OfferStatus::Created);
    // The same id again: refused, and its event is not stored either.
    let again = s
        .create_offer(
            &single_offer("o1", "code-2"),
            event_of("o1", EventKind::OfferCreated),
        )
        .await;
    assert!(matches!(again, Err(StoreError::Duplicate(_))), "{again:?}");
    assert!(
        s.resolve_offer("o1", now(), event_of("o1", EventKind::OfferResolved))
            .await
            .unwrap()
    );
    // Already resolved: nothing changes, no second event.
    assert!(
        !s.resolve_offer("o1", now(), event_of("o1", EventKind::OfferResolved))
            .await
            .unwrap()
    );
    assert!(
        !s.resolve_offer("nope", now(), event_of("nope", EventKind::OfferResolved))
            .await
            .unwrap()
    );
    let kinds = event_kinds(s, "o1").await;
    assert_eq!(kinds, ["offer_created", "offer_resolved"]);
    assert_eq!(
        s.get_offer(TENANT, "o1")
            .await
            .unwrap()
            .unwrap()
            .progress
            .status,
        OfferStatus::Resolved
    );
    assert!(s.events("nope").await.unwrap().is_empty());
}

/// Many writes at once (on SQLite they share commits of the writer thread):
/// each is all-or-nothing on its own, whatever the others do.
async fn concurrent_batches_fail_alone(db: &Db) {
    const DISTINCT: usize = 40;
    let stores = [db.store.clone(), db.second().await];
    let start = Arc::new(tokio::sync::Barrier::new(DISTINCT + DISTINCT / 2));
    let mut tasks = tokio::task::JoinSet::new();
    // Ids 0..20 are created twice: one of each pair must fail, alone.
    for i in 0..DISTINCT + DISTINCT / 2 {
        let store = stores[i % 2].clone();
        let start = start.clone();
        tasks.spawn(async move {
            let id = format!("g{}", i % DISTINCT);
            start.wait().await;
            store
                .create_offer(
                    &single_offer(&id, &format!("code-{id}")),
                    event_of(&id, EventKind::OfferCreated),
                )
                .await
        });
    }
    let (mut created, mut duplicates) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::Duplicate(_)) => duplicates += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!((created, duplicates), (DISTINCT, DISTINCT / 2));
    for i in 0..DISTINCT {
        let id = format!("g{i}");
        assert!(
            db.store.get_offer(TENANT, &id).await.unwrap().is_some(),
            "{id}"
        );
        assert_eq!(db.store.events(&id).await.unwrap().len(), 1, "{id}");
    }
}

/// Under constant writes and reads the WAL starts over after checkpoints, so
/// its file stays under the 32 MiB at which the writer has it checkpointed
/// and started over itself, whatever the write rate and the scheduling (it
/// grew without end when checkpoints ran only beside the writer, and past
/// 64 MiB on a busy CI machine when they ran only on a clock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_starts_over_under_load() {
    const OFFERS: usize = 16_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sigil.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let reading = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let reader = {
        let (store, reading) = (store.clone(), reading.clone());
        tokio::spawn(async move {
            let mut reads = 0u64;
            while reading.load(std::sync::atomic::Ordering::Relaxed) {
                store.get_offer(TENANT, "w0").await.unwrap();
                reads += 1;
                tokio::task::yield_now().await;
            }
            reads
        })
    };
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..4 {
        let store = store.clone();
        writers.spawn(async move {
            for i in (w..OFFERS).step_by(4) {
                let id = format!("w{i}");
                store
                    .create_offer(
                        &single_offer(&id, &format!("code-{id}")),
                        event_of(&id, EventKind::OfferCreated),
                    )
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    reading.store(false, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.await.unwrap() > 0);
    // Each offer writes at least three pages (table, id index, code index);
    // a WAL that never starts over holds them all.
    let written = (OFFERS * 3 * 4096) as u64;
    let wal = std::fs::metadata(dir.path().join("sigil.db-wal"))
        .unwrap()
        .len();
    // 19-34 MB measured, also with three CPU hogs beside the test.
    assert!(
        wal < 48 << 20,
        "WAL file is {wal} bytes after writing at least {written}"
    );
}

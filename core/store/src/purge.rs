//! TTL cleanup of expired rows.

use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use sigil_issuer::model::{AuthorizationStatus, DeferredStatus};

use crate::entities::{
    access_token, authorization, deferred_transaction, event, event_delivery, nonce, offer,
};
use crate::{OfferStatus, Store, StoreError};

/// Nonces and access tokens deleted per statement: a backlog of millions
/// goes in many short statements, none holding its row locks long or
/// running into `database.statement_timeout_ms`.
const ROW_BATCH: u64 = 5_000;
/// Offers deleted per transaction.
const OFFER_BATCH: u64 = 500;
/// Authorizations deleted per statement.
const AUTHORIZATION_BATCH: u64 = 500;
/// How long a revoked authorization is kept (its hashes tell a replay).
const REVOKED_KEPT_SECONDS: i64 = 86_400;

/// What [`Store::purge_expired`] deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    /// Expired nonces (used or not).
    pub nonces: u64,
    /// Expired access tokens.
    pub access_tokens: u64,
    /// Offers marked `expired` (each with its `offer_expired` event) by this run.
    pub expired_offers: u64,
    /// Offers expired, and unchanged, longer than the grace period and never redeemed.
    pub offers: u64,
    /// Events of those offers.
    pub events: u64,
    /// Authorizations whose request URI, login, code and refresh token have all expired, or revoked more than a
    /// day ago.
    pub authorizations: u64,
    /// Deferred transactions past their expiry (collected or not).
    pub deferred_transactions: u64,
}

impl Store {
    /// Deletes expired rows: nonces, access tokens (but those of an offer with a deferred transaction still to be
    /// collected) and deferred transactions with `expires_at <= now`,
    /// authorizations whose request URI, login, code and refresh token have all expired (or that were revoked more
    /// than a day ago), and offers that expired at least `grace_seconds` ago and were never redeemed (no token
    /// issued), together with their events (and authorizations), unless one of their events is still to be delivered
    /// to an event endpoint (a retrying or dead delivery).
    ///
    /// First it marks the offers that expired since the last run ([`Store::expire_offers`]). An expired offer is
    /// deleted only once marked and unchanged for `grace_seconds` after, so its `offer_expired` event is recorded
    /// before and stays readable (event streams, webhooks) that long, even after the purge did not run for a while.
    ///
    /// Offers that were redeemed are kept, as are all issuance records, status lists and reserved status list indices.
    /// Safe to run on several instances at once.
    pub async fn purge_expired(
        &self,
        now: i64,
        grace_seconds: i64,
    ) -> Result<PurgeCounts, StoreError> {
        let mut counts = PurgeCounts {
            expired_offers: self.expire_offers(now).await?,
            nonces: self.purge_nonces(now).await?,
            access_tokens: self.purge_access_tokens(now).await?,
            authorizations: self.purge_authorizations(now).await?,
            deferred_transactions: deferred_transaction::Entity::delete_many()
                .filter(deferred_transaction::Column::ExpiresAt.lte(now))
                .exec(&self.db)
                .await?
                .rows_affected,
            ..PurgeCounts::default()
        };
        let cutoff = now.saturating_sub(Ord::max(grace_seconds, 0));
        // An offer with an event still to deliver (retrying or dead) is
        // kept with its events until the delivery is settled (ADR 0021).
        let stale = || {
            Condition::all()
                .add(offer::Column::ExpiresAt.is_not_null())
                .add(offer::Column::ExpiresAt.lte(cutoff))
                .add(offer::Column::TokenIssuedAt.is_null())
                .add(offer::Column::UpdatedAt.lte(cutoff))
                // Not marked `expired` yet (so without its event): kept until it is.
                .add(offer::Column::Status.is_not_in([
                    OfferStatus::Created.as_str(),
                    OfferStatus::Resolved.as_str(),
                ]))
                .add(
                    offer::Column::Id.not_in_subquery(
                        Query::select()
                            .column(event_delivery::Column::OfferId)
                            .from(event_delivery::Entity)
                            .to_owned(),
                    ),
                )
        };
        loop {
            let ids: Vec<String> = offer::Entity::find()
                .select_only()
                .column(offer::Column::Id)
                .filter(stale())
                .limit(OFFER_BATCH)
                .into_tuple()
                .all(&self.db)
                .await?;
            if ids.is_empty() {
                break;
            }
            let txn = self.db.begin().await?;
            // Re-check the condition: an offer redeemed since the select stays.
            let deleted = offer::Entity::delete_many()
                .filter(offer::Column::Id.is_in(ids))
                .filter(stale())
                .exec_with_returning(&txn)
                .await?;
            let deleted_ids: Vec<String> = deleted.into_iter().map(|m| m.id).collect();
            let events = if deleted_ids.is_empty() {
                0
            } else {
                event::Entity::delete_many()
                    .filter(event::Column::OfferId.is_in(deleted_ids.iter().map(String::as_str)))
                    .exec(&txn)
                    .await?
                    .rows_affected
            };
            txn.commit().await?;
            if deleted_ids.is_empty() {
                // Everything selected was redeemed meanwhile; the next select would find the same nothing.
                break;
            }
            counts.offers += u64::try_from(deleted_ids.len()).unwrap_or(u64::MAX);
            counts.events += events;
        }
        Ok(counts)
    }
}

/// Runs `batch` (a delete of at most [`ROW_BATCH`] rows) until it deletes
/// fewer; returns the rows deleted in all.
async fn in_batches<F, Fut>(mut batch: F) -> Result<u64, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let mut total = 0;
    loop {
        let deleted = batch().await?;
        total += deleted;
        if deleted < ROW_BATCH {
            return Ok(total);
        }
    }
}

/// The `column` (not null) of the deferred transactions a wallet may still
/// collect at `now`: pending or ready, unexpired.
fn live_deferred(now: i64, column: deferred_transaction::Column) -> SelectStatement {
    use deferred_transaction::Column as D;
    Query::select()
        .column(column)
        .from(deferred_transaction::Entity)
        .and_where(column.is_not_null())
        .and_where(D::ExpiresAt.gt(now))
        .and_where(D::Status.is_in([
            DeferredStatus::Pending.as_str(),
            DeferredStatus::Ready.as_str(),
        ]))
        .to_owned()
}

impl Store {
    /// Deletes expired nonces, [`ROW_BATCH`] per statement; returns how many.
    async fn purge_nonces(&self, now: i64) -> Result<u64, StoreError> {
        use nonce::Column as N;
        let key = || Expr::tuple([Expr::col(N::Value), Expr::col(N::Tenant)]);
        in_batches(|| async {
            let batch = Query::select()
                .columns([N::Value, N::Tenant])
                .from(nonce::Entity)
                .and_where(N::ExpiresAt.lte(now))
                .limit(ROW_BATCH)
                .to_owned();
            Ok(nonce::Entity::delete_many()
                .filter(key().in_subquery(batch))
                .exec(&self.db)
                .await?
                .rows_affected)
        })
        .await
    }

    /// Deletes expired access tokens, [`ROW_BATCH`] per statement; returns
    /// how many. The token of a live deferred transaction is kept: the
    /// wallet polls with it long after it expired (ADR 0019).
    async fn purge_access_tokens(&self, now: i64) -> Result<u64, StoreError> {
        use access_token::Column as T;
        in_batches(|| async {
            let batch = Query::select()
                .column(T::TokenHash)
                .from(access_token::Entity)
                .and_where(T::ExpiresAt.lte(now))
                .and_where(
                    T::OfferId
                        .not_in_subquery(live_deferred(now, deferred_transaction::Column::OfferId)),
                )
                .limit(ROW_BATCH)
                .to_owned();
            Ok(access_token::Entity::delete_many()
                .filter(T::TokenHash.in_subquery(batch))
                .exec(&self.db)
                .await?
                .rows_affected)
        })
        .await
    }

    /// Deletes spent authorizations, [`AUTHORIZATION_BATCH`] per statement; returns how many.
    async fn purge_authorizations(&self, now: i64) -> Result<u64, StoreError> {
        use authorization::Column as A;
        let expired = |c: A| Condition::any().add(c.is_null()).add(c.lte(now));
        let spent = || {
            Condition::any()
                .add(
                    Condition::all()
                        .add(A::RequestExpiresAt.lte(now))
                        .add(expired(A::LoginExpiresAt))
                        .add(expired(A::CodeExpiresAt))
                        .add(expired(A::RefreshExpiresAt)),
                )
                .add(
                    Condition::all()
                        .add(A::Status.eq(AuthorizationStatus::Revoked.as_str()))
                        .add(A::UpdatedAt.lte(now.saturating_sub(REVOKED_KEPT_SECONDS))),
                )
        };
        // The login of a live deferred transaction is kept: a poll gives its
        // ID-token claims to the claim source again.
        let spent = || {
            Condition::all()
                .add(spent())
                .add(A::Id.not_in_subquery(live_deferred(
                    now,
                    deferred_transaction::Column::AuthorizationId,
                )))
        };
        let mut total = 0;
        loop {
            let ids: Vec<String> = authorization::Entity::find()
                .select_only()
                .column(A::Id)
                .filter(spent())
                .limit(AUTHORIZATION_BATCH)
                .into_tuple()
                .all(&self.db)
                .await?;
            if ids.is_empty() {
                return Ok(total);
            }
            // Re-check the condition: one changed since the select stays.
            let deleted = authorization::Entity::delete_many()
                .filter(A::Id.is_in(ids))
                .filter(spent())
                .exec(&self.db)
                .await?
                .rows_affected;
            if deleted == 0 {
                return Ok(total);
            }
            total += deleted;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sea_orm::{EntityTrait, PaginatorTrait};

    use super::*;

    /// A backlog of expired nonces larger than two batches goes entirely,
    /// in bounded statements; live ones stay.
    async fn a_backlog_goes_in_batches(store: &Store) {
        let backlog = 2 * ROW_BATCH + 1;
        let rows: Vec<nonce::Model> = (0..backlog + 3)
            .map(|n| nonce::Model {
                value: format!("n-{n}"),
                tenant: "t".to_owned(),
                // The last three are still live at 1000.
                expires_at: if n < backlog { 900 } else { 2000 },
                used_at: Some(800),
            })
            .collect();
        for chunk in rows.chunks(1000) {
            nonce::Entity::insert_many(
                chunk
                    .iter()
                    .cloned()
                    .map(sea_orm::IntoActiveModel::into_active_model),
            )
            .exec_without_returning(&store.db)
            .await
            .unwrap();
        }
        assert_eq!(store.purge_nonces(1000).await.unwrap(), backlog);
        assert_eq!(nonce::Entity::find().count(&store.db).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn expired_nonces_are_purged_in_batches_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/p.db?mode=rwc", dir.path().display());
        a_backlog_goes_in_batches(&Store::connect(&url).await.unwrap()).await;
    }

    #[tokio::test]
    async fn expired_nonces_are_purged_in_batches_on_postgres() {
        let Some(url) = crate::testing::fresh_postgres_url().await else {
            return;
        };
        a_backlog_goes_in_batches(&Store::connect(&url).await.unwrap()).await;
        crate::testing::drop_postgres_schema(&url).await.unwrap();
    }
}

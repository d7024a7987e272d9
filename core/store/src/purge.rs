//! TTL cleanup of expired rows.

use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use sigil_issuer::model::{AuthorizationStatus, DeferredStatus};

use crate::entities::{
    access_token, authorization, deferred_transaction, event, event_delivery, nonce, offer,
};
use crate::{OfferStatus, Store, StoreError};

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
            nonces: nonce::Entity::delete_many()
                .filter(nonce::Column::ExpiresAt.lte(now))
                .exec(&self.db)
                .await?
                .rows_affected,
            // The access token of a live deferred transaction is kept: the
            // wallet polls with it long after it expired (ADR 0019).
            access_tokens: access_token::Entity::delete_many()
                .filter(access_token::Column::ExpiresAt.lte(now))
                .filter(
                    access_token::Column::OfferId
                        .not_in_subquery(live_deferred(now, deferred_transaction::Column::OfferId)),
                )
                .exec(&self.db)
                .await?
                .rows_affected,
            authorizations: self.purge_authorizations(now).await?,
            deferred_transactions: deferred_transaction::Entity::delete_many()
                .filter(deferred_transaction::Column::ExpiresAt.lte(now))
                .exec(&self.db)
                .await?
                .rows_affected,
            ..PurgeCounts::default()
        };
        let cutoff = now.saturating_sub(grace_seconds.max(0));
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

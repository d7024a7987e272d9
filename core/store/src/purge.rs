//! TTL cleanup of expired rows.

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};

use crate::entities::{access_token, event, nonce, offer};
use crate::{Store, StoreError};

/// Offers deleted per transaction.
const OFFER_BATCH: u64 = 500;

/// What [`Store::purge_expired`] deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    /// Expired nonces (used or not).
    pub nonces: u64,
    /// Expired access tokens.
    pub access_tokens: u64,
    /// Offers expired longer than the grace period and never redeemed.
    pub offers: u64,
    /// Events of those offers.
    pub events: u64,
}

impl Store {
    /// Deletes expired rows: nonces and access tokens with `expires_at <= now`, and offers that expired at least
    /// `grace_seconds` ago and were never redeemed (no token issued), together with their events.
    ///
    /// Offers that were redeemed are kept, as are all issuance records. Safe to run on several instances at once.
    pub async fn purge_expired(
        &self,
        now: i64,
        grace_seconds: i64,
    ) -> Result<PurgeCounts, StoreError> {
        let mut counts = PurgeCounts {
            nonces: nonce::Entity::delete_many()
                .filter(nonce::Column::ExpiresAt.lte(now))
                .exec(&self.db)
                .await?
                .rows_affected,
            access_tokens: access_token::Entity::delete_many()
                .filter(access_token::Column::ExpiresAt.lte(now))
                .exec(&self.db)
                .await?
                .rows_affected,
            ..PurgeCounts::default()
        };
        let cutoff = now.saturating_sub(grace_seconds.max(0));
        let stale = || {
            Condition::all()
                .add(offer::Column::ExpiresAt.is_not_null())
                .add(offer::Column::ExpiresAt.lte(cutoff))
                .add(offer::Column::TokenIssuedAt.is_null())
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

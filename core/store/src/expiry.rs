//! Offer expiry: an offer still `created` or `resolved` once its `expires_at` has passed becomes `expired`, once,
//! with its `offer_expired` event.
//!
//! Reads already report such an offer as [`OfferStatus::Expired`] (`offer_record`); this stores that status so that
//! a conditional `UPDATE` can decide, across every instance sharing the database, which call records the event.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};

use crate::entities::offer;
use crate::events::insert_event;
use crate::{NewEvent, OfferStatus, Store, StoreError};

/// Offers marked per transaction.
const EXPIRY_BATCH: u64 = 200;

/// Column filter: the offer is still `created` or `resolved` and its expiry is at or before `now`. The status test
/// is the literal of the partial index `ix_offers_live_expires_at` (migration `m20261207_000010_offer_expiry`).
pub(crate) fn expiring(now: i64) -> Condition {
    Condition::all()
        .add(Expr::cust("status IN ('created', 'resolved')"))
        .add(offer::Column::ExpiresAt.is_not_null())
        .add(offer::Column::ExpiresAt.lte(now))
}

impl Store {
    /// Marks every offer still `created` or `resolved` whose `expires_at` is at or before `now` as `expired` and
    /// records its `offer_expired` event ([`NewEvent::offer_expired`], at `now`) in the same transaction. Returns
    /// how many offers it marked.
    ///
    /// Each offer is marked, and its event recorded, exactly once, whatever the number of instances running this at
    /// the same time: the conditional `UPDATE` re-checks the status, and only the rows it changed get an event. An
    /// offer redeemed, revoked or invalidated before its expiry is never marked (it is not `created` or `resolved`).
    pub async fn expire_offers(&self, now: i64) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let ids: Vec<String> = offer::Entity::find()
                .select_only()
                .column(offer::Column::Id)
                .filter(expiring(now))
                .limit(EXPIRY_BATCH)
                .into_tuple()
                .all(&self.db)
                .await?;
            if ids.is_empty() {
                return Ok(total);
            }
            let txn = self.db.begin().await?;
            let marked = offer::Entity::update_many()
                .col_expr(
                    offer::Column::Status,
                    Expr::value(OfferStatus::Expired.as_str()),
                )
                .col_expr(offer::Column::UpdatedAt, Expr::value(now))
                .filter(offer::Column::Id.is_in(ids))
                .filter(expiring(now))
                .exec_with_returning(&txn)
                .await?;
            for m in &marked {
                let expires_at = m.expires_at.unwrap_or(now);
                insert_event(
                    &txn,
                    NewEvent::offer_expired(&m.tenant, &m.id, expires_at, now),
                )
                .await?;
            }
            txn.commit().await?;
            if marked.is_empty() {
                // Another instance marked everything selected; it goes on with the rest.
                return Ok(total);
            }
            total += u64::try_from(marked.len()).unwrap_or(u64::MAX);
        }
    }
}

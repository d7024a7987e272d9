//! Webhook delivery bookkeeping (ADR 0021): each event endpoint's cursor in
//! the event log (position and lease) and its pending deliveries, as the
//! issuer's [`DeliveryStore`] port, plus the operator's views of them.
//!
//! The lease follows the store's rule: one conditional `UPDATE` of the
//! endpoint's cursor row, whose affected rows decide, so instances sharing a
//! database agree on one holder. Every write of the engine is fenced on the
//! holder: it starts with an `UPDATE … WHERE holder = ?` of the cursor row in
//! the transaction that does the write, and changes nothing when that
//! matches no row. On PostgreSQL that update also locks the cursor row until
//! commit, so a takeover waits for a write in flight and then sees it.
//!
//! Delivery writes are a few per endpoint and second at most, so on a SQLite
//! file they are plain transactions on the pool, not batches of the
//! group-commit writer (ADR 0010). As elsewhere in the store, each
//! transaction's first statement is a write, so SQLite takes the write lock
//! at once, waiting in its busy handler, rather than failing with
//! `SQLITE_BUSY` when a read snapshot would have to be upgraded.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, FromQueryResult,
    JoinType, QueryFilter, QueryOrder, QuerySelect, RelationDef, TransactionTrait,
};
use sigil_issuer::delivery::{DeliveryState, DeliveryStore, EndpointProgress, PendingDelivery};
use sigil_issuer::ports::StoreFailure;

use crate::entities::{event, event_cursor, event_delivery, offer};
use crate::events::record;
use crate::{EventRecord, Store, StoreError};

/// Pending deliveries inserted per statement (9 bound values each: far
/// below both backends' limits on bound values).
const INSERT_CHUNK: usize = 500;

impl DeliveryStore for Store {
    async fn lease_endpoint(
        &self,
        endpoint: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
        start: i64,
    ) -> Result<Option<i64>, StoreFailure> {
        Ok(self
            .lease(endpoint, holder, now_ms, until_ms, start)
            .await?)
    }

    async fn release_endpoint(&self, endpoint: &str, holder: &str) -> Result<(), StoreFailure> {
        Ok(self.release(endpoint, holder).await?)
    }

    async fn last_event_id(&self) -> Result<i64, StoreFailure> {
        Ok(Store::last_event_id(self).await?)
    }

    async fn events_to_deliver(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<(EventRecord, Option<String>)>, StoreFailure> {
        Ok(self.events_with_endpoint(after, limit).await?)
    }

    async fn advance_endpoint(
        &self,
        endpoint: &str,
        holder: &str,
        position: i64,
        pending: &[PendingDelivery],
    ) -> Result<bool, StoreFailure> {
        Ok(self.advance(endpoint, holder, position, pending).await?)
    }

    async fn pending_deliveries(
        &self,
        endpoint: &str,
        limit: u64,
    ) -> Result<Vec<(PendingDelivery, EventRecord)>, StoreFailure> {
        let rows = self
            .deliveries(endpoint, DeliveryState::Retrying, None, 0, limit)
            .await?;
        Ok(rows)
    }

    async fn settle_delivery(
        &self,
        endpoint: &str,
        holder: &str,
        event_id: i64,
        update: Option<&PendingDelivery>,
    ) -> Result<bool, StoreFailure> {
        Ok(self.settle(endpoint, holder, event_id, update).await?)
    }
}

impl Store {
    /// Every event endpoint's position and lease, by endpoint id, with the
    /// number of its deliveries being retried and of its dead letters.
    pub async fn delivery_progress(&self) -> Result<Vec<EndpointProgress>, StoreError> {
        use event_delivery::Column as D;
        let cursors = event_cursor::Entity::find()
            .order_by_asc(event_cursor::Column::EndpointId)
            .all(&self.db)
            .await?;
        let counts: Vec<(String, String, i64)> = event_delivery::Entity::find()
            .select_only()
            .column(D::EndpointId)
            .column(D::State)
            .column_as(D::EventId.count(), "n")
            .group_by(D::EndpointId)
            .group_by(D::State)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut by_endpoint: HashMap<String, (u64, u64)> = HashMap::new();
        for (endpoint, state, n) in counts {
            let n = u64::try_from(n).unwrap_or(0);
            let entry = by_endpoint.entry(endpoint).or_default();
            match DeliveryState::parse(&state) {
                Some(DeliveryState::Retrying) => entry.0 += n,
                Some(DeliveryState::Dead) => entry.1 += n,
                None => return Err(StoreError::Corrupt(format!("delivery state {state:?}"))),
            }
        }
        Ok(cursors
            .into_iter()
            .map(|c| {
                let (retrying, dead) = by_endpoint.get(&c.endpoint_id).copied().unwrap_or((0, 0));
                EndpointProgress {
                    endpoint_id: c.endpoint_id,
                    position: c.position,
                    holder: c.holder,
                    lease_until_ms: c.lease_until_ms,
                    retrying,
                    dead,
                }
            })
            .collect())
    }

    /// Up to `limit` of `endpoint`'s dead letters with an event id above
    /// `after_event_id`, by event id, each with its event (a dead letter
    /// whose event is gone is left out); only `tenant`'s when given.
    pub async fn dead_letters(
        &self,
        endpoint: &str,
        tenant: Option<&str>,
        after_event_id: i64,
        limit: u64,
    ) -> Result<Vec<(PendingDelivery, EventRecord)>, StoreError> {
        self.deliveries(endpoint, DeliveryState::Dead, tenant, after_event_id, limit)
            .await
    }

    /// Gives `endpoint`'s dead letter of `event_id` (of `tenant`, when
    /// given) back to the delivery engine: it becomes retrying, with no
    /// attempts, due at once, its retry horizon counted from `now` (Unix
    /// seconds); its last error is kept. `false` when there is no such dead
    /// letter.
    pub async fn redeliver(
        &self,
        endpoint: &str,
        event_id: i64,
        tenant: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        use event_delivery::Column as D;
        let mut update = event_delivery::Entity::update_many()
            .col_expr(D::State, Expr::value(DeliveryState::Retrying.as_str()))
            .col_expr(D::Attempts, Expr::value(0_i32))
            .col_expr(D::NextAttemptMs, Expr::value(0_i64))
            .col_expr(D::Since, Expr::value(now))
            .filter(D::EndpointId.eq(endpoint))
            .filter(D::EventId.eq(event_id))
            .filter(D::State.eq(DeliveryState::Dead.as_str()));
        if let Some(tenant) = tenant {
            update = update.filter(D::Tenant.eq(tenant));
        }
        Ok(update.exec(&self.db).await?.rows_affected == 1)
    }

    /// Drop the dead letter of `event_id` at `endpoint` for good (of
    /// `tenant` only, when given): the operator gave up on it, and its
    /// offer may be purged again. `false` when there is no such dead letter.
    pub async fn discard_dead_letter(
        &self,
        endpoint: &str,
        event_id: i64,
        tenant: Option<&str>,
    ) -> Result<bool, StoreError> {
        use event_delivery::Column as D;
        let mut delete = event_delivery::Entity::delete_many()
            .filter(D::EndpointId.eq(endpoint))
            .filter(D::EventId.eq(event_id))
            .filter(D::State.eq(DeliveryState::Dead.as_str()));
        if let Some(tenant) = tenant {
            delete = delete.filter(D::Tenant.eq(tenant));
        }
        Ok(delete.exec(&self.db).await?.rows_affected == 1)
    }

    /// [`DeliveryStore::lease_endpoint`]: the cursor is inserted if absent,
    /// then one conditional update takes or renews the lease and returns the
    /// position (no row: another instance holds it).
    async fn lease(
        &self,
        endpoint: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
        start: i64,
    ) -> Result<Option<i64>, StoreError> {
        use event_cursor::Column as C;
        let cursor = event_cursor::ActiveModel {
            endpoint_id: ActiveValue::Set(endpoint.to_owned()),
            position: ActiveValue::Set(start),
            holder: ActiveValue::Set(None),
            lease_until_ms: ActiveValue::Set(0),
        };
        event_cursor::Entity::insert(cursor)
            .on_conflict_do_nothing_on([C::EndpointId])
            .exec_without_returning(&self.db)
            .await?;
        let taken = event_cursor::Entity::update_many()
            .col_expr(C::Holder, Expr::value(holder))
            .col_expr(C::LeaseUntilMs, Expr::value(until_ms))
            .filter(C::EndpointId.eq(endpoint))
            .filter(
                Condition::any()
                    .add(C::Holder.is_null())
                    .add(C::Holder.eq(holder))
                    .add(C::LeaseUntilMs.lte(now_ms)),
            )
            .exec_with_returning(&self.db)
            .await?;
        Ok(taken.into_iter().next().map(|c| c.position))
    }

    /// [`DeliveryStore::release_endpoint`].
    async fn release(&self, endpoint: &str, holder: &str) -> Result<(), StoreError> {
        use event_cursor::Column as C;
        event_cursor::Entity::update_many()
            .col_expr(C::Holder, Expr::value(Option::<String>::None))
            .col_expr(C::LeaseUntilMs, Expr::value(0_i64))
            .filter(C::EndpointId.eq(endpoint))
            .filter(C::Holder.eq(holder))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// [`DeliveryStore::events_to_deliver`]: the events left-joined with
    /// their offers' endpoint.
    async fn events_with_endpoint(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<(EventRecord, Option<String>)>, StoreError> {
        let to_offer: RelationDef = event::Entity::belongs_to(offer::Entity)
            .from(event::Column::OfferId)
            .to(offer::Column::Id)
            .into();
        let rows = event::Entity::find()
            .join(JoinType::LeftJoin, to_offer)
            .column_as(offer::Column::WebhookEndpointId, "webhook_endpoint_id")
            .filter(event::Column::Id.gt(after))
            .order_by_asc(event::Column::Id)
            .limit(limit)
            .into_model::<EventWithEndpoint>()
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| {
                let endpoint = r.webhook_endpoint_id;
                let event = record(event::Model {
                    id: r.id,
                    tenant: r.tenant,
                    offer_id: r.offer_id,
                    kind: r.kind,
                    detail: r.detail,
                    created_at: r.created_at,
                })?;
                Ok((event, endpoint))
            })
            .collect()
    }

    /// [`DeliveryStore::advance_endpoint`].
    async fn advance(
        &self,
        endpoint: &str,
        holder: &str,
        position: i64,
        pending: &[PendingDelivery],
    ) -> Result<bool, StoreError> {
        use event_cursor::Column as C;
        let txn = self.db.begin().await?;
        let moved = event_cursor::Entity::update_many()
            .col_expr(C::Position, Expr::value(position))
            .filter(C::EndpointId.eq(endpoint))
            .filter(C::Holder.eq(holder))
            .exec(&txn)
            .await?
            .rows_affected;
        if moved == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        for chunk in pending.chunks(INSERT_CHUNK) {
            event_delivery::Entity::insert_many(chunk.iter().map(row))
                .on_conflict_do_nothing()
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    /// [`DeliveryStore::settle_delivery`].
    async fn settle(
        &self,
        endpoint: &str,
        holder: &str,
        event_id: i64,
        update: Option<&PendingDelivery>,
    ) -> Result<bool, StoreError> {
        use event_delivery::Column as D;
        let Some(txn) = self.fence(endpoint, holder).await? else {
            return Ok(false);
        };
        let this = || {
            Condition::all()
                .add(D::EndpointId.eq(endpoint))
                .add(D::EventId.eq(event_id))
        };
        // A row that is not there (settled before) changes nothing.
        match update {
            None => {
                event_delivery::Entity::delete_many()
                    .filter(this())
                    .exec(&txn)
                    .await?;
            }
            Some(u) => {
                event_delivery::Entity::update_many()
                    .col_expr(D::Attempts, Expr::value(attempts(u.attempts)))
                    .col_expr(D::NextAttemptMs, Expr::value(u.next_attempt_ms))
                    .col_expr(D::LastError, Expr::value(u.last_error.clone()))
                    .col_expr(D::State, Expr::value(u.state.as_str()))
                    .filter(this())
                    .exec(&txn)
                    .await?;
            }
        }
        txn.commit().await?;
        Ok(true)
    }

    /// A transaction whose first statement checks that `holder` holds
    /// `endpoint`'s lease (an update that changes nothing: it takes SQLite's
    /// write lock, and PostgreSQL's lock of the cursor row until commit);
    /// `None`, rolled back, when it does not.
    async fn fence(
        &self,
        endpoint: &str,
        holder: &str,
    ) -> Result<Option<DatabaseTransaction>, StoreError> {
        use event_cursor::Column as C;
        let txn = self.db.begin().await?;
        let held = event_cursor::Entity::update_many()
            .col_expr(C::Holder, Expr::col(C::Holder))
            .filter(C::EndpointId.eq(endpoint))
            .filter(C::Holder.eq(holder))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if held {
            Ok(Some(txn))
        } else {
            txn.rollback().await?;
            Ok(None)
        }
    }

    /// Up to `limit` of `endpoint`'s deliveries in `state` with an event id
    /// above `after`, of `tenant` when given, by event id, each with its
    /// event (inner join: rows whose event is gone are left out).
    async fn deliveries(
        &self,
        endpoint: &str,
        state: DeliveryState,
        tenant: Option<&str>,
        after: i64,
        limit: u64,
    ) -> Result<Vec<(PendingDelivery, EventRecord)>, StoreError> {
        use event_delivery::Column as D;
        let to_event: RelationDef = event_delivery::Entity::belongs_to(event::Entity)
            .from(D::EventId)
            .to(event::Column::Id)
            .into();
        let mut query = event_delivery::Entity::find()
            .select_also(event::Entity)
            .join(JoinType::InnerJoin, to_event)
            .filter(D::EndpointId.eq(endpoint))
            .filter(D::State.eq(state.as_str()))
            .filter(D::EventId.gt(after));
        if let Some(tenant) = tenant {
            query = query.filter(D::Tenant.eq(tenant));
        }
        let rows = query
            .order_by_asc(D::EventId)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .filter_map(|(d, e)| e.map(|e| (d, e)))
            .map(|(d, e)| Ok((pending(d)?, record(e)?)))
            .collect()
    }
}

/// An event with the endpoint of its offer (the left join's row).
#[derive(FromQueryResult)]
struct EventWithEndpoint {
    id: i64,
    tenant: String,
    offer_id: String,
    kind: String,
    detail: serde_json::Value,
    created_at: i64,
    webhook_endpoint_id: Option<String>,
}

/// The stored attempts (saturating: the engine gives up long before).
fn attempts(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The row of a pending delivery.
fn row(p: &PendingDelivery) -> event_delivery::ActiveModel {
    event_delivery::ActiveModel {
        endpoint_id: ActiveValue::Set(p.endpoint_id.clone()),
        event_id: ActiveValue::Set(p.event_id),
        offer_id: ActiveValue::Set(p.offer_id.clone()),
        tenant: ActiveValue::Set(p.tenant.clone()),
        state: ActiveValue::Set(p.state.as_str().to_owned()),
        attempts: ActiveValue::Set(attempts(p.attempts)),
        next_attempt_ms: ActiveValue::Set(p.next_attempt_ms),
        since: ActiveValue::Set(p.since),
        last_error: ActiveValue::Set(p.last_error.clone()),
    }
}

/// The pending delivery of a row.
fn pending(m: event_delivery::Model) -> Result<PendingDelivery, StoreError> {
    Ok(PendingDelivery {
        state: DeliveryState::parse(&m.state)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery state {:?}", m.state)))?,
        attempts: u32::try_from(m.attempts)
            .map_err(|_| StoreError::Corrupt(format!("delivery attempts {}", m.attempts)))?,
        endpoint_id: m.endpoint_id,
        event_id: m.event_id,
        offer_id: m.offer_id,
        tenant: m.tenant,
        next_attempt_ms: m.next_attempt_ms,
        since: m.since,
        last_error: m.last_error,
    })
}

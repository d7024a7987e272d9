//! The event log of each offer.

use sea_orm::{
    ActiveValue, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::entities::event;
use crate::{EventKind, EventRecord, NewEvent, Store, StoreError};

/// Appends an event on `db` (a connection or a transaction).
pub(crate) async fn insert_event<C: ConnectionTrait>(
    db: &C,
    e: NewEvent,
) -> Result<(), StoreError> {
    event_statement(e).exec_without_returning(db).await?;
    Ok(())
}

/// Appends `e`, if given, on `db`, unless it names no offer (an authorization
/// not bound to an offer yet has no log to write to).
pub(crate) async fn insert_offer_event<C: ConnectionTrait>(
    db: &C,
    e: Option<NewEvent>,
) -> Result<(), StoreError> {
    match e {
        Some(e) if !e.offer_id.is_empty() => insert_event(db, e).await,
        _ => Ok(()),
    }
}

/// The insert behind [`insert_event`].
pub(crate) fn event_statement(e: NewEvent) -> sea_orm::Insert<event::ActiveModel> {
    let row = event::ActiveModel {
        id: ActiveValue::NotSet,
        tenant: ActiveValue::Set(e.tenant),
        offer_id: ActiveValue::Set(e.offer_id),
        kind: ActiveValue::Set(e.kind.as_str().to_owned()),
        detail: ActiveValue::Set(e.detail),
        created_at: ActiveValue::Set(e.created_at),
    };
    event::Entity::insert(row)
}

impl Store {
    /// Appends an event.
    #[tracing::instrument(name = "store.append_event", skip_all, fields(tenant = %e.tenant, offer = %e.offer_id, kind = e.kind.as_str()))]
    pub async fn append_event(&self, e: NewEvent) -> Result<(), StoreError> {
        insert_event(&self.db, e).await
    }

    /// The events of an offer, oldest first (by time, then insertion order).
    #[tracing::instrument(name = "store.events", skip_all, fields(offer = offer_id))]
    pub async fn events(&self, offer_id: &str) -> Result<Vec<EventRecord>, StoreError> {
        let rows = event::Entity::find()
            .filter(event::Column::OfferId.eq(offer_id))
            .order_by_asc(event::Column::CreatedAt)
            .order_by_asc(event::Column::Id)
            .all(&self.db)
            .await?;
        rows.into_iter().map(record).collect()
    }

    /// Up to `limit` events with an id above `after`, of every offer and
    /// tenant, by id: what an event stream reads next.
    pub async fn events_after(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let rows = event::Entity::find()
            .filter(event::Column::Id.gt(after))
            .order_by_asc(event::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter().map(record).collect()
    }

    /// The highest event id (0 when there are none).
    pub async fn last_event_id(&self) -> Result<i64, StoreError> {
        let last: Option<i64> = event::Entity::find()
            .select_only()
            .column_as(event::Column::Id.max(), "last")
            .into_tuple()
            .one(&self.db)
            .await?
            .flatten();
        Ok(last.unwrap_or(0))
    }
}

/// The event of a row.
pub(crate) fn record(m: event::Model) -> Result<EventRecord, StoreError> {
    Ok(EventRecord {
        kind: EventKind::parse(&m.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("event kind {:?}", m.kind)))?,
        id: m.id,
        tenant: m.tenant,
        offer_id: m.offer_id,
        detail: m.detail,
        created_at: m.created_at,
    })
}

//! Issued credentials (one row each, never their claims) and the wallet's
//! notifications about them (OID4VCI §11).

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use sigil_issuer::model::{CredentialFilter, CredentialStatus, StatusEntry};

use crate::entities::credential;
use crate::events::insert_event;
use crate::{CredentialRecord, NewEvent, NotificationRecord, Store, StoreError};

/// The insert of the credentials of one response (`None` when there are none).
pub(crate) fn credentials_statement(
    records: &[CredentialRecord],
) -> Option<sea_orm::InsertMany<credential::ActiveModel>> {
    if records.is_empty() {
        return None;
    }
    Some(credential::Entity::insert_many(records.iter().map(|r| {
        credential::Model {
            id: r.id.clone(),
            tenant: r.tenant.clone(),
            offer_id: r.offer_id.clone(),
            credential_configuration_id: r.credential_configuration_id.clone(),
            format: r.format.clone(),
            holder_key_thumbprint: r.holder_key_thumbprint.clone(),
            notification_id: r.notification_id.clone(),
            notification_event: r.notification.as_ref().map(|n| n.event.clone()),
            notification_description: r.notification.as_ref().and_then(|n| n.description.clone()),
            notified_at: r.notification.as_ref().map(|n| n.at),
            created_at: r.created_at,
            status: r.status.as_str().to_owned(),
            status_list: r.status_entry.map(|e| list_number(e.list)),
            status_idx: r.status_entry.map(|e| index_value(e.index)),
            expires_at: r.expires_at,
            identifier: r.identifier.clone(),
        }
        .into_active_model()
    })))
}

/// Inserts the credentials of one response on `db` (a connection or a transaction).
pub(crate) async fn insert_credentials<C: ConnectionTrait>(
    db: &C,
    records: &[CredentialRecord],
) -> Result<(), StoreError> {
    if let Some(insert) = credentials_statement(records) {
        insert
            .exec_without_returning(db)
            .await
            .map_err(|e| StoreError::on_insert("credential id", e))?;
    }
    Ok(())
}

/// A list number as stored (`integer`); numbers past `i32::MAX` do not occur
/// (a tenant opens one list per 65,536 or so credentials).
pub(crate) fn list_number(list: u32) -> i32 {
    i32::try_from(list).unwrap_or(i32::MAX)
}

/// An index as stored (`bigint`).
pub(crate) fn index_value(index: u64) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

/// The record of a stored row.
pub(crate) fn record(m: credential::Model) -> Result<CredentialRecord, StoreError> {
    let status = CredentialStatus::parse(&m.status)
        .ok_or_else(|| StoreError::Corrupt(format!("credential status {:?}", m.status)))?;
    let status_entry = match (m.status_list, m.status_idx) {
        (Some(list), Some(index)) => Some(StatusEntry {
            list: u32::try_from(list)
                .map_err(|_| StoreError::Corrupt(format!("status list {list}")))?,
            index: u64::try_from(index)
                .map_err(|_| StoreError::Corrupt(format!("status index {index}")))?,
        }),
        _ => None,
    };
    Ok(CredentialRecord {
        notification: m.notification_event.map(|event| NotificationRecord {
            event,
            description: m.notification_description,
            at: m.notified_at.unwrap_or(m.created_at),
        }),
        id: m.id,
        tenant: m.tenant,
        offer_id: m.offer_id,
        credential_configuration_id: m.credential_configuration_id,
        format: m.format,
        holder_key_thumbprint: m.holder_key_thumbprint,
        notification_id: m.notification_id,
        created_at: m.created_at,
        status,
        status_entry,
        expires_at: m.expires_at,
        identifier: m.identifier,
    })
}

impl Store {
    /// The credentials issued for offer `offer_id`, oldest first.
    #[tracing::instrument(name = "store.credentials", skip_all, fields(offer = offer_id))]
    pub async fn credentials(&self, offer_id: &str) -> Result<Vec<CredentialRecord>, StoreError> {
        let rows = credential::Entity::find()
            .filter(credential::Column::OfferId.eq(offer_id))
            .order_by_asc(credential::Column::CreatedAt)
            .order_by_asc(credential::Column::Id)
            .all(&self.db)
            .await?;
        rows.into_iter().map(record).collect()
    }

    /// Credential `id` of `tenant`.
    ///
    /// A scan of the tenant's entries in `(tenant, created_at, id)`: the
    /// credential insert keeps no index on the random id (ADR 0018, 0019).
    pub async fn credential(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        credential::Entity::find()
            .filter(credential::Column::Tenant.eq(tenant))
            .filter(credential::Column::Id.eq(id))
            .all(&self.db)
            .await?
            .into_iter()
            .next()
            .map(record)
            .transpose()
    }

    /// The credentials matching `filter`, ordered by (issue time, id), at
    /// most `filter.limit` of them, after `filter.after` when set.
    pub async fn find_credentials(
        &self,
        f: &CredentialFilter,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        use credential::Column as C;
        let mut select = credential::Entity::find().filter(C::Tenant.eq(f.tenant.as_str()));
        if let Some(offer_id) = &f.offer_id {
            select = select.filter(C::OfferId.eq(offer_id.as_str()));
        }
        if let Some(configuration) = &f.credential_configuration_id {
            select = select.filter(C::CredentialConfigurationId.eq(configuration.as_str()));
        }
        if let Some(format) = &f.format {
            select = select.filter(C::Format.eq(format.as_str()));
        }
        if let Some(status) = f.status {
            select = select.filter(C::Status.eq(status.as_str()));
        }
        if let Some(thumbprint) = &f.holder_key_thumbprint {
            select = select.filter(C::HolderKeyThumbprint.eq(thumbprint.as_str()));
        }
        if let Some(identifier) = &f.identifier {
            // No index of its own: the query is per tenant and paged, and an
            // index on a random identifier would be one more random page
            // write per credential on the issuance hot path (ADR 0018).
            select = select.filter(C::Identifier.eq(identifier.as_str()));
        }
        if let Some(from) = f.issued_from {
            select = select.filter(C::CreatedAt.gte(from));
        }
        if let Some(until) = f.issued_until {
            select = select.filter(C::CreatedAt.lt(until));
        }
        if let Some((at, id)) = &f.after {
            // (created_at, id) > (at, id), spelled so that both planners
            // start the index range at `at`.
            select = select.filter(C::CreatedAt.gte(*at)).filter(
                Condition::any()
                    .add(C::CreatedAt.gt(*at))
                    .add(C::Id.gt(id.as_str())),
            );
        }
        select
            .order_by_asc(C::CreatedAt)
            .order_by_asc(C::Id)
            .limit(u64::from(f.limit))
            .all(&self.db)
            .await?
            .into_iter()
            .map(record)
            .collect()
    }

    /// Records `notification` on the credentials of offer `offer_id` that
    /// came in the response `notification_id`, and `event`, in one
    /// transaction; `false` (nothing stored) when there are none. Sending the
    /// same notification again records it again (idempotent).
    #[tracing::instrument(name = "store.notify", skip_all, fields(offer = offer_id))]
    pub async fn notify(
        &self,
        offer_id: &str,
        notification_id: &str,
        notification: NotificationRecord,
        event: NewEvent,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await?;
        let done = credential::Entity::update_many()
            .col_expr(
                credential::Column::NotificationEvent,
                Expr::value(notification.event),
            )
            .col_expr(
                credential::Column::NotificationDescription,
                Expr::value(notification.description),
            )
            .col_expr(credential::Column::NotifiedAt, Expr::value(notification.at))
            .filter(credential::Column::OfferId.eq(offer_id))
            .filter(credential::Column::NotificationId.eq(notification_id))
            .exec(&txn)
            .await?;
        if done.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        insert_event(&txn, event).await?;
        txn.commit().await?;
        Ok(true)
    }
}

//! Issued credentials (one row each, never their claims) and the wallet's
//! notifications about them (OID4VCI §11).

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    TransactionTrait,
};

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

fn record(m: credential::Model) -> CredentialRecord {
    CredentialRecord {
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
    }
}

impl Store {
    /// The credentials issued for offer `offer_id`, oldest first.
    pub async fn credentials(&self, offer_id: &str) -> Result<Vec<CredentialRecord>, StoreError> {
        let rows = credential::Entity::find()
            .filter(credential::Column::OfferId.eq(offer_id))
            .order_by_asc(credential::Column::CreatedAt)
            .order_by_asc(credential::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(record).collect())
    }

    /// Records `notification` on the credentials of offer `offer_id` that
    /// came in the response `notification_id`, and `event`, in one
    /// transaction; `false` (nothing stored) when there are none. Sending the
    /// same notification again records it again (idempotent).
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

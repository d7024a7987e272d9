//! Issuance records: one per (offer, credential configuration).

use std::collections::BTreeSet;

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait, TryInsertResult,
};

use crate::entities::issuance;
use crate::events::insert_event;
use crate::offers::set_credential_issued;
use crate::util::to_u32;
use crate::{NewEvent, Store, StoreError};

/// A credential issuance to record.
#[derive(Clone, Debug)]
pub struct NewIssuance {
    /// Issuance id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Offer the credential was issued for.
    pub offer_id: String,
    /// Credential configuration issued.
    pub credential_configuration_id: String,
    /// Credential format (for example `dc+sd-jwt`).
    pub format: String,
    /// Number of credentials issued (one per proof).
    pub count: u32,
    /// Issue time, Unix seconds.
    pub created_at: i64,
}

/// A recorded issuance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuanceRecord {
    /// Issuance id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Offer the credential was issued for.
    pub offer_id: String,
    /// Credential configuration issued.
    pub credential_configuration_id: String,
    /// Credential format.
    pub format: String,
    /// Number of credentials issued.
    pub count: u32,
    /// Issue time, Unix seconds.
    pub created_at: i64,
}

/// Inserts an issuance on `db` (a connection or a transaction); `false` when that (offer, configuration) exists.
async fn insert_issuance<C: ConnectionTrait>(db: &C, i: NewIssuance) -> Result<bool, StoreError> {
    let model = issuance::Model {
        id: i.id,
        tenant: i.tenant,
        offer_id: i.offer_id,
        credential_configuration_id: i.credential_configuration_id,
        format: i.format,
        count: i64::from(i.count),
        created_at: i.created_at,
    };
    let inserted = issuance::Entity::insert(model.into_active_model())
        .on_conflict_do_nothing_on([
            issuance::Column::OfferId,
            issuance::Column::CredentialConfigurationId,
        ])
        .exec_without_returning(db)
        .await
        .map_err(|e| StoreError::on_insert("issuance id", e))?;
    Ok(match inserted {
        TryInsertResult::Inserted(n) => n > 0,
        TryInsertResult::Conflicted | TryInsertResult::Empty => false,
    })
}

impl Store {
    /// Records an issuance. Returns `false` (not an error) if that (offer, configuration) was already recorded.
    pub async fn record_issuance(&self, i: NewIssuance) -> Result<bool, StoreError> {
        insert_issuance(&self.db, i).await
    }

    /// Records one credential response in a single transaction: the issuance (idempotent per offer and
    /// configuration), the offer's new status (`consumed` once every configuration in `offered` has been issued,
    /// `credential_issued` before that) and `event`. Returns whether this was the first issuance of that
    /// configuration. Either all of it is stored or none.
    pub async fn complete_issuance(
        &self,
        i: NewIssuance,
        offered: &[String],
        event: NewEvent,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await?;
        let (offer_id, now) = (i.offer_id.clone(), i.created_at);
        let configuration = i.credential_configuration_id.clone();
        let first = insert_issuance(&txn, i).await?;
        let consumed = if offered.iter().all(|c| *c == configuration) {
            true
        } else {
            let issued: BTreeSet<String> = issuance::Entity::find()
                .select_only()
                .column(issuance::Column::CredentialConfigurationId)
                .filter(issuance::Column::OfferId.eq(offer_id.as_str()))
                .into_tuple()
                .all(&txn)
                .await?
                .into_iter()
                .collect();
            offered.iter().all(|c| issued.contains(c))
        };
        set_credential_issued(&txn, &offer_id, now, consumed).await?;
        insert_event(&txn, event).await?;
        txn.commit().await?;
        Ok(first)
    }

    /// The issuances of an offer, oldest first.
    pub async fn issuances(&self, offer_id: &str) -> Result<Vec<IssuanceRecord>, StoreError> {
        let rows = issuance::Entity::find()
            .filter(issuance::Column::OfferId.eq(offer_id))
            .order_by_asc(issuance::Column::CreatedAt)
            .order_by_asc(issuance::Column::Id)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|m| {
                Ok(IssuanceRecord {
                    count: to_u32(m.count, "issuance count")?,
                    id: m.id,
                    tenant: m.tenant,
                    offer_id: m.offer_id,
                    credential_configuration_id: m.credential_configuration_id,
                    format: m.format,
                    created_at: m.created_at,
                })
            })
            .collect()
    }
}

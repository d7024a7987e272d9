//! Issuance records: one per (offer, credential configuration).

use sea_orm::{
    ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, TryInsertResult,
};

use crate::entities::issuance;
use crate::util::to_u32;
use crate::{Store, StoreError};

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

impl Store {
    /// Records an issuance. Returns `false` (not an error) if that (offer, configuration) was already recorded.
    pub async fn record_issuance(&self, i: NewIssuance) -> Result<bool, StoreError> {
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
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| StoreError::on_insert("issuance id", e))?;
        Ok(match inserted {
            TryInsertResult::Inserted(n) => n > 0,
            TryInsertResult::Conflicted | TryInsertResult::Empty => false,
        })
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

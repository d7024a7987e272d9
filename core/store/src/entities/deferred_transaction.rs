//! The `deferred_transactions` table: deferred credential requests (OID4VCI §9).

use sea_orm::entity::prelude::*;

/// One deferred transaction; `holder_keys` and `claims` are JSON text.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deferred_transactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant: String,
    pub offer_id: String,
    pub credential_configuration_id: String,
    pub format: String,
    pub holder_keys: String,
    pub authorization_id: Option<String>,
    pub origin: String,
    pub status: String,
    pub claims: Option<String>,
    pub reason: Option<String>,
    pub interval_seconds: i32,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! The `credentials` table: one row per issued credential (no claims).

use sea_orm::entity::prelude::*;

/// One issued credential, keyed by (offer, response, credential).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "credentials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub offer_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub notification_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant: String,
    pub credential_configuration_id: String,
    pub format: String,
    pub holder_key_thumbprint: Option<String>,
    pub notification_event: Option<String>,
    pub notification_description: Option<String>,
    pub notified_at: Option<i64>,
    pub created_at: i64,
    pub status: String,
    pub status_list: Option<i32>,
    pub status_idx: Option<i64>,
    pub expires_at: Option<i64>,
    pub identifier: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

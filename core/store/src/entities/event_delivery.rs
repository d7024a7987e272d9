//! The `event_deliveries` table: the deliveries of an endpoint that are not
//! done yet, retrying or dead (ADR 0021).

use sea_orm::entity::prelude::*;

/// One pending delivery, keyed by (endpoint, event).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub endpoint_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: i64,
    pub offer_id: String,
    pub tenant: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_ms: i64,
    pub since: i64,
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

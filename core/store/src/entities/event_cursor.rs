//! The `event_cursors` table: each event endpoint's position in the event
//! log and its delivery lease (ADR 0021).

use sea_orm::entity::prelude::*;

/// One endpoint's cursor.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_cursors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub endpoint_id: String,
    pub position: i64,
    pub holder: Option<String>,
    pub lease_until_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! The `status_lists` table: the Token Status Lists of each tenant.

use sea_orm::entity::prelude::*;

/// One status list, keyed by (tenant, number).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "status_lists")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub number: i32,
    pub size: i64,
    pub bits: i32,
    pub version: i64,
    pub open: bool,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

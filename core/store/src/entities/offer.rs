//! The `offers` table.

use sea_orm::entity::prelude::*;

/// One credential offer.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "offers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub credential_configuration_ids: Json,
    pub flow: String,
    pub value_mode: String,
    pub scheme: String,
    pub pre_authorized_code_hash: Option<String>,
    pub tx_code_hash: Option<String>,
    pub tx_code_input_mode: Option<String>,
    pub tx_code_length: Option<i64>,
    pub tx_code_description: Option<String>,
    pub issuer_state: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub credential_claims: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub runtime_overrides: Json,
    pub issuance_mode: String,
    pub webhook_endpoint_id: Option<String>,
    pub profile: Option<String>,
    pub status: String,
    pub tx_attempts: i64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub token_issued_at: Option<i64>,
    pub credential_issued_at: Option<i64>,
    pub consumed_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

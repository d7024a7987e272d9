//! The `authorizations` table: the authorization code flow (secrets as hashes).

use sea_orm::entity::prelude::*;

/// One authorization, from its push to its refresh token.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "authorizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant: String,
    pub offer_id: Option<String>,
    pub client_id: String,
    #[sea_orm(column_type = "Text")]
    pub redirect_uri: String,
    pub code_challenge: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub state: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub credential_configuration_ids: Json,
    pub details: bool,
    pub dpop_jkt: Option<String>,
    pub request_uri_hash: String,
    pub request_expires_at: i64,
    pub login_state_hash: Option<String>,
    pub login_nonce: Option<String>,
    pub login_verifier: Option<String>,
    pub login_expires_at: Option<i64>,
    pub subject: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub claims: Option<Json>,
    pub code_hash: Option<String>,
    pub code_expires_at: Option<i64>,
    pub refresh_hash: Option<String>,
    pub previous_refresh_hash: Option<String>,
    pub refresh_expires_at: Option<i64>,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! The `access_tokens` table (hashes only).

use sea_orm::entity::prelude::*;

/// One access token, keyed by its hash.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "access_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub tenant: String,
    pub offer_id: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub credential_configuration_ids: Json,
    pub created_at: i64,
    pub expires_at: i64,
    /// The authorization (code flow) the token was issued for.
    pub authorization_id: Option<String>,
    /// The DPoP key thumbprint the token is bound to.
    pub dpop_jkt: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The offer the token was issued for.
    #[sea_orm(
        belongs_to = "super::offer::Entity",
        from = "Column::OfferId",
        to = "super::offer::Column::Id"
    )]
    Offer,
}

impl Related<super::offer::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Offer.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

//! `access_tokens`: access tokens by hash, each bound to an offer.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_offers::Offers;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccessTokens::Table)
                    .if_not_exists()
                    .col(string(AccessTokens::TokenHash).primary_key())
                    .col(string(AccessTokens::Tenant))
                    .col(string(AccessTokens::OfferId))
                    .col(json_binary(AccessTokens::CredentialConfigurationIds))
                    .col(big_integer(AccessTokens::CreatedAt))
                    .col(big_integer(AccessTokens::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_access_tokens_offer")
                            .from(AccessTokens::Table, AccessTokens::OfferId)
                            .to(Offers::Table, Offers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_access_tokens_offer_id")
                    .table(AccessTokens::Table)
                    .col(AccessTokens::OfferId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_access_tokens_expires_at")
                    .table(AccessTokens::Table)
                    .col(AccessTokens::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccessTokens::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AccessTokens {
    Table,
    TokenHash,
    Tenant,
    OfferId,
    CredentialConfigurationIds,
    CreatedAt,
    ExpiresAt,
}

//! `offers`: one row per credential offer, with the pre-authorized code and tx code as hashes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Offers::Table)
                    .if_not_exists()
                    .col(string(Offers::Id).primary_key())
                    .col(string(Offers::Tenant))
                    .col(json_binary(Offers::CredentialConfigurationIds))
                    .col(string(Offers::Flow))
                    .col(string(Offers::ValueMode))
                    .col(string(Offers::Scheme))
                    .col(string_null(Offers::PreAuthorizedCodeHash))
                    .col(string_null(Offers::TxCodeHash))
                    .col(string_null(Offers::TxCodeInputMode))
                    .col(big_integer_null(Offers::TxCodeLength))
                    .col(text_null(Offers::TxCodeDescription))
                    .col(string_null(Offers::IssuerState))
                    .col(json_binary(Offers::CredentialClaims))
                    .col(json_binary(Offers::RuntimeOverrides))
                    .col(string(Offers::IssuanceMode))
                    .col(string_null(Offers::WebhookEndpointId))
                    .col(string_null(Offers::Profile))
                    .col(string(Offers::Status))
                    .col(big_integer(Offers::TxAttempts).default(0))
                    .col(big_integer(Offers::CreatedAt))
                    .col(big_integer_null(Offers::ExpiresAt))
                    .col(big_integer_null(Offers::ResolvedAt))
                    .col(big_integer_null(Offers::TokenIssuedAt))
                    .col(big_integer_null(Offers::CredentialIssuedAt))
                    .col(big_integer_null(Offers::ConsumedAt))
                    .col(big_integer_null(Offers::RevokedAt))
                    .col(big_integer(Offers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // The token endpoint looks offers up by code hash; unique, so a code can name one offer only.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ux_offers_pre_authorized_code_hash")
                    .table(Offers::Table)
                    .col(Offers::PreAuthorizedCodeHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // TTL purge scans by expiry.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_offers_expires_at")
                    .table(Offers::Table)
                    .col(Offers::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Offers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub(crate) enum Offers {
    Table,
    Id,
    Tenant,
    CredentialConfigurationIds,
    Flow,
    ValueMode,
    Scheme,
    PreAuthorizedCodeHash,
    TxCodeHash,
    TxCodeInputMode,
    TxCodeLength,
    TxCodeDescription,
    IssuerState,
    CredentialClaims,
    RuntimeOverrides,
    IssuanceMode,
    WebhookEndpointId,
    Profile,
    Status,
    TxAttempts,
    CreatedAt,
    ExpiresAt,
    ResolvedAt,
    TokenIssuedAt,
    CredentialIssuedAt,
    ConsumedAt,
    RevokedAt,
    UpdatedAt,
}

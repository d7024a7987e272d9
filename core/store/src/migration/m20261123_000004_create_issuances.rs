//! `issuances`: one row per (offer, credential configuration) that was issued.

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
                    .table(Issuances::Table)
                    .if_not_exists()
                    .col(string(Issuances::Id).primary_key())
                    .col(string(Issuances::Tenant))
                    .col(string(Issuances::OfferId))
                    .col(string(Issuances::CredentialConfigurationId))
                    .col(string(Issuances::Format))
                    .col(big_integer(Issuances::Count))
                    .col(big_integer(Issuances::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_issuances_offer")
                            .from(Issuances::Table, Issuances::OfferId)
                            .to(Offers::Table, Offers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Enforces "one issuance per (offer, configuration)"; also serves lookups by offer.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ux_issuances_offer_configuration")
                    .table(Issuances::Table)
                    .col(Issuances::OfferId)
                    .col(Issuances::CredentialConfigurationId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Issuances::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Issuances {
    Table,
    Id,
    Tenant,
    OfferId,
    CredentialConfigurationId,
    Format,
    Count,
    CreatedAt,
}

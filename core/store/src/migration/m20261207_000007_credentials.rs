//! `credentials`: one row per issued credential (never its claims), with
//! the `notification_id` of the response that carried it and the last
//! notification the wallet sent about it (OID4VCI §11).

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
                    .table(C::Table)
                    .if_not_exists()
                    .col(string(C::Id).primary_key())
                    .col(string(C::Tenant))
                    .col(string(C::OfferId))
                    .col(string(C::CredentialConfigurationId))
                    .col(string(C::Format))
                    .col(string_null(C::HolderKeyThumbprint))
                    .col(string(C::NotificationId))
                    .col(string_null(C::NotificationEvent))
                    .col(text_null(C::NotificationDescription))
                    .col(big_integer_null(C::NotifiedAt))
                    .col(big_integer(C::CreatedAt))
                    // The purge deletes spent offers; their credential rows go with them.
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_credentials_offer")
                            .from(C::Table, C::OfferId)
                            .to(Offers::Table, Offers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A notification names its response within the token's offer.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_credentials_offer_notification")
                    .table(C::Table)
                    .col(C::OfferId)
                    .col(C::NotificationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(C::Table).to_owned())
            .await
    }
}

use self::Credentials as C;

#[derive(DeriveIden)]
enum Credentials {
    Table,
    Id,
    Tenant,
    OfferId,
    CredentialConfigurationId,
    Format,
    HolderKeyThumbprint,
    NotificationId,
    NotificationEvent,
    NotificationDescription,
    NotifiedAt,
    CreatedAt,
}

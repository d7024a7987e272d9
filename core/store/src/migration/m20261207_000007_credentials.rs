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
                    .col(string(C::Id))
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
                    // One B-tree key serves every lookup (an offer's credentials, a
                    // response's by its notification_id) and keeps the insert on the
                    // hot path to the table and this one index.
                    .primary_key(
                        Index::create()
                            .col(C::OfferId)
                            .col(C::NotificationId)
                            .col(C::Id),
                    )
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

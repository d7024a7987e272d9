//! `nonces`: `c_nonce` values, each usable once until it expires.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Nonces::Table)
                    .if_not_exists()
                    .col(string(Nonces::Value))
                    .col(string(Nonces::Tenant))
                    .col(big_integer(Nonces::ExpiresAt))
                    .col(big_integer_null(Nonces::UsedAt))
                    // The primary key's index starts with `value`: lookups are by value (and tenant).
                    .primary_key(Index::create().col(Nonces::Value).col(Nonces::Tenant))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_nonces_expires_at")
                    .table(Nonces::Table)
                    .col(Nonces::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Nonces::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Nonces {
    Table,
    Value,
    Tenant,
    ExpiresAt,
    UsedAt,
}

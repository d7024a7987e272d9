//! Credential lifecycle (issue #16, ADR 0019): each credential's status,
//! status list entry, expiry and own identifier (the `jti` of a JWT VC);
//! the tenants' status lists and the indices reserved in them; deferred
//! transactions (OID4VCI §9).
//!
//! Index choices (the credential insert is on the hot path, ADR 0018):
//! - `credentials` gets one B-tree, `(tenant, created_at, id)`, for the
//!   issuance-record list (tenant, filters, ordered and paged by
//!   `(created_at, id)`). New rows land at its right edge (the issue time
//!   grows), so the issuance batch dirties one leaf page of it, not a random
//!   one as an index on the random credential id would.
//! - `identifier` is not indexed, for the same reason (a fresh random `jti`
//!   per credential): finding a credential by it is a filter of that
//!   per-tenant, paged list query.
//! - The entries of a status list are read from a partial index holding only
//!   the credentials that are not valid: new credentials are valid, so the
//!   insert never touches it, and it stays as small as the number of revoked
//!   and suspended credentials.
//! - `status_indices` is the reservation table: its primary key is the
//!   decision (`INSERT … ON CONFLICT DO NOTHING RETURNING`). On SQLite it is
//!   a `WITHOUT ROWID` table: one B-tree, not a table and its key.
//! - A partial unique index allows one open status list per tenant, so
//!   concurrent creators cannot open two.

use sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_offers::Offers;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [
            string(C::Status).default("valid").to_owned(),
            integer_null(C::StatusList).to_owned(),
            big_integer_null(C::StatusIdx).to_owned(),
            big_integer_null(C::ExpiresAt).to_owned(),
            text_null(C::Identifier).to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(C::Table).add_column(column).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_credentials_tenant_created_at_id")
                    .table(C::Table)
                    .col(C::Tenant)
                    .col(C::CreatedAt)
                    .col(C::Id)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // Partial indexes: raw SQL (the same on both backends). The literal
        // must match the queries' (`status <> 'valid'`) for the planners to
        // use the index.
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_credentials_not_valid \
             ON credentials (tenant, status_list, status_idx, status) \
             WHERE status <> 'valid'",
        )
        .await?;

        manager.create_table(status_lists()).await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS ux_status_lists_open \
             ON status_lists (tenant) WHERE \"open\"",
        )
        .await?;

        let indices = status_indices();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                let sql = format!("{} WITHOUT ROWID", indices.to_string(SqliteQueryBuilder));
                db.execute_unprepared(&sql).await?;
            }
            _ => manager.create_table(indices).await?,
        }

        manager.create_table(deferred_transactions()).await?;
        // The offer view lists an offer's transactions; the purge deletes
        // expired ones. (Neither backend indexes a foreign key by itself.)
        for (name, column) in [
            ("ix_deferred_transactions_offer_id", D::OfferId),
            ("ix_deferred_transactions_expires_at", D::ExpiresAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .name(name)
                        .table(D::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            D::Table.into_iden(),
            I::Table.into_iden(),
            L::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for name in [
            "ix_credentials_not_valid",
            "ix_credentials_tenant_created_at_id",
        ] {
            manager
                .drop_index(Index::drop().name(name).table(C::Table).to_owned())
                .await?;
        }
        for column in [
            C::Identifier,
            C::ExpiresAt,
            C::StatusIdx,
            C::StatusList,
            C::Status,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(C::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// `status_lists`: one row per list of a tenant, numbered from 1.
fn status_lists() -> TableCreateStatement {
    Table::create()
        .table(L::Table)
        .if_not_exists()
        .col(string(L::Tenant))
        .col(integer(L::Number))
        .col(big_integer(L::Size))
        .col(integer(L::Bits))
        .col(big_integer(L::Version).default(0))
        .col(boolean(L::Open))
        .col(big_integer(L::CreatedAt))
        .primary_key(Index::create().col(L::Tenant).col(L::Number))
        .to_owned()
}

/// `status_indices`: every index ever reserved in a list (never purged:
/// an index is handed out once).
fn status_indices() -> TableCreateStatement {
    Table::create()
        .table(I::Table)
        .if_not_exists()
        .col(string(I::Tenant))
        .col(integer(I::List))
        .col(big_integer(I::Idx))
        .primary_key(Index::create().col(I::Tenant).col(I::List).col(I::Idx))
        .to_owned()
}

/// `deferred_transactions`: one row per deferred credential request. Its
/// offer reference cascades like the credentials'.
fn deferred_transactions() -> TableCreateStatement {
    Table::create()
        .table(D::Table)
        .if_not_exists()
        .col(string(D::Id).primary_key())
        .col(string(D::Tenant))
        .col(string(D::OfferId))
        .col(string(D::CredentialConfigurationId))
        .col(string(D::Format))
        .col(text(D::HolderKeys))
        .col(string_null(D::AuthorizationId))
        .col(string(D::Origin))
        .col(string(D::Status))
        .col(text_null(D::Claims))
        .col(text_null(D::Reason))
        .col(integer(D::IntervalSeconds))
        .col(big_integer(D::CreatedAt))
        .col(big_integer(D::UpdatedAt))
        .col(big_integer(D::ExpiresAt))
        .foreign_key(
            ForeignKey::create()
                .name("fk_deferred_transactions_offer")
                .from(D::Table, D::OfferId)
                .to(Offers::Table, Offers::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

use self::{Credentials as C, DeferredTransactions as D, StatusIndices as I, StatusLists as L};

#[derive(DeriveIden)]
enum Credentials {
    Table,
    Id,
    Tenant,
    CreatedAt,
    Status,
    StatusList,
    StatusIdx,
    ExpiresAt,
    Identifier,
}

#[derive(DeriveIden)]
enum StatusLists {
    Table,
    Tenant,
    Number,
    Size,
    Bits,
    Version,
    Open,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StatusIndices {
    Table,
    Tenant,
    List,
    Idx,
}

#[derive(DeriveIden)]
enum DeferredTransactions {
    Table,
    Id,
    Tenant,
    OfferId,
    CredentialConfigurationId,
    Format,
    HolderKeys,
    AuthorizationId,
    Origin,
    Status,
    Claims,
    Reason,
    IntervalSeconds,
    CreatedAt,
    UpdatedAt,
    ExpiresAt,
}

//! The authorization code flow: `authorizations` (one row per pushed
//! authorization request, through login, code and refresh token; secrets as
//! hashes), the DPoP key and authorization of an access token, and the
//! lookup of offers by `issuer_state`.

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_offers::Offers;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(authorizations()).await?;
        // Every secret is a lookup key, and unique so it names one row.
        for (name, column) in [
            ("ux_authorizations_request_uri_hash", A::RequestUriHash),
            ("ux_authorizations_login_state_hash", A::LoginStateHash),
            ("ux_authorizations_code_hash", A::CodeHash),
            ("ux_authorizations_refresh_hash", A::RefreshHash),
        ] {
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .name(name)
                        .table(A::Table)
                        .col(column)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        // A replayed refresh token is found by the hash it was rotated from;
        // the offer's authorizations are found (and revoked) by offer.
        for (name, column) in [
            (
                "ix_authorizations_previous_refresh_hash",
                A::PreviousRefreshHash,
            ),
            ("ix_authorizations_offer_id", A::OfferId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .name(name)
                        .table(A::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        // SQLite adds one column per statement.
        for column in [AccessTokens::AuthorizationId, AccessTokens::DpopJkt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AccessTokens::Table)
                        .add_column(string_null(column))
                        .to_owned(),
                )
                .await?;
        }
        // A pushed authorization request names its offer by `issuer_state`.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_offers_tenant_issuer_state")
                    .table(Offers::Table)
                    .col(Offers::Tenant)
                    .col(Offers::IssuerState)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_offers_tenant_issuer_state")
                    .table(Offers::Table)
                    .to_owned(),
            )
            .await?;
        for column in [AccessTokens::DpopJkt, AccessTokens::AuthorizationId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AccessTokens::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(A::Table).to_owned())
            .await
    }
}

/// The `authorizations` table. Its offer reference cascades: the purge
/// deletes offers that expired unredeemed, and their authorizations with
/// them.
fn authorizations() -> TableCreateStatement {
    Table::create()
        .table(A::Table)
        .if_not_exists()
        .col(string(A::Id).primary_key())
        .col(string(A::Tenant))
        .col(string_null(A::OfferId))
        .col(string(A::ClientId))
        .col(text(A::RedirectUri))
        .col(string(A::CodeChallenge))
        .col(text_null(A::State))
        .col(json_binary(A::CredentialConfigurationIds))
        .col(boolean(A::Details))
        .col(string_null(A::DpopJkt))
        .col(string(A::RequestUriHash))
        .col(big_integer(A::RequestExpiresAt))
        .col(string_null(A::LoginStateHash))
        .col(string_null(A::LoginNonce))
        .col(string_null(A::LoginVerifier))
        .col(big_integer_null(A::LoginExpiresAt))
        .col(string_null(A::Subject))
        .col(json_binary_null(A::Claims))
        .col(string_null(A::CodeHash))
        .col(big_integer_null(A::CodeExpiresAt))
        .col(string_null(A::RefreshHash))
        .col(string_null(A::PreviousRefreshHash))
        .col(big_integer_null(A::RefreshExpiresAt))
        .col(string(A::Status))
        .col(big_integer(A::CreatedAt))
        .col(big_integer(A::UpdatedAt))
        .foreign_key(
            ForeignKey::create()
                .name("fk_authorizations_offer")
                .from(A::Table, A::OfferId)
                .to(Offers::Table, Offers::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

use self::Authorizations as A;

#[derive(DeriveIden)]
enum Authorizations {
    Table,
    Id,
    Tenant,
    OfferId,
    ClientId,
    RedirectUri,
    CodeChallenge,
    State,
    CredentialConfigurationIds,
    Details,
    DpopJkt,
    RequestUriHash,
    RequestExpiresAt,
    LoginStateHash,
    LoginNonce,
    LoginVerifier,
    LoginExpiresAt,
    Subject,
    Claims,
    CodeHash,
    CodeExpiresAt,
    RefreshHash,
    PreviousRefreshHash,
    RefreshExpiresAt,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AccessTokens {
    Table,
    AuthorizationId,
    DpopJkt,
}

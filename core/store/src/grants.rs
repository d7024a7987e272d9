//! The authorization code flow's token side: redeeming the code, rotating
//! the refresh token, and revoking a replayed grant. Each is one
//! transaction whose first statement is the conditional `UPDATE` of the
//! authorization that decides (its `RETURNING` row picks the winner).

use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
};
use sigil_issuer::model::{AuthorizationStatus, GrantRefusal, GrantTokens};

use crate::entities::{access_token, authorization, offer};
use crate::events::insert_offer_event;
use crate::offers::{not_expired, status_in};
use crate::tokens::token_statement;
use crate::util::json_to_strings;
use crate::{AccessToken, NewEvent, OfferStatus, Store, StoreError};

use authorization::Column as A;

/// A grant's outcome: done, or refused (and nothing stored).
type Grant = Result<(), GrantRefusal>;

/// The offer statuses a code may still be redeemed from.
const REDEEMABLE: [OfferStatus; 2] = [OfferStatus::Created, OfferStatus::Resolved];

/// The offer statuses after a token was issued.
const ISSUED: [OfferStatus; 4] = [
    OfferStatus::TokenIssued,
    OfferStatus::CredentialIssued,
    OfferStatus::Deferred,
    OfferStatus::Consumed,
];

impl Store {
    /// Redeems the code of authorization `id`, in one transaction: the authorization (still `code`, its code
    /// unexpired) becomes `redeemed` with the refresh token of `tokens` and keeps its DPoP key (or takes the one of
    /// `tokens`); its offer (`created` or `resolved`, unexpired) becomes `token_issued`; the access token and
    /// `event` (skipped when it names no offer) are stored. All or nothing.
    ///
    /// Refuses with [`GrantRefusal::Unknown`] when the code is not redeemable (unknown, expired, redeemed before,
    /// or another request won the race) and with [`GrantRefusal::OfferUnavailable`] when the offer is revoked,
    /// expired or used by another grant; then nothing is stored.
    #[tracing::instrument(name = "store.redeem_code", skip_all, fields(authorization = id))]
    pub async fn redeem_code(
        &self,
        id: &str,
        tokens: GrantTokens,
        now: i64,
        event: NewEvent,
    ) -> Result<Grant, StoreError> {
        let (refresh_hash, refresh_expires_at) = tokens.refresh.clone().unzip();
        let txn = self.db.begin().await?;
        let won = authorization::Entity::update_many()
            .col_expr(
                A::Status,
                Expr::value(AuthorizationStatus::Redeemed.as_str()),
            )
            .col_expr(A::RefreshHash, Expr::value(refresh_hash))
            .col_expr(A::RefreshExpiresAt, Expr::value(refresh_expires_at))
            .col_expr(
                A::DpopJkt,
                Expr::from(Func::coalesce([
                    Expr::col(A::DpopJkt),
                    Expr::value(tokens.dpop_jkt.clone()),
                ])),
            )
            .col_expr(A::UpdatedAt, Expr::value(now))
            .filter(A::Id.eq(id))
            .filter(A::Status.eq(AuthorizationStatus::Code.as_str()))
            .filter(A::CodeExpiresAt.gt(now))
            .exec_with_returning(&txn)
            .await
            .map_err(|e| StoreError::on_insert("refresh token hash", e))?;
        let Some(a) = won.into_iter().next() else {
            txn.rollback().await?;
            return Ok(Err(GrantRefusal::Unknown));
        };
        let taken = match &a.offer_id {
            Some(offer_id) => take_offer(&txn, offer_id, id, now).await?,
            None => false,
        };
        if !taken {
            txn.rollback().await?;
            return Ok(Err(GrantRefusal::OfferUnavailable));
        }
        store_token(&txn, a, tokens, now).await?;
        insert_offer_event(&txn, Some(event)).await?;
        txn.commit().await?;
        Ok(Ok(()))
    }

    /// Rotates the refresh token `old_hash` of authorization `id`, in one transaction: if it is still the current
    /// one, unexpired, and the authorization `redeemed`, it becomes the previous one and `tokens.refresh` the
    /// current one; then, if the offer is not revoked, the new access token and `event` (skipped when it names no
    /// offer) are stored. All or nothing.
    ///
    /// Refuses with [`GrantRefusal::Unknown`] when `old_hash` is not current (rotated before, by another request
    /// too), expired or the grant revoked, and with [`GrantRefusal::OfferUnavailable`] when the offer was revoked;
    /// then nothing is stored.
    #[tracing::instrument(name = "store.refresh", skip_all, fields(authorization = id))]
    pub async fn refresh(
        &self,
        id: &str,
        old_hash: &str,
        tokens: GrantTokens,
        now: i64,
        event: NewEvent,
    ) -> Result<Grant, StoreError> {
        let (refresh_hash, refresh_expires_at) = tokens.refresh.clone().unzip();
        let txn = self.db.begin().await?;
        let won = authorization::Entity::update_many()
            .col_expr(A::PreviousRefreshHash, Expr::col(A::RefreshHash))
            .col_expr(A::RefreshHash, Expr::value(refresh_hash))
            .col_expr(A::RefreshExpiresAt, Expr::value(refresh_expires_at))
            .col_expr(A::UpdatedAt, Expr::value(now))
            .filter(A::Id.eq(id))
            .filter(A::RefreshHash.eq(old_hash))
            .filter(A::RefreshExpiresAt.gt(now))
            .filter(A::Status.eq(AuthorizationStatus::Redeemed.as_str()))
            .exec_with_returning(&txn)
            .await
            .map_err(|e| StoreError::on_insert("refresh token hash", e))?;
        let Some(a) = won.into_iter().next() else {
            txn.rollback().await?;
            return Ok(Err(GrantRefusal::Unknown));
        };
        let live = match &a.offer_id {
            Some(offer_id) => offer::Entity::find_by_id(offer_id.as_str())
                .filter(offer::Column::Status.ne(OfferStatus::Revoked.as_str()))
                .all(&txn)
                .await?
                .into_iter()
                .next()
                .is_some(),
            None => false,
        };
        if !live {
            txn.rollback().await?;
            return Ok(Err(GrantRefusal::OfferUnavailable));
        }
        store_token(&txn, a, tokens, now).await?;
        insert_offer_event(&txn, Some(event)).await?;
        txn.commit().await?;
        Ok(Ok(()))
    }

    /// Revokes authorization `id` and its offer (with `revoked_at`; so every access token of the offer stops
    /// working), and appends `event` (skipped when it names no offer) when either changed, in one transaction.
    /// Its hashes are kept, so a replay is still recognised. An unknown id changes nothing.
    #[tracing::instrument(name = "store.revoke_grant", skip_all, fields(authorization = id))]
    pub async fn revoke_grant(
        &self,
        id: &str,
        now: i64,
        event: Option<NewEvent>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
        let revoked = authorization::Entity::update_many()
            .col_expr(
                A::Status,
                Expr::value(AuthorizationStatus::Revoked.as_str()),
            )
            .col_expr(A::UpdatedAt, Expr::value(now))
            .filter(A::Id.eq(id))
            .filter(A::Status.ne(AuthorizationStatus::Revoked.as_str()))
            .exec_with_returning(&txn)
            .await?;
        let changed = !revoked.is_empty();
        let offer_id = match revoked.into_iter().next() {
            Some(a) => a.offer_id,
            None => authorization::Entity::find_by_id(id)
                .all(&txn)
                .await?
                .into_iter()
                .next()
                .and_then(|a| a.offer_id),
        };
        let offer_changed = match &offer_id {
            Some(offer_id) => {
                offer::Entity::update_many()
                    .col_expr(
                        offer::Column::Status,
                        Expr::value(OfferStatus::Revoked.as_str()),
                    )
                    .col_expr(offer::Column::RevokedAt, Expr::value(now))
                    .col_expr(offer::Column::UpdatedAt, Expr::value(now))
                    .filter(offer::Column::Id.eq(offer_id.as_str()))
                    .filter(offer::Column::Status.ne(OfferStatus::Revoked.as_str()))
                    .exec(&txn)
                    .await?
                    .rows_affected
                    == 1
            }
            None => false,
        };
        if changed || offer_changed {
            insert_offer_event(&txn, event).await?;
        }
        txn.commit().await?;
        Ok(())
    }
}

/// Moves offer `offer_id` to `token_issued` for authorization `id`: `true` when it was `created` or `resolved`
/// and unexpired, or already holds a token of this authorization and is not revoked; `false` otherwise.
async fn take_offer<C: ConnectionTrait>(
    txn: &C,
    offer_id: &str,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let moved = offer::Entity::update_many()
        .col_expr(
            offer::Column::Status,
            Expr::value(OfferStatus::TokenIssued.as_str()),
        )
        .col_expr(offer::Column::TokenIssuedAt, Expr::value(now))
        .col_expr(offer::Column::UpdatedAt, Expr::value(now))
        .filter(offer::Column::Id.eq(offer_id))
        .filter(status_in(&REDEEMABLE))
        .filter(not_expired(now))
        .exec(txn)
        .await?
        .rows_affected
        == 1;
    if moved {
        return Ok(true);
    }
    let issued = offer::Entity::find_by_id(offer_id)
        .filter(status_in(&ISSUED))
        .all(txn)
        .await?;
    if issued.is_empty() {
        return Ok(false);
    }
    let ours = access_token::Entity::find()
        .filter(access_token::Column::OfferId.eq(offer_id))
        .filter(access_token::Column::AuthorizationId.eq(id))
        .count(txn)
        .await?;
    Ok(ours > 0)
}

/// Stores the access token of `tokens` for the authorization row `a` (its tenant, offer and configurations).
async fn store_token<C: ConnectionTrait>(
    txn: &C,
    a: authorization::Model,
    tokens: GrantTokens,
    now: i64,
) -> Result<(), StoreError> {
    let token = AccessToken {
        credential_configuration_ids: json_to_strings(
            a.credential_configuration_ids,
            "authorization credential_configuration_ids",
        )?,
        token_hash: tokens.token_hash,
        tenant: a.tenant,
        offer_id: a.offer_id.unwrap_or_default(),
        created_at: now,
        expires_at: tokens.expires_at,
        authorization_id: Some(a.id),
        dpop_jkt: tokens.dpop_jkt,
    };
    token_statement(token)
        .exec_without_returning(txn)
        .await
        .map_err(|e| StoreError::on_insert("access token hash", e))?;
    Ok(())
}

//! The authorization code flow up to the code: pushed requests, the upstream
//! login, the code, and the lookups by hash. Each state change is one
//! conditional `UPDATE` whose affected rows decide, so any number of
//! instances sharing the database agree (see `grants` for the token side).

use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::Value;
use sigil_issuer::model::{Authorization, AuthorizationStatus, CodeIssue, LoginState};

use crate::authorization_record::{authorization_from_model, authorization_to_model};
use crate::entities::{authorization, offer};
use crate::events::insert_offer_event;
use crate::offer_record::{offer_from_model, offer_to_model};
use crate::offers::insert_offer_on;
use crate::util::now_unix;
use crate::{NewEvent, Offer, OfferStatus, Store, StoreError};

use authorization::Column as A;

/// What a unique-key conflict on an authorization insert means.
const AUTHORIZATION_KEYS: &str = "authorization id or request URI hash";

/// Column filter: the authorization's status is one of `statuses`.
pub(crate) fn status_in(statuses: &[AuthorizationStatus]) -> SimpleExpr {
    A::Status.is_in(statuses.iter().map(|s| s.as_str()))
}

/// The statuses a login can start (again) or end in a code from.
const BEFORE_CODE: [AuthorizationStatus; 2] =
    [AuthorizationStatus::Pushed, AuthorizationStatus::Login];

/// `SET column = NULL`.
fn null_string() -> Expr {
    Expr::value(Option::<String>::None)
}

/// An update of authorization `id` that stamps `updated_at`.
fn update(id: &str, now: i64) -> sea_orm::UpdateMany<authorization::Entity> {
    authorization::Entity::update_many()
        .col_expr(A::UpdatedAt, Expr::value(now))
        .filter(A::Id.eq(id))
}

/// Clears the login in progress (its state, nonce and verifier).
fn clear_login(
    update: sea_orm::UpdateMany<authorization::Entity>,
) -> sea_orm::UpdateMany<authorization::Entity> {
    update
        .col_expr(A::LoginStateHash, null_string())
        .col_expr(A::LoginNonce, null_string())
        .col_expr(A::LoginVerifier, null_string())
        .col_expr(A::LoginExpiresAt, Expr::value(Option::<i64>::None))
}

/// Runs `update` and, when it changed a row, appends `event`, in one
/// transaction; returns whether it changed a row. `what` names the unique
/// keys the update may collide with.
async fn update_with_event(
    db: &DatabaseConnection,
    update: sea_orm::UpdateMany<authorization::Entity>,
    event: Option<NewEvent>,
    what: &'static str,
) -> Result<bool, StoreError> {
    let txn = db.begin().await?;
    let changed = update
        .exec(&txn)
        .await
        .map_err(|e| StoreError::on_insert(what, e))?
        .rows_affected
        == 1;
    if changed {
        insert_offer_event(&txn, event).await?;
    }
    txn.commit().await?;
    Ok(changed)
}

/// The authorization on `db` that `filter` finds (the first, if several).
pub(crate) async fn find_authorization<C: ConnectionTrait>(
    db: &C,
    filter: Condition,
) -> Result<Option<Authorization>, StoreError> {
    // `all`, not `one`: see `crate::util` on bound LIMITs.
    authorization::Entity::find()
        .filter(filter)
        .all(db)
        .await?
        .into_iter()
        .next()
        .map(authorization_from_model)
        .transpose()
}

impl Store {
    /// The offer of `tenant` whose `issuer_state` is `issuer_state`, with expiry reported as
    /// [`OfferStatus::Expired`] (the caller decides whether it is still usable). Should several offers carry it, a
    /// live one (`created` or `resolved`) wins, then the newest.
    #[tracing::instrument(name = "store.offer_by_issuer_state", skip_all, fields(tenant = %tenant))]
    pub async fn offer_by_issuer_state(
        &self,
        tenant: &str,
        issuer_state: &str,
    ) -> Result<Option<Offer>, StoreError> {
        let select = offer::Entity::find()
            .filter(offer::Column::Tenant.eq(tenant))
            .filter(offer::Column::IssuerState.eq(issuer_state))
            .order_by_desc(offer::Column::CreatedAt)
            .order_by_asc(offer::Column::Id);
        let now = now_unix();
        let mut found = Vec::new();
        for m in self.offer_rows(select).await? {
            found.push(offer_from_model(m, now)?);
        }
        let live = found.iter().position(|o| {
            matches!(
                o.progress.status,
                OfferStatus::Created | OfferStatus::Resolved
            )
        });
        Ok(match live {
            Some(at) => Some(found.swap_remove(at)),
            None => found.into_iter().next(),
        })
    }

    /// Stores a pushed authorization and `event` (skipped when it names no offer) in one transaction.
    ///
    /// Fails with [`StoreError::Duplicate`] if the id or a hash is taken; then nothing is stored.
    #[tracing::instrument(name = "store.push_authorization", skip_all, fields(tenant = %a.tenant))]
    pub async fn push_authorization(
        &self,
        a: &Authorization,
        event: Option<NewEvent>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
        authorization::Entity::insert(authorization_to_model(a).into_active_model())
            .exec_without_returning(&txn)
            .await
            .map_err(|e| StoreError::on_insert(AUTHORIZATION_KEYS, e))?;
        insert_offer_event(&txn, event).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The authorization of `tenant` whose request URI hashes to `hash` (whatever its status and expiry).
    #[tracing::instrument(name = "store.authorization_by_request", skip_all, fields(tenant = %tenant))]
    pub async fn authorization_by_request(
        &self,
        tenant: &str,
        hash: &str,
    ) -> Result<Option<Authorization>, StoreError> {
        let filter = Condition::all()
            .add(A::RequestUriHash.eq(hash))
            .add(A::Tenant.eq(tenant));
        find_authorization(&self.db, filter).await
    }

    /// Records the login sent to the upstream provider (status `login`) if the authorization is still `pushed` or
    /// `login` (a revisit replaces the earlier login), with `event` when it changed; returns whether it did.
    #[tracing::instrument(name = "store.begin_login", skip_all, fields(authorization = id))]
    pub async fn begin_login(
        &self,
        id: &str,
        login: &LoginState,
        now: i64,
        event: Option<NewEvent>,
    ) -> Result<bool, StoreError> {
        let set = update(id, now)
            .col_expr(A::Status, Expr::value(AuthorizationStatus::Login.as_str()))
            .col_expr(A::LoginStateHash, Expr::value(login.state_hash.clone()))
            .col_expr(A::LoginNonce, Expr::value(login.nonce.clone()))
            .col_expr(A::LoginVerifier, Expr::value(login.verifier.clone()))
            .col_expr(A::LoginExpiresAt, Expr::value(login.expires_at))
            .filter(status_in(&BEFORE_CODE));
        update_with_event(&self.db, set, event, "login state hash").await
    }

    /// The authorization of `tenant` whose login state hashes to `hash` (whatever its status and expiry; the state
    /// is cleared once the login ends).
    #[tracing::instrument(name = "store.authorization_by_login", skip_all, fields(tenant = %tenant))]
    pub async fn authorization_by_login(
        &self,
        tenant: &str,
        hash: &str,
    ) -> Result<Option<Authorization>, StoreError> {
        let filter = Condition::all()
            .add(A::LoginStateHash.eq(hash))
            .add(A::Tenant.eq(tenant));
        find_authorization(&self.db, filter).await
    }

    /// Issues the code if the authorization is still `pushed` or `login`, in one transaction: inserts
    /// `code.new_offer` when given (and binds the authorization to it), stores the code, subject and claims (status
    /// `code`), clears the login, and appends `event` (skipped when it names no offer). Returns `false` and stores
    /// nothing when the authorization was in another status (or is unknown).
    ///
    /// Fails with [`StoreError::Duplicate`] if the new offer's id or the code hash is taken.
    #[tracing::instrument(name = "store.issue_code", skip_all, fields(authorization = id))]
    pub async fn issue_code(
        &self,
        id: &str,
        code: CodeIssue,
        now: i64,
        event: NewEvent,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await?;
        let mut set = clear_login(update(id, now))
            .col_expr(A::Status, Expr::value(AuthorizationStatus::Code.as_str()))
            .col_expr(A::CodeHash, Expr::value(code.code_hash))
            .col_expr(A::CodeExpiresAt, Expr::value(code.expires_at))
            .col_expr(A::Subject, Expr::value(code.subject))
            .col_expr(A::Claims, Expr::value(code.claims.map(Value::Object)))
            .filter(status_in(&BEFORE_CODE));
        if let Some(o) = &code.new_offer {
            // First: on SQLite a transaction whose first statement writes
            // takes the write lock at once (with the busy handler).
            insert_offer_on(&txn, offer_to_model(o)).await?;
            set = set.col_expr(A::OfferId, Expr::value(o.id.clone()));
        }
        let changed = set
            .exec(&txn)
            .await
            .map_err(|e| StoreError::on_insert("authorization code hash", e))?
            .rows_affected
            == 1;
        if !changed {
            txn.rollback().await?;
            return Ok(false);
        }
        insert_offer_event(&txn, Some(event)).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Marks a failed login: an authorization still `pushed` or `login` is revoked and its login cleared. `event`
    /// (skipped when it names no offer) is appended whether or not the status changed: the login did fail.
    #[tracing::instrument(name = "store.fail_login", skip_all, fields(authorization = id))]
    pub async fn fail_login(
        &self,
        id: &str,
        now: i64,
        event: Option<NewEvent>,
    ) -> Result<(), StoreError> {
        let set = clear_login(update(id, now))
            .col_expr(
                A::Status,
                Expr::value(AuthorizationStatus::Revoked.as_str()),
            )
            .filter(status_in(&BEFORE_CODE));
        let txn = self.db.begin().await?;
        set.exec(&txn).await?;
        insert_offer_event(&txn, event).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The authorization of `tenant` whose code hashes to `hash` (whatever its status and expiry: a redeemed one
    /// tells a replay).
    #[tracing::instrument(name = "store.authorization_by_code", skip_all, fields(tenant = %tenant))]
    pub async fn authorization_by_code(
        &self,
        tenant: &str,
        hash: &str,
    ) -> Result<Option<Authorization>, StoreError> {
        let filter = Condition::all()
            .add(A::CodeHash.eq(hash))
            .add(A::Tenant.eq(tenant));
        find_authorization(&self.db, filter).await
    }

    /// The authorization of `tenant` whose current or previous refresh token hashes to `hash` (the caller tells
    /// which by comparing with [`Authorization::previous_refresh_hash`]).
    #[tracing::instrument(name = "store.authorization_by_refresh", skip_all, fields(tenant = %tenant))]
    pub async fn authorization_by_refresh(
        &self,
        tenant: &str,
        hash: &str,
    ) -> Result<Option<Authorization>, StoreError> {
        let current = Condition::all()
            .add(A::RefreshHash.eq(hash))
            .add(A::Tenant.eq(tenant));
        if let Some(a) = find_authorization(&self.db, current).await? {
            return Ok(Some(a));
        }
        let previous = Condition::all()
            .add(A::PreviousRefreshHash.eq(hash))
            .add(A::Tenant.eq(tenant));
        find_authorization(&self.db, previous).await
    }

    /// The authorization `id`, whatever its tenant.
    pub async fn authorization(&self, id: &str) -> Result<Option<Authorization>, StoreError> {
        find_authorization(&self.db, Condition::all().add(A::Id.eq(id))).await
    }

    /// Spends a one-time value of `tenant` (a DPoP proof's `jti`): `true` the first time on any instance, `false`
    /// after; the row is kept until `expires_at`. Shares the spent-nonce table (and its purge).
    pub async fn spend_once(
        &self,
        tenant: &str,
        value: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        crate::nonces::spend_on(&self.db, tenant, value, expires_at, now).await
    }
}

//! `c_nonce` values: each accepted exactly once before it expires.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, TryInsertResult};

use crate::entities::nonce;
use crate::{Store, StoreError};

impl Store {
    /// Stores a nonce of a tenant (the value as given; nonces are not secrets).
    #[tracing::instrument(name = "store.insert_nonce", skip_all, fields(tenant = %tenant))]
    pub async fn insert_nonce(
        &self,
        tenant: &str,
        value: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let model = nonce::Model {
            value: value.to_owned(),
            tenant: tenant.to_owned(),
            expires_at,
            used_at: None,
        };
        nonce::Entity::insert(model.into_active_model())
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| StoreError::on_insert("nonce", e))?;
        Ok(())
    }

    /// Consumes a nonce: `true` exactly once for a known, unexpired (`expires_at > now`) nonce of that tenant.
    ///
    /// One conditional `UPDATE` decides, so concurrent callers get a single `true`.
    #[tracing::instrument(name = "store.consume_nonce", skip_all, fields(tenant = %tenant))]
    pub async fn consume_nonce(
        &self,
        tenant: &str,
        value: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = nonce::Entity::update_many()
            .col_expr(nonce::Column::UsedAt, Expr::value(now))
            .filter(nonce::Column::Value.eq(value))
            .filter(nonce::Column::Tenant.eq(tenant))
            .filter(nonce::Column::UsedAt.is_null())
            .filter(nonce::Column::ExpiresAt.gt(now))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// Spends a self-verifying nonce (see `sigil_issuer::nonce`): `true` the first time `value` is spent for
    /// `tenant`, `false` on every later attempt. The caller has already checked its tag and expiry.
    ///
    /// One insert decides (the primary key refuses a second row), so concurrent callers get a single `true`; the
    /// row is kept until `expires_at` so the nonce cannot be replayed while it is still valid.
    #[tracing::instrument(name = "store.spend_nonce", skip_all, fields(tenant = %tenant))]
    pub async fn spend_nonce(
        &self,
        tenant: &str,
        value: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        spend_on(&self.db, tenant, value, expires_at, now).await
    }
}

/// The insert that spends a nonce (a plain insert: a second one hits the primary key).
pub(crate) fn spend_statement(
    tenant: &str,
    value: &str,
    expires_at: i64,
    now: i64,
) -> sea_orm::Insert<nonce::ActiveModel> {
    let model = nonce::Model {
        value: value.to_owned(),
        tenant: tenant.to_owned(),
        expires_at,
        used_at: Some(now),
    };
    nonce::Entity::insert(model.into_active_model())
}

/// [`Store::spend_nonce`] on `db` (a connection or a transaction).
pub(crate) async fn spend_on<C: sea_orm::ConnectionTrait>(
    db: &C,
    tenant: &str,
    value: &str,
    expires_at: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let inserted = spend_statement(tenant, value, expires_at, now)
        .on_conflict_do_nothing_on([nonce::Column::Value, nonce::Column::Tenant])
        .exec_without_returning(db)
        .await
        .map_err(|e| StoreError::on_insert("nonce", e))?;
    Ok(matches!(inserted, TryInsertResult::Inserted(n) if n > 0))
}

/// Spends every nonce of `nonces` (value, expiry) of `tenant` on `txn`;
/// `false` as soon as one was spent before (the caller rolls back).
pub(crate) async fn spend_all<C: sea_orm::ConnectionTrait>(
    txn: &C,
    tenant: &str,
    nonces: &[(String, i64)],
    now: i64,
) -> Result<bool, StoreError> {
    for (value, expires_at) in nonces {
        if !spend_on(txn, tenant, value, *expires_at, now).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether any nonce of `nonces` (value, expiry) of `tenant` is stored
/// (spent), read on `db`.
pub(crate) async fn any_stored<C: sea_orm::ConnectionTrait>(
    db: &C,
    tenant: &str,
    nonces: &[(String, i64)],
) -> Result<bool, StoreError> {
    let found = nonce::Entity::find()
        .filter(nonce::Column::Tenant.eq(tenant))
        .filter(nonce::Column::Value.is_in(nonces.iter().map(|(v, _)| v.as_str())))
        .all(db)
        .await?;
    Ok(!found.is_empty())
}

//! `c_nonce` values: each accepted exactly once before it expires.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};

use crate::entities::nonce;
use crate::{Store, StoreError};

impl Store {
    /// Stores a nonce of a tenant (the value as given; nonces are not secrets).
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
}

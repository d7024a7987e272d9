//! Deferred transactions (OID4VCI §9): the request's nonces are spent when
//! it is deferred, the operator (or the claim source) settles it, and one
//! poll collects the credential, recorded like any other issuance.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QueryTrait,
    TransactionTrait,
};
use serde_json::{Map, Value};
use sigil_issuer::model::{
    DeferredOrigin, DeferredStatus, DeferredTransaction, OfferStatus, Settlement,
};

use crate::batch::BatchOutcome;
use crate::entities::{deferred_transaction as deferred, offer};
use crate::events::{event_statement, insert_event};
use crate::issuance::record_with_credentials;
use crate::offers::status_in;
use crate::{Backend, CredentialRecord, Finish, Issuance, NewEvent, Store, StoreError};

/// What a unique-key conflict on a transaction insert means.
const TRANSACTION_ID: &str = "deferred transaction id";

/// The statuses a transaction can still be settled or collected in.
const OPEN: [DeferredStatus; 2] = [DeferredStatus::Pending, DeferredStatus::Ready];

fn open_statuses() -> impl Iterator<Item = &'static str> {
    OPEN.iter().map(|s| s.as_str())
}

fn to_model(t: &DeferredTransaction) -> Result<deferred::Model, StoreError> {
    Ok(deferred::Model {
        id: t.id.clone(),
        tenant: t.tenant.clone(),
        offer_id: t.offer_id.clone(),
        credential_configuration_id: t.credential_configuration_id.clone(),
        format: t.format.clone(),
        holder_keys: json_text(&t.holder_keys)?,
        authorization_id: t.authorization_id.clone(),
        origin: t.origin.as_str().to_owned(),
        status: t.status.as_str().to_owned(),
        claims: t.claims.as_ref().map(json_text).transpose()?,
        reason: t.reason.clone(),
        interval_seconds: i32::try_from(t.interval_seconds).unwrap_or(i32::MAX),
        created_at: t.created_at,
        updated_at: t.updated_at,
        expires_at: t.expires_at,
    })
}

/// `v` as JSON text (holder keys, claims).
fn json_text<T: serde::Serialize + ?Sized>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v)
        .map_err(|e| StoreError::Corrupt(format!("deferred transaction JSON: {e}")))
}

/// The update that marks offer `offer_id` `deferred` (an offer whose token
/// was issued and that is neither consumed nor revoked).
fn deferred_statement(offer_id: &str, now: i64) -> sea_orm::UpdateMany<offer::Entity> {
    offer::Entity::update_many()
        .col_expr(
            offer::Column::Status,
            Expr::value(OfferStatus::Deferred.as_str()),
        )
        .col_expr(offer::Column::UpdatedAt, Expr::value(now))
        .filter(offer::Column::Id.eq(offer_id))
        .filter(status_in(&[
            OfferStatus::TokenIssued,
            OfferStatus::CredentialIssued,
            OfferStatus::Deferred,
        ]))
}

fn from_model(m: deferred::Model) -> Result<DeferredTransaction, StoreError> {
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("deferred transaction {what}: {e}"))
    };
    let holder_keys: Vec<Value> =
        serde_json::from_str(&m.holder_keys).map_err(|e| corrupt("holder keys", &e))?;
    let claims: Option<Map<String, Value>> = m
        .claims
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| corrupt("claims", &e))?;
    Ok(DeferredTransaction {
        origin: DeferredOrigin::parse(&m.origin).ok_or_else(|| corrupt("origin", &m.origin))?,
        status: DeferredStatus::parse(&m.status).ok_or_else(|| corrupt("status", &m.status))?,
        interval_seconds: u32::try_from(m.interval_seconds).map_err(|e| corrupt("interval", &e))?,
        id: m.id,
        tenant: m.tenant,
        offer_id: m.offer_id,
        credential_configuration_id: m.credential_configuration_id,
        format: m.format,
        holder_keys,
        authorization_id: m.authorization_id,
        claims,
        reason: m.reason,
        created_at: m.created_at,
        updated_at: m.updated_at,
        expires_at: m.expires_at,
    })
}

impl Store {
    /// Spends `nonces` (value, expiry) of the transaction's tenant, stores
    /// `transaction`, marks its offer `deferred` and stores `event`, in one
    /// transaction; a nonce spent before stores nothing
    /// ([`Finish::NonceSpent`]). On a SQLite file that is one batch of the
    /// group-commit writer, as for [`Store::finish_credential`].
    #[tracing::instrument(name = "store.defer", skip_all, fields(tenant = %transaction.tenant, offer = %transaction.offer_id))]
    pub async fn defer(
        &self,
        nonces: &[(String, i64)],
        transaction: &DeferredTransaction,
        event: NewEvent,
    ) -> Result<Finish, StoreError> {
        let t = transaction;
        let insert = deferred::Entity::insert(to_model(t)?.into_active_model());
        let offer_deferred = deferred_statement(&t.offer_id, t.created_at);
        if self.backend() == Backend::Sqlite {
            let b = DbBackend::Sqlite;
            let mut statements: Vec<_> = nonces
                .iter()
                .map(|(value, expires_at)| {
                    // A nonce spent before is a unique-key conflict: the
                    // batch is rolled back.
                    crate::nonces::spend_statement(&t.tenant, value, *expires_at, t.created_at)
                        .build(b)
                })
                .collect();
            statements.extend([
                insert.build(b),
                offer_deferred.build(b),
                event_statement(event).build(b),
            ]);
            return match self.write_batch(statements).await? {
                BatchOutcome::Committed(_) => Ok(Finish::Recorded),
                // The other unique key of the batch: the transaction id.
                BatchOutcome::RolledBack if self.deferred(&t.tenant, &t.id).await?.is_some() => {
                    Err(StoreError::Duplicate(TRANSACTION_ID))
                }
                BatchOutcome::RolledBack => Ok(Finish::NonceSpent),
            };
        }
        let txn = self.db.begin().await?;
        if !crate::nonces::spend_all(&txn, &t.tenant, nonces, t.created_at).await? {
            txn.rollback().await?;
            return Ok(Finish::NonceSpent);
        }
        insert
            .exec_without_returning(&txn)
            .await
            .map_err(|e| StoreError::on_insert(TRANSACTION_ID, e))?;
        offer_deferred.exec(&txn).await?;
        insert_event(&txn, event).await?;
        txn.commit().await?;
        Ok(Finish::Recorded)
    }

    /// Deferred transaction `id` of `tenant`, expired or not.
    #[tracing::instrument(name = "store.deferred", skip_all, fields(tenant = %tenant))]
    pub async fn deferred(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<DeferredTransaction>, StoreError> {
        deferred::Entity::find_by_id(id)
            .filter(deferred::Column::Tenant.eq(tenant))
            .all(&self.db)
            .await?
            .into_iter()
            .next()
            .map(from_model)
            .transpose()
    }

    /// The deferred transactions of offer `offer_id`, oldest first.
    pub async fn deferred_of_offer(
        &self,
        offer_id: &str,
    ) -> Result<Vec<DeferredTransaction>, StoreError> {
        deferred::Entity::find()
            .filter(deferred::Column::OfferId.eq(offer_id))
            .order_by_asc(deferred::Column::CreatedAt)
            .order_by_asc(deferred::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(from_model)
            .collect()
    }

    /// Settles transaction `id` of `tenant` if it is still pending or ready
    /// and unexpired at `now` (ready with its claims, or denied with the
    /// reason, claims cleared), with `event`, in one transaction; `false`
    /// (nothing stored) otherwise.
    #[tracing::instrument(name = "store.settle_deferred", skip_all, fields(tenant = %tenant))]
    pub async fn settle_deferred(
        &self,
        tenant: &str,
        id: &str,
        settlement: &Settlement,
        now: i64,
        event: NewEvent,
    ) -> Result<bool, StoreError> {
        use deferred::Column as D;
        let mut update = deferred::Entity::update_many().col_expr(D::UpdatedAt, Expr::value(now));
        update = match settlement {
            Settlement::Ready(claims) => update
                .col_expr(D::Status, Expr::value(DeferredStatus::Ready.as_str()))
                .col_expr(D::Claims, Expr::value(json_text(claims)?)),
            Settlement::Denied(reason) => update
                .col_expr(D::Status, Expr::value(DeferredStatus::Denied.as_str()))
                .col_expr(D::Claims, Expr::value(Option::<String>::None))
                .col_expr(D::Reason, Expr::value(reason.as_str())),
        };
        let txn = self.db.begin().await?;
        let done = update
            .filter(D::Id.eq(id))
            .filter(D::Tenant.eq(tenant))
            .filter(D::Status.is_in(open_statuses()))
            .filter(D::ExpiresAt.gt(now))
            .exec(&txn)
            .await?;
        if done.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        insert_event(&txn, event).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Marks transaction `id` collected (clearing its claims) if it is still
    /// pending or ready, and records `issuance`, its `credentials`, the
    /// offer's status and `event` as [`Store::finish_credential`] does, in one
    /// transaction; `false` (nothing stored) when another poll collected it
    /// first.
    #[tracing::instrument(name = "store.collect_deferred", skip_all, fields(tenant = %issuance.tenant, offer = %issuance.offer_id, configuration = %issuance.credential_configuration_id))]
    pub async fn collect_deferred(
        &self,
        id: &str,
        issuance: Issuance,
        credentials: &[CredentialRecord],
        offered: &[String],
        event: NewEvent,
    ) -> Result<bool, StoreError> {
        use deferred::Column as D;
        let txn = self.db.begin().await?;
        let done = deferred::Entity::update_many()
            .col_expr(D::Status, Expr::value(DeferredStatus::Collected.as_str()))
            .col_expr(D::Claims, Expr::value(Option::<String>::None))
            .col_expr(D::UpdatedAt, Expr::value(issuance.created_at))
            .filter(D::Id.eq(id))
            .filter(D::Tenant.eq(issuance.tenant.as_str()))
            .filter(D::Status.is_in(open_statuses()))
            .exec(&txn)
            .await?;
        if done.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        record_with_credentials(&txn, issuance, credentials, offered, event).await?;
        txn.commit().await?;
        Ok(true)
    }
}

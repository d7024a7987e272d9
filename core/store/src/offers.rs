//! Offers: create, read, resolve, revoke, and record issuance progress.

use std::collections::BTreeSet;

use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryTrait,
};

use crate::batch::{BatchOutcome, if_previous_changed, returning_one};
use crate::chain::{Chain, insert_from, returning};
use crate::entities::{issuance, offer};
use crate::events::event_statement;
use crate::offer_record::{offer_from_model, offer_to_model};
use crate::util::now_unix;
use crate::{Backend, NewEvent, Offer, OfferStatus, Store, StoreError};

/// What a unique-key conflict on an offer insert means.
const OFFER_KEYS: &str = "offer id or pre-authorized code hash";

/// Column filter: the offer has not expired at `now`.
pub(crate) fn not_expired(now: i64) -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(offer::Column::ExpiresAt.is_null())
        .add(offer::Column::ExpiresAt.gt(now))
}

/// Column filter: the status is one of `statuses`.
pub(crate) fn status_in(statuses: &[OfferStatus]) -> sea_orm::sea_query::SimpleExpr {
    offer::Column::Status.is_in(statuses.iter().map(|s| s.as_str()))
}

impl Store {
    /// Stores a new offer in status `created`.
    ///
    /// Fails with [`StoreError::Duplicate`] if the id or the pre-authorized code hash is taken.
    #[tracing::instrument(name = "store.insert_offer", skip_all, fields(tenant = %o.tenant, offer = %o.id))]
    pub async fn insert_offer(&self, o: &Offer) -> Result<Offer, StoreError> {
        let model = offer_to_model(o);
        insert_offer_on(&self.db, model.clone()).await?;
        offer_from_model(model, now_unix())
    }

    /// Stores a new offer in status `created` and `event` (its `offer_created`) in one transaction; on a SQLite file
    /// that is one batch of the group-commit writer.
    ///
    /// Fails with [`StoreError::Duplicate`] if the id or the pre-authorized code hash is taken; then nothing is stored.
    #[tracing::instrument(name = "store.create_offer", skip_all, fields(tenant = %o.tenant, offer = %o.id))]
    pub async fn create_offer(&self, o: &Offer, event: NewEvent) -> Result<Offer, StoreError> {
        let model = offer_to_model(o);
        let insert = offer::Entity::insert(model.clone().into_active_model());
        match self.backend() {
            Backend::Sqlite => {
                let b = DbBackend::Sqlite;
                let batch = vec![insert.build(b), event_statement(event).build(b)];
                if let BatchOutcome::RolledBack = self.write_batch(batch).await? {
                    return Err(StoreError::Duplicate(OFFER_KEYS));
                }
            }
            Backend::Postgres => {
                // One statement: the offer, and its event.
                let b = DbBackend::Postgres;
                let both = Chain::default()
                    .with("created", insert.build(b))
                    .then(event_statement(event).build(b));
                self.db
                    .execute_raw(both)
                    .await
                    .map_err(|e| StoreError::on_insert(OFFER_KEYS, e))?;
            }
        }
        offer_from_model(model, now_unix())
    }

    /// Reads an offer of a tenant; `None` if there is none with that id in that tenant.
    ///
    /// A created/resolved offer whose `expires_at` is at or before the system clock is reported as
    /// [`OfferStatus::Expired`] (the stored status is left alone).
    #[tracing::instrument(name = "store.get_offer", skip_all, fields(tenant = %tenant, offer = id))]
    pub async fn get_offer(&self, tenant: &str, id: &str) -> Result<Option<Offer>, StoreError> {
        let select = offer::Entity::find_by_id(id).filter(offer::Column::Tenant.eq(tenant));
        self.offer_rows(select)
            .await?
            .into_iter()
            .next()
            .map(|m| offer_from_model(m, now_unix()))
            .transpose()
    }

    /// Reads an offer by id, whatever its tenant (for the wallet-facing offer URI). Reports expiry like
    /// [`Store::get_offer`].
    #[tracing::instrument(name = "store.get_offer_by_id", skip_all, fields(offer = id))]
    pub async fn get_offer_by_id(&self, id: &str) -> Result<Option<Offer>, StoreError> {
        self.offer_rows(offer::Entity::find_by_id(id))
            .await?
            .into_iter()
            .next()
            .map(|m| offer_from_model(m, now_unix()))
            .transpose()
    }

    /// Revokes an offer of a tenant. Returns `false` if the offer is unknown, `true` otherwise.
    ///
    /// An offer already consumed or revoked keeps its status (and `revoked_at`).
    #[tracing::instrument(name = "store.revoke_offer", skip_all, fields(tenant = %tenant, offer = id))]
    pub async fn revoke_offer(&self, tenant: &str, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = revoked_statement(tenant, id, now).exec(&self.db).await?;
        if done.rows_affected > 0 {
            return Ok(true);
        }
        let exists = offer::Entity::find_by_id(id)
            .filter(offer::Column::Tenant.eq(tenant))
            .all(&self.db)
            .await?
            .into_iter()
            .next()
            .is_some();
        Ok(exists)
    }

    /// Marks an offer `resolved` (fetched by a wallet) if it is still `created` and unexpired; otherwise does
    /// nothing.
    pub async fn mark_resolved(&self, id: &str, now: i64) -> Result<(), StoreError> {
        resolved_statement(id, now).exec(&self.db).await?;
        Ok(())
    }

    /// [`Store::mark_resolved`], and `event` (its `offer_resolved`) when the offer changed, in one transaction.
    /// Returns whether the offer was marked.
    #[tracing::instrument(name = "store.resolve_offer", skip_all, fields(offer = id))]
    pub async fn resolve_offer(
        &self,
        id: &str,
        now: i64,
        event: NewEvent,
    ) -> Result<bool, StoreError> {
        self.update_with_event(resolved_statement(id, now), event)
            .await
    }

    /// Revokes an offer of a tenant and records `event` (its
    /// `offer_revoked`) in one transaction, only when the status changed:
    /// an offer unknown, already consumed or already revoked is left as it
    /// is and no event is written. Returns whether it was revoked.
    #[tracing::instrument(name = "store.revoke_offer_with_event", skip_all, fields(tenant = %tenant, offer = id))]
    pub async fn revoke_offer_with_event(
        &self,
        tenant: &str,
        id: &str,
        now: i64,
        event: NewEvent,
    ) -> Result<bool, StoreError> {
        self.update_with_event(revoked_statement(tenant, id, now), event)
            .await
    }

    /// Runs `update` and, when it changed the offer, inserts `event`, in one
    /// transaction. Returns whether the offer changed.
    async fn update_with_event(
        &self,
        update: sea_orm::UpdateMany<offer::Entity>,
        event: NewEvent,
    ) -> Result<bool, StoreError> {
        match self.backend() {
            Backend::Sqlite => {
                let b = DbBackend::Sqlite;
                let batch = vec![
                    update.build(b),
                    returning_one(if_previous_changed(event_statement(event).build(b))?),
                ];
                Ok(matches!(
                    self.write_batch(batch).await?,
                    BatchOutcome::Committed(rows) if rows.len() == 1
                ))
            }
            Backend::Postgres => {
                // One statement: the update, and the event for each row it
                // changed (none or one).
                let b = DbBackend::Postgres;
                let both = Chain::default()
                    .with("changed", returning(update.build(b), "1"))
                    .with(
                        "recorded",
                        insert_from(event_statement(event).build(b), "changed")?,
                    )
                    .then(crate::chain::sql("SELECT 1 FROM changed", Vec::new()));
                Ok(!self.db.query_all_raw(both).await?.is_empty())
            }
        }
    }

    /// Records that a credential was issued for an offer: status `credential_issued`, or `consumed` (with
    /// `consumed_at`) when `consumed` is true.
    ///
    /// Only applies to an offer in `token_issued`, `credential_issued` or `deferred`; otherwise (for example revoked
    /// meanwhile, or already consumed) it does nothing.
    #[tracing::instrument(name = "store.mark_credential_issued", skip_all, fields(offer = offer_id))]
    pub async fn mark_credential_issued(
        &self,
        offer_id: &str,
        now: i64,
        consumed: bool,
    ) -> Result<(), StoreError> {
        set_credential_issued(&self.db, offer_id, now, consumed).await
    }
}

/// Inserts the offer row `model` on `db` (a connection or a transaction).
///
/// Fails with [`StoreError::Duplicate`] if the id or the pre-authorized code hash is taken.
pub(crate) async fn insert_offer_on<C: ConnectionTrait>(
    db: &C,
    model: offer::Model,
) -> Result<(), StoreError> {
    offer::Entity::insert(model.into_active_model())
        .exec_without_returning(db)
        .await
        .map_err(|e| StoreError::on_insert(OFFER_KEYS, e))?;
    Ok(())
}

/// The conditional update behind [`Store::revoke_offer`]: an offer not
/// yet consumed or revoked becomes `revoked`.
fn revoked_statement(tenant: &str, id: &str, now: i64) -> sea_orm::UpdateMany<offer::Entity> {
    offer::Entity::update_many()
        .col_expr(
            offer::Column::Status,
            Expr::value(OfferStatus::Revoked.as_str()),
        )
        .col_expr(offer::Column::RevokedAt, Expr::value(now))
        .col_expr(offer::Column::UpdatedAt, Expr::value(now))
        .filter(offer::Column::Id.eq(id))
        .filter(offer::Column::Tenant.eq(tenant))
        .filter(offer::Column::Status.is_not_in([
            OfferStatus::Consumed.as_str(),
            OfferStatus::Revoked.as_str(),
        ]))
}

/// The conditional update behind [`Store::mark_resolved`].
fn resolved_statement(id: &str, now: i64) -> sea_orm::UpdateMany<offer::Entity> {
    offer::Entity::update_many()
        .col_expr(
            offer::Column::Status,
            Expr::value(OfferStatus::Resolved.as_str()),
        )
        .col_expr(offer::Column::ResolvedAt, Expr::value(now))
        .col_expr(offer::Column::UpdatedAt, Expr::value(now))
        .filter(offer::Column::Id.eq(id))
        .filter(offer::Column::Status.eq(OfferStatus::Created.as_str()))
        .filter(not_expired(now))
}

/// [`Store::mark_credential_issued`] on `db` (a connection or a transaction).
pub(crate) async fn set_credential_issued<C: ConnectionTrait>(
    db: &C,
    offer_id: &str,
    now: i64,
    consumed: bool,
) -> Result<(), StoreError> {
    credential_issued_statement(offer_id, now, consumed)
        .exec(db)
        .await?;
    Ok(())
}

/// The update behind [`set_credential_issued`].
pub(crate) fn credential_issued_statement(
    offer_id: &str,
    now: i64,
    consumed: bool,
) -> sea_orm::UpdateMany<offer::Entity> {
    let mut update = offer::Entity::update_many()
        .col_expr(offer::Column::CredentialIssuedAt, Expr::value(now))
        .col_expr(offer::Column::UpdatedAt, Expr::value(now));
    update = if consumed {
        update
            .col_expr(
                offer::Column::Status,
                Expr::value(OfferStatus::Consumed.as_str()),
            )
            .col_expr(offer::Column::ConsumedAt, Expr::value(now))
    } else {
        update.col_expr(
            offer::Column::Status,
            Expr::value(OfferStatus::CredentialIssued.as_str()),
        )
    };
    update
        .filter(offer::Column::Id.eq(offer_id))
        .filter(status_in(&[
            OfferStatus::TokenIssued,
            OfferStatus::CredentialIssued,
            OfferStatus::Deferred,
        ]))
}

/// The update that marks the offer `consumed` once every configuration in
/// `offered` has an issuance. Run after the issuance's insert and
/// [`credential_issued_statement`] with `consumed = false`, in the same
/// transaction: the count is then the one that transaction sees.
pub(crate) fn consumed_when_complete_statement(
    offer_id: &str,
    now: i64,
    offered: &[String],
) -> sea_orm::UpdateMany<offer::Entity> {
    let wanted: BTreeSet<&str> = offered.iter().map(String::as_str).collect();
    let issued = Query::select()
        .expr(Func::count_distinct(Expr::col((
            issuance::Entity,
            issuance::Column::CredentialConfigurationId,
        ))))
        .from(issuance::Entity)
        .and_where(Expr::col((issuance::Entity, issuance::Column::OfferId)).eq(offer_id))
        .and_where(
            Expr::col((
                issuance::Entity,
                issuance::Column::CredentialConfigurationId,
            ))
            .is_in(wanted.iter().copied()),
        )
        .to_owned();
    let count = i64::try_from(wanted.len()).unwrap_or(i64::MAX);
    credential_issued_statement(offer_id, now, true).filter(Expr::from(issued).eq(count))
}

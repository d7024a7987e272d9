//! Issuance records: one per (offer, credential configuration).

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QueryTrait, TransactionTrait, TryInsertResult,
};

use crate::chain::Chain;
use crate::entities::issuance;
use crate::events::insert_event;
use crate::offers::{
    consumed_when_complete_statement, credential_issued_statement, set_credential_issued,
};
use crate::util::to_u32;
use crate::{CredentialRecord, Finish, Issuance, NewEvent, Store, StoreError};

/// The insert of an issuance, doing nothing when that (offer, configuration) exists.
fn issuance_statement(i: Issuance) -> sea_orm::TryInsert<issuance::ActiveModel> {
    let model = issuance::Model {
        id: i.id,
        tenant: i.tenant,
        offer_id: i.offer_id,
        credential_configuration_id: i.credential_configuration_id,
        format: i.format,
        count: i64::from(i.count),
        created_at: i.created_at,
    };
    issuance::Entity::insert(model.into_active_model()).on_conflict_do_nothing_on([
        issuance::Column::OfferId,
        issuance::Column::CredentialConfigurationId,
    ])
}

/// Whether `i`'s configuration is the only one of the offer (`offered`):
/// then its issuance consumes the offer at once.
fn only_configuration(offered: &[String], i: &Issuance) -> bool {
    offered.iter().all(|c| *c == i.credential_configuration_id)
}

/// Records an issuance, the offer's new status (`consumed` once every configuration in `offered` has been issued,
/// `credential_issued` before that) and `event` on `txn`; returns whether this was the first issuance of that
/// configuration.
///
/// The same statements, in the same order, as the SQLite batch of [`Store::finish_credential`]. The offer's row
/// is updated first: on PostgreSQL that locks it, so a concurrent request for another configuration of the offer
/// waits for this transaction, and its `consumed` check (a later statement, a fresh snapshot) counts this
/// issuance.
async fn record_in<C: ConnectionTrait>(
    txn: &C,
    i: Issuance,
    offered: &[String],
    event: NewEvent,
) -> Result<bool, StoreError> {
    let (offer_id, now) = (i.offer_id.clone(), i.created_at);
    let single = only_configuration(offered, &i);
    set_credential_issued(txn, &offer_id, now, single).await?;
    let first = insert_issuance(txn, i).await?;
    if !single {
        consumed_when_complete_statement(&offer_id, now, offered)
            .exec(txn)
            .await?;
    }
    insert_event(txn, event).await?;
    Ok(first)
}

/// [`record_in`] and the inserts of the response's `credentials`, on `txn`:
/// what [`Store::finish_credential`] records after spending the nonces
/// (and [`Store::collect_deferred`] after collecting the transaction).
pub(crate) async fn record_with_credentials<C: ConnectionTrait>(
    txn: &C,
    i: Issuance,
    credentials: &[CredentialRecord],
    offered: &[String],
    event: NewEvent,
) -> Result<(), StoreError> {
    record_in(txn, i, offered, event).await?;
    crate::credentials::insert_credentials(txn, credentials).await
}

/// Inserts an issuance on `db` (a connection or a transaction); `false` when that (offer, configuration) exists.
async fn insert_issuance<C: ConnectionTrait>(db: &C, i: Issuance) -> Result<bool, StoreError> {
    let inserted = issuance_statement(i)
        .exec_without_returning(db)
        .await
        .map_err(|e| StoreError::on_insert("issuance id", e))?;
    Ok(match inserted {
        TryInsertResult::Inserted(n) => n > 0,
        TryInsertResult::Conflicted | TryInsertResult::Empty => false,
    })
}

impl Store {
    /// Records an issuance. Returns `false` (not an error) if that (offer, configuration) was already recorded.
    #[tracing::instrument(name = "store.record_issuance", skip_all, fields(tenant = %i.tenant, offer = %i.offer_id, configuration = %i.credential_configuration_id))]
    pub async fn record_issuance(&self, i: Issuance) -> Result<bool, StoreError> {
        insert_issuance(&self.db, i).await
    }

    /// Records one credential response in a single transaction: the issuance (idempotent per offer and
    /// configuration), the offer's new status (`consumed` once every configuration in `offered` has been issued,
    /// `credential_issued` before that) and `event`. Returns whether this was the first issuance of that
    /// configuration. Either all of it is stored or none.
    #[tracing::instrument(name = "store.complete_issuance", skip_all, fields(tenant = %i.tenant, offer = %i.offer_id, configuration = %i.credential_configuration_id))]
    pub async fn complete_issuance(
        &self,
        i: Issuance,
        offered: &[String],
        event: NewEvent,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await?;
        let first = record_in(&txn, i, offered, event).await?;
        txn.commit().await?;
        Ok(first)
    }

    /// Finish one credential response: spend the request's nonces (`(value, expires_at)` of tenant `i.tenant`), record
    /// the issuance, the offer's new status and `event`, all in one transaction. Returns [`Finish::NonceSpent`] and
    /// changes nothing when a nonce was spent before (a replay, or a concurrent request with the same nonce on any
    /// instance): the caller must not hand out the credentials.
    ///
    /// On SQLite this is one trip to the group-commit writer (see `batch`); on PostgreSQL a transaction of a few
    /// statements.
    #[tracing::instrument(name = "store.finish_credential", skip_all, fields(tenant = %i.tenant, offer = %i.offer_id, configuration = %i.credential_configuration_id))]
    pub async fn finish_credential(
        &self,
        nonces: &[(String, i64)],
        i: Issuance,
        credentials: &[CredentialRecord],
        offered: &[String],
        event: NewEvent,
    ) -> Result<Finish, StoreError> {
        if self.backend() == crate::Backend::Sqlite {
            return self
                .finish_in_one_batch(nonces, i, credentials, offered, event)
                .await;
        }
        if only_configuration(offered, &i) {
            return self
                .finish_in_one_statement(nonces, i, credentials, event)
                .await;
        }
        // Several configurations: whether this issuance completes the offer
        // is counted by a statement of its own after the issuance's insert,
        // in a fresh snapshot, behind the offer's row lock (`record_in`).
        let txn = self.db.begin().await?;
        if !crate::nonces::spend_all(&txn, &i.tenant, nonces, i.created_at).await? {
            txn.rollback().await?;
            return Ok(Finish::NonceSpent);
        }
        record_with_credentials(&txn, i, credentials, offered, event).await?;
        txn.commit().await?;
        Ok(Finish::Recorded)
    }

    /// [`Store::finish_credential`] on PostgreSQL for an offer of one
    /// configuration: the nonces spent, the offer consumed, the issuance,
    /// the credentials and the event, as one statement (ADR 0024). A nonce
    /// spent before is a unique-key violation that undoes all of it.
    async fn finish_in_one_statement(
        &self,
        nonces: &[(String, i64)],
        i: Issuance,
        credentials: &[CredentialRecord],
        event: NewEvent,
    ) -> Result<Finish, StoreError> {
        let b = sea_orm::DbBackend::Postgres;
        let (offer_id, now) = (i.offer_id.clone(), i.created_at);
        let mut chain = Chain::default();
        for (n, (value, expires_at)) in nonces.iter().enumerate() {
            let spend = crate::nonces::spend_statement(&i.tenant, value, *expires_at, now);
            chain = chain.with(&format!("spent_{n}"), spend.build(b));
        }
        chain = chain
            .with(
                "offer",
                credential_issued_statement(&offer_id, now, true).build(b),
            )
            .with("issued", issuance_statement(i).build(b));
        if let Some(insert) = crate::credentials::credentials_statement(credentials) {
            chain = chain.with("credentials", insert.build(b));
        }
        let tenant = event.tenant.clone();
        let statement = chain.then(crate::events::event_statement(event).build(b));
        match self.db.execute_raw(statement).await {
            Ok(_) => Ok(Finish::Recorded),
            // Which key the database reports first is its choice: a nonce
            // stored before decides (a replay), else it is a duplicate id.
            Err(e) => match StoreError::on_insert("credential id", e) {
                StoreError::Duplicate(what) => {
                    if crate::nonces::any_stored(&self.db, &tenant, nonces).await? {
                        Ok(Finish::NonceSpent)
                    } else {
                        Err(StoreError::Duplicate(what))
                    }
                }
                other => Err(other),
            },
        }
    }

    async fn finish_in_one_batch(
        &self,
        nonces: &[(String, i64)],
        i: Issuance,
        credentials: &[CredentialRecord],
        offered: &[String],
        event: NewEvent,
    ) -> Result<Finish, StoreError> {
        let single = only_configuration(offered, &i);
        let backend = sea_orm::DbBackend::Sqlite;
        let mut statements = Vec::new();
        for (value, expires_at) in nonces {
            // A nonce spent before is a unique-key conflict: the batch is
            // rolled back and nothing of it is stored.
            statements.push(
                crate::nonces::spend_statement(&i.tenant, value, *expires_at, i.created_at)
                    .build(backend),
            );
        }
        // As `record_in`: the offer's status (`consumed` at once for a single configuration), the issuance, then
        // `consumed` if the issuances now cover every configuration offered.
        let (offer_id, now) = (i.offer_id.clone(), i.created_at);
        statements.push(credential_issued_statement(&offer_id, now, single).build(backend));
        statements.push(issuance_statement(i).build(backend));
        if !single {
            statements
                .push(consumed_when_complete_statement(&offer_id, now, offered).build(backend));
        }
        if let Some(insert) = crate::credentials::credentials_statement(credentials) {
            statements.push(insert.build(backend));
        }
        statements.push(crate::events::event_statement(event).build(backend));
        match self.write_batch(statements).await? {
            crate::batch::BatchOutcome::Committed(_) => Ok(Finish::Recorded),
            crate::batch::BatchOutcome::RolledBack => Ok(Finish::NonceSpent),
        }
    }

    /// The issuances of an offer, oldest first.
    pub async fn issuances(&self, offer_id: &str) -> Result<Vec<Issuance>, StoreError> {
        let rows = issuance::Entity::find()
            .filter(issuance::Column::OfferId.eq(offer_id))
            .order_by_asc(issuance::Column::CreatedAt)
            .order_by_asc(issuance::Column::Id)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|m| {
                Ok(Issuance {
                    count: to_u32(m.count, "issuance count")?,
                    id: m.id,
                    tenant: m.tenant,
                    offer_id: m.offer_id,
                    credential_configuration_id: m.credential_configuration_id,
                    format: m.format,
                    created_at: m.created_at,
                })
            })
            .collect()
    }
}

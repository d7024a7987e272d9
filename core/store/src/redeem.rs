//! Redeeming a pre-authorized code: single use, with transaction-code attempts, decided by conditional updates.
//!
//! A refusal of a code that belongs to an offer stores the event [`Redeem::refused`] gives for it (the token
//! endpoint's rule): a counted wrong transaction code in the transaction of the count, any other refusal on its own.

use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait, TransactionTrait};
use sigil_issuer::model::RedeemRefusal;

use crate::batch::{BatchOutcome, if_previous_changed, returning_one};
use crate::chain::{Chain, returning, sql};
use crate::entities::offer;
use crate::events::insert_event;
use crate::offer_record::offer_from_model;
use crate::offers::{not_expired, status_in};
use crate::util::constant_time_eq;
use crate::{
    AccessToken, Backend, EventKind, IssuedToken, NewEvent, Offer, OfferStatus, Redeem,
    RedeemError, Store, StoreError,
};

const REDEEMABLE: [OfferStatus; 2] = [OfferStatus::Created, OfferStatus::Resolved];

/// Why an offer in this state cannot be redeemed, or `Ok` if it still can.
fn refusal(rec: &Offer, max: u32) -> Result<(), RedeemError> {
    match rec.progress.status {
        OfferStatus::Revoked => Err(RedeemError::Revoked),
        OfferStatus::Invalidated => Err(RedeemError::Invalidated),
        OfferStatus::Expired => Err(RedeemError::Expired),
        OfferStatus::TokenIssued
        | OfferStatus::CredentialIssued
        | OfferStatus::Deferred
        | OfferStatus::Consumed => Err(RedeemError::AlreadyUsed),
        OfferStatus::Created | OfferStatus::Resolved if rec.progress.tx_attempts >= max => {
            Err(RedeemError::Invalidated)
        }
        OfferStatus::Created | OfferStatus::Resolved => Ok(()),
    }
}

impl Store {
    /// Redeems a pre-authorized code: at most one caller ever succeeds for a given offer.
    ///
    /// On success the offer is `token_issued` and is returned. The decision is one conditional `UPDATE` whose
    /// affected rows pick the winner, so concurrent redeemers on any number of instances sharing the database get
    /// exactly one success; a wrong transaction code is counted by another conditional `UPDATE` that also
    /// invalidates the offer when the count reaches `max_tx_attempts`. A missing transaction code is refused
    /// without counting an attempt.
    #[tracing::instrument(name = "store.redeem_pre_authorized_code", skip_all, fields(tenant = r.tenant))]
    pub async fn redeem_pre_authorized_code(&self, r: Redeem<'_>) -> Result<Offer, RedeemError> {
        let max = Ord::max(r.max_tx_attempts, 1);
        let rec = self.redeemable(r, max).await?;
        let won = redeem_update(&rec.id, r, max)
            .exec_with_returning(&self.db)
            .await?;
        match won.into_iter().next() {
            Some(m) => Ok(offer_from_model(m, r.now)?),
            None => Err(self.lost(&rec, r, max).await),
        }
    }

    /// Redeems a pre-authorized code (as [`Store::redeem_pre_authorized_code`]) and, in the same transaction, stores
    /// the access token `token` and a `token_issued` event: either all of it happens or none. On SQLite this is one
    /// trip to the database.
    #[tracing::instrument(name = "store.redeem_for_token", skip_all, fields(tenant = r.tenant))]
    pub async fn redeem_for_token(
        &self,
        r: Redeem<'_>,
        token: IssuedToken<'_>,
    ) -> Result<Offer, RedeemError> {
        let max = Ord::max(r.max_tx_attempts, 1);
        if self.backend() == Backend::Postgres {
            return self.redeem_in_one_statement(r, token, max).await;
        }
        let mut rec = self.redeemable(r, max).await?;
        let new_token = AccessToken {
            token_hash: token.token_hash.to_owned(),
            tenant: rec.tenant.clone(),
            offer_id: rec.id.clone(),
            credential_configuration_ids: rec.credential_configuration_ids.clone(),
            created_at: r.now,
            expires_at: token.expires_at,
            authorization_id: None,
            dpop_jkt: token.dpop_jkt.map(str::to_owned),
        };
        let event = NewEvent::bare(&rec.tenant, &rec.id, EventKind::TokenIssued, r.now);
        let sqlite = DbBackend::Sqlite;
        let statements = vec![
            redeem_update(&rec.id, r, max).build(sqlite),
            if_previous_changed(crate::tokens::token_statement(new_token).build(sqlite))?,
            returning_one(if_previous_changed(
                crate::events::event_statement(event).build(sqlite),
            )?),
        ];
        match self.write_batch(statements).await? {
            BatchOutcome::Committed(rows) if rows.len() == 1 => {
                rec.progress.status = OfferStatus::TokenIssued;
                Ok(rec)
            }
            BatchOutcome::Committed(_) => Err(self.lost(&rec, r, max).await),
            BatchOutcome::RolledBack => Err(RedeemError::Store(StoreError::Duplicate(
                "access token hash",
            ))),
        }
    }

    /// [`Store::redeem_for_token`] on PostgreSQL: one statement finds the
    /// offer by its code, redeems it (the conditional update decides, the
    /// transaction code compared there) and stores the token and its event
    /// from the row it changed. Only when it changed none is the offer read,
    /// to tell the wallet why (and to count a wrong transaction code).
    async fn redeem_in_one_statement(
        &self,
        r: Redeem<'_>,
        token: IssuedToken<'_>,
        max: u32,
    ) -> Result<Offer, RedeemError> {
        let update = redeem_where(r, max)
            .filter(offer::Column::PreAuthorizedCodeHash.eq(r.code_hash))
            .filter(offer::Column::Tenant.eq(r.tenant))
            .build(DbBackend::Postgres);
        let token_row = sql(
            "INSERT INTO access_tokens (token_hash, tenant, offer_id, credential_configuration_ids, \
             created_at, expires_at, authorization_id, dpop_jkt) \
             SELECT $1, won.tenant, won.id, won.credential_configuration_ids, $2, $3, NULL, $4 FROM won",
            vec![
                token.token_hash.into(),
                r.now.into(),
                token.expires_at.into(),
                token.dpop_jkt.map(str::to_owned).into(),
            ],
        );
        let event = NewEvent::bare(r.tenant, "", EventKind::TokenIssued, r.now);
        let event_row = sql(
            "INSERT INTO events (tenant, offer_id, kind, detail, created_at) \
             SELECT won.tenant, won.id, $1, $2, $3 FROM won",
            vec![
                event.kind.as_str().into(),
                event.detail.into(),
                event.created_at.into(),
            ],
        );
        let statement = Chain::default()
            .with("won", returning(update, "*"))
            .with("token", token_row)
            .with("recorded", event_row)
            .then(sql("SELECT * FROM won", Vec::new()));
        let won = offer::Entity::find()
            .from_raw_sql(statement)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::on_insert("access token hash", e))?;
        match won.into_iter().next() {
            Some(m) => Ok(offer_from_model(m, r.now)?),
            None => {
                // Refused (told and recorded by `redeemable`), or redeemable
                // when read again: another redeemer won meanwhile.
                let rec = self.redeemable(r, max).await?;
                Err(self.lost(&rec, r, max).await)
            }
        }
    }

    /// Reads the offer of `r`'s code and checks it can be redeemed with the transaction code sent; a wrong one is
    /// counted here. A refusal is recorded on the offer.
    async fn redeemable(&self, r: Redeem<'_>, max: u32) -> Result<Offer, RedeemError> {
        let select = offer::Entity::find()
            .filter(offer::Column::PreAuthorizedCodeHash.eq(r.code_hash))
            .filter(offer::Column::Tenant.eq(r.tenant));
        let found = self
            .offer_rows(select)
            .await?
            .into_iter()
            .next()
            .ok_or(RedeemError::UnknownCode)?;
        let rec = offer_from_model(found, r.now)?;
        // Whether the transaction code sent matches, when the request has the right shape.
        let tx_code_matches = match (rec.tx_code_hash.as_deref(), r.tx_code_hash) {
            (Some(_), None) => Err(RedeemError::TxCodeRequired),
            (None, Some(_)) => Err(RedeemError::TxCodeNotExpected),
            (Some(expected), Some(sent)) => Ok(constant_time_eq(expected, sent)),
            (None, None) => Ok(true),
        };
        match refusal(&rec, max).and(tx_code_matches) {
            Ok(true) => Ok(rec),
            Ok(false) => Err(self.count_wrong_tx_code(&rec, r, max).await?),
            Err(e) => Err(self.refused(&rec, r, e).await),
        }
    }

    /// Records the event `r.refused` gives for refusal `e` of offer `rec`, on its own, and returns `e`. A failure to
    /// record is logged: the refusal stands.
    async fn refused(&self, rec: &Offer, r: Redeem<'_>, e: RedeemError) -> RedeemError {
        if let Some(event) = refusal_event(rec, r, &e)
            && let Err(failure) = insert_event(&self.db, event).await
        {
            tracing::warn!(error = %failure, offer = %rec.id, "recording a refused redemption failed");
        }
        e
    }

    /// [`Store::why_lost`] for offer `rec`, recorded like any refusal (not when the offer is gone or the store
    /// failed).
    async fn lost(&self, rec: &Offer, r: Redeem<'_>, max: u32) -> RedeemError {
        let e = self.why_lost(&rec.id, r.now, max).await;
        self.refused(rec, r, e).await
    }

    /// Counts one wrong transaction code for offer `rec`, invalidating it in the same statement when the last
    /// attempt is used up, and records the refusal's event in the same transaction.
    async fn count_wrong_tx_code(
        &self,
        rec: &Offer,
        r: Redeem<'_>,
        max: u32,
    ) -> Result<RedeemError, RedeemError> {
        let (id, now) = (rec.id.as_str(), r.now);
        let attempts_after = Expr::col(offer::Column::TxAttempts).add(1);
        let new_status: Expr = CaseStatement::new()
            .case(
                attempts_after.clone().gte(i64::from(max)),
                Expr::value(OfferStatus::Invalidated.as_str()),
            )
            .finally(Expr::col(offer::Column::Status))
            .into();
        let txn = self.db.begin().await?;
        let counted = offer::Entity::update_many()
            .col_expr(offer::Column::TxAttempts, attempts_after)
            .col_expr(offer::Column::Status, new_status)
            .col_expr(offer::Column::UpdatedAt, Expr::value(now))
            .filter(offer::Column::Id.eq(id))
            .filter(status_in(&REDEEMABLE))
            .filter(not_expired(now))
            .filter(offer::Column::TxAttempts.lt(i64::from(max)))
            .exec_with_returning(&txn)
            .await?;
        match counted.into_iter().next() {
            Some(m) => {
                let attempts = u32::try_from(m.tx_attempts).unwrap_or(u32::MAX);
                let e = RedeemError::WrongTxCode {
                    remaining: max.saturating_sub(attempts),
                };
                if let Some(event) = refusal_event(rec, r, &e) {
                    insert_event(&txn, event).await?;
                }
                txn.commit().await?;
                Ok(e)
            }
            None => {
                txn.rollback().await?;
                Ok(self.lost(rec, r, max).await)
            }
        }
    }

    /// Explains why a conditional update matched no row: re-reads the offer and classifies it.
    async fn why_lost(&self, id: &str, now: i64, max: u32) -> RedeemError {
        // `all`, not `one`: see `crate::util` on bound LIMITs.
        let found = match self
            .offer_rows(offer::Entity::find_by_id(id))
            .await
            .map(|v| v.into_iter().next())
        {
            Ok(Some(m)) => m,
            Ok(None) => return RedeemError::UnknownCode,
            Err(e) => return e.into(),
        };
        match offer_from_model(found, now) {
            Ok(rec) => match refusal(&rec, max) {
                Err(e) => e,
                // Still redeemable yet not updated: another redeemer is mid-flight or the row changed under us.
                Ok(()) => RedeemError::AlreadyUsed,
            },
            Err(e) => e.into(),
        }
    }
}

/// The event `r.refused` gives for refusal `e` of offer `rec`, if any (none for a store failure or a vanished offer).
fn refusal_event(rec: &Offer, r: Redeem<'_>, e: &RedeemError) -> Option<NewEvent> {
    let refusal = e.refusal()?;
    if refusal == RedeemRefusal::UnknownCode {
        return None;
    }
    (r.refused?)(&rec.tenant, &rec.id, refusal, r.now)
}

/// The conditional update that redeems the code of offer `id`: it matches only while the offer is redeemable and the
/// transaction code (checked again here, so the database has the last word) matches.
fn redeem_update(id: &str, r: Redeem<'_>, max: u32) -> sea_orm::UpdateMany<offer::Entity> {
    redeem_where(r, max).filter(offer::Column::Id.eq(id))
}

/// [`redeem_update`] without the offer named: the caller adds what selects it.
fn redeem_where(r: Redeem<'_>, max: u32) -> sea_orm::UpdateMany<offer::Entity> {
    let tx_code_matches = match r.tx_code_hash {
        Some(sent) => offer::Column::TxCodeHash.eq(sent),
        None => offer::Column::TxCodeHash.is_null(),
    };
    offer::Entity::update_many()
        .col_expr(
            offer::Column::Status,
            Expr::value(OfferStatus::TokenIssued.as_str()),
        )
        .col_expr(offer::Column::TokenIssuedAt, Expr::value(r.now))
        .col_expr(offer::Column::UpdatedAt, Expr::value(r.now))
        .filter(status_in(&REDEEMABLE))
        .filter(not_expired(r.now))
        .filter(offer::Column::TxAttempts.lt(i64::from(max)))
        .filter(tx_code_matches)
}

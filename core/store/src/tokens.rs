//! Access tokens, stored by hash.

use sea_orm::{
    ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, TransactionTrait, TryInsertResult,
};

use crate::entities::{access_token, offer};
use crate::events::insert_offer_event;
use crate::offer_record::{offer_from_model, offer_to_model};
use crate::offers::insert_offer_on;
use crate::util::{json_to_strings, strings_to_json};
use crate::{AccessToken, NewEvent, Offer, OfferStatus, Store, StoreError};

impl Store {
    /// Stores an access token. Fails with [`StoreError::Duplicate`] if the hash exists, or with a database error if
    /// the offer does not.
    pub async fn insert_access_token(&self, t: AccessToken) -> Result<(), StoreError> {
        token_statement(t)
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| StoreError::on_insert("access token hash", e))?;
        Ok(())
    }

    /// Finds a live access token by hash: `None` when unknown, expired (`expires_at <= now`) or when its offer was
    /// revoked.
    pub async fn find_access_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<AccessToken>, StoreError> {
        Ok(self
            .find_access_token_and_offer(token_hash, now)
            .await?
            .map(|(token, _)| token))
    }

    /// Records the first use of an external authorization server's access token, in one transaction: `offer`
    /// (made for the token), the token row `t` (for `offer`) and `event`; when a row with the token's hash exists
    /// already (a concurrent first use of the same token won, or an earlier use whose row has expired or whose
    /// offer was revoked), nothing is stored. Either way returns what [`Store::find_access_token_and_offer`] now
    /// finds for the hash.
    ///
    /// Fails with [`StoreError::Duplicate`] if the offer id is taken.
    #[tracing::instrument(name = "store.record_external_token", skip_all, fields(tenant = %offer.tenant, offer = %offer.id))]
    pub async fn record_external_token(
        &self,
        offer: &Offer,
        t: AccessToken,
        event: NewEvent,
        now: i64,
    ) -> Result<Option<(AccessToken, Offer)>, StoreError> {
        let hash = t.token_hash.clone();
        let txn = self.db.begin().await?;
        // First: on SQLite a transaction whose first statement writes takes
        // the write lock at once (with the busy handler).
        insert_offer_on(&txn, offer_to_model(offer)).await?;
        let inserted = token_statement(t)
            .on_conflict_do_nothing_on([access_token::Column::TokenHash])
            .exec_without_returning(&txn)
            .await
            .map_err(|e| StoreError::on_insert("access token hash", e))?;
        if matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
            insert_offer_event(&txn, Some(event)).await?;
            txn.commit().await?;
        } else {
            txn.rollback().await?;
        }
        self.find_access_token_and_offer(&hash, now).await
    }

    /// [`Store::find_access_token`] with the token's offer, in one query (the credential endpoint needs both).
    #[tracing::instrument(name = "store.find_access_token_and_offer", skip_all)]
    pub async fn find_access_token_and_offer(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(AccessToken, Offer)>, StoreError> {
        let select = access_token::Entity::find_by_id(token_hash)
            .filter(access_token::Column::ExpiresAt.gt(now))
            .find_also_related(offer::Entity)
            .filter(offer::Column::Status.ne(OfferStatus::Revoked.as_str()));
        let found = self.access_token_rows(select).await?.into_iter().next();
        let Some((m, Some(o))) = found else {
            return Ok(None);
        };
        let token = AccessToken {
            credential_configuration_ids: json_to_strings(
                m.credential_configuration_ids,
                "access token credential_configuration_ids",
            )?,
            token_hash: m.token_hash,
            tenant: m.tenant,
            offer_id: m.offer_id,
            created_at: m.created_at,
            expires_at: m.expires_at,
            authorization_id: m.authorization_id,
            dpop_jkt: m.dpop_jkt,
        };
        Ok(Some((token, offer_from_model(o, now)?)))
    }
}

/// The insert of an access token.
pub(crate) fn token_statement(t: AccessToken) -> sea_orm::Insert<access_token::ActiveModel> {
    let model = access_token::Model {
        credential_configuration_ids: strings_to_json(&t.credential_configuration_ids),
        token_hash: t.token_hash,
        tenant: t.tenant,
        offer_id: t.offer_id,
        created_at: t.created_at,
        expires_at: t.expires_at,
        authorization_id: t.authorization_id,
        dpop_jkt: t.dpop_jkt,
    };
    access_token::Entity::insert(model.into_active_model())
}

//! Access tokens, stored by hash.

use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};

use crate::entities::{access_token, offer};
use crate::offer_record::offer_from_model;
use crate::util::{json_to_strings, strings_to_json};
use crate::{AccessToken, Offer, OfferStatus, Store, StoreError};

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

    /// [`Store::find_access_token`] with the token's offer, in one query (the credential endpoint needs both).
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

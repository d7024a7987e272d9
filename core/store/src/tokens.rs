//! Access tokens, stored by hash.

use std::fmt;

use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};

use crate::entities::{access_token, offer};
use crate::util::{json_to_strings, strings_to_json};
use crate::{OfferRecord, OfferStatus, Store, StoreError};

/// A new access token (its hash; the store never sees the token).
#[derive(Clone)]
pub struct NewAccessToken {
    /// Hash of the token (hex SHA-256, computed by the caller).
    pub token_hash: String,
    /// Tenant the token belongs to.
    pub tenant: String,
    /// Offer the token was issued for.
    pub offer_id: String,
    /// Credential configurations the token grants.
    pub credential_configuration_ids: Vec<String>,
    /// Issue time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

/// A stored access token.
#[derive(Clone)]
pub struct AccessTokenRecord {
    /// Hash of the token.
    pub token_hash: String,
    /// Tenant the token belongs to.
    pub tenant: String,
    /// Offer the token was issued for.
    pub offer_id: String,
    /// Credential configurations the token grants.
    pub credential_configuration_ids: Vec<String>,
    /// Issue time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

fn debug_token(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    tenant: &str,
    offer_id: &str,
    ids: &[String],
    created_at: i64,
    expires_at: i64,
) -> fmt::Result {
    f.debug_struct(name)
        .field("token_hash", &"<redacted>")
        .field("tenant", &tenant)
        .field("offer_id", &offer_id)
        .field("credential_configuration_ids", &ids)
        .field("created_at", &created_at)
        .field("expires_at", &expires_at)
        .finish()
}

impl fmt::Debug for NewAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_token(
            f,
            "NewAccessToken",
            &self.tenant,
            &self.offer_id,
            &self.credential_configuration_ids,
            self.created_at,
            self.expires_at,
        )
    }
}

impl fmt::Debug for AccessTokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_token(
            f,
            "AccessTokenRecord",
            &self.tenant,
            &self.offer_id,
            &self.credential_configuration_ids,
            self.created_at,
            self.expires_at,
        )
    }
}

impl Store {
    /// Stores an access token. Fails with [`StoreError::Duplicate`] if the hash exists, or with a database error if
    /// the offer does not.
    pub async fn insert_access_token(&self, t: NewAccessToken) -> Result<(), StoreError> {
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
    ) -> Result<Option<AccessTokenRecord>, StoreError> {
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
    ) -> Result<Option<(AccessTokenRecord, OfferRecord)>, StoreError> {
        let select = access_token::Entity::find_by_id(token_hash)
            .filter(access_token::Column::ExpiresAt.gt(now))
            .find_also_related(offer::Entity)
            .filter(offer::Column::Status.ne(OfferStatus::Revoked.as_str()));
        let found = self.access_token_rows(select).await?.into_iter().next();
        let Some((m, Some(o))) = found else {
            return Ok(None);
        };
        let token = AccessTokenRecord {
            credential_configuration_ids: json_to_strings(
                m.credential_configuration_ids,
                "access token credential_configuration_ids",
            )?,
            token_hash: m.token_hash,
            tenant: m.tenant,
            offer_id: m.offer_id,
            created_at: m.created_at,
            expires_at: m.expires_at,
        };
        Ok(Some((token, OfferRecord::from_model(o, now)?)))
    }
}

/// The insert of an access token.
pub(crate) fn token_statement(t: NewAccessToken) -> sea_orm::Insert<access_token::ActiveModel> {
    let model = access_token::Model {
        credential_configuration_ids: strings_to_json(&t.credential_configuration_ids),
        token_hash: t.token_hash,
        tenant: t.tenant,
        offer_id: t.offer_id,
        created_at: t.created_at,
        expires_at: t.expires_at,
    };
    access_token::Entity::insert(model.into_active_model())
}

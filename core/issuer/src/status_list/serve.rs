//! `GET {issuer}/statuslists/{n}`: the signed list, cached per instance.
//! Each request reads the list's `version` (one cheap read); the cached
//! token is served while the version and the signing key are unchanged and
//! the token is more than `ttl` from its `exp`, else the list is rebuilt
//! from its non-valid entries and signed again.

use std::sync::Arc;

use thiserror::Error;

use super::token::{self, TokenClaims, TokenForm};
use super::{encoding, lock, status_list_uri};
use crate::ports::{IssuerTenant, LifecycleStore, StoreFailure};
use crate::service::Issuer;

/// A status list token as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListToken {
    /// The compact JWS (UTF-8) or the COSE_Sign1 bytes.
    pub body: Arc<[u8]>,
    /// `application/statuslist+jwt` or `application/statuslist+cwt`.
    pub content_type: &'static str,
    /// Its `ttl`: how long a verifier (and an HTTP cache) may keep it, seconds.
    pub ttl: u64,
}

/// Why a status list token could not be served.
#[derive(Debug, Error)]
pub enum StatusListCause {
    /// The tenant has no list with that number.
    #[error("no such status list")]
    UnknownList,
    /// The store failed.
    #[error("the status list could not be read: {0}")]
    Store(#[from] StoreFailure),
    /// The tenant's key could not sign it.
    #[error("the status list could not be signed: {0}")]
    Signing(String),
}

/// One signed token and what it was signed from.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    version: i64,
    kid: String,
    exp: i64,
    token: StatusListToken,
}

impl<S: LifecycleStore, P> Issuer<S, P> {
    /// The token of list `number` of `tenant` in `form`.
    pub async fn status_list_token<T: IssuerTenant>(
        &self,
        tenant: &T,
        number: u32,
        form: TokenForm,
    ) -> Result<StatusListToken, StatusListCause> {
        let list = self
            .store
            .status_list(tenant.id(), number)
            .await?
            .ok_or(StatusListCause::UnknownList)?;
        let signer = tenant
            .status_list_signer()
            .map_err(StatusListCause::Signing)?;
        let settings = &self.settings.status_lists;
        let ttl = settings.ttl_seconds;
        let now = self.now();
        let key = (tenant.id().to_owned(), number, form);
        let fresh = |c: &Cached| {
            c.version == list.version
                && c.kid == signer.key_id()
                && now < c.exp.saturating_sub(i64::try_from(ttl).unwrap_or(i64::MAX))
        };
        if let Some(c) = lock(&self.status_lists.tokens)
            .get(&key)
            .filter(|c| fresh(c))
        {
            return Ok(c.token.clone());
        }
        let entries: Vec<(u64, u8)> = self
            .store
            .status_entries(tenant.id(), number)
            .await?
            .into_iter()
            .map(|(index, status)| (index, status.value()))
            .collect();
        let compressed = encoding::compress(&encoding::pack(list.size, list.bits, &entries));
        let uri = status_list_uri(tenant.issuer(), number);
        let exp = now.saturating_add(i64::try_from(settings.token_seconds).unwrap_or(i64::MAX));
        let claims = TokenClaims {
            uri: &uri,
            iat: now,
            exp,
            ttl,
            bits: list.bits,
            compressed: &compressed,
        };
        let body: Arc<[u8]> = match form {
            TokenForm::Jwt => token::sign_jwt(signer.as_ref(), &claims)
                .map_err(StatusListCause::Signing)?
                .into_bytes()
                .into(),
            TokenForm::Cwt => token::sign_cwt(signer.as_ref(), &claims)
                .map_err(StatusListCause::Signing)?
                .into(),
        };
        let token = StatusListToken {
            body,
            content_type: form.content_type(),
            ttl,
        };
        tracing::debug!(
            tenant = tenant.id(),
            list = number,
            version = list.version,
            entries = entries.len(),
            ?form,
            "status list signed"
        );
        lock(&self.status_lists.tokens).insert(
            key,
            Cached {
                version: list.version,
                kid: signer.key_id().to_owned(),
                exp,
                token: token.clone(),
            },
        );
        Ok(token)
    }
}

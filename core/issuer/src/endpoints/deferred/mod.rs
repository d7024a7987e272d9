//! `POST /deferred_credential` (OID4VCI 1.0 §9); the operator's side of
//! deferred issuance (`complete`, `deny`) is [`settle`].
//!
//! A credential request that was deferred ([`super::credential`]) left a
//! [`DeferredTransaction`] holding the proven holder keys; the wallet polls
//! with its `transaction_id` and gets `202` with the same id while it is
//! pending, the credential once it is ready (signed then, with its status
//! list entries), `credential_request_denied` once the operator denied it,
//! and `invalid_transaction_id` when it is unknown, expired, another
//! offer's or collected. A transaction whose claim source answered
//! `pending` asks the source again on each poll.
//!
//! Access tokens live minutes and a deferral may last days, so the token
//! that was live when the transaction was created is accepted too, as is
//! any live token of the same offer.

use serde::Deserialize;
use serde_json::{Map, Value};
use sigil_settings::CredentialConfiguration;

use super::credential::{
    CredentialAccess, CredentialCause, CredentialOutcome, CredentialResponse, DeferredResponse,
    IssuedCredential, access_token,
};
use super::issuance::Resolved;
use crate::errors::{CredentialErrorCode, DeferredErrorCode as Code};
use crate::model::{
    AccessToken, Authorization, DeferredOrigin, DeferredStatus, DeferredTransaction, EventKind,
    Offer, Settlement,
};
use crate::observe::{Endpoint, Issuance, IssuanceOutcome};
use crate::ports::{
    AuthorizationStore, ClaimFailure, ClaimSources, CredentialFormats, IssuanceStore, IssuerTenant,
    LifecycleStore, OpenIdProviders, PluginFault, StoreFailure,
};
use crate::secrets;
use crate::service::Issuer;

mod settle;

use settle::settle_event;
pub use settle::{Completion, MAX_REASON, SettleCause};

/// Whether `id` can be a transaction id Sigil gave (non-empty, at most
/// 128 bytes): anything else is unknown without a lookup.
pub fn plausible_transaction_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128
}

/// A deferred credential request (§9.1). Unknown members are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeferredRequest {
    /// From the `202` of the credential endpoint.
    pub transaction_id: String,
    /// Response encryption parameters (not supported).
    #[serde(default)]
    pub credential_response_encryption: Option<Value>,
}

impl DeferredRequest {
    /// Parse a request body sent with `content_type`: it must be
    /// `application/json`, without repeated member names.
    pub fn from_body(content_type: Option<&str>, body: &[u8]) -> Result<Self, DeferredCause> {
        super::json_body(content_type, body).map_err(DeferredCause::from)
    }

    /// Parse a JSON body ([`crate::json::parse_strict`]).
    pub fn from_json(body: &[u8]) -> Result<Self, DeferredCause> {
        super::strict_json(body).map_err(DeferredCause::from)
    }
}

impl From<super::BodyFault> for DeferredCause {
    fn from(f: super::BodyFault) -> Self {
        match f {
            super::BodyFault::NotJson(media) => Self::NotJson(media),
            super::BodyFault::Syntax(e) | super::BodyFault::Shape(e) => Self::Body(e),
        }
    }
}

/// Why a deferred credential request failed.
#[derive(Debug)]
pub enum DeferredCause {
    /// What the credential endpoint refuses too: the access token and its
    /// DPoP proof, response encryption, and failures while signing or
    /// recording the credential.
    Credential(CredentialCause),
    /// The body is not sent as `application/json` (the media type given).
    NotJson(String),
    /// The body is not a JSON object with a string `transaction_id`.
    Body(String),
    /// No transaction with this id for the access token's offer.
    UnknownTransaction,
    /// The transaction expired.
    Expired,
    /// The credential was collected already (or by a concurrent poll).
    Collected,
    /// The operator (or the claim source) denied the issuance.
    Denied,
    /// The transaction's configuration is no longer offered.
    ConfigurationGone(String),
    /// Reading the transaction failed.
    Lookup(StoreFailure),
}

impl From<CredentialCause> for DeferredCause {
    fn from(c: CredentialCause) -> Self {
        Self::Credential(c)
    }
}

impl DeferredCause {
    /// The spec's error code (§9.3, §8.3.1, RFC 6750 §3.1).
    pub fn code(&self) -> Code {
        match self {
            Self::Credential(c) => Code::Credential(c.code()),
            Self::NotJson(_) | Self::Body(_) => {
                Code::Credential(CredentialErrorCode::InvalidCredentialRequest)
            }
            Self::UnknownTransaction | Self::Expired | Self::Collected => {
                Code::InvalidTransactionId
            }
            Self::Denied | Self::ConfigurationGone(_) => {
                Code::Credential(CredentialErrorCode::CredentialRequestDenied)
            }
            Self::Lookup(_) => Code::Credential(CredentialErrorCode::ServerError),
        }
    }

    /// What the wallet is told: no claim values, no operator notes.
    pub fn description(&self) -> String {
        match self {
            Self::Credential(c) => c.description(),
            Self::NotJson(given) if given.is_empty() => {
                "send the deferred credential request with Content-Type: application/json".into()
            }
            Self::NotJson(given) => format!(
                "the deferred credential request is sent as {given}; send it as application/json"
            ),
            Self::Body(e) => format!(
                "the body must be a JSON object with the transaction_id (a string) of a deferred credential response: {e}"
            ),
            Self::UnknownTransaction => {
                "transaction_id is not a deferred issuance of this access token's offer".into()
            }
            Self::Expired => "transaction_id has expired; start the issuance again".into(),
            Self::Collected => {
                "transaction_id was used: its credential has been issued already".into()
            }
            Self::Denied => "the issuer will not issue this credential; stop polling".into(),
            Self::ConfigurationGone(id) => {
                format!("the issuer no longer offers {id}; stop polling")
            }
            Self::Lookup(_) => "the request could not be processed; try again".into(),
        }
    }
}

/// The token of a deferred request, its offer, and the transaction when it
/// was read to find an expired token.
type DeferredGrant = (AccessToken, Offer, Option<DeferredTransaction>);

impl<S, P> Issuer<S, P>
where
    S: IssuanceStore + AuthorizationStore + LifecycleStore,
    P: ClaimSources + CredentialFormats,
{
    /// Answer a deferred credential request: `202` with the same
    /// `transaction_id` while pending, the credentials once ready. `access`
    /// holds the `Authorization` and `DPoP` headers (and this endpoint's
    /// URL); `request` the parsed body, checked after the token.
    #[tracing::instrument(name = "issuer.deferred_credential", skip_all, fields(tenant = tenant.id()))]
    pub async fn deferred_credential<T, O>(
        &self,
        tenant: &T,
        access: CredentialAccess<'_>,
        request: Result<DeferredRequest, DeferredCause>,
        providers: &O,
    ) -> Result<CredentialOutcome, DeferredCause>
    where
        T: IssuerTenant<Signer = P::Signer>,
        O: OpenIdProviders,
    {
        let answer = self
            .deferred_answer(tenant, access, request, providers)
            .await;
        if let Err(cause) = &answer {
            self.observer
                .refused(Endpoint::DeferredCredential, cause.code().as_str());
        }
        answer
    }

    /// [`Issuer::deferred_credential`], unobserved.
    async fn deferred_answer<T, O>(
        &self,
        tenant: &T,
        access: CredentialAccess<'_>,
        request: Result<DeferredRequest, DeferredCause>,
        providers: &O,
    ) -> Result<CredentialOutcome, DeferredCause>
    where
        T: IssuerTenant<Signer = P::Signer>,
        O: OpenIdProviders,
    {
        let (grant, offer, found) = self
            .deferred_grant(tenant, access, request.as_ref().ok(), providers)
            .await?;
        let request = request?;
        if request.credential_response_encryption.is_some() {
            return Err(CredentialCause::EncryptionUnsupported.into());
        }
        let t = match found {
            Some(t) => t,
            None => self
                .transaction(tenant, &request.transaction_id)
                .await?
                .ok_or(DeferredCause::UnknownTransaction)?,
        };
        let now = self.now();
        if t.offer_id != grant.offer_id {
            return Err(DeferredCause::UnknownTransaction);
        }
        if t.expires_at <= now {
            return Err(DeferredCause::Expired);
        }
        let claims = match t.status {
            DeferredStatus::Collected => return Err(DeferredCause::Collected),
            DeferredStatus::Denied => return Err(DeferredCause::Denied),
            DeferredStatus::Ready => t.claims.clone().ok_or_else(|| {
                DeferredCause::Lookup(StoreFailure("a ready transaction has no claims".into()))
            })?,
            DeferredStatus::Pending if t.origin == DeferredOrigin::Offer => {
                return Ok(pending(&t, t.interval_seconds));
            }
            DeferredStatus::Pending => match self.ask_source(tenant, &offer, &t).await? {
                Resolved::Claims(claims) => claims,
                Resolved::Pending {
                    interval_seconds, ..
                } => return Ok(pending(&t, interval_seconds)),
            },
        };
        self.collect(tenant, &offer, &t, claims, now).await
    }

    /// The access token of a deferred request and its offer: a live one
    /// (Sigil's own or an external server's, as at the credential
    /// endpoint), else the one that was live when the request's transaction
    /// was created (then the transaction comes back too); its DPoP binding
    /// checked either way.
    async fn deferred_grant<T: IssuerTenant, O: OpenIdProviders>(
        &self,
        tenant: &T,
        access: CredentialAccess<'_>,
        request: Option<&DeferredRequest>,
        providers: &O,
    ) -> Result<DeferredGrant, DeferredCause> {
        let (token, dpop_scheme) =
            access_token(access.authorization).ok_or(CredentialCause::MissingToken)?;
        let hash = secrets::hash(token);
        let (grant, offer, found) = match self.token_at(tenant, &hash, self.now()).await? {
            Some((g, o)) => (g, o, None),
            None => match self.token_of_transaction(tenant, &hash, request).await? {
                Some(found) => found,
                None => {
                    let (g, o) = self.external_token(tenant, token, &hash, providers).await?;
                    (g, o, None)
                }
            },
        };
        self.check_binding(tenant, &grant, token, dpop_scheme, access)
            .await?;
        Ok((grant, offer, found))
    }

    /// The tenant's access token with hash `hash` live at `at`.
    async fn token_at<T: IssuerTenant>(
        &self,
        tenant: &T,
        hash: &str,
        at: i64,
    ) -> Result<Option<(AccessToken, Offer)>, CredentialCause> {
        match self.store.access_token(hash, at).await {
            Ok(Some((g, o))) if g.tenant == tenant.id() => Ok(Some((g, o))),
            Ok(Some(_)) => Err(CredentialCause::UnknownToken),
            Ok(None) => Ok(None),
            Err(e) => {
                tracing::error!(error = %e, "reading an access token failed");
                Err(CredentialCause::TokenLookup(e))
            }
        }
    }

    /// The access token with hash `hash` when it was issued for the
    /// request's transaction's offer and was live when the transaction was
    /// created, with that transaction.
    async fn token_of_transaction<T: IssuerTenant>(
        &self,
        tenant: &T,
        hash: &str,
        request: Option<&DeferredRequest>,
    ) -> Result<Option<DeferredGrant>, DeferredCause> {
        let Some(request) = request else {
            return Ok(None);
        };
        let Some(t) = self.transaction(tenant, &request.transaction_id).await? else {
            return Ok(None);
        };
        Ok(self
            .token_at(tenant, hash, t.created_at)
            .await?
            .filter(|(g, _)| g.offer_id == t.offer_id && g.created_at <= t.created_at)
            .map(|(g, o)| (g, o, Some(t))))
    }

    /// Transaction `id` of `tenant`.
    async fn transaction<T: IssuerTenant>(
        &self,
        tenant: &T,
        id: &str,
    ) -> Result<Option<DeferredTransaction>, DeferredCause> {
        if !plausible_transaction_id(id) {
            return Ok(None);
        }
        self.store.deferred(tenant.id(), id).await.map_err(|e| {
            tracing::error!(error = %e, "reading a deferred transaction failed");
            DeferredCause::Lookup(e)
        })
    }

    /// Ask the claim source of a `source`-origin transaction again. A
    /// source that now refuses denies the transaction, so the wallet stops
    /// polling and the operator sees why.
    async fn ask_source<T: IssuerTenant>(
        &self,
        tenant: &T,
        offer: &Offer,
        t: &DeferredTransaction,
    ) -> Result<Resolved, DeferredCause> {
        let config = self.deferred_configuration(tenant, t).ok_or_else(|| {
            DeferredCause::ConfigurationGone(t.credential_configuration_id.clone())
        })?;
        let authorization = self
            .transaction_authorization(t)
            .await
            .map_err(DeferredCause::Lookup)?;
        match self
            .resolve(
                tenant,
                offer,
                authorization.as_ref(),
                config,
                &t.holder_keys,
            )
            .await
        {
            Err(CredentialCause::Plugin(failure))
                if matches!(
                    failure.fault,
                    PluginFault::Claim(ClaimFailure::Denied(_) | ClaimFailure::NotFound(_))
                ) =>
            {
                let reason = format!("the claim source refused: {}", failure.message);
                let now = self.now();
                let event = settle_event(tenant, t, EventKind::IssuanceDenied, Some(&reason), now);
                let denied = Settlement::Denied(reason);
                if let Err(e) = self
                    .store
                    .settle_deferred(tenant.id(), &t.id, &denied, now, event)
                    .await
                {
                    tracing::error!(error = %e, "recording a denied deferred transaction failed");
                }
                Err(CredentialCause::Plugin(failure).into())
            }
            other => Ok(other?),
        }
    }

    /// Sign the credentials of `t` with `claims` and record them with the
    /// transaction collected; `invalid_transaction_id` when a concurrent
    /// poll collected it first (nothing of this one is handed out).
    async fn collect<T>(
        &self,
        tenant: &T,
        offer: &Offer,
        t: &DeferredTransaction,
        claims: Map<String, Value>,
        now: i64,
    ) -> Result<CredentialOutcome, DeferredCause>
    where
        T: IssuerTenant<Signer = P::Signer>,
    {
        let config = self.deferred_configuration(tenant, t).ok_or_else(|| {
            DeferredCause::ConfigurationGone(t.credential_configuration_id.clone())
        })?;
        let mut signed = self
            .sign(tenant, offer, config, claims, t.holder_keys.clone(), now)
            .await?;
        if let Some(detail) = signed.event.detail.as_object_mut() {
            detail.insert("transactionId".into(), t.id.clone().into());
        }
        match self
            .store
            .collect_deferred(
                &t.id,
                signed.issuance,
                &signed.records,
                &offer.credential_configuration_ids,
                signed.event,
            )
            .await
        {
            Ok(true) => {
                self.observer.issuance(Issuance {
                    tenant: tenant.id(),
                    configuration: &config.id,
                    format: &config.format,
                    outcome: IssuanceOutcome::Issued,
                });
                Ok(CredentialOutcome::Issued(CredentialResponse {
                    credentials: signed
                        .credentials
                        .into_iter()
                        .map(|credential| IssuedCredential { credential })
                        .collect(),
                    notification_id: signed.notification_id,
                }))
            }
            Ok(false) => Err(DeferredCause::Collected),
            Err(e) => {
                tracing::error!(error = %e, offer = %offer.id, "recording a deferred issuance failed");
                Err(CredentialCause::Record(e).into())
            }
        }
    }

    /// The configuration of `t`, while the tenant still offers it.
    fn deferred_configuration<T: IssuerTenant>(
        &self,
        tenant: &T,
        t: &DeferredTransaction,
    ) -> Option<&CredentialConfiguration> {
        let id = t.credential_configuration_id.as_str();
        self.settings
            .credential_configurations
            .get(id)
            .filter(|_| tenant.offers(id))
    }

    /// The authorization (code flow) the transaction's token was issued
    /// for: the person's ID-token claims for the claim source.
    async fn transaction_authorization(
        &self,
        t: &DeferredTransaction,
    ) -> Result<Option<Authorization>, StoreFailure> {
        match &t.authorization_id {
            None => Ok(None),
            Some(id) => AuthorizationStore::authorization(&self.store, id).await,
        }
    }
}

/// `202` with the transaction's id and `interval` (at least one second).
fn pending(t: &DeferredTransaction, interval: u32) -> CredentialOutcome {
    CredentialOutcome::Deferred(DeferredResponse {
        transaction_id: t.id.clone(),
        interval: interval.max(1),
    })
}

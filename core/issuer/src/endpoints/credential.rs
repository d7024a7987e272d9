//! `POST /credential` (OID4VCI §8): the access token, the request and its
//! proofs are checked in the order the spec and the conformance suite
//! expect; then claims are resolved, the format plugin issues, and the
//! issuance is recorded before anything is handed out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sigil_settings::CredentialConfiguration;

use super::claims::SourceCause;
use super::dpop::{DpopFault, DpopTarget};
use super::external::ExternalCause;
use super::issuance::Resolved;
use crate::errors::CredentialErrorCode as Code;
use crate::mdl::Mismatch;
use crate::model::{
    AccessToken, Authorization, DeferredOrigin, DeferredStatus, DeferredTransaction, EventKind,
    Finish, IssuanceMode, NewEvent, Offer,
};
use crate::ports::{
    AuthorizationStore, ClaimFailure, ClaimSources, CredentialFormats, FormatFailure,
    IssuanceStore, IssuerTenant, LifecycleStore, NoProviders, OpenIdProviders, PluginFailure,
    PluginFault, StoreFailure,
};
use crate::proof::{self, ProofCheck, ProofError};
use crate::secrets;
use crate::service::Issuer;

/// Accepted clock skew of a proof's `iat` and `nbf` into the future and
/// after its `exp`, in seconds.
const PROOF_MAX_SKEW: i64 = 60;

/// The `proofs` object: proof type → proofs. Only `jwt` is supported.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Proofs {
    /// `jwt` proofs (App. F.1).
    #[serde(default)]
    pub jwt: Option<Vec<String>>,
    /// Any other proof type.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// A credential request (OID4VCI §8.2). Unknown members are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CredentialRequest {
    /// The configuration to issue.
    #[serde(default)]
    pub credential_configuration_id: Option<String>,
    /// A `credential_identifier` from the token response's `authorization_details`.
    #[serde(default)]
    pub credential_identifier: Option<Value>,
    /// Key proofs.
    #[serde(default)]
    pub proofs: Option<Proofs>,
    /// The pre-1.0 singular `proof`, refused.
    #[serde(default)]
    pub proof: Option<Value>,
    /// Response encryption parameters (not supported).
    #[serde(default)]
    pub credential_response_encryption: Option<Value>,
}

impl CredentialRequest {
    /// The configuration (or credential identifier, which Sigil makes equal
    /// to its configuration id) the request names, if any, cut short.
    pub fn named(&self) -> Option<String> {
        self.credential_configuration_id
            .as_deref()
            .or_else(|| self.credential_identifier.as_ref().and_then(Value::as_str))
            .map(|id| id.chars().take(100).collect())
    }

    /// Parse a request body sent with `content_type`: it must be
    /// `application/json` (§8.2).
    pub fn from_body(content_type: Option<&str>, body: &[u8]) -> Result<Self, CredentialCause> {
        super::json_body(content_type, body).map_err(CredentialCause::from)
    }

    /// Parse a JSON body; an object that repeats a member name is refused
    /// ([`crate::json`]).
    pub fn from_json(body: &[u8]) -> Result<Self, CredentialCause> {
        super::strict_json(body).map_err(CredentialCause::from)
    }
}

impl From<super::BodyFault> for CredentialCause {
    fn from(f: super::BodyFault) -> Self {
        match f {
            super::BodyFault::NotJson(media) => Self::NotJson(media),
            super::BodyFault::Syntax(e) | super::BodyFault::Shape(e) => Self::Body(e),
        }
    }
}

/// One issued credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedCredential {
    /// The credential (compact string: SD-JWT, JWT, base64url mdoc).
    pub credential: String,
}

/// A successful credential response (§8.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialResponse {
    /// One per distinct proof key.
    pub credentials: Vec<IssuedCredential>,
    /// Identifies this response's credentials at the notification endpoint (§11).
    pub notification_id: String,
}

/// A deferred credential response (§8.3, §9): `202 Accepted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeferredResponse {
    /// Identifies the deferred issuance at the deferred credential endpoint.
    pub transaction_id: String,
    /// Seconds the wallet should wait before asking.
    pub interval: u32,
}

/// What a credential request (or a deferred credential request) got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialOutcome {
    /// `200` with the credentials.
    Issued(CredentialResponse),
    /// `202` with a transaction id.
    Deferred(DeferredResponse),
}

impl CredentialOutcome {
    /// The credentials, when they were issued.
    pub fn into_issued(self) -> Option<CredentialResponse> {
        match self {
            Self::Issued(r) => Some(r),
            Self::Deferred(_) => None,
        }
    }
}

/// A credential request to defer: what the transaction keeps of it.
struct Pending {
    configuration_id: String,
    format: String,
    holder_keys: Vec<Value>,
    authorization_id: Option<String>,
    origin: DeferredOrigin,
    interval_seconds: u32,
    reason: Option<String>,
}

impl Pending {
    fn new(
        grant: &AccessToken,
        config: &CredentialConfiguration,
        holder_keys: Vec<Value>,
        origin: DeferredOrigin,
        interval_seconds: u32,
    ) -> Self {
        Self {
            configuration_id: config.id.clone(),
            format: config.format.clone(),
            holder_keys,
            authorization_id: grant.authorization_id.clone(),
            origin,
            interval_seconds,
            reason: None,
        }
    }
}

/// Why a credential request failed.
#[derive(Debug)]
pub enum CredentialCause {
    /// No bearer access token.
    MissingToken,
    /// The token is unknown, expired, revoked or another tenant's.
    UnknownToken,
    /// Reading (or recording) the token failed.
    TokenLookup(StoreFailure),
    /// An external authorization server's token was refused, or that
    /// server could not be asked.
    External(ExternalCause),
    /// The body is not sent as `application/json` (the media type given).
    NotJson(String),
    /// The body is not a JSON object of the request's members.
    Body(String),
    /// Both `credential_configuration_id` and `credential_identifier` were
    /// sent; §8.2 allows exactly one.
    BothIdentifiers,
    /// A `credential_identifier` was sent; the token response gave none.
    CredentialIdentifier,
    /// The token response gave `credential_identifiers`; the request must use one.
    IdentifierRequired,
    /// A `credential_identifier` the token response did not give.
    UnknownIdentifier(String),
    /// A DPoP-bound token sent with another scheme, or the other way round.
    TokenScheme(&'static str),
    /// DPoP failed.
    Dpop(DpopFault),
    /// No `credential_configuration_id`.
    MissingConfigurationId,
    /// The tenant has no such configuration.
    UnknownConfiguration(String),
    /// The access token does not cover the configuration.
    NotCovered(String),
    /// `credential_response_encryption` was sent.
    EncryptionUnsupported,
    /// The singular `proof` was sent.
    SingularProof,
    /// No `proofs`.
    MissingProofs,
    /// `proofs` names more than one proof type.
    SeveralProofTypes,
    /// `proofs` has no `jwt`.
    UnsupportedProofType,
    /// `proofs.jwt` is empty.
    EmptyProofs,
    /// More proofs than `batch_size`.
    TooManyProofs(u32),
    /// Proof `index` is invalid.
    Proof {
        /// Index in `proofs.jwt`.
        index: usize,
        /// What is wrong with it.
        error: ProofError,
    },
    /// A proof's nonce is not a valid, unexpired, unspent `c_nonce`.
    Nonce,
    /// No claim source could be called.
    Source(SourceCause),
    /// A plugin failed.
    Plugin(PluginFailure),
    /// Data functions or the mapping failed.
    DataFunctions(String),
    /// The offer's issuer key no longer signs.
    IssuerKey(String),
    /// The mDL's claims disagree with the document signer certificate.
    SignerMismatch(Mismatch),
    /// The issuance could not be recorded; nothing was handed out.
    Record(StoreFailure),
}

/// What the wallet may retry with, added to transient failures.
const RETRY: &str = "the request can be retried with the same access token";

impl CredentialCause {
    /// The spec's error code (§8.3.1, RFC 6750 §3.1).
    pub fn code(&self) -> Code {
        match self {
            Self::MissingToken | Self::UnknownToken => Code::InvalidToken,
            Self::NotJson(_)
            | Self::Body(_)
            | Self::BothIdentifiers
            | Self::MissingConfigurationId
            | Self::SingularProof
            | Self::SeveralProofTypes
            | Self::EmptyProofs
            | Self::TooManyProofs(_) => Code::InvalidCredentialRequest,
            Self::CredentialIdentifier | Self::UnknownIdentifier(_) => {
                Code::UnknownCredentialIdentifier
            }
            Self::IdentifierRequired => Code::InvalidCredentialRequest,
            Self::TokenScheme(_) => Code::InvalidToken,
            Self::External(c) => c.code(),
            Self::Dpop(f) => f.credential_code(),
            Self::UnknownConfiguration(_) => Code::UnknownCredentialConfiguration,
            Self::NotCovered(_) => Code::InsufficientScope,
            Self::EncryptionUnsupported => Code::InvalidEncryptionParameters,
            Self::MissingProofs | Self::UnsupportedProofType | Self::Proof { .. } => {
                Code::InvalidProof
            }
            Self::Nonce => Code::InvalidNonce,
            Self::Source(SourceCause::None) | Self::IssuerKey(_) | Self::SignerMismatch(_) => {
                Code::CredentialRequestDenied
            }
            Self::Plugin(failure) => plugin_error(failure).0,
            Self::TokenLookup(_)
            | Self::Source(SourceCause::Gone { .. } | SourceCause::WebhookNotAllowed(_))
            | Self::DataFunctions(_)
            | Self::Record(_) => Code::ServerError,
        }
    }

    /// What the wallet is told: no claim values, no secrets.
    pub fn description(&self) -> String {
        match self {
            Self::MissingToken => "send the access token as Authorization: Bearer <token>".into(),
            Self::UnknownToken => "the access token is unknown, expired or revoked".into(),
            Self::TokenLookup(_) => "the request could not be processed; try again".into(),
            Self::NotJson(given) if given.is_empty() => {
                "send the credential request with Content-Type: application/json".into()
            }
            Self::NotJson(given) => format!(
                "the credential request is sent as {given}; send it as application/json"
            ),
            Self::Body(e) => format!("the body must be a JSON object of a credential request: {e}"),
            Self::BothIdentifiers => "send either credential_configuration_id or credential_identifier, not both".into(),
            Self::CredentialIdentifier => {
                "this issuer returned no credential_identifiers; use credential_configuration_id"
                    .into()
            }
            Self::IdentifierRequired => "the token response gave credential_identifiers; send credential_identifier instead of credential_configuration_id".into(),
            Self::UnknownIdentifier(id) => format!(
                "credential_identifier {} was not given for this access token",
                id.chars().take(100).collect::<String>()
            ),
            Self::TokenScheme(m) => (*m).into(),
            Self::External(c) => c.description(),
            Self::Dpop(f) => f.description(),
            Self::MissingConfigurationId => "credential_configuration_id is missing".into(),
            Self::UnknownConfiguration(id) => format!("unknown credential configuration {id}"),
            Self::NotCovered(id) => format!("the access token does not cover {id}"),
            Self::EncryptionUnsupported => {
                "this issuer does not support credential response encryption".into()
            }
            Self::SingularProof => {
                "the singular proof parameter is not part of OID4VCI 1.0; use proofs".into()
            }
            Self::MissingProofs => {
                "proofs is missing; send proofs.jwt with a key proof signed over a c_nonce".into()
            }
            Self::SeveralProofTypes => "proofs must have exactly one proof type".into(),
            Self::UnsupportedProofType => "only the jwt proof type is supported".into(),
            Self::EmptyProofs => "proofs.jwt must be a non-empty array".into(),
            Self::TooManyProofs(max) => format!("at most {max} proofs per request (batch_size)"),
            Self::Proof { index, error } => format!("proofs.jwt[{index}]: {error}"),
            Self::Nonce => {
                "proof nonce is invalid or expired; get a fresh one from the nonce endpoint".into()
            }
            Self::Source(SourceCause::Gone { what, id }) => {
                format!("{what} '{id}' of this offer is no longer configured on this server")
            }
            Self::Source(SourceCause::WebhookNotAllowed(problem)) => problem.clone(),
            Self::Source(SourceCause::None) => "the offer has no claims for this credential and its configuration has no claim source".into(),
            Self::Plugin(failure) => plugin_error(failure).1,
            Self::DataFunctions(e) => format!("the claims could not be completed: {e}"),
            Self::IssuerKey(e) => e.clone(),
            Self::SignerMismatch(m) => format!(
                "the claims for this credential disagree with the issuer's document signer certificate: {}",
                m.describe()
            ),
            Self::Record(_) => "the credential could not be recorded; retry with the same access token and a fresh nonce".into(),
        }
    }
}

/// The code and description of a plugin failure: the claim source's
/// refusal and claims that do not fit are the issuer's decision; a holder
/// key the format cannot bind makes the proof unusable (§8.3.1.2);
/// everything else is a transient server error the wallet may retry.
fn plugin_error(failure: &PluginFailure) -> (Code, String) {
    match &failure.fault {
        PluginFault::Claim(ClaimFailure::Denied(_) | ClaimFailure::NotFound(_)) => (
            Code::CredentialRequestDenied,
            "the issuer will not issue this credential to this holder".into(),
        ),
        PluginFault::Format(FormatFailure::UnsupportedHolderKey(m)) => (
            Code::InvalidProof,
            format!("the proof key cannot be bound to this credential: {m}"),
        ),
        // Names the claim, never its value.
        PluginFault::Format(FormatFailure::InvalidClaims(m)) => (
            Code::CredentialRequestDenied,
            format!("the claims for this credential do not fit its configuration: {m}"),
        ),
        PluginFault::Claim(
            ClaimFailure::InvalidInput(_) | ClaimFailure::Upstream(_) | ClaimFailure::Internal(_),
        )
        | PluginFault::Format(
            FormatFailure::InvalidConfiguration(_)
            | FormatFailure::Signing(_)
            | FormatFailure::Internal(_),
        )
        | PluginFault::Runtime => (Code::ServerError, format!("{}; {RETRY}", failure.message)),
    }
}

/// The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1;
/// the scheme is case-insensitive).
pub fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    access_token(authorization).and_then(|(token, dpop)| (!dpop).then_some(token))
}

/// The token of an `Authorization: Bearer <token>` or `DPoP <token>`
/// header, and whether the scheme is `DPoP` (schemes are case-insensitive).
pub fn access_token(authorization: Option<&str>) -> Option<(&str, bool)> {
    let value = authorization?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((token, false))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((token, true))
    } else {
        None
    }
}

/// What the credential endpoint got besides the body: the `Authorization`
/// and `DPoP` headers and its own URL.
#[derive(Debug, Clone, Copy)]
pub struct CredentialAccess<'a> {
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `DPoP` header values.
    pub dpop: &'a [&'a str],
    /// The credential endpoint URL (the tenant's public URL).
    pub url: &'a str,
}

/// The proofs' JWTs, checked against the request rules and `batch_size`.
fn proof_jwts(proofs: Option<&Proofs>, batch_size: u32) -> Result<&[String], CredentialCause> {
    let proofs = proofs.ok_or(CredentialCause::MissingProofs)?;
    let types = usize::from(proofs.jwt.is_some()) + proofs.other.len();
    if types != 1 {
        return Err(CredentialCause::SeveralProofTypes);
    }
    let jwts = proofs
        .jwt
        .as_deref()
        .ok_or(CredentialCause::UnsupportedProofType)?;
    if jwts.is_empty() {
        return Err(CredentialCause::EmptyProofs);
    }
    if jwts.len() > batch_size as usize {
        return Err(CredentialCause::TooManyProofs(batch_size));
    }
    Ok(jwts)
}

/// The holder keys of the verified proofs (distinct, in order) and their
/// nonces with expiry, to be spent with the issuance.
type ProvedKeys = (Vec<Value>, Vec<(String, i64)>);

impl<S, P> Issuer<S, P>
where
    S: IssuanceStore + AuthorizationStore + LifecycleStore,
    P: ClaimSources + CredentialFormats,
{
    /// [`Issuer::credential_with`] for a request without DPoP, and without
    /// HTTP to external authorization servers ([`NoProviders`]);
    /// `authorization` is the `Authorization` header.
    pub async fn credential<T>(
        &self,
        tenant: &T,
        authorization: Option<&str>,
        request: Result<CredentialRequest, CredentialCause>,
    ) -> Result<CredentialOutcome, CredentialCause>
    where
        T: IssuerTenant<Signer = P::Signer>,
    {
        let url = format!("{}/credential", tenant.issuer());
        let access = CredentialAccess {
            authorization,
            dpop: &[],
            url: &url,
        };
        self.credential_with(tenant, access, request, &NoProviders)
            .await
    }

    /// Issue credentials for one configuration. `access` holds the
    /// `Authorization` and `DPoP` headers; `request` the parsed body
    /// (checked only after the token, as the spec orders the errors);
    /// `providers` reaches the tenant's external authorization servers, for
    /// an access token Sigil did not issue ([`super::external`]).
    #[tracing::instrument(name = "issuer.credential", skip_all, fields(tenant = tenant.id()))]
    pub async fn credential_with<T, O>(
        &self,
        tenant: &T,
        access: CredentialAccess<'_>,
        request: Result<CredentialRequest, CredentialCause>,
        providers: &O,
    ) -> Result<CredentialOutcome, CredentialCause>
    where
        T: IssuerTenant<Signer = P::Signer>,
        O: OpenIdProviders,
    {
        let requested = request.as_ref().ok().and_then(CredentialRequest::named);
        // 1. The access token (Sigil's own, or an external server's), and its DPoP key.
        let outcome = match self.authenticate(tenant, access, providers).await {
            Ok((grant, offer)) => {
                let outcome = self.issue_for(tenant, &grant, &offer, request).await;
                if let Err(cause) = &outcome {
                    self.record_refusal(tenant, &offer, requested.as_deref(), cause)
                        .await;
                }
                outcome
            }
            Err(cause) => Err(cause),
        };
        self.observe_credential(tenant.id(), requested.as_deref(), &outcome);
        outcome
    }

    /// The request of a live token of `offer`: steps 2 to 4.
    async fn issue_for<T>(
        &self,
        tenant: &T,
        grant: &AccessToken,
        offer: &Offer,
        request: Result<CredentialRequest, CredentialCause>,
    ) -> Result<CredentialOutcome, CredentialCause>
    where
        T: IssuerTenant<Signer = P::Signer>,
    {
        let now = self.now();
        let authorization = self.authorization_of(grant).await?;
        // 2. The request: which credential, then what this issuer refuses.
        let request = request?;
        let config = self.configuration_for(tenant, grant, authorization.as_ref(), &request)?;
        if request.credential_response_encryption.is_some() {
            return Err(CredentialCause::EncryptionUnsupported);
        }
        if request.proof.is_some() {
            return Err(CredentialCause::SingularProof);
        }
        // 3. Proofs.
        let jwts = proof_jwts(request.proofs.as_ref(), self.settings.issuance.batch_size)?;
        let (holder_keys, nonces) = self.prove(tenant, jwts, now)?;
        // 4. Defer, or issue and record before handing anything out.
        if offer.issuance_mode == IssuanceMode::Deferred {
            let interval = self.settings.deferred.interval_seconds;
            let pending = Pending::new(grant, config, holder_keys, DeferredOrigin::Offer, interval);
            return self.defer(tenant, offer, pending, &nonces, now).await;
        }
        let claims = match self
            .resolve(tenant, offer, authorization.as_ref(), config, &holder_keys)
            .await?
        {
            Resolved::Claims(claims) => claims,
            Resolved::Pending {
                interval_seconds,
                reason,
            } => {
                let mut pending = Pending::new(
                    grant,
                    config,
                    holder_keys,
                    DeferredOrigin::Source,
                    interval_seconds,
                );
                pending.reason = Some(reason);
                return self.defer(tenant, offer, pending, &nonces, now).await;
            }
        };
        let signed = self
            .sign(tenant, offer, config, claims, holder_keys, now)
            .await?;
        match self
            .store
            .finish_credential(
                &nonces,
                signed.issuance,
                &signed.records,
                &offer.credential_configuration_ids,
                signed.event,
            )
            .await
        {
            Ok(Finish::Recorded) => {}
            Ok(Finish::NonceSpent) => return Err(CredentialCause::Nonce),
            Err(e) => {
                // Nothing is handed out that was not recorded; the wallet
                // retries with the same access token and a fresh nonce.
                tracing::error!(error = %e, offer = %offer.id, "recording an issuance failed");
                return Err(CredentialCause::Record(e));
            }
        }
        Ok(CredentialOutcome::Issued(CredentialResponse {
            credentials: signed
                .credentials
                .into_iter()
                .map(|credential| IssuedCredential { credential })
                .collect(),
            notification_id: signed.notification_id,
        }))
    }

    /// Record a deferred transaction for the proven keys (spending the
    /// request's nonces) and answer `202 {transaction_id, interval}` (§9).
    async fn defer<T: IssuerTenant>(
        &self,
        tenant: &T,
        offer: &Offer,
        pending: Pending,
        nonces: &[(String, i64)],
        now: i64,
    ) -> Result<CredentialOutcome, CredentialCause> {
        let transaction = DeferredTransaction {
            id: secrets::random_token(),
            tenant: tenant.id().to_owned(),
            offer_id: offer.id.clone(),
            credential_configuration_id: pending.configuration_id,
            format: pending.format,
            holder_keys: pending.holder_keys,
            authorization_id: pending.authorization_id,
            origin: pending.origin,
            status: DeferredStatus::Pending,
            claims: None,
            reason: pending.reason,
            interval_seconds: pending.interval_seconds,
            created_at: now,
            updated_at: now,
            expires_at: now.saturating_add(self.settings.deferred.transaction_seconds),
        };
        let event = NewEvent {
            tenant: tenant.id().to_owned(),
            offer_id: offer.id.clone(),
            kind: EventKind::CredentialDeferred,
            detail: serde_json::json!({
                "credentialConfigurationId": transaction.credential_configuration_id,
                "transactionId": transaction.id,
                "origin": transaction.origin.as_str(),
                "count": transaction.holder_keys.len(),
            }),
            created_at: now,
        };
        match self.store.defer(nonces, &transaction, event).await {
            Ok(Finish::Recorded) => Ok(CredentialOutcome::Deferred(DeferredResponse {
                transaction_id: transaction.id,
                interval: transaction.interval_seconds,
            })),
            Ok(Finish::NonceSpent) => Err(CredentialCause::Nonce),
            Err(e) => {
                tracing::error!(error = %e, offer = %offer.id, "recording a deferred transaction failed");
                Err(CredentialCause::Record(e))
            }
        }
    }

    /// Record a refused request of a live token as `credential_refused`
    /// (its error code, and the configuration it named): the operator sees
    /// why a wallet got nothing. Not when the store itself failed.
    async fn record_refusal<T: IssuerTenant>(
        &self,
        tenant: &T,
        offer: &Offer,
        requested: Option<&str>,
        cause: &CredentialCause,
    ) {
        if matches!(
            cause,
            CredentialCause::Record(_) | CredentialCause::TokenLookup(_)
        ) {
            return;
        }
        let format = requested
            .and_then(|id| self.settings.credential_configurations.get(id))
            .map(|c| c.format.clone());
        let event = NewEvent {
            tenant: tenant.id().to_owned(),
            offer_id: offer.id.clone(),
            kind: EventKind::CredentialRefused,
            detail: serde_json::json!({
                "error": cause.code().as_str(),
                "credentialConfigurationId": requested,
                "format": format,
            }),
            created_at: self.now(),
        };
        if let Err(e) = self.store.record_event(event).await {
            tracing::warn!(error = %e, offer = %offer.id, "recording a refused credential request failed");
        }
    }

    /// The live access token of `access` (Sigil's own, or an external
    /// server's, recorded on first use) and its offer, with its DPoP
    /// binding checked: the credential and notification endpoints' first step.
    pub(crate) async fn authenticate<T: IssuerTenant, O: OpenIdProviders>(
        &self,
        tenant: &T,
        access: CredentialAccess<'_>,
        providers: &O,
    ) -> Result<(AccessToken, Offer), CredentialCause> {
        let (token, dpop_scheme) =
            access_token(access.authorization).ok_or(CredentialCause::MissingToken)?;
        let hash = secrets::hash(token);
        let (grant, offer) = match self.store.access_token(&hash, self.now()).await {
            Ok(Some((g, offer))) if g.tenant == tenant.id() => (g, offer),
            Ok(Some(_)) => return Err(CredentialCause::UnknownToken),
            Ok(None) => self.external_token(tenant, token, &hash, providers).await?,
            Err(e) => {
                tracing::error!(error = %e, "reading an access token failed");
                return Err(CredentialCause::TokenLookup(e));
            }
        };
        self.check_binding(tenant, &grant, token, dpop_scheme, access)
            .await?;
        Ok((grant, offer))
    }

    /// A DPoP-bound token needs the `DPoP` scheme and a proof by its key
    /// over this request and token (RFC 9449 §7); a bearer token the
    /// `Bearer` scheme.
    pub(crate) async fn check_binding<T: IssuerTenant>(
        &self,
        tenant: &T,
        grant: &AccessToken,
        token: &str,
        dpop_scheme: bool,
        access: CredentialAccess<'_>,
    ) -> Result<(), CredentialCause> {
        let Some(jkt) = &grant.dpop_jkt else {
            if dpop_scheme {
                return Err(CredentialCause::TokenScheme(
                    "this access token is not DPoP-bound; send it as Authorization: Bearer",
                ));
            }
            return Ok(());
        };
        if !dpop_scheme {
            return Err(CredentialCause::TokenScheme(
                "this access token is DPoP-bound; send it as Authorization: DPoP with a DPoP proof",
            ));
        }
        let target = DpopTarget {
            method: "POST",
            url: access.url,
            access_token: Some(token),
        };
        match self.dpop(tenant.id(), access.dpop, target).await {
            Ok(Some(p)) if p.jkt == *jkt => Ok(()),
            Ok(Some(_)) => Err(CredentialCause::Dpop(DpopFault::OtherKey)),
            Ok(None) => Err(CredentialCause::Dpop(DpopFault::Missing)),
            Err(f) => Err(CredentialCause::Dpop(f)),
        }
    }

    /// The authorization (code flow) an access token was issued for.
    pub(crate) async fn authorization_of(
        &self,
        grant: &AccessToken,
    ) -> Result<Option<Authorization>, CredentialCause> {
        let Some(id) = &grant.authorization_id else {
            return Ok(None);
        };
        match AuthorizationStore::authorization(&self.store, id).await {
            Ok(Some(a)) => Ok(Some(a)),
            Ok(None) => Err(CredentialCause::UnknownToken),
            Err(e) => {
                tracing::error!(error = %e, "reading an authorization failed");
                Err(CredentialCause::TokenLookup(e))
            }
        }
    }

    /// The requested configuration: known to the tenant and covered by the
    /// token; by `credential_identifier` when the token response gave them.
    fn configuration_for<T: IssuerTenant>(
        &self,
        tenant: &T,
        grant: &AccessToken,
        authorization: Option<&Authorization>,
        request: &CredentialRequest,
    ) -> Result<&CredentialConfiguration, CredentialCause> {
        if request.credential_identifier.is_some() && request.credential_configuration_id.is_some()
        {
            return Err(CredentialCause::BothIdentifiers);
        }
        let identifiers = authorization.filter(|a| a.details);
        let id = match (&request.credential_identifier, identifiers) {
            (Some(_), None) => return Err(CredentialCause::CredentialIdentifier),
            (Some(given), Some(a)) => {
                let given = given.as_str().unwrap_or_default();
                a.credential_configuration_ids
                    .iter()
                    .find(|id| id.as_str() == given)
                    .ok_or_else(|| CredentialCause::UnknownIdentifier(given.to_owned()))?
                    .as_str()
            }
            (None, Some(_)) if request.credential_configuration_id.is_some() => {
                return Err(CredentialCause::IdentifierRequired);
            }
            (None, _) => request
                .credential_configuration_id
                .as_deref()
                .ok_or(CredentialCause::MissingConfigurationId)?,
        };
        let config = self
            .settings
            .credential_configurations
            .get(id)
            .filter(|_| tenant.offers(id))
            .ok_or_else(|| CredentialCause::UnknownConfiguration(id.to_owned()))?;
        if !grant.credential_configuration_ids.iter().any(|c| c == id) {
            return Err(CredentialCause::NotCovered(id.to_owned()));
        }
        Ok(config)
    }

    /// Verify every proof, then check each distinct nonce's tag and expiry.
    /// Nonces are spent when the issuance is recorded, in the same
    /// transaction, so a replay that got this far is refused there and its
    /// credentials are never handed out.
    fn prove<T: IssuerTenant>(
        &self,
        tenant: &T,
        jwts: &[String],
        now: i64,
    ) -> Result<ProvedKeys, CredentialCause> {
        let check = ProofCheck {
            audience: tenant.issuer(),
            audience_trailing_slash: self.settings.issuance.proof_aud_trailing_slash,
            now,
            max_age: self.settings.issuance.proof_max_age_seconds,
            max_skew: PROOF_MAX_SKEW,
        };
        let mut holder_keys: Vec<Value> = Vec::new();
        let mut nonces = std::collections::BTreeSet::new();
        for (index, jwt) in jwts.iter().enumerate() {
            let p = proof::verify(jwt, check)
                .map_err(|error| CredentialCause::Proof { index, error })?;
            nonces.insert(p.nonce);
            if !holder_keys.contains(&p.holder_key) {
                holder_keys.push(p.holder_key);
            }
        }
        let spend = nonces
            .into_iter()
            .map(|nonce| {
                let expires_at = self
                    .nonce_key
                    .check(tenant.id(), &nonce, now)
                    .ok_or(CredentialCause::Nonce)?;
                Ok((nonce, expires_at))
            })
            .collect::<Result<Vec<_>, CredentialCause>>()?;
        Ok((holder_keys, spend))
    }
}

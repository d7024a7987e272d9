//! Claim providers: resolve the claims of one credential.
//!
//! Implement [`ClaimProvider`] and export it with
//! [`export_claim_provider!`](crate::export_claim_provider). The host calls
//! [`ClaimProvider::resolve`] on a fresh instance for every credential, so a
//! provider keeps no state between calls.

use serde_json::{Map, Value};

use crate::wit::claims_world::sigil::plugin::types as raw;

/// Everything the host knows about the credential being issued.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClaimContext {
    /// Tenant the offer belongs to (`default` for the root issuer).
    pub tenant: String,
    /// The tenant's credential issuer identifier (URL).
    pub issuer: String,
    /// Offer id as returned by the admin API.
    pub offer_id: String,
    /// Id of the credential configuration being issued.
    pub credential_configuration_id: String,
    /// Format of that configuration (`dc+sd-jwt`, `jwt_vc_json`, `mso_mdoc`, ...).
    pub format: String,
    /// Claim source settings for this call (from the configuration or the offer).
    pub source: Value,
    /// Claims given inline on the offer, if any.
    pub inline_claims: Option<Value>,
    /// Claims of the upstream ID token (authorization code flow), if any.
    pub id_token_claims: Option<Value>,
    /// Stable subject identifier, when known.
    pub subject_id: Option<String>,
    /// Holder public keys (JWK objects) the wallet proved possession of.
    pub holder_keys: Vec<Value>,
}

/// Why a provider could not produce claims. The host maps each case to a
/// wallet-facing error and logs the message (never shown to wallets).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimError {
    /// The subject is unknown to the source.
    NotFound(String),
    /// The source refuses to issue for this subject (`credential_request_denied`).
    Denied(String),
    /// The settings or context given to the plugin are unusable.
    InvalidInput(String),
    /// An upstream system failed or answered something unusable.
    Upstream(String),
    /// Any other failure inside the plugin.
    Internal(String),
}

impl std::fmt::Display for ClaimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound(m) => write!(f, "not found: {m}"),
            Self::Denied(m) => write!(f, "denied: {m}"),
            Self::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Self::Upstream(m) => write!(f, "upstream failure: {m}"),
            Self::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for ClaimError {}

impl From<crate::http::HttpError> for ClaimError {
    fn from(e: crate::http::HttpError) -> Self {
        Self::Upstream(e.to_string())
    }
}

/// What a provider produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// The claims of the credential.
    Claims(Map<String, Value>),
    /// The claims are not available yet; the host defers issuance.
    Pending {
        /// Seconds the wallet should wait before polling again.
        interval_seconds: u32,
        /// Reason for logs and the admin API (never shown to wallets).
        reason: String,
    },
}

impl Resolution {
    /// Claims from a JSON value, which must be an object.
    pub fn claims(value: Value) -> Result<Self, ClaimError> {
        match value {
            Value::Object(map) => Ok(Self::Claims(map)),
            other => Err(ClaimError::Internal(format!(
                "claims must be a JSON object, got {}",
                json_kind(&other)
            ))),
        }
    }
}

/// A claim provider. Implement it for a unit struct and export it with
/// [`export_claim_provider!`](crate::export_claim_provider).
pub trait ClaimProvider {
    /// Resolve the claims of one credential.
    fn resolve(ctx: ClaimContext) -> Result<Resolution, ClaimError>;
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse(what: &str, text: &str) -> Result<Value, ClaimError> {
    serde_json::from_str(text)
        .map_err(|e| ClaimError::InvalidInput(format!("{what} is not valid JSON: {e}")))
}

fn to_raw_error(e: ClaimError) -> raw::ClaimError {
    match e {
        ClaimError::NotFound(m) => raw::ClaimError::NotFound(m),
        ClaimError::Denied(m) => raw::ClaimError::Denied(m),
        ClaimError::InvalidInput(m) => raw::ClaimError::InvalidInput(m),
        ClaimError::Upstream(m) => raw::ClaimError::Upstream(m),
        ClaimError::Internal(m) => raw::ClaimError::Internal(m),
    }
}

fn from_raw_context(ctx: raw::ClaimContext) -> Result<ClaimContext, ClaimError> {
    Ok(ClaimContext {
        tenant: ctx.tenant,
        issuer: ctx.issuer,
        offer_id: ctx.offer_id,
        credential_configuration_id: ctx.credential_configuration_id,
        format: ctx.format,
        source: parse("source", &ctx.source)?,
        inline_claims: ctx
            .inline_claims
            .as_deref()
            .map(|t| parse("inline-claims", t))
            .transpose()?,
        id_token_claims: ctx
            .id_token_claims
            .as_deref()
            .map(|t| parse("id-token-claims", t))
            .transpose()?,
        subject_id: ctx.subject.id,
        holder_keys: ctx
            .subject
            .holder_keys
            .iter()
            .map(|k| parse("holder-key", k))
            .collect::<Result<_, _>>()?,
    })
}

/// Glue used by [`export_claim_provider!`](crate::export_claim_provider). Not public API.
#[doc(hidden)]
pub fn __resolve<P: ClaimProvider>(
    ctx: raw::ClaimContext,
) -> Result<raw::ClaimOutcome, raw::ClaimError> {
    let ctx = from_raw_context(ctx).map_err(to_raw_error)?;
    match P::resolve(ctx).map_err(to_raw_error)? {
        Resolution::Claims(map) => Ok(raw::ClaimOutcome::Claims(Value::Object(map).to_string())),
        Resolution::Pending {
            interval_seconds,
            reason,
        } => Ok(raw::ClaimOutcome::Pending(raw::Pending {
            interval_seconds,
            reason,
        })),
    }
}

/// Export a [`ClaimProvider`] as this component's `sigil:plugin/claims` implementation.
///
/// Call it once, at the top level of the plugin crate, with a type that
/// implements [`ClaimProvider`].
#[macro_export]
macro_rules! export_claim_provider {
    ($provider:ty) => {
        const _: () = {
            struct __SigilClaimProvider;
            impl $crate::wit::claims_world::exports::sigil::plugin::claims::Guest
                for __SigilClaimProvider
            {
                fn resolve(
                    ctx: $crate::wit::claims_world::sigil::plugin::types::ClaimContext,
                ) -> ::core::result::Result<
                    $crate::wit::claims_world::sigil::plugin::types::ClaimOutcome,
                    $crate::wit::claims_world::sigil::plugin::types::ClaimError,
                > {
                    $crate::claims::__resolve::<$provider>(ctx)
                }
            }
            $crate::wit::claims_world::__export_claim_provider_world!(
                __SigilClaimProvider with_types_in $crate::wit::claims_world
            );
        };
    };
}

//! Credential formats: encode and sign credentials of one format.
//!
//! Implement [`CredentialFormat`] and export it with
//! [`export_credential_format!`](crate::export_credential_format). The host
//! hands the plugin a [`SigningKey`] for the issuer key of the call; the
//! private key never enters the sandbox.
//!
//! # Helpers
//!
//! The checks every format plugin makes, with the same error messages:
//!
//! * [`SettingsReader`]: the configuration's settings (format check, typed
//!   getters, `signing_algorithms`, `format_options`, unique claim paths);
//!   errors are [`FormatError::InvalidConfiguration`] naming the setting and
//!   the configuration. [`check_key_algorithm`] checks the issuer key at
//!   issuance.
//! * [`ClaimEntry`]: one entry of the configuration's `claims`;
//!   [`claim_description`] and [`insert_credential_metadata`] build
//!   `credential_metadata`; [`path_selects`] tells whether a claims path
//!   pointer selects a claim (for `mandatory`).
//! * [`holder_jwks`], [`HolderJwk`] and [`holder_key_error`]: the slots'
//!   holder keys.
//! * [`rfc3339`]: a date-time for credential dates; [`unix_seconds`] reads
//!   one back (a civil UTC date-time as Unix seconds).

mod claim;
mod holder;
mod settings;
#[cfg(test)]
mod tests;
mod time;

pub use claim::{ClaimEntry, claim_description, insert_credential_metadata, path_selects};
pub use holder::{HolderJwk, holder_jwks, holder_key_error};
pub use settings::{SettingsReader, check_key_algorithm};
pub use time::{rfc3339, unix_seconds};

use serde_json::{Map, Value};

use crate::wit::format_world::exports::sigil::plugin::format as raw;
use crate::wit::format_world::sigil::plugin::signing as raw_signing;
use crate::wit::format_world::sigil::plugin::types as raw_types;

/// One credential configuration, as the operator configured it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Configuration {
    /// Id of the configuration (key of `credential_configurations_supported`).
    pub id: String,
    /// Format identifier (`dc+sd-jwt`, ...).
    pub format: String,
    /// The whole configuration as a JSON object.
    pub settings: Value,
}

impl Configuration {
    /// A configuration as the host would pass it (for plugin authors'
    /// host-side tests; the host builds it from the credential
    /// configuration).
    pub fn new(id: impl Into<String>, format: impl Into<String>, settings: Value) -> Self {
        Self {
            id: id.into(),
            format: format.into(),
            settings,
        }
    }
}

/// A Token Status List entry reserved for one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReference {
    /// URI of the status list token.
    pub uri: String,
    /// Index of the credential in that list.
    pub index: u64,
}

/// One credential to produce.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// Holder public key (JWK) to bind the credential to, if any.
    pub holder_key: Option<Value>,
    /// Status list entry, when revocation is enabled.
    pub status: Option<StatusReference>,
}

/// Everything needed to issue one batch of credentials.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IssueRequest {
    /// The credential configuration.
    pub configuration: Configuration,
    /// The resolved claims.
    pub claims: Map<String, Value>,
    /// Issuer identifier for `iss`.
    pub issuer: String,
    /// Issuance time, seconds since the Unix epoch.
    pub issued_at: u64,
    /// Expiry, seconds since the Unix epoch, if the configuration sets a validity.
    pub expires_at: Option<u64>,
    /// One entry per credential to issue.
    pub slots: Vec<Slot>,
}

/// Why a format plugin failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// The configuration is unusable for this format (name the setting).
    InvalidConfiguration(String),
    /// The claims do not fit the configuration (name the claim).
    InvalidClaims(String),
    /// A holder key cannot be used with this format.
    UnsupportedHolderKey(String),
    /// The host refused or failed to sign.
    Signing(String),
    /// Any other failure.
    Internal(String),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidConfiguration(m) => write!(f, "invalid configuration: {m}"),
            Self::InvalidClaims(m) => write!(f, "invalid claims: {m}"),
            Self::UnsupportedHolderKey(m) => write!(f, "unsupported holder key: {m}"),
            Self::Signing(m) => write!(f, "signing failed: {m}"),
            Self::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for FormatError {}

/// A handle to the issuer key for this call. Signing happens in the host.
pub struct SigningKey<'a> {
    raw: &'a raw_signing::SigningKey,
}

impl SigningKey<'_> {
    /// Key id for JWS `kid` / COSE headers.
    pub fn key_id(&self) -> String {
        self.raw.key_id()
    }

    /// JOSE algorithm name (`ES256`, ...).
    pub fn algorithm(&self) -> String {
        self.raw.algorithm()
    }

    /// COSE algorithm identifier (-7 for ES256, ...).
    pub fn cose_algorithm(&self) -> i32 {
        self.raw.cose_algorithm()
    }

    /// Public key as a JWK object.
    pub fn public_jwk(&self) -> Result<Value, FormatError> {
        serde_json::from_str(&self.raw.public_jwk())
            .map_err(|e| FormatError::Internal(format!("host returned an invalid JWK: {e}")))
    }

    /// X.509 chain, leaf first, DER encoded; empty when the key has none.
    pub fn certificate_chain(&self) -> Vec<Vec<u8>> {
        self.raw.certificate_chain()
    }

    /// Sign `data`. ECDSA signatures come as fixed-size `r || s` (JWS/COSE form).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, FormatError> {
        self.raw.sign(data).map_err(|e| {
            FormatError::Signing(match e {
                raw_signing::SignError::ExpiredHandle => "the key handle has expired".into(),
                raw_signing::SignError::UnsupportedAlgorithm(m) => {
                    format!("unsupported algorithm: {m}")
                }
                raw_signing::SignError::Failed(m) => m,
            })
        })
    }
}

/// A credential format. Implement it for a unit struct and export it with
/// [`export_credential_format!`](crate::export_credential_format).
pub trait CredentialFormat {
    /// The format-specific members of this configuration's entry in
    /// `credential_configurations_supported`.
    fn metadata(configuration: &Configuration) -> Result<Map<String, Value>, FormatError>;

    /// Issue one credential per slot of `request`, signing with `key`.
    fn issue(request: IssueRequest, key: &SigningKey<'_>) -> Result<Vec<String>, FormatError>;
}

fn to_raw_error(e: FormatError) -> raw_types::FormatError {
    match e {
        FormatError::InvalidConfiguration(m) => raw_types::FormatError::InvalidConfiguration(m),
        FormatError::InvalidClaims(m) => raw_types::FormatError::InvalidClaims(m),
        FormatError::UnsupportedHolderKey(m) => raw_types::FormatError::UnsupportedHolderKey(m),
        FormatError::Signing(m) => raw_types::FormatError::Signing(m),
        FormatError::Internal(m) => raw_types::FormatError::Internal(m),
    }
}

fn parse(what: &str, text: &str) -> Result<Value, FormatError> {
    serde_json::from_str(text)
        .map_err(|e| FormatError::Internal(format!("{what} from the host is not valid JSON: {e}")))
}

fn from_raw_configuration(c: raw::Configuration) -> Result<Configuration, FormatError> {
    Ok(Configuration {
        settings: parse("configuration settings", &c.settings)?,
        id: c.id,
        format: c.format,
    })
}

/// Glue used by [`export_credential_format!`](crate::export_credential_format). Not public API.
#[doc(hidden)]
pub fn __metadata<F: CredentialFormat>(
    c: raw::Configuration,
) -> Result<String, raw_types::FormatError> {
    let c = from_raw_configuration(c).map_err(to_raw_error)?;
    let map = F::metadata(&c).map_err(to_raw_error)?;
    Ok(Value::Object(map).to_string())
}

/// Glue used by [`export_credential_format!`](crate::export_credential_format). Not public API.
#[doc(hidden)]
pub fn __issue<F: CredentialFormat>(
    request: raw::IssueRequest,
    key: &raw_signing::SigningKey,
) -> Result<Vec<raw::IssuedCredential>, raw_types::FormatError> {
    let inner = || -> Result<Vec<raw::IssuedCredential>, FormatError> {
        let claims = match parse("claims", &request.claims)? {
            Value::Object(m) => m,
            other => {
                return Err(FormatError::InvalidClaims(format!(
                    "claims must be a JSON object, got {}",
                    crate::claims::json_kind(&other)
                )));
            }
        };
        let slots = request
            .slots
            .into_iter()
            .map(|s| {
                Ok(Slot {
                    holder_key: s
                        .holder_key
                        .as_deref()
                        .map(|k| parse("holder key", k))
                        .transpose()?,
                    status: s.status.map(|st| StatusReference {
                        uri: st.uri,
                        index: st.index,
                    }),
                })
            })
            .collect::<Result<Vec<_>, FormatError>>()?;
        let req = IssueRequest {
            configuration: from_raw_configuration(request.configuration)?,
            claims,
            issuer: request.issuer,
            issued_at: request.issued_at,
            expires_at: request.expires_at,
            slots,
        };
        let key = SigningKey { raw: key };
        Ok(F::issue(req, &key)?
            .into_iter()
            .map(|credential| raw::IssuedCredential { credential })
            .collect())
    };
    inner().map_err(to_raw_error)
}

/// Export a [`CredentialFormat`] as this component's `sigil:plugin/format` implementation.
#[macro_export]
macro_rules! export_credential_format {
    ($format:ty) => {
        const _: () = {
            struct __SigilCredentialFormat;
            impl $crate::wit::format_world::exports::sigil::plugin::format::Guest
                for __SigilCredentialFormat
            {
                fn metadata(
                    configuration: $crate::wit::format_world::exports::sigil::plugin::format::Configuration,
                ) -> ::core::result::Result<
                    ::std::string::String,
                    $crate::wit::format_world::sigil::plugin::types::FormatError,
                > {
                    $crate::format::__metadata::<$format>(configuration)
                }
                fn issue(
                    request: $crate::wit::format_world::exports::sigil::plugin::format::IssueRequest,
                    key: &$crate::wit::format_world::sigil::plugin::signing::SigningKey,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<$crate::wit::format_world::exports::sigil::plugin::format::IssuedCredential>,
                    $crate::wit::format_world::sigil::plugin::types::FormatError,
                > {
                    $crate::format::__issue::<$format>(request, key)
                }
            }
            $crate::wit::format_world::__export_credential_format_world!(
                __SigilCredentialFormat with_types_in $crate::wit::format_world
            );
        };
    };
}

//! The host-side request and response types of plugin calls.

use serde_json::{Map, Value};

use crate::bindings::claims::sigil::plugin::types as raw;
use crate::bindings::format::exports::sigil::plugin::format as raw_format;

/// The context a claim provider resolves claims in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimRequest {
    /// Tenant id.
    pub tenant: String,
    /// The tenant's credential issuer identifier.
    pub issuer: String,
    /// Offer id.
    pub offer_id: String,
    /// Credential configuration id.
    pub credential_configuration_id: String,
    /// Format of the configuration.
    pub format: String,
    /// Claim source settings (JSON object).
    pub source: Value,
    /// Inline claims from the offer.
    pub inline_claims: Option<Value>,
    /// Upstream ID-token claims.
    pub id_token_claims: Option<Value>,
    /// Subject id, when known.
    pub subject_id: Option<String>,
    /// Holder public keys (JWKs).
    pub holder_keys: Vec<Value>,
}

impl ClaimRequest {
    pub(crate) fn to_raw(&self) -> raw::ClaimContext {
        raw::ClaimContext {
            tenant: self.tenant.clone(),
            issuer: self.issuer.clone(),
            offer_id: self.offer_id.clone(),
            credential_configuration_id: self.credential_configuration_id.clone(),
            format: self.format.clone(),
            source: self.source.to_string(),
            inline_claims: self.inline_claims.as_ref().map(Value::to_string),
            id_token_claims: self.id_token_claims.as_ref().map(Value::to_string),
            subject: raw::Subject {
                id: self.subject_id.clone(),
                holder_keys: self.holder_keys.iter().map(Value::to_string).collect(),
            },
        }
    }
}

/// What a claim provider produced.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// The claims (a JSON object).
    Claims(Map<String, Value>),
    /// Not available yet: deferred issuance.
    Pending {
        /// Seconds the wallet should wait before polling.
        interval_seconds: u32,
        /// Reason for logs and the admin API.
        reason: String,
    },
}

/// One credential configuration as a format plugin sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatConfiguration {
    /// Configuration id.
    pub id: String,
    /// Format identifier.
    pub format: String,
    /// The whole configuration (JSON object).
    pub settings: Value,
}

impl FormatConfiguration {
    pub(crate) fn to_raw(&self) -> raw_format::Configuration {
        raw_format::Configuration {
            id: self.id.clone(),
            format: self.format.clone(),
            settings: self.settings.to_string(),
        }
    }
}

/// A Token Status List entry for one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReference {
    /// Status list URI.
    pub uri: String,
    /// Index in the list.
    pub index: u64,
}

/// One credential to issue.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialSlot {
    /// Holder key (JWK) to bind to.
    pub holder_key: Option<Value>,
    /// Status list entry.
    pub status: Option<StatusReference>,
}

/// One batch of credentials to issue.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueInput {
    /// The configuration.
    pub configuration: FormatConfiguration,
    /// Resolved claims.
    pub claims: Map<String, Value>,
    /// Issuer identifier for `iss`.
    pub issuer: String,
    /// Issuance time (Unix seconds).
    pub issued_at: u64,
    /// Expiry (Unix seconds).
    pub expires_at: Option<u64>,
    /// One per credential.
    pub slots: Vec<CredentialSlot>,
}

impl IssueInput {
    pub(crate) fn to_raw(&self) -> raw_format::IssueRequest {
        raw_format::IssueRequest {
            configuration: self.configuration.to_raw(),
            claims: Value::Object(self.claims.clone()).to_string(),
            issuer: self.issuer.clone(),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            slots: self
                .slots
                .iter()
                .map(|s| raw_format::CredentialSlot {
                    holder_key: s.holder_key.as_ref().map(Value::to_string),
                    status: s.status.as_ref().map(|st| raw_format::StatusReference {
                        uri: st.uri.clone(),
                        index: st.index,
                    }),
                })
                .collect(),
        }
    }
}

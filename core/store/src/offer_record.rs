//! The offer record types and their mapping to the `offers` row.

use std::fmt;

use crate::entities::offer;
use crate::util::{json_to_strings, strings_to_json, to_u32};
use crate::{OfferStatus, StoreError};

/// How the wallet must enter the transaction code (OpenID4VCI `tx_code` object).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxCodeSpec {
    /// `numeric` or `text`.
    pub input_mode: String,
    /// Number of characters, if announced.
    pub length: Option<u32>,
    /// Guidance for the user, if any.
    pub description: Option<String>,
}

/// A new offer. Codes are given as hashes (hex SHA-256, computed by the caller); the store never sees them raw.
#[derive(Clone)]
pub struct NewOffer {
    /// Offer id (unique across tenants).
    pub id: String,
    /// Tenant the offer belongs to.
    pub tenant: String,
    /// Credential configurations offered.
    pub credential_configuration_ids: Vec<String>,
    /// Grant flow (for example `pre_authorized_code` or `authorization_code`).
    pub flow: String,
    /// How the offer is delivered (by value or by reference).
    pub value_mode: String,
    /// URI scheme of the offer link.
    pub scheme: String,
    /// Hash of the pre-authorized code, if the offer has one.
    pub pre_authorized_code_hash: Option<String>,
    /// Hash of the transaction code, if the offer has one.
    pub tx_code_hash: Option<String>,
    /// The transaction code description announced to the wallet.
    pub tx_code: Option<TxCodeSpec>,
    /// `issuer_state` for the authorization code flow.
    pub issuer_state: Option<String>,
    /// Offer-level claims per credential configuration.
    pub credential_claims: serde_json::Value,
    /// Runtime overrides of the profile.
    pub runtime_overrides: serde_json::Value,
    /// Issuance mode (for example immediate or deferred).
    pub issuance_mode: String,
    /// Webhook endpoint notified of events, if any.
    pub webhook_endpoint_id: Option<String>,
    /// Profile the offer uses, if any.
    pub profile: Option<String>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds; `None` means never.
    pub expires_at: Option<i64>,
}

/// A stored offer. Holds the code hashes: never serialize it to a client as is.
#[derive(Clone)]
pub struct OfferRecord {
    /// Offer id.
    pub id: String,
    /// Tenant the offer belongs to.
    pub tenant: String,
    /// Credential configurations offered.
    pub credential_configuration_ids: Vec<String>,
    /// Grant flow.
    pub flow: String,
    /// How the offer is delivered.
    pub value_mode: String,
    /// URI scheme of the offer link.
    pub scheme: String,
    /// Hash of the pre-authorized code.
    pub pre_authorized_code_hash: Option<String>,
    /// Hash of the transaction code.
    pub tx_code_hash: Option<String>,
    /// The transaction code description announced to the wallet.
    pub tx_code: Option<TxCodeSpec>,
    /// `issuer_state` for the authorization code flow.
    pub issuer_state: Option<String>,
    /// Offer-level claims per credential configuration.
    pub credential_claims: serde_json::Value,
    /// Runtime overrides of the profile.
    pub runtime_overrides: serde_json::Value,
    /// Issuance mode.
    pub issuance_mode: String,
    /// Webhook endpoint notified of events.
    pub webhook_endpoint_id: Option<String>,
    /// Profile the offer uses.
    pub profile: Option<String>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds; `None` means never.
    pub expires_at: Option<i64>,
    /// Current status; `Expired` is reported for created/resolved offers past their expiry.
    pub status: OfferStatus,
    /// Wrong transaction codes sent so far.
    pub tx_attempts: u32,
    /// When a wallet fetched the offer.
    pub resolved_at: Option<i64>,
    /// When the pre-authorized code was redeemed.
    pub token_issued_at: Option<i64>,
    /// When a credential was last issued.
    pub credential_issued_at: Option<i64>,
    /// When the offer was used up.
    pub consumed_at: Option<i64>,
    /// When the offer was revoked.
    pub revoked_at: Option<i64>,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

/// Prints `<redacted>` for a present hash: a short tx code's hash is as good as the code.
fn redacted(v: &Option<String>) -> &'static str {
    if v.is_some() {
        "Some(<redacted>)"
    } else {
        "None"
    }
}

impl fmt::Debug for NewOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewOffer")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field(
                "credential_configuration_ids",
                &self.credential_configuration_ids,
            )
            .field("flow", &self.flow)
            .field("value_mode", &self.value_mode)
            .field("scheme", &self.scheme)
            .field(
                "pre_authorized_code_hash",
                &format_args!("{}", redacted(&self.pre_authorized_code_hash)),
            )
            .field(
                "tx_code_hash",
                &format_args!("{}", redacted(&self.tx_code_hash)),
            )
            .field("tx_code", &self.tx_code)
            .field("issuer_state", &self.issuer_state)
            .field("issuance_mode", &self.issuance_mode)
            .field("webhook_endpoint_id", &self.webhook_endpoint_id)
            .field("profile", &self.profile)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for OfferRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OfferRecord")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field(
                "credential_configuration_ids",
                &self.credential_configuration_ids,
            )
            .field("flow", &self.flow)
            .field("value_mode", &self.value_mode)
            .field("scheme", &self.scheme)
            .field(
                "pre_authorized_code_hash",
                &format_args!("{}", redacted(&self.pre_authorized_code_hash)),
            )
            .field(
                "tx_code_hash",
                &format_args!("{}", redacted(&self.tx_code_hash)),
            )
            .field("tx_code", &self.tx_code)
            .field("issuer_state", &self.issuer_state)
            .field("issuance_mode", &self.issuance_mode)
            .field("webhook_endpoint_id", &self.webhook_endpoint_id)
            .field("profile", &self.profile)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("status", &self.status)
            .field("tx_attempts", &self.tx_attempts)
            .field("resolved_at", &self.resolved_at)
            .field("token_issued_at", &self.token_issued_at)
            .field("credential_issued_at", &self.credential_issued_at)
            .field("consumed_at", &self.consumed_at)
            .field("revoked_at", &self.revoked_at)
            .field("updated_at", &self.updated_at)
            .finish_non_exhaustive()
    }
}

impl OfferRecord {
    /// Decodes a row, reporting `Expired` for a created/resolved offer whose expiry is at or before `now`.
    pub(crate) fn from_model(m: offer::Model, now: i64) -> Result<OfferRecord, StoreError> {
        let stored = OfferStatus::parse(&m.status)
            .ok_or_else(|| StoreError::Corrupt(format!("offer status {:?}", m.status)))?;
        let status = if stored.is_redeemable() && m.expires_at.is_some_and(|e| e <= now) {
            OfferStatus::Expired
        } else {
            stored
        };
        let tx_code = match m.tx_code_input_mode {
            Some(input_mode) => Some(TxCodeSpec {
                input_mode,
                length: m
                    .tx_code_length
                    .map(|l| to_u32(l, "tx_code_length"))
                    .transpose()?,
                description: m.tx_code_description,
            }),
            None => None,
        };
        Ok(OfferRecord {
            credential_configuration_ids: json_to_strings(
                m.credential_configuration_ids,
                "offer credential_configuration_ids",
            )?,
            tx_attempts: to_u32(m.tx_attempts, "tx_attempts")?,
            id: m.id,
            tenant: m.tenant,
            flow: m.flow,
            value_mode: m.value_mode,
            scheme: m.scheme,
            pre_authorized_code_hash: m.pre_authorized_code_hash,
            tx_code_hash: m.tx_code_hash,
            tx_code,
            issuer_state: m.issuer_state,
            credential_claims: m.credential_claims,
            runtime_overrides: m.runtime_overrides,
            issuance_mode: m.issuance_mode,
            webhook_endpoint_id: m.webhook_endpoint_id,
            profile: m.profile,
            created_at: m.created_at,
            expires_at: m.expires_at,
            status,
            resolved_at: m.resolved_at,
            token_issued_at: m.token_issued_at,
            credential_issued_at: m.credential_issued_at,
            consumed_at: m.consumed_at,
            revoked_at: m.revoked_at,
            updated_at: m.updated_at,
        })
    }
}

impl NewOffer {
    pub(crate) fn into_model(self) -> offer::Model {
        let (tx_code_input_mode, tx_code_length, tx_code_description) = match self.tx_code {
            Some(t) => (Some(t.input_mode), t.length.map(i64::from), t.description),
            None => (None, None, None),
        };
        offer::Model {
            credential_configuration_ids: strings_to_json(&self.credential_configuration_ids),
            id: self.id,
            tenant: self.tenant,
            flow: self.flow,
            value_mode: self.value_mode,
            scheme: self.scheme,
            pre_authorized_code_hash: self.pre_authorized_code_hash,
            tx_code_hash: self.tx_code_hash,
            tx_code_input_mode,
            tx_code_length,
            tx_code_description,
            issuer_state: self.issuer_state,
            credential_claims: self.credential_claims,
            runtime_overrides: self.runtime_overrides,
            issuance_mode: self.issuance_mode,
            webhook_endpoint_id: self.webhook_endpoint_id,
            profile: self.profile,
            status: OfferStatus::Created.as_str().to_owned(),
            tx_attempts: 0,
            created_at: self.created_at,
            expires_at: self.expires_at,
            resolved_at: None,
            token_issued_at: None,
            credential_issued_at: None,
            consumed_at: None,
            revoked_at: None,
            updated_at: self.created_at,
        }
    }
}

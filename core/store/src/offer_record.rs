//! The mapping between the typed offer ([`Offer`]) and its `offers` row.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sigil_issuer::model::{
    Flow, IssuanceMode, Offer, OfferProgress, OfferScheme, OfferStatus, TxCode, TxInputMode,
    ValueMode,
};

use crate::StoreError;
use crate::entities::offer;
use crate::util::{json_to_strings, strings_to_json, to_u32};

/// A stored name, or [`StoreError::Corrupt`] naming the column.
fn named<T>(parse: fn(&str) -> Option<T>, value: &str, column: &str) -> Result<T, StoreError> {
    parse(value).ok_or_else(|| StoreError::Corrupt(format!("offer {column} {value:?}")))
}

/// A JSON column as its typed value.
fn typed<T: DeserializeOwned>(value: serde_json::Value, column: &str) -> Result<T, StoreError> {
    serde_json::from_value(value).map_err(|e| StoreError::Corrupt(format!("offer {column}: {e}")))
}

/// A typed value as its JSON column.
fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// Decodes a row, reporting `Expired` for a created/resolved offer whose expiry is at or before `now`.
pub(crate) fn offer_from_model(m: offer::Model, now: i64) -> Result<Offer, StoreError> {
    let stored = named(OfferStatus::parse, &m.status, "status")?;
    let status = if stored.is_redeemable() && m.expires_at.is_some_and(|e| e <= now) {
        OfferStatus::Expired
    } else {
        stored
    };
    let tx_code = match m.tx_code_input_mode {
        Some(mode) => Some(TxCode {
            input_mode: named(TxInputMode::parse, &mode, "tx_code_input_mode")?,
            length: m
                .tx_code_length
                .map(|l| to_u32(l, "tx_code_length"))
                .transpose()?,
            description: m.tx_code_description,
        }),
        None => None,
    };
    Ok(Offer {
        credential_configuration_ids: json_to_strings(
            m.credential_configuration_ids,
            "offer credential_configuration_ids",
        )?,
        flow: named(Flow::parse, &m.flow, "flow")?,
        value_mode: named(ValueMode::parse, &m.value_mode, "value_mode")?,
        scheme: named(OfferScheme::parse, &m.scheme, "scheme")?,
        issuance_mode: named(IssuanceMode::parse, &m.issuance_mode, "issuance_mode")?,
        credential_claims: typed(m.credential_claims, "credential_claims")?,
        runtime_overrides: typed(m.runtime_overrides, "runtime_overrides")?,
        id: m.id,
        tenant: m.tenant,
        pre_authorized_code_hash: m.pre_authorized_code_hash,
        tx_code_hash: m.tx_code_hash,
        tx_code,
        issuer_state: m.issuer_state,
        webhook_endpoint_id: m.webhook_endpoint_id,
        profile: m.profile,
        created_at: m.created_at,
        expires_at: m.expires_at,
        progress: OfferProgress {
            status,
            tx_attempts: to_u32(m.tx_attempts, "tx_attempts")?,
            resolved_at: m.resolved_at,
            token_issued_at: m.token_issued_at,
            credential_issued_at: m.credential_issued_at,
            consumed_at: m.consumed_at,
            revoked_at: m.revoked_at,
            updated_at: m.updated_at,
        },
    })
}

/// The row of an offer.
pub(crate) fn offer_to_model(o: &Offer) -> offer::Model {
    let p = &o.progress;
    offer::Model {
        credential_configuration_ids: strings_to_json(&o.credential_configuration_ids),
        id: o.id.clone(),
        tenant: o.tenant.clone(),
        flow: o.flow.as_str().to_owned(),
        value_mode: o.value_mode.as_str().to_owned(),
        scheme: o.scheme.as_str().to_owned(),
        pre_authorized_code_hash: o.pre_authorized_code_hash.clone(),
        tx_code_hash: o.tx_code_hash.clone(),
        tx_code_input_mode: o.tx_code.as_ref().map(|t| t.input_mode.as_str().to_owned()),
        tx_code_length: o.tx_code.as_ref().and_then(|t| t.length).map(i64::from),
        tx_code_description: o.tx_code.as_ref().and_then(|t| t.description.clone()),
        issuer_state: o.issuer_state.clone(),
        credential_claims: json(&o.credential_claims),
        runtime_overrides: json(&o.runtime_overrides),
        issuance_mode: o.issuance_mode.as_str().to_owned(),
        webhook_endpoint_id: o.webhook_endpoint_id.clone(),
        profile: o.profile.clone(),
        status: p.status.as_str().to_owned(),
        tx_attempts: i64::from(p.tx_attempts),
        created_at: o.created_at,
        expires_at: o.expires_at,
        resolved_at: p.resolved_at,
        token_issued_at: p.token_issued_at,
        credential_issued_at: p.credential_issued_at,
        consumed_at: p.consumed_at,
        revoked_at: p.revoked_at,
        updated_at: p.updated_at,
    }
}

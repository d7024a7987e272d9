//! The host-side request and response types of plugin calls are the
//! issuer's port types ([`sigil_issuer::ports`]); this module turns them
//! into the WIT records the components take.

use serde_json::Value;
use sigil_issuer::ports::{ClaimRequest, FormatConfiguration, IssueInput};

use crate::bindings::claims::sigil::plugin::types as raw;
use crate::bindings::format::exports::sigil::plugin::format as raw_format;

/// The WIT claim context of a request.
pub(crate) fn claim_context(r: &ClaimRequest) -> raw::ClaimContext {
    raw::ClaimContext {
        tenant: r.tenant.clone(),
        issuer: r.issuer.clone(),
        offer_id: r.offer_id.clone(),
        credential_configuration_id: r.credential_configuration_id.clone(),
        format: r.format.clone(),
        source: r.source.to_string(),
        inline_claims: r.inline_claims.as_ref().map(Value::to_string),
        id_token_claims: r.id_token_claims.as_ref().map(Value::to_string),
        subject: raw::Subject {
            id: r.subject_id.clone(),
            holder_keys: r.holder_keys.iter().map(Value::to_string).collect(),
        },
    }
}

/// The WIT record of a configuration.
pub(crate) fn configuration(c: &FormatConfiguration) -> raw_format::Configuration {
    raw_format::Configuration {
        id: c.id.clone(),
        format: c.format.clone(),
        settings: c.settings.to_string(),
    }
}

/// The WIT issue request of an input.
pub(crate) fn issue_request(i: &IssueInput) -> raw_format::IssueRequest {
    raw_format::IssueRequest {
        configuration: configuration(&i.configuration),
        claims: Value::Object(i.claims.clone()).to_string(),
        issuer: i.issuer.clone(),
        issued_at: i.issued_at,
        expires_at: i.expires_at,
        slots: i
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

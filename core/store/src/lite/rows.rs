//! Decoding the rows of the hot-path reads into the sea-orm models, by
//! column position: sea-orm selects an entity's columns in declaration
//! order (a test checks the lists below against the entities).

use rusqlite::Row;
use rusqlite::types::{Type, ValueRef};

use crate::entities::{access_token, offer};

/// Columns of `offers`, in declaration order (`offer_at` reads them so).
#[cfg(test)]
const OFFER_COLUMNS: [&str; 27] = [
    "id",
    "tenant",
    "credential_configuration_ids",
    "flow",
    "value_mode",
    "scheme",
    "pre_authorized_code_hash",
    "tx_code_hash",
    "tx_code_input_mode",
    "tx_code_length",
    "tx_code_description",
    "issuer_state",
    "credential_claims",
    "runtime_overrides",
    "issuance_mode",
    "webhook_endpoint_id",
    "profile",
    "status",
    "tx_attempts",
    "created_at",
    "expires_at",
    "resolved_at",
    "token_issued_at",
    "credential_issued_at",
    "consumed_at",
    "revoked_at",
    "updated_at",
];

/// Columns of `access_tokens`, in declaration order.
pub(crate) const ACCESS_TOKEN_COLUMNS: [&str; 8] = [
    "token_hash",
    "tenant",
    "offer_id",
    "credential_configuration_ids",
    "created_at",
    "expires_at",
    "authorization_id",
    "dpop_jkt",
];

/// A JSON column (stored as text).
fn json(r: &Row<'_>, i: usize) -> rusqlite::Result<serde_json::Value> {
    match r.get_ref(i)? {
        ValueRef::Text(t) | ValueRef::Blob(t) => serde_json::from_slice(t)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e))),
        other => Err(rusqlite::Error::InvalidColumnType(
            i,
            "json".into(),
            other.data_type(),
        )),
    }
}

/// The offer whose columns start at position `at`.
pub(crate) fn offer_at(r: &Row<'_>, at: usize) -> rusqlite::Result<offer::Model> {
    Ok(offer::Model {
        id: r.get(at)?,
        tenant: r.get(at + 1)?,
        credential_configuration_ids: json(r, at + 2)?,
        flow: r.get(at + 3)?,
        value_mode: r.get(at + 4)?,
        scheme: r.get(at + 5)?,
        pre_authorized_code_hash: r.get(at + 6)?,
        tx_code_hash: r.get(at + 7)?,
        tx_code_input_mode: r.get(at + 8)?,
        tx_code_length: r.get(at + 9)?,
        tx_code_description: r.get(at + 10)?,
        issuer_state: r.get(at + 11)?,
        credential_claims: json(r, at + 12)?,
        runtime_overrides: json(r, at + 13)?,
        issuance_mode: r.get(at + 14)?,
        webhook_endpoint_id: r.get(at + 15)?,
        profile: r.get(at + 16)?,
        status: r.get(at + 17)?,
        tx_attempts: r.get(at + 18)?,
        created_at: r.get(at + 19)?,
        expires_at: r.get(at + 20)?,
        resolved_at: r.get(at + 21)?,
        token_issued_at: r.get(at + 22)?,
        credential_issued_at: r.get(at + 23)?,
        consumed_at: r.get(at + 24)?,
        revoked_at: r.get(at + 25)?,
        updated_at: r.get(at + 26)?,
    })
}

/// The access token whose columns start at position `at`.
pub(crate) fn access_token_at(r: &Row<'_>, at: usize) -> rusqlite::Result<access_token::Model> {
    Ok(access_token::Model {
        token_hash: r.get(at)?,
        tenant: r.get(at + 1)?,
        offer_id: r.get(at + 2)?,
        credential_configuration_ids: json(r, at + 3)?,
        created_at: r.get(at + 4)?,
        expires_at: r.get(at + 5)?,
        authorization_id: r.get(at + 6)?,
        dpop_jkt: r.get(at + 7)?,
    })
}

#[cfg(test)]
mod tests {
    use sea_orm::{IdenStatic, Iterable};

    use super::*;

    fn names<C: IdenStatic + Iterable>() -> Vec<String> {
        C::iter().map(|c| c.as_str().to_owned()).collect()
    }

    #[test]
    fn column_lists_follow_the_entities() {
        assert_eq!(names::<offer::Column>(), OFFER_COLUMNS);
        assert_eq!(names::<access_token::Column>(), ACCESS_TOKEN_COLUMNS);
    }
}

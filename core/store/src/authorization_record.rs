//! The mapping between the typed authorization ([`Authorization`]) and its
//! `authorizations` row.

use serde_json::Value;
use sigil_issuer::model::{Authorization, AuthorizationStatus, LoginState};

use crate::StoreError;
use crate::entities::authorization;
use crate::util::{json_to_strings, strings_to_json};

/// Decodes a row.
pub(crate) fn authorization_from_model(
    m: authorization::Model,
) -> Result<Authorization, StoreError> {
    let status = AuthorizationStatus::parse(&m.status)
        .ok_or_else(|| StoreError::Corrupt(format!("authorization status {:?}", m.status)))?;
    let login = match (
        m.login_state_hash,
        m.login_nonce,
        m.login_verifier,
        m.login_expires_at,
    ) {
        (Some(state_hash), Some(nonce), Some(verifier), Some(expires_at)) => Some(LoginState {
            state_hash,
            nonce,
            verifier,
            expires_at,
        }),
        (None, None, None, None) => None,
        _ => {
            return Err(StoreError::Corrupt(
                "authorization login: some of its columns are missing".to_owned(),
            ));
        }
    };
    let claims = match m.claims {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => {
            return Err(StoreError::Corrupt(
                "authorization claims: not a JSON object".to_owned(),
            ));
        }
    };
    Ok(Authorization {
        credential_configuration_ids: json_to_strings(
            m.credential_configuration_ids,
            "authorization credential_configuration_ids",
        )?,
        id: m.id,
        tenant: m.tenant,
        offer_id: m.offer_id,
        client_id: m.client_id,
        redirect_uri: m.redirect_uri,
        code_challenge: m.code_challenge,
        state: m.state,
        details: m.details,
        dpop_jkt: m.dpop_jkt,
        request_uri_hash: m.request_uri_hash,
        request_expires_at: m.request_expires_at,
        login,
        subject: m.subject,
        claims,
        code_hash: m.code_hash,
        code_expires_at: m.code_expires_at,
        refresh_hash: m.refresh_hash,
        previous_refresh_hash: m.previous_refresh_hash,
        refresh_expires_at: m.refresh_expires_at,
        status,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The row of an authorization.
pub(crate) fn authorization_to_model(a: &Authorization) -> authorization::Model {
    let login = a.login.as_ref();
    authorization::Model {
        id: a.id.clone(),
        tenant: a.tenant.clone(),
        offer_id: a.offer_id.clone(),
        client_id: a.client_id.clone(),
        redirect_uri: a.redirect_uri.clone(),
        code_challenge: a.code_challenge.clone(),
        state: a.state.clone(),
        credential_configuration_ids: strings_to_json(&a.credential_configuration_ids),
        details: a.details,
        dpop_jkt: a.dpop_jkt.clone(),
        request_uri_hash: a.request_uri_hash.clone(),
        request_expires_at: a.request_expires_at,
        login_state_hash: login.map(|l| l.state_hash.clone()),
        login_nonce: login.map(|l| l.nonce.clone()),
        login_verifier: login.map(|l| l.verifier.clone()),
        login_expires_at: login.map(|l| l.expires_at),
        subject: a.subject.clone(),
        claims: a.claims.clone().map(Value::Object),
        code_hash: a.code_hash.clone(),
        code_expires_at: a.code_expires_at,
        refresh_hash: a.refresh_hash.clone(),
        previous_refresh_hash: a.previous_refresh_hash.clone(),
        refresh_expires_at: a.refresh_expires_at,
        status: a.status.as_str().to_owned(),
        created_at: a.created_at,
        updated_at: a.updated_at,
    }
}

//! `POST /token` (OID4VCI §6, RFC 6749): the pre-authorized code grant.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use sigil_issuer::errors::TokenErrorCode;
use sigil_issuer::offer::PRE_AUTHORIZED_GRANT;
use sigil_issuer::secrets;
use sigil_store::{IssuedToken, Redeem, RedeemError};

use super::reply;
use crate::state::{AppState, now};

/// Exchange a pre-authorized code (+ `tx_code`) for an access token.
pub async fn token(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return reply::token_error(
            TokenErrorCode::InvalidRequest,
            "the token request must be application/x-www-form-urlencoded",
        );
    }
    let pairs: Vec<(String, String)> = match serde_urlencoded::from_bytes(&body) {
        Ok(p) => p,
        Err(_) => {
            return reply::token_error(
                TokenErrorCode::InvalidRequest,
                "the body is not valid form encoding",
            );
        }
    };
    let mut params = BTreeMap::new();
    for (k, v) in pairs {
        if params.insert(k.clone(), v).is_some() {
            return reply::token_error(
                TokenErrorCode::InvalidRequest,
                &format!("parameter {k} is repeated"),
            );
        }
    }
    match params.get("grant_type").map(String::as_str) {
        None => return reply::token_error(TokenErrorCode::InvalidRequest, "grant_type is missing"),
        Some(PRE_AUTHORIZED_GRANT) => {}
        Some(other) => {
            return reply::token_error(
                TokenErrorCode::UnsupportedGrantType,
                &format!("grant_type {other} is not supported; use {PRE_AUTHORIZED_GRANT}"),
            );
        }
    }
    let Some(code) = params.get("pre-authorized_code").filter(|c| !c.is_empty()) else {
        return reply::token_error(
            TokenErrorCode::InvalidRequest,
            "pre-authorized_code is missing",
        );
    };
    let code_hash = secrets::hash(code);
    let tx_hash = params
        .get("tx_code")
        .map(|tx| secrets::tx_code_hash(code, tx));
    let n = now();
    let access_token = secrets::random_token();
    let token_hash = secrets::hash(&access_token);
    let expires_in = state.settings.issuance.access_token_seconds;
    // Redeem, store the token and the event in one transaction: a code is
    // never spent without a token to show for it.
    let redeemed = state
        .store
        .redeem_for_token(
            Redeem {
                tenant: &t.id,
                code_hash: &code_hash,
                tx_code_hash: tx_hash.as_deref(),
                max_tx_attempts: state.settings.issuance.max_tx_code_attempts,
                now: n,
            },
            IssuedToken {
                token_hash: &token_hash,
                expires_at: n + expires_in,
            },
        )
        .await;
    if let Err(e) = redeemed {
        return redeem_error(&e);
    }
    reply::no_store(
        StatusCode::OK,
        &json!({ "access_token": access_token, "token_type": "Bearer", "expires_in": expires_in }),
    )
}

fn redeem_error(e: &RedeemError) -> HttpResponse {
    use TokenErrorCode::{InvalidGrant, InvalidRequest, ServerError};
    let (code, description) = match e {
        RedeemError::UnknownCode => (
            InvalidGrant,
            "the pre-authorized code is unknown".to_owned(),
        ),
        RedeemError::Expired => (
            InvalidGrant,
            "the pre-authorized code has expired".to_owned(),
        ),
        RedeemError::Revoked => (InvalidGrant, "the offer was revoked".to_owned()),
        RedeemError::AlreadyUsed => (
            InvalidGrant,
            "the pre-authorized code was already used".to_owned(),
        ),
        RedeemError::Invalidated => (
            InvalidGrant,
            "too many wrong transaction codes; the offer is no longer valid".to_owned(),
        ),
        RedeemError::TxCodeRequired => (InvalidRequest, "this offer requires a tx_code".to_owned()),
        RedeemError::TxCodeNotExpected => (
            InvalidRequest,
            "this offer has no tx_code; do not send one".to_owned(),
        ),
        RedeemError::WrongTxCode { remaining } => (
            InvalidGrant,
            format!("the tx_code is wrong; {remaining} attempts left"),
        ),
        RedeemError::Store(err) => {
            tracing::error!(error = %err, "redeeming a code failed");
            (
                ServerError,
                "the request could not be processed; try again".to_owned(),
            )
        }
        _ => (ServerError, "the request could not be processed".to_owned()),
    };
    reply::token_error(code, &description)
}

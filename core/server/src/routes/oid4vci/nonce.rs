//! `POST /nonce` (OID4VCI §7): a fresh, unpredictable, single-use `c_nonce`.
//!
//! Nonces are self-verifying (`sigil_issuer::nonce`): issuing one writes
//! nothing; the credential endpoint spends it exactly once.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::reply;
use crate::state::{AppState, now};

/// Issue a nonce.
pub async fn nonce(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let expires = now() + state.settings.issuance.nonce_seconds;
    let value = state.nonce_key.issue(&t.id, expires);
    reply::no_store(StatusCode::OK, &json!({ "c_nonce": value }))
}

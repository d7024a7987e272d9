//! `POST /nonce` (OID4VCI §7): a fresh, unpredictable, single-use `c_nonce`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use sigil_issuer::errors::CredentialErrorCode;

use super::reply;
use crate::state::{AppState, now};

/// Issue a nonce.
pub async fn nonce(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let value = sigil_issuer::secrets::random_token();
    let expires = now() + state.settings.issuance.nonce_seconds;
    if let Err(e) = state.store.insert_nonce(&t.id, &value, expires).await {
        tracing::error!(error = %e, "storing a nonce failed");
        return reply::credential_error(
            CredentialErrorCode::ServerError,
            "the nonce could not be stored; try again",
        );
    }
    reply::no_store(StatusCode::OK, &json!({ "c_nonce": value }))
}

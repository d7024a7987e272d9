//! `POST /nonce`: [`sigil_issuer::Issuer::nonce`], never cached.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::reply;
use crate::state::AppState;

/// Issue a nonce.
pub async fn nonce(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match reply::tenant(&state, &req) {
        Ok(t) => reply::no_store(StatusCode::OK, &state.issuer.nonce(t)),
        Err(e) => e.response(),
    }
}

//! `GET /credential-offer/{id}`: [`sigil_issuer::Issuer::credential_offer`].

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use sigil_issuer::errors::ErrorBody;

use super::reply;
use crate::state::AppState;

/// Serve the offer object; the first fetch marks the offer `resolved`.
pub async fn by_reference(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let id = req.match_info().get("offer").unwrap_or_default();
    match state.issuer.credential_offer(t, id).await {
        Ok(offer) => reply::no_store(StatusCode::OK, &offer),
        Err(cause) => reply::no_store(
            StatusCode::from_u16(cause.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &ErrorBody::new(cause.error(), &cause.description()),
        ),
    }
}

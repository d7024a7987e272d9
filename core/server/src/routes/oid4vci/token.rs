//! `POST /token`: the form in, [`sigil_issuer::Issuer::token`], the answer out.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use sigil_issuer::endpoints::token::{TokenCause, TokenContext, TokenRequest};

use super::reply;
use crate::state::AppState;

/// Exchange a pre-authorized code (+ `tx_code`), an authorization code or
/// a refresh token for an access token.
pub async fn token(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    let url = format!("{}/token", t.issuer);
    let dpop = super::authorization::dpop_headers(&req);
    let ctx = TokenContext {
        url: &url,
        dpop: &dpop,
    };
    let answer = match TokenRequest::from_form(content_type, &body) {
        Ok(request) => state.issuer.token_with(t, &request, ctx).await,
        Err(cause) => Err(cause),
    };
    let mut r = match answer {
        Ok(response) => reply::no_store(StatusCode::OK, &response),
        Err(cause) => token_error(&cause),
    };
    super::authorization::with_dpop_nonce(&state, &t.id, &mut r);
    r
}

fn token_error(cause: &TokenCause) -> HttpResponse {
    reply::token_error(cause.code(), &cause.description())
}

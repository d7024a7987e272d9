//! `POST /deferred_credential` (OID4VCI §9): the headers and JSON body in
//! (read as at the credential endpoint),
//! [`sigil_issuer::Issuer::deferred_credential`], the answer out: `200`
//! with the credentials, `202` while pending, or the error.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use sigil_issuer::endpoints::deferred::DeferredRequest;
use sigil_issuer::errors::ErrorBody;

use super::credential::{WalletHeaders, outcome};
use super::reply;
use crate::state::AppState;

/// Ask for the credential of a deferred issuance.
pub async fn deferred_credential(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let headers = WalletHeaders::read(&req, t, "deferred_credential");
    let request = DeferredRequest::from_body(headers.content_type, &body);
    let providers = state.providers.as_ref();
    let mut r = match state
        .issuer
        .deferred_credential(t, headers.access(), request, providers)
        .await
    {
        Ok(o) => outcome(&o),
        Err(cause) => {
            let code = cause.code();
            match code.as_credential_code() {
                // The credential endpoint's codes, with its challenges.
                Some(c) => reply::credential_error(c, &cause.description()),
                None => {
                    let status =
                        StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST);
                    reply::no_store(status, &ErrorBody::new(code.as_str(), &cause.description()))
                }
            }
        }
    };
    super::authorization::with_dpop_nonce(&state, &t.id, &mut r);
    r
}

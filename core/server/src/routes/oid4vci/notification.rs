//! `POST /notification` (OID4VCI §11): the headers and JSON body in,
//! [`sigil_issuer::Issuer::notification`], 204 or the error out.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use sigil_issuer::endpoints::credential::CredentialAccess;
use sigil_issuer::endpoints::notification::NotificationRequest;
use sigil_issuer::errors::ErrorBody;

use super::reply;
use crate::state::AppState;

/// Record what became of the credentials of one response.
pub async fn notification(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let request = NotificationRequest::from_body(header("content-type"), &body);
    let url = format!("{}/notification", t.issuer);
    let dpop = super::authorization::dpop_headers(&req);
    let access = CredentialAccess {
        authorization: header("authorization"),
        dpop: &dpop,
        url: &url,
    };
    let mut r = match state
        .issuer
        .notification(t, access, request, state.providers.as_ref())
        .await
    {
        Ok(()) => HttpResponse::NoContent()
            .insert_header(("Cache-Control", "no-store"))
            .finish(),
        Err(cause) => {
            let code = cause.code();
            match code.as_credential_code() {
                // Token failures carry the credential endpoint's challenge.
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

//! `POST /credential`: the `Authorization` header and the JSON body in,
//! [`sigil_issuer::Issuer::credential_with`] (with HTTP to the tenant's
//! external authorization servers), the answer out.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use sigil_issuer::endpoints::credential::{CredentialAccess, CredentialRequest};

use super::reply;
use crate::state::AppState;

/// Issue credentials for one configuration.
pub async fn credential(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    let request = CredentialRequest::from_body(content_type, &body);
    let url = format!("{}/credential", t.issuer);
    let dpop = super::authorization::dpop_headers(&req);
    let access = CredentialAccess {
        authorization,
        dpop: &dpop,
        url: &url,
    };
    let providers = state.providers.as_ref();
    let mut r = match state
        .issuer
        .credential_with(t, access, request, providers)
        .await
    {
        Ok(response) => reply::no_store(StatusCode::OK, &response),
        Err(cause) => reply::credential_error(cause.code(), &cause.description()),
    };
    super::authorization::with_dpop_nonce(&state, &t.id, &mut r);
    r
}

//! `GET /statuslists/{n}` (and `/{tenant}/statuslists/{n}`): a tenant's
//! Token Status List, as `application/statuslist+jwt`, or as
//! `application/statuslist+cwt` when `Accept` prefers it
//! ([`sigil_issuer::Issuer::status_list_token`]). Public, cacheable for its
//! `ttl`, and open to every origin (Token Status List §8: verifiers in
//! browsers fetch it).

use actix_web::{HttpRequest, HttpResponse, web};
use sigil_issuer::errors::ErrorBody;
use sigil_issuer::status_list::{StatusListCause, TokenForm};

use super::reply;
use crate::state::AppState;

/// The list `n` of the addressed tenant.
pub async fn status_list(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let t = match reply::tenant(&state, &req) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let not_found = || {
        with_cors(HttpResponse::NotFound()).json(ErrorBody::new(
            "not_found",
            "no such status list; its URI comes from a credential's status.status_list.uri",
        ))
    };
    // Numbers are plain decimal from 1 (no sign, no leading zeros).
    let Some(number) = req
        .match_info()
        .get("n")
        .filter(|n| !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u32>().ok())
    else {
        return not_found();
    };
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let form = TokenForm::from_accept(accept);
    match state.issuer.status_list_token(t, number, form).await {
        Ok(token) => with_cors(HttpResponse::Ok())
            .content_type(token.content_type)
            .insert_header(("Cache-Control", format!("max-age={}", token.ttl)))
            .insert_header(("Vary", "Accept"))
            .body(token.body.to_vec()),
        Err(StatusListCause::UnknownList) => not_found(),
        Err(e @ StatusListCause::Store(_)) => {
            tracing::error!(tenant = %t.id, list = number, error = %e, "serving a status list failed");
            with_cors(HttpResponse::ServiceUnavailable())
                .insert_header(("Retry-After", "1"))
                .json(ErrorBody::new(
                    "temporarily_unavailable",
                    "the status list could not be read; try again",
                ))
        }
        Err(e @ StatusListCause::Signing(_)) => {
            tracing::error!(tenant = %t.id, list = number, error = %e, "signing a status list failed");
            with_cors(HttpResponse::InternalServerError()).json(ErrorBody::new(
                "server_error",
                "the status list could not be signed",
            ))
        }
    }
}

/// `builder` with `Access-Control-Allow-Origin: *`.
fn with_cors(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder.insert_header(("Access-Control-Allow-Origin", "*"));
    builder
}

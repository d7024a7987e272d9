//! Request size limits, checked before routing: request heads larger than
//! [`HEADER_LIMIT`] get 431 (RFC 6585 §5), bodies whose `Content-Length`
//! exceeds [`BODY_LIMIT`] get 413 before a byte of them is read (a body
//! without `Content-Length` is cut at the limit by the extractors).

use actix_web::HttpResponse;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use sigil_issuer::errors::ErrorBody;

use crate::problem::{Problem, ProblemType};

/// The largest request head (request line and headers), in bytes.
pub const HEADER_LIMIT: usize = 32 * 1024;

/// The largest request body of any endpoint, in bytes.
pub const BODY_LIMIT: usize = 256 * 1024;

/// The size of the request line and headers as sent (near enough: names,
/// values and separators).
fn head_size(req: &ServiceRequest) -> usize {
    let line = req.method().as_str().len() + req.uri().to_string().len() + 12;
    req.headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum::<usize>()
        + line
}

/// The declared body length, when there is one.
fn declared_length(req: &ServiceRequest) -> Option<u64> {
    req.headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// A refusal before routing: problem+json under `/admin`, an OAuth-style
/// error object (`invalid_request`) on the wallet routes.
fn refuse(req: &ServiceRequest, kind: ProblemType, detail: String) -> HttpResponse {
    if req.path().starts_with("/admin") {
        return actix_web::ResponseError::error_response(&Problem::new(kind, detail));
    }
    HttpResponse::build(kind.status())
        .insert_header(("Cache-Control", "no-store"))
        .json(ErrorBody::new("invalid_request", &detail))
}

/// Middleware (`middleware::from_fn`): refuse an oversized head or a
/// declared oversized body before routing.
pub async fn check_head(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refusal = if head_size(&req) > HEADER_LIMIT {
        Some(refuse(
            &req,
            ProblemType::HeadersTooLarge,
            format!("the request line and headers may have at most {HEADER_LIMIT} bytes"),
        ))
    } else if declared_length(&req).is_some_and(|n| n > BODY_LIMIT as u64) {
        Some(refuse(
            &req,
            ProblemType::TooLarge,
            format!("the body may have at most {BODY_LIMIT} bytes"),
        ))
    } else {
        None
    };
    if let Some(response) = refusal {
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

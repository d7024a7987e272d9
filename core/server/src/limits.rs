//! Request size limits, checked before a handler runs: request heads
//! larger than [`HEADER_LIMIT`] get 431 (RFC 6585 §5), bodies larger than
//! [`BODY_LIMIT`] get 413 from `Content-Length` before they are read.

use actix_web::HttpResponse;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;

use crate::problem::Problem;

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

/// The 431 answer: problem+json under `/admin`, JSON elsewhere.
fn too_large_head(req: &ServiceRequest) -> HttpResponse {
    let detail = format!("the request line and headers may have at most {HEADER_LIMIT} bytes");
    if req.path().starts_with("/admin") {
        return actix_web::ResponseError::error_response(&Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            "Request Header Fields Too Large",
            detail,
        ));
    }
    HttpResponse::build(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).json(serde_json::json!({
        "error": "invalid_request",
        "error_description": detail,
    }))
}

/// Middleware (`middleware::from_fn`): refuse an oversized head before
/// routing.
pub async fn check_head(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if head_size(&req) > HEADER_LIMIT {
        let response = too_large_head(&req);
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

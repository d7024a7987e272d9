//! RFC 9457 problem details for the admin API.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// JSON pointer or dotted name of the field.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An `application/problem+json` response.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// URI identifying the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened in this case, for a human to act on.
    pub detail: String,
    /// Field errors of a validation failure, at most [`MAX_FIELD_ERRORS`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// How many field errors were left out of `errors`.
    #[serde(rename = "errorsOmitted", skip_serializing_if = "is_zero")]
    pub errors_omitted: u32,
    /// The methods a 405 answer allows (sent as `Allow`, not in the body).
    #[serde(skip)]
    pub allow: Option<&'static str>,
}

/// At most this many entries in a problem's `errors` (the rest are counted
/// in `errorsOmitted`), so a request with thousands of bad entries gets an
/// answer of bounded size.
pub const MAX_FIELD_ERRORS: usize = 50;

/// At most this many characters of a field name or message (both may
/// echo what the client sent).
const MAX_TEXT: usize = 500;

/// A count as it is reported (saturating at `u32::MAX`).
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// `text`, cut to [`MAX_TEXT`] characters (marked with an ellipsis).
fn bounded(text: String) -> String {
    if text.chars().count() <= MAX_TEXT {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_TEXT).collect();
    cut.push('…');
    cut
}

impl Problem {
    /// A problem with a status, a type slug and a detail.
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://sigil.dev/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: bounded(detail.into()),
            errors: Vec::new(),
            errors_omitted: 0,
            allow: None,
        }
    }

    /// 401: missing or wrong admin token.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
    }

    /// 404: no such resource.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not Found", detail)
    }

    /// 503: the database did not answer; nothing was changed.
    pub fn store_unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store-unavailable",
            "Store unavailable",
            detail,
        )
    }

    /// 400: the request body is invalid.
    pub fn validation(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        let mut p = Self::new(
            StatusCode::BAD_REQUEST,
            "validation",
            "Invalid request",
            detail,
        );
        let total = errors.len();
        p.errors = errors
            .into_iter()
            .take(MAX_FIELD_ERRORS)
            .map(|e| FieldError {
                field: bounded(e.field),
                message: bounded(e.message),
            })
            .collect();
        p.count_omitted(total);
        p
    }

    /// Record that `total` field errors were found, of which `errors` lists
    /// the first (for checks that stop collecting at the cap).
    pub fn count_omitted(&mut self, total: usize) {
        let omitted = count(total.saturating_sub(self.errors.len()));
        if omitted > self.errors_omitted {
            self.errors_omitted = omitted;
            self.detail = format!(
                "{} ({omitted} more errors are not listed; fix these and send again)",
                self.detail
            );
        }
    }

    /// 400: the body is invalid as a whole (not JSON, a repeated member).
    pub fn bad_body(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-body",
            "Invalid request body",
            detail,
        )
    }

    /// 413: the body is larger than the endpoint accepts.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Request body too large",
            format!("the body may have at most {limit} bytes"),
        )
    }

    /// 415: the body is not sent as JSON.
    pub fn unsupported_media(given: Option<&str>) -> Self {
        let detail = match given {
            Some(g) => format!(
                "the body is sent as {}; send it as application/json",
                g.chars().take(100).collect::<String>()
            ),
            None => "send the body with Content-Type: application/json".to_owned(),
        };
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported Media Type",
            detail,
        )
    }

    /// 405: the resource exists but not with this method.
    pub fn method_not_allowed(method: &str, allow: &'static str) -> Self {
        let mut p = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method Not Allowed",
            format!("{method} is not allowed here; use {allow}"),
        );
        p.allow = Some(allow);
        p
    }

    /// 409: the request conflicts with the resource's state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        if self.status == 401 {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let Some(allow) = &self.allow {
            response.insert_header(("Allow", *allow));
        }
        response.json(self)
    }
}

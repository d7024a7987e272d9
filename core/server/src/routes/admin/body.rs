//! JSON bodies of the admin API, read strictly: `application/json` only
//! (415), at most [`ADMIN_BODY_LIMIT`] bytes (413; a declared larger body
//! is refused before routing by [`crate::limits`]), no repeated member
//! names and no U+0000 in any string (400 naming each field), then the
//! typed request (400).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use sigil_issuer::endpoints::media_type;
use sigil_issuer::json::{nul_paths, parse_strict};

use crate::problem::{FieldError, MAX_FIELD_ERRORS, Problem};

/// The largest admin request body, in bytes.
pub const ADMIN_BODY_LIMIT: usize = crate::limits::BODY_LIMIT;

/// A strictly read JSON body of type `T`.
#[derive(Debug)]
pub struct AdminJson<T>(pub T);

impl<T> AdminJson<T> {
    /// The typed body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for AdminJson<T> {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = check_head(req);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            checked?;
            let body = bytes.await.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    Problem::too_large(ADMIN_BODY_LIMIT)
                } else {
                    Problem::bad_body(format!("the body could not be read: {e}"))
                }
            })?;
            read::<T>(&body).map(AdminJson)
        })
    }
}

/// The media type, before any byte of the body is read.
fn check_head(req: &HttpRequest) -> Result<(), Problem> {
    let content_type = req
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let media = media_type(content_type).to_ascii_lowercase();
    let json = media == "application/json"
        || (media.starts_with("application/") && media.ends_with("+json"));
    if json {
        Ok(())
    } else {
        Err(Problem::unsupported_media(content_type))
    }
}

/// Strict JSON, then the typed request.
pub fn read<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let value = parse_strict(body)
        .map_err(|e| Problem::bad_body(format!("the body is not valid JSON: {e}")))?;
    let (paths, total) = nul_paths(&value, MAX_FIELD_ERRORS);
    if total > 0 {
        let errors: Vec<FieldError> = paths
            .into_iter()
            .map(|field| FieldError {
                field,
                message: "contains U+0000 (NUL), which Sigil does not store; remove it".into(),
            })
            .collect();
        let mut problem = Problem::validation("text in the request contains U+0000 (NUL)", errors);
        problem.count_omitted(total);
        return Err(problem);
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        Problem::validation(
            "the request does not have the expected members",
            vec![FieldError {
                field: if path == "." { "$".into() } else { path },
                message: e.into_inner().to_string(),
            }],
        )
    })
}

//! Response helpers shared by the OID4VCI endpoints.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;
use sigil_issuer::errors::{CredentialErrorCode, ErrorBody, TokenErrorCode};
use sigil_settings::DEFAULT_TENANT;

use crate::state::AppState;
use crate::tenants::Tenant;

/// A JSON response that must not be cached.
pub fn no_store(status: StatusCode, body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"))
        .json(body)
}

/// A token endpoint error (RFC 6749 §5.2).
pub fn token_error(code: TokenErrorCode, description: &str) -> HttpResponse {
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = no_store(status, &ErrorBody::new(code.as_str(), description));
    if code == TokenErrorCode::InvalidClient {
        r.headers_mut().insert(
            actix_web::http::header::WWW_AUTHENTICATE,
            actix_web::http::header::HeaderValue::from_static("Bearer"),
        );
    }
    r
}

/// A credential endpoint error (OID4VCI §8.3.1, RFC 6750 §3).
pub fn credential_error(code: CredentialErrorCode, description: &str) -> HttpResponse {
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = ErrorBody::new(code.as_str(), description);
    let mut response = HttpResponse::build(status);
    response.insert_header(("Cache-Control", "no-store"));
    if matches!(
        code,
        CredentialErrorCode::InvalidToken
            | CredentialErrorCode::InsufficientScope
            | CredentialErrorCode::InvalidDpopProof
            | CredentialErrorCode::UseDpopNonce
    ) {
        // RFC 6750 §3 and RFC 9449 §7.1: a challenge for each scheme.
        let params = format!(
            "error=\"{}\", error_description=\"{}\"",
            code.as_str(),
            body.error_description
        );
        let challenge = match code {
            CredentialErrorCode::InvalidDpopProof | CredentialErrorCode::UseDpopNonce => {
                format!("DPoP {params}, algs=\"ES256 ES384 EdDSA RS256 PS256\"")
            }
            _ => format!("Bearer {params}, DPoP algs=\"ES256 ES384 EdDSA RS256 PS256\""),
        };
        response.insert_header(("WWW-Authenticate", challenge));
    }
    response.json(body)
}

/// A request for a tenant this server does not have.
#[derive(Debug)]
pub struct UnknownTenant(String);

impl UnknownTenant {
    /// The 404 answer.
    pub fn response(&self) -> HttpResponse {
        HttpResponse::NotFound().json(serde_json::json!({
            "error": "not_found", "error_description": format!("no credential issuer '{}' here", self.0)
        }))
    }
}

/// The tenant the request is addressed to.
pub fn tenant<'a>(state: &'a AppState, req: &HttpRequest) -> Result<&'a Tenant, UnknownTenant> {
    let id = req.match_info().get("tenant").unwrap_or(DEFAULT_TENANT);
    state
        .tenants
        .get(id)
        .ok_or_else(|| UnknownTenant(id.to_owned()))
}

/// A plain JSON 200 for metadata (cacheable for a short while).
pub fn metadata(body: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=60"))
        .json(body)
}

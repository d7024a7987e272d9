//! The endpoints' rules, one module each, as methods of [`crate::Issuer`]:
//! a typed request in, a typed response or that endpoint's cause enum out.
//! Each cause enum maps exhaustively to the spec's error code (which
//! carries its HTTP status) and a description a person can act on.

pub mod authorize;
pub mod claims;
pub mod credential;
pub mod dpop;
pub mod external;
pub mod grants;
pub mod nonce;
pub mod notification;
pub mod offer;
pub mod par;
pub mod token;

#[cfg(test)]
mod tests;

/// The media type of a `Content-Type` value, without parameters (empty
/// when there is none).
pub fn media_type(content_type: Option<&str>) -> &str {
    content_type
        .and_then(|c| c.split(';').next())
        .map(str::trim)
        .unwrap_or_default()
}

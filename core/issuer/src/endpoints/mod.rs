//! The endpoints' rules, one module each, as methods of [`crate::Issuer`]:
//! a typed request in, a typed response or that endpoint's cause enum out.
//! Each cause enum maps exhaustively to the spec's error code (which
//! carries its HTTP status) and a description a person can act on.

pub mod authorize;
pub mod claims;
pub mod credential;
pub mod deferred;
pub mod dpop;
pub mod external;
pub mod grants;
mod issuance;
pub mod nonce;
pub mod notification;
pub mod offer;
pub mod par;
pub mod token;

#[cfg(test)]
mod tests;

/// `verify` with the JWKS a provider or authorization server publishes at
/// `uri` (cached), and once more with the JWKS fetched again when
/// `key_unknown` says it named a key the cached set lacks: the keys may have
/// rotated. Shared by ID tokens and JWT access tokens.
pub(crate) async fn with_fresh_keys<O, T, E>(
    providers: &O,
    uri: &str,
    verify: impl Fn(&serde_json::Value) -> Result<T, E>,
    key_unknown: impl Fn(&E) -> bool,
) -> Result<Result<T, E>, crate::ports::ProviderFailure>
where
    O: crate::ports::OpenIdProviders,
{
    let cached = verify(&providers.jwks(uri, false).await?);
    match cached {
        Err(e) if key_unknown(&e) => Ok(verify(&providers.jwks(uri, true).await?)),
        other => Ok(other),
    }
}

/// Why a JSON request body could not be read.
#[derive(Debug)]
pub(crate) enum BodyFault {
    /// Not sent as `application/json` (the media type given, cut short).
    NotJson(String),
    /// Not JSON, or an object that repeats a member name.
    Syntax(String),
    /// JSON, but not of the request's shape.
    Shape(String),
}

/// A request body that must be sent as `application/json`.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<T, BodyFault> {
    let media = media_type(content_type);
    if !media.eq_ignore_ascii_case("application/json") {
        return Err(BodyFault::NotJson(media.chars().take(100).collect()));
    }
    strict_json(body)
}

/// A JSON body read strictly ([`crate::json::parse_strict`]: no repeated
/// member names), then as `T`.
pub(crate) fn strict_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, BodyFault> {
    let value = crate::json::parse_strict(body).map_err(|e| BodyFault::Syntax(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| BodyFault::Shape(e.to_string()))
}

/// The media type of a `Content-Type` value, without parameters (empty
/// when there is none).
pub fn media_type(content_type: Option<&str>) -> &str {
    content_type
        .and_then(|c| c.split(';').next())
        .map(str::trim)
        .unwrap_or_default()
}

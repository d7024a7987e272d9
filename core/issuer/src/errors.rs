//! Error codes of the token endpoint (RFC 6749 §5.2, OID4VCI §6.3) and the
//! credential endpoint (OID4VCI §8.3.1), each with its HTTP status.

use serde::Serialize;

/// Token endpoint error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenErrorCode {
    /// Missing or malformed parameter, `tx_code` missing or not expected.
    InvalidRequest,
    /// Unknown, expired, used or revoked code; wrong `tx_code`.
    InvalidGrant,
    /// Grant type not supported.
    UnsupportedGrantType,
    /// Client authentication failed.
    InvalidClient,
    /// Unexpected failure.
    ServerError,
}

impl TokenErrorCode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidClient => "invalid_client",
            Self::ServerError => "server_error",
        }
    }

    /// HTTP status (RFC 6749 §5.2: 400, `invalid_client` 401).
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidRequest | Self::InvalidGrant | Self::UnsupportedGrantType => 400,
            Self::InvalidClient => 401,
            Self::ServerError => 500,
        }
    }
}

/// Credential endpoint error codes (OID4VCI §8.3.1) and bearer-token errors (RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialErrorCode {
    /// Missing/invalid/expired access token (401 with `WWW-Authenticate`).
    InvalidToken,
    /// The token does not cover the requested credential (403).
    InsufficientScope,
    /// Malformed request.
    InvalidCredentialRequest,
    /// Unknown `credential_configuration_id`.
    UnknownCredentialConfiguration,
    /// Unknown `credential_identifier`.
    UnknownCredentialIdentifier,
    /// A proof is missing or invalid.
    InvalidProof,
    /// A proof's `c_nonce` is invalid or expired.
    InvalidNonce,
    /// Response encryption parameters are invalid.
    InvalidEncryptionParameters,
    /// The issuer will not issue this credential.
    CredentialRequestDenied,
    /// Unexpected failure.
    ServerError,
}

impl CredentialErrorCode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidCredentialRequest => "invalid_credential_request",
            Self::UnknownCredentialConfiguration => "unknown_credential_configuration",
            Self::UnknownCredentialIdentifier => "unknown_credential_identifier",
            Self::InvalidProof => "invalid_proof",
            Self::InvalidNonce => "invalid_nonce",
            Self::InvalidEncryptionParameters => "invalid_encryption_parameters",
            Self::CredentialRequestDenied => "credential_request_denied",
            Self::ServerError => "server_error",
        }
    }

    /// HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidCredentialRequest
            | Self::UnknownCredentialConfiguration
            | Self::UnknownCredentialIdentifier
            | Self::InvalidProof
            | Self::InvalidNonce
            | Self::InvalidEncryptionParameters
            | Self::CredentialRequestDenied => 400,
            Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
        }
    }
}

/// The JSON body of an OAuth-style error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// Error code.
    pub error: &'static str,
    /// Human-readable explanation (ASCII subset allowed by RFC 6749).
    pub error_description: String,
}

impl ErrorBody {
    /// A body, with the description reduced to the characters RFC 6749 allows
    /// (`%x20-21 / %x23-5B / %x5D-7E`).
    pub fn new(error: &'static str, description: &str) -> Self {
        let error_description = description
            .chars()
            .map(|c| match c {
                '"' => '\'',
                '\\' => '/',
                c if (' '..='~').contains(&c) => c,
                _ => '?',
            })
            .collect();
        Self {
            error,
            error_description,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn description_is_restricted_to_allowed_characters() {
        let b = ErrorBody::new("invalid_proof", "bad \"typ\" \\ é\n");
        assert_eq!(b.error_description, "bad 'typ' / ??");
    }

    #[test]
    fn statuses() {
        assert_eq!(CredentialErrorCode::InvalidToken.status(), 401);
        assert_eq!(CredentialErrorCode::InsufficientScope.status(), 403);
        assert_eq!(CredentialErrorCode::InvalidNonce.status(), 400);
        assert_eq!(TokenErrorCode::InvalidGrant.status(), 400);
    }
}

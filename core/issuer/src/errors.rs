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
    /// The DPoP proof is missing or invalid (RFC 9449 §5).
    InvalidDpopProof,
    /// The DPoP proof must carry the server's nonce (RFC 9449 §8).
    UseDpopNonce,
    /// The requested `authorization_details` are unusable (RFC 9396 §6).
    InvalidAuthorizationDetails,
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
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidAuthorizationDetails => "invalid_authorization_details",
            Self::ServerError => "server_error",
        }
    }

    /// HTTP status (RFC 6749 §5.2: 400, `invalid_client` 401).
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidRequest
            | Self::InvalidGrant
            | Self::UnsupportedGrantType
            | Self::InvalidDpopProof
            | Self::UseDpopNonce
            | Self::InvalidAuthorizationDetails => 400,
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
    /// The DPoP proof is missing or invalid (401, RFC 9449 §7.1).
    InvalidDpopProof,
    /// The DPoP proof must carry the server's nonce (401, RFC 9449 §9).
    UseDpopNonce,
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
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
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
            Self::InvalidToken | Self::InvalidDpopProof | Self::UseDpopNonce => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
        }
    }
}

/// Notification endpoint error codes (OID4VCI §11.3) and token errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationErrorCode {
    /// Missing/invalid/expired access token (401).
    InvalidToken,
    /// The DPoP proof is missing or invalid (401).
    InvalidDpopProof,
    /// The DPoP proof must carry the server's nonce (401).
    UseDpopNonce,
    /// The `notification_id` is unknown.
    InvalidNotificationId,
    /// The request is malformed.
    InvalidNotificationRequest,
    /// Unexpected failure.
    ServerError,
}

impl NotificationErrorCode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidToken => "invalid_token",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidNotificationId => "invalid_notification_id",
            Self::InvalidNotificationRequest => "invalid_notification_request",
            Self::ServerError => "server_error",
        }
    }

    /// HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidToken | Self::InvalidDpopProof | Self::UseDpopNonce => 401,
            Self::InvalidNotificationId | Self::InvalidNotificationRequest => 400,
            Self::ServerError => 500,
        }
    }

    /// The same failure as the credential endpoint names it (for its
    /// `WWW-Authenticate` challenge), when it is a token failure.
    pub fn as_credential_code(self) -> Option<CredentialErrorCode> {
        match self {
            Self::InvalidToken => Some(CredentialErrorCode::InvalidToken),
            Self::InvalidDpopProof => Some(CredentialErrorCode::InvalidDpopProof),
            Self::UseDpopNonce => Some(CredentialErrorCode::UseDpopNonce),
            _ => None,
        }
    }
}

/// Deferred credential endpoint error codes (OID4VCI §9.3): the credential
/// endpoint's codes (token, request and issuance failures) and
/// `invalid_transaction_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeferredErrorCode {
    /// A code the credential endpoint has too (its status and challenge).
    Credential(CredentialErrorCode),
    /// The `transaction_id` is unknown, expired or already used (400).
    InvalidTransactionId,
}

impl DeferredErrorCode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credential(c) => c.as_str(),
            Self::InvalidTransactionId => "invalid_transaction_id",
        }
    }

    /// HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Self::Credential(c) => c.status(),
            Self::InvalidTransactionId => 400,
        }
    }

    /// The credential endpoint's code, when it is one (to answer with its
    /// `WWW-Authenticate` challenge).
    pub fn as_credential_code(self) -> Option<CredentialErrorCode> {
        match self {
            Self::Credential(c) => Some(c),
            Self::InvalidTransactionId => None,
        }
    }
}

/// Authorization endpoint and PAR error codes (RFC 6749 §4.1.2.1,
/// RFC 9126 §2.3, RFC 9396 §5, RFC 9449 §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationErrorCode {
    /// Missing, repeated or malformed parameter; unknown `request_uri`.
    InvalidRequest,
    /// `response_type` other than `code`.
    UnsupportedResponseType,
    /// No credential asked for.
    InvalidScope,
    /// Unusable `authorization_details`.
    InvalidAuthorizationDetails,
    /// The person cancelled or was refused.
    AccessDenied,
    /// The DPoP proof at PAR is invalid.
    InvalidDpopProof,
    /// The DPoP proof must carry the server's nonce.
    UseDpopNonce,
    /// Unexpected failure.
    ServerError,
}

impl AuthorizationErrorCode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidAuthorizationDetails => "invalid_authorization_details",
            Self::AccessDenied => "access_denied",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::ServerError => "server_error",
        }
    }

    /// HTTP status of a PAR error or an error page.
    pub fn status(self) -> u16 {
        match self {
            Self::AccessDenied => 403,
            Self::ServerError => 502,
            _ => 400,
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

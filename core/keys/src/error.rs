use thiserror::Error;

/// Why a key could not be loaded or created.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The JWK is not a usable private key.
    #[error("invalid private JWK: {0}")]
    InvalidJwk(String),
    /// The key file or key material is not usable.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The key type or curve is not supported.
    #[error("unsupported key: {0} (Sigil supports EC P-256, EC P-384 and Ed25519 keys)")]
    Unsupported(String),
}

/// Why a signature could not be produced.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SignError {
    /// The signer failed.
    #[error("signing failed: {0}")]
    Failed(String),
}

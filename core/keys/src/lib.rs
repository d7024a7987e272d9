//! Issuer keys for Sigil.
//!
//! Private keys are loaded or generated here and never leave this crate:
//! the rest of Sigil (and every plugin) sees a [`Signer`], which can report
//! public information and sign bytes, nothing else.
//!
//! 1. [`IssuerKey::generate_p256`] makes a new ES256 key (dev mode), or
//!    [`IssuerKey::from_jwk`] loads one from a private JWK.
//! 2. [`IssuerKey::to_private_jwk`] writes it back for persistence.
//! 3. Share it as `Arc<dyn Signer>`.

mod error;
mod p256_key;

use std::sync::Arc;

pub use error::{KeyError, SignError};
pub use p256_key::IssuerKey;

/// Signature algorithms Sigil's keys can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256.
    Es256,
}

impl Algorithm {
    /// The JOSE name (`ES256`).
    pub fn jose_name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
        }
    }

    /// The COSE algorithm identifier (-7 for ES256).
    pub fn cose_id(self) -> i32 {
        match self {
            Self::Es256 => -7,
        }
    }
}

/// Something that signs with an issuer key without revealing it.
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// Key id (`kid`).
    fn key_id(&self) -> &str;
    /// The algorithm this key signs with.
    fn algorithm(&self) -> Algorithm;
    /// The public key as a JWK object (no private members).
    fn public_jwk(&self) -> serde_json::Value;
    /// X.509 chain, leaf first, DER; empty when none.
    fn certificate_chain(&self) -> &[Vec<u8>];
    /// Sign `data`; ECDSA signatures are fixed-size `r || s` (JWS / COSE form).
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// A shared signer.
pub type SharedSigner = Arc<dyn Signer>;

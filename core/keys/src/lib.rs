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
pub mod jwk;
mod p256_key;
pub mod x509;

use std::sync::Arc;

pub use error::{KeyError, SignError};
pub use p256_key::IssuerKey;

/// Signature algorithms Sigil's keys can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256.
    Es256,
    /// ECDSA with P-384 and SHA-384.
    Es384,
    /// EdDSA with Ed25519.
    EdDsa,
}

impl Algorithm {
    /// The JOSE name (`ES256`, `ES384`, `EdDSA`).
    pub fn jose_name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The COSE algorithm identifier (RFC 9053: ES256 -7, ES384 -35, EdDSA -8).
    pub fn cose_id(self) -> i32 {
        match self {
            Self::Es256 => -7,
            Self::Es384 => -35,
            Self::EdDsa => -8,
        }
    }

    /// Parse a JOSE name (case-insensitive).
    pub fn from_jose_name(name: &str) -> Option<Self> {
        [Self::Es256, Self::Es384, Self::EdDsa]
            .into_iter()
            .find(|a| a.jose_name().eq_ignore_ascii_case(name))
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

/// A signer that hides its certificate chain: for credential formats that
/// must not carry `x5c` (see `keys.x5c_formats`).
#[derive(Debug)]
pub struct WithoutChain(pub SharedSigner);

impl Signer for WithoutChain {
    fn key_id(&self) -> &str {
        self.0.key_id()
    }
    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
    fn public_jwk(&self) -> serde_json::Value {
        self.0.public_jwk()
    }
    fn certificate_chain(&self) -> &[Vec<u8>] {
        &[]
    }
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        self.0.sign(data)
    }
}

//! Issuer keys for Sigil.
//!
//! Private keys are loaded or generated here and never leave this crate:
//! the rest of Sigil (and every plugin) sees a [`Signer`], which can report
//! public information and sign bytes, nothing else.
//!
//! 1. [`IssuerKey::generate`] makes a new ES256, ES384 or EdDSA key (dev
//!    mode), or [`IssuerKey::from_jwk`] / [`IssuerKey::from_pem`] load one
//!    (signing is done with `ring`).
//! 2. [`IssuerKey::to_private_jwk`] writes it back for persistence.
//! 3. Share it as `Arc<dyn Signer>`.
//!
//! A tenant's key folder on disk (key files, chains, the `keys.toml`
//! manifest, retired keys, demo chains) is [`folder`] and [`keyring`];
//! [`identity`] turns a key into the `iss` and `kid` of what it signs.
//! Their errors are [`KeyFolderError`]s, which name the file and the fix.

pub mod did;
mod error;
pub mod folder;
pub mod identity;
mod issuer_key;
pub mod jwk;
pub mod keyring;
pub mod x509;

use std::sync::Arc;

pub use error::{KeyError, KeyFolderError, SignError};
pub use issuer_key::IssuerKey;

/// Signature algorithms Sigil's keys can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// A key as a format plugin sees it: its `kid` may be replaced (a DID URL
/// when the issuer is a DID), and its chain hidden (for credential formats
/// that must not carry `x5c`, see `keys.x5c_formats`) or replaced (an
/// offer's `runtimeOverrides.x5Chain`).
#[derive(Debug)]
pub struct Presented {
    inner: SharedSigner,
    kid: Option<String>,
    chain: PresentedChain,
}

#[derive(Debug)]
enum PresentedChain {
    Own,
    Hidden,
    Given(Vec<Vec<u8>>),
}

impl Presented {
    /// `inner` presented with `kid` (if any), with or without its chain.
    pub fn new(inner: SharedSigner, kid: Option<String>, chain: bool) -> Self {
        let chain = if chain {
            PresentedChain::Own
        } else {
            PresentedChain::Hidden
        };
        Self { inner, kid, chain }
    }

    /// `inner` presented with `kid` (if any) and `chain` (DER, leaf first)
    /// instead of its own.
    pub fn with_chain(inner: SharedSigner, kid: Option<String>, chain: Vec<Vec<u8>>) -> Self {
        Self {
            inner,
            kid,
            chain: PresentedChain::Given(chain),
        }
    }
}

impl Signer for Presented {
    fn key_id(&self) -> &str {
        self.kid.as_deref().unwrap_or_else(|| self.inner.key_id())
    }
    fn algorithm(&self) -> Algorithm {
        self.inner.algorithm()
    }
    fn public_jwk(&self) -> serde_json::Value {
        let mut jwk = self.inner.public_jwk();
        if let (Some(kid), Some(map)) = (&self.kid, jwk.as_object_mut()) {
            map.insert("kid".into(), kid.clone().into());
        }
        jwk
    }
    fn certificate_chain(&self) -> &[Vec<u8>] {
        match &self.chain {
            PresentedChain::Own => self.inner.certificate_chain(),
            PresentedChain::Hidden => &[],
            PresentedChain::Given(c) => c,
        }
    }
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        self.inner.sign(data)
    }
}

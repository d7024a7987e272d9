use std::path::PathBuf;

use thiserror::Error;

/// Why a key could not be loaded or created.
#[derive(Debug, Error)]
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
pub enum SignError {
    /// The signer failed.
    #[error("signing failed: {0}")]
    Failed(String),
}

/// A problem with a key folder or one of its files (key, chain, manifest),
/// naming the file, the setting or member at fault, and the fix. Its
/// `Display` reads like a configuration error:
/// `keys/default/issuer-p256.chain.pem: -: <problem>. Fix: <what to do>`.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{}: {key}: {problem}. Fix: {fix}", file.display())]
pub struct KeyFolderError {
    /// The file at fault: a key, chain or manifest file, the folder, or the
    /// configuration file that points at the folder.
    pub file: PathBuf,
    /// The setting (`keys.dir`) or member (`active`) at fault, or `-` when
    /// the whole file is.
    pub key: String,
    /// What is wrong.
    pub problem: String,
    /// What to do about it.
    pub fix: String,
}

impl KeyFolderError {
    /// A new error.
    pub fn new(
        file: impl Into<PathBuf>,
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

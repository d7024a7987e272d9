//! Typed, attributed plugin failures.

use std::path::PathBuf;
use std::time::Duration;

use sigil_issuer::ports::{ClaimFailure, FormatFailure};
use thiserror::Error;

/// Why one plugin call failed. Every variant names the plugin, so the
/// message can go straight into a log line or an error response.
#[derive(Debug, Error)]
pub enum PluginError {
    /// No plugin with that id is loaded.
    #[error("plugin '{plugin}' is not loaded")]
    NotLoaded {
        /// Plugin id.
        plugin: String,
    },
    /// The plugin is of the other kind (e.g. a format plugin used as claim provider).
    #[error("plugin '{plugin}' is a {actual} plugin, not a {expected} plugin")]
    WrongKind {
        /// Plugin id.
        plugin: String,
        /// What the caller needed.
        expected: &'static str,
        /// What the plugin is.
        actual: &'static str,
    },
    /// The call ran past its wall-clock deadline.
    #[error("plugin '{plugin}' exceeded its {limit:?} deadline")]
    Timeout {
        /// Plugin id.
        plugin: String,
        /// The deadline.
        limit: Duration,
    },
    /// The call used up its CPU budget.
    #[error("plugin '{plugin}' ran out of fuel ({fuel} units)")]
    FuelExhausted {
        /// Plugin id.
        plugin: String,
        /// The budget.
        fuel: u64,
    },
    /// The plugin tried to grow its memory past the cap.
    #[error("plugin '{plugin}' exceeded its memory limit of {limit} bytes")]
    MemoryExceeded {
        /// Plugin id.
        plugin: String,
        /// The cap in bytes.
        limit: usize,
    },
    /// The plugin used a capability it was not granted (and failed because of it).
    #[error("plugin '{plugin}' was denied {capability}")]
    CapabilityDenied {
        /// Plugin id.
        plugin: String,
        /// What was denied, e.g. `outbound HTTP to http://10.0.0.1:80`.
        capability: String,
    },
    /// The plugin trapped (panic, unreachable, bad memory access, ...).
    #[error("plugin '{plugin}' crashed: {message}")]
    Trap {
        /// Plugin id.
        plugin: String,
        /// The trap, as wasmtime describes it.
        message: String,
    },
    /// The plugin returned something that breaks the contract.
    #[error("plugin '{plugin}' returned an invalid result: {reason}")]
    InvalidOutput {
        /// Plugin id.
        plugin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Too many calls are running at once (every sandbox slot is in use).
    #[error("plugin '{plugin}' could not start: {reason}")]
    Unavailable {
        /// Plugin id.
        plugin: String,
        /// Why.
        reason: String,
    },
    /// A claim provider reported a failure of its own.
    #[error("plugin '{plugin}' could not resolve claims: {error}")]
    Claim {
        /// Plugin id.
        plugin: String,
        /// The provider's error.
        error: ClaimFailure,
    },
    /// A format plugin reported a failure of its own.
    #[error("plugin '{plugin}' could not issue: {error}")]
    Format {
        /// Plugin id.
        plugin: String,
        /// The format plugin's error.
        error: FormatFailure,
    },
}

impl PluginError {
    /// The id of the plugin this error is about.
    pub fn plugin(&self) -> &str {
        match self {
            Self::NotLoaded { plugin }
            | Self::WrongKind { plugin, .. }
            | Self::Timeout { plugin, .. }
            | Self::FuelExhausted { plugin, .. }
            | Self::MemoryExceeded { plugin, .. }
            | Self::CapabilityDenied { plugin, .. }
            | Self::Trap { plugin, .. }
            | Self::InvalidOutput { plugin, .. }
            | Self::Unavailable { plugin, .. }
            | Self::Claim { plugin, .. }
            | Self::Format { plugin, .. } => plugin,
        }
    }
}

/// Why a plugin could not be loaded from the plugin directory.
#[derive(Debug, Clone, Error)]
pub enum LoadError {
    /// The directory or a file could not be read.
    #[error("{path}: {message}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// `plugin.toml` is missing or invalid.
    #[error("{path}: invalid plugin manifest: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The component targets a WIT version or kind this host does not support.
    #[error("{path}: {message}")]
    UnsupportedApi {
        /// The component file.
        path: PathBuf,
        /// What it targets and what this host supports.
        message: String,
    },
    /// The component's sha256 does not match the operator's pin.
    #[error("{path}: sha256 is {actual}, but the configuration pins {expected}")]
    HashMismatch {
        /// The component file.
        path: PathBuf,
        /// The pinned digest.
        expected: String,
        /// The file's digest.
        actual: String,
    },
    /// The component could not be compiled or linked.
    #[error("{path}: {message}")]
    Compile {
        /// The component file.
        path: PathBuf,
        /// The compiler's or linker's message.
        message: String,
    },
    /// Two plugins share one id.
    #[error("{path}: plugin id '{id}' is already used by {other}")]
    DuplicateId {
        /// The second manifest.
        path: PathBuf,
        /// The id.
        id: String,
        /// The first plugin's path.
        other: PathBuf,
    },
}

impl LoadError {
    /// The file (or directory) the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Io { path, .. }
            | Self::Manifest { path, .. }
            | Self::UnsupportedApi { path, .. }
            | Self::HashMismatch { path, .. }
            | Self::Compile { path, .. }
            | Self::DuplicateId { path, .. } => path,
        }
    }
}

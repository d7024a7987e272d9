//! `plugin.toml`: what a plugin says about itself.

use std::path::Path;

use serde::Deserialize;

use crate::LoadError;

/// The two kinds of plugins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Resolves claims (`world claim-provider`).
    ClaimProvider,
    /// Encodes and signs credentials (`world credential-format`).
    CredentialFormat,
}

impl PluginKind {
    /// The kind as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClaimProvider => "claim-provider",
            Self::CredentialFormat => "credential-format",
        }
    }

    /// The interface the component must export, without version.
    pub fn export_interface(self) -> &'static str {
        match self {
            Self::ClaimProvider => "sigil:plugin/claims",
            Self::CredentialFormat => "sigil:plugin/format",
        }
    }
}

/// Capabilities a plugin asks for. The operator still has to grant them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requests {
    /// Origin patterns the plugin wants to call (`https://*.example.com`,
    /// `http://127.0.0.1:*`), or `["*"]` for "whatever the operator allows".
    #[serde(default)]
    pub http: Vec<String>,
    /// Config keys the plugin reads with `host::config`.
    #[serde(default)]
    pub config: Vec<String>,
}

/// A parsed `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique id, used in configuration and error messages.
    pub id: String,
    /// The plugin's own version.
    pub version: String,
    /// Which world the component implements.
    pub kind: PluginKind,
    /// The WIT package it targets, e.g. `sigil:plugin@0.1.0`.
    pub api: String,
    /// One line about what it does.
    #[serde(default)]
    pub description: String,
    /// The component file, relative to the manifest (default: `<id>.wasm`).
    #[serde(default)]
    pub component: Option<String>,
    /// Requested capabilities.
    #[serde(default)]
    pub requests: Requests,
}

impl Manifest {
    /// Read and validate a manifest file.
    pub fn from_file(path: &Path) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|e| LoadError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let manifest: Manifest = toml::from_str(&text).map_err(|e| LoadError::Manifest {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let id_ok = !manifest.id.is_empty()
            && manifest
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !id_ok {
            return Err(LoadError::Manifest {
                path: path.to_owned(),
                message: format!(
                    "id '{}' must be non-empty and use only a-z, 0-9, '-' and '_'",
                    manifest.id
                ),
            });
        }
        Ok(manifest)
    }
}

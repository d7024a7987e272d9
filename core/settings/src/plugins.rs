//! `[plugins.limits]` and `[plugins.grants.<id>]`: what the operator allows
//! plugins, as plain values. The server hands them to the plugin runtime at
//! start-up; origins are checked here with [`sigil_origin::OriginPattern`],
//! the parser the runtime matches requests with.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The limits every call of one plugin runs under (`[plugins.limits]`, or a
/// grant's `limits`). Members left out keep their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginLimits {
    /// CPU budget in wasmtime fuel units (roughly one per instruction).
    pub fuel: u64,
    /// Wall-clock deadline of one call, in milliseconds.
    pub timeout_ms: u64,
    /// Cap on the plugin's linear memory, in bytes.
    pub max_memory_bytes: usize,
    /// Cap on the size of a result (claims JSON, credentials), in bytes.
    pub max_output_bytes: usize,
    /// Cap on the body of one outbound HTTP response, in bytes.
    pub max_http_response_bytes: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            fuel: 50_000_000,
            timeout_ms: 2_000,
            max_memory_bytes: 16 << 20,
            max_output_bytes: 1 << 20,
            max_http_response_bytes: 1 << 20,
        }
    }
}

/// The operator's grants for one plugin (`[plugins.grants.<id>]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginGrant {
    /// Origins the plugin may call (`https://api.example.com`,
    /// `https://*.example.com`, `http://127.0.0.1:*`). Empty: none.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Settings the plugin reads with `host::config`.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Expected sha256 (hex) of the component; the plugin is refused on mismatch.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Limits for this plugin, replacing the defaults where set.
    #[serde(default)]
    pub limits: Option<PluginLimits>,
}

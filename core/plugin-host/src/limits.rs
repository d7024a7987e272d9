//! Per-call resource limits.

use std::time::Duration;

use serde::Deserialize;

/// The limits every call of one plugin runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
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

impl Default for Limits {
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

impl Limits {
    /// The limits recommended for a plugin whose runtime is an interpreter
    /// (Python through componentize-py, JavaScript through componentize-js;
    /// plugin-sdk/README.md): 64 MiB (CPython needs 12-16 MiB and
    /// SpiderMonkey 8-12 MiB before any data), fuel 10^9, 5 s; the rest as
    /// [`Limits::default`].
    pub fn for_interpreters() -> Self {
        Self {
            fuel: 1_000_000_000,
            timeout_ms: 5_000,
            max_memory_bytes: 64 << 20,
            ..Self::default()
        }
    }

    /// The wall-clock deadline as a [`Duration`].
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

//! Services every plugin may call: logging and operator-provided settings.
//!
//! ```ignore
//! use sigil_plugin_sdk::host::{self, Level};
//! let base = host::config("crm_url").unwrap_or_else(|| "http://127.0.0.1:9000".into());
//! host::log(Level::Info, &format!("resolving against {base}"));
//! ```

use crate::wit::claims_world::sigil::plugin::host as raw;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Very detailed diagnostics.
    Trace,
    /// Diagnostics.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that the plugin handled.
    Warn,
    /// A failure.
    Error,
}

/// Write a log line. The host tags it with the plugin id and truncates long
/// lines. Never log claim values, tokens or other personal data.
pub fn log(level: Level, message: &str) {
    let level = match level {
        Level::Trace => raw::Level::Trace,
        Level::Debug => raw::Level::Debug,
        Level::Info => raw::Level::Info,
        Level::Warn => raw::Level::Warn,
        Level::Error => raw::Level::Error,
    };
    raw::log(level, message);
}

/// A setting the operator gave this plugin in `[plugins.grants.<id>.config]` of `sigil.toml`.
pub fn config(key: &str) -> Option<String> {
    raw::config(key)
}

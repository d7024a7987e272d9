//! Plugin calls and their outbound HTTP as metrics ([`sigil_metrics`]):
//! each call is recorded once, where the runtime knows how it ended, and
//! each `wasi:http` request once it has an answer or failed.

use std::time::Duration;

use sigil_metrics::{Metrics, TrapKind};
use url::Url;
use wasmtime_wasi_http::Error as HttpError;

use crate::PluginError;
use crate::state::CallState;

/// The `purpose` of a plugin's outbound request.
const PURPOSE: &str = "plugin";

/// Record call `call` of the plugin `state` belongs to: `ok` when the guest
/// returned a value, `error` when it returned its own error, else the
/// host's reason (`timeout`, `fuel`, `memory`, `trap`, `unavailable`,
/// `error`), with the time since the call's sandbox was made; and a trap
/// when the host stopped it.
pub(crate) fn call<T, E>(
    call: &'static str,
    state: &CallState,
    outcome: &Result<Result<T, E>, PluginError>,
) {
    let metrics = &state.metrics;
    if !metrics.is_enabled() {
        return;
    }
    let plugin = &*state.plugin;
    let label = match outcome {
        Ok(Ok(_)) => "ok",
        Ok(Err(_)) => "error",
        Err(e) => host_outcome(e),
    };
    metrics.plugin_call(plugin, call, label, state.started.elapsed());
    if let Err(e) = outcome
        && let Some(kind) = trap_kind(e)
    {
        metrics.plugin_trap(plugin, kind);
    }
}

/// The `outcome` label of a call the host ended.
fn host_outcome(e: &PluginError) -> &'static str {
    match e {
        PluginError::Timeout { .. } => "timeout",
        PluginError::FuelExhausted { .. } => "fuel",
        PluginError::MemoryExceeded { .. } => "memory",
        PluginError::Trap { .. } => "trap",
        PluginError::Unavailable { .. } => "unavailable",
        _ => "error",
    }
}

/// Which limit stopped a call, if one did.
fn trap_kind(e: &PluginError) -> Option<TrapKind> {
    match e {
        PluginError::Timeout { .. } => Some(TrapKind::Timeout),
        PluginError::FuelExhausted { .. } => Some(TrapKind::Fuel),
        PluginError::MemoryExceeded { .. } => Some(TrapKind::Memory),
        _ => None,
    }
}

/// The `origin` label of `url`: `scheme://host:port`, the port always
/// written (as the server's own outbound requests are labelled).
pub(crate) fn origin(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

/// Record a plugin's request to an origin it was not granted (the origin
/// is left out of the label: a plugin may name any; the log names it).
pub(crate) fn denied(metrics: &Metrics) {
    metrics.outbound(PURPOSE, "", "denied", Duration::ZERO);
}

/// Record a plugin's request to `origin` that was sent: its status class,
/// or why it got none.
pub(crate) fn sent(
    metrics: &Metrics,
    origin: &str,
    result: Result<u16, &HttpError>,
    elapsed: Duration,
) {
    let outcome = match result {
        Ok(status) => sigil_metrics::status_outcome(status),
        Err(e) => failure(e),
    };
    metrics.outbound(PURPOSE, origin, outcome, elapsed);
}

/// The `outcome` label of a request that got no answer.
fn failure(e: &HttpError) -> &'static str {
    match e {
        HttpError::ConnectionTimeout
        | HttpError::ConnectionReadTimeout
        | HttpError::ConnectionWriteTimeout
        | HttpError::HttpResponseTimeout
        | HttpError::DnsTimeout => "timeout",
        HttpError::Connect(_)
        | HttpError::ConnectionRefused
        | HttpError::DnsError { .. }
        | HttpError::DestinationNotFound
        | HttpError::DestinationUnavailable
        | HttpError::DestinationIpUnroutable => "connect_error",
        HttpError::DestinationIpProhibited | HttpError::HttpRequestDenied => "denied",
        _ => "error",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn limits_are_traps_and_outcomes() {
        let plugin = "p".to_owned();
        let timeout = PluginError::Timeout {
            plugin: plugin.clone(),
            limit: Duration::from_secs(1),
        };
        let fuel = PluginError::FuelExhausted {
            plugin: plugin.clone(),
            fuel: 1,
        };
        let memory = PluginError::MemoryExceeded {
            plugin: plugin.clone(),
            limit: 1,
        };
        let other = PluginError::InvalidOutput {
            plugin,
            reason: "x".into(),
        };
        assert_eq!(
            (host_outcome(&timeout), trap_kind(&timeout)),
            ("timeout", Some(TrapKind::Timeout))
        );
        assert_eq!(
            (host_outcome(&fuel), trap_kind(&fuel)),
            ("fuel", Some(TrapKind::Fuel))
        );
        assert_eq!(
            (host_outcome(&memory), trap_kind(&memory)),
            ("memory", Some(TrapKind::Memory))
        );
        assert_eq!((host_outcome(&other), trap_kind(&other)), ("error", None));
        assert_eq!(failure(&HttpError::ConnectionRefused), "connect_error");
        assert_eq!(failure(&HttpError::ConnectionReadTimeout), "timeout");
        assert_eq!(failure(&HttpError::HttpProtocolError), "error");
        let url = |u: &str| Url::parse(u).unwrap();
        assert_eq!(
            origin(&url("https://api.example/x?q=1")),
            "https://api.example:443"
        );
        assert_eq!(
            origin(&url("http://127.0.0.1:8080/")),
            "http://127.0.0.1:8080"
        );
    }
}

//! Operations settings: `[metrics]` (Prometheus) and `[telemetry]` (logs
//! and traces). Each section's own checks name the file, the key and the fix.

use serde::Deserialize;

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Record metrics and serve `GET /metrics` (default `true`). Off, nothing
    /// is recorded and `/metrics` answers 404.
    pub enabled: bool,
    /// A dedicated bearer token for `/metrics` on the main listener, read
    /// from this environment variable (the admin token is accepted too).
    pub token_env: Option<String>,
    /// A separate listener (`127.0.0.1:9464`) serving `/metrics` without
    /// authentication; unset (the default): none.
    pub listen: Option<String>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            token_env: None,
            listen: None,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[telemetry]`: logs and traces.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    /// `text` (default) or `json`; `SIGIL_LOG_FORMAT` overrides.
    pub log_format: LogFormat,
    /// The log filter (`info`, `sigil=debug,info`); `RUST_LOG` overrides.
    pub log_level: String,
    /// OTLP/HTTP endpoint traces are exported to (`http://127.0.0.1:4318`);
    /// unset: none (`OTEL_EXPORTER_OTLP_ENDPOINT` sets it too).
    pub otlp_endpoint: Option<String>,
    /// `service.name` of exported spans.
    pub service_name: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Text,
            log_level: "info".into(),
            otlp_endpoint: None,
            service_name: "sigil".into(),
        }
    }
}

//! Operations settings: `[metrics]` (Prometheus) and `[telemetry]` (logs
//! and traces). Each section's own checks name the file, the key and the fix.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

use crate::SettingsError;
use crate::admin_keys::{KeyDigest, digest};

/// The shortest dedicated metrics token accepted (as for admin keys).
const MIN_TOKEN_CHARS: usize = 16;

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
    /// The SHA-256 digest of the token `token_env` names, read when the
    /// settings are loaded (the token itself is not kept).
    #[serde(skip)]
    pub token_digest: Option<KeyDigest>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            token_env: None,
            listen: None,
            token_digest: None,
        }
    }
}

impl MetricsSettings {
    /// The address of the separate listener, when there is one (after
    /// [`MetricsSettings::check`], a valid one).
    pub fn listen_address(&self) -> Option<SocketAddr> {
        self.listen.as_deref().and_then(|l| l.trim().parse().ok())
    }

    /// `listen` is a socket address; `file` is the configuration file.
    pub fn check(&self, file: &Path) -> Result<(), SettingsError> {
        if let Some(listen) = &self.listen
            && listen.trim().parse::<SocketAddr>().is_err()
        {
            return Err(SettingsError::new(
                file,
                "metrics.listen",
                format!(
                    "'{}' is not an IP address and port",
                    listen.chars().take(100).collect::<String>()
                ),
                "write an address and port such as \"127.0.0.1:9464\" (or [::1]:9464), or remove metrics.listen to serve /metrics on the main listener only",
            ));
        }
        Ok(())
    }

    /// Read the token `token_env` names from `env` (when metrics are on)
    /// and keep its digest.
    pub(crate) fn resolve(
        &mut self,
        file: &Path,
        env: &BTreeMap<String, String>,
    ) -> Result<(), SettingsError> {
        let Some(name) = self.token_env.as_deref().filter(|_| self.enabled) else {
            return Ok(());
        };
        let err = |problem: String, fix: &str| {
            SettingsError::new(file, "metrics.token_env", problem, fix)
        };
        let token = env.get(name).map(|t| t.trim()).unwrap_or_default();
        if token.is_empty() {
            return Err(err(
                format!("the environment variable {name} is not set"),
                "set it to a long random token (`openssl rand -hex 32`), or remove metrics.token_env (the admin token is accepted too)",
            ));
        }
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(err(
                format!("the token in {name} is shorter than {MIN_TOKEN_CHARS} characters"),
                "use a long random token, e.g. `openssl rand -hex 32`",
            ));
        }
        self.token_digest = Some(digest(token));
        Ok(())
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

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use crate::Settings;

    fn load(extra: &str, env: &[(&str, &str)]) -> Result<Settings, crate::SettingsError> {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sigil.toml");
        std::fs::write(
            &path,
            format!("[server]\npublic_url = \"http://127.0.0.1:8099\"\n{extra}"),
        )
        .expect("write");
        Settings::load_with_env(
            &path,
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn metrics_are_on_by_default_on_the_main_listener() {
        let s = load("", &[]).unwrap();
        assert!(s.metrics.enabled);
        assert_eq!(s.metrics.listen_address(), None);
        assert_eq!(s.metrics.token_digest, None);
    }

    #[test]
    fn listen_must_be_an_address_and_port() {
        let s = load("[metrics]\nlisten = \"127.0.0.1:9464\"\n", &[]).unwrap();
        assert_eq!(
            s.metrics.listen_address(),
            Some("127.0.0.1:9464".parse().unwrap())
        );
        for bad in ["localhost:9464", "127.0.0.1", ":9464", "9464"] {
            let e = load(&format!("[metrics]\nlisten = \"{bad}\"\n"), &[]).unwrap_err();
            assert_eq!(e.key, "metrics.listen", "{bad}");
            assert!(e.problem.contains(bad), "{e}");
            assert!(e.fix.contains("127.0.0.1:9464"), "{e}");
            assert!(e.to_string().contains("sigil.toml"), "{e}");
        }
    }

    #[test]
    fn the_dedicated_token_is_read_from_its_variable_and_kept_as_a_digest() {
        let toml = "[metrics]\ntoken_env = \"SIGIL_METRICS_TOKEN\"\n";
        let token = "metrics-token-0123456789";
        let s = load(toml, &[("SIGIL_METRICS_TOKEN", token)]).unwrap();
        assert_eq!(
            s.metrics.token_digest,
            Some(crate::admin_keys::digest(token))
        );
        let e = load(toml, &[]).unwrap_err();
        assert_eq!(e.key, "metrics.token_env");
        assert!(e.problem.contains("SIGIL_METRICS_TOKEN is not set"), "{e}");
        let e = load(toml, &[("SIGIL_METRICS_TOKEN", "short")]).unwrap_err();
        assert!(e.problem.contains("shorter than 16"), "{e}");
        // Metrics off: the token is not needed.
        let off = format!("{toml}enabled = false\n");
        assert_eq!(load(&off, &[]).unwrap().metrics.token_digest, None);
    }
}

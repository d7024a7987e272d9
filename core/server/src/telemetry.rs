//! Logs and traces.
//!
//! `sigil serve` configures them from `[telemetry]` once the settings are
//! loaded ([`init`]); the other commands log plainly ([`init_plain`]).
//!
//! * Log lines go to stderr as text (with the span context of each line:
//!   `http.request{request_id=… method=POST route=/token}:issuer.token{…}`)
//!   or as one JSON object per line ([`json`]: `request_id` at the top, the
//!   spans from the outermost in `spans`).
//! * With an OTLP endpoint, spans are exported too (OTLP/HTTP, protobuf,
//!   batched on a thread of their own); a request's span continues the
//!   trace of its `traceparent` ([`crate::request_id`]). [`shutdown`]
//!   flushes what is still queued.
//!
//! Spans and log lines name tenants, configurations, offers and routes,
//! never a token, code, proof, secret or claim value.

mod json;
mod otlp;

use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context as _, bail};
use sigil_settings::Settings;
use sigil_settings::{LogFormat, TelemetrySettings};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How logs and traces are set up: `[telemetry]` with the environment's
/// overrides applied ([`Options::from_settings`]), or given directly (tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Text or JSON lines.
    pub format: LogFormat,
    /// An `EnvFilter` directive (`info`, `sigil=debug,info`).
    pub filter: String,
    /// Where spans go: the OTLP/HTTP traces URL (`…/v1/traces`); `None`:
    /// no export.
    pub traces_url: Option<String>,
    /// `service.name` of exported spans.
    pub service_name: String,
    /// Colour the text lines (a terminal).
    pub ansi: bool,
    /// Also write a line when a span closes, with its fields and timing
    /// (debugging; the end-to-end log capture).
    pub span_events: bool,
}

impl Options {
    /// `[telemetry]` of `settings` with `SIGIL_LOG_FORMAT`, `RUST_LOG` and
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` overriding the file. A bad value names
    /// where it came from and the fix.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        Self::resolve(&settings.telemetry, &settings.source, |name| {
            std::env::var(name).ok().filter(|v| !v.trim().is_empty())
        })
    }

    fn resolve(
        t: &TelemetrySettings,
        source: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let file = source.display();
        let format = match env("SIGIL_LOG_FORMAT").as_deref().map(str::trim) {
            None => t.log_format,
            Some(v) if v.eq_ignore_ascii_case("text") => LogFormat::Text,
            Some(v) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
            Some(v) => bail!(
                "SIGIL_LOG_FORMAT: '{v}' is not a log format. Fix: set it to text or json, or unset it"
            ),
        };
        let filter = match env("RUST_LOG") {
            Some(f) => {
                EnvFilter::try_new(&f).map_err(|e| {
                    anyhow::anyhow!(
                        "RUST_LOG: '{f}' is not a log filter ({e}). Fix: use directives such as info or sigil=debug,info, or unset it"
                    )
                })?;
                f
            }
            None => {
                EnvFilter::try_new(&t.log_level).map_err(|e| {
                    anyhow::anyhow!(
                        "{file}: telemetry.log_level: '{}' is not a log filter ({e}). Fix: use a level (error, warn, info, debug, trace) or directives such as sigil=debug,info",
                        t.log_level
                    )
                })?;
                t.log_level.clone()
            }
        };
        let traces_url = match env("OTEL_EXPORTER_OTLP_ENDPOINT") {
            Some(e) => Some(otlp::traces_url(&e).map_err(|why| {
                anyhow::anyhow!(
                    "OTEL_EXPORTER_OTLP_ENDPOINT: '{e}' {why}. Fix: set the collector's OTLP/HTTP base URL (http://127.0.0.1:4318), or unset it"
                )
            })?),
            None => match &t.otlp_endpoint {
                Some(e) if !e.trim().is_empty() => Some(otlp::traces_url(e).map_err(|why| {
                    anyhow::anyhow!(
                        "{file}: telemetry.otlp_endpoint: '{e}' {why}. Fix: the collector's OTLP/HTTP base URL (http://127.0.0.1:4318), or remove the key"
                    )
                })?),
                _ => None,
            },
        };
        if t.service_name.trim().is_empty() {
            bail!(
                "{file}: telemetry.service_name: empty. Fix: name the service (default sigil) or remove the key"
            );
        }
        Ok(Self {
            format,
            filter,
            traces_url,
            service_name: t.service_name.clone(),
            ansi: false,
            span_events: false,
        })
    }
}

/// The exporter of this process, kept for [`shutdown`].
static PROVIDER: Mutex<Option<opentelemetry_sdk::trace::SdkTracerProvider>> = Mutex::new(None);

/// Set up logs and traces from the settings (`sigil serve`): lines to
/// stderr, spans to the OTLP endpoint when one is configured.
pub fn init(settings: &Settings) -> anyhow::Result<()> {
    let mut options = Options::from_settings(settings)?;
    options.ansi = options.format == LogFormat::Text && std::io::stderr().is_terminal();
    install(&options, std::io::stderr)?;
    if let Some(url) = &options.traces_url {
        tracing::info!(url = %otlp::redacted(url), "exporting spans over OTLP/HTTP");
    }
    Ok(())
}

/// Plain text lines to stderr, filtered by `RUST_LOG` (default `info`):
/// the commands other than `serve`.
pub fn init_plain() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Install the process-wide subscriber: `options`' lines to `writer`, and
/// the OTLP exporter when `options.traces_url` is set. Fails when one is
/// installed already.
pub fn install<W>(options: &Options, writer: W) -> anyhow::Result<()>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let (subscriber, provider) = subscriber(options, writer)?;
    subscriber
        .try_init()
        .context("a log subscriber is installed already")?;
    if let Some(p) = provider {
        *PROVIDER.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
    }
    Ok(())
}

/// The subscriber [`install`] installs, and the exporter's provider when
/// spans are exported.
fn subscriber<W>(
    options: &Options,
    writer: W,
) -> anyhow::Result<(
    impl tracing::Subscriber + Send + Sync + 'static,
    Option<opentelemetry_sdk::trace::SdkTracerProvider>,
)>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&options.filter)
        .with_context(|| format!("log filter '{}'", options.filter))?;
    let span_events = if options.span_events {
        FmtSpan::CLOSE
    } else {
        FmtSpan::NONE
    };
    let lines = match options.format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(options.ansi)
            .with_span_events(span_events)
            .with_writer(writer)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_span_events(span_events)
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(json::JsonLines)
            .with_writer(writer)
            .boxed(),
    };
    let (spans, provider) = match &options.traces_url {
        Some(url) => {
            let (layer, provider) = otlp::layer(url, &options.service_name)?;
            (Some(layer), Some(provider))
        }
        None => (None, None),
    };
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(lines)
        .with(spans);
    Ok((subscriber, provider))
}

/// Export the spans still queued now (tests; [`shutdown`] does it at exit).
pub fn flush() {
    let provider = PROVIDER.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(p) = provider
        && let Err(e) = p.force_flush()
    {
        tracing::warn!(error = %e, "flushing spans failed");
    }
}

/// Export the spans still queued and stop the exporter (at exit; a no-op
/// without one).
pub fn shutdown() {
    let provider = PROVIDER.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(p) = provider
        && let Err(e) = p.shutdown()
    {
        eprintln!("sigil: exporting the last spans failed: {e}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn resolve(t: &TelemetrySettings, env: &[(&str, &str)]) -> anyhow::Result<Options> {
        Options::resolve(t, Path::new("sigil.toml"), |name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_are_text_info_and_no_export() {
        let o = resolve(&TelemetrySettings::default(), &[]).unwrap();
        assert_eq!(o.format, LogFormat::Text);
        assert_eq!(o.filter, "info");
        assert_eq!(o.traces_url, None);
        assert_eq!(o.service_name, "sigil");
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let t = TelemetrySettings {
            log_format: LogFormat::Text,
            log_level: "warn".into(),
            otlp_endpoint: Some("http://collector:4318".into()),
            service_name: "issuer".into(),
        };
        let o = resolve(&t, &[]).unwrap();
        assert_eq!(o.filter, "warn");
        assert_eq!(
            o.traces_url.as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        let o = resolve(
            &t,
            &[
                ("SIGIL_LOG_FORMAT", "JSON"),
                ("RUST_LOG", "sigil=debug,info"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otel.example/"),
            ],
        )
        .unwrap();
        assert_eq!(o.format, LogFormat::Json);
        assert_eq!(o.filter, "sigil=debug,info");
        assert_eq!(
            o.traces_url.as_deref(),
            Some("https://otel.example/v1/traces")
        );
    }

    #[test]
    fn bad_values_name_their_source_and_the_fix() {
        let t = TelemetrySettings {
            log_level: "sigil=loud".into(),
            ..TelemetrySettings::default()
        };
        let e = resolve(&t, &[]).unwrap_err().to_string();
        assert!(
            e.starts_with("sigil.toml: telemetry.log_level: 'sigil=loud'") && e.contains("Fix:"),
            "{e}"
        );
        let e = resolve(
            &TelemetrySettings::default(),
            &[("SIGIL_LOG_FORMAT", "xml")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("SIGIL_LOG_FORMAT: 'xml'") && e.contains("Fix:"),
            "{e}"
        );
        let t = TelemetrySettings {
            otlp_endpoint: Some("collector:4318".into()),
            ..TelemetrySettings::default()
        };
        let e = resolve(&t, &[]).unwrap_err().to_string();
        assert!(
            e.starts_with("sigil.toml: telemetry.otlp_endpoint: 'collector:4318'")
                && e.contains("Fix:"),
            "{e}"
        );
        let e = resolve(
            &TelemetrySettings::default(),
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://x")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT:"), "{e}");
        let e = resolve(&TelemetrySettings::default(), &[("RUST_LOG", "a=b=c")])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("RUST_LOG: 'a=b=c'"), "{e}");
    }
}

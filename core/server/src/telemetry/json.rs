//! JSON log lines: one object per event,
//!
//! ```json
//! {"timestamp":"2026-05-01T10:00:00.000000Z","level":"INFO","target":"sigil::request_id",
//!  "request_id":"4bf92f3577b34da6a3ce929d0e0e4736","message":"request","status":200,
//!  "spans":[{"name":"http.request","request_id":"4bf9…","method":"POST","route":"/token"},
//!           {"name":"issuer.token","tenant":"acme"}]}
//! ```
//!
//! `request_id` is the nearest span's (so every line of a request carries
//! it at the top, easy to search); `spans` lists the spans from the
//! outermost, each with its fields.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime as _, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The JSON event format (span fields are formatted by [`JsonFields`]).
pub(super) struct JsonLines;

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        line.insert("timestamp".into(), timestamp.into());
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        let mut spans = Vec::new();
        let mut request_id = None;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let mut fields = span
                    .extensions()
                    .get::<FormattedFields<JsonFields>>()
                    .and_then(|f| serde_json::from_str::<Map<String, Value>>(f.as_str()).ok())
                    .unwrap_or_default();
                if let Some(id) = fields.get("request_id") {
                    request_id = Some(id.clone());
                }
                fields.insert("name".into(), span.name().into());
                spans.push(Value::Object(fields));
            }
        }
        if let Some(id) = request_id {
            line.insert("request_id".into(), id);
        }
        let mut visitor = Fields(Map::new());
        event.record(&mut visitor);
        for (key, value) in visitor.0 {
            line.entry(key).or_insert(value);
        }
        if !spans.is_empty() {
            line.insert("spans".into(), Value::Array(spans));
        }
        let text = serde_json::to_string(&Value::Object(line)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// An event's fields as JSON values.
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::telemetry::Options;

    /// Lines written by the subscriber under test.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(options: &Options, log: impl FnOnce()) -> Vec<String> {
        let out = Lines::default();
        let writer = out.clone();
        let (subscriber, _) =
            crate::telemetry::subscriber(options, move || writer.clone()).unwrap();
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(out.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn options(format: sigil_settings::LogFormat) -> Options {
        Options {
            format,
            filter: "debug".into(),
            traces_url: None,
            service_name: "sigil".into(),
            ansi: false,
            span_events: false,
        }
    }

    #[test]
    fn every_line_of_a_request_carries_its_id_and_spans() {
        let lines = lines(&options(sigil_settings::LogFormat::Json), || {
            let request = tracing::info_span!(
                "http.request",
                request_id = "req-1",
                method = "POST",
                route = "/token",
                status = tracing::field::Empty
            );
            let _r = request.enter();
            let issuer = tracing::info_span!("issuer.token", tenant = "acme");
            let _i = issuer.enter();
            tracing::info!(offer = "o-1", attempts = 2_u64, ok = true, "redeemed");
            request.record("status", 200_u64);
            tracing::warn!("late");
        });
        assert_eq!(lines.len(), 2, "{lines:?}");
        let first: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(first["request_id"], "req-1");
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["message"], "redeemed");
        assert_eq!(first["offer"], "o-1");
        assert_eq!(first["attempts"], 2);
        assert_eq!(first["ok"], true);
        assert!(first["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(first["spans"][0]["name"], "http.request");
        assert_eq!(first["spans"][0]["route"], "/token");
        assert_eq!(first["spans"][1]["name"], "issuer.token");
        assert_eq!(first["spans"][1]["tenant"], "acme");
        let second: Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(second["request_id"], "req-1");
        assert_eq!(second["spans"][0]["status"], 200, "recorded later");
    }

    #[test]
    fn a_line_outside_requests_has_no_request_id() {
        let lines = lines(&options(sigil_settings::LogFormat::Json), || {
            tracing::info!(port = 8080_u64, "sigil listening");
        });
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["message"], "sigil listening");
        assert!(line.get("request_id").is_none() && line.get("spans").is_none());
    }

    #[test]
    fn text_lines_keep_the_span_context() {
        let lines = lines(&options(sigil_settings::LogFormat::Text), || {
            let span = tracing::info_span!("http.request", request_id = "req-2", route = "/nonce");
            let _s = span.enter();
            tracing::info!("served");
        });
        assert!(
            lines[0].contains("http.request{request_id=\"req-2\" route=\"/nonce\"}")
                && lines[0].contains("served"),
            "{lines:?}"
        );
    }
}

#![allow(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use prom_text_format_parser::{Scrape, Type, ValueType};

use super::*;

/// `text` as an independent parser of the Prometheus text format reads
/// it (strictly: any line it cannot read fails the test).
fn parse(text: &str) -> Scrape {
    Scrape::parse(text).unwrap_or_else(|e| panic!("{e:?}\n{text}"))
}

/// The value of the sample of family `name` with exactly `labels`: the
/// counter or gauge value, or the count of a histogram.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let metric = scrape.metrics.iter().find(|m| m.name == name)?;
    let wanted = match metric.kind {
        Type::Histogram => ValueType::Count,
        _ => ValueType::Sample,
    };
    metric
        .samples
        .iter()
        .find(|s| {
            s.value.value_type == wanted
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|l| l.key == *k && l.value == *v))
        })
        .map(|s| s.value.value.as_f64())
}

/// The sum of histogram `name` with exactly `labels`.
fn sum(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let metric = scrape.metrics.iter().find(|m| m.name == name)?;
    metric
        .samples
        .iter()
        .find(|s| {
            s.value.value_type == ValueType::Sum
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|l| l.key == *k && l.value == *v))
        })
        .map(|s| s.value.value.as_f64())
}

#[test]
fn a_fresh_registry_renders_build_info_and_parses() {
    let text = Metrics::new().render().unwrap();
    let scrape = parse(&text);
    assert_eq!(
        value(&scrape, "sigil_build_info", &[("version", VERSION)]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&scrape, "sigil_sqlite_writer_queue_depth", &[]),
        Some(0.0)
    );
    // A family without a sample yet is left out, as the format allows.
    assert_eq!(scrape.metrics.len(), 2, "{text}");
}

#[test]
fn every_recording_shows_under_its_labels() {
    let m = Metrics::new();
    m.http_request("POST", "/{tenant}/token", 200, Duration::from_millis(3));
    m.http_request("POST", "/{tenant}/token", 200, Duration::from_millis(4));
    m.http_request("POST", "/{tenant}/token", 400, Duration::from_millis(1));
    m.issuance("acme", "badge", "dc+sd-jwt", "issued");
    m.oauth_error("credential", "invalid_proof");
    m.plugin_call(
        "claims-inline",
        "resolve_claims",
        "ok",
        Duration::from_micros(800),
    );
    m.plugin_trap("loop", TrapKind::Fuel);
    m.plugin_reload("ok");
    m.outbound(
        "plugin",
        "https://api.example.com:443",
        "2xx",
        Duration::from_millis(20),
    );
    m.db_query("select", Duration::from_micros(50));
    m.db_query("select", Duration::from_micros(70));
    m.sqlite_queue_changed(3);
    m.sqlite_queue_changed(-1);
    let text = m.render().unwrap();
    let scrape = parse(&text);
    for (family, kind) in [
        ("sigil_http_requests_total", "counter"),
        ("sigil_http_request_duration_seconds", "histogram"),
        ("sigil_issuances_total", "counter"),
        ("sigil_oauth_errors_total", "counter"),
        ("sigil_plugin_calls_total", "counter"),
        ("sigil_plugin_call_duration_seconds", "histogram"),
        ("sigil_plugin_traps_total", "counter"),
        ("sigil_plugin_reloads_total", "counter"),
        ("sigil_outbound_requests_total", "counter"),
        ("sigil_outbound_request_duration_seconds", "histogram"),
        ("sigil_db_query_duration_seconds", "histogram"),
        ("sigil_sqlite_writer_queue_depth", "gauge"),
        ("sigil_build_info", "gauge"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} {kind}\n")),
            "{family} is a {kind}: {text}"
        );
    }
    assert_eq!(scrape.metrics.len(), 13, "{text}");
    let ok = [
        ("method", "POST"),
        ("route", "/{tenant}/token"),
        ("status", "200"),
    ];
    assert_eq!(value(&scrape, "sigil_http_requests_total", &ok), Some(2.0));
    let bad = [
        ("method", "POST"),
        ("route", "/{tenant}/token"),
        ("status", "400"),
    ];
    assert_eq!(value(&scrape, "sigil_http_requests_total", &bad), Some(1.0));
    let route = [("method", "POST"), ("route", "/{tenant}/token")];
    assert_eq!(
        value(&scrape, "sigil_http_request_duration_seconds", &route),
        Some(3.0)
    );
    assert_eq!(
        value(
            &scrape,
            "sigil_issuances_total",
            &[
                ("tenant", "acme"),
                ("configuration", "badge"),
                ("format", "dc+sd-jwt"),
                ("outcome", "issued")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &scrape,
            "sigil_oauth_errors_total",
            &[("endpoint", "credential"), ("error", "invalid_proof")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &scrape,
            "sigil_plugin_calls_total",
            &[
                ("plugin", "claims-inline"),
                ("call", "resolve_claims"),
                ("outcome", "ok")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &scrape,
            "sigil_plugin_traps_total",
            &[("plugin", "loop"), ("kind", "fuel")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, "sigil_plugin_reloads_total", &[("outcome", "ok")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &scrape,
            "sigil_outbound_requests_total",
            &[
                ("purpose", "plugin"),
                ("origin", "https://api.example.com:443"),
                ("outcome", "2xx")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &scrape,
            "sigil_db_query_duration_seconds",
            &[("operation", "select")]
        ),
        Some(2.0)
    );
    let total = sum(
        &scrape,
        "sigil_db_query_duration_seconds",
        &[("operation", "select")],
    )
    .unwrap();
    assert!((total - 0.000_12).abs() < 1e-9, "{total}");
    assert_eq!(
        value(&scrape, "sigil_sqlite_writer_queue_depth", &[]),
        Some(2.0)
    );
}

#[test]
fn label_values_are_escaped() {
    let m = Metrics::new();
    m.issuance("a\"b\\c\nd", "x", "y", "refused");
    let text = m.render().unwrap();
    assert!(text.contains(r#"tenant="a\"b\\c\nd""#), "{text}");
    parse(&text);
}

#[test]
fn disabled_records_and_renders_nothing() {
    let m = Metrics::disabled();
    assert!(!m.is_enabled());
    m.http_request("GET", "/health", 200, Duration::from_millis(1));
    m.issuance("acme", "badge", "dc+sd-jwt", "issued");
    m.sqlite_queue_changed(1);
    assert_eq!(m.render(), None);
    assert!(!Metrics::when(false).is_enabled());
    assert!(Metrics::when(true).is_enabled());
}

#[test]
fn clones_share_one_registry_and_registries_are_apart() {
    let a = Metrics::new();
    let b = Metrics::new();
    a.clone().oauth_error("token", "invalid_grant");
    let labels = [("endpoint", "token"), ("error", "invalid_grant")];
    let in_a = parse(&a.render().unwrap());
    let in_b = parse(&b.render().unwrap());
    assert_eq!(value(&in_a, "sigil_oauth_errors_total", &labels), Some(1.0));
    assert_eq!(value(&in_b, "sigil_oauth_errors_total", &labels), None);
}

#[test]
fn operations_methods_and_statuses_are_few_words() {
    assert_eq!(sql_operation("SELECT \"offers\".\"id\" FROM"), "select");
    assert_eq!(sql_operation("  insert INTO t"), "insert");
    assert_eq!(sql_operation("UPDATE t SET"), "update");
    assert_eq!(sql_operation("DELETE FROM t"), "delete");
    assert_eq!(sql_operation("WITH x AS (SELECT 1) SELECT"), "other");
    assert_eq!(sql_operation("SELECTED"), "other");
    assert_eq!(sql_operation(""), "other");
    assert_eq!(method_label("GET"), "GET");
    assert_eq!(method_label("BREW"), "other");
    assert_eq!(status_outcome(204), "2xx");
    assert_eq!(status_outcome(503), "5xx");
    assert_eq!(status_outcome(42), "other_status");
}

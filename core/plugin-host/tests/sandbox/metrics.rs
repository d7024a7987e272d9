//! Every plugin call is recorded once with its outcome and duration, the
//! host's limits as traps, and a plugin's outbound HTTP by origin and
//! outcome, in the runtime's own registry.

use std::collections::BTreeMap;

use serde_json::json;
use sigil_metrics::Metrics;
use sigil_plugin_host::{PluginPolicy, PluginRuntime, RuntimeConfig};

use crate::helpers::{PluginDir, request};
use crate::outbound::serve;

fn observed(dir: &PluginDir, policies: BTreeMap<String, PluginPolicy>) -> (PluginRuntime, Metrics) {
    let metrics = Metrics::new();
    let mut config = RuntimeConfig::new(dir.path());
    config.policies = policies;
    config.metrics = metrics.clone();
    let rt = PluginRuntime::load(&config).unwrap();
    assert!(rt.load_errors().is_empty(), "{:?}", rt.load_errors());
    (rt, metrics)
}

/// The sample lines of `text` that start with `prefix` (name and labels).
fn value(text: &str, sample: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

#[tokio::test]
async fn limits_are_recorded_as_outcomes_and_traps() {
    let dir = PluginDir::with(&["spin-loop", "alloc-bomb"]);
    let (rt, metrics) = observed(&dir, BTreeMap::new());
    rt.resolve_claims("spin-loop", &request())
        .await
        .unwrap_err();
    rt.resolve_claims("alloc-bomb", &request())
        .await
        .unwrap_err();
    let text = metrics.render().unwrap();
    for (plugin, kind) in [("spin-loop", "fuel"), ("alloc-bomb", "memory")] {
        assert_eq!(
            value(
                &text,
                &format!(
                    "sigil_plugin_calls_total{{plugin=\"{plugin}\",call=\"resolve_claims\",outcome=\"{kind}\"}}"
                )
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            value(
                &text,
                &format!("sigil_plugin_traps_total{{plugin=\"{plugin}\",kind=\"{kind}\"}}")
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            value(
                &text,
                &format!(
                    "sigil_plugin_call_duration_seconds_count{{plugin=\"{plugin}\",call=\"resolve_claims\"}}"
                )
            ),
            Some(1.0),
            "{text}"
        );
    }
}

#[tokio::test]
async fn outbound_requests_are_recorded_by_origin_and_outcome() {
    let port = serve(r#"{"given_name":"Ada"}"#.into()).await;
    let origin = format!("http://127.0.0.1:{port}");
    let dir = PluginDir::with(&["outbound-http"]);
    let policies = BTreeMap::from([(
        "outbound-http".into(),
        PluginPolicy {
            allowed_hosts: vec![origin.clone()],
            ..Default::default()
        },
    )]);
    let (rt, metrics) = observed(&dir, policies);
    let mut granted = request();
    granted.source = json!({ "url": format!("{origin}/people/1") });
    rt.resolve_claims("outbound-http", &granted).await.unwrap();
    rt.resolve_claims("outbound-http", &granted).await.unwrap();
    let mut refused = request();
    refused.source = json!({ "url": format!("http://127.0.0.2:{port}/") });
    rt.resolve_claims("outbound-http", &refused)
        .await
        .unwrap_err();
    let text = metrics.render().unwrap();
    let outbound = |origin: &str, outcome: &str| {
        value(
            &text,
            &format!(
                "sigil_outbound_requests_total{{purpose=\"plugin\",origin=\"{origin}\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!(outbound(&origin, "2xx"), Some(2.0), "{text}");
    assert_eq!(outbound("", "denied"), Some(1.0), "{text}");
    let calls = |outcome: &str| {
        value(
            &text,
            &format!(
                "sigil_plugin_calls_total{{plugin=\"outbound-http\",call=\"resolve_claims\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    // The refused request fails the guest's own call: its error.
    assert_eq!(
        (calls("ok"), calls("error")),
        (Some(2.0), Some(1.0)),
        "{text}"
    );
}

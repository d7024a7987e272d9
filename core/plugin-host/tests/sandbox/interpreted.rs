//! Claim providers whose runtime is an interpreter (CPython through
//! componentize-py, SpiderMonkey through componentize-js): the sandbox's
//! fuel, deadline, memory and outbound limits hold for them as for Rust.
//! `hostile-python` and `hostile-js` (tests/fixtures) spin, eat memory or
//! call an origin they were not granted when their source says so, and
//! behave otherwise.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{Value, json};
use sigil_plugin_host::{ClaimOutcome, ClaimRequest, Limits, PluginError, PluginRuntime};

use crate::helpers::{PluginDir, policy_with_limits, request, runtime};

const HOSTILE: [&str; 2] = ["hostile-python", "hostile-js"];

fn load(limits: Limits) -> (PluginDir, PluginRuntime) {
    let dir = PluginDir::with(&HOSTILE);
    let policies = HOSTILE
        .iter()
        .map(|id| (id.to_string(), policy_with_limits(limits)))
        .collect::<BTreeMap<_, _>>();
    let rt = runtime(&dir, policies);
    (dir, rt)
}

fn asking(behaviour: &str) -> ClaimRequest {
    ClaimRequest {
        source: json!({ "behaviour": behaviour, "url": "http://127.0.0.1:9/people" }),
        ..request()
    }
}

fn behaved(id: &str, result: &Result<ClaimOutcome, PluginError>) {
    match result {
        Ok(ClaimOutcome::Claims(claims)) => {
            assert_eq!(
                Value::Object(claims.clone()),
                json!({ "given_name": "Ada" }),
                "{id}"
            );
        }
        other => panic!("{id}: a behaving call failed beside the hostile ones: {other:?}"),
    }
}

/// One test, so each component is compiled once (into the shared cache)
/// and the second runtime loads it from there: a debug build compiles an
/// interpreter component in about half a minute.
#[tokio::test]
async fn hostile_python_and_js_calls_fail_alone_with_typed_errors() {
    with_recommended_limits().await;
    spinning_with_ample_fuel_hits_the_deadline().await;
}

async fn with_recommended_limits() {
    let (_dir, rt) = load(Limits::for_interpreters());
    for id in HOSTILE {
        let started = Instant::now();
        let hostile = ["spin", "memory-bomb", "forbidden-origin"].map(asking);
        let good = asking("behave");
        let calls = hostile
            .iter()
            .chain(std::iter::repeat_n(&good, 6))
            .map(|r| rt.resolve_claims(id, r));
        let results = join_all(calls).await;
        match &results[0] {
            Err(PluginError::FuelExhausted { plugin, fuel }) => {
                assert_eq!((plugin.as_str(), *fuel), (id, 1_000_000_000));
            }
            other => panic!("{id}: spin: {other:?}"),
        }
        match &results[1] {
            Err(PluginError::MemoryExceeded { plugin, limit }) => {
                assert_eq!((plugin.as_str(), *limit), (id, 64 << 20));
            }
            other => panic!("{id}: memory bomb: {other:?}"),
        }
        match &results[2] {
            Err(PluginError::CapabilityDenied { plugin, capability }) => {
                assert_eq!(plugin, id);
                assert!(
                    capability.contains("http://127.0.0.1:9"),
                    "{id}: {capability}"
                );
            }
            other => panic!("{id}: forbidden origin: {other:?}"),
        }
        for r in &results[3..] {
            behaved(id, r);
        }
        // And the plugin still serves afterwards.
        behaved(id, &rt.resolve_claims(id, &good).await);
        println!("{id}: 3 hostile + 7 good calls in {:?}", started.elapsed());
    }
}

async fn spinning_with_ample_fuel_hits_the_deadline() {
    let (_dir, rt) = load(Limits {
        fuel: u64::MAX / 2,
        timeout_ms: 500,
        max_memory_bytes: 64 << 20,
        ..Limits::default()
    });
    for id in HOSTILE {
        let started = Instant::now();
        let (spinning, behaving) = (asking("spin"), asking("behave"));
        let (spin, good) = tokio::join!(
            rt.resolve_claims(id, &spinning),
            rt.resolve_claims(id, &behaving)
        );
        assert!(
            matches!(&spin, Err(PluginError::Timeout { plugin, limit })
                if plugin == id && *limit == Duration::from_millis(500)),
            "{id}: {spin:?}"
        );
        behaved(id, &good);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{id}: {:?}",
            started.elapsed()
        );
    }
}

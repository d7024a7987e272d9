use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::join_all;
use sigil_plugin_host::{ClaimOutcome, Limits, PluginError};

use crate::helpers::{PluginDir, policy_with_limits, request, runtime};

#[tokio::test]
async fn infinite_loop_runs_out_of_fuel() {
    let dir = PluginDir::with(&["spin-loop"]);
    let rt = runtime(&dir, BTreeMap::new());
    let started = Instant::now();
    let err = rt
        .resolve_claims("spin-loop", &request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, PluginError::FuelExhausted { ref plugin, .. } if plugin == "spin-loop"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("plugin 'spin-loop' ran out of fuel"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn infinite_loop_with_ample_fuel_hits_the_deadline() {
    let dir = PluginDir::with(&["spin-loop"]);
    let limits = Limits {
        fuel: u64::MAX / 2,
        timeout_ms: 300,
        ..Limits::default()
    };
    let rt = runtime(
        &dir,
        BTreeMap::from([("spin-loop".into(), policy_with_limits(limits))]),
    );
    let started = Instant::now();
    let err = rt
        .resolve_claims("spin-loop", &request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, PluginError::Timeout { ref plugin, limit } if plugin == "spin-loop" && limit == Duration::from_millis(300)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "plugin 'spin-loop' exceeded its 300ms deadline"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn blocking_host_call_hits_the_deadline() {
    let dir = PluginDir::with(&["slow-sleep"]);
    let limits = Limits {
        timeout_ms: 300,
        ..Limits::default()
    };
    let rt = runtime(
        &dir,
        BTreeMap::from([("slow-sleep".into(), policy_with_limits(limits))]),
    );
    let started = Instant::now();
    let err = rt
        .resolve_claims("slow-sleep", &request())
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::Timeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn memory_bomb_hits_the_cap() {
    let dir = PluginDir::with(&["alloc-bomb"]);
    let rt = runtime(&dir, BTreeMap::new());
    let err = rt
        .resolve_claims("alloc-bomb", &request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, PluginError::MemoryExceeded { ref plugin, limit } if plugin == "alloc-bomb" && limit == 16 << 20),
        "{err:?}"
    );
}

#[tokio::test]
async fn panic_is_a_trap_of_that_call_only() {
    let dir = PluginDir::with(&["panic", "claims-static"]);
    let rt = runtime(&dir, BTreeMap::new());
    let err = rt.resolve_claims("panic", &request()).await.unwrap_err();
    assert!(
        matches!(err, PluginError::Trap { ref plugin, .. } if plugin == "panic"),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("plugin 'panic' crashed"),
        "{err}"
    );
    // The runtime is unaffected.
    let ok = rt
        .resolve_claims("claims-static", &request())
        .await
        .unwrap();
    assert!(
        matches!(ok, ClaimOutcome::Claims(ref c) if c["given_name"] == "Ada"),
        "{ok:?}"
    );
}

#[tokio::test]
async fn malformed_output_is_rejected() {
    let dir = PluginDir::with(&["malformed-output"]);
    let rt = runtime(&dir, BTreeMap::new());
    let err = rt
        .resolve_claims("malformed-output", &request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, PluginError::InvalidOutput { ref reason, .. } if reason.contains("not valid JSON")),
        "{err:?}"
    );
}

#[tokio::test]
async fn oversized_output_is_rejected() {
    let dir = PluginDir::with(&["huge-output"]);
    // Building 2 MiB of JSON takes more than the default fuel; grant enough
    // that the output cap, not the CPU budget, is what stops it.
    let limits = Limits {
        fuel: 2_000_000_000,
        ..Limits::default()
    };
    let rt = runtime(
        &dir,
        BTreeMap::from([("huge-output".into(), policy_with_limits(limits))]),
    );
    let err = rt
        .resolve_claims("huge-output", &request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, PluginError::InvalidOutput { ref reason, .. } if reason.contains("exceed")),
        "{err:?}"
    );
}

#[tokio::test]
async fn hostile_calls_do_not_disturb_concurrent_good_calls() {
    let dir = PluginDir::with(&[
        "spin-loop",
        "alloc-bomb",
        "panic",
        "slow-sleep",
        "malformed-output",
        "claims-static",
        "claims-inline",
    ]);
    let slow = Limits {
        timeout_ms: 500,
        ..Limits::default()
    };
    let rt = runtime(
        &dir,
        BTreeMap::from([("slow-sleep".into(), policy_with_limits(slow))]),
    );
    let req = request();
    let hostile = [
        "spin-loop",
        "alloc-bomb",
        "panic",
        "slow-sleep",
        "malformed-output",
    ];
    let bad = join_all(hostile.iter().map(|id| rt.resolve_claims(id, &req)));
    let good = join_all((0..40).map(|i| {
        let id = if i % 2 == 0 {
            "claims-static"
        } else {
            "claims-inline"
        };
        rt.resolve_claims(id, &req)
    }));
    let (bad, good) = tokio::join!(bad, good);
    for (id, result) in hostile.iter().zip(bad) {
        let err = result.unwrap_err();
        assert_eq!(err.plugin(), *id, "{err}");
    }
    for result in good {
        assert!(matches!(result.unwrap(), ClaimOutcome::Claims(_)));
    }
}

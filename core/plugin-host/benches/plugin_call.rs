//! One plugin call with a fresh sandbox (new `Store`, instantiate from the
//! cached `InstancePre`, call, drop) — the cost every credential pays per
//! plugin. Needs `cargo xtask build-plugins` first (`cargo xtask bench` does it).

#![allow(clippy::unwrap_used, missing_docs, reason = "benchmark")]

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use sigil_plugin_host::{ClaimRequest, PluginRuntime, RuntimeConfig};

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/dist");
    let rt = PluginRuntime::load(&RuntimeConfig::new(&dir)).unwrap();
    assert!(rt.load_errors().is_empty(), "{:?}", rt.load_errors());
    println!("pooling allocator: {}", rt.is_pooling());
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let request = ClaimRequest {
        tenant: "default".into(),
        issuer: "http://127.0.0.1:8099".into(),
        offer_id: "bench".into(),
        credential_configuration_id: "employee_badge_sd_jwt".into(),
        format: "dc+sd-jwt".into(),
        source: json!({ "type": "static", "claims": { "given_name": "Ada", "family_name": "Lovelace", "employee_id": "E-1001" } }),
        inline_claims: Some(
            json!({ "given_name": "Ada", "family_name": "Lovelace", "department": "Engineering" }),
        ),
        ..Default::default()
    };
    let mut group = c.benchmark_group("plugin_call_fresh_instance");
    for id in ["claims-static", "claims-inline"] {
        group.bench_function(id, |b| {
            b.to_async(&tokio)
                .iter(|| async { rt.resolve_claims(id, &request).await.unwrap() })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

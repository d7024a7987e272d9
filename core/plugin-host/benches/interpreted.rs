//! Cold start and per-call cost of claim providers written in Python
//! (componentize-py) and JavaScript (componentize-js) against Rust ones,
//! each call on a fresh sandbox as at the credential endpoint. Prints a
//! table; needs `cargo xtask build-plugins` first.
//!
//! Two pairs are measured:
//! * **HTTP**: `claims-example-python` / `claims-example-js` against the Rust
//!   `claims-attribute-provider`, each asking a claims service on 127.0.0.1
//!   (answering at once, in this process) for one subject's claims;
//! * **no I/O**: `hostile-python` / `hostile-js` (tests/fixtures, `cargo xtask
//!   build-fixtures`) behaving, against the Rust `claims-inline`: the bare
//!   cost of starting the runtime and returning claims.
//!
//! `cargo bench -p sigil-plugin-host --bench interpreted` (`CALLS=n` calls per plugin).

#![allow(clippy::unwrap_used, missing_docs, reason = "benchmark")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use sigil_plugin_host::{ClaimRequest, Limits, PluginPolicy, PluginRuntime, RuntimeConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A claims service answering every request at once with contract-1 claims.
async fn claims_service() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 << 10];
                let mut seen = Vec::new();
                // Read the head and a body of content-length bytes.
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if let Some(head_end) = find(&seen, b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&seen[..head_end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse::<usize>().unwrap_or(0));
                        if seen.len() >= head_end + 4 + length {
                            break;
                        }
                    }
                }
                let body = r#"{"contractVersion":"1","claims":{"given_name":"Ada","family_name":"Lovelace","employee_id":"E-1815","department":"Analytical Engines"}}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://127.0.0.1:{port}/claims")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn built(id: &str) -> PathBuf {
    ["plugins/dist", "target/fixtures"]
        .iter()
        .map(|base| root().join(base).join(id))
        .find(|d| d.join("plugin.toml").is_file())
        .unwrap_or_else(|| {
            panic!("{id} is not built: cargo xtask build-plugins && cargo xtask build-fixtures")
        })
}

/// A plugin directory holding only `id`.
fn alone(id: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join(id);
    std::fs::create_dir_all(&dest).unwrap();
    for entry in std::fs::read_dir(built(id)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dest.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn config(dir: &Path, id: &str, cache: Option<&Path>) -> RuntimeConfig {
    config_with(dir, id, cache, Limits::for_interpreters())
}

fn config_with(dir: &Path, id: &str, cache: Option<&Path>, limits: Limits) -> RuntimeConfig {
    let mut config = RuntimeConfig::new(dir);
    config.max_concurrent_calls = 32;
    config.compile_cache = cache.map(Path::to_owned);
    let mut policy = PluginPolicy {
        limits: Some(limits),
        ..Default::default()
    };
    policy.allowed_hosts = vec!["http://127.0.0.1:*".to_owned()];
    config.policies = BTreeMap::from([(id.to_owned(), policy)]);
    config
}

/// CPU time of this process (user + system, all threads), from
/// `/proc/self/stat` (clock ticks of 10 ms: a few hundred calls make it
/// precise to a few per cent).
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// The smallest of `budgets` with which a call succeeds (None: not even the largest).
async fn smallest<T: Copy>(
    dir: &Path,
    id: &str,
    cache: &Path,
    request: &ClaimRequest,
    budgets: &[T],
    limits: impl Fn(T) -> Limits,
) -> Option<T> {
    for &budget in budgets {
        let rt = PluginRuntime::load(&config_with(dir, id, Some(cache), limits(budget))).unwrap();
        if rt.resolve_claims(id, request).await.is_ok() {
            return Some(budget);
        }
    }
    None
}

struct Row {
    id: &'static str,
    fuel_needed: Option<u64>,
    memory_needed: Option<usize>,
    language: &'static str,
    size_mb: f64,
    compile: Duration,
    cached_load: Duration,
    first_call: Duration,
    p50: Duration,
    p99: Duration,
    cpu_per_call: Duration,
}

async fn measure(
    id: &'static str,
    language: &'static str,
    request: &ClaimRequest,
    calls: usize,
) -> Row {
    let dir = alone(id);
    let cache = tempfile::tempdir().unwrap();
    let wasm = std::fs::read_dir(dir.path().join(id))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))
        .unwrap();
    let size_mb = std::fs::metadata(&wasm).unwrap().len() as f64 / 1e6;
    // Cold: compile (and fill the cache).
    let started = Instant::now();
    let rt = PluginRuntime::load(&config(dir.path(), id, Some(cache.path()))).unwrap();
    let compile = started.elapsed();
    assert!(rt.load_errors().is_empty(), "{:?}", rt.load_errors());
    drop(rt);
    // A restart: load from the cache.
    let started = Instant::now();
    let rt = PluginRuntime::load(&config(dir.path(), id, Some(cache.path()))).unwrap();
    let cached_load = started.elapsed();
    let started = Instant::now();
    rt.resolve_claims(id, request).await.unwrap();
    let first_call = started.elapsed();
    let mut times = Vec::with_capacity(calls);
    let cpu_before = cpu();
    for _ in 0..calls {
        let started = Instant::now();
        rt.resolve_claims(id, request).await.unwrap();
        times.push(started.elapsed());
    }
    let cpu_per_call = (cpu() - cpu_before) / u32::try_from(calls).unwrap();
    times.sort();
    let fuel_needed = smallest(
        dir.path(),
        id,
        cache.path(),
        request,
        &[
            1_000_000,
            2_500_000,
            5_000_000,
            10_000_000,
            25_000_000,
            50_000_000,
            100_000_000,
            250_000_000,
            500_000_000,
            1_000_000_000,
        ],
        |fuel| Limits {
            fuel,
            ..Limits::for_interpreters()
        },
    )
    .await;
    let memory_needed = smallest(
        dir.path(),
        id,
        cache.path(),
        request,
        &[
            2 << 20,
            4 << 20,
            8 << 20,
            12 << 20,
            16 << 20,
            24 << 20,
            32 << 20,
            48 << 20,
            64 << 20,
        ],
        |max_memory_bytes| Limits {
            max_memory_bytes,
            ..Limits::for_interpreters()
        },
    )
    .await;
    Row {
        id,
        fuel_needed,
        memory_needed,
        language,
        size_mb,
        compile,
        cached_load,
        first_call,
        p50: times[calls / 2],
        p99: times[(calls * 99 / 100).min(calls - 1)],
        cpu_per_call,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let calls: usize = std::env::var("CALLS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(200);
    let url = claims_service().await;
    let http = ClaimRequest {
        tenant: "default".into(),
        issuer: "http://127.0.0.1:8099".into(),
        offer_id: "bench".into(),
        credential_configuration_id: "employee_badge_python".into(),
        format: "dc+sd-jwt".into(),
        subject_id: Some("ada@example.com".into()),
        ..Default::default()
    };
    let with_url = ClaimRequest {
        source: json!({ "url": url }),
        ..http.clone()
    };
    let provider = ClaimRequest {
        source: json!({ "type": "attributeProvider", "contractVersion": "1", "id": "bench", "url": url, "method": "POST",
                        "timeoutMs": 3000, "maxResponseBytes": 262144 }),
        ..http.clone()
    };
    let bare = ClaimRequest {
        source: json!({ "behaviour": "behave" }),
        inline_claims: Some(json!({ "given_name": "Ada" })),
        ..http.clone()
    };
    let mut rows = Vec::new();
    rows.push(measure("claims-attribute-provider", "Rust", &provider, calls).await);
    rows.push(measure("claims-example-python", "Python", &with_url, calls).await);
    rows.push(measure("claims-example-js", "JavaScript", &with_url, calls).await);
    rows.push(measure("claims-inline", "Rust", &bare, calls).await);
    rows.push(measure("hostile-python", "Python", &bare, calls).await);
    rows.push(measure("hostile-js", "JavaScript", &bare, calls).await);
    println!(
        "\n{calls} calls per plugin, each on a fresh sandbox, one at a time; limits fuel 1e9, 64 MiB, 5 s\n"
    );
    println!(
        "| plugin | language | component MB | compile (cold start) ms | load from cache ms | first call ms | call p50 ms | call p99 ms | CPU per call ms | fuel needed (≤) | memory needed (≤ MiB) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let or_more = |v: Option<String>| v.unwrap_or_else(|| "more".into());
    for r in &rows {
        println!(
            "| {} | {} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.id,
            r.language,
            r.size_mb,
            ms(r.compile),
            ms(r.cached_load),
            ms(r.first_call),
            ms(r.p50),
            ms(r.p99),
            ms(r.cpu_per_call),
            or_more(r.fuel_needed.map(|f| f.to_string())),
            or_more(r.memory_needed.map(|m| (m >> 20).to_string()))
        );
    }
}

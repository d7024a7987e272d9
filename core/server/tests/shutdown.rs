//! Graceful shutdown of the real `sigil` binary: SIGTERM during a burst of
//! offer creations. Every request either completed (201) or was never
//! accepted (the connection was refused, or reset before any answer); the
//! offers of exactly the completed requests exist after a restart on the
//! same SQLite file; `/ready` answered 503 before the port closed; the
//! process exited 0 and left no WAL behind.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{copy_dir, free_port, root, serve, signal};

mod support;

const TOKEN: &str = "shutdown-test-admin-token";
/// Concurrent clients in the burst.
const CLIENTS: usize = 16;

struct Instance {
    child: Child,
    address: String,
    log: PathBuf,
}

impl Drop for Instance {
    /// A failed test leaves no server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `sigil serve` with the example configuration on `port`, its
/// database in `dir`.
fn start(dir: &Path, port: u16, run: &str) -> Instance {
    let log = dir.join(format!("sigil-{run}.log"));
    let address = format!("http://127.0.0.1:{port}");
    let child = serve(
        dir,
        port,
        TOKEN,
        &log,
        &[
            ("SIGIL__SERVER__SHUTDOWN_DRAIN_MS", "1500"),
            ("SIGIL__SERVER__SHUTDOWN_GRACE_SECONDS", "20"),
        ],
    );
    Instance {
        child,
        address,
        log,
    }
}

/// A client that opens a connection per request, so that a refused
/// connection is an unambiguous "never accepted".
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn wait_ready(instance: &mut Instance) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = client()
            .get(format!("{}/ready", instance.address))
            .send()
            .await
            && r.status() == 200
        {
            return;
        }
        if let Ok(Some(status)) = instance.child.try_wait() {
            panic!(
                "sigil exited with {status} before it was ready:\n{}",
                std::fs::read_to_string(&instance.log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "sigil did not become ready:\n{}",
            std::fs::read_to_string(&instance.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn offer(n: usize) -> Value {
    json!({
        "credentialConfigurationIds": ["employee_badge_sd_jwt"],
        "credentialClaims": { "employee_badge_sd_jwt": { "type": "inline", "claims": {
            "given_name": "Ada", "family_name": "Lovelace", "employee_id": format!("E-{n}"), "department": "Engines" } } }
    })
}

/// What became of one request.
#[derive(Debug)]
enum Outcome {
    Created(String),
    /// Refused or reset before any answer: never accepted.
    NotAccepted,
    /// Anything else: a lost request.
    Failed(String),
}

async fn create(address: &str, n: usize) -> Outcome {
    match client()
        .post(format!("{address}/admin/v1/offers"))
        .bearer_auth(TOKEN)
        .json(&offer(n))
        .send()
        .await
    {
        Ok(r) if r.status() == 201 => match r.json::<Value>().await {
            Ok(body) => Outcome::Created(body["offerId"].as_str().unwrap().to_owned()),
            Err(e) => Outcome::Failed(format!("201 with an unreadable body: {e}")),
        },
        Ok(r) => Outcome::Failed(format!("HTTP {}: {:?}", r.status(), r.text().await)),
        Err(e) if e.is_connect() || no_answer(&e) => Outcome::NotAccepted,
        Err(e) => Outcome::Failed(format!("{e:?}")),
    }
}

/// The connection closed before any byte of an answer: the request was
/// never read (a connection still in the kernel's backlog when the
/// listener closed is reset). Whether it was processed is checked against
/// the database afterwards.
fn no_answer(e: &reqwest::Error) -> bool {
    let text = format!("{e:?}");
    e.is_request()
        && (text.contains("connection reset")
            || text.contains("Connection reset")
            || text.contains("connection closed before message completed")
            || text.contains("IncompleteMessage"))
}

/// The ids of every offer_created event, up to and including `marker`'s.
async fn created_offers(address: &str, marker: &str) -> BTreeSet<String> {
    let mut r = reqwest::Client::new()
        .get(format!("{address}/admin/v1/events/stream"))
        .bearer_auth(TOKEN)
        .header("Last-Event-ID", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut buffer = String::new();
    let mut offers = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let chunk = tokio::time::timeout_at(deadline.into(), r.chunk())
            .await
            .expect("the marker offer's event within a minute")
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find('\n') {
            let line: String = buffer.drain(..=end).collect();
            let Some(data) = line.trim_end().strip_prefix("data:") else {
                continue;
            };
            let event: Value = serde_json::from_str(data.trim()).unwrap();
            if event["type"] == "offer_created" {
                let id = event["offerId"].as_str().unwrap().to_owned();
                if id == marker {
                    return offers;
                }
                offers.insert(id);
            }
        }
    }
}

async fn wait_exit(instance: &mut Instance, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = instance.child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = instance.child.kill();
            panic!(
                "sigil did not exit within {within:?}:\n{}",
                std::fs::read_to_string(&instance.log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_a_burst_loses_no_accepted_request() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("config"), &dir.path().join("config"));
    let port = free_port();
    let mut first = start(dir.path(), port, "first");
    wait_ready(&mut first).await;
    let address = first.address.clone();

    // The burst: every client creates offers until the port is closed.
    let stopped = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let address = address.clone();
        let stopped = stopped.clone();
        clients.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let mut n = c * 100_000;
            let mut refused_since: Option<Instant> = None;
            loop {
                n += 1;
                let outcome = create(&address, n).await;
                if matches!(outcome, Outcome::NotAccepted) {
                    let since = *refused_since.get_or_insert_with(Instant::now);
                    // Keep knocking a little after the first refusal: the
                    // requests in flight finish meanwhile.
                    if stopped.load(Ordering::Acquire) || since.elapsed() > Duration::from_secs(2) {
                        outcomes.push(outcome);
                        return outcomes;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                outcomes.push(outcome);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_term = Instant::now();
    signal(&first.child, "TERM");

    // While draining, /ready answers 503 (and the port still accepts).
    let mut saw_draining = false;
    while before_term.elapsed() < Duration::from_millis(1200) {
        if let Ok(r) = client().get(format!("{address}/ready")).send().await
            && r.status() == 503
        {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["status"], "draining");
            saw_draining = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(saw_draining, "/ready never answered 503 while draining");

    let status = wait_exit(&mut first, Duration::from_secs(30)).await;
    stopped.store(true, Ordering::Release);
    let log = std::fs::read_to_string(&first.log).unwrap();
    assert!(status.success(), "exit status {status}:\n{log}");
    assert!(log.contains("shut down"), "{log}");

    let mut created = BTreeSet::new();
    let mut refused = 0;
    let mut failed = Vec::new();
    for c in clients {
        for outcome in c.await.unwrap() {
            match outcome {
                Outcome::Created(id) => {
                    created.insert(id);
                }
                Outcome::NotAccepted => refused += 1,
                Outcome::Failed(e) => failed.push(e),
            }
        }
    }
    eprintln!(
        "burst: {} offers created, {refused} requests never accepted, {} lost",
        created.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "requests lost: {failed:#?}");
    assert!(
        created.len() >= CLIENTS,
        "the burst created only {} offers",
        created.len()
    );
    assert!(
        refused >= CLIENTS,
        "every client ends on a refusal, got {refused}"
    );

    // The writer was flushed and the WAL folded into the database file.
    let wal = dir.path().join("sigil.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "a WAL of {} bytes was left behind",
        std::fs::metadata(&wal).unwrap().len()
    );

    // After a restart on the same file: exactly the answered offers exist.
    let mut second = start(dir.path(), port, "second");
    wait_ready(&mut second).await;
    let marker = match create(&second.address, 0).await {
        Outcome::Created(id) => id,
        other => panic!("{other:?}"),
    };
    let stored = created_offers(&second.address, &marker).await;
    assert_eq!(
        stored.len(),
        created.len(),
        "offers in the database: {}, answered 201: {}",
        stored.len(),
        created.len()
    );
    assert_eq!(stored, created);

    // SIGINT stops at once (no drain) and also exits 0.
    let before_int = Instant::now();
    signal(&second.child, "INT");
    let status = wait_exit(&mut second, Duration::from_secs(30)).await;
    assert!(status.success(), "exit status {status}");
    assert!(
        before_int.elapsed() < Duration::from_millis(1500),
        "SIGINT took {:?}",
        before_int.elapsed()
    );
}

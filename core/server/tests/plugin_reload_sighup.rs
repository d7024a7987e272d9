//! `SIGHUP` reloads the plugins of the real `sigil` binary (and its issuer
//! keys): with the watcher off, a new build of a plugin is swapped in on the
//! signal, not before.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{copy_dir, free_port, root, serve, signal};

mod support;

const TOKEN: &str = "sighup-test-admin-token";

/// `claims-static`'s entry in `GET /admin/v1/plugins`.
async fn claims_static(address: &str) -> Option<Value> {
    let r = reqwest::Client::new()
        .get(format!("{address}/admin/v1/plugins"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .ok()?;
    let body: Value = r.json().await.ok()?;
    body["plugins"]
        .as_array()?
        .iter()
        .find(|p| p["id"] == "claims-static")
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_swaps_a_new_build_of_a_plugin_in() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("config"), &dir.path().join("config"));
    let plugins = dir.path().join("plugins");
    copy_dir(&root().join("plugins/dist"), &plugins);
    let log = dir.path().join("sigil.log");
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let plugins_dir = plugins.to_string_lossy();
    let mut child = serve(
        dir.path(),
        port,
        TOKEN,
        &log,
        &[
            ("SIGIL__SERVER__SHUTDOWN_DRAIN_MS", "0"),
            ("SIGIL__PLUGINS__DIR", &plugins_dir),
            ("SIGIL__PLUGINS__WATCH", "false"),
        ],
    );
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();

    let deadline = Instant::now() + Duration::from_secs(120);
    let before = loop {
        if let Some(p) = claims_static(&address).await {
            break p;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("sigil exited with {status}:\n{}", read_log());
        }
        assert!(Instant::now() < deadline, "not up:\n{}", read_log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(before["version"], "0.1.0");

    // A new build: the component with a custom section appended (another
    // sha256), and a new version in the manifest.
    let folder = plugins.join("claims-static");
    let wasm = folder.join("claims_static.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    bytes.extend_from_slice(&[0, 7, 6]);
    bytes.extend_from_slice(b"sighup");
    std::fs::write(&wasm, bytes).unwrap();
    let manifest = folder.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("version = \"0.1.0\"", "version = \"0.1.1\"");
    std::fs::write(&manifest, text).unwrap();

    // Watching is off: nothing changes until the signal.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(claims_static(&address).await.unwrap()["version"], "0.1.0");

    signal(&child, "HUP");
    let deadline = Instant::now() + Duration::from_secs(60);
    let after = loop {
        let p = claims_static(&address).await.unwrap();
        if p["version"] == "0.1.1" {
            break p;
        }
        assert!(Instant::now() < deadline, "not swapped:\n{}", read_log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_ne!(after["sha256"], before["sha256"]);
    let logged = read_log();
    assert!(logged.contains("reloaded issuer keys"), "{logged}");
    assert!(logged.contains("plugins swapped"), "{logged}");
    assert!(logged.contains("claims-static 0.1.0 -> 0.1.1"), "{logged}");

    signal(&child, "TERM");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("sigil did not stop:\n{}", read_log());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

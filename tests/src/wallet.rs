//! The independent wallet: `tests/wallet/claim.mjs` (Node.js, OWF oid4vc-ts
//! and `@sd-jwt/sd-jwt-vc`), run as a child process.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::root;

/// Run the Node wallet with `input` on stdin; returns its JSON report.
pub async fn claim(input: Value) -> Value {
    crate::capture::json(&input);
    let output = tokio::task::spawn_blocking(move || {
        let script = root().join("tests/wallet/claim.mjs");
        assert!(
            root().join("tests/wallet/node_modules").is_dir(),
            "the Node wallet is not installed: run `npm ci --prefix tests/wallet` (cargo xtask test does)"
        );
        let mut child = Command::new("node")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node must be installed");
        child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!("wallet printed no JSON ({e}): stdout={stdout} stderr={}", String::from_utf8_lossy(&out.stderr))
        })
    })
    .await
    .unwrap();
    // The offer it redeemed, its tokens: secrets the log must not hold.
    crate::capture::json(&output);
    output
}

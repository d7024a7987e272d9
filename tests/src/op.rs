//! A real upstream OpenID provider for the authorization code flow tests:
//! `tests/wallet/op.mjs` (npm `oidc-provider`) on 127.0.0.1, run as a child
//! process that stops when this handle is dropped.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::{Value, json};

use crate::root;

/// The client id Sigil has at the test provider.
pub const CLIENT_ID: &str = "sigil";
/// Its client secret.
pub const CLIENT_SECRET: &str = "sigil-test-secret";
/// The test account.
pub const SUBJECT: &str = "user-42";

/// A running provider.
pub struct Provider {
    /// Its issuer identifier, `http://127.0.0.1:<port>`.
    pub issuer: String,
    /// Its port.
    pub port: u16,
    child: Child,
    // Dropping the pipe stops the provider.
    _stdin: ChildStdin,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port on 127.0.0.1 (for a provider whose issuer URL must be known
/// before Sigil's configuration is written).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The issuer URL of a provider that will listen on `port`.
pub fn issuer_at(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// The TOML that makes Sigil's default tenant log people in at the provider on `port`.
pub fn login_toml(port: u16) -> String {
    format!(
        "[tenants.default]\nredirect_uris = [\"http://127.0.0.1/*\"]\n\n[tenants.default.login]\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n",
        issuer_at(port)
    )
}

/// The claims of the test account.
pub fn account_claims() -> Value {
    json!({ "given_name": "Katherine", "family_name": "Johnson", "email": "kj@example.org", "email_verified": true })
}

impl Provider {
    /// Start the provider on `port` with Sigil's client (redirect URIs
    /// `<issuer>/login/callback` of each of `sigil_issuers`) and the test
    /// account; `extra` is merged into its config (`idTokenAlg`, ...).
    pub fn start(port: u16, sigil_issuers: &[&str], extra: &Value) -> Provider {
        let redirect_uris: Vec<String> = sigil_issuers
            .iter()
            .map(|i| format!("{i}/login/callback"))
            .collect();
        let mut config = json!({
            "port": port,
            "clients": [{ "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": redirect_uris }],
            "accounts": [{ "sub": SUBJECT, "claims": account_claims() }],
        });
        if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        let mut child = Command::new("node")
            .arg(root().join("tests/wallet/op.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node must be installed");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(config.to_string().as_bytes()).unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("op.mjs did not start ({e}): {line}"));
        Provider {
            issuer: ready["issuer"].as_str().unwrap().to_owned(),
            port,
            child,
            _stdin: stdin,
        }
    }

    /// The query of the last authorization request the provider got.
    pub async fn last_authorization(&self) -> Value {
        reqwest::get(format!("{}/test/last-authorization", self.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

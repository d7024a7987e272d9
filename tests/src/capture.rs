//! Log capture for the end-to-end run, and the secrets the log must not
//! contain.
//!
//! The first server a test process starts installs the process-wide
//! subscriber (Sigil's own JSON lines, [`FILTER`]) writing every line to
//! `target/e2e-logs/<binary>-<unix time>-<pid>.log`. The harness records
//! each secret it sees — the admin token, pre-authorized and authorization
//! codes, transaction codes, access and refresh tokens, proofs, client and
//! webhook secrets, claim values sent in offers — into the `.secrets` file
//! beside it (`<kind>\t<hex of the value>` a line). `cargo xtask
//! check-logs` fails when one of them appears in the log.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// What is captured: everything of Sigil's crates from debug up, the
/// rest from info.
pub const FILTER: &str =
    "sigil=debug,sigil_issuer=debug,sigil_store=debug,sigil_plugin_host=debug,info";

/// Logs kept per test binary (older ones are deleted at start).
const KEEP: usize = 6;

struct Capture {
    log: PathBuf,
    secrets: Mutex<(File, HashSet<(String, String)>)>,
}

static CAPTURE: OnceLock<Option<Capture>> = OnceLock::new();

/// Where the logs go.
pub fn dir() -> PathBuf {
    crate::root().join("target/e2e-logs")
}

/// Start capturing (once per process; later calls do nothing) in the
/// end-to-end test binary: other binaries using the harness (the fuzz
/// tests, up to a million requests) do not write logs. Without a writable
/// `target/e2e-logs`, or when another subscriber is installed, nothing is
/// captured (said on stderr).
pub fn start() {
    CAPTURE.get_or_init(|| match open() {
        Ok(capture) => capture,
        Err(e) => {
            eprintln!("sigil-tests: no log capture: {e:#}");
            None
        }
    });
}

fn open() -> anyhow::Result<Option<Capture>> {
    let binary = std::env::current_exe()?
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.split('-').next())
        .unwrap_or("tests")
        .to_owned();
    if binary != "e2e" {
        return Ok(None);
    }
    let dir = dir();
    std::fs::create_dir_all(&dir)?;
    prune(&dir, &binary);
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let stem = format!("{binary}-{unix}-{}", std::process::id());
    let log = dir.join(format!("{stem}.log"));
    let secrets = File::create(dir.join(format!("{stem}.secrets")))?;
    let options = sigil::telemetry::Options {
        format: sigil_settings::LogFormat::Json,
        filter: FILTER.to_owned(),
        traces_url: None,
        service_name: "sigil-e2e".to_owned(),
        ansi: false,
        span_events: true,
    };
    sigil::telemetry::install(&options, Mutex::new(File::create(&log)?))?;
    let capture = Capture {
        log,
        secrets: Mutex::new((secrets, HashSet::new())),
    };
    eprintln!("sigil-tests: logs in {}", capture.log.display());
    Ok(Some(capture))
}

/// Delete all but the newest [`KEEP`] logs (and their secrets) of `binary`.
fn prune(dir: &std::path::Path, binary: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut logs: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "log")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{binary}-")))
        })
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    logs.sort();
    let old = logs.len().saturating_sub(KEEP - 1);
    for (_, log) in logs.into_iter().take(old) {
        let _ = std::fs::remove_file(log.with_extension("secrets"));
        let _ = std::fs::remove_file(log);
    }
}

/// The log of this process, when capturing.
pub fn log_path() -> Option<PathBuf> {
    CAPTURE.get()?.as_ref().map(|c| c.log.clone())
}

/// Record a secret of `kind` (not written twice).
pub fn secret(kind: &str, value: &str) {
    let Some(Some(capture)) = CAPTURE.get() else {
        return;
    };
    let value = value.trim();
    if value.is_empty() {
        return;
    }
    let mut guard = capture.secrets.lock().unwrap_or_else(|e| e.into_inner());
    let (file, seen) = &mut *guard;
    if seen.insert((kind.to_owned(), value.to_owned())) {
        let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(file, "{kind}\t{hex}");
    }
}

/// The kind of secret a JSON member or form field named `key` holds.
fn kind_of(key: &str) -> Option<&'static str> {
    let key: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Some(match key.as_str() {
        "preauthorizedcode" => "pre-authorized code",
        "txcode" => "tx code",
        "accesstoken" => "access token",
        "refreshtoken" => "refresh token",
        "idtoken" => "id token",
        "clientsecret" => "client secret",
        "codeverifier" => "code verifier",
        "secret" | "webhooksecret" | "inlinewebhooksecret" => "webhook secret",
        "jwt" | "proof" => "key proof",
        "dpop" => "dpop proof",
        "password" => "password",
        _ => return None,
    })
}

/// Record the secrets in a JSON value: members named like secrets, and
/// codes and tokens in the query of URLs (offer links).
pub fn json(value: &Value) {
    walk(value, None);
}

fn walk(value: &Value, kind: Option<&'static str>) {
    match value {
        Value::Object(members) => {
            for (key, v) in members {
                walk(v, kind_of(key).or(kind));
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, kind)),
        Value::String(s) => {
            if let Some(kind) = kind {
                secret(kind, s);
            }
            url(s);
        }
        _ => {}
    }
}

/// The secrets in a URL's query: `code`, `pre-authorized_code`, tokens,
/// and an offer by value (`credential_offer=<JSON>`).
pub fn url(text: &str) {
    let Some((_, query)) = text.split_once('?') else {
        return;
    };
    for pair in query.split(['&', '#']) {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let value = percent_decode(value);
        match key {
            "code" => secret("authorization code", &value),
            "credential_offer" => {
                if let Ok(offer) = serde_json::from_str::<Value>(&value) {
                    json(&offer);
                }
            }
            _ => {
                if let Some(kind) = kind_of(key) {
                    secret(kind, &value);
                }
            }
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Record the secrets of a form sent to Sigil (`code` is an authorization
/// code there).
pub fn form(pairs: &[(&str, &str)]) {
    for (key, value) in pairs {
        if *key == "code" {
            secret("authorization code", value);
        } else if let Some(kind) = kind_of(key) {
            secret(kind, value);
        }
    }
}

/// Record the claim values of an admin request (`credentialClaims.*.claims`,
/// `claims` of a deferred completion) and the secrets named in it.
pub fn admin_request(body: &Value) {
    json(body);
    claim_values(body, false);
}

fn claim_values(value: &Value, inside: bool) {
    match value {
        Value::Object(members) => {
            for (key, v) in members {
                claim_values(v, inside || key == "claims");
            }
        }
        Value::Array(items) => items.iter().for_each(|v| claim_values(v, inside)),
        Value::String(s) if inside => secret("claim value", s),
        _ => {}
    }
}

/// Record the secrets of configuration text given to a test server:
/// `…secret = "…"`, `token = "…"` and `…_token = "…"` values, and the values of the
/// environment variables named by `…_env = "NAME"`.
pub fn config(text: &str) {
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().trim_start_matches('[');
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        if value.starts_with(['{', '[']) {
            continue;
        }
        if key.ends_with("secret") || key == "token" || key.ends_with("_token") {
            secret("config secret", value);
        } else if key.ends_with("_env")
            && let Ok(v) = std::env::var(value)
        {
            secret("config secret", &v);
        }
    }
}

/// Read `r`'s body when it is JSON, record its secrets, and give the same
/// response back (its URL becomes a placeholder). Streams and other
/// bodies are passed through untouched.
pub async fn response(r: reqwest::Response) -> reqwest::Response {
    let json_body = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    if CAPTURE.get().is_none_or(Option::is_none) || !json_body {
        return r;
    }
    let status = r.status();
    let version = r.version();
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap_or_default();
    if let Ok(value) = serde_json::from_slice::<Value>(&body) {
        json(&value);
    }
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    reqwest::Response::from(rebuilt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c%7B%22x%22%7D"), "a b c{\"x\"}");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn secrets_are_recognised_by_name() {
        assert_eq!(kind_of("pre-authorized_code"), Some("pre-authorized code"));
        assert_eq!(kind_of("accessToken"), Some("access token"));
        assert_eq!(kind_of("tx_code"), Some("tx code"));
        assert_eq!(kind_of("error"), None);
    }
}

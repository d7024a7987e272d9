//! One call to an attribute provider or claims webhook, following contract
//! version 1 (`docs/claims-contract.md`).
//!
//! The host hands the resolved settings in `source` (secrets included, for
//! this call only):
//!
//! ```json
//! { "type": "attributeProvider" | "webhook", "contractVersion": "1", "id": "crm",
//!   "url": "https://crm.example.com/claims", "method": "POST",
//!   "auth": { "type": "bearer", "token": "..." },
//!   "hmacSecret": "...", "timeoutMs": 3000, "maxResponseBytes": 262144,
//!   "mapping": { "/person/firstName": "given_name" } }
//! ```
//!
//! Redirects are never followed: a 3xx answer is an upstream failure.
//! OAuth2 tokens are fetched on every call (plugins keep no state).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use sigil_plugin_sdk::claims::{ClaimContext, ClaimError, Resolution};
use sigil_plugin_sdk::http::{HttpError, Request, Response};
use sigil_plugin_sdk::serde_json::{self, Map, Value, json};

use crate::mapping;

/// The contract version this code speaks.
pub const CONTRACT_VERSION: &str = "1";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "sigil-signature";

/// Resolved settings of one remote source.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remote {
    /// `attributeProvider` or `webhook`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Resource id (none for a webhook given inline on an offer).
    #[serde(default)]
    pub id: Option<String>,
    /// Endpoint.
    pub url: String,
    /// `GET` or `POST`.
    #[serde(default)]
    pub method: Option<String>,
    /// Authentication.
    #[serde(default)]
    pub auth: Option<Auth>,
    /// HMAC-SHA256 secret.
    #[serde(default)]
    pub hmac_secret: Option<String>,
    /// Timeout in milliseconds.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Response size cap.
    #[serde(default)]
    pub max_response_bytes: Option<usize>,
    /// Response mapping (JSON pointer → claim path).
    #[serde(default)]
    pub mapping: Option<BTreeMap<String, String>>,
}

/// Authentication to the remote.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Auth {
    /// API key header.
    ApiKey {
        /// Header name.
        #[serde(default)]
        header: Option<String>,
        /// Key.
        value: String,
    },
    /// Bearer token.
    Bearer {
        /// Token.
        token: String,
    },
    /// HTTP Basic.
    Basic {
        /// User.
        username: String,
        /// Password.
        password: String,
    },
    /// OAuth 2.0 client credentials.
    #[serde(rename_all = "camelCase")]
    Oauth2 {
        /// Token endpoint.
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: String,
        /// Scope.
        #[serde(default)]
        scope: Option<String>,
    },
}

const DEFAULT_TIMEOUT_MS: u64 = 3_000;
const DEFAULT_MAX_BYTES: usize = 256 * 1024;

fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("?", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{scheme}://{host}")
}

impl Remote {
    fn label(&self) -> String {
        let what = if self.kind == "webhook" {
            "webhook"
        } else {
            "attribute provider"
        };
        match &self.id {
            Some(id) => format!("{what} '{id}'"),
            None => format!("{what} at {}", origin(&self.url)),
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS))
    }
}

/// The contract request body for this call.
pub fn request_body(ctx: &ClaimContext, remote: &Remote) -> Value {
    let mut body = json!({
        "contractVersion": CONTRACT_VERSION,
        "source": { "type": remote.kind, "id": remote.id },
        "tenant": ctx.tenant,
        "issuer": ctx.issuer,
        "offerId": ctx.offer_id,
        "credentialConfigurationId": ctx.credential_configuration_id,
        "format": ctx.format,
        "subject": { "id": ctx.subject_id, "holderKeys": ctx.holder_keys },
    });
    if let Some(c) = &ctx.id_token_claims {
        body["idTokenClaims"] = c.clone();
    }
    body
}

fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn query(ctx: &ClaimContext) -> String {
    let mut pairs = vec![
        ("contractVersion", CONTRACT_VERSION.to_owned()),
        ("tenant", ctx.tenant.clone()),
        ("offerId", ctx.offer_id.clone()),
        (
            "credentialConfigurationId",
            ctx.credential_configuration_id.clone(),
        ),
        ("format", ctx.format.clone()),
    ];
    if let Some(s) = &ctx.subject_id {
        pairs.push(("subjectId", s.clone()));
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    #[allow(clippy::expect_used, reason = "HMAC takes keys of any length")]
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={hex}")
}

fn http_error(remote: &Remote, what: &str, e: HttpError) -> ClaimError {
    let label = remote.label();
    match e {
        HttpError::Timeout => ClaimError::Upstream(format!(
            "{label} did not answer {what} within {} ms",
            remote.timeout().as_millis()
        )),
        HttpError::Denied(_) => ClaimError::Upstream(format!(
            "{label}: the host refused the call to {} (origin not allowed for this plugin)",
            origin(&remote.url)
        )),
        HttpError::TooLarge => ClaimError::Upstream(format!(
            "{label}: the answer {what} exceeds the host's response size cap"
        )),
        other => ClaimError::Upstream(format!("{label}: {what} failed: {other}")),
    }
}

fn check_response(remote: &Remote, what: &str, r: &Response) -> Result<(), ClaimError> {
    let label = remote.label();
    let cap = remote.max_response_bytes.unwrap_or(DEFAULT_MAX_BYTES);
    if (300..400).contains(&r.status) {
        let to = r.header("location").map(origin).unwrap_or_default();
        return Err(ClaimError::Upstream(format!(
            "{label} answered {what} with a redirect (HTTP {}) to {to}; redirects are not followed",
            r.status
        )));
    }
    if !(200..300).contains(&r.status) {
        return Err(ClaimError::Upstream(format!(
            "{label} answered {what} with HTTP {}",
            r.status
        )));
    }
    if r.body.len() > cap {
        return Err(ClaimError::Upstream(format!(
            "{label}: the answer {what} has {} bytes, more than max_response_bytes ({cap})",
            r.body.len()
        )));
    }
    Ok(())
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn oauth2_token(
    remote: &Remote,
    token_url: &str,
    client_id: &str,
    client_secret: &str,
    scope: Option<&str>,
) -> Result<String, ClaimError> {
    let mut form = "grant_type=client_credentials".to_owned();
    if let Some(s) = scope {
        form.push_str(&format!("&scope={}", pct(s)));
    }
    let basic = b64(&format!("{}:{}", pct(client_id), pct(client_secret)));
    let r = Request::post(token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("authorization", format!("Basic {basic}"))
        .body(form)
        .timeout(remote.timeout())
        .send()
        .map_err(|e| http_error(remote, "the OAuth2 token request", e))?;
    check_response(remote, "the OAuth2 token request", &r)?;
    let v: Value = r.json().map_err(|e| {
        ClaimError::Upstream(format!(
            "{}: the OAuth2 token response is not JSON: {e}",
            remote.label()
        ))
    })?;
    v.get("access_token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            ClaimError::Upstream(format!(
                "{}: the OAuth2 token response has no access_token",
                remote.label()
            ))
        })
}

/// Call the remote for `ctx` and turn its answer into a [`Resolution`].
pub fn resolve(ctx: &ClaimContext) -> Result<Resolution, ClaimError> {
    let remote: Remote = serde_json::from_value(ctx.source.clone()).map_err(|e| {
        ClaimError::InvalidInput(format!("the claim source settings are unusable: {e}"))
    })?;
    let method = remote
        .method
        .as_deref()
        .unwrap_or("POST")
        .to_ascii_uppercase();
    let body = request_body(ctx, &remote).to_string();
    let (mut request, signed_body) = match method.as_str() {
        "GET" => {
            let sep = if remote.url.contains('?') { '&' } else { '?' };
            (
                Request::get(format!("{}{sep}{}", remote.url, query(ctx))),
                Vec::new(),
            )
        }
        "POST" => (
            Request::post(&remote.url)
                .header("content-type", "application/json")
                .body(body.clone()),
            body.into_bytes(),
        ),
        other => {
            return Err(ClaimError::InvalidInput(format!(
                "method '{other}' is not GET or POST"
            )));
        }
    };
    request = request
        .header("accept", "application/json")
        .header("sigil-contract-version", CONTRACT_VERSION)
        .timeout(remote.timeout());
    match &remote.auth {
        None => {}
        Some(Auth::ApiKey { header, value }) => {
            request = request.header(header.as_deref().unwrap_or("x-api-key"), value);
        }
        Some(Auth::Bearer { token }) => {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        Some(Auth::Basic { username, password }) => {
            request = request.header(
                "authorization",
                format!("Basic {}", b64(&format!("{username}:{password}"))),
            );
        }
        Some(Auth::Oauth2 {
            token_url,
            client_id,
            client_secret,
            scope,
        }) => {
            let token = oauth2_token(
                &remote,
                token_url,
                client_id,
                client_secret,
                scope.as_deref(),
            )?;
            request = request.header("authorization", format!("Bearer {token}"));
        }
    }
    if let Some(secret) = remote.hmac_secret.as_deref().filter(|s| !s.is_empty()) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        request = request.header(SIGNATURE_HEADER, signature(secret, now, &signed_body));
    }
    let response = request
        .send()
        .map_err(|e| http_error(&remote, "the claims request", e))?;
    check_response(&remote, "the claims request", &response)?;
    interpret(&remote, &response.body)
}

/// Turn a contract response body into a [`Resolution`].
pub fn interpret(remote: &Remote, body: &[u8]) -> Result<Resolution, ClaimError> {
    let label = remote.label();
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ClaimError::Upstream(format!("{label} answered with malformed JSON: {e}")))?;
    if let Some(version) = v.get("contractVersion").and_then(Value::as_str)
        && version != CONTRACT_VERSION
    {
        return Err(ClaimError::Upstream(format!(
            "{label} answered with contract version {version}; this plugin speaks {CONTRACT_VERSION}"
        )));
    }
    let reason = || {
        v.get("reason")
            .and_then(Value::as_str)
            .unwrap_or("no reason given")
            .chars()
            .take(200)
            .collect::<String>()
    };
    match v.get("status").and_then(Value::as_str) {
        Some("pending") => {
            let interval = v
                .get("intervalSeconds")
                .and_then(Value::as_u64)
                .unwrap_or(5)
                .clamp(1, 86_400) as u32;
            return Ok(Resolution::Pending {
                interval_seconds: interval,
                reason: format!("{label}: {}", reason()),
            });
        }
        Some("denied") => {
            return Err(ClaimError::Denied(format!("{label}: {}", reason())));
        }
        None | Some("ok") => {}
        Some(other) => {
            return Err(ClaimError::Upstream(format!(
                "{label} answered with unknown status '{other}'; use ok, pending or denied"
            )));
        }
    }
    let claims: Map<String, Value> = match &remote.mapping {
        Some(m) => mapping::apply(m, &v)
            .map_err(|e| ClaimError::InvalidInput(format!("{label}: mapping: {e}")))?,
        None => match v.get("claims") {
            Some(Value::Object(c)) => c.clone(),
            _ => {
                return Err(ClaimError::Upstream(format!(
                    "{label} answered without a claims object (contract version {CONTRACT_VERSION})"
                )));
            }
        },
    };
    Ok(Resolution::Claims(claims))
}

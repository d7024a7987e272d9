//! HTTP to the tenants' upstream OpenID providers: the issuer's
//! [`OpenIdProviders`] port over `reqwest` (rustls). Discovery documents
//! and JWKS are cached for [`CACHE_SECONDS`]; every call has a deadline and
//! a size cap, and a provider's answer is never followed to another host.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use sigil_issuer::ports::{OpenIdProviders, ProviderFailure, ProviderMetadata};

/// How long a discovery document or JWKS is reused.
const CACHE_SECONDS: u64 = 600;
/// Deadline of one call to a provider.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from a provider.
const MAX_BODY: usize = 512 * 1024;

/// The providers' client with its caches.
#[derive(Debug)]
pub struct Providers {
    http: reqwest::Client,
    metadata: Mutex<HashMap<String, (Instant, ProviderMetadata)>>,
    jwks: Mutex<HashMap<String, (Instant, Value)>>,
}

impl Default for Providers {
    fn default() -> Self {
        Self::new()
    }
}

impl Providers {
    /// A client with no cached documents.
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sigil/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            http,
            metadata: Mutex::new(HashMap::new()),
            jwks: Mutex::new(HashMap::new()),
        }
    }

    fn cached<T: Clone>(map: &Mutex<HashMap<String, (Instant, T)>>, key: &str) -> Option<T> {
        let map = map.lock().ok()?;
        map.get(key)
            .filter(|(at, _)| at.elapsed() < Duration::from_secs(CACHE_SECONDS))
            .map(|(_, v)| v.clone())
    }

    fn keep<T>(map: &Mutex<HashMap<String, (Instant, T)>>, key: &str, value: T) {
        if let Ok(mut map) = map.lock() {
            map.insert(key.to_owned(), (Instant::now(), value));
        }
    }

    /// The JSON body of `response`, read up to [`MAX_BODY`].
    async fn json(what: &str, mut response: reqwest::Response) -> Result<(u16, Value), ProviderFailure> {
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ProviderFailure(format!("reading its {what} failed: {e}")))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                return Err(ProviderFailure(format!("its {what} is larger than {MAX_BODY} bytes")));
            }
        }
        let value = serde_json::from_slice(&body)
            .map_err(|_| ProviderFailure(format!("its {what} (HTTP {status}) is not JSON")))?;
        Ok((status, value))
    }

    async fn get(&self, what: &str, url: &str) -> Result<Value, ProviderFailure> {
        let response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| ProviderFailure(format!("its {what} at {url} cannot be reached: {e}")))?;
        match Self::json(what, response).await? {
            (200, v) => Ok(v),
            (status, _) => Err(ProviderFailure(format!("its {what} at {url} answered HTTP {status}"))),
        }
    }
}

impl OpenIdProviders for Providers {
    async fn metadata(&self, issuer: &str) -> Result<ProviderMetadata, ProviderFailure> {
        if let Some(m) = Self::cached(&self.metadata, issuer) {
            return Ok(m);
        }
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let value = self.get("discovery document", &url).await?;
        let m: ProviderMetadata = serde_json::from_value(value)
            .map_err(|e| ProviderFailure(format!("its discovery document is incomplete: {e}")))?;
        if m.issuer != issuer {
            return Err(ProviderFailure(format!(
                "its discovery document names issuer {} instead of {issuer}",
                m.issuer
            )));
        }
        Self::keep(&self.metadata, issuer, m.clone());
        Ok(m)
    }

    async fn jwks(&self, uri: &str, refresh: bool) -> Result<Value, ProviderFailure> {
        if !refresh && let Some(v) = Self::cached(&self.jwks, uri) {
            return Ok(v);
        }
        let value = self.get("JWKS", uri).await?;
        Self::keep(&self.jwks, uri, value.clone());
        Ok(value)
    }

    async fn token(
        &self,
        token_endpoint: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Value, ProviderFailure> {
        let mut request = self
            .http
            .post(token_endpoint)
            .header("accept", "application/json")
            .form(form);
        if let Some((id, secret)) = basic {
            // RFC 6749 §2.3.1: both parts form-encoded before Basic encoding.
            let enc = |s: &str| serde_urlencoded::to_string([("", s)]).unwrap_or_default()[1..].to_owned();
            request = request.basic_auth(enc(id), Some(enc(secret)));
        }
        let response = request
            .send()
            .await
            .map_err(|e| ProviderFailure(format!("its token endpoint cannot be reached: {e}")))?;
        match Self::json("token response", response).await? {
            (200, v) => Ok(v),
            (status, v) => Err(ProviderFailure(format!(
                "its token endpoint answered HTTP {status} {}",
                v.get("error").and_then(Value::as_str).unwrap_or_default()
            ))),
        }
    }
}

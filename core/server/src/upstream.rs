//! HTTP to the tenants' upstream OpenID providers and external
//! authorization servers: the issuer's [`OpenIdProviders`] port over
//! `reqwest` (rustls). Discovery documents, authorization server metadata
//! and JWKS are cached for [`CACHE_SECONDS`]; every call has a deadline and
//! a size cap, and an answer is never followed to another host.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use sigil_issuer::ports::{
    AuthorizationServerMetadata, OpenIdProviders, ProviderFailure, ProviderMetadata,
};
use sigil_metrics::Metrics;

/// How long a discovery document or JWKS is reused.
const CACHE_SECONDS: u64 = 600;
/// The youngest cached JWKS a refresh (an unknown `kid`) fetches again: a
/// stream of tokens with made-up key ids, which anyone can send to the
/// credential endpoint, costs the server at most one JWKS fetch this often.
const REFRESH_AFTER_SECONDS: u64 = 30;
/// Deadline of one call to a provider.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from a provider.
const MAX_BODY: usize = 512 * 1024;

/// The providers' client with its caches.
#[derive(Debug)]
pub struct Providers {
    http: reqwest::Client,
    metrics: Metrics,
    metadata: Mutex<HashMap<String, (Instant, ProviderMetadata)>>,
    servers: Mutex<HashMap<String, (Instant, AuthorizationServerMetadata)>>,
    jwks: Mutex<HashMap<String, (Instant, Value)>>,
}

impl Default for Providers {
    fn default() -> Self {
        Self::new(&Metrics::disabled())
    }
}

impl Providers {
    /// A client with no cached documents, recording each call in `metrics`
    /// (`upstream`).
    pub fn new(metrics: &Metrics) -> Self {
        let http = crate::outbound::client(Some(TIMEOUT));
        Self {
            http,
            metrics: metrics.clone(),
            metadata: Mutex::new(HashMap::new()),
            servers: Mutex::new(HashMap::new()),
            jwks: Mutex::new(HashMap::new()),
        }
    }

    fn cached<T: Clone>(map: &Mutex<HashMap<String, (Instant, T)>>, key: &str) -> Option<T> {
        Self::younger_than(map, key, CACHE_SECONDS)
    }

    /// The cached value of `key` if it is younger than `seconds`.
    fn younger_than<T: Clone>(
        map: &Mutex<HashMap<String, (Instant, T)>>,
        key: &str,
        seconds: u64,
    ) -> Option<T> {
        let map = map.lock().ok()?;
        map.get(key)
            .filter(|(at, _)| at.elapsed() < Duration::from_secs(seconds))
            .map(|(_, v)| v.clone())
    }

    fn keep<T>(map: &Mutex<HashMap<String, (Instant, T)>>, key: &str, value: T) {
        if let Ok(mut map) = map.lock() {
            map.insert(key.to_owned(), (Instant::now(), value));
        }
    }

    /// The JSON body of `response`, read up to [`MAX_BODY`].
    async fn json(
        what: &str,
        mut response: reqwest::Response,
    ) -> Result<(u16, Value), ProviderFailure> {
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ProviderFailure(format!("reading its {what} failed: {e}")))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                return Err(ProviderFailure(format!(
                    "its {what} is larger than {MAX_BODY} bytes"
                )));
            }
        }
        let value = serde_json::from_slice(&body)
            .map_err(|_| ProviderFailure(format!("its {what} (HTTP {status}) is not JSON")))?;
        Ok((status, value))
    }

    /// POST `form` to `url` (with HTTP Basic `basic` when given): the
    /// status and JSON answer.
    async fn post(
        &self,
        what: &str,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<(u16, Value), ProviderFailure> {
        let mut request = self
            .http
            .post(url)
            .header("accept", "application/json")
            .form(form);
        if let Some((id, secret)) = basic {
            // RFC 6749 §2.3.1: both parts form-encoded before Basic encoding.
            let enc = |s: &str| {
                serde_urlencoded::to_string([("", s)]).unwrap_or_default()[1..].to_owned()
            };
            request = request.basic_auth(enc(id), Some(enc(secret)));
        }
        let response = crate::outbound::send(&self.metrics, "upstream", request)
            .await
            .map_err(|e| ProviderFailure(format!("its {what} cannot be reached: {e}")))?;
        Self::json(what, response).await
    }

    async fn get(&self, what: &str, url: &str) -> Result<Value, ProviderFailure> {
        let request = self.http.get(url).header("accept", "application/json");
        let response = crate::outbound::send(&self.metrics, "upstream", request)
            .await
            .map_err(|e| ProviderFailure(format!("its {what} at {url} cannot be reached: {e}")))?;
        match Self::json(what, response).await? {
            (200, v) => Ok(v),
            (status, _) => Err(ProviderFailure(format!(
                "its {what} at {url} answered HTTP {status}"
            ))),
        }
    }
}

impl OpenIdProviders for Providers {
    async fn metadata(&self, issuer: &str) -> Result<ProviderMetadata, ProviderFailure> {
        if let Some(m) = Self::cached(&self.metadata, issuer) {
            return Ok(m);
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
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
        let fresh_enough = if refresh {
            REFRESH_AFTER_SECONDS
        } else {
            CACHE_SECONDS
        };
        if let Some(v) = Self::younger_than(&self.jwks, uri, fresh_enough) {
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
        match self
            .post("token endpoint", token_endpoint, form, basic)
            .await?
        {
            (200, v) => Ok(v),
            (status, v) => Err(ProviderFailure(format!(
                "its token endpoint answered HTTP {status} {}",
                v.get("error").and_then(Value::as_str).unwrap_or_default()
            ))),
        }
    }

    async fn authorization_server(
        &self,
        issuer: &str,
    ) -> Result<AuthorizationServerMetadata, ProviderFailure> {
        if let Some(m) = Self::cached(&self.servers, issuer) {
            return Ok(m);
        }
        let value = match self
            .get("authorization server metadata", &rfc8414_url(issuer))
            .await
        {
            Ok(v) => v,
            Err(first) => {
                let oidc = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                self.get("discovery document", &oidc)
                    .await
                    .map_err(|second| ProviderFailure(format!("{}; and {}", first.0, second.0)))?
            }
        };
        let m: AuthorizationServerMetadata = serde_json::from_value(value)
            .map_err(|e| ProviderFailure(format!("its metadata is incomplete: {e}")))?;
        if m.issuer != issuer {
            return Err(ProviderFailure(format!(
                "its metadata names issuer {} instead of {issuer}",
                m.issuer
            )));
        }
        Self::keep(&self.servers, issuer, m.clone());
        Ok(m)
    }

    async fn introspect(
        &self,
        endpoint: &str,
        token: &str,
        client: (&str, &str),
    ) -> Result<Value, ProviderFailure> {
        let form = [("token", token), ("token_type_hint", "access_token")];
        match self
            .post("introspection endpoint", endpoint, &form, Some(client))
            .await?
        {
            (200, v) => Ok(v),
            (status, v) => Err(ProviderFailure(format!(
                "its introspection endpoint answered HTTP {status} {}",
                v.get("error").and_then(Value::as_str).unwrap_or_default()
            ))),
        }
    }
}

/// The RFC 8414 §3.1 metadata URL of `issuer`: the well-known suffix goes
/// between the host and the issuer's path.
fn rfc8414_url(issuer: &str) -> String {
    match reqwest::Url::parse(issuer) {
        Ok(u) => {
            let path = u.path().trim_end_matches('/');
            format!(
                "{}/.well-known/oauth-authorization-server{path}",
                u.origin().ascii_serialization()
            )
        }
        Err(_) => format!("{issuer}/.well-known/oauth-authorization-server"),
    }
}

#[cfg(test)]
mod tests {
    use super::rfc8414_url;

    #[test]
    fn the_well_known_suffix_goes_before_the_path() {
        assert_eq!(
            rfc8414_url("https://as.example"),
            "https://as.example/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            rfc8414_url("https://as.example/realms/corp"),
            "https://as.example/.well-known/oauth-authorization-server/realms/corp"
        );
        assert_eq!(
            rfc8414_url("http://127.0.0.1:9000"),
            "http://127.0.0.1:9000/.well-known/oauth-authorization-server"
        );
    }
}

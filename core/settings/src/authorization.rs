//! The authorization code flow's settings: `[authorization]` (Sigil's own
//! authorization server), `[authorization_servers.<id>]` (external
//! authorization servers whose access tokens the credential endpoint
//! accepts) and, per tenant, `redirect_uris` (the wallets' allow-list),
//! `authorization_servers` (the external servers it accepts) and
//! `[tenants.<id>.login]` (the upstream OpenID provider).

use serde::Deserialize;

use crate::providers::Secret;

/// Whether DPoP (RFC 9449) is required at the token and credential endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpopMode {
    /// Advertised; a token request with a proof gets a bound token (default).
    #[default]
    Optional,
    /// Every token request needs a proof; tokens are always DPoP-bound.
    Required,
}

/// `[authorization]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthorizationSettings {
    /// Whether the authorization endpoint accepts only a PAR `request_uri`
    /// (RFC 9126 §5; default true, as HAIP and FAPI 2.0 require).
    pub require_par: bool,
    /// Lifetime of a PAR `request_uri`, seconds (`expires_in`; 10–600).
    pub request_uri_seconds: i64,
    /// Lifetime of an authorization code, seconds (1–60).
    pub code_seconds: i64,
    /// How long the person may take to log in at the upstream provider, seconds.
    pub login_seconds: i64,
    /// Lifetime of a refresh token, seconds; 0 issues none.
    pub refresh_token_seconds: i64,
    /// `optional` (default) or `required`.
    pub dpop: DpopMode,
    /// Whether DPoP proofs must carry a server-provided nonce (`DPoP-Nonce`).
    pub dpop_nonce: bool,
    /// Oldest accepted DPoP proof `iat`, seconds before now.
    pub dpop_max_age_seconds: i64,
}

impl Default for AuthorizationSettings {
    fn default() -> Self {
        Self {
            require_par: true,
            request_uri_seconds: 60,
            code_seconds: 60,
            login_seconds: 600,
            refresh_token_seconds: 7 * 86_400,
            dpop: DpopMode::Optional,
            dpop_nonce: false,
            dpop_max_age_seconds: 300,
        }
    }
}

/// How Sigil authenticates at the upstream token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// HTTP Basic with the client id and secret (default).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form.
    ClientSecretPost,
}

/// `[tenants.<id>.login]`: the OpenID provider people log in at.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSettings {
    /// The provider's issuer identifier (discovery at
    /// `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    /// Sigil's client id at the provider.
    pub client_id: String,
    /// Sigil's client secret (`{ env = "NAME" }`, `{ file = "path" }`, or a
    /// literal in development).
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Scopes asked for (default `openid profile email`; `openid` is added
    /// when missing).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The ID token claims handed to claim plugins (default: all); `sub`
    /// always reaches them as the subject id.
    #[serde(default)]
    pub claims: Option<Vec<String>>,
    /// `client_secret_basic` (default) or `client_secret_post`.
    #[serde(default)]
    pub token_endpoint_auth: ClientAuthMethod,
    /// ID token signing algorithms accepted.
    #[serde(default = "default_id_token_algorithms")]
    pub id_token_algorithms: Vec<String>,
}

/// How the credential endpoint checks an external authorization server's
/// access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum TokenVerification {
    /// RFC 9068 JWT access tokens, verified with the keys of the server's
    /// `jwks_uri` (default).
    #[default]
    Jwt,
    /// RFC 7662 token introspection at the server's `introspection_endpoint`,
    /// as client `client_id` with `client_secret` (HTTP Basic).
    Introspection,
}

impl TryFrom<String> for TokenVerification {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "jwt" => Ok(Self::Jwt),
            "introspection" => Ok(Self::Introspection),
            other => Err(format!(
                "'{other}' is not a verification; use \"jwt\" (RFC 9068 JWT access tokens) or \"introspection\" (RFC 7662)"
            )),
        }
    }
}

impl TokenVerification {
    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::Introspection => "introspection",
        }
    }
}

/// `[authorization_servers.<id>]`: an external OAuth 2.0 authorization
/// server (OID4VCI §12.2.4 `authorization_servers`) whose access tokens the
/// credential endpoint of the tenants that list it accepts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationServerSettings {
    /// Its issuer identifier (RFC 8414): metadata at
    /// `/.well-known/oauth-authorization-server`, else
    /// `<issuer>/.well-known/openid-configuration`; tokens carry it as `iss`.
    pub issuer: String,
    /// The `aud` its access tokens must carry for Sigil (default: the
    /// tenant's credential issuer URL, the `resource` wallets ask for).
    #[serde(default)]
    pub audience: Option<String>,
    /// `jwt` (default) or `introspection`.
    #[serde(default)]
    pub verification: TokenVerification,
    /// Sigil's client id at the server (introspection only).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Sigil's client secret there (introspection only; `{ env = "NAME" }`,
    /// `{ file = "path" }`, or a literal in development).
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Signing algorithms accepted for its JWT access tokens.
    #[serde(default = "default_id_token_algorithms")]
    pub algorithms: Vec<String>,
}

impl AuthorizationServerSettings {
    /// The audience its tokens must name for the tenant whose credential
    /// issuer URL is `credential_issuer`.
    pub fn audience_for<'a>(&'a self, credential_issuer: &'a str) -> &'a str {
        self.audience.as_deref().unwrap_or(credential_issuer)
    }
}

/// The signing algorithms Sigil verifies (ID tokens, JWT access tokens).
pub const VERIFIED_ALGORITHMS: &[&str] = &["RS256", "PS256", "ES256", "ES384", "EdDSA"];

/// Whether `issuer` can be an OpenID provider's or authorization server's
/// issuer identifier here: an https URL, or http on a loopback host
/// (development), without query or fragment.
pub(crate) fn issuer_url_allowed(issuer: &str) -> bool {
    url::Url::parse(issuer).is_ok_and(|u| {
        u.query().is_none()
            && u.fragment().is_none()
            && (u.scheme() == "https"
                || u.scheme() == "http"
                    && matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost")))
    })
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(String::from).to_vec()
}

fn default_id_token_algorithms() -> Vec<String> {
    VERIFIED_ALGORITHMS
        .iter()
        .map(|a| (*a).to_owned())
        .collect()
}

impl LoginSettings {
    /// The scopes to ask for, `openid` first.
    pub fn scope(&self) -> String {
        let mut scopes = vec!["openid"];
        scopes.extend(
            self.scopes
                .iter()
                .map(String::as_str)
                .filter(|s| *s != "openid"),
        );
        scopes.join(" ")
    }
}

/// Whether a wallet's `redirect_uri` matches one `pattern` of a tenant's
/// `redirect_uris`: equal; or, for an `http` loopback pattern
/// (`127.0.0.1`, `[::1]`, `localhost`), equal with any port (RFC 8252
/// §7.3); and a pattern ending in `*` matches any rest of the path and
/// query. Fragments never match (RFC 6749 §3.1.2).
pub fn redirect_uri_allowed(pattern: &str, redirect_uri: &str) -> bool {
    let Ok(uri) = url::Url::parse(redirect_uri) else {
        return false;
    };
    if uri.fragment().is_some() || uri.username() != "" || uri.password().is_some() {
        return false;
    }
    let (pattern, wildcard) = match pattern.strip_suffix('*') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let Ok(pat) = url::Url::parse(pattern) else {
        return false;
    };
    let loopback = pat.scheme() == "http"
        && matches!(pat.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    let same_origin = pat.scheme() == uri.scheme()
        && pat.host_str() == uri.host_str()
        && (loopback && pat.port().is_none()
            || pat.port_or_known_default() == uri.port_or_known_default());
    if !same_origin {
        return false;
    }
    let rest = |u: &url::Url| {
        let mut s = u.path().to_owned();
        if let Some(q) = u.query() {
            s.push('?');
            s.push_str(q);
        }
        s
    };
    let (want, got) = (rest(&pat), rest(&uri));
    if wildcard {
        got.starts_with(&want)
    } else {
        got == want
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_patterns_match_any_port() {
        let p = "http://127.0.0.1/*";
        assert!(redirect_uri_allowed(p, "http://127.0.0.1:53211/cb"));
        assert!(redirect_uri_allowed(p, "http://127.0.0.1/cb?x=1"));
        assert!(!redirect_uri_allowed(p, "http://127.0.0.2:53211/cb"));
        assert!(!redirect_uri_allowed(p, "https://127.0.0.1/cb"));
        assert!(!redirect_uri_allowed(p, "http://127.0.0.1:1/cb#frag"));
        assert!(!redirect_uri_allowed(p, "http://user@127.0.0.1:1/cb"));
        assert!(redirect_uri_allowed(
            "http://localhost/cb",
            "http://localhost:9/cb"
        ));
        assert!(!redirect_uri_allowed(
            "http://localhost/cb",
            "http://localhost:9/cb2"
        ));
    }

    #[test]
    fn other_patterns_match_exactly_or_by_prefix() {
        let p = "https://wallet.example/cb";
        assert!(redirect_uri_allowed(p, "https://wallet.example/cb"));
        assert!(redirect_uri_allowed(p, "https://wallet.example:443/cb"));
        assert!(!redirect_uri_allowed(p, "https://wallet.example:8443/cb"));
        assert!(!redirect_uri_allowed(p, "https://wallet.example/cb/x"));
        assert!(!redirect_uri_allowed(p, "https://wallet.example.evil/cb"));
        assert!(redirect_uri_allowed(
            "https://wallet.example/app/*",
            "https://wallet.example/app/cb?x"
        ));
        assert!(!redirect_uri_allowed(
            "https://wallet.example/app/*",
            "https://wallet.example/other"
        ));
        assert!(!redirect_uri_allowed(p, "not a url"));
    }

    #[test]
    fn openid_scope_comes_first_once() {
        let l: LoginSettings = serde_json::from_value(serde_json::json!({
            "issuer": "https://op", "client_id": "c", "scopes": ["email", "openid"]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.scope(), "openid email");
    }
}

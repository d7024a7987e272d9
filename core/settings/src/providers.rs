//! Remote claim sources as resource files: attribute providers
//! (`attribute-providers/<id>.toml`) and webhook endpoints
//! (`webhook-endpoints/<id>.toml`), with secrets from the file, the
//! environment or a file of their own. Secrets are resolved once at load and
//! never printed (`Debug` shows where they came from, not their value).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::SettingsError;

/// Version of the JSON contract between Sigil and providers/webhooks.
pub const CLAIMS_CONTRACT_VERSION: &str = "1";

/// The plugin that calls attribute providers.
pub const ATTRIBUTE_PROVIDER_PLUGIN: &str = "claims-attribute-provider";
/// The plugin that hands out an offer's inline claims.
pub const INLINE_PLUGIN: &str = "claims-inline";
/// The plugin that hands out a configuration's static claims.
pub const STATIC_PLUGIN: &str = "claims-static";
/// The plugin that maps the claims of the upstream ID token (code flow).
pub const ID_TOKEN_PLUGIN: &str = "claims-id-token";
/// The plugin that calls claim webhooks.
pub const WEBHOOK_PLUGIN: &str = "claims-webhook";

/// Default timeout of one provider or webhook call.
pub const DEFAULT_TIMEOUT_MS: u64 = 3_000;
/// Default cap on a provider's response body.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Where a secret comes from: a literal string, `{ env = "NAME" }` or
/// `{ file = "path" }` (relative to the config file).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SecretSource {
    /// The value itself (development only).
    Literal(String),
    /// An environment variable.
    Env {
        /// Variable name.
        env: String,
    },
    /// A file whose trimmed content is the secret.
    File {
        /// Path, relative to the config file.
        file: PathBuf,
    },
}

/// A secret: its source and, once loaded, its value.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "SecretSource")]
pub struct Secret {
    source: SecretSource,
    value: Option<String>,
}

impl From<SecretSource> for Secret {
    fn from(source: SecretSource) -> Self {
        let value = match &source {
            SecretSource::Literal(v) => Some(v.clone()),
            _ => None,
        };
        Self { source, value }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            SecretSource::Literal(_) => f.write_str("Secret(literal, ***)"),
            SecretSource::Env { env } => write!(f, "Secret(env {env}, ***)"),
            SecretSource::File { file } => write!(f, "Secret(file {}, ***)", file.display()),
        }
    }
}

impl Secret {
    /// A secret read from the environment variable `name`.
    pub fn from_env(name: &str) -> Self {
        SecretSource::Env { env: name.into() }.into()
    }

    /// Where the value comes from.
    pub fn source(&self) -> &SecretSource {
        &self.source
    }

    /// The value (empty until resolved).
    pub fn expose(&self) -> &str {
        self.value.as_deref().unwrap_or_default()
    }

    /// Read the value from the environment or its file.
    pub(crate) fn resolve(
        &mut self,
        base: &Path,
        env: &BTreeMap<String, String>,
    ) -> Result<(), (String, String)> {
        match &self.source {
            SecretSource::Literal(v) => self.value = Some(v.clone()),
            SecretSource::Env { env: name } => match env.get(name) {
                Some(v) if !v.is_empty() => self.value = Some(v.clone()),
                _ => {
                    return Err((
                        format!("the environment variable {name} is not set"),
                        format!("export {name}=<secret> before starting Sigil"),
                    ));
                }
            },
            SecretSource::File { file } => {
                let path = base.join(file);
                match std::fs::read_to_string(&path) {
                    Ok(v) if !v.trim().is_empty() => self.value = Some(v.trim().to_owned()),
                    Ok(_) => {
                        return Err((
                            format!("the secret file {} is empty", path.display()),
                            "write the secret into the file".into(),
                        ));
                    }
                    Err(e) => {
                        return Err((
                            format!("cannot read the secret file {}: {e}", path.display()),
                            "check the path (relative to sigil.toml) and its permissions".into(),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// How Sigil authenticates to a provider.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ProviderAuth {
    /// An API key in a header.
    ApiKey {
        /// Header name (default `x-api-key`).
        #[serde(default = "api_key_header")]
        header: String,
        /// The key.
        value: Secret,
    },
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: Secret,
    },
    /// HTTP Basic.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// OAuth 2.0 client credentials grant (RFC 6749 §4.4, `client_secret_basic`);
    /// the token is fetched on every call (plugins keep no state between calls).
    Oauth2 {
        /// Token endpoint.
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
        /// Scope to request.
        #[serde(default)]
        scope: Option<String>,
    },
}

fn api_key_header() -> String {
    "x-api-key".into()
}

impl ProviderAuth {
    fn secrets(&mut self) -> Vec<(&'static str, &mut Secret)> {
        match self {
            Self::ApiKey { value, .. } => vec![("auth.value", value)],
            Self::Bearer { token } => vec![("auth.token", token)],
            Self::Basic { password, .. } => vec![("auth.password", password)],
            Self::Oauth2 { client_secret, .. } => vec![("auth.client_secret", client_secret)],
        }
    }

    /// The auth settings as the plugins read them (secrets included).
    pub fn to_source(&self) -> Value {
        match self {
            Self::ApiKey { header, value } => {
                json!({ "type": "api-key", "header": header, "value": value.expose() })
            }
            Self::Bearer { token } => json!({ "type": "bearer", "token": token.expose() }),
            Self::Basic { username, password } => {
                json!({ "type": "basic", "username": username, "password": password.expose() })
            }
            Self::Oauth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            } => json!({
                "type": "oauth2", "tokenUrl": token_url, "clientId": client_id,
                "clientSecret": client_secret.expose(), "scope": scope,
            }),
        }
    }
}

/// GET or POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum HttpMethod {
    /// Context as query parameters.
    #[serde(rename = "GET", alias = "get")]
    Get,
    /// Context as a JSON body (default).
    #[default]
    #[serde(rename = "POST", alias = "post")]
    Post,
}

impl HttpMethod {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// An attribute provider (`attribute-providers/<id>.toml`): an HTTP service
/// Sigil asks for the claims of a credential.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeProvider {
    /// Id, referenced by credential configurations and offers.
    pub id: String,
    /// The endpoint.
    pub url: String,
    /// `GET` or `POST` (default).
    #[serde(default)]
    pub method: HttpMethod,
    /// Authentication.
    #[serde(default)]
    pub auth: Option<ProviderAuth>,
    /// Timeout of the call in milliseconds (default 3000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Largest accepted response body (default 256 KiB).
    #[serde(default = "default_max_response")]
    pub max_response_bytes: usize,
    /// Response mapping: JSON pointer into the response → claim path
    /// (`"/person/firstName" = "given_name"`). Without it the response must
    /// follow the contract (`{"claims": {...}}`).
    #[serde(default)]
    pub mapping: Option<BTreeMap<String, String>>,
    /// The claim-provider plugin that calls it (default `claims-attribute-provider`).
    #[serde(default)]
    pub plugin: Option<String>,
}

impl AttributeProvider {
    /// The plugin that calls this provider.
    pub fn plugin_id(&self) -> &str {
        self.plugin.as_deref().unwrap_or(ATTRIBUTE_PROVIDER_PLUGIN)
    }

    /// The `source` JSON handed to the plugin for one call (secrets included:
    /// it reaches only this plugin, for this call).
    pub fn to_source(&self) -> Value {
        json!({
            "type": "attributeProvider",
            "contractVersion": CLAIMS_CONTRACT_VERSION,
            "id": self.id,
            "url": self.url,
            "method": self.method.as_str(),
            "auth": self.auth.as_ref().map(ProviderAuth::to_source),
            "timeoutMs": self.timeout_ms,
            "maxResponseBytes": self.max_response_bytes,
            "mapping": self.mapping,
        })
    }
}

/// A named webhook endpoint (`webhook-endpoints/<id>.toml`). Claim requests
/// to it are signed with HMAC-SHA256 when it has a secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    /// Id, referenced by offers.
    pub id: String,
    /// The endpoint.
    pub url: String,
    /// `GET` or `POST` (default).
    #[serde(default)]
    pub method: HttpMethod,
    /// Authentication besides the signature.
    #[serde(default)]
    pub auth: Option<ProviderAuth>,
    /// The HMAC-SHA256 signing secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Shorthand for `secret = { env = "NAME" }`.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Timeout of the call in milliseconds (default 3000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Largest accepted response body (default 256 KiB).
    #[serde(default = "default_max_response")]
    pub max_response_bytes: usize,
    /// Response mapping, as for attribute providers.
    #[serde(default)]
    pub mapping: Option<BTreeMap<String, String>>,
}

impl WebhookEndpoint {
    /// The `source` JSON handed to `claims-webhook` for one call.
    pub fn to_source(&self) -> Value {
        json!({
            "type": "webhook",
            "contractVersion": CLAIMS_CONTRACT_VERSION,
            "id": self.id,
            "url": self.url,
            "method": self.method.as_str(),
            "auth": self.auth.as_ref().map(ProviderAuth::to_source),
            "hmacSecret": self.secret.as_ref().map(Secret::expose),
            "timeoutMs": self.timeout_ms,
            "maxResponseBytes": self.max_response_bytes,
            "mapping": self.mapping,
        })
    }
}

/// `[claims]` in `sigil.toml`: defaults for per-offer (inline) webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimsSettings {
    /// Secret that signs requests to webhooks given inline on offers. Without
    /// one, such requests go unsigned.
    pub inline_webhook_secret: Option<Secret>,
    /// Timeout of an inline webhook call in milliseconds.
    pub inline_webhook_timeout_ms: u64,
    /// Largest accepted response body of an inline webhook.
    pub inline_webhook_max_response_bytes: usize,
}

impl Default for ClaimsSettings {
    fn default() -> Self {
        Self {
            inline_webhook_secret: None,
            inline_webhook_timeout_ms: DEFAULT_TIMEOUT_MS,
            inline_webhook_max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl ClaimsSettings {
    /// The `source` JSON for an inline webhook of an offer
    /// (`{"url": ..., "auth": {...}}` as given on the offer).
    pub fn inline_webhook_source(&self, webhook: &Value) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), "webhook".into());
        m.insert("contractVersion".into(), CLAIMS_CONTRACT_VERSION.into());
        m.insert(
            "url".into(),
            webhook.get("url").cloned().unwrap_or_default(),
        );
        m.insert(
            "method".into(),
            webhook
                .get("method")
                .cloned()
                .unwrap_or_else(|| "POST".into()),
        );
        m.insert(
            "auth".into(),
            webhook.get("auth").cloned().unwrap_or_default(),
        );
        m.insert(
            "hmacSecret".into(),
            self.inline_webhook_secret
                .as_ref()
                .map(|s| Value::from(s.expose()))
                .unwrap_or_default(),
        );
        m.insert("timeoutMs".into(), self.inline_webhook_timeout_ms.into());
        m.insert(
            "maxResponseBytes".into(),
            self.inline_webhook_max_response_bytes.into(),
        );
        Value::Object(m)
    }
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_MS
}
fn default_max_response() -> usize {
    DEFAULT_MAX_RESPONSE_BYTES
}

/// Resolve every secret of a provider or endpoint; errors name file and key.
pub(crate) fn resolve_secrets(
    file: &Path,
    base: &Path,
    env: &BTreeMap<String, String>,
    auth: Option<&mut ProviderAuth>,
    extra: Vec<(&'static str, &mut Secret)>,
) -> Result<(), SettingsError> {
    let mut all = extra;
    if let Some(a) = auth {
        all.extend(a.secrets());
    }
    for (key, secret) in all {
        secret
            .resolve(base, env)
            .map_err(|(problem, fix)| SettingsError::new(file, key, problem, fix))?;
    }
    Ok(())
}

/// Apply `secret_env = "NAME"`, the shorthand for `secret = { env = "NAME" }`,
/// of a resource loaded from `file`; both set is an error.
pub(crate) fn secret_from_env(
    file: &Path,
    secret: &mut Option<Secret>,
    secret_env: Option<&str>,
) -> Result<(), SettingsError> {
    let Some(name) = secret_env else {
        return Ok(());
    };
    if secret.is_some() {
        return Err(SettingsError::new(
            file,
            "secret_env",
            "both secret and secret_env are set",
            "keep one of them",
        ));
    }
    *secret = Some(Secret::from_env(name));
    Ok(())
}

/// URLs a provider's plugin must be allowed to call, with their keys.
pub(crate) fn outbound_urls<'a>(
    url: &'a str,
    auth: Option<&'a ProviderAuth>,
) -> Vec<(&'static str, &'a str)> {
    let mut v = vec![("url", url)];
    if let Some(ProviderAuth::Oauth2 { token_url, .. }) = auth {
        v.push(("auth.token_url", token_url.as_str()));
    }
    v
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
pub(crate) mod tests {
    use std::path::PathBuf;

    use crate::Settings;

    /// A config folder with `sigil.toml` (`main` after `[server]`) and
    /// `files` (path relative to it, text).
    pub(crate) fn setup(main: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sigil.toml");
        std::fs::write(
            &p,
            format!("[server]\npublic_url = \"http://127.0.0.1:8099\"\n{main}"),
        )
        .unwrap();
        for (rel, text) in files {
            let f = dir.path().join(rel);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, text).unwrap();
        }
        (dir, p)
    }

    const GRANT: &str = "[plugins.grants.claims-attribute-provider]\nallowed_hosts = [\"https://crm.example.com\"]\nlimits = { timeout_ms = 5000 }\n";

    #[test]
    fn provider_outside_the_grant_names_file_key_and_setting() {
        let (_d, p) = setup(
            GRANT,
            &[(
                "attribute-providers/crm.toml",
                "id = \"crm\"\nurl = \"https://evil.example.com/claims\"\n",
            )],
        );
        let e = Settings::load_with_env(&p, []).unwrap_err();
        assert!(e.file.ends_with("attribute-providers/crm.toml"), "{e}");
        assert_eq!(e.key, "url");
        assert!(e.problem.contains("https://evil.example.com"), "{e}");
        assert!(
            e.fix
                .contains("plugins.grants.claims-attribute-provider.allowed_hosts"),
            "{e}"
        );
        // The OAuth2 token endpoint is checked too.
        let (_d, p) = setup(
            GRANT,
            &[(
                "attribute-providers/crm.toml",
                "id = \"crm\"\nurl = \"https://crm.example.com/claims\"\n[auth]\ntype = \"oauth2\"\ntoken_url = \"https://idp.example.com/token\"\nclient_id = \"c\"\nclient_secret = \"s\"\n",
            )],
        );
        let e = Settings::load_with_env(&p, []).unwrap_err();
        assert_eq!(e.key, "auth.token_url", "{e}");
    }

    #[test]
    fn secrets_come_from_env_and_files_and_never_print() {
        let files = [
            (
                "attribute-providers/crm.toml",
                "id = \"crm\"\nurl = \"https://crm.example.com/claims\"\n[auth]\ntype = \"bearer\"\ntoken = { env = \"CRM_TOKEN\" }\n",
            ),
            (
                "webhook-endpoints/hr.toml",
                "id = \"hr\"\nurl = \"https://crm.example.com/hook\"\nsecret_env = \"HR_SECRET\"\n",
            ),
            (
                "webhook-endpoints/ops.toml",
                "id = \"ops\"\nurl = \"https://crm.example.com/ops\"\nsecret = { file = \"ops.secret\" }\n",
            ),
            ("ops.secret", "from-a-file\n"),
        ];
        let grants = format!(
            "{GRANT}[plugins.grants.claims-webhook]\nallowed_hosts = [\"https://crm.example.com\"]\nlimits = {{ timeout_ms = 5000 }}\n"
        );
        let (_d, p) = setup(&grants, &files);
        let e = Settings::load_with_env(&p, []).unwrap_err();
        assert_eq!(e.key, "auth.token", "{e}");
        assert!(e.problem.contains("CRM_TOKEN"), "{e}");
        let env = [
            ("CRM_TOKEN".to_owned(), "tok-1".to_owned()),
            ("HR_SECRET".to_owned(), "hr-1".to_owned()),
        ];
        let s = Settings::load_with_env(&p, env).unwrap();
        let crm = &s.attribute_providers["crm"];
        assert_eq!(crm.to_source()["auth"]["token"], "tok-1");
        assert_eq!(s.webhook_endpoints["hr"].to_source()["hmacSecret"], "hr-1");
        assert_eq!(
            s.webhook_endpoints["ops"].to_source()["hmacSecret"],
            "from-a-file"
        );
        let printed = format!("{s:?}");
        assert!(
            !printed.contains("tok-1")
                && !printed.contains("hr-1")
                && !printed.contains("from-a-file"),
            "secrets leak into Debug"
        );
        assert_eq!(crm.timeout_ms, 3_000, "3 s default");
    }

    #[test]
    fn timeout_beyond_the_plugin_deadline_and_unknown_references_fail() {
        let (_d, p) = setup(
            GRANT,
            &[(
                "attribute-providers/crm.toml",
                "id = \"crm\"\nurl = \"https://crm.example.com/claims\"\ntimeout_ms = 9000\n",
            )],
        );
        let e = Settings::load_with_env(&p, []).unwrap_err();
        assert_eq!(e.key, "timeout_ms", "{e}");
        assert!(e.fix.contains("limits.timeout_ms"), "{e}");
        let (_d, p) = setup(
            "",
            &[(
                "credential-configurations/b.toml",
                "id = \"b\"\nformat = \"dc+sd-jwt\"\nvct = \"https://x\"\nattributeProviderId = \"nope\"\n",
            )],
        );
        let e = Settings::load_with_env(&p, []).unwrap_err();
        assert_eq!(e.key, "attribute_provider", "{e}");
        let (_d, p) = setup(
            "",
            &[(
                "credential-configurations/b.toml",
                "id = \"b\"\nformat = \"dc+sd-jwt\"\nvct = \"https://x\"\n[source]\ntype = \"static\"\nclaims = { id = \"<uid>\" }\n",
            )],
        );
        let e = Settings::load_with_env(&p, []).unwrap_err();
        assert_eq!(e.key, "source.claims", "{e}");
        assert!(e.problem.contains("<uid>"), "{e}");
    }
}

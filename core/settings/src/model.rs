use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use sigil_plugin_host::{Limits, OriginPattern, PluginPolicy};

use crate::resources::{CredentialConfiguration, Display, Profile, load_dir};

use crate::SettingsError;

/// Environment variable prefix for overrides: `SIGIL__SERVER__PORT=8099`.
pub const ENV_PREFIX: &str = "SIGIL";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// HTTP server.
    pub server: ServerSettings,
    /// Database.
    #[serde(default)]
    pub database: DatabaseSettings,
    /// Plugins.
    #[serde(default)]
    pub plugins: PluginSettings,
    /// Issuer keys.
    #[serde(default)]
    pub keys: KeySettings,
    /// Tenants besides the default one, `[tenants.<id>]`; `[tenants.default]`
    /// customises the default tenant.
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantSettings>,
    /// Offer and token policy.
    #[serde(default)]
    pub issuance: IssuanceSettings,
    /// Resource folders.
    #[serde(default)]
    pub resources: ResourceSettings,
    /// The file this was loaded from (not a config key).
    #[serde(skip)]
    pub source: PathBuf,
    /// Credential configurations loaded from `resources.credential_configurations`.
    #[serde(skip)]
    pub credential_configurations: BTreeMap<String, CredentialConfiguration>,
    /// Profiles loaded from `resources.profiles`.
    #[serde(skip)]
    pub profiles: BTreeMap<String, Profile>,
    /// Where each resource came from (for error messages).
    #[serde(skip)]
    pub resource_files: BTreeMap<String, PathBuf>,
}

/// `[tenants.<id>]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Issuer display entries for the metadata.
    #[serde(default)]
    pub display: Vec<Display>,
    /// Configurations this tenant offers (default: all).
    #[serde(default)]
    pub credential_configurations: Option<Vec<String>>,
}

/// `[issuance]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IssuanceSettings {
    /// Access token lifetime in seconds (at most 300: tokens are not sender-constrained).
    pub access_token_seconds: i64,
    /// c_nonce lifetime in seconds.
    pub nonce_seconds: i64,
    /// Wrong transaction codes allowed before the offer is invalidated.
    pub max_tx_code_attempts: u32,
    /// Largest number of proofs (credentials) in one credential request.
    pub batch_size: u32,
    /// Accepted skew of proof `iat`, in seconds.
    pub proof_max_age_seconds: i64,
}

impl Default for IssuanceSettings {
    fn default() -> Self {
        Self {
            access_token_seconds: 300,
            nonce_seconds: 300,
            max_tx_code_attempts: 3,
            batch_size: 10,
            proof_max_age_seconds: 300,
        }
    }
}

/// `[resources]`: folders relative to the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceSettings {
    /// Credential configurations, one file each.
    pub credential_configurations: PathBuf,
    /// Offer profiles, one file each.
    pub profiles: PathBuf,
}

impl Default for ResourceSettings {
    fn default() -> Self {
        Self {
            credential_configurations: "credential-configurations".into(),
            profiles: "profiles".into(),
        }
    }
}

/// The id of the tenant served at the root URL.
pub const DEFAULT_TENANT: &str = "default";

/// Path segments a tenant id cannot take (they are routes).
const RESERVED_TENANT_IDS: &[&str] = &[
    "admin",
    "health",
    "ready",
    "token",
    "credential",
    "nonce",
    "credential-offer",
    ".well-known",
    "metrics",
    "deferred_credential",
    "notification",
];

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind.
    #[serde(default = "default_host")]
    pub host: String,
    /// Port to bind; 0 picks a free one.
    #[serde(default = "default_port")]
    pub port: u16,
    /// The URL wallets use: the default tenant's `credential_issuer`.
    pub public_url: String,
    /// HTTP worker threads (default: one per core).
    #[serde(default)]
    pub workers: Option<usize>,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` or `postgres://...`.
    #[serde(default = "default_database_url")]
    pub url: String,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: default_database_url(),
        }
    }
}

/// `[plugins]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSettings {
    /// Plugin directory (relative to the config file).
    #[serde(default = "default_plugin_dir")]
    pub dir: PathBuf,
    /// How many plugin calls may run at once.
    #[serde(default = "default_concurrency")]
    pub max_concurrent_calls: u32,
    /// Default limits of every call.
    #[serde(default)]
    pub limits: Limits,
    /// Grants per plugin id: `[plugins.grants.<id>]`.
    #[serde(default)]
    pub grants: BTreeMap<String, PluginPolicy>,
}

impl Default for PluginSettings {
    fn default() -> Self {
        Self {
            dir: default_plugin_dir(),
            max_concurrent_calls: default_concurrency(),
            limits: Default::default(),
            grants: BTreeMap::new(),
        }
    }
}

/// `[keys]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    /// Folder of issuer keys (relative to the config file).
    #[serde(default = "default_key_dir")]
    pub dir: PathBuf,
    /// Generate a P-256 key there on first run when none exists (development),
    /// with a demo IACA + document signer X.509 chain.
    #[serde(default = "default_true")]
    pub generate_if_missing: bool,
    /// Credential formats whose credentials carry the issuer key's X.509
    /// chain (`x5c` in a JOSE header, `x5chain` in COSE). Default: only
    /// `mso_mdoc`, which requires it; an SD-JWT VC or JWT VC issued under an
    /// HTTPS URL identifier is verified through `/.well-known/jwt-vc-issuer`,
    /// and an `x5c` whose leaf does not name the issuer would make verifiers
    /// that prefer X.509 reject it.
    #[serde(default = "default_x5c_formats")]
    pub x5c_formats: Vec<String>,
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            dir: default_key_dir(),
            generate_if_missing: true,
            x5c_formats: default_x5c_formats(),
        }
    }
}

fn default_x5c_formats() -> Vec<String> {
    vec!["mso_mdoc".into()]
}

fn default_host() -> String {
    "127.0.0.1".into()
}
fn default_port() -> u16 {
    8099
}
fn default_database_url() -> String {
    "sqlite://data/sigil.db?mode=rwc".into()
}
fn default_plugin_dir() -> PathBuf {
    "../plugins/dist".into()
}
fn default_key_dir() -> PathBuf {
    "keys".into()
}
fn default_concurrency() -> u32 {
    256
}
fn default_true() -> bool {
    true
}

impl Settings {
    /// Load `path`, apply `SIGIL__…` environment overrides, resolve relative
    /// paths against the file's folder and validate.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        Self::load_with_env(path, std::env::vars())
    }

    /// Like [`Settings::load`] with an explicit environment (for tests).
    pub fn load_with_env(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        if !path.is_file() {
            return Err(SettingsError::new(
                path,
                "-",
                "the configuration file does not exist",
                "pass --config with the path of sigil.toml (the example is config/sigil.toml)",
            ));
        }
        let overrides: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}__")))
            .collect();
        let built = config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .add_source(
                config::Environment::with_prefix(ENV_PREFIX)
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(overrides)),
            )
            .build()
            .map_err(|e| from_config_error(path, &e))?;
        let mut settings: Settings = built
            .try_deserialize()
            .map_err(|e| from_config_error(path, &e))?;
        settings.source = path.to_owned();
        let base = path.parent().unwrap_or(Path::new("."));
        settings.plugins.dir = base.join(&settings.plugins.dir);
        settings.keys.dir = base.join(&settings.keys.dir);
        settings.database.url = resolve_sqlite_path(base, &settings.database.url);
        settings.resources.credential_configurations =
            base.join(&settings.resources.credential_configurations);
        settings.resources.profiles = base.join(&settings.resources.profiles);
        for (id, (c, file)) in load_dir(
            &settings.resources.credential_configurations,
            |c: &CredentialConfiguration| &c.id,
        )? {
            settings
                .resource_files
                .insert(format!("credential-configuration:{id}"), file);
            settings.credential_configurations.insert(id, c);
        }
        for (id, (p, file)) in load_dir(&settings.resources.profiles, |p: &Profile| &p.id)? {
            settings
                .resource_files
                .insert(format!("profile:{id}"), file);
            settings.profiles.insert(id, p);
        }
        settings.validate()?;
        Ok(settings)
    }

    fn err(&self, key: &str, problem: impl Into<String>, fix: impl Into<String>) -> SettingsError {
        SettingsError::new(&self.source, key, problem, fix)
    }

    /// Semantic checks beyond types.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let url = url::Url::parse(&self.server.public_url).map_err(|e| {
            self.err(
                "server.public_url",
                format!("'{}' is not a URL ({e})", self.server.public_url),
                "set it to the URL wallets reach this server at, e.g. https://issuer.example.com",
            )
        })?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(self.err(
                "server.public_url",
                format!("scheme '{}' is not http or https", url.scheme()),
                "use an https:// URL (http:// only for local development)",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(self.err(
                "server.public_url",
                "a credential issuer identifier has no query or fragment",
                "remove everything after '?' or '#'",
            ));
        }
        let db = &self.database.url;
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            return Err(self.err(
                "database.url",
                format!("unsupported database URL '{}'", redact_url(db)),
                "use sqlite://path/to/file.db?mode=rwc or postgres://user@host/db",
            ));
        }
        if self.plugins.max_concurrent_calls == 0 {
            return Err(self.err(
                "plugins.max_concurrent_calls",
                "must be at least 1",
                "set it to the number of plugin calls that may run at once (default 256)",
            ));
        }
        check_limits(self, "plugins.limits", &self.plugins.limits)?;
        self.validate_resources()?;
        for (id, grant) in &self.plugins.grants {
            if let Some(limits) = &grant.limits {
                check_limits(self, &format!("plugins.grants.{id}.limits"), limits)?;
            }
            for (i, origin) in grant.allowed_hosts.iter().enumerate() {
                OriginPattern::parse(origin).map(|_| ()).map_err(|problem| {
                    self.err(
                        &format!("plugins.grants.{id}.allowed_hosts[{i}]"),
                        problem,
                        "write an origin: scheme://host[:port], e.g. https://api.example.com, https://*.example.com or http://127.0.0.1:*",
                    )
                })?;
            }
        }
        Ok(())
    }
}

impl Settings {
    fn resource_err(
        &self,
        kind: &str,
        id: &str,
        key: &str,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> SettingsError {
        let file = self
            .resource_files
            .get(&format!("{kind}:{id}"))
            .cloned()
            .unwrap_or_else(|| self.source.clone());
        SettingsError::new(file, key, problem, fix)
    }

    fn validate_resources(&self) -> Result<(), SettingsError> {
        let known = |id: &str| self.credential_configurations.contains_key(id);
        let list = || {
            self.credential_configurations
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        };
        for c in self.credential_configurations.values() {
            if c.format_plugin_id().is_none() {
                return Err(self.resource_err(
                    "credential-configuration",
                    &c.id,
                    "format_plugin",
                    format!("no built-in plugin issues format '{}'", c.format),
                    "set format_plugin to the id of a credential-format plugin",
                ));
            }
            if c.format == "dc+sd-jwt" && c.vct.is_none() {
                return Err(self.resource_err(
                    "credential-configuration",
                    &c.id,
                    "vct",
                    "a dc+sd-jwt configuration needs a vct",
                    "add vct = \"https://.../your-type\"",
                ));
            }
            if c.format == "mso_mdoc" && c.doctype.is_none() {
                return Err(self.resource_err(
                    "credential-configuration",
                    &c.id,
                    "doctype",
                    "an mso_mdoc configuration needs a doctype",
                    "add doctype = \"org.iso.18013.5.1.mDL\" (or your document type)",
                ));
            }
            let vc_types = c
                .credential_definition
                .as_ref()
                .and_then(|d| d.get("type"))
                .and_then(Value::as_array)
                .filter(|t| !t.is_empty());
            if c.format == "jwt_vc_json" && vc_types.is_none() {
                return Err(self.resource_err(
                    "credential-configuration",
                    &c.id,
                    "credential_definition.type",
                    "a jwt_vc_json configuration needs credential_definition.type",
                    "add [credential_definition] type = [\"VerifiableCredential\", \"YourType\"]",
                ));
            }
            if c.validity_seconds == Some(0) {
                return Err(self.resource_err(
                    "credential-configuration",
                    &c.id,
                    "validity_seconds",
                    "0 makes every credential expire at once",
                    "remove it (no expiry) or give a positive number of seconds",
                ));
            }
        }
        for p in self.profiles.values() {
            if p.credential_configuration_ids.is_empty() {
                return Err(self.resource_err(
                    "profile",
                    &p.id,
                    "credential_configuration_ids",
                    "is empty",
                    "list at least one credential configuration id",
                ));
            }
            for (i, id) in p.credential_configuration_ids.iter().enumerate() {
                if !known(id) {
                    return Err(self.resource_err(
                        "profile",
                        &p.id,
                        &format!("credential_configuration_ids[{i}]"),
                        format!("unknown credential configuration '{id}'"),
                        format!("use one of: {}", list()),
                    ));
                }
            }
        }
        for (tenant, t) in &self.tenants {
            let id_ok = !tenant.is_empty()
                && tenant
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
                && !RESERVED_TENANT_IDS.contains(&tenant.as_str());
            if !id_ok {
                return Err(self.err(&format!("tenants.{tenant}"), "a tenant id must be a lowercase URL path segment that is not a Sigil route",
                    "use letters a-z, digits, '-' or '_' (not admin, token, credential, nonce, ...)"));
            }
            for (i, id) in t.credential_configurations.iter().flatten().enumerate() {
                if !known(id) {
                    return Err(self.err(
                        &format!("tenants.{tenant}.credential_configurations[{i}]"),
                        format!("unknown credential configuration '{id}'"),
                        format!("use one of: {}", list()),
                    ));
                }
            }
        }
        let at = self.issuance.access_token_seconds;
        if !(1..=300).contains(&at) {
            return Err(self.err("issuance.access_token_seconds", format!("{at} is out of range"),
                "use 1 to 300: access tokens are bearer tokens and must be short-lived (OID4VCI §13.10)"));
        }
        if self.issuance.batch_size == 0 {
            return Err(self.err("issuance.batch_size", "must be at least 1", "use e.g. 10"));
        }
        if self.issuance.max_tx_code_attempts == 0 {
            return Err(self.err(
                "issuance.max_tx_code_attempts",
                "must be at least 1",
                "use e.g. 3",
            ));
        }
        Ok(())
    }

    /// Ids of the tenants served: `default` plus every `[tenants.<id>]`.
    pub fn tenant_ids(&self) -> Vec<String> {
        let mut ids = vec![DEFAULT_TENANT.to_owned()];
        ids.extend(
            self.tenants
                .keys()
                .filter(|t| *t != DEFAULT_TENANT)
                .cloned(),
        );
        ids
    }

    /// The credential configurations a tenant offers.
    pub fn tenant_configurations(&self, tenant: &str) -> Vec<&CredentialConfiguration> {
        match self
            .tenants
            .get(tenant)
            .and_then(|t| t.credential_configurations.as_ref())
        {
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.credential_configurations.get(id))
                .collect(),
            None => self.credential_configurations.values().collect(),
        }
    }
}

fn check_limits(s: &Settings, key: &str, l: &Limits) -> Result<(), SettingsError> {
    if l.timeout_ms == 0 || l.timeout_ms > 60_000 {
        return Err(s.err(
            &format!("{key}.timeout_ms"),
            format!("{} is out of range", l.timeout_ms),
            "use 1 to 60000 milliseconds",
        ));
    }
    if l.max_memory_bytes < (1 << 20) || l.max_memory_bytes > (1 << 30) {
        return Err(s.err(
            &format!("{key}.max_memory_bytes"),
            format!("{} is out of range", l.max_memory_bytes),
            "use 1048576 (1 MiB) to 1073741824 (1 GiB)",
        ));
    }
    if l.fuel == 0 {
        return Err(s.err(
            &format!("{key}.fuel"),
            "0 allows no work at all",
            "use e.g. 50000000",
        ));
    }
    Ok(())
}

fn resolve_sqlite_path(base: &Path, url: &str) -> String {
    match url.strip_prefix("sqlite://") {
        Some(rest) if !rest.starts_with('/') && !rest.starts_with(':') => {
            format!("sqlite://{}", base.join(rest).display())
        }
        _ => url.to_owned(),
    }
}

fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

fn from_config_error(path: &Path, e: &config::ConfigError) -> SettingsError {
    let text = e.to_string();
    // The config crate says "... for key `server.port` in <file>"; pull the key out.
    let key = text
        .split("key `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or("-")
        .to_owned();
    let fix = if text.contains("unknown field") {
        "remove or correct the key; see config/sigil.toml in the Sigil repository for every supported key"
    } else if text.contains("missing field") {
        "add the key (see config/sigil.toml for an example)"
    } else if text.contains("invalid type") || text.contains("invalid value") {
        "give the key a value of the type shown"
    } else {
        "check the TOML syntax at the position shown"
    };
    SettingsError::new(path, key, text, fix)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("sigil.toml");
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn minimal_file_gets_defaults_and_relative_paths() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = write(
            dir.path(),
            "[server]\npublic_url = \"http://127.0.0.1:8099\"\n",
        );
        let s = Settings::load_with_env(&p, []).expect("load");
        assert_eq!(s.server.port, 8099);
        assert_eq!(s.plugins.dir, dir.path().join("../plugins/dist"));
        assert!(s.database.url.contains(&dir.path().display().to_string()));
    }

    #[test]
    fn env_overrides_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = write(
            dir.path(),
            "[server]\npublic_url = \"http://127.0.0.1:8099\"\n",
        );
        let env = [
            ("SIGIL__SERVER__PORT".to_string(), "9001".to_string()),
            (
                "SIGIL__SERVER__PUBLIC_URL".to_string(),
                "http://127.0.0.1:9001".to_string(),
            ),
        ];
        let s = Settings::load_with_env(&p, env).expect("load");
        assert_eq!(s.server.port, 9001);
        assert_eq!(s.server.public_url, "http://127.0.0.1:9001");
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = write(
            dir.path(),
            "[server]\npublic_url = \"http://x\"\nprot = 1\n",
        );
        let e = Settings::load_with_env(&p, []).expect_err("must fail");
        let msg = e.to_string();
        assert!(msg.contains("sigil.toml"), "{msg}");
        assert!(msg.contains("prot"), "{msg}");
        assert!(msg.contains("Fix:"), "{msg}");
    }

    #[test]
    fn bad_public_url_and_grant_origin_are_named() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = write(dir.path(), "[server]\npublic_url = \"not a url\"\n");
        let e = Settings::load_with_env(&p, []).expect_err("must fail");
        assert_eq!(e.key, "server.public_url");
        let p = write(
            dir.path(),
            "[server]\npublic_url = \"http://x\"\n[plugins.grants.crm]\nallowed_hosts = [\"crm.example.com\"]\n",
        );
        let e = Settings::load_with_env(&p, []).expect_err("must fail");
        assert_eq!(e.key, "plugins.grants.crm.allowed_hosts[0]");
    }

    #[test]
    fn wrong_type_names_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = write(
            dir.path(),
            "[server]\npublic_url = \"http://x\"\nport = \"eighty\"\n",
        );
        let e = Settings::load_with_env(&p, []).expect_err("must fail");
        assert_eq!(e.key, "server.port", "{e}");
    }

    #[test]
    fn missing_file_says_how_to_fix() {
        let e =
            Settings::load_with_env(Path::new("/nonexistent/sigil.toml"), []).expect_err("fail");
        assert!(e.fix.contains("--config"));
    }
}

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sigil_plugin_host::{Limits, OriginPattern, PluginPolicy};

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
    /// The file this was loaded from (not a config key).
    #[serde(skip)]
    pub source: PathBuf,
}

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
    /// Generate a P-256 key there on first run when none exists (development).
    #[serde(default = "default_true")]
    pub generate_if_missing: bool,
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            dir: default_key_dir(),
            generate_if_missing: true,
        }
    }
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
        if !(db.starts_with("sqlite:") || db.starts_with("postgres://") || db.starts_with("postgresql://")) {
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

fn check_limits(s: &Settings, key: &str, l: &Limits) -> Result<(), SettingsError> {
    if l.timeout_ms == 0 || l.timeout_ms > 60_000 {
        return Err(s.err(&format!("{key}.timeout_ms"), format!("{} is out of range", l.timeout_ms), "use 1 to 60000 milliseconds"));
    }
    if l.max_memory_bytes < (1 << 20) || l.max_memory_bytes > (1 << 30) {
        return Err(s.err(&format!("{key}.max_memory_bytes"), format!("{} is out of range", l.max_memory_bytes), "use 1048576 (1 MiB) to 1073741824 (1 GiB)"));
    }
    if l.fuel == 0 {
        return Err(s.err(&format!("{key}.fuel"), "0 allows no work at all", "use e.g. 50000000"));
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
        let p = write(dir.path(), "[server]\npublic_url = \"http://127.0.0.1:8099\"\n");
        let s = Settings::load_with_env(&p, []).expect("load");
        assert_eq!(s.server.port, 8099);
        assert_eq!(s.plugins.dir, dir.path().join("../plugins/dist"));
        assert!(s.database.url.contains(&dir.path().display().to_string()));
    }

    #[test]
    fn env_overrides_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = write(dir.path(), "[server]\npublic_url = \"http://127.0.0.1:8099\"\n");
        let env = [
            ("SIGIL__SERVER__PORT".to_string(), "9001".to_string()),
            ("SIGIL__SERVER__PUBLIC_URL".to_string(), "http://127.0.0.1:9001".to_string()),
        ];
        let s = Settings::load_with_env(&p, env).expect("load");
        assert_eq!(s.server.port, 9001);
        assert_eq!(s.server.public_url, "http://127.0.0.1:9001");
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = write(dir.path(), "[server]\npublic_url = \"http://x\"\nprot = 1\n");
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
        let p = write(dir.path(), "[server]\npublic_url = \"http://x\"\nport = \"eighty\"\n");
        let e = Settings::load_with_env(&p, []).expect_err("must fail");
        assert_eq!(e.key, "server.port", "{e}");
    }

    #[test]
    fn missing_file_says_how_to_fix() {
        let e = Settings::load_with_env(Path::new("/nonexistent/sigil.toml"), []).expect_err("fail");
        assert!(e.fix.contains("--config"));
    }
}

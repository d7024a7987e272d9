use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use sigil_origin::OriginPattern;

use crate::admin_keys::KeyDigest;
use crate::authorization::{
    AuthorizationServerSettings, AuthorizationSettings, LoginSettings, TokenVerification,
    VERIFIED_ALGORITHMS, issuer_url_allowed,
};
use crate::datafn;
use crate::events::{EventDeliverySettings, EventEndpoint, EventSettings};
use crate::plugins::{PluginGrant, PluginLimits};
use crate::providers::{
    AttributeProvider, ClaimsSettings, INLINE_PLUGIN, ProviderAuth, STATIC_PLUGIN, Secret,
    WEBHOOK_PLUGIN, WebhookEndpoint, outbound_urls, resolve_secrets,
};
use crate::resources::{ClaimSource, CredentialConfiguration, Display, Profile, load_dir};

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
    /// `[status_lists]`: Token Status Lists of issued credentials.
    #[serde(default)]
    pub status_lists: StatusListSettings,
    /// `[deferred]`: deferred issuance (OID4VCI §9).
    #[serde(default)]
    pub deferred: DeferredSettings,
    /// `[authorization]`: Sigil's own authorization server (code flow).
    #[serde(default)]
    pub authorization: AuthorizationSettings,
    /// `[authorization_servers.<id>]`: external authorization servers whose
    /// access tokens the tenants that list them accept.
    #[serde(default)]
    pub authorization_servers: BTreeMap<String, AuthorizationServerSettings>,
    /// `[events]`: what events carry.
    #[serde(default)]
    pub events: EventSettings,
    /// `[event_delivery]`: how events are posted to event endpoints.
    #[serde(default)]
    pub event_delivery: EventDeliverySettings,
    /// Resource folders.
    #[serde(default)]
    pub resources: ResourceSettings,
    /// Claim sources: defaults for webhooks given inline on offers.
    #[serde(default)]
    pub claims: ClaimsSettings,
    /// `[offer_push]`: the wallets offers may be pushed to.
    #[serde(default)]
    pub offer_push: crate::offer_push::OfferPushSettings,
    /// `[metrics]`: the Prometheus endpoint.
    #[serde(default)]
    pub metrics: crate::operations::MetricsSettings,
    /// `[telemetry]`: logs and traces.
    #[serde(default)]
    pub telemetry: crate::operations::TelemetrySettings,
    /// The file this was loaded from (not a config key).
    #[serde(skip)]
    pub source: PathBuf,
    /// Credential configurations loaded from `resources.credential_configurations`.
    #[serde(skip)]
    pub credential_configurations: BTreeMap<String, CredentialConfiguration>,
    /// Profiles loaded from `resources.profiles`.
    #[serde(skip)]
    pub profiles: BTreeMap<String, Profile>,
    /// Attribute providers loaded from `resources.attribute_providers`.
    #[serde(skip)]
    pub attribute_providers: BTreeMap<String, AttributeProvider>,
    /// Webhook endpoints loaded from `resources.webhook_endpoints`.
    #[serde(skip)]
    pub webhook_endpoints: BTreeMap<String, WebhookEndpoint>,
    /// Event endpoints loaded from `resources.event_endpoints`.
    #[serde(skip)]
    pub event_endpoints: BTreeMap<String, EventEndpoint>,
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
    /// The issuer identifier credentials carry in `iss`: `https` (the
    /// credential issuer URL, keys at `/.well-known/jwt-vc-issuer`; default),
    /// `did:web` (the URL as did:web, document at `did.json`), `did:jwk` or
    /// `did:key` (of the active key). The OID4VCI `credential_issuer` stays
    /// the HTTPS URL.
    #[serde(default = "default_identifier")]
    pub identifier: String,
    /// Admin keys scoped to this tenant (`{ env = "NAME" }`, `{ file =
    /// "path" }` or `"sha256:<hex>"`); see [`crate::admin_keys`].
    #[serde(default)]
    pub admin_keys: Vec<Secret>,
    /// The digests of `admin_keys`, once loaded (not a config key).
    #[serde(skip)]
    pub admin_key_digests: Vec<KeyDigest>,
    /// The longest lifetime an offer may ask for with `expiresInSeconds`,
    /// in seconds (default [`DEFAULT_MAX_OFFER_SECONDS`]).
    #[serde(default)]
    pub max_offer_lifetime_seconds: Option<i64>,
    /// Whether offers may ask never to expire (`expiresInSeconds: -1`;
    /// default true).
    #[serde(default)]
    pub allow_non_expiring_offers: Option<bool>,
    /// Wallet redirect URIs accepted in the authorization code flow
    /// (patterns: see [`crate::redirect_uri_allowed`]); empty: none.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// The OpenID provider people log in at in the authorization code flow.
    #[serde(default)]
    pub login: Option<LoginSettings>,
    /// Ids of the external authorization servers (`[authorization_servers.<id>]`)
    /// whose access tokens this tenant accepts besides Sigil's own; empty: none.
    #[serde(default)]
    pub authorization_servers: Vec<String>,
}

/// The default longest offer lifetime: 30 days.
pub const DEFAULT_MAX_OFFER_SECONDS: i64 = 30 * 86_400;

/// The largest `max_offer_lifetime_seconds` a tenant may set: 10 years.
pub const MAX_OFFER_SECONDS_LIMIT: i64 = 10 * 365 * 86_400;

/// How long a tenant's offers may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferLifetime {
    /// The longest lifetime in seconds an offer may ask for.
    pub max_seconds: i64,
    /// Whether an offer may never expire.
    pub non_expiring: bool,
}

/// Issuer identifier kinds `[tenants.<id>] identifier` accepts.
pub const IDENTIFIERS: &[&str] = &["https", "did:web", "did:jwk", "did:key"];

fn default_identifier() -> String {
    "https".into()
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
    /// Oldest accepted proof `iat`, in seconds before now.
    pub proof_max_age_seconds: i64,
    /// Accept a proof `aud` that differs from the credential issuer
    /// identifier by one trailing `/` (added or removed), as some wallet
    /// libraries send it (ADR 0015). Default `true`; `false` accepts the
    /// identifier only exactly.
    pub proof_aud_trailing_slash: bool,
}

impl Default for IssuanceSettings {
    fn default() -> Self {
        Self {
            access_token_seconds: 300,
            nonce_seconds: 300,
            max_tx_code_attempts: 3,
            batch_size: 10,
            proof_max_age_seconds: 300,
            proof_aud_trailing_slash: true,
        }
    }
}

/// `[status_lists]`: the Token Status Lists (IETF OAuth Status List) each
/// tenant keeps for the credentials it issues.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusListSettings {
    /// Whether credentials get a status list entry, unless their
    /// configuration (`status_list`) or offer (`runtimeOverrides.statusList`)
    /// says otherwise. Default `true`.
    pub enabled: bool,
    /// Entries per list (1,024 to 16,777,216). Default 131,072: a large
    /// list hides which credential a verifier asks about (herd privacy).
    pub size: u64,
    /// Bits per entry: 1 (valid, revoked) or 2 (also suspended). Default 2.
    pub bits: u8,
    /// `ttl` of a status list token: how long a verifier may cache it, in
    /// seconds. Default 300.
    pub ttl_seconds: u64,
    /// Lifetime (`exp` − `iat`) of a status list token, in seconds; it is
    /// re-signed before it expires. Default 86,400.
    pub token_seconds: u64,
}

impl Default for StatusListSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            size: 131_072,
            bits: 2,
            ttl_seconds: 300,
            token_seconds: 86_400,
        }
    }
}

/// `[deferred]`: deferred issuance (OID4VCI §9).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeferredSettings {
    /// Seconds a wallet is told to wait between polls (`interval`) when the
    /// operator completes the issuance (`issuanceMode: deferred`). Default 5.
    pub interval_seconds: u32,
    /// Seconds a transaction id stays valid. Default 604,800 (7 days).
    pub transaction_seconds: i64,
}

impl Default for DeferredSettings {
    fn default() -> Self {
        Self {
            interval_seconds: 5,
            transaction_seconds: 604_800,
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
    /// Attribute providers, one file each.
    pub attribute_providers: PathBuf,
    /// Webhook endpoints (claim sources), one file each.
    pub webhook_endpoints: PathBuf,
    /// Event endpoints (where events are posted), one file each.
    pub event_endpoints: PathBuf,
}

impl Default for ResourceSettings {
    fn default() -> Self {
        Self {
            credential_configurations: "credential-configurations".into(),
            profiles: "profiles".into(),
            attribute_providers: "attribute-providers".into(),
            webhook_endpoints: "webhook-endpoints".into(),
            event_endpoints: "event-endpoints".into(),
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
    "par",
    "authorize",
    "login",
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
    /// On SIGTERM or SIGINT, how long requests in flight may take to finish
    /// before the server stops anyway (default 30).
    #[serde(default = "default_shutdown_grace_seconds")]
    pub shutdown_grace_seconds: u64,
    /// On SIGTERM, how long the server keeps serving with `/ready` at 503
    /// (and `Connection: close` on every answer) before it stops accepting,
    /// so a load balancer polling `/ready` takes it out first (default 5000;
    /// SIGINT skips it).
    #[serde(default = "default_shutdown_drain_ms")]
    pub shutdown_drain_ms: u64,
}

fn default_shutdown_drain_ms() -> u64 {
    5_000
}

fn default_shutdown_grace_seconds() -> u64 {
    30
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` or `postgres://...`.
    #[serde(default = "default_database_url")]
    pub url: String,
    /// PostgreSQL: connections in this instance's pool (default 32). A
    /// connection is held only for one statement or one transaction, never
    /// across a plugin call or signing. SQLite keeps its own: one writer
    /// thread and 4 readers.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before it fails
    /// (default 5000 ms).
    #[serde(default = "default_acquire_timeout_ms")]
    pub acquire_timeout_ms: u64,
    /// PostgreSQL: the server cancels a statement that runs longer
    /// (`statement_timeout`, default 30000 ms; 0 for none).
    #[serde(default = "default_statement_timeout_ms")]
    pub statement_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: default_database_url(),
            max_connections: default_max_connections(),
            acquire_timeout_ms: default_acquire_timeout_ms(),
            statement_timeout_ms: default_statement_timeout_ms(),
        }
    }
}

fn default_max_connections() -> u32 {
    32
}

fn default_acquire_timeout_ms() -> u64 {
    5000
}

fn default_statement_timeout_ms() -> u64 {
    30_000
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
    pub limits: PluginLimits,
    /// Grants per plugin id: `[plugins.grants.<id>]`.
    #[serde(default)]
    pub grants: BTreeMap<String, PluginGrant>,
    /// Watch the plugin directory and swap in new or changed components
    /// (default `true`); `SIGHUP` and `POST /admin/v1/plugins/reload` reload
    /// either way.
    #[serde(default = "default_true")]
    pub watch: bool,
    /// How often the plugin directory is checked for changes, in milliseconds.
    #[serde(default = "default_watch_interval_ms")]
    pub watch_interval_ms: u64,
    /// Where compiled plugins are kept between starts and reloads
    /// (relative to the config file; default `plugin-cache`). A component
    /// is compiled to machine code once per version: an interpreter-based
    /// plugin (Python, JavaScript) takes seconds. Empty: no cache. Only
    /// Sigil may write there: what it holds is run as native code.
    #[serde(default = "default_compile_cache")]
    pub compile_cache: PathBuf,
}

fn default_compile_cache() -> PathBuf {
    "plugin-cache".into()
}

fn default_watch_interval_ms() -> u64 {
    1000
}

impl Default for PluginSettings {
    fn default() -> Self {
        Self {
            dir: default_plugin_dir(),
            max_concurrent_calls: default_concurrency(),
            limits: Default::default(),
            grants: BTreeMap::new(),
            watch: true,
            watch_interval_ms: default_watch_interval_ms(),
            compile_cache: default_compile_cache(),
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
    /// Algorithm of generated keys: `ES256` (P-256, default), `ES384`
    /// (P-384) or `EdDSA` (Ed25519).
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
}

/// Key algorithms `[keys] algorithm` accepts.
pub const KEY_ALGORITHMS: &[&str] = &["ES256", "ES384", "EdDSA"];

fn default_algorithm() -> String {
    "ES256".into()
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            dir: default_key_dir(),
            generate_if_missing: true,
            x5c_formats: default_x5c_formats(),
            algorithm: default_algorithm(),
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
        let env: BTreeMap<String, String> = env.into_iter().collect();
        let overrides: config::Map<String, String> = env
            .clone()
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
        if !settings.plugins.compile_cache.as_os_str().is_empty() {
            settings.plugins.compile_cache = base.join(&settings.plugins.compile_cache);
        }
        settings.keys.dir = base.join(&settings.keys.dir);
        settings.database.url = resolve_sqlite_path(base, &settings.database.url);
        settings.resources.credential_configurations =
            base.join(&settings.resources.credential_configurations);
        settings.resources.profiles = base.join(&settings.resources.profiles);
        settings.resources.attribute_providers = base.join(&settings.resources.attribute_providers);
        settings.resources.webhook_endpoints = base.join(&settings.resources.webhook_endpoints);
        settings.resources.event_endpoints = base.join(&settings.resources.event_endpoints);
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
        for (id, (mut p, file)) in load_dir(
            &settings.resources.attribute_providers,
            |p: &AttributeProvider| &p.id,
        )? {
            resolve_secrets(&file, base, &env, p.auth.as_mut(), Vec::new())?;
            settings
                .resource_files
                .insert(format!("attribute-provider:{id}"), file);
            settings.attribute_providers.insert(id, p);
        }
        for (id, (mut w, file)) in load_dir(
            &settings.resources.webhook_endpoints,
            |w: &WebhookEndpoint| &w.id,
        )? {
            crate::providers::secret_from_env(&file, &mut w.secret, w.secret_env.as_deref())?;
            let extra = match w.secret.as_mut() {
                Some(s) => vec![("secret", s)],
                None => Vec::new(),
            };
            resolve_secrets(&file, base, &env, w.auth.as_mut(), extra)?;
            settings
                .resource_files
                .insert(format!("webhook-endpoint:{id}"), file);
            settings.webhook_endpoints.insert(id, w);
        }
        for (id, (mut e, file)) in
            load_dir(&settings.resources.event_endpoints, |e: &EventEndpoint| {
                &e.id
            })?
        {
            e.resolve(&file, base, &env)?;
            e.validate(&file)?;
            settings
                .resource_files
                .insert(format!("event-endpoint:{id}"), file);
            settings.event_endpoints.insert(id, e);
        }
        settings.metrics.resolve(path, &env)?;
        for (tenant, t) in settings.tenants.iter_mut() {
            let mut digests = Vec::with_capacity(t.admin_keys.len());
            for (i, entry) in t.admin_keys.iter().enumerate() {
                let d =
                    crate::admin_keys::resolve(entry, base, &env).map_err(|(problem, fix)| {
                        SettingsError::new(
                            path,
                            format!("tenants.{tenant}.admin_keys[{i}]"),
                            problem,
                            fix,
                        )
                    })?;
                digests.push(d);
            }
            t.admin_key_digests = digests;
            if let Some(secret) = t.login.as_mut().and_then(|l| l.client_secret.as_mut()) {
                secret.resolve(base, &env).map_err(|(problem, fix)| {
                    SettingsError::new(
                        path,
                        format!("tenants.{tenant}.login.client_secret"),
                        problem,
                        fix,
                    )
                })?;
            }
        }
        for (id, server) in settings.authorization_servers.iter_mut() {
            if let Some(secret) = server.client_secret.as_mut() {
                secret.resolve(base, &env).map_err(|(problem, fix)| {
                    SettingsError::new(
                        path,
                        format!("authorization_servers.{id}.client_secret"),
                        problem,
                        fix,
                    )
                })?;
            }
        }
        if let Some(secret) = settings.claims.inline_webhook_secret.as_mut() {
            secret.resolve(base, &env).map_err(|(problem, fix)| {
                SettingsError::new(path, "claims.inline_webhook_secret", problem, fix)
            })?;
        }
        settings.validate()?;
        Ok(settings)
    }

    fn err(&self, key: &str, problem: impl Into<String>, fix: impl Into<String>) -> SettingsError {
        SettingsError::new(&self.source, key, problem, fix)
    }

    /// `[status_lists]` and `[deferred]`.
    fn validate_lifecycle(&self) -> Result<(), SettingsError> {
        let lists = &self.status_lists;
        if !(1_024..=16_777_216).contains(&lists.size) {
            return Err(self.err(
                "status_lists.size",
                format!("{} entries is out of range", lists.size),
                "give between 1024 and 16777216 entries (default 131072)",
            ));
        }
        if !matches!(lists.bits, 1 | 2) {
            return Err(self.err(
                "status_lists.bits",
                format!("{} bits per entry is not supported", lists.bits),
                "use 2 (valid, revoked, suspended) or 1 (valid, revoked)",
            ));
        }
        if lists.ttl_seconds == 0 || lists.token_seconds < 60 {
            return Err(self.err(
                "status_lists.ttl_seconds",
                "ttl_seconds must be positive and token_seconds at least 60",
                "remove both keys for the defaults (300 and 86400)",
            ));
        }
        let deferred = &self.deferred;
        if deferred.interval_seconds == 0 || deferred.transaction_seconds < 60 {
            return Err(self.err(
                "deferred.interval_seconds",
                "interval_seconds must be positive and transaction_seconds at least 60",
                "remove both keys for the defaults (5 and 604800)",
            ));
        }
        self.event_delivery.validate(&self.source)
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
        self.validate_lifecycle()?;
        self.offer_push.check(&self.source)?;
        self.metrics.check(&self.source)?;
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
        if self.database.max_connections == 0 {
            return Err(self.err(
                "database.max_connections",
                "must be at least 1",
                "set it to the connections this instance may open (default 32)",
            ));
        }
        if self.database.acquire_timeout_ms == 0 {
            return Err(self.err(
                "database.acquire_timeout_ms",
                "must be at least 1",
                "set how long a request may wait for a database connection (default 5000)",
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
        self.validate_claim_sources()?;
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
        if !KEY_ALGORITHMS.contains(&self.keys.algorithm.as_str()) {
            return Err(self.err(
                "keys.algorithm",
                format!("unsupported algorithm '{}'", self.keys.algorithm),
                format!("use one of: {}", KEY_ALGORITHMS.join(", ")),
            ));
        }
        for (tenant, t) in &self.tenants {
            if !IDENTIFIERS.contains(&t.identifier.as_str()) {
                return Err(self.err(
                    &format!("tenants.{tenant}.identifier"),
                    format!("unknown issuer identifier '{}'", t.identifier),
                    format!("use one of: {}", IDENTIFIERS.join(", ")),
                ));
            }
            let id_ok = !tenant.is_empty()
                && tenant
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
                && !RESERVED_TENANT_IDS.contains(&tenant.as_str());
            if !id_ok {
                return Err(self.err(&format!("tenants.{tenant}"), "a tenant id must be a lowercase URL path segment that is not a Sigil route",
                    "use letters a-z, digits, '-' or '_' (not admin, token, credential, nonce, ...)"));
            }
            if let Some(max) = t.max_offer_lifetime_seconds
                && !(60..=MAX_OFFER_SECONDS_LIMIT).contains(&max)
            {
                return Err(self.err(
                    &format!("tenants.{tenant}.max_offer_lifetime_seconds"),
                    format!("{max} is out of range"),
                    format!(
                        "use 60 to {MAX_OFFER_SECONDS_LIMIT} seconds (10 years); the default is {DEFAULT_MAX_OFFER_SECONDS} (30 days)"
                    ),
                ));
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
        self.validate_authorization()?;
        self.validate_authorization_servers()?;
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

    /// Checks of `[authorization]` and each tenant's `redirect_uris` and `login`.
    fn validate_authorization(&self) -> Result<(), SettingsError> {
        let a = &self.authorization;
        let ranges: [(&str, i64, i64, i64, &str); 5] = [
            (
                "request_uri_seconds",
                a.request_uri_seconds,
                10,
                600,
                "RFC 9126 suggests 5 to 600 seconds; the default is 60",
            ),
            (
                "code_seconds",
                a.code_seconds,
                1,
                60,
                "authorization codes live at most 60 seconds (HAIP, FAPI 2.0); the default is 60",
            ),
            (
                "login_seconds",
                a.login_seconds,
                30,
                3_600,
                "give people time to log in; the default is 600",
            ),
            (
                "refresh_token_seconds",
                a.refresh_token_seconds,
                0,
                365 * 86_400,
                "0 issues no refresh tokens; the default is 604800 (7 days)",
            ),
            (
                "dpop_max_age_seconds",
                a.dpop_max_age_seconds,
                10,
                3_600,
                "the default is 300",
            ),
        ];
        for (key, value, min, max, fix) in ranges {
            if !(min..=max).contains(&value) {
                return Err(self.err(
                    &format!("authorization.{key}"),
                    format!("{value} is out of range {min} to {max}"),
                    fix,
                ));
            }
        }
        for (tenant, t) in &self.tenants {
            for (i, p) in t.redirect_uris.iter().enumerate() {
                let base = p.strip_suffix('*').unwrap_or(p);
                let ok = url::Url::parse(base).is_ok_and(|u| {
                    u.fragment().is_none()
                        && (u.scheme() == "https"
                            || u.scheme() == "http"
                                && matches!(
                                    u.host_str(),
                                    Some("127.0.0.1" | "[::1]" | "localhost")
                                )
                            || !matches!(u.scheme(), "http" | "https" | "javascript" | "data"))
                });
                if !ok {
                    return Err(self.err(&format!("tenants.{tenant}.redirect_uris[{i}]"), format!("'{p}' is not an allowed redirect URI pattern"),
                        "use an https URL, an http loopback URL (http://127.0.0.1/..., any port matches) or a private-use scheme (com.example.wallet:/cb), without a fragment; end it with * to allow any rest of the path"));
                }
            }
            if let Some(login) = &t.login {
                let key = |k: &str| format!("tenants.{tenant}.login.{k}");
                if !issuer_url_allowed(&login.issuer) {
                    return Err(self.err(&key("issuer"), format!("'{}' is not an https URL", login.issuer),
                        "set it to the provider's issuer identifier, e.g. https://login.example.com (http only on 127.0.0.1 or localhost)"));
                }
                if login.client_id.trim().is_empty() {
                    return Err(self.err(
                        &key("client_id"),
                        "is empty",
                        "set it to the client id the provider gave Sigil",
                    ));
                }
                if login.id_token_algorithms.is_empty()
                    || login
                        .id_token_algorithms
                        .iter()
                        .any(|a| !VERIFIED_ALGORITHMS.contains(&a.as_str()))
                {
                    return Err(self.err(
                        &key("id_token_algorithms"),
                        format!(
                            "{:?} is not a list of supported algorithms",
                            login.id_token_algorithms
                        ),
                        "use some of RS256, PS256, ES256, ES384, EdDSA",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks of each `[authorization_servers.<id>]` and of the tenants'
    /// `authorization_servers` lists.
    fn validate_authorization_servers(&self) -> Result<(), SettingsError> {
        let ids = || {
            if self.authorization_servers.is_empty() {
                "none is defined".to_owned()
            } else {
                self.authorization_servers
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let mut issuers: BTreeMap<&str, &str> = BTreeMap::new();
        for (id, server) in &self.authorization_servers {
            let key = |k: &str| format!("authorization_servers.{id}.{k}");
            let id_ok = !id.is_empty()
                && id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !id_ok {
                return Err(self.err(
                    &format!("authorization_servers.{id}"),
                    "an authorization server id is what offers name it by (authorizationServer)",
                    "use 1 to 64 letters, digits, '-' or '_', e.g. [authorization_servers.corp]",
                ));
            }
            if !issuer_url_allowed(&server.issuer) {
                return Err(self.err(
                    &key("issuer"),
                    format!("'{}' is not an https URL without query or fragment", server.issuer),
                    "set it to the authorization server's issuer identifier (the iss of its tokens), e.g. https://login.example.com (http only on 127.0.0.1 or localhost)",
                ));
            }
            if let Some(other) = issuers.insert(server.issuer.as_str(), id.as_str()) {
                return Err(self.err(
                    &key("issuer"),
                    format!("'{}' is also the issuer of authorization_servers.{other}", server.issuer),
                    "define each authorization server once and list its id in the tenants that accept it",
                ));
            }
            if let Some(aud) = &server.audience
                && (aud.is_empty() || aud.chars().any(char::is_whitespace))
            {
                return Err(self.err(
                    &key("audience"),
                    format!("'{aud}' is not an audience"),
                    "give the aud its access tokens carry for Sigil (a URI without spaces), or remove it to use the tenant's credential issuer URL",
                ));
            }
            if server.algorithms.is_empty()
                || server
                    .algorithms
                    .iter()
                    .any(|a| !VERIFIED_ALGORITHMS.contains(&a.as_str()))
            {
                return Err(self.err(
                    &key("algorithms"),
                    format!(
                        "{:?} is not a list of supported algorithms",
                        server.algorithms
                    ),
                    format!("use some of {}", VERIFIED_ALGORITHMS.join(", ")),
                ));
            }
            match server.verification {
                TokenVerification::Introspection => {
                    if server
                        .client_id
                        .as_deref()
                        .is_none_or(|c| c.trim().is_empty())
                    {
                        return Err(self.err(
                            &key("client_id"),
                            "is missing: token introspection (RFC 7662) needs a client of the authorization server",
                            "set client_id (and client_secret) to the client Sigil has at the authorization server",
                        ));
                    }
                    if server.client_secret.is_none() {
                        return Err(self.err(
                            &key("client_secret"),
                            "is missing: Sigil authenticates to the introspection endpoint with HTTP Basic",
                            "set client_secret = { env = \"NAME\" } or { file = \"path\" }",
                        ));
                    }
                }
                TokenVerification::Jwt => {
                    for (k, given) in [
                        ("client_id", server.client_id.is_some()),
                        ("client_secret", server.client_secret.is_some()),
                    ] {
                        if given {
                            return Err(self.err(
                                &key(k),
                                "is only used with verification = \"introspection\"; JWT access tokens are verified with the server's published keys",
                                "remove it, or set verification = \"introspection\"",
                            ));
                        }
                    }
                }
            }
        }
        for (tenant, t) in &self.tenants {
            for (i, id) in t.authorization_servers.iter().enumerate() {
                let key = format!("tenants.{tenant}.authorization_servers[{i}]");
                if !self.authorization_servers.contains_key(id) {
                    return Err(self.err(
                        &key,
                        format!("unknown authorization server '{id}'"),
                        format!("define [authorization_servers.{id}] with its issuer, or use one of: {}", ids()),
                    ));
                }
                if t.authorization_servers[..i].contains(id) {
                    return Err(self.err(
                        &key,
                        format!("'{id}' is listed twice"),
                        "list each authorization server once",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The external authorization servers `tenant` accepts, with their ids,
    /// in the order it lists them (empty: only Sigil's own).
    pub fn tenant_authorization_servers(
        &self,
        tenant: &str,
    ) -> Vec<(&str, &AuthorizationServerSettings)> {
        self.tenants
            .get(tenant)
            .map(|t| t.authorization_servers.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|id| self.authorization_servers.get_key_value(id))
            .map(|(id, s)| (id.as_str(), s))
            .collect()
    }

    /// The offer lifetime rules of `tenant` (defaults when it has no section).
    pub fn offer_lifetime(&self, tenant: &str) -> OfferLifetime {
        let t = self.tenants.get(tenant);
        OfferLifetime {
            max_seconds: t
                .and_then(|t| t.max_offer_lifetime_seconds)
                .unwrap_or(DEFAULT_MAX_OFFER_SECONDS),
            non_expiring: t.and_then(|t| t.allow_non_expiring_offers).unwrap_or(true),
        }
    }

    /// The plugins `tenant` issues with: the format and claim plugins of its
    /// credential configurations and their attribute providers, plus the
    /// plugins every tenant's offers may name (`claims-inline` and the
    /// webhook plugin). A tenant-scoped admin key sees only these.
    pub fn tenant_plugins(&self, tenant: &str) -> std::collections::BTreeSet<String> {
        let mut ids =
            std::collections::BTreeSet::from([INLINE_PLUGIN.to_owned(), WEBHOOK_PLUGIN.to_owned()]);
        for c in self.tenant_configurations(tenant) {
            ids.extend(c.format_plugin_id().map(str::to_owned));
            match &c.source {
                Some(ClaimSource::Static { .. }) => ids.insert(STATIC_PLUGIN.to_owned()),
                Some(ClaimSource::Webhook { .. }) => ids.insert(WEBHOOK_PLUGIN.to_owned()),
                Some(ClaimSource::Plugin { plugin, .. }) => ids.insert(plugin.clone()),
                None => false,
            };
            if let Some(p) = c
                .attribute_provider
                .as_ref()
                .and_then(|id| self.attribute_providers.get(id))
            {
                ids.insert(p.plugin_id().to_owned());
            }
        }
        ids
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

impl Settings {
    /// The limits calls of `plugin` run under.
    pub fn plugin_limits(&self, plugin: &str) -> PluginLimits {
        self.plugins
            .grants
            .get(plugin)
            .and_then(|g| g.limits)
            .unwrap_or(self.plugins.limits)
    }

    /// Whether the operator lets `plugin` call `url`. The error says which
    /// origin is refused and which setting would allow it.
    pub fn check_outbound(&self, plugin: &str, url: &str) -> Result<(), (String, String)> {
        let parsed = url::Url::parse(url).map_err(|e| {
            (
                format!("'{url}' is not a URL ({e})"),
                "write an absolute http:// or https:// URL".to_owned(),
            )
        })?;
        if (parsed.scheme() != "http" && parsed.scheme() != "https") || parsed.host().is_none() {
            return Err((
                format!("'{url}' is not an http(s) URL"),
                "write an absolute http:// or https:// URL".to_owned(),
            ));
        }
        let origin = parsed.origin().ascii_serialization();
        let allowed = self.plugins.grants.get(plugin).is_some_and(|g| {
            g.allowed_hosts
                .iter()
                .filter_map(|h| OriginPattern::parse(h).ok())
                .any(|p| p.matches(&parsed))
        });
        if allowed {
            Ok(())
        } else {
            Err((
                format!("origin {origin} is not allowed for plugin '{plugin}'"),
                format!(
                    "add \"{origin}\" to plugins.grants.{plugin}.allowed_hosts in {}",
                    self.source.display()
                ),
            ))
        }
    }

    fn validate_claim_sources(&self) -> Result<(), SettingsError> {
        let names = |m: Vec<&String>| {
            if m.is_empty() {
                "none are configured".to_owned()
            } else {
                m.into_iter().cloned().collect::<Vec<_>>().join(", ")
            }
        };
        for c in self.credential_configurations.values() {
            let err = |key: &str, problem: String, fix: String| {
                self.resource_err("credential-configuration", &c.id, key, problem, fix)
            };
            if let Some(id) = &c.attribute_provider
                && !self.attribute_providers.contains_key(id)
            {
                return Err(err(
                    "attribute_provider",
                    format!("unknown attribute provider '{id}'"),
                    format!(
                        "add {}/{id}.toml or use one of: {}",
                        self.resources.attribute_providers.display(),
                        names(self.attribute_providers.keys().collect())
                    ),
                ));
            }
            if let Some(id) = &c.webhook_endpoint_id
                && !self.event_endpoints.contains_key(id)
            {
                return Err(err(
                    "webhook_endpoint_id",
                    format!("unknown event endpoint '{id}'"),
                    format!(
                        "add {}/{id}.toml or use one of: {}",
                        self.resources.event_endpoints.display(),
                        names(self.event_endpoints.keys().collect())
                    ),
                ));
            }
            match &c.source {
                Some(ClaimSource::Webhook { id }) if !self.webhook_endpoints.contains_key(id) => {
                    return Err(err(
                        "source.id",
                        format!("unknown webhook endpoint '{id}'"),
                        format!(
                            "add {}/{id}.toml or use one of: {}",
                            self.resources.webhook_endpoints.display(),
                            names(self.webhook_endpoints.keys().collect())
                        ),
                    ));
                }
                Some(ClaimSource::Static { claims }) => {
                    datafn::check(&serde_json::Value::Object(claims.clone()), "claims").map_err(
                        |e| {
                            err(
                                "source.claims",
                                e,
                                "use one of the data functions listed, or remove the <...>".into(),
                            )
                        },
                    )?;
                }
                _ => {}
            }
            if let Some(m) = &c.mapping {
                datafn::check(&serde_json::Value::Object(m.clone()), "mapping").map_err(|e| {
                    err(
                        "mapping",
                        e,
                        "use one of the data functions listed, or remove the <...>".into(),
                    )
                })?;
            }
        }
        for p in self.attribute_providers.values() {
            self.validate_remote(
                "attribute-provider",
                &p.id,
                p.plugin_id(),
                &p.url,
                p.auth.as_ref(),
                p.timeout_ms,
                p.max_response_bytes,
                p.mapping.as_ref(),
            )?;
        }
        for w in self.webhook_endpoints.values() {
            self.validate_remote(
                "webhook-endpoint",
                &w.id,
                WEBHOOK_PLUGIN,
                &w.url,
                w.auth.as_ref(),
                w.timeout_ms,
                w.max_response_bytes,
                w.mapping.as_ref(),
            )?;
        }
        let limit = self.plugin_limits(WEBHOOK_PLUGIN).timeout_ms;
        if self.plugins.grants.contains_key(WEBHOOK_PLUGIN)
            && (self.claims.inline_webhook_timeout_ms == 0
                || self.claims.inline_webhook_timeout_ms >= limit)
        {
            return Err(self.err(
                "claims.inline_webhook_timeout_ms",
                format!(
                    "{} ms is not between 1 and the plugin's own deadline ({limit} ms)",
                    self.claims.inline_webhook_timeout_ms
                ),
                format!("lower it, or raise plugins.grants.{WEBHOOK_PLUGIN}.limits.timeout_ms"),
            ));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments, reason = "one check of one resource")]
    fn validate_remote(
        &self,
        kind: &str,
        id: &str,
        plugin: &str,
        url: &str,
        auth: Option<&ProviderAuth>,
        timeout_ms: u64,
        max_response_bytes: usize,
        mapping: Option<&BTreeMap<String, String>>,
    ) -> Result<(), SettingsError> {
        for (key, u) in outbound_urls(url, auth) {
            self.check_outbound(plugin, u)
                .map_err(|(problem, fix)| self.resource_err(kind, id, key, problem, fix))?;
        }
        let limits = self.plugin_limits(plugin);
        if timeout_ms == 0 || timeout_ms >= limits.timeout_ms {
            return Err(self.resource_err(
                kind,
                id,
                "timeout_ms",
                format!(
                    "{timeout_ms} ms is not between 1 and the deadline of plugin '{plugin}' ({} ms)",
                    limits.timeout_ms
                ),
                format!(
                    "lower timeout_ms, or raise plugins.grants.{plugin}.limits.timeout_ms in {}",
                    self.source.display()
                ),
            ));
        }
        if max_response_bytes == 0 || max_response_bytes > limits.max_http_response_bytes {
            return Err(self.resource_err(
                kind,
                id,
                "max_response_bytes",
                format!(
                    "{max_response_bytes} is not between 1 and the cap of plugin '{plugin}' ({} bytes)",
                    limits.max_http_response_bytes
                ),
                format!(
                    "lower it, or raise plugins.grants.{plugin}.limits.max_http_response_bytes"
                ),
            ));
        }
        for pointer in mapping.into_iter().flat_map(|m| m.keys()) {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(self.resource_err(
                    kind,
                    id,
                    &format!("mapping.\"{pointer}\""),
                    "a mapping key is a JSON pointer into the response",
                    format!("write it as \"/{pointer}\""),
                ));
            }
        }
        Ok(())
    }
}

fn check_limits(s: &Settings, key: &str, l: &PluginLimits) -> Result<(), SettingsError> {
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
    } else if text.contains("; use ") {
        "give the key one of the values the problem names"
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
    fn tenant_admin_keys_and_offer_lifetime_are_checked_with_their_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let base = "[server]\npublic_url = \"http://127.0.0.1:8099\"\n[tenants.acme]\n";
        for (extra, key, says) in [
            (
                "admin_keys = [\"my-plain-key\"]",
                "tenants.acme.admin_keys[0]",
                "sha256:",
            ),
            (
                "admin_keys = [{ env = \"NOPE_KEY\" }]",
                "tenants.acme.admin_keys[0]",
                "NOPE_KEY",
            ),
            (
                "max_offer_lifetime_seconds = 10",
                "tenants.acme.max_offer_lifetime_seconds",
                "60 to",
            ),
        ] {
            let p = write(dir.path(), &format!("{base}{extra}\n"));
            let e = Settings::load_with_env(&p, []).expect_err(extra);
            assert_eq!(e.key, key, "{e}");
            assert!(e.to_string().contains(says), "{e}");
        }
        std::fs::write(dir.path().join("acme.key"), "k".repeat(40)).expect("write");
        let p = write(
            dir.path(),
            &format!(
                "{base}admin_keys = [{{ file = \"acme.key\" }}]\nmax_offer_lifetime_seconds = 600\nallow_non_expiring_offers = false\n"
            ),
        );
        let s = Settings::load_with_env(&p, []).expect("load");
        assert_eq!(
            s.tenants["acme"].admin_key_digests,
            [crate::admin_keys::digest(&"k".repeat(40))]
        );
        let acme = s.offer_lifetime("acme");
        assert_eq!((acme.max_seconds, acme.non_expiring), (600, false));
        let default = s.offer_lifetime(DEFAULT_TENANT);
        assert_eq!(
            (default.max_seconds, default.non_expiring),
            (DEFAULT_MAX_OFFER_SECONDS, true)
        );
    }

    #[test]
    fn external_authorization_servers_are_checked_with_their_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let base = "[server]\npublic_url = \"http://127.0.0.1:8099\"\n";
        let corp = "[authorization_servers.corp]\nissuer = \"https://login.corp.example\"\n";
        for (extra, key, says) in [
            (
                "[authorization_servers.corp]\nissuer = \"http://login.corp.example\"\n",
                "authorization_servers.corp.issuer",
                "https",
            ),
            (
                "[authorization_servers.corp]\nissuer = \"https://login.corp.example?x=1\"\n",
                "authorization_servers.corp.issuer",
                "query",
            ),
            (
                "[authorization_servers.\"a b\"]\nissuer = \"https://login.corp.example\"\n",
                "authorization_servers.a b",
                "letters",
            ),
            (
                &format!("{corp}verification = \"introspection\"\n"),
                "authorization_servers.corp.client_id",
                "client_id",
            ),
            (
                &format!("{corp}verification = \"introspection\"\nclient_id = \"sigil\"\n"),
                "authorization_servers.corp.client_secret",
                "client_secret",
            ),
            (
                &format!("{corp}client_id = \"sigil\"\n"),
                "authorization_servers.corp.client_id",
                "introspection",
            ),
            (
                &format!(
                    "{corp}verification = \"introspection\"\nclient_id = \"sigil\"\nclient_secret = {{ env = \"NO_SUCH_SECRET\" }}\n"
                ),
                "authorization_servers.corp.client_secret",
                "NO_SUCH_SECRET",
            ),
            (
                &format!("{corp}algorithms = [\"HS256\"]\n"),
                "authorization_servers.corp.algorithms",
                "RS256",
            ),
            (
                &format!("{corp}algorithms = []\n"),
                "authorization_servers.corp.algorithms",
                "RS256",
            ),
            (
                &format!("{corp}audience = \"a b\"\n"),
                "authorization_servers.corp.audience",
                "audience",
            ),
            (
                &format!(
                    "{corp}[authorization_servers.other]\nissuer = \"https://login.corp.example\"\n"
                ),
                "authorization_servers.other.issuer",
                "authorization_servers.corp",
            ),
            (
                &format!("{corp}verification = \"opaque\"\n"),
                "authorization_servers.corp.verification",
                "Fix: give the key one of the values",
            ),
            (
                &format!("{corp}[tenants.acme]\nauthorization_servers = [\"corp\", \"crop\"]\n"),
                "tenants.acme.authorization_servers[1]",
                "[authorization_servers.crop]",
            ),
            (
                &format!("{corp}[tenants.acme]\nauthorization_servers = [\"corp\", \"corp\"]\n"),
                "tenants.acme.authorization_servers[1]",
                "twice",
            ),
        ] {
            let p = write(dir.path(), &format!("{base}{extra}"));
            let e = Settings::load_with_env(&p, []).expect_err(extra);
            assert_eq!(e.key, key, "{e}");
            assert!(e.to_string().contains(says), "{e}");
            assert!(e.to_string().contains("Fix:"), "{e}");
        }
        let p = write(
            dir.path(),
            &format!(
                "{base}{corp}[authorization_servers.hr]\nissuer = \"http://127.0.0.1:9000\"\nverification = \"introspection\"\nclient_id = \"sigil\"\nclient_secret = {{ env = \"HR_SECRET\" }}\naudience = \"urn:sigil\"\n[tenants.acme]\nauthorization_servers = [\"hr\", \"corp\"]\n"
            ),
        );
        let s = Settings::load_with_env(&p, [("HR_SECRET".to_owned(), "s3cret".to_owned())])
            .expect("load");
        let listed: Vec<&str> = s
            .tenant_authorization_servers("acme")
            .iter()
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(listed, ["hr", "corp"]);
        assert!(s.tenant_authorization_servers(DEFAULT_TENANT).is_empty());
        let hr = &s.authorization_servers["hr"];
        assert_eq!(hr.verification, TokenVerification::Introspection);
        assert_eq!(
            hr.client_secret.as_ref().map(Secret::expose),
            Some("s3cret")
        );
        assert_eq!(hr.audience_for("https://issuer.example/acme"), "urn:sigil");
        let corp = &s.authorization_servers["corp"];
        assert_eq!(corp.verification, TokenVerification::Jwt);
        assert_eq!(
            corp.audience_for("https://issuer.example/acme"),
            "https://issuer.example/acme"
        );
        assert_eq!(corp.algorithms, VERIFIED_ALGORITHMS);
        assert!(
            !format!("{s:?}").contains("s3cret"),
            "the secret leaks into Debug"
        );
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

//! Tenants: one credential issuer each, with its own identifier, keys,
//! configurations and metadata (built at start-up, rebuilt when keys or
//! format plugins change).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use sigil_issuer::model::RuntimeOverrides;
use sigil_keys::SharedSigner;
use sigil_keys::identity::identity;
use sigil_keys::keyring::{KeyFolder, KeyRing};
use sigil_plugin_host::{FormatConfiguration, PluginKind, PluginRuntime};
use sigil_settings::{
    ClaimSource, CredentialConfiguration, DEFAULT_TENANT, Settings, SettingsError, WEBHOOK_PLUGIN,
};

/// One issuer.
#[derive(Debug)]
pub struct Tenant {
    /// Tenant id (`default` at the root URL).
    pub id: String,
    /// The credential issuer identifier (`https://host` or `https://host/<id>`).
    pub issuer: String,
    /// The keys: swapped as a whole on rotation.
    pub keys: arc_swap::ArcSwap<TenantKeys>,
    /// Formats whose credentials carry the chain (`keys.x5c_formats`).
    pub x5c_formats: Vec<String>,
    /// The tenant's `did:web` (served as `did.json`).
    pub did_web: Option<String>,
    /// Ids of the configurations this tenant offers.
    pub configurations: Vec<String>,
}

impl Tenant {
    /// The signer and `iss` for a credential of `format` from an offer with
    /// `overrides` (`runtimeOverrides`): `issuerKeyId` chooses the active or
    /// a standby key; `x5Chain` replaces the key's chain (and is carried in
    /// every format, since the offer asked for it). Fails when the chosen
    /// key is no longer one that signs (retired or removed since the offer).
    /// `keys` is one load of [`Tenant::keys`], so the signer and the format
    /// settings of one issuance come from the same set of keys.
    pub fn signing_for(
        &self,
        keys: &TenantKeys,
        format: &str,
        overrides: &RuntimeOverrides,
    ) -> Result<(SharedSigner, String), String> {
        let key = match overrides.issuer_key_id.as_deref() {
            None => &keys.active,
            Some(kid) => keys.find(kid).ok_or_else(|| {
                format!(
                    "the offer asks for issuer key '{kid}', which tenant '{}' no longer signs with (retired or removed); create a new offer",
                    self.id
                )
            })?,
        };
        let signer = match overrides.x5_chain.as_deref().and_then(decode_chain) {
            Some(chain) => std::sync::Arc::new(sigil_keys::Presented::with_chain(
                key.key.clone(),
                key.presented_kid.clone(),
                chain,
            )),
            None => key.signer_for(self.carries_chain(format)),
        };
        Ok((signer, key.issuer_id.clone()))
    }

    fn carries_chain(&self, format: &str) -> bool {
        self.x5c_formats.iter().any(|f| f == format)
    }

    /// Every published key (active, standby, then retired) as public JWKs.
    pub fn published(&self) -> Vec<Value> {
        self.keys.load().published.clone()
    }

    /// Whether this tenant offers `configuration`.
    pub fn offers(&self, configuration: &str) -> bool {
        self.configurations.iter().any(|c| c == configuration)
    }
}

/// An `x5Chain` override: base64 (standard alphabet) DER certificates.
pub fn decode_chain(chain: &[String]) -> Option<Vec<Vec<u8>>> {
    use base64::Engine as _;
    if chain.is_empty() {
        return None;
    }
    chain
        .iter()
        .map(|c| {
            base64::engine::general_purpose::STANDARD
                .decode(c)
                .ok()
                .filter(|der| der.first() == Some(&0x30) && der.len() > 16)
        })
        .collect()
}

/// One key that signs, as issuance uses it.
#[derive(Debug, Clone)]
pub struct SigningKey {
    /// File name stem in the tenant's key folder.
    pub name: String,
    /// The key itself (own kid, own chain).
    pub key: SharedSigner,
    /// The kid credentials carry when it is not the key's own (a DID URL).
    pub presented_kid: Option<String>,
    /// `iss` of what it signs.
    pub issuer_id: String,
    with_chain: SharedSigner,
    without_chain: SharedSigner,
}

impl SigningKey {
    fn new(kind: &str, issuer: &str, name: &str, key: &SharedSigner) -> Self {
        let identity = identity(kind, issuer, key.as_ref());
        let present = |chain| -> SharedSigner {
            std::sync::Arc::new(sigil_keys::Presented::new(
                key.clone(),
                identity.kid.clone(),
                chain,
            ))
        };
        Self {
            name: name.to_owned(),
            key: key.clone(),
            with_chain: present(true),
            without_chain: present(false),
            presented_kid: identity.kid,
            issuer_id: identity.issuer_id,
        }
    }

    /// Presented per the identifier, with or without the key's chain.
    pub fn signer_for(&self, chain: bool) -> SharedSigner {
        if chain {
            self.with_chain.clone()
        } else {
            self.without_chain.clone()
        }
    }
}

/// A tenant's keys as issuance sees them, and what depends on them: the
/// settings handed to format plugins and the issuer metadata (both list the
/// keys' algorithms). Swapped as a whole on rotation and reload.
#[derive(Debug)]
pub struct TenantKeys {
    /// Settings JSON handed to format plugins, per configuration.
    pub format_settings: BTreeMap<String, Value>,
    /// Credential issuer metadata.
    pub metadata: Value,
    /// The key that signs unless an offer chooses another.
    pub active: SigningKey,
    /// Keys an offer may choose with `runtimeOverrides.issuerKeyId`.
    pub standby: Vec<SigningKey>,
    /// Own kids of the retired keys (published, never sign).
    pub retired: Vec<String>,
    /// Public JWKs of the active, standby and retired keys (own kids).
    pub published: Vec<Value>,
}

impl TenantKeys {
    /// Present the keys of `ring` per tenant `id`'s identifier, and describe
    /// the tenant's configurations for them (asks the format plugins).
    pub async fn build(
        settings: &Settings,
        plugins: &PluginRuntime,
        id: &str,
        ring: &KeyRing,
    ) -> anyhow::Result<Self> {
        let mut algorithms: Vec<&str> = Vec::new();
        for k in ring.signing_keys() {
            let name = k.signer.algorithm().jose_name();
            if !algorithms.contains(&name) {
                algorithms.push(name);
            }
        }
        let (metadata, format_settings) = describe(settings, plugins, id, &algorithms).await?;
        Ok(Self::new(settings, id, ring, metadata, format_settings))
    }

    fn new(
        settings: &Settings,
        id: &str,
        ring: &KeyRing,
        metadata: Value,
        format_settings: BTreeMap<String, Value>,
    ) -> Self {
        let kind = settings
            .tenants
            .get(id)
            .map(|t| t.identifier.clone())
            .unwrap_or_default();
        let issuer = issuer_url(settings, id);
        let active = SigningKey::new(&kind, &issuer, &ring.active.name, &ring.active.signer);
        let standby: Vec<SigningKey> = ring
            .standby
            .iter()
            .map(|k| SigningKey::new(&kind, &issuer, &k.name, &k.signer))
            .collect();
        let mut published: Vec<Value> =
            ring.signing_keys().map(|k| k.signer.public_jwk()).collect();
        published.extend(ring.retired.iter().map(|k| k.public_jwk()));
        Self {
            format_settings,
            metadata,
            active,
            standby,
            retired: ring.retired.iter().map(|k| k.key_id().to_owned()).collect(),
            published,
        }
    }

    /// A key that signs, by its own kid, the kid credentials carry, or name.
    pub fn find(&self, id: &str) -> Option<&SigningKey> {
        std::iter::once(&self.active)
            .chain(&self.standby)
            .find(|k| {
                k.key.key_id() == id || k.presented_kid.as_deref() == Some(id) || k.name == id
            })
    }
}

/// Rotate tenant `id`'s key without restart: retire the active key (it
/// stays published), generate a new one, swap it in. Returns the new kid.
pub async fn rotate_key(
    settings: &Settings,
    plugins: &PluginRuntime,
    tenant: &Tenant,
) -> anyhow::Result<String> {
    let ring = key_folder(settings, &tenant.id).rotate()?;
    swap_keys(settings, plugins, tenant, &ring).await
}

/// Re-read tenant `id`'s key folder (after `sigil keys activate`, a new
/// standby key, or a rotation by another instance) and swap the keys in,
/// with metadata rebuilt for their algorithms. On error the keys in use stay
/// as they are.
pub async fn reload_keys(
    settings: &Settings,
    plugins: &PluginRuntime,
    tenant: &Tenant,
) -> anyhow::Result<String> {
    let ring = load_tenant_keys(settings, &tenant.id)?;
    swap_keys(settings, plugins, tenant, &ring).await
}

async fn swap_keys(
    settings: &Settings,
    plugins: &PluginRuntime,
    tenant: &Tenant,
    ring: &KeyRing,
) -> anyhow::Result<String> {
    let keys = TenantKeys::build(settings, plugins, &tenant.id, ring).await?;
    tenant.keys.store(std::sync::Arc::new(keys));
    Ok(ring.active.signer.key_id().to_owned())
}

/// Tenant `id`'s key folder as the settings describe it: `keys.dir/<id>`,
/// `keys.algorithm` (ES256 when unknown), `keys.generate_if_missing`, and a
/// demo chain that names the tenant's display name and issuer URL.
pub fn key_folder(settings: &Settings, id: &str) -> KeyFolder {
    let name = settings
        .tenants
        .get(id)
        .and_then(|t| t.display.first())
        .map(|d| d.name.clone())
        .unwrap_or_else(|| format!("Sigil {id}"));
    KeyFolder {
        dir: settings.keys.dir.join(id),
        algorithm: sigil_keys::Algorithm::from_jose_name(&settings.keys.algorithm)
            .unwrap_or(sigil_keys::Algorithm::Es256),
        generate: settings.keys.generate_if_missing,
        config: settings.source.clone(),
        chain: sigil_keys::x509::DemoChainOptions::new(name, issuer_url(settings, id)),
    }
}

/// A key folder's error as a configuration error (same file, key, problem
/// and fix).
pub fn settings_error(e: sigil_keys::KeyFolderError) -> SettingsError {
    SettingsError::new(e.file, e.key, e.problem, e.fix)
}

/// Every tenant, by id.
#[derive(Debug, Default)]
pub struct Tenants {
    map: BTreeMap<String, Tenant>,
}

impl Tenants {
    /// A tenant by id.
    pub fn get(&self, id: &str) -> Option<&Tenant> {
        self.map.get(id)
    }

    /// All tenants.
    pub fn iter(&self) -> impl Iterator<Item = &Tenant> {
        self.map.values()
    }
}

/// The credential issuer identifier of a tenant.
pub fn issuer_url(settings: &Settings, tenant: &str) -> String {
    let base = settings.server.public_url.trim_end_matches('/');
    if tenant == DEFAULT_TENANT {
        base.to_owned()
    } else {
        format!("{base}/{tenant}")
    }
}

fn config_file(settings: &Settings, id: &str) -> String {
    settings
        .resource_files
        .get(&format!("credential-configuration:{id}"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| settings.source.display().to_string())
}

/// Check that every configuration's plugins are loaded and of the right kind.
pub fn check_plugins(settings: &Settings, plugins: &PluginRuntime) -> anyhow::Result<()> {
    for c in settings.credential_configurations.values() {
        let file = config_file(settings, &c.id);
        let format_plugin = c.format_plugin_id().unwrap_or_default();
        match plugins.plugin(format_plugin) {
            Some(p) if p.kind == PluginKind::CredentialFormat => {}
            Some(_) => bail!(
                "{file}: format_plugin: '{format_plugin}' is not a credential-format plugin. Fix: name a credential-format plugin"
            ),
            None => bail!(
                "{file}: format: format '{}' needs plugin '{format_plugin}', which is not loaded from {}. Fix: run `cargo xtask build-plugins` or set format_plugin",
                c.format,
                settings.plugins.dir.display()
            ),
        }
        if let Some(ClaimSource::Webhook { .. }) = &c.source {
            claim_plugin(settings, plugins, &file, "source", WEBHOOK_PLUGIN)?;
        }
        if let Some(ClaimSource::Plugin { plugin, .. }) = &c.source {
            match plugins.plugin(plugin) {
                Some(p) if p.kind == PluginKind::ClaimProvider => {}
                _ => bail!(
                    "{file}: source.plugin: '{plugin}' is not a loaded claim-provider plugin. Fix: build it into the plugin directory or correct the id"
                ),
            }
        }
    }
    for p in settings.attribute_providers.values() {
        let file = settings
            .resource_files
            .get(&format!("attribute-provider:{}", p.id))
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        claim_plugin(settings, plugins, &file, "plugin", p.plugin_id())?;
    }
    for w in settings.webhook_endpoints.values() {
        let file = settings
            .resource_files
            .get(&format!("webhook-endpoint:{}", w.id))
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        claim_plugin(settings, plugins, &file, "url", WEBHOOK_PLUGIN)?;
    }
    Ok(())
}

fn claim_plugin(
    settings: &Settings,
    plugins: &PluginRuntime,
    file: &str,
    key: &str,
    plugin: &str,
) -> anyhow::Result<()> {
    match plugins.plugin(plugin) {
        Some(p) if p.kind == PluginKind::ClaimProvider => Ok(()),
        _ => bail!(
            "{file}: {key}: needs the claim-provider plugin '{plugin}', which is not loaded from {}. Fix: run `cargo xtask build-plugins` or correct the id",
            settings.plugins.dir.display()
        ),
    }
}

/// The JSON a format plugin receives as `settings`.
/// `algorithms` are the JOSE names of the keys that sign (active first).
pub fn format_settings(c: &CredentialConfiguration, algorithms: &[&str]) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or_else(|_| json!({}));
    if let Some(obj) = v.as_object_mut() {
        obj.insert("signing_algorithms".into(), json!(algorithms));
    }
    v
}

/// The longest `validity_seconds` of a tenant's configurations, with the
/// file that sets it.
pub fn longest_validity(settings: &Settings, tenant: &str) -> Option<(u64, String)> {
    settings
        .tenant_configurations(tenant)
        .into_iter()
        .filter_map(|c| {
            c.validity_seconds
                .map(|v| (v, config_file(settings, &c.id)))
        })
        .max_by_key(|(v, _)| *v)
}

/// Load (or in development generate) a tenant's keys, and check the chain
/// of every key that signs against the tenant's longest credential validity
/// ([`KeyFolder::load_checked`]).
pub fn load_tenant_keys(settings: &Settings, id: &str) -> Result<KeyRing, SettingsError> {
    let longest = longest_validity(settings, id);
    key_folder(settings, id)
        .load_checked(
            longest.as_ref().map(|(v, f)| (*v, f.as_str())),
            std::time::SystemTime::now(),
        )
        .map_err(settings_error)
}

/// Load and check every tenant's key (for `sigil config check`).
pub fn check_keys(settings: &Settings) -> Result<(), SettingsError> {
    for id in settings.tenant_ids() {
        load_tenant_keys(settings, &id)?;
    }
    Ok(())
}

/// The issuer metadata of tenant `id` and the settings its format plugins
/// get, for keys of `algorithms` (asks the format plugins for their part).
pub(crate) async fn describe(
    settings: &Settings,
    plugins: &PluginRuntime,
    id: &str,
    algorithms: &[&str],
) -> anyhow::Result<(Value, BTreeMap<String, Value>)> {
    let issuer = issuer_url(settings, id);
    let display = settings
        .tenants
        .get(id)
        .map(|t| t.display.clone())
        .unwrap_or_default();
    let mut supported = Map::new();
    let mut format_settings_map = BTreeMap::new();
    for c in settings.tenant_configurations(id) {
        let fs = format_settings(c, algorithms);
        let plugin = c.format_plugin_id().unwrap_or_default();
        let fragment = plugins
            .format_metadata(
                plugin,
                &FormatConfiguration {
                    id: c.id.clone(),
                    format: c.format.clone(),
                    settings: fs.clone(),
                },
            )
            .await
            .with_context(|| format!("{}: metadata of '{}'", config_file(settings, &c.id), c.id))?;
        let entry = sigil_issuer::metadata::configuration_entry(c, fragment);
        supported.insert(c.id.clone(), entry);
        format_settings_map.insert(c.id.clone(), fs);
    }
    let display = if display.is_empty() {
        None
    } else {
        Some(serde_json::to_value(&display)?)
    };
    let external: Vec<&str> = settings
        .tenant_authorization_servers(id)
        .into_iter()
        .map(|(_, s)| s.issuer.as_str())
        .collect();
    let metadata = sigil_issuer::metadata::credential_issuer(
        &issuer,
        supported,
        settings.issuance.batch_size,
        display,
        &external,
    );
    Ok((metadata, format_settings_map))
}

/// Build every tenant: keys, format settings, metadata (asks the format plugins).
pub async fn build(settings: &Settings, plugins: &PluginRuntime) -> anyhow::Result<Tenants> {
    check_plugins(settings, plugins)?;
    let mut map = BTreeMap::new();
    for id in settings.tenant_ids() {
        let issuer = issuer_url(settings, &id);
        let ring = load_tenant_keys(settings, &id)?;
        let keys = TenantKeys::build(settings, plugins, &id, &ring).await?;
        let configurations: Vec<&CredentialConfiguration> = settings.tenant_configurations(&id);
        map.insert(
            id.clone(),
            Tenant {
                id,
                keys: arc_swap::ArcSwap::from_pointee(keys),
                did_web: sigil_keys::did::did_web(&issuer),
                issuer,
                x5c_formats: settings.keys.x5c_formats.clone(),
                configurations: configurations.iter().map(|c| c.id.clone()).collect(),
            },
        );
    }
    Ok(Tenants { map })
}

/// Load or create the secret that derives pre-authorized codes from offer
/// ids (`SIGIL_OFFER_SECRET`, else `<keys>/offer-secret`). Every instance
/// behind one load balancer must share it.
pub fn offer_secret(dir: &Path, generate: bool) -> anyhow::Result<Vec<u8>> {
    if let Ok(s) = std::env::var("SIGIL_OFFER_SECRET") {
        if s.len() < 32 {
            bail!("SIGIL_OFFER_SECRET: too short. Fix: use at least 32 random characters");
        }
        return Ok(s.into_bytes());
    }
    let path = dir.join("offer-secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        return Ok(s.trim().as_bytes().to_vec());
    }
    if !generate {
        bail!(
            "{}: missing. Fix: set SIGIL_OFFER_SECRET or keys.generate_if_missing = true",
            path.display()
        );
    }
    std::fs::create_dir_all(dir)?;
    let secret = sigil_issuer::secrets::random_token();
    std::fs::write(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret.into_bytes())
}

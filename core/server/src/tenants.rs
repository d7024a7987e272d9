//! Tenants: one credential issuer each, with its own identifier, keys,
//! configurations and metadata (built once at start-up).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use sigil_keys::SharedSigner;
use sigil_plugin_host::{FormatConfiguration, PluginKind, PluginRuntime};
use sigil_settings::{ClaimSource, CredentialConfiguration, DEFAULT_TENANT, Settings};

/// One issuer.
#[derive(Debug)]
pub struct Tenant {
    /// Tenant id (`default` at the root URL).
    pub id: String,
    /// The credential issuer identifier (`https://host` or `https://host/<id>`).
    pub issuer: String,
    /// The active signing key.
    pub signer: SharedSigner,
    /// The same key without its certificate chain.
    pub signer_without_chain: SharedSigner,
    /// Formats whose credentials carry the chain (`keys.x5c_formats`).
    pub x5c_formats: Vec<String>,
    /// Ids of the configurations this tenant offers.
    pub configurations: Vec<String>,
    /// Settings JSON handed to format plugins, per configuration.
    pub format_settings: BTreeMap<String, Value>,
    /// Credential issuer metadata.
    pub metadata: Value,
}

impl Tenant {
    /// `<issuer><path>`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The signer a format plugin gets for `format`: with its X.509 chain
    /// only when `format` is in `keys.x5c_formats`.
    pub fn signer_for(&self, format: &str) -> SharedSigner {
        if self.x5c_formats.iter().any(|f| f == format) {
            self.signer.clone()
        } else {
            self.signer_without_chain.clone()
        }
    }

    /// Whether this tenant offers `configuration`.
    pub fn offers(&self, configuration: &str) -> bool {
        self.configurations.iter().any(|c| c == configuration)
    }
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
        if let Some(ClaimSource::Plugin { plugin, .. }) = &c.source {
            match plugins.plugin(plugin) {
                Some(p) if p.kind == PluginKind::ClaimProvider => {}
                _ => bail!(
                    "{file}: source.plugin: '{plugin}' is not a loaded claim-provider plugin. Fix: build it into the plugin directory or correct the id"
                ),
            }
        }
    }
    Ok(())
}

/// The JSON a format plugin receives as `settings`.
pub fn format_settings(c: &CredentialConfiguration, signer: &SharedSigner) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or_else(|_| json!({}));
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "signing_algorithms".into(),
            json!([signer.algorithm().jose_name()]),
        );
    }
    v
}

/// Build every tenant: keys, format settings, metadata (asks the format plugins).
pub async fn build(settings: &Settings, plugins: &PluginRuntime) -> anyhow::Result<Tenants> {
    check_plugins(settings, plugins)?;
    let mut map = BTreeMap::new();
    for id in settings.tenant_ids() {
        let issuer = issuer_url(settings, &id);
        let display = settings
            .tenants
            .get(&id)
            .map(|t| t.display.clone())
            .unwrap_or_default();
        let name = display
            .first()
            .map(|d| d.name.clone())
            .unwrap_or_else(|| format!("Sigil {id}"));
        let signer = crate::keystore::load_or_generate(
            &settings.keys.dir.join(&id),
            settings.keys.generate_if_missing,
            &settings.source,
            &sigil_keys::x509::DemoChainOptions::new(name, issuer.clone()),
        )?;
        let configurations: Vec<&CredentialConfiguration> = settings.tenant_configurations(&id);
        let mut supported = Map::new();
        let mut format_settings_map = BTreeMap::new();
        for c in &configurations {
            let fs = format_settings(c, &signer);
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
                .with_context(|| {
                    format!("{}: metadata of '{}'", config_file(settings, &c.id), c.id)
                })?;
            let mut entry = Map::new();
            entry.insert("format".into(), c.format.clone().into());
            if let Some(scope) = &c.scope {
                entry.insert("scope".into(), scope.clone().into());
            }
            entry.insert(
                "proof_types_supported".into(),
                json!({ "jwt": { "proof_signing_alg_values_supported": sigil_issuer::proof::PROOF_ALGORITHMS } }),
            );
            for (k, v) in fragment {
                entry.insert(k, v);
            }
            supported.insert(c.id.clone(), entry.into());
            format_settings_map.insert(c.id.clone(), fs);
        }
        let mut metadata = json!({
            "credential_issuer": issuer,
            "credential_endpoint": format!("{issuer}/credential"),
            "nonce_endpoint": format!("{issuer}/nonce"),
            "credential_configurations_supported": supported,
        });
        if settings.issuance.batch_size >= 2 {
            metadata["batch_credential_issuance"] =
                json!({ "batch_size": settings.issuance.batch_size });
        }
        if !display.is_empty() {
            metadata["display"] = serde_json::to_value(&display)?;
        }
        map.insert(
            id.clone(),
            Tenant {
                id,
                issuer,
                signer_without_chain: std::sync::Arc::new(sigil_keys::WithoutChain(signer.clone())),
                signer,
                x5c_formats: settings.keys.x5c_formats.clone(),
                configurations: configurations.iter().map(|c| c.id.clone()).collect(),
                format_settings: format_settings_map,
                metadata,
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

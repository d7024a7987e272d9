//! Shared application state.

use std::sync::Arc;

use sigil_issuer::Issuer;
use sigil_plugin_host::PluginRuntime;
use sigil_settings::Settings;
use sigil_store::Store;

use crate::auth::AdminToken;
use crate::tenants::Tenants;

/// The issuer as this server wires it: over the database and the plugin runtime.
pub type SigilIssuer = Issuer<Store, PluginRuntime>;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The validated configuration.
    pub settings: Arc<Settings>,
    /// Loaded plugins.
    pub plugins: Arc<PluginRuntime>,
    /// Tenants with keys and metadata.
    pub tenants: Arc<Tenants>,
    /// Database.
    pub store: Store,
    /// Admin API credential.
    pub admin: AdminToken,
    /// The protocol rules of every wallet-facing endpoint.
    pub issuer: Arc<SigilIssuer>,
    /// HTTP to upstream OpenID providers (logins), with its caches.
    pub providers: Arc<crate::upstream::Providers>,
    /// Whether the instance is shutting down.
    pub lifecycle: Arc<crate::shutdown::Lifecycle>,
    /// This instance's Prometheus registry ([`crate::metrics`]).
    pub metrics: sigil_metrics::Metrics,
}

/// Current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

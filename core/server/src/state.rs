//! Shared application state.

use std::sync::Arc;

use sigil_keys::SharedSigner;
use sigil_plugin_host::PluginRuntime;
use sigil_settings::Settings;

use crate::auth::AdminToken;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The validated configuration.
    pub settings: Arc<Settings>,
    /// Loaded plugins.
    pub plugins: Arc<PluginRuntime>,
    /// The default tenant's active issuer key.
    pub signer: SharedSigner,
    /// Admin API credential.
    pub admin: AdminToken,
}

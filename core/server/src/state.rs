//! Shared application state.

use std::sync::Arc;

use sigil_plugin_host::PluginRuntime;
use sigil_settings::Settings;
use sigil_store::Store;

use crate::auth::AdminToken;
use crate::tenants::Tenants;

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
    /// Secret deriving pre-authorized codes from offer ids.
    pub offer_secret: Arc<Vec<u8>>,
    /// Key of the self-verifying `c_nonce` values (derived from the offer secret).
    pub nonce_key: sigil_issuer::nonce::NonceKey,
}

impl AppState {
    /// The pre-authorized code of an offer: HMAC-SHA256(secret, offer id),
    /// so by-reference offers can be served while only its hash is stored.
    pub fn pre_authorized_code(&self, offer_id: &str) -> String {
        use base64::Engine as _;
        use hmac::{Hmac, Mac};
        let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(&self.offer_secret) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        mac.update(b"sigil pre-authorized code\0");
        mac.update(offer_id.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// Current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

//! Sigil's configuration: `config/sigil.toml` plus `SIGIL__SECTION__KEY`
//! environment overrides, deserialised strictly (unknown keys are errors)
//! and validated with messages that name the file, the key and the fix.
//!
//! 1. [`Settings::load`] reads the file and the environment.
//! 2. Relative paths in the file are resolved against the file's folder.
//! 3. Every failure is a [`SettingsError`] whose `Display` reads
//!    `config/sigil.toml: server.port: <problem>. Fix: <what to do>`.

pub mod admin_keys;
mod authorization;
pub mod datafn;
mod error;
mod events;
mod model;
mod offer_push;
mod operations;
mod plugins;
mod providers;
mod resources;

pub use authorization::{
    AuthorizationServerSettings, AuthorizationSettings, ClientAuthMethod, DpopMode, LoginSettings,
    TokenVerification, VERIFIED_ALGORITHMS, redirect_uri_allowed,
};
pub use error::SettingsError;
pub use events::{EventDeliverySettings, EventEndpoint, EventSettings};
pub use model::{
    DEFAULT_MAX_OFFER_SECONDS, DEFAULT_TENANT, DatabaseSettings, IssuanceSettings, KeySettings,
    MAX_OFFER_SECONDS_LIMIT, OfferLifetime, PluginSettings, ResourceSettings, ServerSettings,
    Settings, TenantSettings,
};
pub use offer_push::OfferPushSettings;
pub use operations::{LogFormat, MetricsSettings, TelemetrySettings};
pub use plugins::{PluginGrant, PluginLimits};
pub use providers::{
    ATTRIBUTE_PROVIDER_PLUGIN, AttributeProvider, CLAIMS_CONTRACT_VERSION, ClaimsSettings,
    HttpMethod, ID_TOKEN_PLUGIN, INLINE_PLUGIN, ProviderAuth, STATIC_PLUGIN, Secret, SecretSource,
    WEBHOOK_PLUGIN, WebhookEndpoint,
};
pub use resources::{
    ClaimDescription, ClaimDisplay, ClaimSource, CredentialConfiguration, Display, Profile,
    TxCodeDefaults,
};

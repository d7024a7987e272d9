//! Sigil's plugin runtime: sandboxed WebAssembly components (wasmtime,
//! component model) implementing the `sigil:plugin` WIT package.
//!
//! 1. Describe the plugin directory, limits and grants in a [`RuntimeConfig`].
//! 2. [`PluginRuntime::load`] reads every `plugin.toml`, checks the pinned
//!    hash and the WIT version the component targets, compiles it once and
//!    links it once (`InstancePre`).
//! 3. Call [`PluginRuntime::resolve_claims`], [`PluginRuntime::format_metadata`]
//!    or [`PluginRuntime::issue`]. Each call runs in a fresh `Store` with
//!    fuel, a memory cap and a wall-clock deadline; any failure comes back as
//!    a [`PluginError`] naming the plugin, and never affects other calls.
//! 4. [`PluginRuntime::prepare_reload`] and [`PluginRuntime::commit`] swap in
//!    new or changed plugins while calls run; calls in flight finish on the
//!    version they started with, and a new version that fails its checks is
//!    refused while the one before keeps serving.
//!
//! Plugins get no files, environment or sockets. Outbound HTTP goes through
//! `wasi:http` and only to origins the plugin requested and the operator
//! granted ([`PluginPolicy::allowed_hosts`]); private addresses are refused
//! unless the operator named them. Format plugins sign through a
//! `signing-key` handle; private keys stay in the host.

mod bindings;
mod calls;
mod engine;
mod error;
mod grants;
mod limits;
mod loader;
mod manifest;
mod observe;
mod outbound;
mod ports;
mod reload;
mod runtime;
mod signing;
mod state;

pub use bindings::{WIT_PACKAGE, WIT_VERSION};
pub use error::{LoadError, PluginError};
pub use grants::PluginPolicy;
pub use limits::Limits;
pub use loader::PluginInfo;
pub use manifest::{Manifest, PluginKind, Requests};
pub use reload::{Fingerprint, Refusal, Reload, ReloadReport, Replacement, StaleReload};
pub use runtime::{PluginRuntime, RuntimeConfig};
pub use sigil_issuer::ports::{
    ClaimFailure, ClaimOutcome, ClaimRequest, CredentialSlot, FormatConfiguration, FormatFailure,
    IssueInput, StatusReference,
};
pub use sigil_origin::OriginPattern;

//! # Sigil plugin SDK
//!
//! Write Sigil plugins in Rust. A plugin is a WebAssembly component that Sigil
//! loads from its plugin directory and runs in a sandbox: no files, no
//! environment, no sockets; outbound HTTP only to the origins the operator
//! allowed; CPU, memory and wall-clock limits on every call.
//!
//! There are two kinds of plugins:
//!
//! * **claim providers** resolve the claims of a credential ([`claims`]);
//! * **credential formats** encode and sign credentials ([`format`](mod@format)).
//!
//! Writing one takes three steps:
//!
//! 1. implement [`claims::ClaimProvider`] (or [`format::CredentialFormat`]) for a unit struct;
//! 2. call [`export_claim_provider!`] (or [`export_credential_format!`]) with it;
//! 3. build with `cargo build --release --target wasm32-wasip2` and put the
//!    `.wasm` file with a `plugin.toml` manifest into Sigil's plugin directory.
//!
//! ```ignore
//! use sigil_plugin_sdk::claims::{ClaimContext, ClaimError, ClaimProvider, Resolution};
//! use sigil_plugin_sdk::serde_json::json;
//!
//! struct Hello;
//!
//! impl ClaimProvider for Hello {
//!     fn resolve(ctx: ClaimContext) -> Result<Resolution, ClaimError> {
//!         Ok(Resolution::claims(json!({ "greeting": format!("hello from {}", ctx.tenant) }))?)
//!     }
//! }
//!
//! sigil_plugin_sdk::export_claim_provider!(Hello);
//! ```
//!
//! Host services: [`host::log`], [`host::config`] (operator settings for the
//! plugin), [`http`] (outbound HTTP through `wasi:http`, allow-listed by the
//! host), and the signing handle passed to format plugins
//! ([`format::SigningKey`]). Clocks and randomness come from WASI, so
//! `std::time::SystemTime` and crates such as `getrandom` work as usual.

#![deny(missing_docs)]

extern crate self as sigil_plugin_sdk;

pub mod claims;
pub mod format;
pub mod host;
pub mod http;

pub use serde_json;

/// The version of the WIT package this SDK targets (`sigil:plugin@…`).
pub const WIT_VERSION: &str = "0.1.0";

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// Raw bindings generated from the WIT package. Not part of the stable API:
/// use the typed wrappers in [`claims`](mod@claims), [`format`](mod@format) and [`host`].
#[doc(hidden)]
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod wit {
    /// Bindings for the `claim-provider` world.
    pub mod claims_world {
        wit_bindgen::generate!({
            path: "wit/sigil-plugin@0.1.0",
            world: "claim-provider",
            runtime_path: "::sigil_plugin_sdk::__wit_bindgen::rt",
            pub_export_macro: true,
            export_macro_name: "__export_claim_provider_world",
        });
    }
    /// Bindings for the `credential-format` world.
    pub mod format_world {
        wit_bindgen::generate!({
            path: "wit/sigil-plugin@0.1.0",
            world: "credential-format",
            runtime_path: "::sigil_plugin_sdk::__wit_bindgen::rt",
            pub_export_macro: true,
            export_macro_name: "__export_credential_format_world",
        });
    }
}

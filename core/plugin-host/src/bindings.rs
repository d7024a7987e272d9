//! Host bindings generated from the frozen WIT package `sigil:plugin@0.1.0`.

#![allow(missing_docs, reason = "bindgen-generated code")]

/// The `claim-provider` world.
pub mod claims {
    wasmtime::component::bindgen!({
        path: "../../plugin-sdk/wit/sigil-plugin@0.1.0",
        world: "claim-provider",
        exports: { default: async },
    });
}

/// The `credential-format` world. Shares `types` and `host` with [`claims`].
pub mod format {
    wasmtime::component::bindgen!({
        path: "../../plugin-sdk/wit/sigil-plugin@0.1.0",
        world: "credential-format",
        exports: { default: async },
        with: {
            "sigil:plugin/types": crate::bindings::claims::sigil::plugin::types,
            "sigil:plugin/host": crate::bindings::claims::sigil::plugin::host,
            "sigil:plugin/signing.signing-key": crate::signing::KeyHandle,
        },
    });
}

/// The WIT package version this host implements.
pub const WIT_VERSION: &str = "0.1.0";
/// The WIT package name with version, as plugins declare it in `api`.
pub const WIT_PACKAGE: &str = "sigil:plugin@0.1.0";

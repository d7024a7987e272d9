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

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use sha2::{Digest, Sha256};
    use std::path::Path;

    /// Released WIT versions are frozen: their digest must match
    /// `plugin-sdk/wit/FROZEN`. Add a new version instead of editing one.
    #[test]
    fn released_wit_versions_are_unchanged() {
        let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugin-sdk/wit");
        let frozen = std::fs::read_to_string(wit.join("FROZEN")).expect("FROZEN");
        let mut checked = 0;
        for line in frozen
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (folder, digest) = line.split_once(' ').expect("<folder> <sha256>");
            let dir = wit.join(folder);
            let mut names: Vec<_> = std::fs::read_dir(&dir)
                .expect("released folder")
                .map(|e| {
                    e.expect("entry")
                        .file_name()
                        .into_string()
                        .expect("utf-8 name")
                })
                .collect();
            names.sort();
            let mut hasher = Sha256::new();
            for name in names {
                hasher.update(format!("{name}\n").as_bytes());
                hasher.update(std::fs::read(dir.join(&name)).expect("read"));
            }
            assert_eq!(
                hex::encode(hasher.finalize()),
                digest.trim(),
                "{folder} was edited after release"
            );
            checked += 1;
        }
        assert!(checked >= 1);
        assert!(frozen.contains(&format!("sigil-plugin@{} ", super::WIT_VERSION)));
    }

    /// The Python and JavaScript SDKs ship a copy of the WIT package their
    /// plugins are built against: it must be this host's, byte for byte.
    #[test]
    fn the_python_and_js_sdks_carry_the_current_wit() {
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugin-sdk");
        let source = sdk.join(format!("wit/sigil-plugin@{}", super::WIT_VERSION));
        for copy in ["python/sigil_plugin/wit/deps/sigil-plugin", "js/wit"] {
            let copy = sdk.join(copy);
            let mut names: Vec<_> = std::fs::read_dir(&source)
                .expect("WIT folder")
                .map(|e| e.expect("entry").file_name())
                .collect();
            names.sort();
            for name in names {
                assert_eq!(
                    std::fs::read(copy.join(&name)).ok(),
                    Some(std::fs::read(source.join(&name)).expect("read")),
                    "{} differs from {}: copy the WIT again",
                    copy.join(&name).display(),
                    source.join(&name).display()
                );
            }
        }
    }
}

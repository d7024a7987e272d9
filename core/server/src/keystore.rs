//! Issuer keys on disk: load the key folder, or create a development key
//! with a demo IACA + document signer chain.
//!
//! Files in `<keys.dir>/<tenant>/`:
//! - `issuer-p256.private.jwk.json`: the issuer key (private JWK);
//! - `issuer-p256.chain.pem`: its X.509 chain, leaf (document signer) first;
//!   the IACA root is left out, as ISO/IEC 18013-5 `x5chain` does;
//! - `iaca.pem` / `iaca.private.pem`: the demo IACA root and its key
//!   (generated only with `keys.generate_if_missing`; verifiers are given
//!   `iaca.pem` as their trust anchor).

use std::path::Path;
use std::sync::Arc;

use sigil_keys::x509::{DemoChainOptions, DemoIaca, chain_to_pem, parse_pem_chain};
use sigil_keys::{IssuerKey, SharedSigner, Signer};
use sigil_settings::SettingsError;

/// File name of the generated development key.
pub const DEV_KEY_FILE: &str = "issuer-p256.private.jwk.json";
/// File name of the development key's chain (PEM, leaf first).
pub const DEV_CHAIN_FILE: &str = "issuer-p256.chain.pem";
/// The demo IACA root certificate (PEM).
pub const IACA_FILE: &str = "iaca.pem";
/// The demo IACA's private key (PKCS#8 PEM).
pub const IACA_KEY_FILE: &str = "iaca.private.pem";

/// Load the issuer key from `dir` (a private JWK file), generating and
/// writing one when `generate` is set and none exists; attach its chain,
/// generating a demo chain when `generate` is set and none exists.
pub fn load_or_generate(
    dir: &Path,
    generate: bool,
    config: &Path,
    chain: &DemoChainOptions,
) -> Result<SharedSigner, SettingsError> {
    let key = load_or_generate_key(dir, generate, config)?;
    let chain_path = dir.join(DEV_CHAIN_FILE);
    if !chain_path.is_file() && generate {
        write_demo_chain(dir, &key, chain).map_err(|problem| {
            SettingsError::new(
                config,
                "keys.dir",
                format!(
                    "cannot write a demo certificate chain to {}: {problem}",
                    chain_path.display()
                ),
                "make the folder writable, or put a PEM chain (leaf first) there",
            )
        })?;
    }
    let key = if chain_path.is_file() {
        let text = std::fs::read_to_string(&chain_path).map_err(|e| {
            SettingsError::new(
                &chain_path,
                "-",
                format!("cannot read the chain: {e}"),
                "check the file's permissions",
            )
        })?;
        let certs = parse_pem_chain(&text).map_err(|e| {
            SettingsError::new(
                &chain_path,
                "-",
                e.to_string(),
                "the file must hold PEM CERTIFICATE blocks, the issuer key's certificate first",
            )
        })?;
        key.with_certificate_chain(certs)
    } else {
        key
    };
    Ok(Arc::new(key))
}

/// Write `iaca.pem` + `iaca.private.pem` (when missing) and a document
/// signer chain for `key` in `dir`.
pub fn write_demo_chain(
    dir: &Path,
    key: &dyn Signer,
    opts: &DemoChainOptions,
) -> Result<(), String> {
    let iaca = load_or_generate_iaca(dir, opts)?;
    let ds = iaca
        .issue_document_signer(key, opts)
        .map_err(|e| e.to_string())?;
    let path = dir.join(DEV_CHAIN_FILE);
    std::fs::write(&path, chain_to_pem(&[ds])).map_err(|e| e.to_string())?;
    tracing::warn!(path = %path.display(), kid = %key.key_id(), "generated a demo document signer certificate");
    Ok(())
}

fn load_or_generate_iaca(dir: &Path, opts: &DemoChainOptions) -> Result<DemoIaca, String> {
    let cert = dir.join(IACA_FILE);
    let private = dir.join(IACA_KEY_FILE);
    if cert.is_file() || private.is_file() {
        let read =
            |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
        return Ok(DemoIaca {
            certificate_pem: read(&cert)?,
            private_key_pem: read(&private)?,
        });
    }
    let iaca = DemoIaca::generate(opts).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    std::fs::write(&private, &iaca.private_key_pem).map_err(|e| e.to_string())?;
    restrict_permissions(&private).map_err(|e| e.to_string())?;
    std::fs::write(&cert, &iaca.certificate_pem).map_err(|e| e.to_string())?;
    tracing::warn!(path = %cert.display(), "generated a demo IACA root certificate (development only)");
    Ok(iaca)
}

fn load_or_generate_key(
    dir: &Path,
    generate: bool,
    config: &Path,
) -> Result<IssuerKey, SettingsError> {
    let path = dir.join(DEV_KEY_FILE);
    if path.is_file() {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            SettingsError::new(
                &path,
                "-",
                format!("cannot read the key: {e}"),
                "check the file's permissions",
            )
        })?;
        let jwk: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            SettingsError::new(
                &path,
                "-",
                format!("not JSON: {e}"),
                "the file must hold one private JWK",
            )
        })?;
        return IssuerKey::from_jwk(&jwk).map_err(|e| {
            SettingsError::new(
                &path,
                "-",
                e.to_string(),
                "use an EC P-256 private JWK (kty EC, crv P-256, d)",
            )
        });
    }
    if !generate {
        return Err(SettingsError::new(
            config,
            "keys.dir",
            format!("no issuer key at {}", path.display()),
            "put a P-256 private JWK there, or set keys.generate_if_missing = true for development",
        ));
    }
    let key = IssuerKey::generate_p256();
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let text = serde_json::to_string_pretty(&key.to_private_jwk()).unwrap_or_default();
        std::fs::write(&path, text)?;
        restrict_permissions(&path)
    };
    write().map_err(|e| {
        SettingsError::new(
            config,
            "keys.dir",
            format!("cannot write a new key to {}: {e}", path.display()),
            "make the folder writable or point keys.dir elsewhere",
        )
    })?;
    tracing::warn!(path = %path.display(), kid = %key.key_id(), "generated a development issuer key");
    Ok(key)
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_permissions(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn opts() -> DemoChainOptions {
        DemoChainOptions::new("Test", "http://127.0.0.1:8099")
    }

    #[test]
    fn dev_key_comes_with_a_demo_chain_that_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("sigil.toml");
        let keys = dir.path().join("keys/default");
        let first = load_or_generate(&keys, true, &cfg, &opts()).unwrap();
        assert_eq!(first.certificate_chain().len(), 1);
        assert!(keys.join(IACA_FILE).is_file());
        assert!(keys.join(DEV_CHAIN_FILE).is_file());
        let again = load_or_generate(&keys, false, &cfg, &opts()).unwrap();
        assert_eq!(again.key_id(), first.key_id());
        assert_eq!(again.certificate_chain(), first.certificate_chain());
    }

    #[test]
    fn an_existing_key_without_a_chain_gets_one() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("sigil.toml");
        let keys = dir.path().join("keys");
        let key = IssuerKey::generate_p256();
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::write(keys.join(DEV_KEY_FILE), key.to_private_jwk().to_string()).unwrap();
        // Without generation, no chain appears.
        let plain = load_or_generate(&keys, false, &cfg, &opts()).unwrap();
        assert!(plain.certificate_chain().is_empty());
        let loaded = load_or_generate(&keys, true, &cfg, &opts()).unwrap();
        assert_eq!(loaded.key_id(), key.key_id());
        let leaf = sigil_keys::x509::certificate_info(&loaded.certificate_chain()[0]).unwrap();
        assert_eq!(
            leaf.public_key,
            sigil_keys::jwk::public_key_bytes(&key.public_jwk()).unwrap()
        );
    }
}

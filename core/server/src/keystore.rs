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
use std::time::{Duration, SystemTime};

use sigil_keys::x509::{
    DemoChainOptions, DemoIaca, certificate_info, chain_to_pem, parse_pem_chain, rfc3339,
};
use sigil_keys::{Algorithm, IssuerKey, SharedSigner, Signer};
use sigil_settings::SettingsError;

/// File name of the generated development key.
pub const DEV_KEY_FILE: &str = "issuer-p256.private.jwk.json";
/// File name of the development key's chain (PEM, leaf first).
pub const DEV_CHAIN_FILE: &str = "issuer-p256.chain.pem";
/// The demo IACA root certificate (PEM).
pub const IACA_FILE: &str = "iaca.pem";
/// The demo IACA's private key (PKCS#8 PEM).
pub const IACA_KEY_FILE: &str = "iaca.private.pem";

/// The stem of the generated key's files for `alg`.
fn stem(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::Es384 => "issuer-p384",
        Algorithm::EdDsa => "issuer-ed25519",
        _ => "issuer-p256",
    }
}

/// The key file name for `alg` (`issuer-p256.private.jwk.json`, ...).
pub fn key_file(alg: Algorithm) -> String {
    format!("{}.private.jwk.json", stem(alg))
}

/// The chain file name for `alg` (`issuer-p256.chain.pem`, ...).
pub fn chain_file(alg: Algorithm) -> String {
    format!("{}.chain.pem", stem(alg))
}

/// Load the issuer key from `dir` (a private JWK file), generating and
/// writing one when `generate` is set and none exists; attach its chain,
/// generating a demo chain when `generate` is set and none exists.
pub fn load_or_generate(
    dir: &Path,
    generate: bool,
    config: &Path,
    chain: &DemoChainOptions,
) -> Result<SharedSigner, SettingsError> {
    load_or_generate_alg(dir, Algorithm::Es256, generate, config, chain)
}

/// [`load_or_generate`] for a key of `alg`.
pub fn load_or_generate_alg(
    dir: &Path,
    alg: Algorithm,
    generate: bool,
    config: &Path,
    chain: &DemoChainOptions,
) -> Result<SharedSigner, SettingsError> {
    let key = load_or_generate_key(dir, alg, generate, config)?;
    let chain_path = dir.join(chain_file(alg));
    if !chain_path.is_file() && generate {
        write_demo_chain(dir, &chain_path, &key, chain).map_err(|problem| {
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

/// Folder of retired keys inside a tenant's key folder: each is still
/// published so what it signed verifies; delete one once nothing it signed
/// is still valid.
pub const RETIRED_DIR: &str = "retired";

/// The retired keys of `dir` (`retired/*.private.jwk.json`).
pub fn load_retired(dir: &Path) -> Result<Vec<SharedSigner>, SettingsError> {
    let mut out: Vec<SharedSigner> = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join(RETIRED_DIR)) else {
        return Ok(out);
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".private.jwk.json"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            SettingsError::new(
                &path,
                "-",
                format!("cannot read the key: {e}"),
                "check the file's permissions",
            )
        })?;
        let key = IssuerKey::from_file_text(&text).map_err(|e| {
            SettingsError::new(
                &path,
                "-",
                e.to_string(),
                "use a private JWK, or delete the retired key",
            )
        })?;
        out.push(Arc::new(key));
    }
    Ok(out)
}

/// Rotate a tenant's key without restart: move the active key of `alg`
/// (and its chain) to `retired/<kid>.*`, then generate a new active key
/// (with a demo chain when the folder has the demo IACA's key).
pub fn rotate(
    dir: &Path,
    alg: Algorithm,
    config: &Path,
    chain: &DemoChainOptions,
) -> Result<SharedSigner, SettingsError> {
    let current = load_or_generate_key(dir, alg, false, config)?;
    let retired = dir.join(RETIRED_DIR);
    let kid = current.key_id().replace(['/', '\\', '.'], "_");
    let fail = |e: std::io::Error| {
        SettingsError::new(
            dir,
            "-",
            format!("cannot retire the active key: {e}"),
            "make the key folder writable",
        )
    };
    std::fs::create_dir_all(&retired).map_err(fail)?;
    std::fs::rename(
        dir.join(key_file(alg)),
        retired.join(format!("{kid}.private.jwk.json")),
    )
    .map_err(fail)?;
    let chain_path = dir.join(chain_file(alg));
    if chain_path.is_file() {
        std::fs::rename(&chain_path, retired.join(format!("{kid}.chain.pem"))).map_err(fail)?;
    }
    let demo = dir.join(IACA_KEY_FILE).is_file();
    load_or_generate_key(dir, alg, true, config)?;
    let key = load_or_generate_alg(dir, alg, demo, config, chain)?;
    if !demo {
        // Without the demo IACA nothing else may be generated: the new key
        // alone (its chain is the operator's to add).
        tracing::warn!(kid = %key.key_id(), "rotated without a certificate chain");
    }
    tracing::warn!(old = %current.key_id(), new = %key.key_id(), "rotated the issuer key");
    Ok(key)
}

/// Check the chain at `chain_path` against `signer` (its key, leaf first)
/// and against `validity`: the longest credential validity in seconds and
/// the configuration that asks for it. Every certificate must be valid now
/// and until a credential issued now expires.
pub fn check_chain(
    chain_path: &Path,
    signer: &dyn Signer,
    validity: Option<(u64, &str)>,
    now: SystemTime,
) -> Result<(), SettingsError> {
    let chain = signer.certificate_chain();
    let Some(leaf) = chain.first() else {
        return Ok(());
    };
    let bad = |e: sigil_keys::x509::ChainError| {
        SettingsError::new(
            chain_path,
            "-",
            e.to_string(),
            "use a PEM X.509 chain, the issuer key's certificate first",
        )
    };
    let info = certificate_info(leaf).map_err(bad)?;
    let ours = sigil_keys::jwk::public_key_bytes(&signer.public_jwk()).unwrap_or_default();
    if info.public_key != ours {
        return Err(SettingsError::new(
            chain_path,
            "-",
            format!(
                "the first certificate ({}) does not certify the issuer key (kid '{}')",
                info.subject,
                signer.key_id()
            ),
            "put this key's own certificate first (leaf first, then intermediates), or delete the file in development to get a new demo chain",
        ));
    }
    let until = now + Duration::from_secs(validity.map(|v| v.0).unwrap_or(0));
    for der in chain {
        let info = certificate_info(der).map_err(bad)?;
        if info.not_before > now {
            return Err(SettingsError::new(
                chain_path,
                "-",
                format!(
                    "certificate '{}' is not valid before {}",
                    info.subject,
                    rfc3339(info.not_before)
                ),
                "use a certificate that is valid now (and check the clock)",
            ));
        }
        if info.not_after < until {
            let why = match validity {
                Some((secs, what)) => format!(
                    ", before a credential issued now would expire ({what}: validity_seconds = {secs}, until {})",
                    rfc3339(until)
                ),
                None => String::new(),
            };
            return Err(SettingsError::new(
                chain_path,
                "-",
                format!(
                    "certificate '{}' expires {}{why}",
                    info.subject,
                    rfc3339(info.not_after)
                ),
                format!(
                    "renew the certificate so it is valid until at least {} (development: delete the chain file and a new demo chain is generated), or shorten validity_seconds",
                    rfc3339(until)
                ),
            ));
        }
    }
    Ok(())
}

/// Write `iaca.pem` + `iaca.private.pem` (when missing) and a document
/// signer chain for `key` in `dir`.
pub fn write_demo_chain(
    dir: &Path,
    path: &Path,
    key: &dyn Signer,
    opts: &DemoChainOptions,
) -> Result<(), String> {
    let iaca = load_or_generate_iaca(dir, opts)?;
    let ds = iaca
        .issue_document_signer(key, opts)
        .map_err(|e| e.to_string())?;
    std::fs::write(path, chain_to_pem(&[ds])).map_err(|e| e.to_string())?;
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
    alg: Algorithm,
    generate: bool,
    config: &Path,
) -> Result<IssuerKey, SettingsError> {
    let path = dir.join(key_file(alg));
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
                "use a private JWK of the key's algorithm (EC P-256 / P-384 with d, or OKP Ed25519 with d)",
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
    let key = IssuerKey::generate(alg).map_err(|e| {
        SettingsError::new(
            config,
            "keys.algorithm",
            e.to_string(),
            "check the OS random source",
        )
    })?;
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

    #[test]
    fn chain_check_rejects_short_validity_and_a_foreign_leaf() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("sigil.toml");
        let keys = dir.path().join("keys");
        let key = load_or_generate(&keys, true, &cfg, &opts()).unwrap();
        let chain = keys.join(DEV_CHAIN_FILE);
        let now = SystemTime::now();
        // A one-year credential fits the 730-day demo DS certificate...
        check_chain(&chain, key.as_ref(), Some((31_536_000, "a.toml")), now).unwrap();
        // ...a three-year one does not, and the error names file and fix.
        let e = check_chain(&chain, key.as_ref(), Some((94_608_000, "b.toml")), now)
            .expect_err("must fail");
        assert_eq!(e.file, chain);
        assert!(e.to_string().contains("b.toml"), "{e}");
        assert!(e.fix.contains("renew"), "{e}");
        // A chain for another key is refused.
        let other =
            IssuerKey::generate_p256().with_certificate_chain(key.certificate_chain().to_vec());
        let e = check_chain(&chain, &other, None, now).expect_err("must fail");
        assert!(e.to_string().contains("does not certify"), "{e}");
    }
}

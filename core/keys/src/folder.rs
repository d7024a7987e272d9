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

use sigil_time::rfc3339_system as rfc3339;

use crate::x509::{DemoChainOptions, DemoIaca, certificate_info, chain_to_pem, parse_pem_chain};
use crate::{Algorithm, IssuerKey, KeyFolderError, SharedSigner, Signer};

/// File name of the generated development key.
pub const DEV_KEY_FILE: &str = "issuer-p256.private.jwk.json";
/// File name of the development key's chain (PEM, leaf first).
pub const DEV_CHAIN_FILE: &str = "issuer-p256.chain.pem";
/// The demo IACA root certificate (PEM).
pub const IACA_FILE: &str = "iaca.pem";
/// The demo IACA's private key (PKCS#8 PEM).
pub const IACA_KEY_FILE: &str = "iaca.private.pem";

/// The name (file stem) of the generated key for `alg`.
pub fn stem(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::Es384 => "issuer-p384",
        Algorithm::EdDsa => "issuer-ed25519",
        Algorithm::Es256 => "issuer-p256",
    }
}

/// Suffix of private JWK key files.
pub const JWK_SUFFIX: &str = ".private.jwk.json";
/// Suffix of PEM key files (PKCS#8 or SEC1).
pub const PEM_SUFFIX: &str = ".private.pem";
/// Suffix of chain files (PEM, leaf first).
pub const CHAIN_SUFFIX: &str = ".chain.pem";

/// The key file name for `alg` (`issuer-p256.private.jwk.json`, ...).
pub fn key_file(alg: Algorithm) -> String {
    format!("{}{JWK_SUFFIX}", stem(alg))
}

/// The chain file name for `alg` (`issuer-p256.chain.pem`, ...).
pub fn chain_file(alg: Algorithm) -> String {
    format!("{}{CHAIN_SUFFIX}", stem(alg))
}

/// Load the issuer key from `dir` (a private JWK file), generating and
/// writing one when `generate` is set and none exists; attach its chain,
/// generating a demo chain when `generate` is set and none exists.
pub fn load_or_generate(
    dir: &Path,
    generate: bool,
    config: &Path,
    chain: &DemoChainOptions,
) -> Result<SharedSigner, KeyFolderError> {
    load_or_generate_alg(dir, Algorithm::Es256, generate, config, chain)
}

/// [`load_or_generate`] for a key of `alg`.
pub fn load_or_generate_alg(
    dir: &Path,
    alg: Algorithm,
    generate: bool,
    config: &Path,
    chain: &DemoChainOptions,
) -> Result<SharedSigner, KeyFolderError> {
    load_or_generate_named(dir, stem(alg), alg, generate, config, chain)
}

/// Load key `name` of `dir` (`<name>.private.jwk.json` or
/// `<name>.private.pem`) with its chain (`<name>.chain.pem`); when
/// `generate` is set, create a missing key of `alg` and a missing demo chain.
pub fn load_or_generate_named(
    dir: &Path,
    name: &str,
    alg: Algorithm,
    generate: bool,
    config: &Path,
    chain: &DemoChainOptions,
) -> Result<SharedSigner, KeyFolderError> {
    let key = load_or_generate_key(dir, name, alg, generate, config)?;
    let chain_path = dir.join(format!("{name}{CHAIN_SUFFIX}"));
    if !chain_path.is_file() && generate {
        write_demo_chain(dir, &chain_path, &key, chain).map_err(|problem| {
            KeyFolderError::new(
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
    Ok(Arc::new(with_chain_file(key, &chain_path)?))
}

/// `key` with the chain in `chain_path` attached, when that file exists.
pub fn with_chain_file(key: IssuerKey, chain_path: &Path) -> Result<IssuerKey, KeyFolderError> {
    if !chain_path.is_file() {
        return Ok(key);
    }
    let text = std::fs::read_to_string(chain_path).map_err(|e| {
        KeyFolderError::new(
            chain_path,
            "-",
            format!("cannot read the chain: {e}"),
            "check the file's permissions",
        )
    })?;
    let certs = parse_pem_chain(&text).map_err(|e| {
        KeyFolderError::new(
            chain_path,
            "-",
            e.to_string(),
            "the file must hold PEM CERTIFICATE blocks, the issuer key's certificate first",
        )
    })?;
    Ok(key.with_certificate_chain(certs))
}

/// Read a key file: a private JWK (`.private.jwk.json`) or a PEM private
/// key (`.private.pem`, PKCS#8 or SEC1).
pub fn read_key_file(path: &Path) -> Result<IssuerKey, KeyFolderError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        KeyFolderError::new(
            path,
            "-",
            format!("cannot read the key: {e}"),
            "check the file's permissions",
        )
    })?;
    IssuerKey::from_file_text(&text).map_err(|e| {
        KeyFolderError::new(
            path,
            "-",
            e.to_string(),
            "use a private JWK (EC P-256 / P-384 with d, or OKP Ed25519 with d) or an unencrypted PKCS#8 / SEC1 PEM key",
        )
    })
}

/// Folder of retired keys inside a tenant's key folder: each is still
/// published so what it signed verifies; delete one once nothing it signed
/// is still valid.
pub const RETIRED_DIR: &str = "retired";

/// The retired keys of `dir` (`retired/*.private.jwk.json`).
pub fn load_retired(dir: &Path) -> Result<Vec<SharedSigner>, KeyFolderError> {
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
        out.push(Arc::new(read_key_file(&path)?));
    }
    Ok(out)
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
) -> Result<(), KeyFolderError> {
    let chain = signer.certificate_chain();
    let Some(leaf) = chain.first() else {
        return Ok(());
    };
    let bad = |e: crate::x509::ChainError| {
        KeyFolderError::new(
            chain_path,
            "-",
            e.to_string(),
            "use a PEM X.509 chain, the issuer key's certificate first",
        )
    };
    let info = certificate_info(leaf).map_err(bad)?;
    let ours = crate::jwk::public_key_bytes(&signer.public_jwk()).unwrap_or_default();
    if info.public_key != ours {
        return Err(KeyFolderError::new(
            chain_path,
            "-",
            format!(
                "the first certificate ({}) does not certify the signing key (kid '{}')",
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
            return Err(KeyFolderError::new(
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
            return Err(KeyFolderError::new(
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

/// The `countryName` of the demo IACA of `dir`, when there is one.
pub fn iaca_country(dir: &Path) -> Result<Option<String>, String> {
    let path = dir.join(IACA_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let certs = parse_pem_chain(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let first = certs
        .first()
        .ok_or_else(|| format!("{}: no CERTIFICATE block", path.display()))?;
    let info = certificate_info(first).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(info.country)
}

/// The demo IACA of `dir`, generated (certificate and key) when missing.
pub fn load_or_generate_iaca(dir: &Path, opts: &DemoChainOptions) -> Result<DemoIaca, String> {
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

/// Load key `name` from `dir`, or generate one of `alg` there.
pub fn load_or_generate_key(
    dir: &Path,
    name: &str,
    alg: Algorithm,
    generate: bool,
    config: &Path,
) -> Result<IssuerKey, KeyFolderError> {
    let path = dir.join(format!("{name}{JWK_SUFFIX}"));
    let pem = dir.join(format!("{name}{PEM_SUFFIX}"));
    if path.is_file() && pem.is_file() {
        return Err(KeyFolderError::new(
            &pem,
            "-",
            format!(
                "key '{name}' has two files, {} and this one",
                path.display()
            ),
            "keep one of the two files",
        ));
    }
    if path.is_file() || pem.is_file() {
        return read_key_file(if path.is_file() { &path } else { &pem });
    }
    if !generate {
        return Err(KeyFolderError::new(
            config,
            "keys.dir",
            format!("no issuer key at {} (or {})", path.display(), pem.display()),
            "put a P-256 private JWK or PEM key there, or set keys.generate_if_missing = true for development",
        ));
    }
    let key = IssuerKey::generate(alg).map_err(|e| {
        KeyFolderError::new(
            config,
            "keys.algorithm",
            e.to_string(),
            "check the OS random source",
        )
    })?;
    write_key(dir, name, &key).map_err(|e| {
        KeyFolderError::new(
            config,
            "keys.dir",
            format!("cannot write a new key to {}: {e}", path.display()),
            "make the folder writable or point keys.dir elsewhere",
        )
    })?;
    tracing::warn!(path = %path.display(), kid = %key.key_id(), "generated an issuer key");
    Ok(key)
}

/// Write `key` as `<dir>/<name>.private.jwk.json`, readable by the owner only.
pub fn write_key(dir: &Path, name: &str, key: &IssuerKey) -> std::io::Result<()> {
    let path = dir.join(format!("{name}{JWK_SUFFIX}"));
    std::fs::create_dir_all(dir)?;
    let text = serde_json::to_string_pretty(&key.to_private_jwk()).unwrap_or_default();
    std::fs::write(&path, text)?;
    restrict_permissions(&path)
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
pub(crate) mod tests {
    use super::*;

    /// Demo chain options of the key folder tests.
    pub(crate) fn opts() -> DemoChainOptions {
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
        let leaf = crate::x509::certificate_info(&loaded.certificate_chain()[0]).unwrap();
        assert_eq!(
            leaf.public_key,
            crate::jwk::public_key_bytes(&key.public_jwk()).unwrap()
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
        // A one-year credential fits the 457-day demo DS certificate...
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

//! A tenant's key folder as a whole: one active key, standby keys, retired
//! keys, and the key manifest `keys.toml` that chooses the active one.
//!
//! ```text
//! keys/<tenant>/
//!   keys.toml                      # optional: active = "<name>"
//!   <name>.private.jwk.json        # a key (private JWK) ...
//!   <name>.private.pem             # ... or PEM (PKCS#8 / SEC1), one per name
//!   <name>.chain.pem               # optional X.509 chain, leaf first
//!   retired/<kid>.private.jwk.json # retired: published, never signs
//! ```
//!
//! Without a manifest the active key is the generated one
//! (`issuer-p256`, or `issuer-p384` / `issuer-ed25519` per
//! `keys.algorithm`). Every other key in the folder is on *standby*: it is
//! published (JWKS, DID document), an offer may choose it with
//! `runtimeOverrides.issuerKeyId`, and `sigil keys activate` makes it the
//! active one. Publishing the next key as standby before activating it lets
//! verifiers' JWKS caches catch up before the first credential it signs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::folder::{
    CHAIN_SUFFIX, IACA_FILE, IACA_KEY_FILE, JWK_SUFFIX, PEM_SUFFIX, RETIRED_DIR, check_chain,
    load_or_generate_key, load_or_generate_named, load_retired, read_key_file, stem,
    with_chain_file, write_demo_chain,
};
use crate::x509::{DemoChainOptions, issued_by, parse_pem_chain};
use crate::{Algorithm, KeyFolderError, SharedSigner};

/// The key manifest's file name.
pub const MANIFEST_FILE: &str = "keys.toml";

/// `keys.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The name (file stem) of the key that signs.
    pub active: String,
}

/// A key of the folder with the name its files carry.
#[derive(Debug, Clone)]
pub struct NamedKey {
    /// File stem (`issuer-p256`, `hsm-2026`).
    pub name: String,
    /// The key with its chain.
    pub signer: SharedSigner,
}

impl NamedKey {
    /// Path of this key's chain file in `dir` (it may not exist).
    pub fn chain_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}{CHAIN_SUFFIX}", self.name))
    }
}

/// Every key of one tenant folder.
#[derive(Debug, Clone)]
pub struct KeyRing {
    /// The folder.
    pub dir: PathBuf,
    /// The key that signs unless an offer chooses another.
    pub active: NamedKey,
    /// Published keys an offer may choose, by name.
    pub standby: Vec<NamedKey>,
    /// Published keys that no longer sign.
    pub retired: Vec<SharedSigner>,
}

impl KeyRing {
    /// The active key, then the standby keys.
    pub fn signing_keys(&self) -> impl Iterator<Item = &NamedKey> {
        std::iter::once(&self.active).chain(&self.standby)
    }
}

/// Read `<dir>/keys.toml`, if there is one.
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>, KeyFolderError> {
    let path = dir.join(MANIFEST_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    toml::from_str(&text).map(Some).map_err(|e| {
        KeyFolderError::new(
            &path,
            "active",
            e.message().to_owned(),
            "the manifest holds one line: active = \"<key name>\" (a key file's name without .private.jwk.json / .private.pem)",
        )
    })
}

/// Write `<dir>/keys.toml` naming `active`.
pub fn write_manifest(dir: &Path, active: &str) -> std::io::Result<()> {
    let text = format!(
        "# The key that signs: a key file's name in this folder without\n# .private.jwk.json / .private.pem. Other keys here are published (standby).\n{}",
        toml::to_string(&Manifest {
            active: active.to_owned()
        })
        .unwrap_or_default()
    );
    std::fs::write(dir.join(MANIFEST_FILE), text)
}

/// The names of the key files in `dir` (not the demo IACA's key).
pub fn key_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|f| f != IACA_KEY_FILE)
        .filter_map(|f| {
            f.strip_suffix(JWK_SUFFIX)
                .or_else(|| f.strip_suffix(PEM_SUFFIX))
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Load the folder of one tenant. Without a manifest, the generated key of
/// `alg` is active (created with a demo chain when `generate` is set).
pub fn load(
    dir: &Path,
    alg: Algorithm,
    generate: bool,
    config: &Path,
    chain: &DemoChainOptions,
) -> Result<KeyRing, KeyFolderError> {
    let manifest = read_manifest(dir)?;
    let active_name = match &manifest {
        Some(m) => m.active.clone(),
        None => stem(alg).to_owned(),
    };
    if manifest.is_some() && !key_names(dir).contains(&active_name) {
        return Err(KeyFolderError::new(
            dir.join(MANIFEST_FILE),
            "active",
            format!("no key named '{active_name}' in {}", dir.display()),
            format!(
                "put {active_name}{JWK_SUFFIX} or {active_name}{PEM_SUFFIX} in the folder, or name one of: {}",
                key_names(dir).join(", ")
            ),
        ));
    }
    let active = load_or_generate_named(dir, &active_name, alg, generate, config, chain)?;
    let mut standby = Vec::new();
    for name in key_names(dir) {
        if name == active_name {
            continue;
        }
        let file = [JWK_SUFFIX, PEM_SUFFIX]
            .iter()
            .map(|s| dir.join(format!("{name}{s}")))
            .find(|p| p.is_file())
            .unwrap_or_default();
        let key = read_key_file(&file)?;
        let key = with_chain_file(key, &dir.join(format!("{name}{CHAIN_SUFFIX}")))?;
        standby.push(NamedKey {
            name,
            signer: Arc::new(key),
        });
    }
    let ring = KeyRing {
        dir: dir.to_owned(),
        active: NamedKey {
            name: active_name,
            signer: active,
        },
        standby,
        retired: load_retired(dir)?,
    };
    let mut seen = std::collections::BTreeMap::new();
    for k in ring.signing_keys() {
        if let Some(other) = seen.insert(k.signer.key_id().to_owned(), k.name.clone()) {
            return Err(KeyFolderError::new(
                dir,
                "-",
                format!(
                    "keys '{other}' and '{}' have the same kid '{}'",
                    k.name,
                    k.signer.key_id()
                ),
                "give each key its own kid (or remove the copy)",
            ));
        }
    }
    Ok(ring)
}

/// Rotate: retire the active key (files moved to `retired/<kid>.*`), create
/// a new key of `alg` (with a demo chain when the folder holds the demo
/// IACA's key) and make it active. Standby keys stay as they are.
pub fn rotate(
    dir: &Path,
    alg: Algorithm,
    config: &Path,
    chain: &DemoChainOptions,
) -> Result<KeyRing, KeyFolderError> {
    let ring = load(dir, alg, false, config, chain)?;
    let old = &ring.active;
    let kid = old.signer.key_id().replace(['/', '\\', '.'], "_");
    let retired = dir.join(RETIRED_DIR);
    let fail = |e: std::io::Error| {
        KeyFolderError::new(
            dir,
            "-",
            format!("cannot retire the active key: {e}"),
            "make the key folder writable",
        )
    };
    std::fs::create_dir_all(&retired).map_err(fail)?;
    for suffix in [JWK_SUFFIX, PEM_SUFFIX, CHAIN_SUFFIX] {
        let from = dir.join(format!("{}{suffix}", old.name));
        if from.is_file() {
            // Retired keys are read as `<kid>.private.jwk.json`; a PEM key
            // keeps its PEM text under that name (the loader sniffs it).
            let to_suffix = if suffix == PEM_SUFFIX {
                JWK_SUFFIX
            } else {
                suffix
            };
            std::fs::rename(&from, retired.join(format!("{kid}{to_suffix}"))).map_err(fail)?;
        }
    }
    let mut name = stem(alg).to_owned();
    if key_names(dir).contains(&name) {
        let now = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        name = format!("{name}-{now}");
    }
    let demo = dir.join(IACA_KEY_FILE).is_file();
    load_or_generate_key(dir, &name, alg, true, config)?;
    load_or_generate_named(dir, &name, alg, demo, config, chain)?;
    if name != stem(alg) || dir.join(MANIFEST_FILE).is_file() {
        write_manifest(dir, &name).map_err(fail)?;
    }
    let ring = load(dir, alg, false, config, chain)?;
    if ring.active.signer.certificate_chain().is_empty() && !demo {
        tracing::warn!(kid = %ring.active.signer.key_id(), "rotated without a certificate chain");
    }
    tracing::warn!(old = %old.signer.key_id(), new = %ring.active.signer.key_id(), "rotated the issuer key");
    Ok(ring)
}

/// One tenant's key folder with the plain values that say how to load it
/// (a configuration's `keys.dir/<tenant>`, `keys.algorithm` and
/// `keys.generate_if_missing`, the configuration file errors name, and what
/// a generated demo chain names).
#[derive(Debug, Clone)]
pub struct KeyFolder {
    /// The folder (`<keys.dir>/<tenant>`).
    pub dir: PathBuf,
    /// The algorithm of the generated key (active without a manifest).
    pub algorithm: Algorithm,
    /// Create a missing generated key and missing demo chains (development).
    pub generate: bool,
    /// The configuration file named by errors about the folder as a whole.
    pub config: PathBuf,
    /// What a generated demo chain names.
    pub chain: DemoChainOptions,
}

impl KeyFolder {
    /// [`load`] this folder.
    pub fn load(&self) -> Result<KeyRing, KeyFolderError> {
        load(
            &self.dir,
            self.algorithm,
            self.generate,
            &self.config,
            &self.chain,
        )
    }

    /// [`load`] this folder and [`check_chain`] every key that signs: its
    /// leaf certifies the key, and every certificate is valid `now` and
    /// until a credential issued now expires. `longest` is the longest
    /// credential validity in seconds and the file that asks for it.
    ///
    /// With `generate` (development), a demo chain (issued by the folder's
    /// demo IACA) that fails the check is renewed first: a demo document
    /// signer lives at most 457 days (ISO/IEC 18013-5), fewer than a
    /// one-year credential needs after three months.
    pub fn load_checked(
        &self,
        longest: Option<(u64, &str)>,
        now: SystemTime,
    ) -> Result<KeyRing, KeyFolderError> {
        let mut ring = self.load()?;
        if self.generate && self.renew_demo_chains(&ring, longest, now)? {
            ring = self.load()?;
        }
        for key in ring.signing_keys() {
            check_chain(
                &key.chain_path(&self.dir),
                key.signer.as_ref(),
                longest,
                now,
            )?;
        }
        Ok(ring)
    }

    /// Renew the demo chains of `ring` that fail [`check_chain`]; whether
    /// any was renewed.
    fn renew_demo_chains(
        &self,
        ring: &KeyRing,
        longest: Option<(u64, &str)>,
        now: SystemTime,
    ) -> Result<bool, KeyFolderError> {
        let Some(iaca) = demo_iaca(&self.dir) else {
            return Ok(false);
        };
        let mut renewed = false;
        for key in ring.signing_keys() {
            let path = key.chain_path(&self.dir);
            let from_demo_iaca = key
                .signer
                .certificate_chain()
                .first()
                .is_some_and(|leaf| issued_by(leaf, &iaca));
            if !from_demo_iaca || check_chain(&path, key.signer.as_ref(), longest, now).is_ok() {
                continue;
            }
            write_demo_chain(&self.dir, &path, key.signer.as_ref(), &self.chain).map_err(
                |problem| {
                    KeyFolderError::new(
                        &path,
                        "-",
                        format!("cannot renew the demo certificate chain: {problem}"),
                        "make the folder writable, or run `sigil keys demo-chain --force`",
                    )
                },
            )?;
            tracing::warn!(path = %path.display(), "renewed a demo document signer certificate that no longer covered the credentials' validity");
            renewed = true;
        }
        Ok(renewed)
    }

    /// [`rotate`] this folder's active key.
    pub fn rotate(&self) -> Result<KeyRing, KeyFolderError> {
        rotate(&self.dir, self.algorithm, &self.config, &self.chain)
    }
}

/// The folder's demo IACA certificate (DER), when both it and its key are there.
fn demo_iaca(dir: &Path) -> Option<Vec<u8>> {
    if !dir.join(IACA_KEY_FILE).is_file() {
        return None;
    }
    let text = std::fs::read_to_string(dir.join(IACA_FILE)).ok()?;
    parse_pem_chain(&text).ok()?.into_iter().next()
}

/// Make key `name` of `dir` the active one (writes the manifest).
pub fn activate(dir: &Path, name: &str) -> Result<(), String> {
    let names = key_names(dir);
    if !names.iter().any(|n| n == name) {
        return Err(format!(
            "no key named '{name}' in {}; keys there: {}",
            dir.display(),
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ));
    }
    write_manifest(dir, name).map_err(|e| format!("cannot write {MANIFEST_FILE}: {e}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::folder::tests::opts;
    use crate::{IssuerKey, Signer as _};

    #[test]
    fn standby_keys_are_loaded_and_the_manifest_chooses_the_active_one() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = tmp.path().join("sigil.toml");
        let dir = tmp.path().join("keys");
        let first = load(&dir, Algorithm::Es256, true, &cfg, &opts()).unwrap();
        assert_eq!(first.active.name, "issuer-p256");
        assert!(first.standby.is_empty());
        // An operator drops in an Ed25519 PKCS#8 PEM key (RFC 8410's
        // example): it is on standby.
        std::fs::write(dir.join("next.private.pem"), ED25519_PEM).unwrap();
        let next = IssuerKey::from_file_text(ED25519_PEM).unwrap();
        let ring = load(&dir, Algorithm::Es256, false, &cfg, &opts()).unwrap();
        assert_eq!(ring.active.name, "issuer-p256");
        assert_eq!(ring.standby.len(), 1);
        assert_eq!(ring.standby[0].signer.key_id(), next.key_id());
        // Activate it: the generated key goes on standby.
        activate(&dir, "next").unwrap();
        let ring = load(&dir, Algorithm::Es256, false, &cfg, &opts()).unwrap();
        assert_eq!(ring.active.signer.key_id(), next.key_id());
        assert_eq!(ring.standby[0].name, "issuer-p256");
        // A manifest naming a missing key names the file, the key and the fix.
        let e = activate(&dir, "nope").unwrap_err();
        assert!(e.contains("issuer-p256, next"), "{e}");
        write_manifest(&dir, "nope").unwrap();
        let e = load(&dir, Algorithm::Es256, false, &cfg, &opts()).unwrap_err();
        assert_eq!(e.file, dir.join(MANIFEST_FILE));
        assert_eq!(e.key, "active");
        assert!(e.fix.contains("issuer-p256, next"), "{e}");
    }

    #[test]
    fn rotation_retires_the_active_key_whatever_its_name() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = tmp.path().join("sigil.toml");
        let dir = tmp.path().join("keys");
        let first = load(&dir, Algorithm::Es256, true, &cfg, &opts()).unwrap();
        let old = first.active.signer.key_id().to_owned();
        let ring = rotate(&dir, Algorithm::Es256, &cfg, &opts()).unwrap();
        assert_ne!(ring.active.signer.key_id(), old);
        assert_eq!(ring.active.name, "issuer-p256");
        assert_eq!(ring.retired.len(), 1);
        assert_eq!(ring.retired[0].key_id(), old);
        // The demo IACA is there, so the new key has a chain.
        assert_eq!(ring.active.signer.certificate_chain().len(), 1);
        // A named active key: the new one gets a fresh name and the manifest.
        let p = IssuerKey::generate_p256();
        crate::folder::write_key(&dir, "custom", &p).unwrap();
        activate(&dir, "custom").unwrap();
        let ring = rotate(&dir, Algorithm::Es256, &cfg, &opts()).unwrap();
        assert!(ring.active.name.starts_with("issuer-p256-"), "{ring:?}");
        assert_eq!(ring.standby.len(), 1, "the generated key stays on standby");
        assert!(ring.retired.iter().any(|k| k.key_id() == p.key_id()));
        assert_eq!(
            read_manifest(&dir).unwrap().unwrap().active,
            ring.active.name
        );
    }

    #[test]
    fn a_demo_chain_too_short_for_the_credentials_is_renewed_in_development() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let folder = KeyFolder {
            dir: dir.clone(),
            algorithm: Algorithm::Es256,
            generate: true,
            config: tmp.path().join("sigil.toml"),
            chain: opts(),
        };
        let ring = folder.load().unwrap();
        let path = ring.active.chain_path(&dir);
        // A 30-day demo certificate, as if the folder were 14 months old.
        let mut short = opts();
        short.ds_days = 30;
        write_demo_chain(&dir, &path, ring.active.signer.as_ref(), &short).unwrap();
        let year = Some((31_536_000, "mdl.toml"));
        let now = SystemTime::now();
        let strict = KeyFolder {
            generate: false,
            ..folder.clone()
        };
        let e = strict.load_checked(year, now).unwrap_err();
        assert!(e.to_string().contains("mdl.toml"), "{e}");
        let ring = folder.load_checked(year, now).unwrap();
        let leaf =
            crate::x509::certificate_info(&ring.active.signer.certificate_chain()[0]).unwrap();
        assert!(leaf.not_after > now + std::time::Duration::from_secs(31_536_000));
        // A chain from another CA is the operator's: never replaced.
        let other = crate::x509::DemoIaca::generate(&opts()).unwrap();
        let der = other
            .issue_document_signer(ring.active.signer.as_ref(), &short)
            .unwrap();
        std::fs::write(&path, crate::x509::chain_to_pem(&[der])).unwrap();
        assert!(folder.load_checked(year, now).is_err());
    }

    const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
}

//! `[tenants.<id>] admin_keys`: admin API keys scoped to one tenant.
//!
//! Each entry is a secret in the config's forms (`{ env = "NAME" }`,
//! `{ file = "path" }`) or the SHA-256 digest of the key as
//! `"sha256:<64 hex digits>"`, so a config file never holds a usable key.
//! Only digests are kept once loaded.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::providers::{Secret, SecretSource};

/// The SHA-256 digest of an admin key.
pub type KeyDigest = [u8; 32];

/// The digest a presented admin key is compared by.
pub fn digest(key: &str) -> KeyDigest {
    Sha256::digest(key.trim().as_bytes()).into()
}

/// Read one configured entry into the digest of its key; `Err` holds the
/// problem and the fix.
pub(crate) fn resolve(
    entry: &Secret,
    base: &Path,
    env: &BTreeMap<String, String>,
) -> Result<KeyDigest, (String, String)> {
    if let SecretSource::Literal(given) = entry.source() {
        return parse_digest(given);
    }
    let mut secret = entry.clone();
    secret.resolve(base, env)?;
    if secret.expose().chars().count() < 16 {
        return Err((
            "the admin key is shorter than 16 characters".into(),
            "use a long random key, e.g. `openssl rand -hex 32`".into(),
        ));
    }
    Ok(digest(secret.expose()))
}

fn parse_digest(given: &str) -> Result<KeyDigest, (String, String)> {
    let fix = "give the key as { env = \"NAME\" }, { file = \"path\" } or as its digest \"sha256:<64 hex digits>\" (`printf %s \"$KEY\" | sha256sum`); never the key itself";
    let Some(hex) = given.strip_prefix("sha256:") else {
        return Err((
            "a literal admin key is not accepted in a config file".into(),
            fix.into(),
        ));
    };
    let bytes = hex.as_bytes();
    if bytes.len() != 64 || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return Err((
            format!(
                "'sha256:{}' is not a SHA-256 digest",
                hex.chars().take(80).collect::<String>()
            ),
            fix.into(),
        ));
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).unwrap_or_default();
        out[i] = u8::from_str_radix(text, 16).unwrap_or_default();
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn literal(s: &str) -> Secret {
        SecretSource::Literal(s.into()).into()
    }

    #[test]
    fn a_digest_entry_is_the_digest_of_the_key() {
        let hex: String = digest("tenant-key-0123456789")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let d = resolve(
            &literal(&format!("sha256:{}", hex.to_uppercase())),
            Path::new("."),
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(d, digest("tenant-key-0123456789"));
    }

    #[test]
    fn a_key_from_the_environment_is_kept_as_its_digest() {
        let env = BTreeMap::from([("ACME_ADMIN".to_owned(), "k".repeat(32))]);
        let d = resolve(&Secret::from_env("ACME_ADMIN"), Path::new("."), &env).unwrap();
        assert_eq!(d, digest(&"k".repeat(32)));
        let short = BTreeMap::from([("ACME_ADMIN".to_owned(), "short".to_owned())]);
        let (problem, _) =
            resolve(&Secret::from_env("ACME_ADMIN"), Path::new("."), &short).unwrap_err();
        assert!(problem.contains("shorter"), "{problem}");
    }

    #[test]
    fn a_plain_key_or_a_bad_digest_is_refused_with_the_fix() {
        for bad in [
            "my-admin-key",
            "sha256:abc",
            &format!("sha256:{}", "g".repeat(64)),
        ] {
            let (_, fix) = resolve(&literal(bad), Path::new("."), &BTreeMap::new()).unwrap_err();
            assert!(fix.contains("sha256:<64 hex digits>"), "{bad}: {fix}");
        }
    }
}

//! Issuer keys on disk: load the key folder, or create a development key.

use std::path::Path;
use std::sync::Arc;

use sigil_keys::{IssuerKey, SharedSigner};
use sigil_settings::SettingsError;

/// File name of the generated development key.
pub const DEV_KEY_FILE: &str = "issuer-p256.private.jwk.json";

/// Load the issuer key from `dir` (a private JWK file), generating and
/// writing one when `generate` is set and none exists.
pub fn load_or_generate(
    dir: &Path,
    generate: bool,
    config: &Path,
) -> Result<SharedSigner, SettingsError> {
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
        let key = IssuerKey::from_jwk(&jwk).map_err(|e| {
            SettingsError::new(
                &path,
                "-",
                e.to_string(),
                "use an EC P-256 private JWK (kty EC, crv P-256, d)",
            )
        })?;
        return Ok(Arc::new(key));
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
    tracing::warn!(path = %path.display(), kid = %sigil_keys::Signer::key_id(&key), "generated a development issuer key");
    Ok(Arc::new(key))
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

//! Fuzz test of configuration loading (ADR 0016): the example
//! configuration and its resource files, mutated as TOML structure, as
//! text, and through `SIGIL__…` environment overrides. Properties: loading
//! never panics, a refusal names a file (of the configuration, or one it
//! points at), a problem and the fix, and what loads validates again.
//!
//! A short run is part of `cargo test`; `SIGIL_FUZZ_CASES=1000000` (or
//! `cargo xtask fuzz --long`) runs a million inputs.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::{Path, PathBuf};

use serde_json::Value;
use sigil_fuzz::{Fuzz, Rng, mutate};
use sigil_settings::Settings;

/// Keys, values and paths the mutator splices in.
const WORDS: &[&str] = &[
    "server",
    "public_url",
    "port",
    "host",
    "workers",
    "database",
    "url",
    "plugins",
    "dir",
    "limits",
    "fuel",
    "timeout_ms",
    "grants",
    "allowed_hosts",
    "keys",
    "algorithm",
    "tenants",
    "identifier",
    "issuance",
    "batch_size",
    "access_token_seconds",
    "proof_aud_trailing_slash",
    "resources",
    "claims",
    "id",
    "format",
    "vct",
    "doctype",
    "source",
    "type",
    "static",
    "webhook",
    "attributeProvider",
    "env",
    "file",
    "secret",
    "secret_env",
    "auth",
    "bearer",
    "token",
    "display",
    "path",
    "mandatory",
    "sd",
    "format_plugin",
    "validity_seconds",
    "credential_configuration_ids",
    "mso_mdoc",
    "dc+sd-jwt",
    "jwt_vc_json",
    "did:web",
    "did:jwk",
    "ES384",
    "EdDSA",
    "RS256",
    "https://*.example.com",
    "http://127.0.0.1:*",
    "postgres://u@h/db",
    "sqlite://x.db?mode=rwc",
    "mysql://x",
    "acme",
    "admin",
    "default",
];

const ENV_KEYS: &[&str] = &[
    "SIGIL__SERVER__PORT",
    "SIGIL__SERVER__PUBLIC_URL",
    "SIGIL__SERVER__WORKERS",
    "SIGIL__DATABASE__URL",
    "SIGIL__ISSUANCE__BATCH_SIZE",
    "SIGIL__ISSUANCE__ACCESS_TOKEN_SECONDS",
    "SIGIL__ISSUANCE__PROOF_AUD_TRAILING_SLASH",
    "SIGIL__KEYS__ALGORITHM",
    "SIGIL__PLUGINS__LIMITS__FUEL",
    "SIGIL__PLUGINS__MAX_CONCURRENT_CALLS",
    "SIGIL__TENANTS__ACME__IDENTIFIER",
    "SIGIL__CLAIMS__INLINE_WEBHOOK_SECRET",
    "SIGIL__NOPE",
    "SIGIL__",
];

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// Copy the example configuration (without keys or data) into `dir`;
/// return the files a case may mutate, relative to `dir`, with their text.
fn copy_example(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let root = config_dir();
    let text = std::fs::read_to_string(root.join("sigil.toml")).unwrap();
    std::fs::write(dir.join("sigil.toml"), &text).unwrap();
    files.push((PathBuf::from("sigil.toml"), text));
    for sub in [
        "credential-configurations",
        "profiles",
        "attribute-providers",
        "webhook-endpoints",
    ] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for entry in std::fs::read_dir(root.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let name = PathBuf::from(sub).join(path.file_name().unwrap());
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(dir.join(&name), &text).unwrap();
            files.push((name, text));
        }
    }
    files
}

/// A TOML document mutated as a structure (TOML → JSON → mutate → TOML),
/// or as text when the structure cannot be written back (e.g. a `null`).
fn mutated_toml(rng: &mut Rng, text: &str) -> String {
    let structure: Option<Value> = toml::from_str::<toml::Value>(text)
        .ok()
        .and_then(|t| serde_json::to_value(t).ok());
    if let (Some(v), false) = (structure, rng.one_in(4)) {
        let mutated = mutate::json(rng, &v, WORDS, 4);
        if let Ok(t) = toml::to_string(&mutated) {
            return t;
        }
    }
    let tokens: Vec<&[u8]> = vec![b"[", b"]", b"=", b"\"", b"\n[x]\n", b"{", b"}", b"_", b"#"];
    String::from_utf8_lossy(&mutate::bytes(rng, text.as_bytes(), &tokens)).into_owned()
}

#[test]
fn fuzz_config_loading() {
    // On tmpfs when there is one: ext4 flushes a rewritten file on close,
    // which would make the disk, not the loader, the bottleneck.
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let files = copy_example(dir.path());
    let config = dir.path().join("sigil.toml");
    let (mut loaded, mut refused) = (0u64, 0u64);
    let mut fuzz = Fuzz::new("config-loading", 1_500);
    while let Some(rng) = fuzz.next_case() {
        // Mutate one or two files (the main file more often) and maybe the environment.
        let mut touched = Vec::new();
        for _ in 0..rng.below(2) + 1 {
            let (name, text) = if rng.one_in(2) {
                &files[0]
            } else {
                rng.pick(&files)
            };
            std::fs::write(dir.path().join(name), mutated_toml(rng, text)).unwrap();
            touched.push(name.clone());
        }
        let env: Vec<(String, String)> = (0..rng.below(3))
            .map(|_| {
                let key = (*rng.pick(ENV_KEYS)).to_owned();
                (key, mutate::string(rng, WORDS))
            })
            .collect();
        match Settings::load_with_env(&config, env.clone()) {
            Ok(settings) => {
                loaded += 1;
                settings.validate().expect("what loaded validates again");
                assert!(url::Url::parse(&settings.server.public_url).is_ok());
            }
            Err(e) => {
                refused += 1;
                let message = e.to_string();
                // The file is the configuration's, or one it points at (a
                // mutated resource folder may be any folder, e.g. `/`).
                assert!(
                    (e.file.starts_with(dir.path()) || e.file.exists())
                        && !e.problem.is_empty()
                        && !e.fix.is_empty(),
                    "{message} (env {env:?})"
                );
            }
        }
        for name in touched {
            let original = &files.iter().find(|(n, _)| *n == name).unwrap().1;
            std::fs::write(dir.path().join(&name), original).unwrap();
        }
    }
    assert!(
        fuzz.replaying() || (loaded > 0 && refused > 0),
        "{loaded} loaded, {refused} refused"
    );
    fuzz.finish(&format!("{loaded} loaded, {refused} refused"));
}

//! The `sigil` binary: config check and plugin listing name file, key and fix.

#![allow(clippy::unwrap_used, missing_docs, reason = "tests")]

use std::path::Path;
use std::process::Command;

fn sigil(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn write_config(dir: &Path, text: &str) -> String {
    let path = dir.join("sigil.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn plugin_dir() -> String {
    root()
        .join("plugins/dist")
        .canonicalize()
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn example_config_checks_clean() {
    let config = root().join("config/sigil.toml");
    let (ok, out) = sigil(&["config", "check", "--config", config.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("configuration valid"), "{out}");
}

#[test]
fn unknown_key_is_named_with_file_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[server]\npublic_url = \"http://127.0.0.1:8099\"\nprot = 8099\n",
    );
    let (ok, out) = sigil(&["config", "check", "--config", &config]);
    assert!(!ok);
    assert!(out.contains(&config), "{out}");
    assert!(out.contains("prot"), "{out}");
    assert!(out.contains("Fix:"), "{out}");
}

#[test]
fn bad_grant_origin_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[server]\npublic_url = \"http://127.0.0.1:8099\"\n[plugins]\ndir = \"{}\"\n[plugins.grants.claims-static]\nallowed_hosts = [\"crm.example.com\"]\n",
            plugin_dir()
        ),
    );
    let (ok, out) = sigil(&["config", "check", "--config", &config]);
    assert!(!ok);
    assert!(
        out.contains("plugins.grants.claims-static.allowed_hosts[0]"),
        "{out}"
    );
    assert!(out.contains("Fix: write an origin"), "{out}");
}

#[test]
fn grant_for_a_missing_plugin_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[server]\npublic_url = \"http://127.0.0.1:8099\"\n[plugins]\ndir = \"{}\"\n[plugins.grants.crm]\n",
            plugin_dir()
        ),
    );
    let (ok, out) = sigil(&["config", "check", "--config", &config]);
    assert!(!ok);
    assert!(out.contains("plugins.grants.crm: no plugin 'crm'"), "{out}");
}

#[test]
fn missing_plugin_dir_says_how_to_build_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[server]\npublic_url = \"http://127.0.0.1:8099\"\n[plugins]\ndir = \"nowhere\"\n",
    );
    let (ok, out) = sigil(&["config", "check", "--config", &config]);
    assert!(!ok);
    assert!(out.contains("plugins.dir"), "{out}");
    assert!(out.contains("cargo xtask build-plugins"), "{out}");
}

#[test]
fn plugins_list_shows_plugins_and_load_errors() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    for (name, base) in [
        ("claims-static", "plugins/dist"),
        ("wrong-api-version", "target/fixtures"),
    ] {
        let src = root().join(base).join(name);
        let dest = plugins.join(name);
        std::fs::create_dir_all(&dest).unwrap();
        for e in std::fs::read_dir(src).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dest.join(p.file_name().unwrap())).unwrap();
        }
    }
    let config = write_config(
        dir.path(),
        "[server]\npublic_url = \"http://127.0.0.1:8099\"\n[plugins]\ndir = \"plugins\"\n",
    );
    let (ok, out) = sigil(&["plugins", "list", "--config", &config]);
    assert!(!ok, "a load error makes the command fail");
    assert!(
        out.contains("claims-static") && out.contains("claim-provider") && out.contains("0.1.0"),
        "{out}"
    );
    assert!(
        out.contains("error:")
            && out.contains("wrong_api_version.wasm")
            && out.contains("sigil:plugin@0.9.0"),
        "{out}"
    );
}

#[test]
fn credential_configuration_problems_name_their_file() {
    let dir = tempfile::tempdir().unwrap();
    let configs = dir.path().join("credential-configurations");
    std::fs::create_dir_all(&configs).unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[server]\npublic_url = \"http://127.0.0.1:8099\"\n[plugins]\ndir = \"{}\"\n",
            plugin_dir()
        ),
    );
    // A dc+sd-jwt configuration without vct: the file and the key are named.
    std::fs::write(
        configs.join("badge.toml"),
        "id = \"badge\"\nformat = \"dc+sd-jwt\"\n",
    )
    .unwrap();
    let (ok, out) = sigil(&["config", "check", "--config", &config]);
    assert!(!ok);
    assert!(out.contains("badge.toml: vct:"), "{out}");
    // An id that does not match the file name.
    std::fs::write(
        configs.join("badge.toml"),
        "id = \"other\"\nformat = \"dc+sd-jwt\"\nvct = \"x\"\n",
    )
    .unwrap();
    let (ok, out) = sigil(&["config", "check", "--config", &config]);
    assert!(!ok);
    assert!(
        out.contains("badge.toml: id:") && out.contains("rename the file"),
        "{out}"
    );
    // A format whose plugin is not in the plugin directory.
    std::fs::write(
        configs.join("badge.toml"),
        "id = \"badge\"\nformat = \"dc+sd-jwt\"\nvct = \"x\"\nformat_plugin = \"format-not-installed\"\n",
    )
    .unwrap();
    let (ok, out) = sigil(&["config", "check", "--config", &config]);
    assert!(!ok);
    assert!(
        out.contains("badge.toml: format:") && out.contains("format-not-installed"),
        "{out}"
    );
}

#[test]
fn chain_not_covering_credential_validity_is_rejected_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let configs = dir.path().join("credential-configurations");
    std::fs::create_dir_all(&configs).unwrap();
    let example = std::fs::read_to_string(
        root().join("config/credential-configurations/employee_badge_sd_jwt.toml"),
    )
    .unwrap();
    assert!(example.contains("validity_seconds = 31_536_000"));
    // Three years: longer than the 730-day demo document signer certificate.
    let three_years = example.replace(
        "validity_seconds = 31_536_000",
        "validity_seconds = 94_608_000",
    );
    std::fs::write(configs.join("employee_badge_sd_jwt.toml"), &three_years).unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[server]\npublic_url = \"http://127.0.0.1:8099\"\n[plugins]\ndir = \"{}\"\n[plugins.grants.claims-inline]\n[plugins.grants.claims-static]\n[plugins.grants.format-sd-jwt-vc]\n",
            plugin_dir()
        ),
    );
    let (ok, out) = sigil(&["config", "check", "--config", &config]);
    assert!(!ok, "{out}");
    let chain = dir.path().join("keys/default/issuer-p256.chain.pem");
    assert!(out.contains(&chain.display().to_string()), "{out}");
    assert!(out.contains("validity_seconds = 94608000"), "{out}");
    assert!(out.contains("Fix: renew the certificate"), "{out}");
    // With the one-year validity of the example, the same chain passes.
    std::fs::write(configs.join("employee_badge_sd_jwt.toml"), &example).unwrap();
    let (ok, out) = sigil(&["config", "check", "--config", &config]);
    assert!(ok, "{out}");
}

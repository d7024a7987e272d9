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
    // Three years: longer than the 457-day demo document signer certificate.
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

/// A config in `dir` with the example badge configuration and plugins.
fn badge_config(dir: &Path, extra: &str) -> String {
    let configs = dir.join("credential-configurations");
    std::fs::create_dir_all(&configs).unwrap();
    std::fs::copy(
        root().join("config/credential-configurations/employee_badge_sd_jwt.toml"),
        configs.join("employee_badge_sd_jwt.toml"),
    )
    .unwrap();
    write_config(
        dir,
        &format!(
            "{extra}[plugins]\ndir = \"{}\"\n[plugins.grants.claims-inline]\n[plugins.grants.claims-static]\n[plugins.grants.format-sd-jwt-vc]\n",
            plugin_dir()
        ),
    )
}

#[test]
fn keys_commands_generate_activate_list_and_create_a_demo_chain() {
    let dir = tempfile::tempdir().unwrap();
    let config = badge_config(
        dir.path(),
        "[server]\npublic_url = \"http://127.0.0.1:8099\"\n",
    );
    let keys = dir.path().join("keys/default");
    let (ok, out) = sigil(&["config", "check", "--config", &config]);
    assert!(ok, "{out}");
    let (ok, out) = sigil(&[
        "keys", "generate", "--config", &config, "--name", "hsm", "--alg", "ES384",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("standby"), "{out}");
    assert!(keys.join("hsm.private.jwk.json").is_file());
    // The documented command: a demo IACA-issued document signer chain.
    let (ok, out) = sigil(&[
        "keys",
        "demo-chain",
        "--config",
        &config,
        "--key",
        "hsm",
        "--days",
        "400",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("iaca.pem"), "{out}");
    assert!(keys.join("hsm.chain.pem").is_file());
    // It does not overwrite by accident, nor make a chain shorter than the
    // credentials it would sign.
    let (ok, out) = sigil(&["keys", "demo-chain", "--config", &config, "--key", "hsm"]);
    assert!(!ok, "{out}");
    assert!(out.contains("--force"), "{out}");
    let (ok, out) = sigil(&[
        "keys",
        "demo-chain",
        "--config",
        &config,
        "--key",
        "hsm",
        "--days",
        "100",
        "--force",
    ]);
    assert!(!ok, "{out}");
    assert!(out.contains("--days 365 or more"), "{out}");
    let (ok, out) = sigil(&["keys", "activate", "--config", &config, "nope"]);
    assert!(!ok, "{out}");
    assert!(out.contains("hsm, issuer-p256"), "{out}");
    let (ok, out) = sigil(&["keys", "activate", "--config", &config, "hsm"]);
    assert!(ok, "{out}");
    let (ok, out) = sigil(&["keys", "list", "--config", &config]);
    assert!(ok, "{out}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("hsm ").contains("active") && line("hsm ").contains("ES384"),
        "{out}"
    );
    assert!(line("hsm ").contains("until"), "{out}");
    assert!(line("issuer-p256 ").contains("standby"), "{out}");
    // Both keys' chains pass the check.
    let (ok, out) = sigil(&["config", "check", "--config", &config]);
    assert!(ok, "{out}");
}

#[test]
fn keys_demo_chain_country_makes_an_iaca_and_document_signer_of_that_country() {
    let dir = tempfile::tempdir().unwrap();
    let config = badge_config(
        dir.path(),
        "[server]\npublic_url = \"http://127.0.0.1:8099\"\n",
    );
    let keys = dir.path().join("keys/default");
    let (ok, out) = sigil(&["config", "check", "--config", &config]);
    assert!(ok, "{out}");
    let demo = |country: &str| {
        sigil(&[
            "keys",
            "demo-chain",
            "--config",
            &config,
            "--country",
            country,
            "--force",
        ])
    };
    // Not an ISO 3166-1 alpha-2 code.
    for bad in ["fr", "FRA", "F1"] {
        let (ok, out) = demo(bad);
        assert!(!ok, "{out}");
        assert!(out.contains("alpha-2"), "{out}");
    }
    // The existing demo IACA is UT; its document signers carry UT.
    let (ok, out) = demo("FR");
    assert!(!ok, "{out}");
    assert!(
        out.contains("is for UT") && out.contains("iaca.private.pem"),
        "{out}"
    );
    let (ok, out) = demo("UT");
    assert!(ok, "{out}");
    assert!(out.contains("country UT"), "{out}");
    // Without an IACA, --country makes one for that country.
    std::fs::remove_file(keys.join("iaca.pem")).unwrap();
    std::fs::remove_file(keys.join("iaca.private.pem")).unwrap();
    let (ok, out) = demo("FR");
    assert!(ok, "{out}");
    assert_eq!(
        sigil_keys::folder::iaca_country(&keys).unwrap().as_deref(),
        Some("FR")
    );
    let chain = std::fs::read_to_string(keys.join(sigil_keys::folder::DEV_CHAIN_FILE)).unwrap();
    let leaf = sigil_keys::x509::parse_pem_chain(&chain).unwrap().remove(0);
    let info = sigil_keys::x509::certificate_info(&leaf).unwrap();
    assert_eq!(info.country.as_deref(), Some("FR"));
    let (ok, out) = sigil(&["config", "check", "--config", &config]);
    assert!(ok, "{out}");
}

fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    Some(text)
}

#[cfg(unix)]
#[test]
fn sighup_reloads_the_keys_of_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = badge_config(
        dir.path(),
        &format!(
            "[server]\nport = {port}\npublic_url = \"http://127.0.0.1:{port}\"\n[database]\nurl = \"sqlite://{}/s.db?mode=rwc\"\n",
            dir.path().display()
        ),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(["serve", "--config", &config])
        .env("SIGIL_ADMIN_TOKEN", "t")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let jwks = || http_get(port, "/.well-known/jwt-vc-issuer").unwrap_or_default();
    // Up to 30 s: a debug server compiles every plugin at start, which
    // took over 10 s on a loaded 2-core machine.
    let wait = |what: &dyn Fn(&str) -> bool| {
        for _ in 0..600 {
            if what(&jwks()) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    };
    let started = wait(&|t: &str| t.contains("\"keys\""));
    // A second key, made active by the manifest, while the server runs.
    let (ok, out) = sigil(&[
        "keys",
        "generate",
        "--config",
        &config,
        "--name",
        "next",
        "--activate",
    ]);
    let body = jwks();
    let before = body.matches("\"kid\"").count();
    let signal = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    let reloaded = wait(&|t: &str| t.matches("\"kid\"").count() == 2);
    let alive = child.try_wait().unwrap().is_none();
    child.kill().ok();
    child.wait().ok();
    assert!(started, "the server did not start");
    assert!(ok, "{out}");
    assert_eq!(before, 1, "{body}");
    assert!(signal.success());
    assert!(reloaded, "SIGHUP did not publish the new key: {}", jwks());
    assert!(alive, "SIGHUP must not stop the server");
}

/// `sigil config check` with the example config and `env` overrides.
fn check_example_with(env: &[(&str, &str)]) -> (bool, String) {
    let config = root().join("config/sigil.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(["config", "check", "--config", config.to_str().unwrap()])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_login_from_the_environment_prints_the_redirect_uri_to_register() {
    let (ok, out) = check_example_with(&[
        (
            "SIGIL__TENANTS__DEFAULT__LOGIN__ISSUER",
            "https://login.example.com",
        ),
        ("SIGIL__TENANTS__DEFAULT__LOGIN__CLIENT_ID", "sigil"),
        (
            "SIGIL__TENANTS__DEFAULT__LOGIN__CLIENT_SECRET",
            "dev-secret",
        ),
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("redirect URI http://127.0.0.1:8099/login/callback"),
        "{out}"
    );
    assert!(out.contains("login at https://login.example.com"), "{out}");
    let (ok, out) = check_example_with(&[
        (
            "SIGIL__TENANTS__DEFAULT__LOGIN__ISSUER",
            "http://login.example.com",
        ),
        ("SIGIL__TENANTS__DEFAULT__LOGIN__CLIENT_ID", "sigil"),
    ]);
    assert!(!ok, "{out}");
    assert!(out.contains("tenants.default.login.issuer"), "{out}");
    assert!(out.contains("Fix:"), "{out}");
}

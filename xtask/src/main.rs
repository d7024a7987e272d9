//! `cargo xtask <command>`: build plugins, run the issuer, run every test.
//!
//! * `build-plugins`  — build `plugins/*` into `plugins/dist/`: Rust crates for wasm32-wasip2,
//!   `plugin.py` folders with componentize-py, `plugin.js` folders with componentize-js
//! * `build-fixtures` — build the hostile test plugins into `target/fixtures/`
//! * `serve`          — build plugins, then run `sigil serve` (release) with `config/sigil.toml`
//! * `test`           — everything CI runs: fmt, clippy, plugins, fixtures, PostgreSQL and the Node
//!   wallet set up, all tests on SQLite, then the end-to-end suite on PostgreSQL
//! * `bench`          — the criterion benchmark of one plugin call (release)
//! * `check-logs [LOG] [--min-lines N]` — no secret in the newest end-to-end log
//!   (`target/e2e-logs/`, written by the e2e harness)
//! * `fuzz [--long | --cases N]` — only the fuzz tests (ADR 0016), with their short
//!   counts, or a million (`--long`) or N inputs per target, niced, figures printed

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

mod check_logs;
mod interpreted;

const WASM_TARGET: &str = "wasm32-wasip2";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("build-plugins") => build_guests(&root, "plugins", &root.join("plugins/dist")),
        Some("build-fixtures") => {
            build_guests(&root, "tests/fixtures", &root.join("target/fixtures"))
        }
        Some("serve") => serve(&root, &args[1..]),
        Some("test") => test(&root, &args[1..]),
        Some("bench") => bench(&root),
        Some("fuzz") => fuzz(&root, &args[1..]),
        Some("check-logs") => check_logs::run(&root, &args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <build-plugins|build-fixtures|serve|test [--no-lint]|bench|fuzz [--long|--cases N]|check-logs [LOG] [--min-lines N]>"
            );
            bail!("unknown command")
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Install the wasm32-wasip2 target when the toolchain lacks it.
fn ensure_wasm_target() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to install the wasm32-wasip2 target")?;
    if !String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    Ok(())
}

/// Build every member of the guest workspace at `dir` and lay out
/// `<out>/<id>/plugin.toml` + `<out>/<id>/<id>.wasm`.
fn build_guests(root: &Path, dir: &str, out: &Path) -> Result<()> {
    ensure_wasm_target()?;
    let target_dir = root.join("target/wasm");
    run(cargo()
        .args([
            "build",
            "--release",
            "--target",
            WASM_TARGET,
            "--manifest-path",
        ])
        .arg(root.join(dir).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir))?;
    let built = target_dir.join(WASM_TARGET).join("release");
    std::fs::create_dir_all(out)?;
    let mut count = 0;
    for entry in std::fs::read_dir(root.join(dir))? {
        let folder = entry?.path();
        let manifest = folder.join("plugin.toml");
        if !manifest.is_file() || !folder.join("Cargo.toml").is_file() {
            continue;
        }
        let crate_name = folder
            .file_name()
            .and_then(|n| n.to_str())
            .context("plugin folder name")?
            .replace('-', "_");
        let wasm = built.join(format!("{crate_name}.wasm"));
        let dest = out.join(folder.file_name().context("plugin folder name")?);
        if dest.exists() {
            std::fs::remove_dir_all(&dest)?;
        }
        std::fs::create_dir_all(&dest)?;
        std::fs::copy(&manifest, dest.join("plugin.toml"))?;
        std::fs::copy(&wasm, dest.join(format!("{crate_name}.wasm")))
            .with_context(|| format!("copying {}", wasm.display()))?;
        count += 1;
    }
    count += interpreted::build(root, dir, out)?;
    eprintln!("xtask: {count} components in {}", out.display());
    Ok(())
}

fn serve(root: &Path, extra: &[String]) -> Result<()> {
    build_guests(root, "plugins", &root.join("plugins/dist"))?;
    run(cargo()
        .args([
            "run",
            "--release",
            "--package",
            "sigil",
            "--",
            "serve",
            "--config",
            "config/sigil.toml",
        ])
        .args(extra))
}

fn test(root: &Path, extra: &[String]) -> Result<()> {
    let lint = !extra.iter().any(|a| a == "--no-lint");
    if lint {
        run(cargo().args(["fmt", "--all", "--check"]))?;
        run(cargo().args([
            "fmt",
            "--all",
            "--check",
            "--manifest-path",
            "plugins/Cargo.toml",
        ]))?;
        run(cargo().args([
            "fmt",
            "--all",
            "--check",
            "--manifest-path",
            "tests/fixtures/Cargo.toml",
        ]))?;
    }
    build_guests(root, "plugins", &root.join("plugins/dist"))?;
    build_guests(root, "tests/fixtures", &root.join("target/fixtures"))?;
    ensure_postgres()?;
    ensure_wallet(root)?;
    if lint {
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
        run(cargo()
            .args([
                "clippy",
                "--release",
                "--target",
                WASM_TARGET,
                "--manifest-path",
                "plugins/Cargo.toml",
                "--target-dir",
            ])
            .arg(root.join("target/wasm"))
            .args(["--", "-D", "warnings"]))?;
    }
    if lint {
        // The plugins' host-side tests (fuzz tests of their pure modules).
        run(cargo()
            .args(["clippy", "--manifest-path", "plugins/Cargo.toml"])
            .args(HOST_TESTED_PLUGINS.iter().flat_map(|p| ["--package", p]))
            .args(["--all-targets", "--target-dir"])
            .arg(root.join(PLUGINS_HOST_TARGET))
            .args(["--", "-D", "warnings"]))?;
    }
    run(&mut plugin_host_tests(root, &[]))?;
    // Every `sigil` the tests start shares one compile cache, filled once
    // here: a debug build compiles a Python or JavaScript plugin in half a
    // minute, and the tests start dozens of servers and CLI commands.
    let cache = root.join(COMPILE_CACHE);
    run(cargo().args(["test", "--workspace", "--no-run"]))?;
    run(Command::new(root.join("target/debug/sigil"))
        .args(["plugins", "list", "--config", "config/sigil.toml"])
        .env(COMPILE_CACHE_ENV, &cache))?;
    // Everything on SQLite (and the store's own PostgreSQL tests), then the
    // end-to-end suite again on PostgreSQL.
    run(cargo()
        .args(["test", "--workspace", "--no-fail-fast"])
        .env(COMPILE_CACHE_ENV, &cache))?;
    // No secret in any line the SQLite end-to-end run logged.
    check_logs::run(root, &[])?;
    run(cargo()
        .args([
            "test",
            "--package",
            "sigil-tests",
            "--test",
            "e2e",
            "--no-fail-fast",
        ])
        .env("SIGIL_TEST_DATABASE", "postgres")
        .env(COMPILE_CACHE_ENV, &cache))
}

/// The compile cache every test shares (also set by the e2e harness and
/// the sandbox tests).
const COMPILE_CACHE: &str = "target/plugin-compile-cache";
/// The setting `[plugins] compile_cache` as an environment override.
const COMPILE_CACHE_ENV: &str = "SIGIL__PLUGINS__COMPILE_CACHE";

/// Start the machine's PostgreSQL cluster when 127.0.0.1:5432 does not answer.
fn ensure_postgres() -> Result<()> {
    let ready = || {
        Command::new("pg_isready")
            .args(["-h", "127.0.0.1", "-p", "5432", "-q"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if ready() {
        return Ok(());
    }
    let versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .context("PostgreSQL is not running on 127.0.0.1:5432 and no cluster is installed (apt-get install postgresql)")?
        .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
        .collect();
    let version = versions
        .first()
        .context("no PostgreSQL cluster in /etc/postgresql")?;
    run(Command::new("pg_ctlcluster").args([
        "--skip-systemctl-redirect",
        version,
        "main",
        "start",
    ]))?;
    for _ in 0..50 {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    bail!("PostgreSQL did not become ready on 127.0.0.1:5432")
}

/// Install the independent Node wallet used by the end-to-end tests.
fn ensure_wallet(root: &Path) -> Result<()> {
    npm_ci(&root.join("tests/wallet"))
}

/// `npm ci` in `dir` unless its `node_modules` is newer than its lock file.
pub(crate) fn npm_ci(dir: &Path) -> Result<()> {
    let lock = dir.join("package-lock.json");
    let marker = dir.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&marker)) {
        (Ok(l), Ok(m)) => m.modified()? >= l.modified()?,
        _ => false,
    };
    if !fresh {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir))?;
    }
    Ok(())
}

fn bench(root: &Path) -> Result<()> {
    build_guests(root, "plugins", &root.join("plugins/dist"))?;
    run(cargo().args([
        "bench",
        "--package",
        "sigil-plugin-host",
        "--bench",
        "plugin_call",
    ]))
}

/// Plugins whose pure modules are tested on the host (they build for it).
const HOST_TESTED_PLUGINS: &[&str] = &["format-mso-mdoc"];

/// Where the plugins' host-side tests build (apart from their wasm build).
const PLUGINS_HOST_TARGET: &str = "target/plugins-host";

/// `cargo test` of the plugins tested on the host, with extra test arguments.
fn plugin_host_tests(root: &Path, filter: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.args(["test", "--manifest-path", "plugins/Cargo.toml"])
        .args(HOST_TESTED_PLUGINS.iter().flat_map(|p| ["--package", p]))
        .arg("--target-dir")
        .arg(root.join(PLUGINS_HOST_TARGET))
        .args(filter);
    cmd
}

/// Run only the fuzz tests (ADR 0016): their short counts, or `--long`
/// (a million inputs per target) or `--cases N`. Niced, so other work on
/// the machine goes on; each target prints its figures.
fn fuzz(root: &Path, extra: &[String]) -> Result<()> {
    let cases = match extra {
        [] => None,
        [flag] if flag == "--long" => Some("1000000".to_owned()),
        [flag, n] if flag == "--cases" && n.parse::<u64>().is_ok() => Some(n.clone()),
        _ => bail!("usage: cargo xtask fuzz [--long | --cases N]"),
    };
    build_guests(root, "plugins", &root.join("plugins/dist"))?;
    let output = ["--", "--nocapture", "--test-threads", "1"];
    let mut targets: Vec<Command> = vec![
        cargo_test(&["--package", "sigil-issuer", "--lib", "fuzz_"]),
        cargo_test(&["--package", "sigil-settings", "--test", "fuzz"]),
        cargo_test(&["--package", "sigil-tests", "--test", "fuzz"]),
        plugin_host_tests(root, &["fuzz_"]),
    ];
    for target in &mut targets {
        target.args(output);
        if let Some(n) = &cases {
            target.env("SIGIL_FUZZ_CASES", n);
        }
        run(&mut nice(target))?;
    }
    Ok(())
}

fn cargo_test(args: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.arg("test").args(args);
    cmd
}

/// `cmd` under `nice -n 10` when `nice` is there.
fn nice(cmd: &Command) -> Command {
    let available = Command::new("nice")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success());
    let mut wrapped = if available {
        let mut n = Command::new("nice");
        n.args(["-n", "10"]).arg(cmd.get_program());
        n
    } else {
        Command::new(cmd.get_program())
    };
    wrapped.args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => wrapped.env(key, v),
            None => wrapped.env_remove(key),
        };
    }
    wrapped
}

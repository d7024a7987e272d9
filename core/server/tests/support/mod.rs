//! What the tests of the real `sigil` binary share: the example
//! configuration copied into a temporary folder, a free port, the process
//! started on it, and signals.

#![allow(clippy::unwrap_used, reason = "tests")]
#![allow(dead_code, reason = "each test binary uses a part")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Copy a folder, leaving `keys` folders out (each test generates its own).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "keys" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `sigil serve` with `dir/config/sigil.toml` (the example configuration
/// copied there) on `port`, its SQLite file in `dir`, `token` as the admin
/// token, stderr into `log`; `env` adds or overrides variables.
pub fn serve(dir: &Path, port: u16, token: &str, log: &Path, env: &[(&str, &str)]) -> Child {
    let address = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(env!("CARGO_BIN_EXE_sigil"));
    command
        .args(["serve", "--config"])
        .arg(dir.join("config/sigil.toml"))
        .env("SIGIL_ADMIN_TOKEN", token)
        .env("SIGIL__SERVER__PORT", port.to_string())
        .env("SIGIL__SERVER__PUBLIC_URL", &address)
        .env("SIGIL__SERVER__WORKERS", "2")
        .env(
            "SIGIL__DATABASE__URL",
            format!("sqlite://{}/sigil.db?mode=rwc", dir.display()),
        )
        .env("SIGIL__PLUGINS__DIR", root().join("plugins/dist"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().unwrap()
}

/// Send the signal `name` (`TERM`, `INT`, `HUP`) to `child`.
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

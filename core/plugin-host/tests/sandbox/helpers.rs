use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;
use sigil_plugin_host::{ClaimRequest, Limits, PluginPolicy, PluginRuntime, RuntimeConfig};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn locate(name: &str) -> PathBuf {
    for base in ["target/fixtures", "plugins/dist"] {
        let dir = root().join(base).join(name);
        if dir.join("plugin.toml").is_file() {
            return dir;
        }
    }
    panic!(
        "plugin '{name}' is not built: run `cargo xtask build-plugins` and `cargo xtask build-fixtures`"
    );
}

/// A plugin directory holding copies of the named plugins.
pub struct PluginDir {
    pub dir: tempfile::TempDir,
}

impl PluginDir {
    pub fn with(names: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            let src = locate(name);
            let dest = dir.path().join(name);
            std::fs::create_dir_all(&dest).unwrap();
            for entry in std::fs::read_dir(&src).unwrap() {
                let path = entry.unwrap().path();
                std::fs::copy(&path, dest.join(path.file_name().unwrap())).unwrap();
            }
        }
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

pub fn runtime(dir: &PluginDir, policies: BTreeMap<String, PluginPolicy>) -> PluginRuntime {
    let mut config = RuntimeConfig::new(dir.path());
    config.policies = policies;
    // Shared by every test (and the e2e servers): each component is
    // compiled once per run, which matters for the interpreter plugins.
    config.compile_cache = Some(root().join("target/plugin-compile-cache"));
    let rt = PluginRuntime::load(&config).unwrap();
    assert!(rt.load_errors().is_empty(), "{:?}", rt.load_errors());
    rt
}

pub fn policy_with_limits(limits: Limits) -> PluginPolicy {
    PluginPolicy {
        limits: Some(limits),
        ..Default::default()
    }
}

pub fn request() -> ClaimRequest {
    ClaimRequest {
        tenant: "default".into(),
        issuer: "http://127.0.0.1:8099".into(),
        offer_id: "offer-1".into(),
        credential_configuration_id: "employee_badge_sd_jwt".into(),
        format: "dc+sd-jwt".into(),
        source: json!({ "type": "static", "claims": { "given_name": "Ada" } }),
        inline_claims: Some(json!({ "family_name": "Lovelace" })),
        ..Default::default()
    }
}

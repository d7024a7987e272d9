//! One built plugin in a runtime of its own, for tests that call a plugin
//! directly (no server).

use serde_json::Value;
use sigil_plugin_host::{
    FormatConfiguration, FormatFailure, PluginError, PluginRuntime, RuntimeConfig,
};

/// A runtime with only one plugin loaded, from a temporary copy of its
/// built directory (kept alive as long as the runtime).
pub struct LoadedPlugin {
    /// The runtime.
    pub rt: PluginRuntime,
    _dir: tempfile::TempDir,
}

/// Load the built plugin `name` alone, with the runtime's default limits.
pub fn load_only(name: &str) -> LoadedPlugin {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join(name);
    std::fs::create_dir_all(&dest).unwrap();
    for entry in std::fs::read_dir(crate::plugin_source(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dest.join(path.file_name().unwrap())).unwrap();
    }
    let rt = PluginRuntime::load(&RuntimeConfig::new(dir.path())).unwrap();
    assert!(rt.load_errors().is_empty(), "{:?}", rt.load_errors());
    LoadedPlugin { rt, _dir: dir }
}

/// A credential configuration as the host hands it to a format plugin.
pub fn configuration(id: &str, format: &str, settings: Value) -> FormatConfiguration {
    FormatConfiguration {
        id: id.into(),
        format: format.into(),
        settings,
    }
}

/// The typed failure of a format plugin call from `plugin`; panics on
/// success or on any other error.
pub fn format_failure(
    plugin: &str,
    result: Result<impl std::fmt::Debug, PluginError>,
) -> FormatFailure {
    match result {
        Err(PluginError::Format { plugin: p, error }) => {
            assert_eq!(p, plugin);
            error
        }
        other => panic!("expected a format failure from {plugin}, got {other:?}"),
    }
}

use std::collections::BTreeMap;

use sigil_plugin_host::{LoadError, PluginKind, PluginPolicy, PluginRuntime, RuntimeConfig};

use crate::helpers::{PluginDir, runtime};

#[test]
fn wrong_wit_version_is_refused_naming_the_file() {
    let dir = PluginDir::with(&["wrong-api-version", "claims-static"]);
    let rt = PluginRuntime::load(&RuntimeConfig::new(dir.path())).unwrap();
    assert!(
        rt.plugin("claims-static").is_some(),
        "good plugins still load"
    );
    assert!(rt.plugin("wrong-api-version").is_none());
    let errors = rt.load_errors();
    let [err] = errors.as_slice() else {
        panic!("{errors:?}")
    };
    assert!(matches!(err, LoadError::UnsupportedApi { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("wrong_api_version.wasm"), "{msg}");
    assert!(msg.contains("targets sigil:plugin@0.9.0"), "{msg}");
    assert!(
        msg.contains("this host supports sigil:plugin@0.1.0"),
        "{msg}"
    );
}

#[test]
fn manifest_declaring_an_unsupported_api_is_refused() {
    let dir = PluginDir::with(&["claims-static"]);
    let manifest = dir.path().join("claims-static/plugin.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("sigil:plugin@0.1.0", "sigil:plugin@0.3.0");
    std::fs::write(&manifest, text).unwrap();
    let rt = PluginRuntime::load(&RuntimeConfig::new(dir.path())).unwrap();
    let errors = rt.load_errors();
    let [err] = errors.as_slice() else {
        panic!("{errors:?}")
    };
    assert!(err.to_string().contains("plugin.toml"), "{err}");
    assert!(err.to_string().contains("sigil:plugin@0.3.0"), "{err}");
}

#[test]
fn kind_mismatch_between_manifest_and_component_is_refused() {
    let dir = PluginDir::with(&["sign-probe"]);
    let manifest = dir.path().join("sign-probe/plugin.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("credential-format", "claim-provider");
    std::fs::write(&manifest, text).unwrap();
    let rt = PluginRuntime::load(&RuntimeConfig::new(dir.path())).unwrap();
    let errors = rt.load_errors();
    let [err] = errors.as_slice() else {
        panic!("{errors:?}")
    };
    assert!(
        err.to_string().contains("implements credential-format"),
        "{err}"
    );
}

#[test]
fn sha256_pin_mismatch_is_refused() {
    let dir = PluginDir::with(&["claims-static"]);
    let policy = PluginPolicy {
        sha256: Some("00".repeat(32)),
        ..Default::default()
    };
    let mut config = RuntimeConfig::new(dir.path());
    config.policies = BTreeMap::from([("claims-static".into(), policy)]);
    let rt = PluginRuntime::load(&config).unwrap();
    assert!(
        matches!(
            rt.load_errors().as_slice(),
            [LoadError::HashMismatch { .. }]
        ),
        "{:?}",
        rt.load_errors()
    );
}

#[test]
fn matching_pin_loads_and_info_is_reported() {
    let dir = PluginDir::with(&["claims-static"]);
    let rt = runtime(&dir, BTreeMap::new());
    let info = rt.plugin("claims-static").unwrap().clone();
    assert_eq!(info.kind, PluginKind::ClaimProvider);
    assert_eq!(info.api, "sigil:plugin@0.1.0");
    let policy = PluginPolicy {
        sha256: Some(info.sha256.clone()),
        ..Default::default()
    };
    let rt = runtime(&dir, BTreeMap::from([("claims-static".into(), policy)]));
    assert!(rt.plugin("claims-static").is_some());
}

#[tokio::test]
async fn calling_a_plugin_of_the_other_kind_is_an_error() {
    let dir = PluginDir::with(&["sign-probe"]);
    let rt = runtime(&dir, BTreeMap::new());
    let err = rt
        .resolve_claims("sign-probe", &crate::helpers::request())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin 'sign-probe' is a credential-format plugin, not a claim-provider plugin"
    );
    let err = rt
        .resolve_claims("nope", &crate::helpers::request())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "plugin 'nope' is not loaded");
}

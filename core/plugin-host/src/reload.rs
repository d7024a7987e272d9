//! Reloading the plugin directory while calls run: read it again, keep
//! what did not change, load what is new or changed with the checks of a
//! start (manifest, sha256 pin, WIT version, kind), keep the version in use
//! of a plugin whose new version fails, then swap the whole set at once.
//!
//! [`PluginRuntime::prepare_reload`] builds the new set without touching
//! the one in use and returns it as a [`Reload`], whose
//! [`Reload::candidate`] can be called like the runtime itself (the server
//! checks its configuration against it and asks the new format plugins for
//! metadata). [`PluginRuntime::commit`] then swaps it in. Calls in flight
//! hold the plugin they started with (an `Arc`), so they finish on it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::loader::{self, LoadedPlugin, PluginInfo};
use crate::runtime::Shared;
use crate::{LoadError, PluginKind, PluginRuntime};

/// One version of the set of loaded plugins.
#[derive(Default)]
pub(crate) struct PluginSet {
    /// Loaded plugins by id.
    pub(crate) plugins: BTreeMap<String, Arc<LoadedPlugin>>,
    /// Plugins of the directory that are not loaded at all.
    pub(crate) errors: Vec<LoadError>,
    /// New versions refused while the version before keeps serving.
    pub(crate) refused: Vec<Refusal>,
    /// The plugin directory as it was when this set was read from it.
    pub(crate) fingerprint: Fingerprint,
}

/// A new version of a plugin that could not be loaded, while the version
/// before it keeps serving.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The plugin id.
    pub id: String,
    /// The version that keeps serving.
    pub serving: PluginInfo,
    /// Why the new version was refused (names the file and the problem).
    pub error: LoadError,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}; the new version of plugin '{}' is refused and version {} (sha256 {}, loaded {}) keeps serving",
            self.error,
            self.id,
            self.serving.version,
            short(&self.serving.sha256),
            sigil_time::rfc3339(self.serving.loaded_at)
        )
    }
}

fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

/// A plugin whose new version replaced the one in use.
#[derive(Debug, Clone)]
pub struct Replacement {
    /// The version that served until the swap.
    pub old: PluginInfo,
    /// The version that serves from the swap on.
    pub new: PluginInfo,
}

/// What a reload changes (or changed, once committed).
#[derive(Debug, Clone, Default)]
pub struct ReloadReport {
    /// Plugins that were not loaded before.
    pub added: Vec<PluginInfo>,
    /// Plugins whose manifest or component changed.
    pub replaced: Vec<Replacement>,
    /// Ids of plugins kept as they are (same manifest, same component).
    pub unchanged: Vec<String>,
    /// Plugins no longer in the directory.
    pub removed: Vec<PluginInfo>,
    /// New versions that failed to load; the version before keeps serving.
    pub refused: Vec<Refusal>,
    /// Plugins of the directory that failed to load and have no version
    /// in use.
    pub failed: Vec<LoadError>,
}

impl ReloadReport {
    /// Whether the set of serving plugins changes (added, replaced or removed).
    pub fn changes_plugins(&self) -> bool {
        !self.added.is_empty() || !self.replaced.is_empty() || !self.removed.is_empty()
    }

    /// Whether a plugin of `kind` is added, replaced or removed (or
    /// replaced by one of another kind).
    pub fn changes_kind(&self, kind: PluginKind) -> bool {
        self.added.iter().any(|p| p.kind == kind)
            || self.removed.iter().any(|p| p.kind == kind)
            || self
                .replaced
                .iter()
                .any(|r| r.old.kind == kind || r.new.kind == kind)
    }

    /// Whether every plugin of the directory loaded (nothing refused or failed).
    pub fn is_clean(&self) -> bool {
        self.refused.is_empty() && self.failed.is_empty()
    }
}

/// A new plugin set, loaded and checked but not in use yet.
pub struct Reload {
    base: Arc<PluginSet>,
    candidate: PluginRuntime,
    report: ReloadReport,
}

impl std::fmt::Debug for Reload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reload")
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl Reload {
    /// The new set as a runtime of its own (same engine and limits): call
    /// it to check the new plugins before they serve.
    pub fn candidate(&self) -> &PluginRuntime {
        &self.candidate
    }

    /// What committing this reload changes.
    pub fn report(&self) -> &ReloadReport {
        &self.report
    }
}

/// [`PluginRuntime::commit`] of a reload prepared on a set that has been
/// swapped since.
#[derive(Debug, thiserror::Error)]
#[error(
    "the plugins were swapped by another reload after this one was prepared; nothing was changed, reload again"
)]
pub struct StaleReload;

impl PluginRuntime {
    /// Read the plugin directory again and build the set a reload would
    /// swap in, without changing the set in use. Plugins whose manifest and
    /// component are unchanged are kept as they are (same instance, same
    /// load time); new and changed ones are loaded with every check of a
    /// start. A new version that fails to load is refused and the version
    /// in use is kept ([`ReloadReport::refused`]). Fails only when the
    /// directory itself cannot be read. Compiles components: run it off the
    /// async executor.
    pub fn prepare_reload(&self) -> Result<Reload, LoadError> {
        let base = self.set.load_full();
        let (set, report) = scan(&self.shared, &base)?;
        Ok(Reload {
            base,
            candidate: PluginRuntime {
                shared: self.shared.clone(),
                set: ArcSwap::from_pointee(set),
            },
            report,
        })
    }

    /// Swap in the set of `reload` at once: calls starting from now on use
    /// it; calls in flight finish on the plugins they started with. Refused
    /// when another reload was committed after `reload` was prepared.
    pub fn commit(&self, reload: Reload) -> Result<ReloadReport, StaleReload> {
        let new = reload.candidate.set.load_full();
        let previous = self.set.compare_and_swap(&reload.base, new);
        if Arc::ptr_eq(&previous, &reload.base) {
            Ok(reload.report)
        } else {
            Err(StaleReload)
        }
    }
}

/// Load the plugin directory of `shared`, reusing the plugins of
/// `previous` that did not change, and describe the difference.
pub(crate) fn scan(
    shared: &Shared,
    previous: &PluginSet,
) -> Result<(PluginSet, ReloadReport), LoadError> {
    let config = &shared.config;
    // Taken first: a file that changes while the directory is read makes
    // the directory differ from this set's fingerprint, so a watcher reloads.
    let fingerprint = fingerprint(&config.dir);
    let mut plugins: BTreeMap<String, Arc<LoadedPlugin>> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut kept: Vec<(Arc<LoadedPlugin>, LoadError)> = Vec::new();
    for manifest_path in loader::manifests(&config.dir)? {
        let (id, outcome) = match loader::read(&manifest_path) {
            Err(e) => (None, Err(e)),
            Ok(source) => {
                let id = source.manifest.id.clone();
                let outcome = match previous.plugins.get(&id).filter(|old| {
                    old.manifest_path == source.manifest_path
                        && old.manifest == source.manifest
                        && old.info.sha256 == source.sha256
                }) {
                    Some(old) => Ok(old.clone()),
                    None => loader::compile(
                        shared.engine.engine(),
                        &shared.linkers,
                        source,
                        &config.policies,
                        config.limits,
                    )
                    .map(Arc::new),
                };
                (Some(id), outcome)
            }
        };
        match outcome {
            Ok(plugin) => {
                if let Some(other) = plugins.get(&plugin.info.id) {
                    errors.push(LoadError::DuplicateId {
                        path: manifest_path,
                        id: plugin.info.id.clone(),
                        other: other.info.path.clone(),
                    });
                } else {
                    plugins.insert(plugin.info.id.clone(), plugin);
                }
            }
            Err(error) => {
                // The version in use of what failed: the plugin of that id,
                // or (when the manifest cannot be read) the one loaded from
                // this manifest.
                let in_use = id
                    .as_deref()
                    .and_then(|id| previous.plugins.get(id))
                    .or_else(|| {
                        previous
                            .plugins
                            .values()
                            .find(|p| p.manifest_path == manifest_path)
                    });
                match in_use {
                    Some(old) => kept.push((old.clone(), error)),
                    None => errors.push(error),
                }
            }
        }
    }
    let mut refused = Vec::new();
    for (old, error) in kept {
        if plugins.contains_key(&old.info.id) {
            // Another manifest of the directory serves this id now.
            errors.push(error);
        } else {
            refused.push(Refusal {
                id: old.info.id.clone(),
                serving: old.info.clone(),
                error,
            });
            plugins.insert(old.info.id.clone(), old);
        }
    }
    let set = PluginSet {
        plugins,
        errors,
        refused,
        fingerprint,
    };
    let report = compare(previous, &set);
    Ok((set, report))
}

/// What changes from `old` to `new`.
fn compare(old: &PluginSet, new: &PluginSet) -> ReloadReport {
    let mut report = ReloadReport {
        refused: new.refused.clone(),
        failed: new.errors.clone(),
        ..ReloadReport::default()
    };
    for (id, plugin) in &new.plugins {
        match old.plugins.get(id) {
            None => report.added.push(plugin.info.clone()),
            Some(before) if Arc::ptr_eq(before, plugin) => {
                if !new.refused.iter().any(|r| &r.id == id) {
                    report.unchanged.push(id.clone());
                }
            }
            Some(before) => report.replaced.push(Replacement {
                old: before.info.clone(),
                new: plugin.info.clone(),
            }),
        }
    }
    report.removed = old
        .plugins
        .iter()
        .filter(|(id, _)| !new.plugins.contains_key(*id))
        .map(|(_, p)| p.info.clone())
        .collect();
    report
}

/// A cheap summary of the plugin directory: the path, size and
/// modification time of every file in each of its subdirectories. Two
/// equal fingerprints a poll apart mean the directory is settled (no file
/// is being copied in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint(Vec<(std::path::PathBuf, u64, Option<std::time::SystemTime>)>);

impl PluginRuntime {
    /// The [`Fingerprint`] of the plugin directory as it is now (empty when
    /// it cannot be read).
    pub fn fingerprint(&self) -> Fingerprint {
        fingerprint(self.dir())
    }

    /// The [`Fingerprint`] of the plugin directory when the set in use was
    /// read from it: the directory has changed since when they differ.
    pub fn loaded_fingerprint(&self) -> Fingerprint {
        self.set.load().fingerprint.clone()
    }
}

/// The [`Fingerprint`] of `dir`.
pub fn fingerprint(dir: &Path) -> Fingerprint {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Fingerprint(files);
    };
    for entry in entries.filter_map(Result::ok) {
        let sub = entry.path();
        let Ok(inner) = std::fs::read_dir(&sub) else {
            continue;
        };
        files.push((sub, 0, None));
        for file in inner.filter_map(Result::ok) {
            if let Ok(meta) = file.metadata()
                && meta.is_file()
            {
                files.push((file.path(), meta.len(), meta.modified().ok()));
            }
        }
    }
    files.sort();
    Fingerprint(files)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::{ClaimRequest, PluginError, PluginPolicy, RuntimeConfig};

    fn dist(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../plugins/dist")
            .join(name)
    }

    /// A plugin directory with copies of built-in plugins.
    fn directory(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            copy(&dist(name), &dir.path().join(name));
        }
        dir
    }

    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }

    fn wasm(dir: &Path, plugin: &str) -> PathBuf {
        std::fs::read_dir(dir.join(plugin))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "wasm"))
            .unwrap()
    }

    /// The same component with a custom section appended: still valid,
    /// another sha256.
    fn touch_component(dir: &Path, plugin: &str) {
        let path = wasm(dir, plugin);
        let mut bytes = std::fs::read(&path).unwrap();
        let name = b"sigil-test";
        let payload = b"another build";
        bytes.push(0);
        bytes.push(u8::try_from(1 + name.len() + payload.len()).unwrap());
        bytes.push(u8::try_from(name.len()).unwrap());
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(payload);
        std::fs::write(path, bytes).unwrap();
    }

    fn set_version(dir: &Path, plugin: &str, version: &str) {
        let path = dir.join(plugin).join("plugin.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text
            .lines()
            .map(|l| {
                if l.starts_with("version =") {
                    format!("version = \"{version}\"")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(path, text).unwrap();
    }

    fn held(rt: &PluginRuntime, id: &str) -> Arc<LoadedPlugin> {
        rt.set.load().plugins.get(id).unwrap().clone()
    }

    fn request() -> ClaimRequest {
        ClaimRequest {
            tenant: "default".into(),
            issuer: "http://127.0.0.1:8099".into(),
            offer_id: "offer-1".into(),
            credential_configuration_id: "badge".into(),
            format: "dc+sd-jwt".into(),
            source: serde_json::json!({ "type": "static", "claims": { "given_name": "Ada" } }),
            ..Default::default()
        }
    }

    #[test]
    fn unchanged_plugins_are_kept_and_changed_ones_replaced() {
        let dir = directory(&["claims-static", "claims-inline"]);
        let rt = PluginRuntime::load(&RuntimeConfig::new(dir.path())).unwrap();
        let static_before = held(&rt, "claims-static");
        let inline_before = held(&rt, "claims-inline");
        set_version(dir.path(), "claims-static", "0.2.0");
        touch_component(dir.path(), "claims-static");

        let reload = rt.prepare_reload().unwrap();
        let report = reload.report();
        assert_eq!(report.unchanged, ["claims-inline"]);
        let [replaced] = report.replaced.as_slice() else {
            panic!("{report:?}")
        };
        assert_eq!(
            (replaced.old.version.as_str(), replaced.new.version.as_str()),
            ("0.1.0", "0.2.0")
        );
        assert_ne!(replaced.old.sha256, replaced.new.sha256);
        assert!(report.added.is_empty() && report.removed.is_empty() && report.is_clean());
        // Prepared, not committed: the set in use is the old one.
        assert_eq!(rt.plugin("claims-static").unwrap().version, "0.1.0");
        assert_eq!(
            reload.candidate().plugin("claims-static").unwrap().version,
            "0.2.0"
        );

        rt.commit(reload).unwrap();
        assert_eq!(rt.plugin("claims-static").unwrap().version, "0.2.0");
        assert!(Arc::ptr_eq(&held(&rt, "claims-inline"), &inline_before));
        assert!(!Arc::ptr_eq(&held(&rt, "claims-static"), &static_before));
        assert_eq!(
            rt.plugin("claims-inline").unwrap().loaded_at,
            inline_before.info.loaded_at
        );
    }

    #[test]
    fn a_broken_component_is_refused_and_the_old_one_keeps_serving() {
        let dir = directory(&["claims-static"]);
        let rt = PluginRuntime::load(&RuntimeConfig::new(dir.path())).unwrap();
        let before = held(&rt, "claims-static");
        set_version(dir.path(), "claims-static", "0.2.0");
        std::fs::write(wasm(dir.path(), "claims-static"), b"not a component").unwrap();

        let reload = rt.prepare_reload().unwrap();
        let [refusal] = reload.report().refused.as_slice() else {
            panic!("{:?}", reload.report())
        };
        assert_eq!(refusal.id, "claims-static");
        assert_eq!(refusal.serving.version, "0.1.0");
        let message = refusal.to_string();
        assert!(message.contains("claims_static.wasm"), "{message}");
        assert!(
            message.contains("not a valid WebAssembly component"),
            "{message}"
        );
        assert!(message.contains("version 0.1.0"), "{message}");
        assert!(!reload.report().changes_plugins());
        rt.commit(reload).unwrap();
        assert!(Arc::ptr_eq(&held(&rt, "claims-static"), &before));
        assert_eq!(rt.refused().len(), 1);
        assert!(
            rt.load_errors().is_empty(),
            "a refused version is no load error"
        );
    }

    #[test]
    fn a_wrong_kind_or_pin_is_refused_and_a_later_fix_clears_it() {
        let dir = directory(&["claims-static"]);
        let rt = PluginRuntime::load(&RuntimeConfig::new(dir.path())).unwrap();
        let manifest = dir.path().join("claims-static/plugin.toml");
        let good = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(
            &manifest,
            good.replace("claim-provider", "credential-format"),
        )
        .unwrap();
        let reload = rt.prepare_reload().unwrap();
        let [refusal] = reload.report().refused.as_slice() else {
            panic!("{:?}", reload.report())
        };
        assert!(
            refusal
                .error
                .to_string()
                .contains("implements claim-provider"),
            "{refusal}"
        );
        rt.commit(reload).unwrap();

        std::fs::write(&manifest, &good).unwrap();
        let reload = rt.prepare_reload().unwrap();
        assert!(reload.report().is_clean(), "{:?}", reload.report());
        assert_eq!(reload.report().unchanged, ["claims-static"]);
        rt.commit(reload).unwrap();
        assert!(rt.refused().is_empty());

        // A pin the new component does not match.
        let mut config = RuntimeConfig::new(dir.path());
        let pinned = rt.plugin("claims-static").unwrap().sha256;
        config.policies.insert(
            "claims-static".into(),
            PluginPolicy {
                sha256: Some(pinned),
                ..PluginPolicy::default()
            },
        );
        let rt = PluginRuntime::load(&config).unwrap();
        touch_component(dir.path(), "claims-static");
        let reload = rt.prepare_reload().unwrap();
        assert!(
            matches!(
                reload.report().refused.as_slice(),
                [Refusal {
                    error: LoadError::HashMismatch { .. },
                    ..
                }]
            ),
            "{:?}",
            reload.report()
        );
    }

    #[test]
    fn added_and_removed_plugins_are_reported() {
        let dir = directory(&["claims-static"]);
        let rt = PluginRuntime::load(&RuntimeConfig::new(dir.path())).unwrap();
        copy(&dist("claims-inline"), &dir.path().join("claims-inline"));
        std::fs::remove_dir_all(dir.path().join("claims-static")).unwrap();
        std::fs::create_dir_all(dir.path().join("broken")).unwrap();
        std::fs::write(dir.path().join("broken/plugin.toml"), "id = ").unwrap();
        let reload = rt.prepare_reload().unwrap();
        let report = reload.report();
        assert_eq!(report.added.len(), 1, "{report:?}");
        assert_eq!(report.added[0].id, "claims-inline");
        assert_eq!(report.removed.len(), 1, "{report:?}");
        assert_eq!(report.removed[0].id, "claims-static");
        let [failed] = report.failed.as_slice() else {
            panic!("{report:?}")
        };
        assert!(failed.to_string().contains("broken"), "{failed}");
        assert!(report.changes_kind(PluginKind::ClaimProvider));
        assert!(!report.changes_kind(PluginKind::CredentialFormat));
        rt.commit(reload).unwrap();
        assert!(rt.plugin("claims-static").is_none());
        assert_eq!(rt.load_errors().len(), 1);
    }

    #[test]
    fn a_reload_prepared_before_another_commit_is_stale() {
        let dir = directory(&["claims-static"]);
        let rt = PluginRuntime::load(&RuntimeConfig::new(dir.path())).unwrap();
        let first = rt.prepare_reload().unwrap();
        let second = rt.prepare_reload().unwrap();
        rt.commit(first).unwrap();
        assert!(rt.commit(second).is_err());
    }

    #[tokio::test]
    async fn a_call_in_flight_finishes_on_the_plugin_it_started_with() {
        // slow-sleep waits 10 s in a host call; its deadline here is 500 ms.
        let dir = tempfile::tempdir().unwrap();
        let fixture =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures/slow-sleep");
        copy(&fixture, &dir.path().join("slow-sleep"));
        let mut config = RuntimeConfig::new(dir.path());
        config.policies.insert(
            "slow-sleep".into(),
            PluginPolicy {
                limits: Some(crate::Limits {
                    timeout_ms: 500,
                    ..crate::Limits::default()
                }),
                ..PluginPolicy::default()
            },
        );
        let rt = PluginRuntime::load(&config).unwrap();
        let before = held(&rt, "slow-sleep");
        let request = request();
        let mut call = std::pin::pin!(rt.resolve_claims("slow-sleep", &request));
        assert!(futures::poll!(call.as_mut()).is_pending());
        assert_eq!(Arc::strong_count(&before), 3, "set, test and call hold it");
        // Swap in a set without the plugin while the call runs.
        std::fs::remove_dir_all(dir.path().join("slow-sleep")).unwrap();
        let reload = rt.prepare_reload().unwrap();
        assert_eq!(reload.report().removed.len(), 1);
        rt.commit(reload).unwrap();
        assert!(rt.plugin("slow-sleep").is_none());
        assert_eq!(Arc::strong_count(&before), 2, "only the call and the test");
        // The call ends on the old plugin (its deadline), not "not loaded".
        let err = call.await.unwrap_err();
        assert!(matches!(err, PluginError::Timeout { .. }), "{err}");
        assert_eq!(Arc::strong_count(&before), 1);
        // A call starting after the swap finds no such plugin.
        let err = rt.resolve_claims("slow-sleep", &request).await.unwrap_err();
        assert!(matches!(err, PluginError::NotLoaded { .. }), "{err}");
    }

    #[test]
    fn the_fingerprint_follows_files_of_plugin_folders() {
        let dir = directory(&["claims-static"]);
        let first = fingerprint(dir.path());
        assert_eq!(first, fingerprint(dir.path()));
        set_version(dir.path(), "claims-static", "0.1.1-and-longer");
        let second = fingerprint(dir.path());
        assert_ne!(first, second);
        std::fs::create_dir_all(dir.path().join("new")).unwrap();
        assert_ne!(second, fingerprint(dir.path()));
        // A runtime remembers the directory it loaded.
        let rt = PluginRuntime::load(&RuntimeConfig::new(dir.path())).unwrap();
        assert_eq!(rt.loaded_fingerprint(), rt.fingerprint());
        set_version(dir.path(), "claims-static", "0.1.2");
        assert_ne!(rt.loaded_fingerprint(), rt.fingerprint());
        rt.commit(rt.prepare_reload().unwrap()).unwrap();
        assert_eq!(rt.loaded_fingerprint(), rt.fingerprint());
    }
}

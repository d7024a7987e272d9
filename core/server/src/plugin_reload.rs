//! Plugin hot reload (ADR 0022): swap new or changed plugin components in
//! without a restart, on a change of the plugin directory (a polling
//! watcher, `plugins.watch`), on `SIGHUP`, or on `POST
//! /admin/v1/plugins/reload`.
//!
//! A reload reads the plugin directory again ([`PluginRuntime::prepare_reload`]:
//! unchanged plugins are kept, new and changed ones loaded with every check
//! of a start, a new version that fails is refused while the old one keeps
//! serving), checks the configuration against the new set (every
//! credential configuration, attribute provider and webhook endpoint still
//! finds its plugin, of the right kind), and when a format plugin changed,
//! rebuilds every tenant's issuer metadata with the new set. Only when all
//! of that succeeds is the set swapped in, at once; otherwise nothing
//! changes. Requests in flight finish on the plugins they started with.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sigil_plugin_host::{PluginInfo, PluginKind, PluginRuntime, ReloadReport};
use sigil_settings::{ClaimSource, STATIC_PLUGIN, Settings, WEBHOOK_PLUGIN};
use utoipa::ToSchema;

use crate::problem::{FieldError, Problem, ProblemType};
use crate::state::AppState;
use crate::tenants::TenantKeys;

/// What asked for a reload (logged with its outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The plugin directory changed (`plugins.watch`).
    Watch,
    /// `SIGHUP`.
    Signal,
    /// `POST /admin/v1/plugins/reload`.
    Admin,
}

impl Trigger {
    /// The trigger as logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Watch => "watch",
            Self::Signal => "sighup",
            Self::Admin => "admin",
        }
    }
}

/// A reload that swapped nothing: the plugins in use keep serving.
#[derive(Debug, Clone)]
pub struct Refused {
    /// Why, naming the file, the key or the plugin, and the problem.
    pub reason: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "plugin reload refused, the plugins in use keep serving: {}",
            self.reason
        )
    }
}

fn refused(reason: impl Into<String>) -> Refused {
    Refused {
        reason: reason.into(),
    }
}

/// Reload the plugins of `state` (one reload or key change at a time) and
/// log the outcome. `Ok` when the new set was swapped in; its report may
/// still name new versions that were refused (the old ones keep serving).
pub async fn reload(state: &AppState, trigger: Trigger) -> Result<ReloadReport, Refused> {
    let _one_at_a_time = crate::routes::admin::keys::KEY_CHANGES.lock().await;
    let outcome = swap(state).await;
    log(trigger, &outcome);
    let clean = outcome.as_ref().is_ok_and(ReloadReport::is_clean);
    state
        .metrics
        .plugin_reload(if clean { "ok" } else { "failed" });
    outcome
}

async fn swap(state: &AppState) -> Result<ReloadReport, Refused> {
    let plugins = state.plugins.clone();
    let reload = tokio::task::spawn_blocking(move || plugins.prepare_reload())
        .await
        .map_err(|e| refused(format!("the reload stopped: {e}")))?
        .map_err(|e| refused(e.to_string()))?;
    let candidate = reload.candidate();
    keeps_what_is_used(&state.settings, reload.report())?;
    crate::tenants::check_plugins(&state.settings, candidate)
        .map_err(|e| refused(format!("{e:#}")))?;
    let metadata = if reload.report().changes_kind(PluginKind::CredentialFormat) {
        Some(rebuild_metadata(state, candidate).await?)
    } else {
        None
    };
    let report = state
        .plugins
        .commit(reload)
        .map_err(|e| refused(e.to_string()))?;
    // Under the lock of key changes: no rotation runs between the checks
    // above and this store.
    for (tenant, keys) in state.tenants.iter().zip(metadata.into_iter().flatten()) {
        tenant.keys.store(Arc::new(keys));
    }
    Ok(report)
}

/// Refuse a reload that removes a plugin the configuration names, or turns
/// it into a plugin of the other kind (the check of start-up below does not
/// cover `claims-static`, which static claim sources use).
fn keeps_what_is_used(settings: &Settings, report: &ReloadReport) -> Result<(), Refused> {
    let removed = report.removed.iter().map(|p| (p, "remove it".to_owned()));
    let rekinded = report
        .replaced
        .iter()
        .filter(|r| r.old.kind != r.new.kind)
        .map(|r| (&r.old, format!("make it a {} plugin", r.new.kind.as_str())));
    for (plugin, change) in removed.chain(rekinded) {
        if let Some(user) = user_of(settings, &plugin.id) {
            return Err(refused(format!(
                "{user} plugin '{}' ({}), and the reload would {change}. Fix: put the plugin back in {} or change what uses it (a configuration change needs a restart)",
                plugin.id,
                plugin.kind.as_str(),
                settings.plugins.dir.display()
            )));
        }
    }
    Ok(())
}

/// Where the configuration names plugin `id`, as `<file>: <key>: uses`.
fn user_of(settings: &Settings, id: &str) -> Option<String> {
    let file = |kind: &str, name: &str| {
        settings
            .resource_files
            .get(&format!("{kind}:{name}"))
            .unwrap_or(&settings.source)
            .display()
            .to_string()
    };
    for c in settings.credential_configurations.values() {
        let file = file("credential-configuration", &c.id);
        if c.format_plugin_id() == Some(id) {
            return Some(format!("{file}: format: '{}' uses", c.format));
        }
        let source = match &c.source {
            Some(ClaimSource::Static { .. }) => STATIC_PLUGIN,
            Some(ClaimSource::Webhook { .. }) => WEBHOOK_PLUGIN,
            Some(ClaimSource::Plugin { plugin, .. }) => plugin,
            None => "",
        };
        if source == id {
            return Some(format!("{file}: source: uses"));
        }
    }
    for p in settings.attribute_providers.values() {
        if p.plugin_id() == id {
            return Some(format!(
                "{}: plugin: uses",
                file("attribute-provider", &p.id)
            ));
        }
    }
    let endpoint = settings.webhook_endpoints.values().next();
    match endpoint {
        Some(w) if id == WEBHOOK_PLUGIN => {
            Some(format!("{}: url: uses", file("webhook-endpoint", &w.id)))
        }
        _ => None,
    }
}

/// Every tenant's keys with metadata described by the format plugins of
/// `candidate` (same keys, same order as `state.tenants`).
async fn rebuild_metadata(
    state: &AppState,
    candidate: &PluginRuntime,
) -> Result<Vec<TenantKeys>, Refused> {
    let mut rebuilt = Vec::new();
    for tenant in state.tenants.iter() {
        let keys = tenant.keys.load_full();
        let mut algorithms: Vec<&str> = Vec::new();
        for k in std::iter::once(&keys.active).chain(&keys.standby) {
            let name = k.key.algorithm().jose_name();
            if !algorithms.contains(&name) {
                algorithms.push(name);
            }
        }
        let (metadata, format_settings) = crate::tenants::describe(
            &state.settings,
            candidate,
            &tenant.id,
            &algorithms,
        )
        .await
        .map_err(|e| {
            refused(format!(
                "tenant '{}': the new format plugins cannot describe its configurations: {e:#}",
                tenant.id
            ))
        })?;
        rebuilt.push(TenantKeys {
            format_settings,
            metadata,
            active: keys.active.clone(),
            standby: keys.standby.clone(),
            retired: keys.retired.clone(),
            published: keys.published.clone(),
        });
    }
    Ok(rebuilt)
}

fn log(trigger: Trigger, outcome: &Result<ReloadReport, Refused>) {
    let trigger = trigger.as_str();
    match outcome {
        Err(e) => tracing::error!(trigger, error = %e, "plugin reload refused"),
        Ok(report) => {
            for r in &report.refused {
                tracing::error!(trigger, plugin = %r.id, error = %r, "new plugin version refused");
            }
            for e in &report.failed {
                tracing::error!(trigger, error = %e, "plugin not loaded");
            }
            if report.changes_plugins() {
                tracing::info!(trigger, changes = %summary(report), "plugins swapped");
            } else {
                tracing::debug!(trigger, "plugin reload: nothing changed");
            }
        }
    }
}

/// The changes of a report in one line (`added a 1.0.0; replaced b 1.0.0 -> 1.1.0`).
pub fn summary(report: &ReloadReport) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.extend(
        report
            .added
            .iter()
            .map(|p| format!("added {} {}", p.id, p.version)),
    );
    parts.extend(report.replaced.iter().map(|r| {
        format!(
            "replaced {} {} -> {}",
            r.new.id, r.old.version, r.new.version
        )
    }));
    parts.extend(
        report
            .removed
            .iter()
            .map(|p| format!("removed {} {}", p.id, p.version)),
    );
    if parts.is_empty() {
        "no plugin changed".to_owned()
    } else {
        parts.join("; ")
    }
}

/// What a reload did (the answer of `POST /admin/v1/plugins/reload`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "added": [],
    "replaced": [{"id": "format-sd-jwt-vc", "from": "0.1.0", "to": "0.1.1",
        "sha256": "5d41402abc4b2a76b9719d911017c592ae1c1b8ad5ab1ab05ccc0a5b2b1e4f3a", "loadedAt": "2025-06-01T12:00:00Z"}],
    "unchanged": ["claims-inline", "claims-static"],
    "removed": []
}))]
pub struct ReloadView {
    /// Plugins loaded for the first time.
    pub added: Vec<PluginVersion>,
    /// Plugins whose new version now serves.
    pub replaced: Vec<Replaced>,
    /// Ids of plugins kept as they were (same manifest and component).
    pub unchanged: Vec<String>,
    /// Plugins no longer in the plugin directory.
    pub removed: Vec<PluginVersion>,
}

/// A plugin version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginVersion {
    /// Plugin id.
    pub id: String,
    /// Its version (`plugin.toml`).
    pub version: String,
    /// SHA-256 of its component (hex).
    pub sha256: String,
    /// When it was loaded (RFC 3339, UTC).
    pub loaded_at: String,
}

impl PluginVersion {
    fn of(p: &PluginInfo) -> Self {
        Self {
            id: p.id.clone(),
            version: p.version.clone(),
            sha256: p.sha256.clone(),
            loaded_at: sigil_time::rfc3339(p.loaded_at),
        }
    }
}

/// A plugin whose new version replaced the old one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Replaced {
    /// Plugin id.
    pub id: String,
    /// The version that served before.
    pub from: String,
    /// The version that serves now.
    pub to: String,
    /// SHA-256 of the new component (hex).
    pub sha256: String,
    /// When the new version was loaded (RFC 3339, UTC).
    pub loaded_at: String,
}

impl ReloadView {
    /// The view of `report`.
    pub fn of(report: &ReloadReport) -> Self {
        Self {
            added: report.added.iter().map(PluginVersion::of).collect(),
            replaced: report
                .replaced
                .iter()
                .map(|r| Replaced {
                    id: r.new.id.clone(),
                    from: r.old.version.clone(),
                    to: r.new.version.clone(),
                    sha256: r.new.sha256.clone(),
                    loaded_at: sigil_time::rfc3339(r.new.loaded_at),
                })
                .collect(),
            unchanged: report.unchanged.clone(),
            removed: report.removed.iter().map(PluginVersion::of).collect(),
        }
    }
}

/// The admin API's answer to a reload: the report when every plugin of the
/// directory loaded; a `plugin-refused` problem (422) naming each plugin
/// that did not (the rest of the reload was applied); a
/// `plugin-reload-refused` problem (409) when nothing was swapped.
pub fn answer(outcome: Result<ReloadReport, Refused>) -> Result<ReloadView, Problem> {
    let report =
        outcome.map_err(|e| Problem::new(ProblemType::PluginReloadRefused, e.to_string()))?;
    if report.is_clean() {
        return Ok(ReloadView::of(&report));
    }
    let mut errors: Vec<FieldError> = report
        .refused
        .iter()
        .map(|r| FieldError {
            field: r.id.clone(),
            message: r.to_string(),
        })
        .collect();
    errors.extend(report.failed.iter().map(|e| FieldError {
        field: folder(e.path()),
        message: e.to_string(),
    }));
    let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    let mut problem = Problem::new(
        ProblemType::PluginRefused,
        format!(
            "{} plugin(s) of the plugin directory did not load: {} (errors names each and why; a refused new version is not swapped in, the version before keeps serving). Applied: {}",
            errors.len(),
            names.join(", "),
            summary(&report)
        ),
    );
    errors.truncate(crate::problem::MAX_FIELD_ERRORS);
    problem.errors = errors;
    Err(problem)
}

/// The plugin folder of a file of the plugin directory (its parent's name).
fn folder(path: &std::path::Path) -> String {
    path.parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Watch the plugin directory (`plugins.watch`): every
/// `plugins.watch_interval_ms`, compare the path, size and modification
/// time of each file of its plugin folders with what the plugins in use
/// were loaded from; a difference that stays the same for one more poll (so
/// a file being copied in is not read half-written) triggers a reload. A
/// state of the directory is tried once: after a refusal, the next change
/// triggers the next reload. `None` when watching is off.
pub fn spawn(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    if !state.settings.plugins.watch {
        return None;
    }
    let interval = Duration::from_millis(state.settings.plugins.watch_interval_ms.max(10));
    let state = state.clone();
    Some(tokio::spawn(async move {
        let mut last = None;
        let mut tried = None;
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let plugins = state.plugins.clone();
            let Ok((now, loaded)) = tokio::task::spawn_blocking(move || {
                (plugins.fingerprint(), plugins.loaded_fingerprint())
            })
            .await
            else {
                continue;
            };
            let now = Some(now);
            let settled = now == last;
            last = now.clone();
            if now == Some(loaded) || now == tried || !settled {
                continue;
            }
            tried = now;
            // The outcome is logged and counted.
            let _ = reload(&state, Trigger::Watch).await;
        }
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_failed_plugin_is_named_by_its_folder() {
        assert_eq!(
            folder(Path::new("/srv/plugins/broken/plugin.toml")),
            "broken"
        );
        assert_eq!(folder(Path::new("/srv/plugins/x/x.wasm")), "x");
    }

    #[test]
    fn a_refusal_is_a_409_that_names_the_reason() {
        let problem = answer(Err(refused(
            "config/credential-configurations/badge.toml: format: needs plugin 'f'",
        )))
        .unwrap_err();
        assert_eq!(problem.status, 409);
        assert!(problem.kind.ends_with("/plugin-reload-refused"));
        assert!(problem.detail.contains("badge.toml"), "{}", problem.detail);
    }

    #[test]
    fn a_clean_report_is_the_view() {
        let view = answer(Ok(ReloadReport {
            unchanged: vec!["claims-inline".into()],
            ..ReloadReport::default()
        }))
        .unwrap();
        assert_eq!(view.unchanged, ["claims-inline"]);
        assert!(view.replaced.is_empty());
    }
}

//! [`PluginRuntime`]: every loaded plugin, and the calls into them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::{Map, Value};
use sigil_keys::SharedSigner;
use wasmtime::Store;

use crate::bindings::claims::sigil::plugin::types::{
    ClaimError, ClaimOutcome as RawOutcome, FormatError,
};
use crate::calls;
use crate::engine::{EngineOptions, SandboxEngine};
use crate::loader::{Linkers, LoadedPlugin, PluginInfo, Pre};
use crate::outbound::Outbound;
use crate::reload::{PluginSet, Refusal};
use crate::signing::KeyHandle;
use crate::state::CallState;
use crate::{
    ClaimFailure, ClaimOutcome, ClaimRequest, FormatConfiguration, FormatFailure, IssueInput,
    Limits, LoadError, PluginError, PluginKind, PluginPolicy,
};

/// How to load plugins.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The plugin directory: one subdirectory per plugin with `plugin.toml` and a `.wasm`.
    pub dir: PathBuf,
    /// Limits for plugins without their own.
    pub limits: Limits,
    /// The operator's grants, by plugin id.
    pub policies: BTreeMap<String, PluginPolicy>,
    /// How many plugin calls may run at once.
    pub max_concurrent_calls: u32,
    /// Where every call is recorded (disabled: nowhere).
    pub metrics: sigil_metrics::Metrics,
    /// Where compiled components are kept across starts and reloads
    /// (none: every load compiles).
    pub compile_cache: Option<PathBuf>,
}

impl RuntimeConfig {
    /// Defaults for `dir`: default limits, no grants, 256 concurrent calls.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            limits: Limits::default(),
            policies: BTreeMap::new(),
            max_concurrent_calls: 256,
            metrics: sigil_metrics::Metrics::disabled(),
            compile_cache: None,
        }
    }
}

/// All loaded plugins. Cheap to share (`Arc`); every call gets a fresh sandbox.
///
/// The set of plugins can be swapped while calls run
/// ([`PluginRuntime::prepare_reload`], [`PluginRuntime::commit`]): each call
/// takes the plugin it needs from the set current at its start and holds it
/// to the end, so calls in flight finish on the component they started on.
pub struct PluginRuntime {
    pub(crate) shared: Arc<Shared>,
    pub(crate) set: ArcSwap<PluginSet>,
}

/// What every version of the plugin set shares: one engine (so new
/// components compile into the engine the sandbox pool belongs to), the
/// host interfaces, and the configuration the plugins are loaded with.
pub(crate) struct Shared {
    pub(crate) engine: SandboxEngine,
    pub(crate) linkers: Linkers,
    pub(crate) config: RuntimeConfig,
}

impl std::fmt::Debug for PluginRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.set.load();
        f.debug_struct("PluginRuntime")
            .field("plugins", &set.plugins.keys().collect::<Vec<_>>())
            .field("errors", &set.errors)
            .field("refused", &set.refused)
            .finish_non_exhaustive()
    }
}

impl PluginRuntime {
    /// Load every plugin of `config.dir`. Plugins that fail to load are
    /// reported by [`PluginRuntime::load_errors`]; the others are usable.
    pub fn load(config: &RuntimeConfig) -> Result<Self, LoadError> {
        let max_memory = config
            .policies
            .values()
            .filter_map(|p| p.limits.map(|l| l.max_memory_bytes))
            .chain([config.limits.max_memory_bytes])
            .max()
            .unwrap_or(config.limits.max_memory_bytes);
        let engine = SandboxEngine::new(&EngineOptions {
            max_memory_bytes: max_memory,
            max_concurrent_calls: config.max_concurrent_calls,
            compile_cache: config.compile_cache.clone(),
        })
        .map_err(|e| LoadError::Compile {
            path: config.dir.clone(),
            message: format!("cannot create the WebAssembly engine: {e}"),
        })?;
        let linkers = Linkers::new(engine.engine()).map_err(|e| LoadError::Compile {
            path: config.dir.clone(),
            message: format!("cannot link host interfaces: {e}"),
        })?;
        let shared = Arc::new(Shared {
            engine,
            linkers,
            config: config.clone(),
        });
        let (set, _) = crate::reload::scan(&shared, &PluginSet::default())?;
        Ok(Self {
            shared,
            set: ArcSwap::from_pointee(set),
        })
    }

    /// The plugin directory.
    pub fn dir(&self) -> &Path {
        &self.shared.config.dir
    }

    /// The loaded plugins, by id (a snapshot of the current set).
    pub fn plugins(&self) -> impl Iterator<Item = PluginInfo> + use<> {
        let set = self.set.load_full();
        let infos: Vec<PluginInfo> = set.plugins.values().map(|p| p.info.clone()).collect();
        infos.into_iter()
    }

    /// One loaded plugin.
    pub fn plugin(&self, id: &str) -> Option<PluginInfo> {
        self.set.load().plugins.get(id).map(|p| p.info.clone())
    }

    /// Plugins of the directory that are not loaded, and why (no version
    /// of them serves).
    pub fn load_errors(&self) -> Vec<LoadError> {
        self.set.load().errors.clone()
    }

    /// New versions the last reload refused while the version before keeps
    /// serving, and why.
    pub fn refused(&self) -> Vec<Refusal> {
        self.set.load().refused.clone()
    }

    /// Whether the pooling allocator is in use.
    pub fn is_pooling(&self) -> bool {
        self.shared.engine.is_pooling()
    }

    /// The plugin `id` of the current set, held for one call.
    fn get(&self, id: &str, kind: PluginKind) -> Result<Arc<LoadedPlugin>, PluginError> {
        let plugin =
            self.set
                .load()
                .plugins
                .get(id)
                .cloned()
                .ok_or_else(|| PluginError::NotLoaded {
                    plugin: id.to_owned(),
                })?;
        if plugin.info.kind != kind {
            return Err(PluginError::WrongKind {
                plugin: id.to_owned(),
                expected: kind.as_str(),
                actual: plugin.info.kind.as_str(),
            });
        }
        Ok(plugin)
    }

    fn store(&self, plugin: &LoadedPlugin) -> Result<Store<CallState>, PluginError> {
        let limits = plugin.limits;
        let outbound = Outbound::new(
            plugin.grant.clone(),
            limits.timeout(),
            limits.max_http_response_bytes,
            self.shared.config.metrics.clone(),
        );
        let state = CallState::new(
            plugin.id.clone(),
            outbound,
            plugin.config.clone(),
            limits.max_memory_bytes,
            self.shared.config.metrics.clone(),
        );
        let mut store = Store::new(self.shared.engine.engine(), state);
        store.limiter(|s| &mut s.memory);
        store.set_fuel(limits.fuel).map_err(|e| trap(plugin, &e))?;
        // Yield to the executor every epoch tick; the wall-clock deadline is
        // enforced by the timeout around the call.
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        Ok(store)
    }

    /// Ask a claim provider for the claims of one credential.
    #[tracing::instrument(name = "plugin.call", skip_all, fields(plugin = %id, call = "resolve"))]
    pub async fn resolve_claims(
        &self,
        id: &str,
        request: &ClaimRequest,
    ) -> Result<ClaimOutcome, PluginError> {
        // Held to the end of the call: a reload meanwhile does not touch it.
        let held = self.get(id, PluginKind::ClaimProvider)?;
        let plugin = held.as_ref();
        let Pre::Claims(pre) = &plugin.pre else {
            return Err(wrong_kind(plugin, PluginKind::ClaimProvider));
        };
        let raw = calls::claim_context(request);
        let mut store = self.store(plugin)?;
        let call = async {
            let bindings = pre.instantiate_async(&mut store).await?;
            bindings
                .sigil_plugin_claims()
                .call_resolve(&mut store, &raw)
                .await
        };
        let result = tokio::time::timeout(plugin.limits.timeout(), call).await;
        let outcome = finish(plugin, "resolve_claims", &store, result)?;
        match outcome {
            Ok(RawOutcome::Claims(json)) => {
                Ok(ClaimOutcome::Claims(parse_object(plugin, &json, "claims")?))
            }
            Ok(RawOutcome::Pending(p)) => Ok(ClaimOutcome::Pending {
                interval_seconds: p.interval_seconds,
                reason: p.reason,
            }),
            Err(e) => Err(denied_or(
                plugin,
                &store,
                PluginError::Claim {
                    plugin: plugin.info.id.clone(),
                    error: claim_failure(e),
                },
            )),
        }
    }

    /// The format-specific metadata of one configuration.
    #[tracing::instrument(name = "plugin.call", skip_all, fields(plugin = %id, call = "metadata"))]
    pub async fn format_metadata(
        &self,
        id: &str,
        configuration: &FormatConfiguration,
    ) -> Result<Map<String, Value>, PluginError> {
        // Held to the end of the call: a reload meanwhile does not touch it.
        let held = self.get(id, PluginKind::CredentialFormat)?;
        let plugin = held.as_ref();
        let Pre::Format(pre) = &plugin.pre else {
            return Err(wrong_kind(plugin, PluginKind::CredentialFormat));
        };
        let raw = calls::configuration(configuration);
        let mut store = self.store(plugin)?;
        let call = async {
            let bindings = pre.instantiate_async(&mut store).await?;
            bindings
                .sigil_plugin_format()
                .call_metadata(&mut store, &raw)
                .await
        };
        let result = tokio::time::timeout(plugin.limits.timeout(), call).await;
        match finish(plugin, "format_metadata", &store, result)? {
            Ok(json) => parse_object(plugin, &json, "metadata"),
            Err(e) => Err(format_error(plugin, e)),
        }
    }

    /// Issue one credential per slot of `input`, signed with `key` by the host.
    #[tracing::instrument(name = "plugin.call", skip_all, fields(plugin = %id, call = "issue"))]
    pub async fn issue(
        &self,
        id: &str,
        input: &IssueInput,
        key: SharedSigner,
    ) -> Result<Vec<String>, PluginError> {
        // Held to the end of the call: a reload meanwhile does not touch it.
        let held = self.get(id, PluginKind::CredentialFormat)?;
        let plugin = held.as_ref();
        let Pre::Format(pre) = &plugin.pre else {
            return Err(wrong_kind(plugin, PluginKind::CredentialFormat));
        };
        let raw = calls::issue_request(input);
        let mut store = self.store(plugin)?;
        let handle = store
            .data_mut()
            .table
            .push(KeyHandle::new(key))
            .map_err(|e| trap(plugin, &e.into()))?;
        let call = async {
            let bindings = pre.instantiate_async(&mut store).await?;
            bindings
                .sigil_plugin_format()
                .call_issue(&mut store, &raw, handle)
                .await
        };
        let result = tokio::time::timeout(plugin.limits.timeout(), call).await;
        let credentials = match finish(plugin, "issue", &store, result)? {
            Ok(list) => list,
            Err(e) => return Err(format_error(plugin, e)),
        };
        if credentials.len() != input.slots.len() {
            return Err(invalid(
                plugin,
                format!(
                    "{} credentials for {} requested",
                    credentials.len(),
                    input.slots.len()
                ),
            ));
        }
        let max = plugin.limits.max_output_bytes;
        credentials
            .into_iter()
            .map(|c| {
                if c.credential.len() > max {
                    Err(invalid(
                        plugin,
                        format!(
                            "a credential of {} bytes exceeds the {max}-byte limit",
                            c.credential.len()
                        ),
                    ))
                } else if c.credential.is_empty() {
                    Err(invalid(plugin, "an empty credential".into()))
                } else {
                    Ok(c.credential)
                }
            })
            .collect()
    }
}

type CallResult<T> = Result<wasmtime::Result<T>, tokio::time::error::Elapsed>;

/// Turn the outcome of a sandboxed call into the guest's result or an
/// attributed error, and record it as `call` ([`crate::observe`]).
fn finish<T, E>(
    plugin: &LoadedPlugin,
    call: &'static str,
    store: &Store<CallState>,
    result: CallResult<Result<T, E>>,
) -> Result<Result<T, E>, PluginError> {
    let outcome = match result {
        Err(_) => Err(PluginError::Timeout {
            plugin: plugin.info.id.clone(),
            limit: plugin.limits.timeout(),
        }),
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(classify(plugin, store, &e)),
    };
    crate::observe::call(call, store.data(), &outcome);
    outcome
}

fn classify(plugin: &LoadedPlugin, store: &Store<CallState>, e: &wasmtime::Error) -> PluginError {
    let id = plugin.info.id.clone();
    if store.data().memory.exceeded {
        return PluginError::MemoryExceeded {
            plugin: id,
            limit: plugin.limits.max_memory_bytes,
        };
    }
    if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return PluginError::Unavailable {
            plugin: id,
            reason: "all sandbox slots are busy; raise plugins.max_concurrent_calls".into(),
        };
    }
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::OutOfFuel) => PluginError::FuelExhausted {
            plugin: id,
            fuel: plugin.limits.fuel,
        },
        Some(wasmtime::Trap::Interrupt) => PluginError::Timeout {
            plugin: id,
            limit: plugin.limits.timeout(),
        },
        _ => trap(plugin, e),
    }
}

fn trap(plugin: &LoadedPlugin, e: &wasmtime::Error) -> PluginError {
    let message = match e.downcast_ref::<wasmtime::Trap>() {
        Some(t) => t.to_string(),
        None => format!("{e:#}"),
    };
    PluginError::Trap {
        plugin: plugin.info.id.clone(),
        message,
    }
}

fn invalid(plugin: &LoadedPlugin, reason: String) -> PluginError {
    PluginError::InvalidOutput {
        plugin: plugin.info.id.clone(),
        reason,
    }
}

fn wrong_kind(plugin: &LoadedPlugin, expected: PluginKind) -> PluginError {
    PluginError::WrongKind {
        plugin: plugin.info.id.clone(),
        expected: expected.as_str(),
        actual: plugin.info.kind.as_str(),
    }
}

/// The sandbox's verdict on a call whose guest answered with an error: a
/// request to an origin it was not granted, or memory the limit refused
/// (an interpreter such as Python's or SpiderMonkey catches a failed
/// `memory.grow` and fails the call itself, where Rust code traps). Else the
/// guest's own error.
fn denied_or(plugin: &LoadedPlugin, store: &Store<CallState>, error: PluginError) -> PluginError {
    if store.data().memory.exceeded {
        return PluginError::MemoryExceeded {
            plugin: plugin.info.id.clone(),
            limit: plugin.limits.max_memory_bytes,
        };
    }
    let denied = store.data().outbound.denied();
    if denied.is_empty() {
        error
    } else {
        PluginError::CapabilityDenied {
            plugin: plugin.info.id.clone(),
            capability: denied.join("; "),
        }
    }
}

fn parse_object(
    plugin: &LoadedPlugin,
    json: &str,
    what: &str,
) -> Result<Map<String, Value>, PluginError> {
    let max = plugin.limits.max_output_bytes;
    if json.len() > max {
        return Err(invalid(
            plugin,
            format!("{what} of {} bytes exceed the {max}-byte limit", json.len()),
        ));
    }
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid(plugin, format!("{what} must be a JSON object"))),
        Err(e) => Err(invalid(plugin, format!("{what} are not valid JSON: {e}"))),
    }
}

fn claim_failure(e: ClaimError) -> ClaimFailure {
    match e {
        ClaimError::NotFound(m) => ClaimFailure::NotFound(m),
        ClaimError::Denied(m) => ClaimFailure::Denied(m),
        ClaimError::InvalidInput(m) => ClaimFailure::InvalidInput(m),
        ClaimError::Upstream(m) => ClaimFailure::Upstream(m),
        ClaimError::Internal(m) => ClaimFailure::Internal(m),
    }
}

fn format_error(plugin: &LoadedPlugin, e: FormatError) -> PluginError {
    let error = match e {
        FormatError::InvalidConfiguration(m) => FormatFailure::InvalidConfiguration(m),
        FormatError::InvalidClaims(m) => FormatFailure::InvalidClaims(m),
        FormatError::UnsupportedHolderKey(m) => FormatFailure::UnsupportedHolderKey(m),
        FormatError::Signing(m) => FormatFailure::Signing(m),
        FormatError::Internal(m) => FormatFailure::Internal(m),
    };
    PluginError::Format {
        plugin: plugin.info.id.clone(),
        error,
    }
}

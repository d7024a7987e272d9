//! The data of one call's `Store`: a fresh, empty sandbox per call.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use sigil_metrics::Metrics;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::claims::sigil::plugin::host::{self, Level};
use crate::outbound::Outbound;

/// Longest plugin log line kept; the rest is cut.
const MAX_LOG_LINE: usize = 2048;

/// Per-call state. Holds no secrets: signing keys live behind handles in
/// `table`, and only for the duration of the call.
pub struct CallState {
    pub(crate) plugin: Arc<str>,
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) outbound: Outbound,
    pub(crate) table: ResourceTable,
    pub(crate) memory: MemoryLimiter,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    pub(crate) signatures: u32,
    /// Where the call is recorded ([`crate::observe`]).
    pub(crate) metrics: Metrics,
    /// When the call's sandbox was made.
    pub(crate) started: Instant,
}

impl CallState {
    pub(crate) fn new(
        plugin: Arc<str>,
        outbound: Outbound,
        config: Arc<BTreeMap<String, String>>,
        max_memory: usize,
        metrics: Metrics,
    ) -> Self {
        Self {
            plugin,
            // No preopened directories, no environment, no arguments, no
            // sockets, no stdin; stdout and stderr are discarded.
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            outbound,
            table: ResourceTable::new(),
            memory: MemoryLimiter {
                max: max_memory,
                exceeded: false,
            },
            config,
            signatures: 0,
            metrics,
            started: Instant::now(),
        }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl crate::bindings::claims::sigil::plugin::types::Host for CallState {}

impl host::Host for CallState {
    fn log(&mut self, level: Level, message: String) {
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(target: "sigil::plugin", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "sigil::plugin", plugin, "{message}"),
            Level::Info => tracing::info!(target: "sigil::plugin", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "sigil::plugin", plugin, "{message}"),
            Level::Error => tracing::error!(target: "sigil::plugin", plugin, "{message}"),
        }
    }

    fn config(&mut self, key: String) -> Option<String> {
        self.config.get(&key).cloned()
    }
}

/// Caps linear memory and remembers whether the cap was hit, so a failure
/// can be reported as [`crate::PluginError::MemoryExceeded`].
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    pub(crate) max: usize,
    pub(crate) exceeded: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.exceeded = true;
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} bytes exceeded",
                self.max
            )));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

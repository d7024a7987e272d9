//! The one place where wasmtime's engine policy is decided.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; a spinning guest yields to the executor at
/// this interval, so a hostile plugin cannot hog an async worker thread.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of each linear memory kept mapped between calls (see `base_config`).
const KEEP_RESIDENT_BYTES: usize = 8 << 20;
/// Bytes of each table kept mapped between calls.
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 << 10;

/// Sizing of the engine, derived from the host configuration.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    /// Largest linear memory any plugin may have, in bytes.
    pub max_memory_bytes: usize,
    /// How many plugin calls may run at once (sandbox slots).
    pub max_concurrent_calls: u32,
}

/// A wasmtime engine plus the thread that ticks its epoch.
pub struct SandboxEngine {
    engine: Engine,
    pooling: bool,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for SandboxEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxEngine")
            .field("pooling", &self.pooling)
            .finish_non_exhaustive()
    }
}

impl SandboxEngine {
    /// Build the engine: component model, fuel, epoch interruption, and the
    /// pooling allocator (falling back to on-demand allocation where the
    /// machine cannot reserve the address space the pool needs).
    pub fn new(options: EngineOptions) -> wasmtime::Result<Self> {
        let (engine, pooling) = match Engine::new(&base_config(Some(options))) {
            Ok(engine) => (engine, true),
            Err(e) => {
                tracing::warn!(error = %e, "pooling allocator unavailable; using on-demand allocation");
                (Engine::new(&base_config(None))?, false)
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let stop_flag = stop.clone();
        std::thread::Builder::new()
            .name("sigil-epoch".into())
            .spawn(move || {
                while !stop_flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| wasmtime::Error::msg(format!("cannot start the epoch thread: {e}")))?;
        Ok(Self {
            engine,
            pooling,
            stop,
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether the pooling allocator is in use.
    pub fn is_pooling(&self) -> bool {
        self.pooling
    }
}

impl Drop for SandboxEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn base_config(pooling: Option<EngineOptions>) -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(512 << 10)
        .async_stack_size(2 << 20);
    if let Some(options) = pooling {
        let slots = options.max_concurrent_calls.max(1);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(slots)
            .total_core_instances(slots * 8)
            .total_memories(slots * 2)
            .total_tables(slots * 8)
            .total_stacks(slots)
            .max_memories_per_component(2)
            .max_core_instances_per_component(8)
            .max_tables_per_component(8)
            .max_memory_size(options.max_memory_bytes)
            // Reset the first pages of a finished call's memory and tables
            // with memset and keep them mapped, instead of madvise: a fresh
            // sandbox per call otherwise pays the syscall and a page fault
            // for every page the next call touches (~12 % of the server's
            // CPU at the credential endpoint).
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_TABLE_BYTES)
            // Where the kernel has PAGEMAP_SCAN (Linux 6.7+), reset only the
            // pages the call wrote, not the whole resident prefix: the
            // memset of 2 MiB per sandbox was the largest single symbol of
            // the credential endpoint (7 % of the server's CPU).
            .pagemap_scan(Enabled::Auto)
            // Whatever still needs madvise is flushed in batches, so fewer
            // TLB shoot-downs interrupt the other core.
            .decommit_batch_size(16);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

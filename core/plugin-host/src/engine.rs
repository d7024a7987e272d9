//! The one place where wasmtime's engine policy is decided.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{
    Cache, CacheConfig, Config, Enabled, Engine, InstanceAllocationStrategy,
    PoolingAllocationConfig,
};

/// How often the epoch advances; a spinning guest yields to the executor at
/// this interval, so a hostile plugin cannot hog an async worker thread.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of each linear memory kept mapped between calls (see `base_config`).
const KEEP_RESIDENT_BYTES: usize = 8 << 20;
/// Bytes of each table kept mapped between calls.
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 << 10;

/// Core instances one component may hold (see `base_config`).
const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 32;
/// Linear memories one component may hold.
const MAX_MEMORIES_PER_COMPONENT: u32 = 4;
/// Tables one component may hold.
const MAX_TABLES_PER_COMPONENT: u32 = 32;

/// Sizing of the engine, derived from the host configuration.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Largest linear memory any plugin may have, in bytes.
    pub max_memory_bytes: usize,
    /// How many plugin calls may run at once (sandbox slots).
    pub max_concurrent_calls: u32,
    /// Where compiled components are kept across starts (none: compile
    /// every time). See [`compile_cache`].
    pub compile_cache: Option<PathBuf>,
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
    pub fn new(options: &EngineOptions) -> wasmtime::Result<Self> {
        let cache = options.compile_cache.as_deref().and_then(compile_cache);
        let (engine, pooling) = match Engine::new(&base_config(Some(options), cache.clone())) {
            Ok(engine) => (engine, true),
            Err(e) => {
                tracing::warn!(error = %e, "pooling allocator unavailable; using on-demand allocation");
                (Engine::new(&base_config(None, cache))?, false)
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

/// wasmtime's compilation cache in `dir`: machine code keyed by the
/// component's bytes and the engine's settings, so a component is compiled
/// once per version, not at every start and reload (seconds for a plugin
/// that embeds a Python or JavaScript interpreter). A directory that cannot
/// be used is logged and skipped: plugins still load, only slower.
pub fn compile_cache(dir: &Path) -> Option<Cache> {
    let usable = std::fs::create_dir_all(dir)
        .and_then(|()| dir.canonicalize())
        .map_err(|e| e.to_string())
        .and_then(|abs| {
            let mut config = CacheConfig::new();
            config.with_directory(abs);
            Cache::new(config).map_err(|e| e.to_string())
        });
    match usable {
        Ok(cache) => Some(cache),
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "plugin compile cache unusable; compiling at every load");
            None
        }
    }
}

fn base_config(pooling: Option<&EngineOptions>, cache: Option<Cache>) -> Config {
    let mut config = Config::new();
    config.cache(cache);
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(512 << 10)
        .async_stack_size(2 << 20);
    if let Some(options) = pooling {
        let slots = options.max_concurrent_calls.max(1);
        let mut pool = PoolingAllocationConfig::default();
        // Per component: a Rust plugin has 1-3 core instances; one built
        // with componentize-py 14 (CPython, libc, the WASI adapter and
        // their shims), with componentize-js about 5. The totals are a
        // budget shared by all calls in flight, so a pool of Rust-sized
        // calls is not limited by what an interpreter plugin may use.
        pool.total_component_instances(slots)
            .total_core_instances(slots * 8)
            .total_memories(slots * 2)
            .total_tables(slots * 8)
            .total_stacks(slots)
            .max_memories_per_component(MAX_MEMORIES_PER_COMPONENT)
            .max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT)
            .max_tables_per_component(MAX_TABLES_PER_COMPONENT)
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

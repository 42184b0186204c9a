//! The process-wide wasmtime `Engine`: pooling allocator, copy-on-write memory images and the
//! epoch ticker that lets the runtime preempt guests.
//!
//! **Architecture Invariant:** one [`WasmEngine`] per process. Compiled code, the pooling
//! allocator's slots and the epoch counter all belong to the engine; a second engine would
//! reserve a second pool of address space and could not share compiled components.

use serde::{Deserialize, Serialize};
use std::sync::Weak;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use std::{sync::Arc, thread};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("creating the wasmtime engine: {0}")]
    Engine(String),
    #[error("starting the epoch ticker thread: {0}")]
    Ticker(std::io::Error),
}

/// Sizes of the pooling allocator. Slots are reserved (address space, not memory) when the
/// engine starts, so these bound how many instances can exist at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolingConfig {
    pub total_component_instances: u32,
    pub total_core_instances: u32,
    pub total_memories: u32,
    pub total_tables: u32,
    /// Async fiber stacks: one per guest call in flight.
    pub total_stacks: u32,
    /// Largest linear memory one instance may grow to.
    pub max_memory_size: u64,
    /// Address space reserved per linear memory; with `max_memory_size` at or below it, memories
    /// never move and bounds checks stay cheap.
    pub memory_reservation: u64,
    pub memory_guard_size: u64,
}

impl Default for PoolingConfig {
    /// Sized for thousands of pods on a 24 GiB, 47-bit address space machine: a pod built with
    /// the WASI adapter uses about 2 memories, 3-6 core instances and a few tables.
    fn default() -> Self {
        PoolingConfig {
            total_component_instances: 10_000,
            total_core_instances: 60_000,
            total_memories: 20_000,
            total_tables: 40_000,
            total_stacks: 10_000,
            max_memory_size: 1 << 30,
            memory_reservation: 1 << 30,
            memory_guard_size: 32 << 20,
        }
    }
}

impl PoolingConfig {
    /// For boards whose address space (e.g. 39-bit ARM) cannot reserve the defaults: a few
    /// hundred instances, each memory capped at 256 MiB.
    pub fn small_board() -> Self {
        PoolingConfig {
            total_component_instances: 200,
            total_core_instances: 1_200,
            total_memories: 400,
            total_tables: 800,
            total_stacks: 200,
            max_memory_size: 256 << 20,
            memory_reservation: 256 << 20,
            memory_guard_size: 2 << 20,
        }
    }
}

/// Engine settings owned by the embedder (only binaries read flags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineConfig {
    pub pooling: PoolingConfig,
    /// How often the epoch advances: the preemption granularity and CPU accounting unit.
    pub epoch_tick: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { pooling: PoolingConfig::default(), epoch_tick: Duration::from_millis(10) }
    }
}

/// The engine plus its epoch ticker. Cheap to clone; the ticker stops with the last clone.
#[derive(Clone)]
pub struct WasmEngine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    engine: Engine,
    stop: Arc<AtomicBool>,
}

impl Drop for EngineInner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl WasmEngine {
    pub fn new(config: &EngineConfig) -> Result<Self, Error> {
        let engine =
            Engine::new(&wasmtime_config(&config.pooling)).map_err(|e| Error::Engine(format!("{e:#}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let inner = Arc::new(EngineInner { engine, stop: stop.clone() });
        spawn_ticker(Arc::downgrade(&inner), config.epoch_tick, stop)?;
        tracing::info!(pooling = ?config.pooling, tick_ms = config.epoch_tick.as_millis() as u64, "wasm engine ready");
        Ok(WasmEngine { inner })
    }

    /// The density defaults, or the small-board pooling sizes when this machine's address
    /// space cannot reserve them.
    pub fn for_this_machine() -> Result<Self, Error> {
        WasmEngine::new(&EngineConfig::default()).or_else(|e| {
            tracing::warn!(error = %e, "falling back to the small-board pooling sizes");
            WasmEngine::new(&EngineConfig {
                pooling: PoolingConfig::small_board(),
                ..EngineConfig::default()
            })
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// A stable string for "code compiled by this engine can be loaded by that engine": the
    /// compiled-component cache is partitioned by it.
    pub fn compatibility_key(&self) -> String {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut hasher = DefaultHasher::new();
        self.inner.engine.precompile_compatibility_hash().hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    }
}

fn wasmtime_config(pooling: &PoolingConfig) -> Config {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(pooling.total_component_instances)
        .total_core_instances(pooling.total_core_instances)
        .total_memories(pooling.total_memories)
        .total_tables(pooling.total_tables)
        .total_stacks(pooling.total_stacks)
        .max_memory_size(usize::try_from(pooling.max_memory_size).unwrap_or(usize::MAX));
    let mut config = Config::new();
    config
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .memory_reservation(pooling.memory_reservation)
        .memory_guard_size(pooling.memory_guard_size)
        .memory_init_cow(true)
        .epoch_interruption(true)
        .parallel_compilation(true);
    config
}

/// Advance the epoch every `tick` until the engine is dropped. A plain thread, not a tokio
/// task, so the ticker keeps running even when every runtime worker is busy in guest code.
fn spawn_ticker(inner: Weak<EngineInner>, tick: Duration, stop: Arc<AtomicBool>) -> Result<(), Error> {
    thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                thread::sleep(tick);
                match inner.upgrade() {
                    Some(inner) => inner.engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        .map_err(Error::Ticker)
}

//! Compiled components: compiled once per digest, kept on disk across restarts, pre-linked once
//! per process and shared by every pod that runs them.
//!
//! Lookup order for a digest: the in-memory map (an `InstancePre` ready to instantiate) -> the
//! disk cache `DATA_DIR/cache/components/<engine compatibility key>/<hex>.cwasm` -> compile.
//! Compilation is CPU-heavy, so it runs on the blocking pool, at most `compile_concurrency` at
//! once, and concurrent requests for one digest wait for a single compilation.

use crate::engine::WasmEngine;
use crate::host::Host;
use crate::spec::ImageSpec;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OnceCell, Semaphore};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading component {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("component {path} has digest sha256:{actual}, expected {expected}")]
    DigestMismatch { path: PathBuf, expected: String, actual: String },
    #[error("compiling component {digest}: {message}")]
    Compile { digest: String, message: String },
    #[error("linking component {digest}: {message}")]
    Link { digest: String, message: String },
    #[error("the compile task failed: {0}")]
    Join(String),
}

/// A component ready to instantiate: one `InstancePre` (imports resolved once), wrapped in the
/// typed entry points the component has.
pub struct Prepared {
    pub(crate) command: Option<CommandPre<Host>>,
    pub(crate) proxy: Option<ProxyPre<Host>>,
}

/// Counters for tests and metrics: how each lookup was served.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub compiled: AtomicU64,
    pub loaded_from_disk: AtomicU64,
    pub memory_hits: AtomicU64,
}

pub struct ComponentCache {
    engine: WasmEngine,
    linker: Arc<Linker<Host>>,
    dir: PathBuf,
    compile_slots: Semaphore,
    prepared: Mutex<HashMap<String, Arc<OnceCell<Arc<Prepared>>>>>,
    pub(crate) stats: CacheStats,
}

impl ComponentCache {
    pub fn new(engine: WasmEngine, linker: Arc<Linker<Host>>, data_dir: &Path, concurrency: usize) -> Self {
        let dir = data_dir.join("cache").join("components").join(engine.compatibility_key());
        ComponentCache {
            engine,
            linker,
            dir,
            compile_slots: Semaphore::new(concurrency.max(1)),
            prepared: Mutex::new(HashMap::new()),
            stats: CacheStats::default(),
        }
    }

    /// The prepared component for `image`, compiling or loading it at most once.
    pub async fn get(&self, image: &ImageSpec) -> Result<Arc<Prepared>, Error> {
        let cell = {
            let mut map = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(image.digest.clone()).or_default().clone()
        };
        if let Some(ready) = cell.get() {
            self.stats.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(ready.clone());
        }
        cell.get_or_try_init(|| self.load(image)).await.cloned()
    }

    async fn load(&self, image: &ImageSpec) -> Result<Arc<Prepared>, Error> {
        let _permit = self.compile_slots.acquire().await.map_err(|e| Error::Join(e.to_string()))?;
        let engine = self.engine.clone();
        let (dir, job) = (self.dir.clone(), image.clone());
        let (component, from_disk) = tokio::task::spawn_blocking(move || component_for(&engine, &dir, &job))
            .await
            .map_err(|e| Error::Join(e.to_string()))??;
        let counter = if from_disk { &self.stats.loaded_from_disk } else { &self.stats.compiled };
        counter.fetch_add(1, Ordering::Relaxed);
        self.prepare(&component, &image.digest).map(Arc::new)
    }

    fn prepare(&self, component: &Component, digest: &str) -> Result<Prepared, Error> {
        let link = |e: wasmtime::Error| Error::Link { digest: digest.into(), message: format!("{e:#}") };
        let pre: InstancePre<Host> = self.linker.instantiate_pre(component).map_err(link)?;
        Ok(Prepared { command: CommandPre::new(pre.clone()).ok(), proxy: ProxyPre::new(pre).ok() })
    }
}

/// Load from the disk cache, else compile and store. Returns whether it came from disk.
fn component_for(engine: &WasmEngine, dir: &Path, image: &ImageSpec) -> Result<(Component, bool), Error> {
    let hex = image.digest.strip_prefix("sha256:").unwrap_or(&image.digest);
    let cached = dir.join(format!("{hex}.cwasm"));
    if cached.exists() {
        match deserialize_cached(engine, &cached) {
            Ok(component) => return Ok((component, true)),
            Err(e) => {
                tracing::warn!(path = %cached.display(), error = %e, "discarding unreadable compiled component")
            }
        }
    }
    let bytes =
        std::fs::read(&image.path).map_err(|source| Error::Read { path: image.path.clone(), source })?;
    let actual: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    if actual != hex {
        return Err(Error::DigestMismatch {
            path: image.path.clone(),
            expected: image.digest.clone(),
            actual,
        });
    }
    let compile =
        |e: wasmtime::Error| Error::Compile { digest: image.digest.clone(), message: format!("{e:#}") };
    let started = tokio::time::Instant::now();
    let component = Component::new(engine.engine(), &bytes).map_err(compile)?;
    tracing::info!(digest = %image.digest, ms = started.elapsed().as_millis() as u64, "component compiled");
    if let Err(e) = store_cached(&component, dir, &cached) {
        tracing::warn!(path = %cached.display(), error = %e, "cannot cache compiled component");
    }
    Ok((component, false))
}

#[allow(
    unsafe_code,
    reason = "deserialising native code is unsafe in general; this file is in our own cache dir, was \
              written by `store_cached` from `Component::serialize`, and the dir is keyed by the \
              engine's precompile_compatibility_hash, so only artifacts of a compatible engine are read"
)]
fn deserialize_cached(engine: &WasmEngine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: see the allow reason above: trusted, engine-compatible artifact from our own cache.
    unsafe { Component::deserialize_file(engine.engine(), path) }
}

fn store_cached(component: &Component, dir: &Path, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize()?;
    crate::images::write_atomic(path, &bytes)?;
    Ok(())
}

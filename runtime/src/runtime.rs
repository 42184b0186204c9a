//! [`Runtime`]: the entry point a node agent (or `wasmkube play`) holds for the process.

use crate::cache::{self, ComponentCache};
use crate::engine::WasmEngine;
use crate::images::{self, ImageStore};
use crate::logs::{self, LogConfig, LogObserver, LogQuery};
use crate::network::{EgressPolicy, NodeNetwork};
use crate::pod::{self, PodHandle};
use crate::spec::{ImageSpec, PodSpec};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("creating the runtime: {0}")]
    Setup(String),
    #[error(transparent)]
    Images(#[from] images::Error),
    #[error(transparent)]
    Component(#[from] cache::Error),
    #[error(transparent)]
    Logs(#[from] logs::Error),
    #[error("invalid pod spec: {0}")]
    InvalidSpec(String),
}

/// Settings of the runtime (the binary fills them from flags; nothing here reads the environment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeConfig {
    /// Holds `images/`, `cache/` (compiled components) and `pods/<uid>/` (volumes, logs).
    pub data_dir: PathBuf,
    /// Whether pods may mount host directories (`hostPath`).
    pub allow_host_path: bool,
    /// How many components may compile at once (compilation is CPU-bound).
    pub compile_concurrency: usize,
    pub logs: LogConfig,
    /// Which real (non-cluster) addresses pods may reach; none by default.
    #[serde(default)]
    pub egress: EgressPolicy,
    /// How long ended containers wait before they run again.
    #[serde(default)]
    pub restart_backoff: RestartBackoff,
    /// The OCI runtime binary that runs container images (`runc`, or `crun`).
    #[serde(default = "default_oci_runtime")]
    pub oci_runtime: PathBuf,
    /// How many OCI pod network namespaces are kept made ahead, once OCI pods run (0: each is
    /// made when its pod starts).
    #[serde(default)]
    pub netns_ahead: usize,
}

fn default_oci_runtime() -> PathBuf {
    PathBuf::from("runc")
}

/// The crash-loop back-off: immediate first restart, then `initial` doubling up to `max`
/// (the kubelet's 10 s and 5 min by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartBackoff {
    pub initial: std::time::Duration,
    pub max: std::time::Duration,
}

impl Default for RestartBackoff {
    fn default() -> Self {
        RestartBackoff {
            initial: std::time::Duration::from_secs(10),
            max: std::time::Duration::from_secs(300),
        }
    }
}

impl RuntimeConfig {
    /// The OCI runtime's name (`runc`, `crun`): the RuntimeClass handler for container images.
    pub fn oci_handler(&self) -> String {
        crate::container::oci::runtime_kind(&self.oci_runtime)
    }

    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        RuntimeConfig {
            data_dir: data_dir.into(),
            allow_host_path: false,
            compile_concurrency: cores.clamp(1, 4),
            logs: LogConfig::default(),
            egress: EgressPolicy::default(),
            restart_backoff: RestartBackoff::default(),
            oci_runtime: default_oci_runtime(),
            netns_ahead: 0,
        }
    }
}

/// Gives HTTP containers their listeners instead of the pod network (which is the default:
/// the container's port in the pod's port space, reachable at podIP:port and 127.0.0.1:port).
pub trait PortBinder: Send + Sync {
    fn bind(&self, pod: &PodSpec, container: &str, port: u16) -> std::io::Result<std::net::TcpListener>;
}

/// Per-pod hooks supplied by the caller.
#[derive(Clone, Default)]
pub struct StartOptions {
    pub ports: Option<Arc<dyn PortBinder>>,
    pub log_observer: Option<Arc<dyn LogObserver>>,
}

/// A snapshot of how compiled components were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheCounts {
    pub compiled: u64,
    pub loaded_from_disk: u64,
    pub memory_hits: u64,
}

/// The node's wasm runtime. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub(crate) engine: WasmEngine,
    pub(crate) config: RuntimeConfig,
    pub(crate) cache: ComponentCache,
    pub(crate) images: ImageStore,
    pub(crate) network: Arc<NodeNetwork>,
    /// Held while this runtime lives: the one runtime of a data dir owns its OCI containers.
    owner: Option<std::fs::File>,
    /// Set once its containers are being ended for good: no OCI container starts after that.
    pub(crate) ending: std::sync::atomic::AtomicBool,
    /// OCI pods' network namespaces, some made ahead.
    pub(crate) netns_pool: Arc<crate::oci::netns::Pool>,
}

impl Runtime {
    pub fn new(engine: WasmEngine, mut config: RuntimeConfig) -> Result<Self, Error> {
        if !matches!(config.oci_handler().as_str(), "runc" | "crun") {
            return Err(Error::Setup(format!(
                "OCI runtime {}: neither runc nor crun",
                config.oci_runtime.display()
            )));
        }
        let linker = crate::linker::build(engine.engine()).map_err(|e| Error::Setup(format!("{e:#}")))?;
        // Absolute from here on: runc resolves relative mount sources against the bundle.
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| Error::Setup(format!("{}: {e}", config.data_dir.display())))?;
        if let Ok(absolute) = std::fs::canonicalize(&config.data_dir) {
            config.data_dir = absolute;
        }
        // Containers' files (setuid binaries among them) are not for other users of the host.
        for private in ["oci", "pods"] {
            use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
            let dir = config.data_dir.join(private);
            let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        }
        let cache = ComponentCache::new(
            engine.clone(),
            Arc::new(linker),
            &config.data_dir,
            config.compile_concurrency,
        );
        let images = ImageStore::open(&config.data_dir)?;
        let network = Arc::new(NodeNetwork::new(config.egress.clone()));
        // The first runtime of a data dir owns its OCI containers: it ends whatever an earlier
        // run left (their pods start afresh); a second one (`play` beside a server) leaves them.
        let lock = config.data_dir.join("runtime.lock");
        let owner = std::fs::File::options().create(true).truncate(false).write(true).open(&lock).ok();
        let owner = owner.filter(|f| f.try_lock().is_ok());
        match owner {
            Some(_) => {
                crate::container::oci::end_all(&config);
                // Roots of images removed while a container still used them.
                images.sweep_roots();
            }
            None => tracing::warn!(
                data_dir = %config.data_dir.display(),
                "another runtime uses this data dir; its OCI containers are left alone"
            ),
        }
        let ending = Default::default();
        let netns_pool = Arc::new(crate::oci::netns::Pool::new(&config.data_dir, config.netns_ahead));
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                config,
                cache,
                images,
                network,
                owner,
                ending,
                netns_pool,
            }),
        })
    }

    /// End every OCI container of this node now (SIGKILL): for a server shutting down, whose
    /// wasm pods end with its process. Blocking. Only the runtime that owns the data dir does.
    pub fn end_containers(&self) {
        self.inner.ending.store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.netns_pool.close();
        if self.inner.owner.is_some() {
            // A start already past the check may have been creating its container meanwhile.
            if crate::container::oci::end_all(&self.inner.config) > 0 {
                std::thread::sleep(std::time::Duration::from_millis(200));
                crate::container::oci::end_all(&self.inner.config);
            }
        }
    }

    /// The node's pod network: where pods' ports really are (for hostPort forwarding and
    /// tests), and the routing every pod's sockets go through.
    pub fn network(&self) -> &Arc<NodeNetwork> {
        &self.inner.network
    }

    pub fn images(&self) -> &ImageStore {
        &self.inner.images
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    /// Compile (or load) a component ahead of its first pod.
    pub async fn prepare(&self, image: &ImageSpec) -> Result<(), Error> {
        self.inner.cache.get(image).await?;
        Ok(())
    }

    pub fn cache_counts(&self) -> CacheCounts {
        let stats = &self.inner.cache.stats;
        CacheCounts {
            compiled: stats.compiled.load(Ordering::Relaxed),
            loaded_from_disk: stats.loaded_from_disk.load(Ordering::Relaxed),
            memory_hits: stats.memory_hits.load(Ordering::Relaxed),
        }
    }

    /// Where a pod keeps its volumes and logs.
    pub fn pod_dir(&self, uid: &str) -> PathBuf {
        self.inner.config.data_dir.join("pods").join(uid)
    }

    /// Start a pod: volumes, then init containers in order, then the main containers together.
    pub fn start_pod(&self, spec: PodSpec, options: StartOptions) -> Result<PodHandle, Error> {
        validate(&spec)?;
        Ok(pod::start(self.inner.clone(), self.pod_dir(&spec.uid), spec, options))
    }

    /// Write a container's log (see [`LogQuery`]) to `out`.
    pub fn read_logs(
        &self,
        pod_uid: &str,
        container: &str,
        query: &LogQuery,
        out: &mut dyn std::io::Write,
    ) -> Result<u64, Error> {
        let dir = logs::container_log_dir(&self.pod_dir(pod_uid), container);
        Ok(logs::read_logs(&dir, container, query, self.inner.config.logs.max_files, out)?)
    }

    /// The directory of a container's log files (for [`logs::follow_logs`]).
    pub fn log_dir(&self, pod_uid: &str, container: &str) -> PathBuf {
        logs::container_log_dir(&self.pod_dir(pod_uid), container)
    }
}

fn validate(spec: &PodSpec) -> Result<(), Error> {
    let bad = |m: String| Err(Error::InvalidSpec(m));
    let plain =
        |s: &str| !s.is_empty() && Path::new(s).components().count() == 1 && !s.contains(['/', '\\', '.']);
    if !plain(&spec.uid) {
        return bad(format!("uid {:?} must be a single path component", spec.uid));
    }
    let mut names = std::collections::HashSet::new();
    for c in spec.init_containers.iter().chain(&spec.containers) {
        if !plain(&c.name) || !names.insert(c.name.as_str()) {
            return bad(format!("container name {:?} is empty, not a plain name, or repeated", c.name));
        }
    }
    if spec.containers.is_empty() {
        return bad("a pod needs at least one container".into());
    }
    Ok(())
}

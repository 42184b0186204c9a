//! `wasmkube-runtime`: the node's execution engine. Runs pods whose containers are WebAssembly
//! components, in-process, on one wasmtime engine. It knows nothing of the Kubernetes API: the
//! node agent (or `wasmkube play`) translates API objects into the [`spec`] types.
//!
//! Layout:
//! - [`engine`]: the one wasmtime `Engine` per process (pooling allocator, epoch ticker).
//! - [`cache`]: compiled components on disk and `InstancePre`s in memory.
//! - [`linker`]: the WASI 0.2 + wasi:http interfaces a pod sees.
//! - [`network`]: the pod network namespace: our `wasi:sockets` over virtual pod IPs and a
//!   per-pod port space, and outgoing `wasi:http` routed the same way.
//! - [`images`]: the content-addressed image store under `DATA_DIR/images/`.
//! - [`runtime`]: [`Runtime`], the entry point; [`pod`]: a running pod and its [`PodHandle`].
//! - `container`: command and HTTP containers; [`host`]: the per-`Store` host state.
//! - [`volumes`]: the pod's filesystem namespace; [`limits`]: memory, CPU, table bounds.
//! - [`logs`]: rotated CRI-format container logs; [`status`]: container states.

pub mod cache;
mod container;
pub mod engine;
pub mod host;
pub mod images;
pub mod limits;
pub mod linker;
pub mod logs;
pub mod network;
pub mod oci;
pub mod pod;
pub mod registry;
pub mod runtime;
pub mod spec;
pub mod status;
pub mod volumes;

pub use engine::{EngineConfig, PoolingConfig, WasmEngine};
pub use images::{ImageInfo, ImageStore};
pub use logs::{LogConfig, LogObserver, LogQuery, Stream};
pub use network::{EgressPolicy, NodeNetwork, PodNetwork};
pub use pod::PodHandle;
pub use runtime::{CacheCounts, PortBinder, RestartBackoff, Runtime, RuntimeConfig, StartOptions};
pub use spec::{
    ContainerImage, ContainerKind, ContainerSpec, ImageOverrides, ImageSpec, Limits, MountSpec, PodSpec,
    RestartPolicy, Seccomp, Security, VolumeSource, VolumeSpec,
};
pub use status::{ContainerState, ContainerStatus, PodPhase, PodStatus};

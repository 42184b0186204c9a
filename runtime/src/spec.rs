//! The runtime's own pod description: what to run, resolved and self-contained.
//!
//! These types are deliberately not Kubernetes types. The node agent (and `wasmkube play`)
//! translate an API Pod into a [`PodSpec`] after resolving everything the runtime must not know
//! how to fetch: images become digests and paths, configMap/secret/downwardAPI volumes become
//! file contents, resource quantities become bytes and millicores. Keeping the spec resolved and
//! serialisable (as Spin keeps its "locked app") means a pod can be recorded, replayed and
//! restarted without the API server.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// One pod: a set of containers sharing volumes (and, later, one network namespace).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// Unique per pod instance; names its directory under `DATA_DIR/pods/`.
    pub uid: String,
    pub name: String,
    pub namespace: String,
    /// What the guest sees as its host name (`HOSTNAME` is set from it unless the container sets it).
    pub hostname: String,
    /// The pod's virtual address (used by the pod network; carried here so specs are complete).
    pub pod_ip: Ipv4Addr,
    #[serde(default)]
    pub volumes: Vec<VolumeSpec>,
    /// Run one after the other, each to completion, before any main container starts.
    #[serde(default)]
    pub init_containers: Vec<ContainerSpec>,
    /// Run concurrently once every init container has succeeded.
    pub containers: Vec<ContainerSpec>,
    /// Which ended containers run again (Kubernetes' pod `restartPolicy`).
    #[serde(default)]
    pub restart_policy: RestartPolicy,
}

/// Kubernetes' pod `restartPolicy`. The default here is `Never` (a pod run once, as `wasmkube
/// play` runs a manifest); the node agent passes the API's value, whose default is `Always`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    #[default]
    Never,
}

impl RestartPolicy {
    /// Whether a container that ended with `exit_code` runs again.
    pub fn restarts(self, exit_code: i32) -> bool {
        match self {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => exit_code != 0,
            RestartPolicy::Never => false,
        }
    }
}

/// One wasm component to run inside the pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSpec {
    pub name: String,
    pub image: ImageSpec,
    /// Arguments after argv\[0\] (argv\[0\] is the container name, as a process sees its own name).
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment in order; later entries win, as in Kubernetes.
    #[serde(default)]
    pub env: Vec<(String, String)>,
    /// The guest's initial working directory (must be inside a mount to be useful).
    #[serde(default)]
    pub working_dir: Option<String>,
    #[serde(default)]
    pub mounts: Vec<MountSpec>,
    pub kind: ContainerKind,
    #[serde(default)]
    pub limits: Limits,
    /// A native sidecar: an init container with `restartPolicy: Always`. It starts in its
    /// place among the init containers without being waited for, runs beside the main
    /// containers, restarts whenever it ends, and is stopped once the main containers are done.
    #[serde(default)]
    pub sidecar: bool,
    /// The manifest's `command` and `args` as given, for an OCI container (they replace the
    /// image's Entrypoint and Cmd as Kubernetes says); a wasm container takes `args`.
    #[serde(default)]
    pub overrides: ImageOverrides,
    /// The container's security context (the pod's merged in), for an OCI container.
    #[serde(default)]
    pub security: Security,
}

/// What an OCI container's `securityContext` asks (the pod-level one merged in, the
/// container's winning), as the kubelet applies it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Security {
    pub run_as_user: Option<u32>,
    pub run_as_group: Option<u32>,
    pub run_as_non_root: bool,
    pub read_only_root_filesystem: bool,
    /// `allowPrivilegeEscalation: false`: no_new_privs.
    pub no_new_privileges: bool,
    /// Capability names as Kubernetes writes them (`NET_ADMIN`, or `ALL` to drop).
    pub add_capabilities: Vec<String>,
    pub drop_capabilities: Vec<String>,
    #[serde(default)]
    pub seccomp: Seccomp,
}

/// `securityContext.seccompProfile`: which system calls the container's processes may make.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", content = "profile")]
pub enum Seccomp {
    /// No filter (Kubernetes' default when no profile is set).
    #[default]
    Unconfined,
    /// The runtime's default: the calls that break out of a container or reach the whole
    /// machine fail with EPERM (see `container/oci/spec.rs`).
    RuntimeDefault,
    /// A profile from the node (the OCI runtime spec's `linux.seccomp`, as the node read it).
    Localhost(serde_json::Value),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageOverrides {
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
}

/// A resolved image: the runtime never fetches anything itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    /// `sha256:<hex>` of the component bytes (keys the compiled-component cache), or of a
    /// container image's manifest.
    pub digest: String,
    /// Where the component's bytes are (normally a blob in the image store); for a container
    /// image, its manifest.
    pub path: PathBuf,
    /// Set for an OCI container image (run by the OCI runtime, not wasmtime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerImage>,
}

/// An OCI container image in the store: its config and its layers, bottom first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerImage {
    pub config: crate::oci::image::ImageConfig,
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    pub digest: String,
    pub media_type: String,
    pub path: PathBuf,
}

/// How a container is driven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum ContainerKind {
    /// A `wasi:cli/command`: run once like a process; its exit code is the result.
    Command,
    /// A `wasi:http/proxy`: serve HTTP on each port (listeners come from the caller).
    Http {
        ports: Vec<u16>,
        /// Keep one instance warm and reuse it for consecutive requests instead of a fresh
        /// instance per request (faster, but state leaks between requests).
        #[serde(default)]
        reuse_instances: bool,
    },
    /// Decide from the component's exports: `wasi:http/incoming-handler` without `wasi:cli/run`
    /// is served like `Http` on `ports` (fresh instances), anything else runs as a `Command`.
    /// What a Kubernetes manifest gives, since it does not say which kind an image is.
    Detect {
        #[serde(default)]
        ports: Vec<u16>,
    },
}

/// Resource limits, already converted from Kubernetes quantities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Cap on this container's linear memory; the pod's cap is derived from its containers'.
    pub memory_bytes: Option<u64>,
    /// CPU share in millicores (1000 = one core); below 1000 the guest is paused between slices.
    pub cpu_millis: Option<u32>,
}

/// A volume mounted into a container as a preopened directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountSpec {
    /// Name of a [`VolumeSpec`] of the pod.
    pub volume: String,
    /// Absolute guest path the directory appears at.
    pub mount_path: String,
    #[serde(default)]
    pub read_only: bool,
    /// Mount only this sub-directory of the volume (relative, no `..`).
    #[serde(default)]
    pub sub_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSpec {
    pub name: String,
    pub source: VolumeSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum VolumeSource {
    /// A fresh directory per pod, shared by every container that mounts it, removed with the pod.
    EmptyDir,
    /// configMap / secret / downwardAPI content, materialised once as files and always mounted
    /// read-only (the guest cannot change what the API says).
    Files { files: BTreeMap<String, Vec<u8>> },
    /// A directory of the host; refused unless `RuntimeConfig::allow_host_path`.
    HostPath { path: PathBuf },
    /// A node-local persistent volume the cluster provisioned (a bound PersistentVolumeClaim):
    /// a directory under the node's data dir that outlives the pod. Created if missing.
    Persistent { path: PathBuf },
}

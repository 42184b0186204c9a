//! The Node object and its heartbeat: create or refresh the Node with capacity, addresses and
//! conditions; renew the Lease in `kube-node-lease` every `lease_renew`; post the status again
//! every `status_report` (the node lifecycle controller reads both).

use crate::NodeAgent;
use serde_json::{Value, json};
use std::time::Duration;
use wasmkube_api::{ApiError, meta, registry};
use wasmkube_apiserver::service::update::Part;
use wasmkube_apiserver::service::{PatchType, WriteOptions};

const MANAGER: &str = "kubelet";

/// The runtime handlers this node has: wasm components in `wasmtime`, container images in the
/// configured OCI runtime (`runc` or `crun`).
pub(crate) fn runtime_handlers(agent: &NodeAgent) -> [String; 2] {
    ["wasmtime".to_string(), agent.inner.runtime.config().oci_handler()]
}

/// A RuntimeClass per handler, unless someone made them already.
async fn ensure_runtime_classes(agent: &NodeAgent) {
    let def = registry::by_storage("node.k8s.io/runtimeclasses").expect("runtimeclasses are served");
    for handler in runtime_handlers(agent) {
        let class = json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
            "metadata": {"name": handler}, "handler": handler});
        match agent.inner.api.create(def, "", class, &opts()).await {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            Err(e) => tracing::warn!(error = %e, handler, "could not create a RuntimeClass"),
        }
    }
}

pub(crate) async fn run(agent: NodeAgent) {
    ensure_runtime_classes(&agent).await;
    let mut lease = tokio::time::interval(agent.inner.config.lease_renew);
    let mut report = tokio::time::interval(agent.inner.config.status_report);
    lease.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = report.tick() => {
                if let Err(e) = post_node(&agent).await {
                    tracing::warn!(error = %e, "could not post the node's status; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    report.reset_immediately();
                }
            }
            _ = lease.tick() => {
                if let Err(e) = renew_lease(&agent).await {
                    tracing::warn!(error = %e, "could not renew the node lease");
                }
            }
        }
    }
}

fn opts() -> WriteOptions {
    WriteOptions { field_manager: Some(MANAGER.into()), ..Default::default() }
}

/// Create the Node if missing; then write its status (create resets status).
async fn post_node(agent: &NodeAgent) -> Result<(), ApiError> {
    let api = &agent.inner.api;
    let def = registry::by_storage("nodes").expect("nodes are served");
    let name = agent.name();
    let node = match api.get(def, "", name).await {
        Ok(node) => node,
        Err(e) if e.code == 404 => {
            let created = api.create(def, "", node_object(agent), &opts()).await?.object;
            agent.inner.events.event(
                &created,
                wasmkube_apiserver::events::EventType::Normal,
                "RegisteredNode",
                format!("Node {name} event: Registered Node {name} in Controller"),
            );
            created
        }
        Err(e) => return Err(e),
    };
    let status = json!({"status": node_status(agent, &node)});
    api.patch(def, "", name, PatchType::Merge, &status, Part::Status, false, &opts()).await?;
    Ok(())
}

fn node_object(agent: &NodeAgent) -> Value {
    let c = &agent.inner.config;
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": c.name,
            "labels": {
                "kubernetes.io/hostname": c.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": arch(),
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": arch(),
                "node-role.kubernetes.io/control-plane": "",
                "wasmkube.io/runtime": "wasmtime",
            },
        },
        "spec": {"podCIDR": c.pod_cidr_string(), "podCIDRs": [c.pod_cidr_string()]},
    })
}

fn arch() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "amd64"
    } else if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        std::env::consts::ARCH
    }
}

/// Conditions keep their transition time while their status stays the same.
fn node_status(agent: &NodeAgent, current: &Value) -> Value {
    let c = &agent.inner.config;
    let now = meta::now_rfc3339();
    let previous = |ty: &str| {
        current
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|x| x.get("type").and_then(Value::as_str) == Some(ty)).cloned())
    };
    let condition = |ty: &str, status: &str, reason: &str, message: &str| {
        let since = previous(ty)
            .filter(|p| p.get("status").and_then(Value::as_str) == Some(status))
            .and_then(|p| p.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| json!(now));
        json!({"type": ty, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": now, "lastTransitionTime": since})
    };
    let memory = memory_bytes();
    let memory_pressure = memory.available < memory.total / 20;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut capacity = json!({
        "cpu": cpus.to_string(),
        "memory": format!("{}Ki", memory.total / 1024),
        "pods": c.max_pods.to_string(),
    });
    // The filesystem pods write to (emptyDirs, logs, writable layers), as the kubelet reports
    // its root filesystem: what ephemeral-storage requests are scheduled against.
    if let Some(bytes) = filesystem_bytes(&agent.inner.runtime.config().data_dir) {
        capacity["ephemeral-storage"] = json!(format!("{}Ki", bytes / 1024));
    }
    json!({
        "capacity": capacity,
        "allocatable": capacity,
        "conditions": [
            condition("MemoryPressure", if memory_pressure { "True" } else { "False" },
                if memory_pressure { "KubeletHasInsufficientMemory" } else { "KubeletHasSufficientMemory" },
                if memory_pressure { "kubelet has insufficient memory available" } else { "kubelet has sufficient memory available" }),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [
            {"type": "InternalIP", "address": c.address.to_string()},
            {"type": "Hostname", "address": c.name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
        "nodeInfo": {
            "machineID": machine_id(),
            "systemUUID": machine_id(),
            "bootID": boot_id(),
            "kernelVersion": read_trimmed("/proc/sys/kernel/osrelease"),
            "osImage": os_image(),
            "containerRuntimeVersion": "wasmtime://48.0.8",
            "kubeletVersion": concat!("v1.32.0-wasmkube-", env!("CARGO_PKG_VERSION")),
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": arch(),
        },
    })
}

async fn renew_lease(agent: &NodeAgent) -> Result<(), ApiError> {
    let api = &agent.inner.api;
    let def = registry::by_storage("coordination.k8s.io/leases").expect("leases are served");
    let name = agent.name();
    let now = meta::now_micro();
    let spec = json!({"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now});
    match api.get(def, "kube-node-lease", name).await {
        Ok(_) => {
            let patch = json!({"spec": {"renewTime": now, "holderIdentity": name}});
            api.patch(def, "kube-node-lease", name, PatchType::Merge, &patch, Part::Main, false, &opts())
                .await?;
        }
        Err(e) if e.code == 404 => {
            let node_def = registry::by_storage("nodes").expect("nodes are served");
            let mut lease = json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name, "namespace": "kube-node-lease"},
                "spec": spec,
            });
            if let Ok(node) = api.get(node_def, "", name).await {
                lease["metadata"]["ownerReferences"] = json!([{
                    "apiVersion": "v1", "kind": "Node", "name": name, "uid": meta::uid(&node),
                }]);
            }
            api.create(def, "kube-node-lease", lease, &opts()).await?;
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

struct Memory {
    total: u64,
    available: u64,
}

/// The size of the filesystem holding `dir`.
fn filesystem_bytes(dir: &std::path::Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    stat.f_blocks.checked_mul(stat.f_frsize)
}

fn memory_bytes() -> Memory {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    Memory { total: field("MemTotal:"), available: field("MemAvailable:") }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_default()
}

fn machine_id() -> String {
    read_trimmed("/etc/machine-id")
}

fn boot_id() -> String {
    read_trimmed("/proc/sys/kernel/random/boot_id")
}

fn os_image() -> String {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into())
}

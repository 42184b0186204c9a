//! The node agent (the kubelet's job), running inside `wasmkube server`: it registers this
//! machine as a Node, heartbeats its Lease, and runs the pods bound to it through the wasm
//! runtime, reporting their status, events and logs back through the API.
//!
//! Layout:
//! - [`register`]: the Node object (capacity, conditions, addresses) and the Lease heartbeat.
//! - [`sync`]: the watch of this node's pods; one [`worker`] per pod.
//! - [`dns`]: cluster DNS (hickory-server) for clients outside the pod network.
//! - [`ingress`]: the Ingress controller for class `wasmkube`: an HTTP/1.1 proxy routing by
//!   the Ingresses' rules to Services.
//! - `policy`: NetworkPolicy, checked by the pod network on every pod-to-pod connect.
//! - `services`: kube-proxy's job — Services and EndpointSlices programmed into the pod
//!   network (cluster IPs balanced at connect time, cluster names), NodePort listeners.
//! - [`worker`]: one pod's lifecycle: resolve, start, observe, probe, terminate, clean up.
//! - [`status`]: runtime states -> the Pod's `status` as the API shows it.
//! - [`probes`]: liveness, readiness and startup probes through the pod network.
//! - `eviction`: a pod whose emptyDir outgrows its `sizeLimit` is evicted.
//! - [`lookup`]: fetching what a pod references (configMaps, secrets, claims, images).
//! - [`translate`] + [`env`]: API Pod -> runtime `PodSpec` (shared with `wasmkube play`).
//! - [`logs`]: serving `pods/log` from the containers' log files.
//! - `static_pods`: pods from manifest files in `DATA_DIR/manifests/`, mirrored in the API.
//!
//! **Architecture Invariant:** the agent talks to the cluster only through
//! [`wasmkube_apiserver::Api`], the same checked path a user's request takes.

pub mod dns;
pub mod env;
mod eviction;
pub mod ingress;
pub mod logs;
mod lookup;
mod policy;
mod probes;
mod register;
mod services;
mod static_pods;
mod status;
mod sync;
pub mod translate;
mod worker;

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmkube_apiserver::Api;
use wasmkube_apiserver::events::Recorder;
use wasmkube_runtime::Runtime;

/// The node's settings (the binary fills them from flags).
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The Node's name (defaults to the host name in the binary).
    pub name: String,
    /// The address the Node reports and host ports bind on.
    pub address: Ipv4Addr,
    /// Pod IPs come from here (`podCIDR`).
    pub pod_cidr: (Ipv4Addr, u8),
    /// The `pods` capacity.
    pub max_pods: u32,
    /// How often the Lease is renewed.
    pub lease_renew: Duration,
    /// How often the Node's status is posted when nothing changed.
    pub status_report: Duration,
    /// Whether PersistentVolumes may point outside the node's volumes directory.
    pub allow_host_path: bool,
    /// Where the local-path provisioner's volumes live (claims resolve under it).
    pub volumes_dir: std::path::PathBuf,
    /// Static pod manifests (`DATA_DIR/manifests/`); none when unset.
    pub manifests_dir: Option<std::path::PathBuf>,
    /// `Localhost` seccomp profiles (`DATA_DIR/seccomp/`, the kubelet's `seccomp` directory);
    /// none when unset.
    pub seccomp_dir: Option<std::path::PathBuf>,
}

impl NodeConfig {
    pub fn new(name: impl Into<String>, volumes_dir: impl Into<std::path::PathBuf>) -> Self {
        NodeConfig {
            name: name.into(),
            address: Ipv4Addr::LOCALHOST,
            pod_cidr: (Ipv4Addr::new(10, 244, 0, 0), 16),
            max_pods: 20_000,
            lease_renew: Duration::from_secs(10),
            status_report: Duration::from_secs(60),
            allow_host_path: false,
            volumes_dir: volumes_dir.into(),
            manifests_dir: None,
            seccomp_dir: None,
        }
    }

    pub fn pod_cidr_string(&self) -> String {
        format!("{}/{}", self.pod_cidr.0, self.pod_cidr.1)
    }
}

/// The running agent; cheap to clone.
#[derive(Clone)]
pub struct NodeAgent {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) api: Api,
    pub(crate) runtime: Runtime,
    pub(crate) config: NodeConfig,
    pub(crate) events: Recorder,
    pub(crate) ips: Mutex<Ipam>,
    /// Running pods' runtime status, by pod uid (for logs and probes).
    pub(crate) pods: Mutex<HashMap<String, tokio::sync::watch::Receiver<wasmkube_runtime::PodStatus>>>,
    /// One pull at a time per image reference: pods that want an image being pulled wait for
    /// that pull instead of fetching it again.
    pub(crate) pulling: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// NetworkPolicy as the pod network checks it.
    pub(crate) policies: policy::Policies,
}

impl NodeAgent {
    /// Start registering the node and running its pods on the current tokio runtime.
    pub fn start(api: Api, runtime: Runtime, config: NodeConfig) -> Self {
        let events = Recorder::new(api.clone(), "kubelet", Some(&config.name));
        let ips = Mutex::new(Ipam::new(config.pod_cidr));
        runtime.network().set_virtual_ranges(&[config.pod_cidr, api.service_cidr().network()]);
        runtime.network().set_pod_dns(Arc::new(dns::InPod(Arc::downgrade(runtime.network()))));
        let inner = Arc::new(Inner {
            api,
            runtime,
            config,
            events,
            ips,
            pods: Mutex::default(),
            pulling: Mutex::default(),
            policies: policy::Policies::default(),
        });
        let agent = NodeAgent { inner };
        tokio::spawn(register::run(agent.clone()));
        tokio::spawn(sync::run(agent.clone()));
        tokio::spawn(services::run(agent.clone()));
        let policies = agent.inner.policies.clone();
        agent.inner.runtime.network().set_policy(Arc::new(policies.clone()));
        tokio::spawn(policy::run(agent.clone(), policies));
        if let Some(dir) = agent.inner.config.manifests_dir.clone() {
            tokio::spawn(static_pods::run(agent.clone(), dir));
        }
        agent
    }

    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    /// The runtime the node runs its pods with.
    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    /// The `pods/log` handler for the API server.
    pub fn log_server(&self) -> Arc<dyn wasmkube_apiserver::logs::PodLogs> {
        Arc::new(logs::NodeLogs { agent: self.clone() })
    }
}

/// Pod IPs from the node's pod CIDR: the network and .1 addresses are never handed out.
pub(crate) struct Ipam {
    base: u32,
    size: u32,
    next: u32,
    used: HashSet<Ipv4Addr>,
}

impl Ipam {
    fn new((net, prefix): (Ipv4Addr, u8)) -> Self {
        let size = 1u32 << (32 - u32::from(prefix.clamp(8, 30)));
        Ipam { base: u32::from(net), size, next: 2, used: HashSet::new() }
    }

    pub(crate) fn contains(&self, ip: Ipv4Addr) -> bool {
        let n = u32::from(ip).wrapping_sub(self.base);
        (2..self.size - 1).contains(&n)
    }

    /// Keep `wanted` when it is ours and free (a pod resuming after a restart), else the next free one.
    pub(crate) fn allocate(&mut self, wanted: Option<Ipv4Addr>) -> Option<Ipv4Addr> {
        if let Some(ip) = wanted.filter(|ip| self.contains(*ip) && !self.used.contains(ip)) {
            self.used.insert(ip);
            return Some(ip);
        }
        for _ in 2..self.size - 1 {
            let ip = Ipv4Addr::from(self.base + self.next);
            self.next = if self.next + 1 >= self.size - 1 { 2 } else { self.next + 1 };
            if self.used.insert(ip) {
                return Some(ip);
            }
        }
        None
    }

    pub(crate) fn release(&mut self, ip: Ipv4Addr) {
        self.used.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipam_skips_network_and_gateway_reuses_and_wraps() {
        let mut ipam = Ipam::new((Ipv4Addr::new(10, 244, 0, 0), 29)); // 8 addresses: .2 ..= .6
        let first = ipam.allocate(None).unwrap();
        assert_eq!(first, Ipv4Addr::new(10, 244, 0, 2));
        assert_eq!(ipam.allocate(Some(Ipv4Addr::new(10, 244, 0, 5))), Some(Ipv4Addr::new(10, 244, 0, 5)));
        let rest: Vec<_> = (0..3).map(|_| ipam.allocate(None).unwrap()).collect();
        assert_eq!(rest.len(), 3);
        assert_eq!(ipam.allocate(None), None, "the range is exhausted");
        ipam.release(first);
        assert_eq!(ipam.allocate(Some(Ipv4Addr::new(9, 9, 9, 9))), Some(first));
    }
}

//! `wasmkube server`: open the store, serve the API, write the kubeconfig and endpoints file.

use anyhow::{Context, bail};
use clap::Args;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmkube_apiserver::Api;
use wasmkube_node::{NodeAgent, NodeConfig};
use wasmkube_runtime::{Runtime, RuntimeConfig};
use wasmkube_store::{RedbStore, RedbStoreConfig};

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Where all cluster state lives (the store file, kubeconfig, endpoints.json).
    #[arg(long, env = "WASMKUBE_DATA_DIR", default_value = "wasmkube-data")]
    data_dir: PathBuf,
    /// Address of the Kubernetes API (port 0 picks a free port). Loopback only until the API
    /// has authentication.
    #[arg(long, default_value = "127.0.0.1:6443")]
    api_listen: SocketAddr,
    /// How many revisions of change history the store keeps for watches to resume from.
    #[arg(long, default_value_t = 10_000)]
    history_revisions: u64,
    /// The name this machine registers as a Node (default: the host name).
    #[arg(long)]
    node_name: Option<String>,
    /// How many pods the node accepts (its `pods` capacity).
    #[arg(long, default_value_t = 20_000)]
    max_pods: u32,
    /// Let pods mount host directories (hostPath volumes).
    #[arg(long)]
    allow_host_path: bool,
    /// The OCI runtime that runs container images: `runc`, `crun`, or a path to either (the
    /// node's RuntimeClass handler is named after it).
    #[arg(long, default_value = "runc", value_parser = parse_oci_runtime)]
    oci_runtime: std::path::PathBuf,
    /// The wasm engine's instance pool: `density` (10,000 pods and more; falls back to
    /// `small-board` when the address space cannot reserve it) or `small-board` (a few hundred
    /// instances, memories of at most 256 MiB, for boards with a small address space).
    #[arg(long, value_enum, default_value_t = crate::play::WasmPool::Density)]
    wasm_pool: crate::play::WasmPool,
    /// How long a node may miss heartbeats before it is marked NotReady (Unknown) and its
    /// pods start being evicted, e.g. `40s`.
    #[arg(long, default_value = "40s", value_parser = crate::play::parse_duration)]
    node_monitor_grace_period: std::time::Duration,
    /// Where Services' cluster IPs come from (virtual: they exist only inside the pod network).
    #[arg(long, default_value = "10.96.0.0/12", value_parser = wasmkube_apiserver::service::ServiceCidr::parse)]
    service_cluster_ip_range: wasmkube_apiserver::service::ServiceCidr,
    /// Serve Ingresses (class `wasmkube`) here, e.g. `127.0.0.1:8080`; no ingress without it.
    #[arg(long)]
    ingress_listen: Option<SocketAddr>,
    /// Serve cluster DNS (UDP and TCP) here, e.g. `127.0.0.1:5353`, for clients outside the pod
    /// network (pods resolve cluster names without it).
    #[arg(long)]
    dns_listen: Option<SocketAddr>,
    /// Real addresses pods may connect to, as a CIDR (repeatable; e.g. `192.0.2.0/24`, or
    /// `0.0.0.0/0` for anywhere). Without it pods reach only the cluster. Names outside the
    /// cluster are then looked up with the host's resolver, answering only allowed addresses;
    /// NetworkPolicy egress rules (ipBlock) narrow it per pod.
    #[arg(long = "allow-egress", value_name = "CIDR", value_parser = parse_cidr)]
    allow_egress: Vec<(std::net::Ipv4Addr, u8)>,
}

/// `a.b.c.d/n`, or one address.
fn parse_cidr(text: &str) -> Result<(std::net::Ipv4Addr, u8), String> {
    let (ip, prefix) = text.split_once('/').unwrap_or((text, "32"));
    let ip = ip.parse().map_err(|_| format!("{text:?} is not an IPv4 CIDR such as 192.0.2.0/24"))?;
    match prefix.parse::<u8>() {
        Ok(prefix) if prefix <= 32 => Ok((ip, prefix)),
        _ => Err(format!("{text:?}: the prefix length must be 0 to 32")),
    }
}

pub fn run(args: ServerArgs) -> anyhow::Result<()> {
    if !args.api_listen.ip().is_loopback() {
        bail!(
            "refusing to serve the API on {}: the API has no authentication yet, so it listens only on loopback addresses (e.g. 127.0.0.1:6443)",
            args.api_listen
        );
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data dir {}", args.data_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServerArgs) -> anyhow::Result<()> {
    let mut config = RedbStoreConfig::new(args.data_dir.join("store.redb"));
    config.history_revisions = args.history_revisions.max(1);
    let store = RedbStore::open(config)
        .with_context(|| format!("opening the store in {}", args.data_dir.display()))?;
    let api = Api::with_service_cidr(Arc::new(store), args.service_cluster_ip_range);
    let node = start_node(&args, api.clone())?;
    let mut controllers = wasmkube_controllers::ControllerConfig::new(args.data_dir.join("volumes"));
    controllers.node_monitor_grace = args.node_monitor_grace_period;
    wasmkube_controllers::spawn(api.clone(), controllers);
    wasmkube_scheduler::spawn(api.clone());
    let listener = tokio::net::TcpListener::bind(args.api_listen)
        .await
        .with_context(|| format!("binding the API to {}", args.api_listen))?;
    let addr = listener.local_addr()?;
    let ingress = match args.ingress_listen {
        Some(at) => {
            let l = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("binding the ingress to {at}"))?;
            let bound = l.local_addr()?;
            wasmkube_node::ingress::start(node.clone(), l);
            println!("wasmkube: ingress listening on http://{bound}");
            Some(bound)
        }
        None => None,
    };
    let dns = match args.dns_listen {
        Some(at) => {
            let udp = tokio::net::UdpSocket::bind(at)
                .await
                .with_context(|| format!("binding DNS (UDP) to {at}"))?;
            let bound = udp.local_addr()?;
            let tcp = tokio::net::TcpListener::bind(bound)
                .await
                .with_context(|| format!("binding DNS (TCP) to {bound}"))?;
            wasmkube_node::dns::start(&node, udp, tcp);
            println!("wasmkube: cluster DNS on {bound} (UDP and TCP)");
            Some(bound)
        }
        None => None,
    };
    write_kubeconfig(&args.data_dir, addr)?;
    write_endpoints(&args.data_dir, addr, ingress, dns)?;
    println!("wasmkube: API listening on http://{addr}");
    println!("wasmkube: kubeconfig at {}", args.data_dir.join("kubeconfig").display());
    println!("wasmkube: node {} running wasm pods", node.name());
    let options = wasmkube_apiserver::ServeOptions { logs: Some(node.log_server()) };
    // On a stop signal the node's OCI containers end first (as its wasm pods end with the
    // process), then the API closes.
    let runtime = node.runtime().clone();
    let stopping = async move {
        crate::signals::shutdown_signal().await;
        let _ = tokio::task::spawn_blocking(move || runtime.end_containers()).await;
    };
    wasmkube_apiserver::serve(listener, api, options, stopping).await?;
    Ok(())
}

/// The node agent over a wasm runtime whose files live under the data dir.
fn start_node(args: &ServerArgs, api: Api) -> anyhow::Result<NodeAgent> {
    let mut config = RuntimeConfig::new(&args.data_dir);
    config.allow_host_path = args.allow_host_path;
    config.oci_runtime = args.oci_runtime.clone();
    // Two OCI pod network namespaces made ahead, once OCI pods run: ~10 ms off each start.
    config.netns_ahead = 2;
    config.egress =
        args.allow_egress.iter().fold(config.egress, |policy, (ip, prefix)| policy.allow(*ip, *prefix));
    let runtime = Runtime::new(args.wasm_pool.engine()?, config)?;
    let name = match &args.node_name {
        Some(n) => n.clone(),
        None => host_name(),
    };
    let mut node = NodeConfig::new(name, args.data_dir.join("volumes"));
    node.max_pods = args.max_pods;
    node.allow_host_path = args.allow_host_path;
    node.manifests_dir = Some(args.data_dir.join("manifests"));
    node.seccomp_dir = Some(args.data_dir.join("seccomp"));
    Ok(NodeAgent::start(api, runtime, node))
}

/// The machine's host name, lower-cased as a Node name must be.
fn host_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name: String = raw
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' })
        .collect();
    if name.is_empty() { "wasmkube-node".into() } else { name }
}

/// Write atomically (temp file + rename) so a reader never sees half a file.
fn write_atomic(path: &Path, contents: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn write_kubeconfig(dir: &Path, addr: SocketAddr) -> anyhow::Result<()> {
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: wasmkube\n  cluster:\n    server: http://{addr}\ncontexts:\n- name: wasmkube\n  context:\n    cluster: wasmkube\n    user: admin\n    namespace: default\ncurrent-context: wasmkube\nusers:\n- name: admin\n  user: {{}}\n"
    );
    write_atomic(&dir.join("kubeconfig"), &kubeconfig)
}

fn write_endpoints(
    dir: &Path,
    api: SocketAddr,
    ingress: Option<SocketAddr>,
    dns: Option<SocketAddr>,
) -> anyhow::Result<()> {
    let mut endpoints = serde_json::json!({ "api": api.to_string() });
    if let Some(ingress) = ingress {
        endpoints["ingress"] = serde_json::json!(ingress.to_string());
    }
    if let Some(dns) = dns {
        endpoints["dns"] = serde_json::json!(dns.to_string());
    }
    write_atomic(&dir.join("endpoints.json"), &format!("{endpoints:#}\n"))
}

fn parse_oci_runtime(value: &str) -> Result<std::path::PathBuf, String> {
    let path = std::path::PathBuf::from(value);
    match path.file_name().and_then(|n| n.to_str()) {
        Some("runc" | "crun") => Ok(path),
        _ => Err(format!("{value:?} is neither runc nor crun")),
    }
}

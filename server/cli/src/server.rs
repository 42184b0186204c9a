//! `wasmkube server`: open the store, serve the API, write the kubeconfig and endpoints file.

use anyhow::{Context, bail};
use clap::Args;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmkube_apiserver::Api;
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
    let api = Api::new(Arc::new(store));
    let listener = tokio::net::TcpListener::bind(args.api_listen)
        .await
        .with_context(|| format!("binding the API to {}", args.api_listen))?;
    let addr = listener.local_addr()?;
    write_kubeconfig(&args.data_dir, addr)?;
    write_endpoints(&args.data_dir, addr)?;
    println!("wasmkube: API listening on http://{addr}");
    println!("wasmkube: kubeconfig at {}", args.data_dir.join("kubeconfig").display());
    wasmkube_apiserver::serve(listener, api, crate::signals::shutdown_signal()).await?;
    Ok(())
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

fn write_endpoints(dir: &Path, api: SocketAddr) -> anyhow::Result<()> {
    let endpoints = serde_json::json!({ "api": api.to_string() });
    write_atomic(&dir.join("endpoints.json"), &format!("{endpoints:#}\n"))
}

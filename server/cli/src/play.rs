//! `wasmkube play FILE.yaml`: run the pods of a manifest in the foreground, without a cluster.

use anyhow::{Context, bail};
use clap::Args;
use k8s_openapi::api::core::v1 as core;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use wasmkube_node::translate::{self, Lookup, PodIdentity};
use wasmkube_runtime::network::forward_host_port;
use wasmkube_runtime::{
    ContainerState, ImageSpec, ImageStore, LogObserver, PodHandle, Runtime, RuntimeConfig, StartOptions,
    Stream, WasmEngine,
};

#[derive(Args, Debug)]
pub struct PlayArgs {
    /// Where images, the compiled-component cache and pod data live.
    #[arg(long, env = "WASMKUBE_DATA_DIR", default_value = "wasmkube-data")]
    data_dir: PathBuf,
    /// The wasm instance pool: `density` or `small-board` (see `wasmkube server --help`).
    #[arg(long, value_enum, default_value_t = WasmPool::Density)]
    wasm_pool: WasmPool,
    /// How long containers get to finish after Ctrl-C before they are killed.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    grace_period: Duration,
    /// A manifest with Pods, Deployments, ReplicaSets, ReplicationControllers or Jobs (and the
    /// ConfigMaps and Secrets their volumes use).
    file: PathBuf,
}

/// How the wasm engine's instance pool is sized.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WasmPool {
    /// Sized for density (10,000 pods and more); falls back to `small-board` when this
    /// machine's address space cannot reserve it.
    Density,
    /// A few hundred instances with memories of at most 256 MiB, for boards with a small
    /// address space or little memory.
    SmallBoard,
}

impl WasmPool {
    pub(crate) fn engine(self) -> anyhow::Result<WasmEngine> {
        Ok(match self {
            WasmPool::Density => WasmEngine::for_this_machine()?,
            WasmPool::SmallBoard => WasmEngine::new(&wasmkube_runtime::EngineConfig {
                pooling: wasmkube_runtime::PoolingConfig::small_board(),
                ..Default::default()
            })?,
        })
    }
}

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    match unit {
        "s" | "" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        _ => Err(format!("invalid duration {s:?} (use e.g. 5s or 500ms)")),
    }
}

pub fn run(args: PlayArgs) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let manifest = Manifest::parse(&text)?;
    if manifest.pods.is_empty() {
        bail!(
            "{} has no Pod, Deployment, ReplicaSet, ReplicationController or Job to run",
            args.file.display()
        );
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(play(args, manifest))
}

/// The runnable content of a manifest: pod templates with their names, plus config data.
#[derive(Default)]
struct Manifest {
    pods: Vec<(String, String, core::PodSpec)>,
    config_maps: HashMap<(String, String), BTreeMap<String, Vec<u8>>>,
    secrets: HashMap<(String, String), BTreeMap<String, Vec<u8>>>,
}

impl Manifest {
    fn parse(text: &str) -> anyhow::Result<Self> {
        let mut manifest = Manifest::default();
        for document in serde_yaml::Deserializer::from_str(text) {
            let value = Value::deserialize(document).context("parsing the manifest")?;
            if value.is_null() {
                continue;
            }
            manifest.add(value)?;
        }
        Ok(manifest)
    }

    fn add(&mut self, value: Value) -> anyhow::Result<()> {
        let kind = value["kind"].as_str().unwrap_or_default().to_owned();
        let name = value["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let namespace = value["metadata"]["namespace"].as_str().unwrap_or("default").to_owned();
        let template = |v: &Value| -> anyhow::Result<core::PodSpec> {
            serde_json::from_value(v["spec"]["template"]["spec"].clone())
                .with_context(|| format!("{kind} {name}: invalid pod template"))
        };
        match kind.as_str() {
            "Pod" => {
                let pod: core::Pod =
                    serde_json::from_value(value).with_context(|| format!("Pod {name}: invalid"))?;
                self.pods.push((namespace, name, pod.spec.unwrap_or_default()));
            }
            "Deployment" | "ReplicaSet" | "ReplicationController" | "Job" => {
                let spec = template(&value)?;
                self.pods.push((namespace, name, spec));
            }
            "ConfigMap" => {
                let cm: core::ConfigMap = serde_json::from_value(value)?;
                let mut data: BTreeMap<_, _> =
                    cm.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
                data.extend(cm.binary_data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)));
                self.config_maps.insert((namespace, name), data);
            }
            "Secret" => {
                let secret: core::Secret = serde_json::from_value(value)?;
                let mut data: BTreeMap<_, _> =
                    secret.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect();
                data.extend(
                    secret.string_data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.into_bytes())),
                );
                self.secrets.insert((namespace, name), data);
            }
            other => {
                eprintln!("wasmkube play: skipping {other} {name:?} (only pods and pod templates run here)")
            }
        }
        Ok(())
    }
}

/// A manifest's objects plus the local image store: everything a played pod may reference.
struct ManifestLookup<'a>(&'a Manifest, &'a ImageStore);

impl Lookup for ManifestLookup<'_> {
    fn image(&self, reference: &str) -> Result<ImageSpec, String> {
        self.1.resolve(reference).map_err(|e| e.to_string())
    }

    fn config_map(&self, namespace: &str, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        self.0.config_maps.get(&(namespace.to_owned(), name.to_owned())).cloned()
    }

    fn secret(&self, namespace: &str, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        self.0.secrets.get(&(namespace.to_owned(), name.to_owned())).cloned()
    }
}

async fn play(args: PlayArgs, manifest: Manifest) -> anyhow::Result<ExitCode> {
    let runtime = Runtime::new(args.wasm_pool.engine()?, RuntimeConfig::new(&args.data_dir))?;
    let mut pods = Vec::new();
    for (index, (namespace, name, pod)) in manifest.pods.iter().enumerate() {
        let uid = format!("play-{}", uuid::Uuid::new_v4());
        let pod_ip = Ipv4Addr::new(10, 244, 0, u8::try_from(index + 2).unwrap_or(255));
        let id = PodIdentity {
            uid: &uid,
            name,
            namespace,
            pod_ip: Some(pod_ip),
            node_name: "play",
            host_ip: "127.0.0.1",
            ..Default::default()
        };
        let translated = translate::translate(&id, pod, &ManifestLookup(&manifest, runtime.images()))
            .map_err(|e| anyhow::anyhow!("pod {name}: {e}"))?;
        for hp in &translated.host_ports {
            let listener =
                tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, hp.host_port)).await.with_context(
                    || format!("pod {name}: hostPort {} of container {}", hp.host_port, hp.container),
                )?;
            eprintln!(
                "[{}] containerPort {} is on 127.0.0.1:{}",
                hp.container, hp.container_port, hp.host_port
            );
            let net = runtime.network().clone();
            tokio::spawn(forward_host_port(listener, net, pod_ip, hp.container_port));
        }
        let options = StartOptions { ports: None, log_observer: Some(Arc::new(PrefixPrinter)) };
        pods.push((name.clone(), runtime.start_pod(translated.spec, options)?));
    }
    let finished = futures::future::join_all(pods.iter().map(|(_, handle)| handle.wait()));
    tokio::select! {
        _ = finished => {}
        () = crate::signals::shutdown_signal() => {
            eprintln!("wasmkube play: stopping (grace period {:?})", args.grace_period);
            futures::future::join_all(pods.iter().map(|(_, handle)| handle.stop(args.grace_period))).await;
        }
    }
    Ok(report(pods))
}

/// Print each failed container's exit code; clean up; the exit status says whether all succeeded.
fn report(pods: Vec<(String, PodHandle)>) -> ExitCode {
    let mut failed = false;
    for (name, handle) in pods {
        let status = handle.status();
        if let Some(message) = &status.message {
            eprintln!("pod {name} failed: {message}");
            failed = true;
        }
        for c in status.all() {
            if let ContainerState::Terminated { exit_code, reason, message, .. } = &c.state
                && *exit_code != 0
            {
                failed = true;
                let detail = message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
                eprintln!("container {name}/{} exited with code {exit_code} ({reason}{detail})", c.name);
            }
        }
        if let Err(e) = handle.remove() {
            tracing::warn!(pod = %name, error = %e, "could not remove the pod's directory");
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// `[container] line` on stdout, as INTERFACE.md promises.
struct PrefixPrinter;

impl LogObserver for PrefixPrinter {
    fn line(&self, container: &str, stream: Stream, line: &str) {
        let result = match stream {
            Stream::Stdout => writeln!(std::io::stdout().lock(), "[{container}] {line}"),
            Stream::Stderr => writeln!(std::io::stderr().lock(), "[{container}] {line}"),
        };
        drop(result);
    }
}

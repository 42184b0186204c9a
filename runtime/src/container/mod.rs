//! One container of a pod: prepare its component, build a `Store` per instance, run it as a
//! command or serve it over HTTP, and turn the result into a Kubernetes-shaped state.

mod command;
mod http;
pub(crate) mod oci;

use crate::host::Host;
use crate::limits::{CpuMeter, StoreLimiter, install_epoch_policy};
use crate::logs::{LogSink, Stream, container_log_dir};
use crate::network::{PodHttpHooks, PodNet};
use crate::pod::{PodContext, StopSignal};
use crate::spec::{ContainerKind, ContainerSpec};
use crate::status::{ContainerState, KILLED_EXIT_CODE};
use crate::volumes::PodVolumes;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use wasmtime::Store;
use wasmtime_wasi::WasiCtx;

/// How a container ended, before timestamps are attached.
pub(crate) struct Outcome {
    exit_code: i32,
    reason: &'static str,
    message: Option<String>,
}

impl Outcome {
    fn exited(code: i32) -> Self {
        Outcome { exit_code: code, reason: if code == 0 { "Completed" } else { "Error" }, message: None }
    }

    fn error(exit_code: i32, reason: &'static str, message: String) -> Self {
        Outcome { exit_code, reason, message: Some(message) }
    }

    fn oom_killed(message: String) -> Self {
        Outcome::error(KILLED_EXIT_CODE, "OOMKilled", message)
    }

    fn killed() -> Self {
        Outcome::error(
            KILLED_EXIT_CODE,
            "Error",
            "killed: the pod was stopped and its grace period ran out".into(),
        )
    }

    fn into_state(self, started_at: DateTime<Utc>) -> ContainerState {
        ContainerState::Terminated {
            exit_code: self.exit_code,
            reason: self.reason.to_owned(),
            message: self.message,
            started_at,
            finished_at: Utc::now(),
        }
    }
}

/// What every instance of one container shares.
pub(crate) struct ContainerEnv {
    pub(crate) pod: Arc<PodContext>,
    pub(crate) volumes: Arc<PodVolumes>,
    pub(crate) spec: ContainerSpec,
    pub(crate) logs: LogSink,
    /// Set by the limiter when this container hit a memory limit.
    pub(crate) oom: Arc<AtomicBool>,
    /// This run of the container is asked to end (the pod stopping, or a kill for a restart).
    pub(crate) stop: StopSignal,
}

impl ContainerEnv {
    /// A fresh store with the container's args, env, preopens, logs and limits.
    pub(crate) fn new_store(&self) -> Result<Store<Host>, String> {
        let spec = &self.spec;
        let mut wasi = WasiCtx::builder();
        wasi.arg(&spec.name).args(&spec.args);
        wasi.env("HOSTNAME", &self.pod.spec.hostname);
        for (key, value) in &spec.env {
            wasi.env(key, value);
        }
        if let Some(dir) = &spec.working_dir {
            wasi.initial_cwd(dir);
        }
        wasi.stdout(self.logs.stream(Stream::Stdout)).stderr(self.logs.stream(Stream::Stderr));
        self.volumes.preopen(&mut wasi, &spec.mounts).map_err(|e| e.to_string())?;
        let limiter = StoreLimiter::new(self.pod.memory.clone(), spec.limits.memory_bytes, self.oom.clone());
        let cpu_counter = self.pod.cpu.get(&spec.name).cloned().unwrap_or_default();
        let cpu = CpuMeter::new(cpu_counter, spec.limits.cpu_millis);
        let network = &self.pod.runtime.network;
        crate::network::view::configure(&mut wasi, network.clone());
        let pod_net = PodNet::new(self.pod.spec.pod_ip, network.clone());
        let hooks = PodHttpHooks::new(self.pod.spec.pod_ip, network.clone());
        let host = Host::new(wasi.build(), limiter, cpu, pod_net, hooks);
        let mut store = Store::new(self.pod.runtime.engine.engine(), host);
        store.limiter(|host| &mut host.limiter);
        install_epoch_policy(&mut store);
        Ok(store)
    }
}

/// Run container `index` to its end and publish its states; returns the final one.
pub(crate) async fn run(
    pod: Arc<PodContext>,
    volumes: Arc<PodVolumes>,
    init: bool,
    index: usize,
    stop: StopSignal,
) -> ContainerState {
    let list = if init { &pod.spec.init_containers } else { &pod.spec.containers };
    let spec = list[index].clone();
    let span = tracing::info_span!("container", container = %spec.name, init);
    tracing::Instrument::instrument(run_in_span(pod, volumes, init, index, spec, stop), span).await
}

async fn run_in_span(
    pod: Arc<PodContext>,
    volumes: Arc<PodVolumes>,
    init: bool,
    index: usize,
    spec: ContainerSpec,
    stop: StopSignal,
) -> ContainerState {
    pod.set_state(init, index, ContainerState::Waiting { reason: "ContainerCreating".into() });
    let started_at = Utc::now();
    let outcome = match create(&pod, volumes, spec, stop).await {
        Err(message) => Outcome::error(128, "CreateContainerError", message),
        Ok((env, None)) => {
            let env = Arc::new(env);
            let running = || pod.set_state(init, index, ContainerState::Running { started_at: Utc::now() });
            let outcome = oci::run(&env, running).await;
            env.logs.close();
            outcome
        }
        Ok((env, Some(prepared))) => {
            pod.set_state(init, index, ContainerState::Running { started_at });
            let env = Arc::new(env);
            let outcome = match env.spec.kind.clone() {
                ContainerKind::Command => command::run(&env, &prepared).await,
                ContainerKind::Http { ports, reuse_instances } => {
                    http::serve(env.clone(), prepared, ports, reuse_instances).await
                }
                ContainerKind::Detect { ports } if prepared.command.is_none() && prepared.proxy.is_some() => {
                    http::serve(env.clone(), prepared, ports, false).await
                }
                ContainerKind::Detect { .. } => command::run(&env, &prepared).await,
            };
            env.logs.close();
            outcome
        }
    };
    tracing::info!(exit_code = outcome.exit_code, reason = outcome.reason, message = ?outcome.message, "container terminated");
    let state = outcome.into_state(started_at);
    pod.set_state(init, index, state.clone());
    state
}

async fn create(
    pod: &Arc<PodContext>,
    volumes: Arc<PodVolumes>,
    spec: ContainerSpec,
    stop: StopSignal,
) -> Result<(ContainerEnv, Option<Arc<crate::cache::Prepared>>), String> {
    // An OCI container image has nothing to compile.
    let prepared = match spec.image.container {
        Some(_) => None,
        None => Some(pod.runtime.cache.get(&spec.image).await.map_err(|e| e.to_string())?),
    };
    let dir = container_log_dir(&pod.pod_dir, &spec.name);
    let logs = LogSink::create(&dir, &spec.name, pod.runtime.config.logs, pod.options.log_observer.clone())
        .map_err(|e| e.to_string())?;
    let env = ContainerEnv { pod: pod.clone(), volumes, spec, logs, oom: Arc::default(), stop };
    Ok((env, prepared))
}

/// Resolves when a stop was requested and its grace period has run out.
async fn killed_after_grace(env: &ContainerEnv) {
    let deadline = env.stop.requested().await;
    tokio::time::sleep_until(deadline).await;
}

/// Whether `error` ended a guest because it hit a memory limit (however the guest reacted).
fn out_of_memory(env: &ContainerEnv, error: &wasmtime::Error) -> bool {
    env.oom.load(std::sync::atomic::Ordering::Relaxed)
        || error.downcast_ref::<crate::limits::MemoryLimitExceeded>().is_some()
}

/// Render a wasmtime error with its causes, as one line.
pub(crate) fn describe(error: &wasmtime::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        text.push_str(": ");
        text.push_str(&cause.to_string());
    }
    text
}

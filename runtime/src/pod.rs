//! A running pod: one tokio task that sets up volumes, runs the init containers in order and
//! then the main containers concurrently, publishing every state change on a `watch` channel.

use crate::container;
use crate::limits::PodMemory;
use crate::runtime::{RuntimeInner, StartOptions};
use crate::spec::PodSpec;
use crate::status::{ContainerState, PodPhase, PodStatus};
use crate::volumes::{self, PodVolumes};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Everything a container of the pod needs, shared by the pod's tasks.
pub(crate) struct PodContext {
    pub(crate) runtime: Arc<RuntimeInner>,
    pub(crate) spec: PodSpec,
    pub(crate) pod_dir: PathBuf,
    pub(crate) options: StartOptions,
    pub(crate) memory: Arc<PodMemory>,
    pub(crate) status: watch::Sender<PodStatus>,
    /// `Some(deadline)` once a stop was requested: finish by then or be killed.
    pub(crate) stop: watch::Receiver<Option<Instant>>,
    pub(crate) cpu: HashMap<String, Arc<AtomicU64>>,
}

impl PodContext {
    /// Resolves when a stop is requested, with its deadline.
    pub(crate) async fn stop_requested(&self) -> Instant {
        let mut stop = self.stop.clone();
        loop {
            if let Some(deadline) = *stop.borrow_and_update() {
                return deadline;
            }
            if stop.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    pub(crate) fn set_state(&self, init: bool, index: usize, state: ContainerState) {
        self.status.send_modify(|status| {
            let slot = status.slot(init, index);
            slot.cpu_nanos = self.cpu.get(&slot.name).map_or(0, |c| c.load(Ordering::Relaxed));
            slot.state = state;
            status.update_phase();
        });
    }
}

/// Observe and stop a pod.
pub struct PodHandle {
    uid: String,
    pod_dir: PathBuf,
    status: watch::Receiver<PodStatus>,
    stop: watch::Sender<Option<Instant>>,
    cpu: HashMap<String, Arc<AtomicU64>>,
}

impl PodHandle {
    pub fn uid(&self) -> &str {
        &self.uid
    }

    pub fn status(&self) -> PodStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change.
    pub fn watch(&self) -> watch::Receiver<PodStatus> {
        self.status.clone()
    }

    /// CPU time per container so far, in nanoseconds (for metrics while the pod runs).
    pub fn cpu_nanos(&self) -> HashMap<String, u64> {
        self.cpu.iter().map(|(name, c)| (name.clone(), c.load(Ordering::Relaxed))).collect()
    }

    /// Wait until the pod has finished (every container terminated, or setup failed).
    pub async fn wait(&self) -> PodStatus {
        let mut status = self.status.clone();
        match status.wait_for(PodStatus::is_finished).await {
            Ok(done) => done.clone(),
            Err(_) => self.status(),
        }
    }

    /// Ask every container to finish within `grace`, then kill what is left; returns the final
    /// status.
    pub async fn stop(&self, grace: Duration) -> PodStatus {
        self.stop.send_replace(Some(Instant::now() + grace));
        self.wait().await
    }

    /// Delete the pod's directory (emptyDir volumes and logs). Call after the pod finished.
    pub fn remove(self) -> std::io::Result<()> {
        volumes::remove_pod_dir(&self.pod_dir)
    }
}

pub(crate) fn start(
    runtime: Arc<RuntimeInner>,
    pod_dir: PathBuf,
    spec: PodSpec,
    options: StartOptions,
) -> PodHandle {
    let names = |cs: &[crate::spec::ContainerSpec]| cs.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    let (status_tx, status_rx) =
        watch::channel(PodStatus::pending(&names(&spec.init_containers), &names(&spec.containers)));
    let (stop_tx, stop_rx) = watch::channel(None);
    let all = spec.init_containers.iter().chain(&spec.containers);
    let cpu: HashMap<_, _> = all.map(|c| (c.name.clone(), Arc::new(AtomicU64::new(0)))).collect();
    let ctx = Arc::new(PodContext {
        runtime,
        memory: PodMemory::new(pod_memory_limit(&spec)),
        spec,
        pod_dir: pod_dir.clone(),
        options,
        status: status_tx,
        stop: stop_rx,
        cpu: cpu.clone(),
    });
    let uid = ctx.spec.uid.clone();
    let span = tracing::info_span!("pod", namespace = %ctx.spec.namespace, name = %ctx.spec.name, uid = %uid);
    tokio::spawn(tracing::Instrument::instrument(run(ctx), span));
    PodHandle { uid, pod_dir, status: status_rx, stop: stop_tx, cpu }
}

/// The pod's memory cap, as the kubelet sizes a pod cgroup: main containers run together, init
/// containers one at a time, so the cap is max(sum of main limits, largest init limit); no cap
/// unless every main container has a limit.
fn pod_memory_limit(spec: &PodSpec) -> Option<u64> {
    let main: Option<u64> = spec.containers.iter().map(|c| c.limits.memory_bytes).sum();
    let init = spec.init_containers.iter().filter_map(|c| c.limits.memory_bytes).max();
    main.map(|m| m.max(init.unwrap_or(0)))
}

/// The pod's membership of the node network, for as long as the pod runs.
struct Joined<'a>(&'a PodContext);

impl Drop for Joined<'_> {
    fn drop(&mut self) {
        self.0.runtime.network.remove_pod(self.0.spec.pod_ip);
    }
}

async fn run(ctx: Arc<PodContext>) {
    tracing::info!(pod_ip = %ctx.spec.pod_ip, "pod starting");
    ctx.runtime.network.add_pod(ctx.spec.pod_ip, &ctx.spec.hostname);
    let _joined = Joined(&ctx);
    let volumes = match PodVolumes::create(&ctx.pod_dir, &ctx.spec, ctx.runtime.config.allow_host_path) {
        Ok(v) => Arc::new(v),
        Err(e) => return fail(&ctx, e.to_string()),
    };
    for index in 0..ctx.spec.init_containers.len() {
        let state = container::run(ctx.clone(), volumes.clone(), true, index).await;
        if state.exit_code() != Some(0) {
            tracing::warn!(container = %ctx.spec.init_containers[index].name, "init container failed");
            return skip_main(&ctx);
        }
    }
    let mains =
        (0..ctx.spec.containers.len()).map(|i| container::run(ctx.clone(), volumes.clone(), false, i));
    futures::future::join_all(mains).await;
    tracing::info!(phase = ?ctx.status.borrow().phase, "pod finished");
}

fn fail(ctx: &PodContext, message: String) {
    tracing::warn!(%message, "pod failed to start");
    ctx.status.send_modify(|s| {
        s.message = Some(message);
        s.update_phase();
    });
}

/// An init container failed: the main containers never run (restartPolicy Never).
fn skip_main(ctx: &PodContext) {
    ctx.status.send_modify(|s| {
        s.phase = PodPhase::Failed;
        s.message.get_or_insert_with(|| "an init container failed".into());
    });
}

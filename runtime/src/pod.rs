//! A running pod: one tokio task that sets up volumes, runs the init containers in order
//! (starting native sidecars in their place) and then the main containers concurrently,
//! restarting ended containers as the pod's restart policy says, with exponential back-off,
//! and publishing every state change on a `watch` channel.

use crate::container;
use crate::limits::PodMemory;
use crate::runtime::{RuntimeInner, StartOptions};
use crate::spec::{ContainerSpec, PodSpec, RestartPolicy};
use crate::status::{ContainerState, PodPhase, PodStatus};
use crate::volumes::{self, PodVolumes};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// A stop request: `Some(deadline)` once asked to finish by then (or be killed).
#[derive(Clone)]
pub(crate) struct StopSignal(watch::Receiver<Option<Instant>>);

impl StopSignal {
    /// Resolves when a stop is requested, with its deadline.
    pub(crate) async fn requested(&self) -> Instant {
        let mut stop = self.0.clone();
        loop {
            if let Some(deadline) = *stop.borrow_and_update() {
                return deadline;
            }
            if stop.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    fn is_requested(&self) -> bool {
        self.0.borrow().is_some()
    }
}

/// Everything a container of the pod needs, shared by the pod's tasks.
pub(crate) struct PodContext {
    pub(crate) runtime: Arc<RuntimeInner>,
    pub(crate) spec: PodSpec,
    pub(crate) pod_dir: PathBuf,
    pub(crate) options: StartOptions,
    pub(crate) memory: Arc<PodMemory>,
    pub(crate) status: watch::Sender<PodStatus>,
    /// The whole pod is stopping: nothing restarts any more.
    stop: StopSignal,
    /// Per container: stop this one instance (the pod stopping, or a kill for a restart).
    container_stops: HashMap<String, watch::Sender<Option<Instant>>>,
    /// The main containers are done: sidecars end for good instead of restarting.
    sidecars_done: AtomicBool,
    pub(crate) cpu: HashMap<String, Arc<AtomicU64>>,
    /// The network namespace of the pod's OCI containers, made with the first of them.
    netns: std::sync::Mutex<Option<Arc<crate::oci::netns::NetNs>>>,
}

impl PodContext {
    /// The pod's network namespace for OCI containers, created on first use (blocking).
    pub(crate) fn netns(&self) -> Result<Arc<crate::oci::netns::NetNs>, String> {
        let mut slot = self.netns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(ns) = slot.as_ref() {
            return Ok(ns.clone());
        }
        let ns = Arc::new(self.runtime.netns_pool.take(&self.runtime.network.addressable())?);
        *slot = Some(ns.clone());
        Ok(ns)
    }

    pub(crate) fn set_state(&self, init: bool, index: usize, state: ContainerState) {
        self.update(init, index, |slot| slot.state = state);
    }

    fn update(&self, init: bool, index: usize, f: impl FnOnce(&mut crate::status::ContainerStatus)) {
        self.status.send_modify(|status| {
            let slot = status.slot(init, index);
            slot.cpu_nanos = self.cpu.get(&slot.name).map_or(0, |c| c.load(Ordering::Relaxed));
            f(slot);
            status.update_phase();
        });
    }

    fn container_stop(&self, name: &str) -> StopSignal {
        StopSignal(self.container_stops[name].subscribe())
    }
}

/// Observe and stop a pod.
pub struct PodHandle {
    uid: String,
    pod_dir: PathBuf,
    status: watch::Receiver<PodStatus>,
    stop: watch::Sender<Option<Instant>>,
    ctx: Arc<PodContext>,
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
        self.ctx.cpu.iter().map(|(name, c)| (name.clone(), c.load(Ordering::Relaxed))).collect()
    }

    /// Wait until nothing of the pod runs any more (every container ended for good, or setup
    /// failed).
    pub async fn wait(&self) -> PodStatus {
        let mut status = self.status.clone();
        match status.wait_for(|s| s.ended).await {
            Ok(done) => done.clone(),
            Err(_) => self.status(),
        }
    }

    /// Ask every container to finish within `grace`, then kill what is left; returns the final
    /// status. Nothing restarts once a stop was requested.
    pub async fn stop(&self, grace: Duration) -> PodStatus {
        let deadline = Instant::now() + grace;
        self.stop.send_replace(Some(deadline));
        for tx in self.ctx.container_stops.values() {
            tx.send_if_modified(|d| set_earlier(d, deadline));
        }
        self.wait().await
    }

    /// End the current run of one container (a failed liveness probe): it gets `grace` to
    /// finish, then is killed; the restart policy decides whether it runs again.
    pub fn kill_container(&self, name: &str, grace: Duration) -> bool {
        let Some(tx) = self.ctx.container_stops.get(name) else {
            return false;
        };
        let deadline = Instant::now() + grace;
        tx.send_if_modified(|d| set_earlier(d, deadline));
        true
    }

    /// Where the pod's emptyDir volume `name` lives on the host (its usage is
    /// [`crate::volumes::disk_usage`]).
    pub fn volume_dir(&self, name: &str) -> PathBuf {
        volumes::volume_dir(&self.pod_dir, name)
    }

    /// What container `name` writes on the node's disk outside volumes: its log files and (an
    /// OCI container's) writable layer — what `ephemeral-storage` limits count.
    pub fn container_disk_dirs(&self, name: &str) -> [PathBuf; 2] {
        [
            crate::logs::container_log_dir(&self.pod_dir, name),
            crate::container::oci::bundle_dir(&self.pod_dir, name).join("upper"),
        ]
    }

    /// Tear down the pod's volumes (emptyDir contents, configMap/secret files; hostPath volumes
    /// are the host's and stay), keeping its logs. Call after the pod finished.
    pub fn remove_volumes(&self) -> std::io::Result<()> {
        volumes::remove_pod_dir(&volumes::volumes_root(&self.pod_dir))
    }

    /// Delete the pod's directory (emptyDir volumes and logs). Call after the pod finished.
    pub fn remove(self) -> std::io::Result<()> {
        volumes::remove_pod_dir(&self.pod_dir)
    }
}

fn set_earlier(current: &mut Option<Instant>, deadline: Instant) -> bool {
    match current {
        Some(d) if *d <= deadline => false,
        _ => {
            *current = Some(deadline);
            true
        }
    }
}

pub(crate) fn start(
    runtime: Arc<RuntimeInner>,
    pod_dir: PathBuf,
    spec: PodSpec,
    options: StartOptions,
) -> PodHandle {
    let init: Vec<(String, bool)> =
        spec.init_containers.iter().map(|c| (c.name.clone(), c.sidecar)).collect();
    let main: Vec<String> = spec.containers.iter().map(|c| c.name.clone()).collect();
    let (status_tx, status_rx) = watch::channel(PodStatus::pending(&init, &main));
    let (stop_tx, stop_rx) = watch::channel(None);
    let all: Vec<&ContainerSpec> = spec.init_containers.iter().chain(&spec.containers).collect();
    let cpu: HashMap<_, _> = all.iter().map(|c| (c.name.clone(), Arc::new(AtomicU64::new(0)))).collect();
    let container_stops = all.iter().map(|c| (c.name.clone(), watch::channel(None).0)).collect();
    let ctx = Arc::new(PodContext {
        runtime,
        memory: PodMemory::new(pod_memory_limit(&spec)),
        spec,
        pod_dir: pod_dir.clone(),
        options,
        status: status_tx,
        stop: StopSignal(stop_rx),
        container_stops,
        sidecars_done: AtomicBool::new(false),
        cpu,
        netns: Default::default(),
    });
    let uid = ctx.spec.uid.clone();
    let span = tracing::info_span!("pod", namespace = %ctx.spec.namespace, name = %ctx.spec.name, uid = %uid);
    tokio::spawn(tracing::Instrument::instrument(run(ctx.clone()), span));
    PodHandle { uid, pod_dir, status: status_rx, stop: stop_tx, ctx }
}

/// The pod's memory cap, as the kubelet sizes a pod cgroup: main containers (and sidecars)
/// run together, init containers one at a time, so the cap is max(sum of main and sidecar
/// limits, largest init limit); no cap unless every main container has a limit.
fn pod_memory_limit(spec: &PodSpec) -> Option<u64> {
    let sidecars: Option<u64> =
        spec.init_containers.iter().filter(|c| c.sidecar).map(|c| c.limits.memory_bytes).sum();
    let main: Option<u64> = spec.containers.iter().map(|c| c.limits.memory_bytes).sum();
    let init = spec.init_containers.iter().filter(|c| !c.sidecar).filter_map(|c| c.limits.memory_bytes).max();
    let together = main.and_then(|m| sidecars.map(|s| m + s));
    together.map(|m| m.max(init.unwrap_or(0)))
}

/// The pod's membership of the node network, for as long as the pod runs.
struct Joined<'a>(&'a PodContext);

impl Drop for Joined<'_> {
    fn drop(&mut self) {
        self.0.runtime.network.remove_pod(self.0.spec.pod_ip);
    }
}

async fn run(ctx: Arc<PodContext>) {
    run_containers(&ctx).await;
    ctx.status.send_modify(|s| s.ended = true);
    tracing::info!(phase = ?ctx.status.borrow().phase, "pod finished");
}

async fn run_containers(ctx: &Arc<PodContext>) {
    tracing::info!(pod_ip = %ctx.spec.pod_ip, "pod starting");
    ctx.runtime.network.add_pod(ctx.spec.pod_ip, &ctx.spec.hostname, &ctx.spec.namespace);
    let _joined = Joined(ctx);
    let volumes = match PodVolumes::create(&ctx.pod_dir, &ctx.spec, ctx.runtime.config.allow_host_path) {
        Ok(v) => Arc::new(v),
        Err(e) => return fail(ctx, e.to_string()),
    };
    let mut sidecars = Vec::new();
    for (index, spec) in ctx.spec.init_containers.iter().enumerate() {
        if spec.sidecar {
            sidecars.push(tokio::spawn(keep_running(ctx.clone(), volumes.clone(), true, index)));
            continue;
        }
        let state = keep_running(ctx.clone(), volumes.clone(), true, index).await;
        if state.exit_code() != Some(0) {
            tracing::warn!(container = %spec.name, "init container failed");
            stop_sidecars(ctx, &mut sidecars).await;
            return skip_main(ctx);
        }
        if ctx.stop.is_requested() {
            return stop_sidecars(ctx, &mut sidecars).await;
        }
    }
    let mains = (0..ctx.spec.containers.len()).map(|i| keep_running(ctx.clone(), volumes.clone(), false, i));
    futures::future::join_all(mains).await;
    stop_sidecars(ctx, &mut sidecars).await;
}

/// How long sidecars get once the main containers are done. HTTP sidecars drain and end at
/// once; a command cannot be asked to stop (WASI has no signals), so waiting longer would only
/// delay the pod's end before it is killed anyway.
const SIDECAR_GRACE: Duration = Duration::from_secs(2);

/// The main containers are done: sidecars end (in any order) within [`SIDECAR_GRACE`].
async fn stop_sidecars(ctx: &PodContext, sidecars: &mut Vec<tokio::task::JoinHandle<ContainerState>>) {
    ctx.sidecars_done.store(true, Ordering::Release);
    let deadline = Instant::now() + SIDECAR_GRACE;
    for c in ctx.spec.init_containers.iter().filter(|c| c.sidecar) {
        ctx.container_stops[&c.name].send_if_modified(|d| set_earlier(d, deadline));
    }
    for task in sidecars.drain(..) {
        let _ = task.await;
    }
}

/// Run one container, again and again as its restart policy says, until it ends for good or
/// the pod stops; returns the final state.
async fn keep_running(
    ctx: Arc<PodContext>,
    volumes: Arc<PodVolumes>,
    init: bool,
    index: usize,
) -> ContainerState {
    let spec = if init { &ctx.spec.init_containers[index] } else { &ctx.spec.containers[index] };
    let policy = match ctx.spec.restart_policy {
        _ if spec.sidecar => RestartPolicy::Always,
        // An init container that fails is retried unless the pod never restarts anything.
        RestartPolicy::Always if init => RestartPolicy::OnFailure,
        p => p,
    };
    let stop = ctx.container_stop(&spec.name);
    let mut backoff = Backoff::new(ctx.runtime.config.restart_backoff);
    loop {
        let started = Instant::now();
        let state = container::run(ctx.clone(), volumes.clone(), init, index, stop.clone()).await;
        let code = state.exit_code().unwrap_or(0);
        let sidecar_done = spec.sidecar && ctx.sidecars_done.load(Ordering::Acquire);
        if ctx.stop.is_requested() || sidecar_done || !policy.restarts(code) {
            return state;
        }
        let delay = backoff.next(started.elapsed());
        let name = &spec.name;
        tracing::info!(container = %name, exit_code = code, delay = ?delay, "restarting container");
        let reason = if delay.is_zero() { "ContainerCreating" } else { "CrashLoopBackOff" };
        ctx.update(init, index, |slot| {
            slot.last_state = Some(state.clone());
            slot.restart_count += 1;
            slot.state = ContainerState::Waiting { reason: reason.into() };
        });
        // The pod stopping (or its sidecars being stopped) also reaches this container's own
        // stop channel, so a back-off wait ends early when nothing will run again.
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stop.requested() => {}
        }
        if ctx.stop.is_requested() || (spec.sidecar && ctx.sidecars_done.load(Ordering::Acquire)) {
            ctx.set_state(init, index, state.clone());
            return state;
        }
        // A kill for a restart is spent: the next run starts with no stop pending.
        ctx.container_stops[name].send_replace(None);
    }
}

/// The kubelet's crash-loop back-off: the first restart is immediate, then the wait doubles
/// from `initial` up to `max`; a run that lasted longer than twice `max` resets it.
struct Backoff {
    config: crate::runtime::RestartBackoff,
    next: Duration,
}

impl Backoff {
    fn new(config: crate::runtime::RestartBackoff) -> Self {
        Backoff { config, next: Duration::ZERO }
    }

    fn next(&mut self, ran_for: Duration) -> Duration {
        if ran_for > self.config.max * 2 {
            self.next = Duration::ZERO;
        }
        let delay = self.next;
        self.next = if delay.is_zero() { self.config.initial } else { (delay * 2).min(self.config.max) };
        delay
    }
}

fn fail(ctx: &PodContext, message: String) {
    tracing::warn!(%message, "pod failed to start");
    ctx.status.send_modify(|s| {
        s.message = Some(message);
        s.update_phase();
    });
}

/// An init container failed for good: the main containers never run.
fn skip_main(ctx: &PodContext) {
    ctx.status.send_modify(|s| {
        s.phase = PodPhase::Failed;
        s.message.get_or_insert_with(|| "an init container failed".into());
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::RestartBackoff;

    #[test]
    fn backoff_is_immediate_then_doubles_to_the_cap_and_resets_after_a_long_run() {
        let config = RestartBackoff { initial: Duration::from_secs(10), max: Duration::from_secs(40) };
        let mut b = Backoff::new(config);
        let short = Duration::from_secs(1);
        let waits: Vec<u64> = (0..5).map(|_| b.next(short).as_secs()).collect();
        assert_eq!(waits, [0, 10, 20, 40, 40]);
        assert_eq!(b.next(Duration::from_secs(81)), Duration::ZERO);
        assert_eq!(b.next(short), Duration::from_secs(10));
    }
}

//! The workload controllers (kube-controller-manager's job for workloads), running in-process
//! against [`wasmkube_apiserver::Api`] exactly as a user's requests do.
//!
//! # Layout
//! Every controller is a [`Reconciler`](wasmkube_apiserver::controllers::Reconciler) driven by
//! [`wasmkube_apiserver::controllers::run`]: it lists and watches everything, keeps the kinds it
//! cares about in a `cache`, and syncs the objects an event (or a timer) made due.
//! - [`replicaset`]: ReplicaSet and ReplicationController.
//! - [`deployment`]: Deployment (rollouts through ReplicaSets).
//! - [`job`]: Job (and its TTL after finishing).
//! - [`daemonset`]: DaemonSet (a pod per eligible node, with ControllerRevision history).
//! - [`statefulset`]: StatefulSet (ordered pods with stable names and their own claims).
//! - [`cronjob`]: CronJob (cron schedules in a time zone, concurrency policy, history).
//! - [`provisioner`]: the local-path provisioner binding claims to node-local directories.
//! - [`nodelifecycle`]: missed heartbeats -> Unknown -> taints -> NoExecute evictions.
//! - [`quota`]: ResourceQuota status, recounted from the objects (admission charges creates).
//! - [`endpoints`]: Endpoints and EndpointSlices of Services with a selector.
//! - shared helpers: `cache` (indexed objects plus our own writes), `claim` (adoption and
//!   release), `pods` (templates, readiness, availability), `ranking` (which pod to delete
//!   first), `queue` (due objects and timers), `client` (writes as one field manager),
//!   `revisions` (ControllerRevision history), `hash` (template hashes), [`clock`] (the time
//!   seam tests drive).

mod cache;
mod claim;
mod client;
pub mod clock;
mod context;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod endpoints;
mod hash;
pub mod job;
pub mod nodelifecycle;
mod pods;
pub mod provisioner;
mod queue;
pub mod quota;
mod ranking;
pub mod replicaset;
mod revisions;
pub mod statefulset;

use clock::{Clock, SystemClock};
use std::path::PathBuf;
use std::sync::Arc;
use wasmkube_apiserver::Api;
use wasmkube_apiserver::controllers::run;

/// What the binary (or a test) configures about the controllers.
#[derive(Clone)]
pub struct ControllerConfig {
    /// Where the local-path provisioner makes volume directories (`<DATA_DIR>/volumes`);
    /// created if missing.
    pub volumes_dir: PathBuf,
    /// "Now" for every time-based decision (deadlines, minReadySeconds, schedules).
    pub clock: Arc<dyn Clock>,
    /// How long a node may miss heartbeats before it is marked Unknown and tainted
    /// (kube-controller-manager's `--node-monitor-grace-period`).
    pub node_monitor_grace: std::time::Duration,
}

impl ControllerConfig {
    /// The configuration of a real cluster: the wall clock.
    pub fn new(volumes_dir: impl Into<PathBuf>) -> Self {
        ControllerConfig {
            volumes_dir: volumes_dir.into(),
            clock: Arc::new(SystemClock),
            node_monitor_grace: std::time::Duration::from_secs(40),
        }
    }
}

/// Start every workload controller on the current tokio runtime.
pub fn spawn(api: Api, config: ControllerConfig) {
    if let Err(e) = std::fs::create_dir_all(&config.volumes_dir) {
        tracing::warn!(dir = %config.volumes_dir.display(), error = %e, "cannot create the volumes directory");
    }
    use replicaset::{Flavor, ReplicaSetController};
    for flavor in [Flavor::ReplicaSet, Flavor::ReplicationController] {
        let c = ReplicaSetController::new(api.clone(), flavor, config.clock.clone());
        tokio::spawn(run(api.clone(), c, flavor.component()));
    }
    let deployments = deployment::DeploymentController::new(api.clone(), config.clock.clone());
    tokio::spawn(run(api.clone(), deployments, "deployment-controller"));
    tokio::spawn(run(
        api.clone(),
        job::JobController::new(api.clone(), config.clock.clone()),
        "job-controller",
    ));
    let daemons = daemonset::DaemonSetController::new(api.clone(), config.clock.clone());
    tokio::spawn(run(api.clone(), daemons, "daemonset-controller"));
    let stateful = statefulset::StatefulSetController::new(api.clone(), config.clock.clone());
    tokio::spawn(run(api.clone(), stateful, "statefulset-controller"));
    let provisioner =
        provisioner::LocalPathProvisioner::new(api.clone(), config.volumes_dir, config.clock.clone());
    tokio::spawn(run(api.clone(), provisioner, "local-path-provisioner"));
    let cronjobs = cronjob::CronJobController::new(api.clone(), config.clock.clone());
    tokio::spawn(run(api.clone(), cronjobs, "cronjob-controller"));
    let nodes = nodelifecycle::NodeLifecycleController::new(
        api.clone(),
        config.clock.clone(),
        config.node_monitor_grace,
    );
    tokio::spawn(run(api.clone(), nodes, "node-lifecycle-controller"));
    tokio::spawn(run(api.clone(), quota::QuotaController::new(), "resourcequota-controller"));
    let endpoints = endpoints::EndpointsController::new(api.clone(), config.clock.clone());
    tokio::spawn(run(api.clone(), endpoints, "endpoint-controller"));
    let slices = endpoints::EndpointSliceController::new(api.clone(), config.clock.clone());
    tokio::spawn(run(api.clone(), slices, "endpointslice-controller"));
}

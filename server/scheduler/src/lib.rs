//! The scheduler: watches unscheduled pods and nodes, filters and scores nodes, binds pods
//! through `pods/binding`.
//!
//! # Layout
//! - [`scheduler`]: the loop. One task owns the cache and the queue, takes updates and bind
//!   outcomes, and schedules pods in bursts; binds run concurrently in their own tasks.
//! - [`feed`]: a task beside the loop that lists, watches and parses Pods, Nodes and
//!   Namespaces; [`informer`]: its updates -> [`cache`] and [`queue`], and which cluster changes
//!   should retry waiting pods.
//! - [`model`]: Pods and Nodes reduced to what decisions read, parsed once per event;
//!   [`resources`]: resource amounts as integers.
//! - [`cache`]: nodes with running totals of their pods' requests, host ports and affinity
//!   counts; pods we just bound are *assumed* there until the watch confirms them.
//! - [`queue`]: active (by priority), backoff and unschedulable pods.
//! - [`schedule`]: one decision: sample, [`filter`], [`score`], pick; and upstream's
//!   "0/N nodes are available" summary.
//! - [`bind`]: the `pods/binding` writes; [`report`]: `PodScheduled=False` and events.
//!
//! # Throughput
//! Built to bind thousands of pods per second on two cores (see `benches/scheduler.rs`):
//! - every object is parsed once, when its event arrives, by the feeder beside the loop; a
//!   decision reads integers and small vectors, never JSON;
//! - each node keeps running totals of its pods' requests (and copies of its allocatable
//!   resources and flags), so a filter is a few comparisons and no pod is summed twice;
//! - like upstream's `percentageOfNodesToScore`, a decision stops filtering once it has found
//!   enough feasible nodes (50% of the nodes minus 1% per 125, at least 5% and 100 nodes) and
//!   scores only those; successive decisions start where the last one stopped;
//! - cluster-wide terms (pod affinity, topology spread) are counted once per pod, and skipped
//!   when neither the pod nor any placed pod has them;
//! - binds never block the loop: up to 256 are in flight, so the store's group commit shares
//!   each fsync among many of them; the assumed-pod cache keeps decisions correct meanwhile.
//!
//! Deliberately absent: preemption (the summary says what it would find), volume-related
//! filters, image locality, default topology spread constraints, scheduler profiles and
//! extenders, `nominatedNodeName`.

pub mod bind;
pub mod cache;
pub mod feed;
pub mod filter;
pub mod informer;
pub mod model;
pub mod queue;
pub mod report;
pub mod resources;
pub mod schedule;
pub mod scheduler;
pub mod score;
#[cfg(test)]
mod testing;

use std::time::Duration;
use wasmkube_apiserver::Api;

/// How the scheduler behaves. The defaults are upstream's where upstream has one.
#[derive(Debug, Clone)]
pub struct Config {
    /// Pods naming this `spec.schedulerName` (or none) are ours; also the events' reporter.
    pub scheduler_name: String,
    /// Fixed share of nodes to find feasible before scoring (upstream's
    /// `percentageOfNodesToScore`); `None` is upstream's adaptive default.
    pub percentage_of_nodes_to_score: Option<u32>,
    /// Binds outstanding at once; more lets group commit share more of each fsync.
    pub max_binds_in_flight: usize,
    /// Pods decided per turn of the loop before it looks at new events again.
    pub burst: usize,
    /// Pause after a failed attempt, doubling per attempt up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// An unschedulable pod is retried after this long even if no watched change suggested it
    /// (upstream: 5 minutes).
    pub unschedulable_flush: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            scheduler_name: "default-scheduler".into(),
            percentage_of_nodes_to_score: None,
            max_binds_in_flight: 256,
            burst: 256,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            unschedulable_flush: Duration::from_secs(60),
        }
    }
}

/// Start the scheduler with the default [`Config`] on the current tokio runtime.
pub fn spawn(api: Api) {
    spawn_with(api, Config::default());
}

/// Start the scheduler on the current tokio runtime; it runs until the runtime stops or the
/// returned task is aborted.
pub fn spawn_with(api: Api, config: Config) -> tokio::task::JoinHandle<()> {
    let span = tracing::info_span!("scheduler", name = %config.scheduler_name);
    tokio::spawn(tracing::Instrument::instrument(scheduler::Scheduler::new(api, config).run(), span))
}

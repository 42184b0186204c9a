//! The scheduling loop: one task owns the cache and the queue; it takes the feeder's updates,
//! bind outcomes and timers as they come, and between them schedules pods in short bursts.
//!
//! Decisions are cheap (microseconds) and binds are slow (a durable write each), so the loop
//! never waits for a bind: it assumes the pod on its node, hands the bind to a task, and moves
//! on, with up to `max_binds_in_flight` binds outstanding. Those concurrent binds are what lets
//! the store's group commit share one fsync among many of them.

use crate::Config;
use crate::bind::{self, BindOutcome};
use crate::feed::{self, Feed};
use crate::informer::View;
use crate::model::pod::PodInfo;
use crate::queue::{Queue, Timing};
use crate::report;
use crate::schedule::Algorithm;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;
use wasmkube_apiserver::Api;
use wasmkube_apiserver::events::{EventType, Recorder};

/// Update batches taken per turn before scheduling again, so a flood of events cannot starve
/// scheduling (nor the reverse).
const BATCHES_PER_TURN: usize = 4;

pub struct Scheduler {
    api: Api,
    config: Config,
    view: View,
    algorithm: Algorithm,
    recorder: Recorder,
    done_tx: mpsc::UnboundedSender<BindOutcome>,
    done_rx: mpsc::UnboundedReceiver<BindOutcome>,
    /// Binds in flight: pod uid -> (pod, node).
    in_flight: HashMap<String, (Arc<PodInfo>, String)>,
}

impl Scheduler {
    pub fn new(api: Api, config: Config) -> Scheduler {
        let timing = Timing {
            initial_backoff: config.initial_backoff,
            max_backoff: config.max_backoff,
            unschedulable_flush: config.unschedulable_flush,
        };
        let view = View {
            cache: crate::cache::Cache::default(),
            queue: Queue::new(timing),
            changes: Default::default(),
            scheduler_name: config.scheduler_name.clone(),
        };
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Scheduler {
            recorder: Recorder::new(api.clone(), &config.scheduler_name, None),
            algorithm: Algorithm::new(config.percentage_of_nodes_to_score),
            api,
            config,
            view,
            done_tx,
            done_rx,
            in_flight: HashMap::new(),
        }
    }

    /// Run until the feeder stops (which it does only when the runtime does).
    pub async fn run(mut self) {
        let mut feed = feed::spawn(self.api.clone());
        loop {
            for _ in 0..BATCHES_PER_TURN {
                match feed.try_recv() {
                    Ok(batch) => self.take(batch),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return,
                }
            }
            while let Ok(outcome) = self.done_rx.try_recv() {
                self.bind_done(outcome);
            }
            let now = Instant::now();
            self.view.changes.apply(&mut self.view.queue, now);
            if self.schedule_burst(now) {
                tokio::task::yield_now().await;
                continue;
            }
            let wake = self.view.queue.next_wakeup();
            tokio::select! {
                batch = feed.recv() => match batch {
                    Some(batch) => self.take(batch),
                    None => return,
                },
                Some(outcome) = self.done_rx.recv() => self.bind_done(outcome),
                () = sleep_until(wake) => {}
            }
        }
    }

    fn take(&mut self, feed: Feed) {
        let now = Instant::now();
        match feed {
            Feed::Reset(listing) => {
                let in_flight: Vec<(Arc<PodInfo>, String)> = self.in_flight.values().cloned().collect();
                self.view.reset(listing, &in_flight, now);
                let (nodes, pending) = (self.view.cache.node_count(), self.view.queue.len());
                tracing::info!(nodes, pending, "scheduler synced");
            }
            Feed::Updates(updates) => {
                for u in updates {
                    self.view.apply(u, now);
                }
            }
        }
    }

    /// Schedule up to a burst of pods; returns whether any was tried.
    fn schedule_burst(&mut self, now: Instant) -> bool {
        let mut tried = 0;
        while tried < self.config.burst && self.in_flight.len() < self.config.max_binds_in_flight {
            let Some(pod) = self.view.queue.pop(now) else { break };
            tried += 1;
            match self.algorithm.schedule(&pod, &self.view.cache) {
                Ok(node) => self.assume_and_bind(pod, node),
                Err(fit) => {
                    self.view.queue.unschedulable(&pod.uid, now);
                    if let Some(entry) = self.view.queue.get_mut(&pod.uid) {
                        report::unschedulable(
                            &self.api,
                            &self.recorder,
                            &pod,
                            &mut entry.reported,
                            fit.to_string(),
                        );
                    }
                }
            }
        }
        tried > 0
    }

    fn assume_and_bind(&mut self, pod: Arc<PodInfo>, node: String) {
        tracing::debug!(namespace = %pod.namespace, pod = %pod.name, node = %node, "assumed");
        self.view.cache.add_pod(pod.clone(), &node, true);
        self.in_flight.insert(pod.uid.clone(), (pod.clone(), node.clone()));
        bind::spawn(self.api.clone(), self.recorder.clone(), pod, node, self.done_tx.clone());
    }

    fn bind_done(&mut self, outcome: BindOutcome) {
        let BindOutcome { pod, node, result } = outcome;
        self.in_flight.remove(&pod.uid);
        let Err(e) = result else {
            // Stays assumed until the watch shows the pod bound.
            return;
        };
        let cache = &mut self.view.cache;
        if cache.placed(&pod.uid).is_some_and(|p| p.assumed && p.node == node) {
            cache.remove_pod(&pod.uid);
            self.view.changes.freed = true;
        }
        if bind::settled_elsewhere(&e) {
            self.view.queue.remove(&pod.uid);
            return;
        }
        tracing::warn!(namespace = %pod.namespace, pod = %pod.name, node = %node, error = %e, "bind failed; will retry");
        self.recorder.event(
            &pod.object_ref(),
            EventType::Warning,
            "FailedScheduling",
            format!("Binding rejected: {e}"),
        );
        self.view.queue.retry_later(&pod.uid, Instant::now());
    }
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

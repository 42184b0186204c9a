//! Applying the feeder's updates to the cache and the queue: pods bound to a node are counted
//! on it; pods waiting for us are queued; every change that could make a waiting pod fit is
//! noted in [`Changes`].

use crate::cache::Cache;
use crate::feed::Update;
use crate::model::pod::PodInfo;
use crate::queue::Queue;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::time::Instant;

/// Cluster changes seen since waiting pods were last reconsidered.
#[derive(Debug, Default, Clone, Copy)]
pub struct Changes {
    /// A node appeared or changed in a way a decision reads.
    pub nodes: bool,
    /// A placed pod went away (deleted, finished, moved): resources and ports are free.
    pub freed: bool,
    /// A pod was placed or relabelled: affinity and spread may now be satisfiable.
    pub placed: bool,
    /// Namespace labels changed: namespaceSelector terms may select differently.
    pub namespaces: bool,
}

impl Changes {
    /// Requeue the waiting pods these changes may help.
    pub fn apply(&mut self, queue: &mut Queue, now: Instant) {
        if self.nodes || self.freed {
            queue.cluster_changed(now, |_| true);
        } else if self.placed || self.namespaces {
            queue.cluster_changed(now, PodInfo::depends_on_other_pods);
        }
        *self = Changes::default();
    }
}

/// The scheduler's view of the cluster and what waits for it.
pub struct View {
    pub cache: Cache,
    pub queue: Queue,
    pub changes: Changes,
    pub scheduler_name: String,
}

impl View {
    /// Whether a pod without a node is ours to place.
    fn ours(&self, pod: &PodInfo) -> bool {
        (pod.scheduler_name.is_empty() || pod.scheduler_name == self.scheduler_name)
            && !pod.deleting
            && !pod.terminal
    }

    pub fn apply(&mut self, update: Update, now: Instant) {
        match update {
            Update::Pod(pod) => self.pod(pod, now),
            Update::PodDeleted(uid) => {
                self.queue.remove(&uid);
                self.changes.freed |= self.cache.remove_pod(&uid).is_some();
            }
            Update::Node(spec) => self.changes.nodes |= self.cache.set_node(spec),
            Update::NodeDeleted(name) => self.cache.remove_node(&name),
            Update::Namespace(name, labels) => {
                self.changes.namespaces |= self.cache.set_namespace(&name, labels)
            }
            Update::NamespaceDeleted(name) => self.cache.remove_namespace(&name),
        }
    }

    fn pod(&mut self, pod: Arc<PodInfo>, now: Instant) {
        if pod.node_name.is_empty() {
            if self.ours(&pod) {
                self.queue.upsert(pod, now);
            } else {
                self.queue.remove(&pod.uid);
            }
            return;
        }
        self.queue.remove(&pod.uid);
        self.place(pod);
    }

    /// Count a pod the API shows bound (confirming our assumption when it is ours).
    fn place(&mut self, pod: Arc<PodInfo>) {
        if pod.terminal {
            self.changes.freed |= self.cache.remove_pod(&pod.uid).is_some();
            return;
        }
        match self.cache.placed(&pod.uid) {
            Some(p) if p.node == pod.node_name => {
                self.changes.placed |= p.pod.spec.labels != pod.spec.labels;
            }
            Some(_) => {
                self.changes.freed = true;
                self.changes.placed = true;
            }
            None => self.changes.placed = true,
        }
        let node = pod.node_name.clone();
        self.cache.add_pod(pod, &node, false);
    }

    /// Start over from a full listing. Binds still in flight keep their assumptions, and
    /// their pods stay out of the queue, so a relist cannot bind a pod twice.
    pub fn reset(&mut self, listing: Vec<Update>, in_flight: &[(Arc<PodInfo>, String)], now: Instant) {
        self.cache = Cache::default();
        let mut listed_pending = HashSet::new();
        for update in listing {
            if let Update::Pod(pod) = &update
                && pod.node_name.is_empty()
            {
                listed_pending.insert(pod.uid.clone());
            }
            self.apply(update, now);
        }
        for (pod, node) in in_flight {
            if self.cache.placed(&pod.uid).is_none() {
                self.cache.add_pod(pod.clone(), node, true);
            }
        }
        let in_flight: HashSet<&str> = in_flight.iter().map(|(p, _)| p.uid.as_str()).collect();
        self.queue.retain(|uid| listed_pending.contains(uid) || in_flight.contains(uid));
        self.changes = Changes { nodes: true, ..Changes::default() };
    }
}

//! DaemonSet: one pod per eligible Node, pinned there through required node affinity on
//! `metadata.name` (binding is the scheduler's), with RollingUpdate (maxUnavailable, and
//! maxSurge) or OnDelete updates and ControllerRevision history.
//!
//! Layout: this file holds the caches and event routing; `sync.rs` one DaemonSet's sync
//! (history, pods per node, status); `manage.rs` creating and deleting pods; `update.rs` the rolling update; `nodes.rs` node eligibility.

mod manage;
mod nodes;
mod sync;
mod update;

use crate::cache::{Change, Key, Objects, controller_uid, key_of};
use crate::clock::Clock;
use crate::context::Ctx;
use crate::queue::WorkQueue;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use wasmkube_api::{ResourceDef, meta, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::controllers::Reconciler;
use wasmkube_apiserver::service::AnyEvent;

pub struct DaemonSetController {
    ctx: Ctx,
    def: &'static ResourceDef,
    pods_def: &'static ResourceDef,
    sets: Objects,
    pods: Objects,
    nodes: Objects,
    revisions: Objects,
    queue: WorkQueue,
    /// Failed daemon pods per (DaemonSet uid, node): how often, and the last deletion, so a
    /// pod the node keeps rejecting is not recreated in a hot loop.
    failures: HashMap<(String, String), (u32, DateTime<Utc>)>,
}

impl DaemonSetController {
    pub fn new(api: Api, clock: Arc<dyn Clock>) -> Self {
        DaemonSetController {
            ctx: Ctx::new(api, "daemonset-controller", clock),
            def: registry::by_storage("apps/daemonsets").expect("daemonsets are served"),
            pods_def: registry::by_storage("pods").expect("pods are served"),
            sets: Objects::default(),
            pods: Objects::default(),
            nodes: Objects::default(),
            revisions: Objects::default(),
            queue: WorkQueue::default(),
            failures: HashMap::new(),
        }
    }

    fn note(&mut self, storage: &str, obj: &Arc<Value>, deleted: bool) {
        match storage {
            "apps/daemonsets" if self.sets.observe(obj, deleted).is_some() => self.queue.add(key_of(obj)),
            "pods" => {
                if let Some(change) = self.pods.observe(obj, deleted) {
                    self.owners_changed(&change);
                }
            }
            "apps/controllerrevisions" => {
                if let Some(change) = self.revisions.observe(obj, deleted) {
                    self.owners_changed(&change);
                }
            }
            "nodes" => {
                if let Some(change) = self.nodes.observe(obj, deleted)
                    && placement_changed(&change)
                {
                    let all: Vec<Key> = self.sets.keys();
                    all.into_iter().for_each(|k| self.queue.add(k));
                }
            }
            _ => {}
        }
    }

    fn owners_changed(&mut self, change: &Change) {
        for obj in [&change.old, &change.new].into_iter().flatten() {
            match controller_uid(obj) {
                Some(uid) => {
                    if let Some(ds) = self.sets.by_uid(uid) {
                        self.queue.add(key_of(ds));
                    }
                }
                None => {
                    let keys: Vec<Key> = self
                        .sets
                        .in_namespace(meta::namespace(obj))
                        .filter(|ds| sync::selector(ds).is_some_and(|s| s.matches_object(obj)))
                        .map(|ds| key_of(ds))
                        .collect();
                    keys.into_iter().for_each(|k| self.queue.add(k));
                }
            }
        }
    }
}

/// Only labels, taints and the other spec fields decide where daemon pods go; heartbeats
/// (status) do not.
fn placement_changed(change: &Change) -> bool {
    let view = |n: &Option<Arc<Value>>| {
        n.as_ref().map(|n| (n.pointer("/metadata/labels").cloned(), n.get("spec").cloned()))
    };
    change.old.is_none() || change.new.is_none() || view(&change.old) != view(&change.new)
}

impl Reconciler for DaemonSetController {
    fn reset(&mut self, objects: Vec<(&'static ResourceDef, Arc<Value>)>) {
        for c in [&mut self.sets, &mut self.pods, &mut self.nodes, &mut self.revisions] {
            c.clear();
        }
        self.queue.clear();
        for (def, obj) in &objects {
            self.note(def.storage, obj, false);
        }
    }

    fn observe(&mut self, ev: &AnyEvent) {
        self.note(ev.def.storage, &ev.object, ev.deleted);
    }

    async fn reconcile(&mut self, _api: &Api) -> bool {
        crate::queue::drain(self).await
    }
}

impl crate::queue::QueueSync for DaemonSetController {
    fn queue(&mut self) -> &mut crate::queue::WorkQueue {
        &mut self.queue
    }

    fn context(&self) -> &crate::context::Ctx {
        &self.ctx
    }

    fn sync(
        &mut self,
        key: &crate::cache::Key,
    ) -> impl Future<Output = Result<(), wasmkube_api::ApiError>> + Send {
        Self::sync(self, key)
    }
}

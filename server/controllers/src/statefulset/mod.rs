//! StatefulSet: pods with stable names `<set>-<ordinal>`, created in order (each Running and
//! Ready before the next) or in parallel, removed in reverse; a PersistentVolumeClaim per pod
//! and claim template, kept when pods go (per `persistentVolumeClaimRetentionPolicy`); rolling
//! updates from the highest ordinal down to the partition, or OnDelete.
//!
//! Layout: this file holds the caches and event routing; `sync.rs` one set's sync;
//! `status.rs` its status; `identity.rs` pod names, labels and volumes.

mod identity;
mod status;
mod sync;

use crate::cache::{Change, Key, Objects, controller_uid, key_of};
use crate::clock::Clock;
use crate::context::Ctx;
use crate::queue::WorkQueue;
use serde_json::Value;
use std::sync::Arc;
use wasmkube_api::{ResourceDef, meta, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::controllers::Reconciler;
use wasmkube_apiserver::service::AnyEvent;

pub struct StatefulSetController {
    ctx: Ctx,
    def: &'static ResourceDef,
    pods_def: &'static ResourceDef,
    claims_def: &'static ResourceDef,
    sets: Objects,
    pods: Objects,
    revisions: Objects,
    claims: Objects,
    queue: WorkQueue,
}

impl StatefulSetController {
    pub fn new(api: Api, clock: Arc<dyn Clock>) -> Self {
        StatefulSetController {
            ctx: Ctx::new(api, "statefulset-controller", clock),
            def: registry::by_storage("apps/statefulsets").expect("statefulsets are served"),
            pods_def: registry::by_storage("pods").expect("pods are served"),
            claims_def: registry::by_storage("persistentvolumeclaims").expect("claims are served"),
            sets: Objects::default(),
            pods: Objects::default(),
            revisions: Objects::default(),
            claims: Objects::default(),
            queue: WorkQueue::default(),
        }
    }

    fn note(&mut self, storage: &str, obj: &Arc<Value>, deleted: bool) {
        match storage {
            "apps/statefulsets" if self.sets.observe(obj, deleted).is_some() => self.queue.add(key_of(obj)),
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
            "persistentvolumeclaims" => drop(self.claims.observe(obj, deleted)),
            _ => {}
        }
    }

    fn owners_changed(&mut self, change: &Change) {
        for obj in [&change.old, &change.new].into_iter().flatten() {
            match controller_uid(obj) {
                Some(uid) => {
                    if let Some(set) = self.sets.by_uid(uid) {
                        self.queue.add(key_of(set));
                    }
                }
                None => {
                    let keys: Vec<Key> = self
                        .sets
                        .in_namespace(meta::namespace(obj))
                        .filter(|s| identity::ordinal(s, obj).is_some())
                        .map(|s| key_of(s))
                        .collect();
                    keys.into_iter().for_each(|k| self.queue.add(k));
                }
            }
        }
    }
}

impl Reconciler for StatefulSetController {
    fn reset(&mut self, objects: Vec<(&'static ResourceDef, Arc<Value>)>) {
        for c in [&mut self.sets, &mut self.pods, &mut self.revisions, &mut self.claims] {
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

impl crate::queue::QueueSync for StatefulSetController {
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

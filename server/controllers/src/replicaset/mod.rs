//! ReplicaSet and ReplicationController (one implementation): keep `spec.replicas` active pods
//! from the template, adopting matching orphans and releasing pods that stopped matching.
//!
//! Layout: this file holds the cache and the sync of one object; `manage.rs` creates and
//! deletes pods; `status.rs` computes the status.

mod manage;
mod status;

use crate::cache::{Change, Key, Objects, controller_uid, key_of};
use crate::claim;
use crate::clock::Clock;
use crate::context::Ctx;
use crate::pods::{is_active, next_available};
use crate::queue::WorkQueue;
use serde_json::{Value, json};
use std::sync::Arc;
use wasmkube_api::selector::LabelSelector;
use wasmkube_api::{ApiError, ResourceDef, meta, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::controllers::Reconciler;
use wasmkube_apiserver::service::AnyEvent;

/// Which of the two kinds an instance manages; they differ only in names and selector shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    ReplicaSet,
    ReplicationController,
}

impl Flavor {
    fn storage(self) -> &'static str {
        match self {
            Flavor::ReplicaSet => "apps/replicasets",
            Flavor::ReplicationController => "replicationcontrollers",
        }
    }

    /// Upstream's component names, used as field manager and event source.
    pub fn component(self) -> &'static str {
        match self {
            Flavor::ReplicaSet => "replicaset-controller",
            Flavor::ReplicationController => "replication-controller",
        }
    }

    /// The selector; `None` when it is missing or invalid (such an object selects nothing).
    fn selector(self, set: &Value) -> Option<LabelSelector> {
        let sel = set.pointer("/spec/selector")?;
        let sel = match self {
            Flavor::ReplicaSet => sel.clone(),
            Flavor::ReplicationController => json!({"matchLabels": sel}),
        };
        LabelSelector::from_json(&sel).ok().filter(|s| !s.is_empty())
    }
}

pub struct ReplicaSetController {
    ctx: Ctx,
    flavor: Flavor,
    def: &'static ResourceDef,
    pods_def: &'static ResourceDef,
    sets: Objects,
    pods: Objects,
    queue: WorkQueue,
}

impl ReplicaSetController {
    pub fn new(api: Api, flavor: Flavor, clock: Arc<dyn Clock>) -> Self {
        ReplicaSetController {
            ctx: Ctx::new(api, flavor.component(), clock),
            flavor,
            def: registry::by_storage(flavor.storage()).expect("replica sets are served"),
            pods_def: registry::by_storage("pods").expect("pods are served"),
            sets: Objects::default(),
            pods: Objects::default(),
            queue: WorkQueue::default(),
        }
    }

    fn note(&mut self, storage: &str, obj: &Arc<Value>, deleted: bool) {
        if storage == self.flavor.storage() {
            if self.sets.observe(obj, deleted).is_some() {
                self.queue.add(key_of(obj));
            }
        } else if storage == "pods"
            && let Some(change) = self.pods.observe(obj, deleted)
        {
            self.pod_changed(&change);
        }
    }

    /// A pod changed: its owner (before and after) must look again; an orphan interests every
    /// set in its namespace that selects it.
    fn pod_changed(&mut self, change: &Change) {
        for pod in [&change.old, &change.new].into_iter().flatten() {
            match controller_uid(pod) {
                Some(uid) => {
                    if let Some(set) = self.sets.by_uid(uid) {
                        self.queue.add(key_of(set));
                    }
                }
                None => {
                    let keys: Vec<Key> = self
                        .sets
                        .in_namespace(meta::namespace(pod))
                        .filter(|s| self.flavor.selector(s).is_some_and(|sel| sel.matches_object(pod)))
                        .map(|s| key_of(s))
                        .collect();
                    for k in keys {
                        self.queue.add(k);
                    }
                }
            }
        }
    }

    #[tracing::instrument(skip(self), fields(controller = self.ctx.name))]
    async fn sync(&mut self, key: &Key) -> Result<(), ApiError> {
        let Some(set) = self.sets.get_key(key).cloned() else {
            return Ok(()); // deleted: the garbage collector removes its pods
        };
        let Some(selector) = self.flavor.selector(&set) else {
            return Ok(());
        };
        let claims = claim::plan(&self.pods, &set, &selector, is_active);
        let owned = if claims.is_settled() {
            claims.owned
        } else {
            let (owned, written) = claims.execute(&self.ctx.client, self.pods_def, self.def, &set).await?;
            for pod in written {
                self.pods.wrote(pod);
            }
            owned
        };
        let active: Vec<Arc<Value>> = owned.into_iter().filter(|p| is_active(p)).collect();
        let failure = if meta::is_deleting(&set) { None } else { self.manage(&set, &active).await.err() };
        // Our own creations and deletions are already in the cache.
        let uid = meta::uid(&set).to_string();
        let active: Vec<Arc<Value>> = self
            .pods
            .owned_by(&uid)
            .filter(|p| is_active(p) && selector.matches_object(p))
            .cloned()
            .collect();
        let now = self.ctx.now();
        let status = status::calculate(&set, &active, failure.as_ref(), &self.ctx.now_str(), now);
        if set.get("status") != Some(&status) {
            let written = self.ctx.client.put_status(self.def, &set, status).await?;
            self.sets.wrote(written);
        }
        let min_ready = set.pointer("/spec/minReadySeconds").and_then(Value::as_i64).unwrap_or(0);
        if let Some(at) = next_available(active.iter().map(|p| &**p), min_ready, now) {
            self.queue.add_at(key.clone(), at);
        }
        failure.map_or(Ok(()), Err)
    }
}

impl Reconciler for ReplicaSetController {
    fn reset(&mut self, objects: Vec<(&'static ResourceDef, Arc<Value>)>) {
        self.sets.clear();
        self.pods.clear();
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

impl crate::queue::QueueSync for ReplicaSetController {
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

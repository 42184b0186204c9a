//! Deployment: rolls a pod template out through ReplicaSets named `<deployment>-<hash>`, with
//! the RollingUpdate (maxSurge/maxUnavailable) or Recreate strategy, revision history that
//! `kubectl rollout history|undo` reads, pause/resume, proportional scaling mid-rollout, and the
//! Progressing/Available conditions `kubectl rollout status` waits on.
//!
//! Layout: this file holds the caches and the dispatch of one sync (upstream `syncDeployment`);
//! `sets.rs` finds, creates, scales and cleans up ReplicaSets; `rollout.rs` holds the
//! strategies and proportional scaling; `annotations.rs` what sets are annotated with; `status.rs` the status and conditions; `util.rs` the
//! arithmetic.

mod annotations;
mod rollout;
mod sets;
mod status;
pub(crate) mod util;

use crate::cache::{Change, Key, Objects, controller_uid, key_of};
use crate::claim;
use crate::clock::Clock;
use crate::context::Ctx;
use crate::pods::is_terminal;
use crate::queue::WorkQueue;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use wasmkube_api::selector::LabelSelector;
use wasmkube_api::{ApiError, ResourceDef, meta, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::controllers::Reconciler;
use wasmkube_apiserver::service::AnyEvent;

pub struct DeploymentController {
    ctx: Ctx,
    def: &'static ResourceDef,
    rs_def: &'static ResourceDef,
    deployments: Objects,
    sets: Objects,
    /// Pods not yet finished, by uid -> owning ReplicaSet uid (Recreate waits for old ones).
    running_pods: HashMap<String, String>,
    queue: WorkQueue,
}

impl DeploymentController {
    pub fn new(api: Api, clock: Arc<dyn Clock>) -> Self {
        DeploymentController {
            ctx: Ctx::new(api, "deployment-controller", clock),
            def: registry::by_storage("apps/deployments").expect("deployments are served"),
            rs_def: registry::by_storage("apps/replicasets").expect("replicasets are served"),
            deployments: Objects::default(),
            sets: Objects::default(),
            running_pods: HashMap::new(),
            queue: WorkQueue::default(),
        }
    }

    fn note(&mut self, storage: &str, obj: &Arc<Value>, deleted: bool) {
        match storage {
            "apps/deployments" if self.deployments.observe(obj, deleted).is_some() => {
                self.queue.add(key_of(obj));
            }
            "apps/replicasets" => {
                if let Some(change) = self.sets.observe(obj, deleted) {
                    self.set_changed(&change);
                }
            }
            "pods" => self.pod_changed(obj, deleted),
            _ => {}
        }
    }

    fn set_changed(&mut self, change: &Change) {
        for rs in [&change.old, &change.new].into_iter().flatten() {
            match controller_uid(rs) {
                Some(uid) => {
                    if let Some(d) = self.deployments.by_uid(uid) {
                        self.queue.add(key_of(d));
                    }
                }
                None => {
                    let keys: Vec<Key> = self
                        .deployments
                        .in_namespace(meta::namespace(rs))
                        .filter(|d| selector(d).is_some_and(|s| s.matches_object(rs)))
                        .map(|d| key_of(d))
                        .collect();
                    keys.into_iter().for_each(|k| self.queue.add(k));
                }
            }
        }
    }

    /// Only Recreate cares about pods: it waits until no old pod runs.
    fn pod_changed(&mut self, pod: &Value, deleted: bool) {
        let uid = meta::uid(pod).to_string();
        let owner = controller_uid(pod).map(str::to_string);
        let was = if deleted || is_terminal(pod) || owner.is_none() {
            self.running_pods.remove(&uid)
        } else {
            self.running_pods.insert(uid, owner.clone().unwrap_or_default())
        };
        let stopped = was.is_some() && (deleted || is_terminal(pod));
        if let Some(d) = owner
            .filter(|_| stopped)
            .and_then(|rs| self.sets.by_uid(&rs))
            .and_then(|rs| controller_uid(rs))
            .and_then(|d| self.deployments.by_uid(d))
            .filter(|d| !util::is_rolling(d))
        {
            self.queue.add(key_of(d));
        }
    }

    /// Whether any pod of these (old) ReplicaSets has not finished.
    fn pods_running(&self, sets: &[Value]) -> bool {
        let uids: Vec<&str> = sets.iter().map(meta::uid).collect();
        self.running_pods.values().any(|owner| uids.contains(&owner.as_str()))
    }

    #[tracing::instrument(skip(self), fields(controller = self.ctx.name))]
    async fn sync(&mut self, key: &Key) -> Result<(), ApiError> {
        let Some(d) = self.deployments.get_key(key).map(|d| (**d).clone()) else {
            return Ok(());
        };
        let Some(sel) = selector(&d) else {
            self.ctx.warning(
                &d,
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            );
            return Ok(());
        };
        let sets = self.claim_sets(&d, &sel).await?;
        if meta::is_deleting(&d) {
            return self.sync_status_only(d, &sets).await;
        }
        let mut d = self.check_paused_conditions(d).await?;
        let paused = d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
        if paused || self.is_scaling_event(&mut d, &sets).await? {
            return self.sync_scale(d, &sets).await;
        }
        if util::is_rolling(&d) {
            self.rollout_rolling(d, &sets).await
        } else {
            self.rollout_recreate(d, &sets).await
        }
    }

    /// The ReplicaSets this Deployment owns (after adopting and releasing), oldest first.
    async fn claim_sets(&mut self, d: &Value, sel: &LabelSelector) -> Result<Vec<Value>, ApiError> {
        let claims = claim::plan(&self.sets, d, sel, |_| true);
        let owned = if claims.is_settled() {
            claims.owned
        } else {
            let (owned, written) = claims.execute(&self.ctx.client, self.rs_def, self.def, d).await?;
            written.into_iter().for_each(|rs| drop(self.sets.wrote(rs)));
            owned
        };
        let mut sets: Vec<Value> = owned.iter().map(|rs| (**rs).clone()).collect();
        sets.sort_by(util::by_creation);
        Ok(sets)
    }
}

pub(crate) fn selector(d: &Value) -> Option<LabelSelector> {
    LabelSelector::from_json(d.pointer("/spec/selector")?).ok().filter(|s| !s.is_empty())
}

impl Reconciler for DeploymentController {
    fn reset(&mut self, objects: Vec<(&'static ResourceDef, Arc<Value>)>) {
        self.deployments.clear();
        self.sets.clear();
        self.running_pods.clear();
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

impl crate::queue::QueueSync for DeploymentController {
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

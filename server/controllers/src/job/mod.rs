//! Job: runs pods from the template until `completions` succeed (or, without completions, one
//! succeeds), within `parallelism`, failing on `backoffLimit`, `activeDeadlineSeconds` or a
//! `podFailurePolicy` FailJob rule; Indexed completion mode; `suspend`; and
//! `ttlSecondsAfterFinished` (upstream's TTL-after-finished controller).
//!
//! Pods carry the `batch.kubernetes.io/job-tracking` finalizer until they are counted, as
//! upstream: a terminated pod is first recorded in `status.uncountedTerminatedPods`, then loses
//! its finalizer, then moves into `succeeded`/`failed`, so no count is lost or doubled across
//! restarts or deletions.
//!
//! Layout: this file holds the caches, stray finalizers and TTL; `sync.rs` the sync of one Job
//! and its status; `manage.rs` creating and deleting pods; `policy.rs` failure judgement and
//! back-off; `indexes.rs` Indexed jobs.

mod indexes;
mod manage;
mod policy;
mod sync;
mod tracking;

use crate::cache::{Key, Objects, controller_uid, key_of};
use crate::client::{Removal, find_condition};
use crate::clock::{Clock, parse_time};
use crate::context::Ctx;
use crate::queue::{WorkQueue, log_failure};
use chrono::Duration;
use policy::{Backoff, TRACKING_FINALIZER, has_tracking_finalizer};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use wasmkube_api::{ApiError, ResourceDef, meta, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::controllers::Reconciler;
use wasmkube_apiserver::service::{AnyEvent, PatchType};

/// Upstream's pod failure back-off: 10 s doubling to 6 minutes.
const BACKOFF_BASE: i64 = 10;
const BACKOFF_CAP: i64 = 360;

pub struct JobController {
    ctx: Ctx,
    def: &'static ResourceDef,
    pods_def: &'static ResourceDef,
    jobs: Objects,
    pods: Objects,
    queue: WorkQueue,
    /// Failures since the last success, by Job uid (in memory, as upstream).
    backoff: HashMap<String, Backoff>,
    /// Pods whose tracking finalizer no Job will remove (their Job is gone or released them).
    strays: BTreeSet<Key>,
}

/// Whether a Job has its terminal condition (Complete or Failed, True).
pub(crate) fn finished_condition(job: &Value) -> Option<&Value> {
    let status = job.get("status")?;
    ["Complete", "Failed"]
        .iter()
        .filter_map(|k| find_condition(status, k))
        .find(|c| c.get("status").and_then(Value::as_str) == Some("True"))
}

impl JobController {
    pub fn new(api: Api, clock: Arc<dyn Clock>) -> Self {
        JobController {
            ctx: Ctx::new(api, "job-controller", clock),
            def: registry::by_storage("batch/jobs").expect("jobs are served"),
            pods_def: registry::by_storage("pods").expect("pods are served"),
            jobs: Objects::default(),
            pods: Objects::default(),
            queue: WorkQueue::default(),
            backoff: HashMap::new(),
            strays: BTreeSet::new(),
        }
    }

    fn note(&mut self, storage: &str, obj: &Arc<Value>, deleted: bool) {
        match storage {
            "batch/jobs" => {
                if self.jobs.observe(obj, deleted).is_none() {
                    return;
                }
                self.queue.add(key_of(obj));
                if deleted {
                    self.backoff.remove(meta::uid(obj));
                    let pods: Vec<Key> = self.pods.owned_by(meta::uid(obj)).map(|p| key_of(p)).collect();
                    self.strays.extend(pods);
                }
            }
            "pods" => {
                let Some(change) = self.pods.observe(obj, deleted) else { return };
                for pod in [&change.old, &change.new].into_iter().flatten() {
                    self.pod_changed(pod);
                }
            }
            _ => {}
        }
    }

    fn pod_changed(&mut self, pod: &Value) {
        match controller_uid(pod).and_then(|uid| self.jobs.by_uid(uid)) {
            Some(job) => self.queue.add(key_of(job)),
            None if has_tracking_finalizer(pod) => {
                self.strays.insert(key_of(pod));
            }
            None if controller_uid(pod).is_none() => {
                let keys: Vec<Key> = self
                    .jobs
                    .in_namespace(meta::namespace(pod))
                    .filter(|j| sync::selector(j).is_some_and(|s| s.matches_object(pod)))
                    .map(|j| key_of(j))
                    .collect();
                keys.into_iter().for_each(|k| self.queue.add(k));
            }
            None => {}
        }
    }

    /// Remove our finalizer from a pod (the pod may then vanish).
    async fn release_finalizer(&mut self, pod: &Value) -> Result<(), ApiError> {
        let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER]}});
        match self.ctx.client.patch(self.pods_def, pod, PatchType::Strategic, &patch).await {
            // The update that drops the last finalizer of a deleted pod with no grace left deletes it.
            Ok(p)
                if meta::is_deleting(&p)
                    && meta::finalizers(&p).is_empty()
                    && p.pointer("/metadata/deletionGracePeriodSeconds")
                        .and_then(Value::as_i64)
                        .unwrap_or(0)
                        == 0 =>
            {
                drop(self.pods.removed(&p));
            }
            Ok(p) => drop(self.pods.wrote(p)),
            Err(e) if e.code == 404 => drop(self.pods.removed(pod)),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Finalizers of pods no Job tracks any more.
    async fn release_strays(&mut self) -> bool {
        let mut retry = false;
        for key in std::mem::take(&mut self.strays) {
            let Some(pod) = self.pods.get_key(&key).cloned() else { continue };
            let tracked = controller_uid(&pod).is_some_and(|uid| self.jobs.by_uid(uid).is_some());
            if tracked || !has_tracking_finalizer(&pod) {
                continue;
            }
            if let Err(e) = self.release_finalizer(&pod).await {
                log_failure(self.ctx.name, &key, &e);
                self.strays.insert(key);
                retry = true;
            }
        }
        retry
    }

    /// A finished Job: no pod keeps our finalizer, and `ttlSecondsAfterFinished` deletes it.
    async fn finished(&mut self, job: &Value) -> Result<(), ApiError> {
        let pods: Vec<Value> = self
            .pods
            .owned_by(meta::uid(job))
            .filter(|p| has_tracking_finalizer(p))
            .map(|p| (**p).clone())
            .collect();
        for pod in pods {
            self.release_finalizer(&pod).await?;
        }
        let Some(ttl) = job.pointer("/spec/ttlSecondsAfterFinished").and_then(Value::as_i64) else {
            return Ok(());
        };
        let since = finished_condition(job)
            .and_then(|c| c.get("lastTransitionTime")?.as_str())
            .and_then(parse_time)
            .unwrap_or_else(|| self.ctx.now());
        let expire = since + Duration::seconds(ttl);
        if self.ctx.now() < expire {
            self.queue.add_at(key_of(job), expire);
            return Ok(());
        }
        tracing::info!(
            namespace = meta::namespace(job),
            job = meta::name(job),
            "deleting finished job after its TTL"
        );
        match self.ctx.client.delete(self.def, job, Some("Background")).await? {
            Removal::Gone(o) => drop(self.jobs.removed(o.as_ref().unwrap_or(job))),
            Removal::Pending(o) => drop(self.jobs.wrote(o)),
        }
        Ok(())
    }
}

impl Reconciler for JobController {
    fn reset(&mut self, objects: Vec<(&'static ResourceDef, Arc<Value>)>) {
        self.jobs.clear();
        self.pods.clear();
        self.queue.clear();
        self.strays.clear();
        for (def, obj) in &objects {
            self.note(def.storage, obj, false);
        }
    }

    fn observe(&mut self, ev: &AnyEvent) {
        self.note(ev.def.storage, &ev.object, ev.deleted);
    }

    async fn reconcile(&mut self, _api: &Api) -> bool {
        let strays_failed = self.release_strays().await;
        let more = crate::queue::drain(self).await;
        strays_failed || more || !self.strays.is_empty()
    }
}

pub(crate) fn backoff_durations() -> (Duration, Duration) {
    (Duration::seconds(BACKOFF_BASE), Duration::seconds(BACKOFF_CAP))
}

impl crate::queue::QueueSync for JobController {
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

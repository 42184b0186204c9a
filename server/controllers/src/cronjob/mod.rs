//! CronJob: creates a Job from the template at each scheduled time (standard cron syntax in
//! `timeZone`), honouring concurrencyPolicy, suspend, startingDeadlineSeconds and the history
//! limits, and tracks its Jobs in `status.active`, `lastScheduleTime`, `lastSuccessfulTime`.
//!
//! Layout: this file holds the caches; `sync.rs` one CronJob's sync; `times.rs` when it is
//! due; `schedule.rs` cron parsing; `zone.rs` time zones.

mod schedule;
mod sync;
mod times;
mod zone;

use crate::cache::{Key, Objects, controller_uid, key_of};
use crate::clock::Clock;
use crate::context::Ctx;
use crate::queue::WorkQueue;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use wasmkube_api::{ResourceDef, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::controllers::Reconciler;
use wasmkube_apiserver::service::AnyEvent;

pub struct CronJobController {
    ctx: Ctx,
    def: &'static ResourceDef,
    jobs_def: &'static ResourceDef,
    cronjobs: Objects,
    jobs: Objects,
    queue: WorkQueue,
    /// Parsed time zones by name (the zoneinfo files are read once).
    zones: HashMap<String, Result<Arc<zone::Zone>, String>>,
}

impl CronJobController {
    pub fn new(api: Api, clock: Arc<dyn Clock>) -> Self {
        CronJobController {
            ctx: Ctx::new(api, "cronjob-controller", clock),
            def: registry::by_storage("batch/cronjobs").expect("cronjobs are served"),
            jobs_def: registry::by_storage("batch/jobs").expect("jobs are served"),
            cronjobs: Objects::default(),
            jobs: Objects::default(),
            queue: WorkQueue::default(),
            zones: HashMap::new(),
        }
    }

    fn note(&mut self, storage: &str, obj: &Arc<Value>, deleted: bool) {
        match storage {
            "batch/cronjobs" if self.cronjobs.observe(obj, deleted).is_some() => self.queue.add(key_of(obj)),
            "batch/jobs" => {
                let Some(change) = self.jobs.observe(obj, deleted) else { return };
                let owners: Vec<Key> = [&change.old, &change.new]
                    .into_iter()
                    .flatten()
                    .filter_map(|j| controller_uid(j))
                    .filter_map(|uid| self.cronjobs.by_uid(uid))
                    .map(|cj| key_of(cj))
                    .collect();
                owners.into_iter().for_each(|k| self.queue.add(k));
            }
            _ => {}
        }
    }
}

impl Reconciler for CronJobController {
    fn reset(&mut self, objects: Vec<(&'static ResourceDef, Arc<Value>)>) {
        self.cronjobs.clear();
        self.jobs.clear();
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

impl crate::queue::QueueSync for CronJobController {
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

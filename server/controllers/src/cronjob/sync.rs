//! One CronJob's sync (upstream `syncCronJob` and `cleanupFinishedJobs`).

use super::CronJobController;
use super::schedule::parse;
use super::times::{Missed, job_name, most_recent, next_wake};
use super::zone::Zone;
use crate::cache::{Key, controller_uid, key_of};
use crate::client::Removal;
use crate::clock::{format_time, time_at};
use crate::job::finished_condition;
use crate::pods::controller_reference;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::Arc;
use wasmkube_api::{ApiError, meta};

const SCHEDULED_AT: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

fn job_ref(job: &Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "namespace": meta::namespace(job), "name": meta::name(job),
           "uid": meta::uid(job), "resourceVersion": job.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null)})
}

fn finished_as(job: &Value) -> Option<&str> {
    finished_condition(job)?.get("type")?.as_str()
}

impl CronJobController {
    fn zone(&mut self, name: &str) -> Result<Arc<Zone>, String> {
        self.zones.entry(name.to_string()).or_insert_with(|| Zone::load(name).map(Arc::new)).clone()
    }

    #[tracing::instrument(skip(self), fields(controller = self.ctx.name))]
    pub(super) async fn sync(&mut self, key: &Key) -> Result<(), ApiError> {
        let Some(cj) = self.cronjobs.get_key(key).map(|c| (**c).clone()) else { return Ok(()) };
        let mut status = cj.get("status").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
        let jobs: Vec<Value> = self.jobs.owned_by(meta::uid(&cj)).map(|j| (**j).clone()).collect();
        self.track_jobs(&cj, &jobs, &mut status);
        let outcome = self.start_due_job(&cj, &mut status).await;
        if cj.get("status") != Some(&status) {
            let written = self.ctx.client.put_status(self.def, &cj, status).await?;
            self.cronjobs.wrote(written);
        }
        outcome?;
        self.clean_up_finished(&cj).await
    }

    /// Active jobs that finished or vanished leave `status.active`; successes move
    /// `lastSuccessfulTime`.
    fn track_jobs(&self, cj: &Value, jobs: &[Value], status: &mut Value) {
        let mut active: Vec<Value> =
            status.get("active").and_then(Value::as_array).cloned().unwrap_or_default();
        let is_active = |active: &[Value], uid: &str| active.iter().any(|r| r["uid"] == uid);
        for job in jobs {
            let uid = meta::uid(job);
            match (is_active(&active, uid), finished_as(job)) {
                (false, None) => {
                    let msg = format!(
                        "Saw a job that the controller did not create or forgot: {}",
                        meta::name(job)
                    );
                    self.ctx.warning(cj, "UnexpectedJob", msg);
                }
                (true, Some(kind)) => {
                    active.retain(|r| r["uid"] != uid);
                    let msg = format!("Saw completed job: {}, condition: {kind}", meta::name(job));
                    self.ctx.normal(cj, "SawCompletedJob", msg);
                }
                _ => {}
            }
            if finished_as(job) == Some("Complete")
                && let Some(done) = time_at(job, "/status/completionTime")
                && time_at(status, "/lastSuccessfulTime").is_none_or(|last| done > last)
            {
                status["lastSuccessfulTime"] = json!(format_time(done));
            }
        }
        active.retain(|r| {
            let present = jobs.iter().any(|j| r["uid"] == meta::uid(j));
            if !present {
                let name = r["name"].as_str().unwrap_or("");
                self.ctx.normal(cj, "MissingJob", format!("Active job went missing: {name}"));
            }
            present
        });
        if active.is_empty() {
            status.as_object_mut().map(|m| m.remove("active"));
        } else {
            status["active"] = json!(active);
        }
    }

    /// Start the Job for the most recent unmet schedule time, if policy allows, and ask to be
    /// woken for the next one.
    async fn start_due_job(&mut self, cj: &Value, status: &mut Value) -> Result<(), ApiError> {
        let spec = cj.get("spec").cloned().unwrap_or(Value::Null);
        if meta::is_deleting(cj) {
            return Ok(());
        }
        let tz = spec.get("timeZone").and_then(Value::as_str).unwrap_or("");
        let zone = match self.zone(tz) {
            Ok(z) => z,
            Err(e) => {
                self.ctx.warning(cj, "UnknownTimeZone", format!("invalid timeZone: {tz:?}: {e}"));
                return Ok(());
            }
        };
        if spec.get("suspend").and_then(Value::as_bool) == Some(true) {
            return Ok(());
        }
        let text = spec.get("schedule").and_then(Value::as_str).unwrap_or("");
        let sched = match parse(text) {
            Ok(s) => s,
            Err(e) => {
                self.ctx.warning(cj, "UnparseableSchedule", format!("unparseable schedule: {text:?} : {e}"));
                return Ok(());
            }
        };
        let now = self.ctx.now();
        let earliest =
            time_at(status, "/lastScheduleTime").or_else(|| crate::pods::created(cj)).unwrap_or(now);
        let deadline = spec.get("startingDeadlineSeconds").and_then(Value::as_i64);
        if let Some(wake) = next_wake(&sched, &zone, earliest, now) {
            self.queue.add_at(key_of(cj), wake);
        }
        let due = match most_recent(&sched, &zone, earliest, now, deadline) {
            Ok(due) => due,
            Err(e) => {
                self.ctx.warning(cj, "InvalidSchedule", format!("invalid schedule: {text} : {e}"));
                return Ok(());
            }
        };
        if due.missed == Missed::Many {
            let msg = "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew";
            self.ctx.warning(cj, "TooManyMissedTimes", msg);
        }
        let Some(scheduled) = due.recent else { return Ok(()) };
        self.start(cj, status, &zone, scheduled).await
    }

    async fn start(
        &mut self,
        cj: &Value,
        status: &mut Value,
        zone: &Zone,
        scheduled: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let name = job_name(meta::name(cj), scheduled);
        let active: Vec<Value> = status.get("active").and_then(Value::as_array).cloned().unwrap_or_default();
        if active.iter().any(|r| r["name"] == name.as_str())
            || time_at(status, "/lastScheduleTime") == Some(scheduled)
        {
            return Ok(());
        }
        match cj.pointer("/spec/concurrencyPolicy").and_then(Value::as_str) {
            Some("Forbid") if !active.is_empty() => {
                let msg =
                    "Not starting job because prior execution is running and concurrency policy is Forbid";
                self.ctx.normal(cj, "JobAlreadyActive", msg);
                return Ok(());
            }
            Some("Replace") => {
                for r in &active {
                    if let Some(job) = self
                        .jobs
                        .get_key(&(meta::namespace(cj).to_string(), r["name"].as_str().unwrap_or("").into()))
                        .map(|j| (**j).clone())
                    {
                        self.delete_job(cj, &job).await?;
                    }
                }
                status.as_object_mut().map(|m| m.remove("active"));
            }
            _ => {}
        }
        let template = cj.pointer("/spec/jobTemplate").cloned().unwrap_or_else(|| json!({}));
        let mut annotations = template
            .pointer("/metadata/annotations")
            .cloned()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        annotations[SCHEDULED_AT] = json!(zone.rfc3339(scheduled));
        let mut job = json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": meta::namespace(cj), "annotations": annotations,
                         "ownerReferences": [controller_reference(cj)]},
            "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
        });
        if let Some(labels) = template.pointer("/metadata/labels").filter(|l| l.is_object()) {
            job["metadata"]["labels"] = labels.clone();
        }
        let created = match self.ctx.client.create(self.jobs_def, meta::namespace(cj), job).await {
            Ok(j) => {
                self.ctx.normal(cj, "SuccessfulCreate", format!("Created job {name}"));
                j
            }
            Err(e) if e.reason == "AlreadyExists" => {
                let existing = self.ctx.client.api.get(self.jobs_def, meta::namespace(cj), &name).await?;
                if controller_uid(&existing) != Some(meta::uid(cj))
                    || active.iter().any(|r| r["uid"] == meta::uid(&existing))
                {
                    return Ok(());
                }
                existing
            }
            Err(e) => {
                self.ctx.warning(cj, "FailedCreate", format!("Error creating job: {}", e.message));
                return Err(e);
            }
        };
        self.jobs.wrote(created.clone());
        let mut list = status.get("active").and_then(Value::as_array).cloned().unwrap_or_default();
        list.push(job_ref(&created));
        status["active"] = json!(list);
        status["lastScheduleTime"] = json!(format_time(scheduled));
        Ok(())
    }

    async fn delete_job(&mut self, cj: &Value, job: &Value) -> Result<(), ApiError> {
        match self.ctx.client.delete(self.jobs_def, job, Some("Background")).await? {
            Removal::Gone(o) => drop(self.jobs.removed(o.as_ref().unwrap_or(job))),
            Removal::Pending(o) => drop(self.jobs.wrote(o)),
        }
        self.ctx.normal(cj, "SuccessfulDelete", format!("Deleted job {}", meta::name(job)));
        Ok(())
    }

    /// Keep only the newest `successfulJobsHistoryLimit` / `failedJobsHistoryLimit` finished jobs.
    async fn clean_up_finished(&mut self, cj: &Value) -> Result<(), ApiError> {
        for (kind, field) in
            [("Complete", "successfulJobsHistoryLimit"), ("Failed", "failedJobsHistoryLimit")]
        {
            let Some(limit) = cj.pointer(&format!("/spec/{field}")).and_then(Value::as_i64) else { continue };
            let mut finished: Vec<Value> = self
                .jobs
                .owned_by(meta::uid(cj))
                .filter(|j| finished_as(j) == Some(kind))
                .map(|j| (**j).clone())
                .collect();
            // Oldest start first; jobs that never started last (upstream `byJobStartTime`).
            finished.sort_by(|a, b| {
                let (sa, sb) = (time_at(a, "/status/startTime"), time_at(b, "/status/startTime"));
                match (sa, sb) {
                    (Some(x), Some(y)) if x != y => x.cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    _ => meta::name(a).cmp(meta::name(b)),
                }
            });
            let excess = finished.len().saturating_sub(limit.max(0) as usize);
            for job in finished.iter().take(excess) {
                self.delete_job(cj, job).await?;
            }
        }
        Ok(())
    }
}

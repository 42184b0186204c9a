//! One Job's sync (upstream `syncJob`): count finished pods, decide whether the Job failed or
//! succeeded, manage its pods, and record all of it in the status.

use super::indexes::{index_of, is_indexed, parse};
use super::policy::{
    Verdict, finished_at, has_tracking_finalizer, is_failed, judge, past_backoff_limit_on_failure,
};
use super::{JobController, finished_condition};
use crate::cache::controller_uid;
use crate::claim;
use crate::client::find_condition;
use crate::clock::time_at;
use crate::pods::{is_active, phase};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use wasmkube_api::selector::LabelSelector;
use wasmkube_api::{ApiError, meta};

pub(crate) fn selector(job: &Value) -> Option<LabelSelector> {
    LabelSelector::from_json(job.pointer("/spec/selector")?).ok().filter(|s| !s.is_empty())
}

pub(super) fn suspended(job: &Value) -> bool {
    job.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true)
}

pub(super) fn completions(job: &Value) -> Option<i64> {
    job.pointer("/spec/completions").and_then(Value::as_i64)
}

pub(super) fn status_int(job: &Value, key: &str) -> i64 {
    job.pointer(&format!("/status/{key}")).and_then(Value::as_i64).unwrap_or(0)
}

fn uid_set(job: &Value, which: &str) -> BTreeSet<String> {
    let list = job.pointer(&format!("/status/uncountedTerminatedPods/{which}")).and_then(Value::as_array);
    list.into_iter().flatten().filter_map(|u| u.as_str().map(String::from)).collect()
}

/// A Job condition (`newCondition`).
pub(super) fn job_condition(kind: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": kind, "status": "True", "lastProbeTime": now, "lastTransitionTime": now,
           "reason": reason, "message": message})
}

/// `ensureJobConditionStatus`: set in place if it differs; a False condition is not added.
pub(super) fn ensure_condition(
    job: &mut Value,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
) -> bool {
    let mut cond = job_condition(kind, reason, message, now);
    cond["status"] = json!(status);
    if let Some(list) = job.pointer_mut("/status/conditions").and_then(Value::as_array_mut) {
        if let Some(cur) = list.iter_mut().find(|c| c["type"] == kind) {
            if cur["status"] != status || cur["reason"] != reason || cur["message"] != message {
                *cur = cond;
                return true;
            }
            return false;
        }
        if status != "False" {
            list.push(cond);
            return true;
        }
        return false;
    }
    if status == "False" {
        return false;
    }
    job["status"]["conditions"] = json!([cond]);
    true
}

fn true_condition<'a>(job: &'a Value, kind: &str) -> Option<&'a Value> {
    find_condition(job.get("status")?, kind).filter(|c| c["status"] == "True")
}

/// What this sync counted so far, carried into status tracking.
pub(super) struct Tally {
    pub uncounted_succeeded: BTreeSet<String>,
    pub uncounted_failed: BTreeSet<String>,
    pub indexes: BTreeSet<i64>,
}

impl JobController {
    #[tracing::instrument(skip(self), fields(controller = self.ctx.name))]
    pub(super) async fn sync(&mut self, key: &crate::cache::Key) -> Result<(), ApiError> {
        let Some(job) = self.jobs.get_key(key).map(|j| (**j).clone()) else {
            return Ok(());
        };
        if finished_condition(&job).is_some() {
            return self.finished(&job).await;
        }
        let Some(sel) = selector(&job) else { return Ok(()) };
        let pods = self.claim_pods(&job, &sel).await?;
        let (now, now_str) = (self.ctx.now(), self.ctx.now_str());
        let mut job = job;
        if !job.get("status").is_some_and(Value::is_object) {
            job["status"] = json!({});
        }
        let tally = Tally {
            uncounted_succeeded: uid_set(&job, "succeeded"),
            uncounted_failed: uid_set(&job, "failed"),
            indexes: parse(
                job.pointer("/status/completedIndexes").and_then(Value::as_str).unwrap_or(""),
                completions(&job).unwrap_or(0),
            ),
        };
        let tracked: Vec<&Value> = pods.iter().map(|p| &**p).filter(|p| has_tracking_finalizer(p)).collect();
        let new_succeeded: Vec<&Value> = tracked
            .iter()
            .copied()
            .filter(|p| phase(p) == "Succeeded" && !tally.uncounted_succeeded.contains(meta::uid(p)))
            .collect();
        let new_failed: Vec<&Value> = tracked
            .iter()
            .copied()
            .filter(|p| is_failed(p, &job) && !tally.uncounted_failed.contains(meta::uid(p)))
            .filter(|p| judge(&job, p) != Verdict::Ignore)
            .collect();
        let times = |ps: &[&Value]| ps.iter().map(|p| finished_at(p, now)).collect::<Vec<_>>();
        self.backoff
            .entry(meta::uid(&job).to_string())
            .or_default()
            .record(&times(&new_succeeded), &times(&new_failed));
        let succeeded = if is_indexed(&job) {
            let limit = completions(&job).unwrap_or(0);
            let more = new_succeeded.iter().filter_map(|p| index_of(p)).filter(|i| *i < limit);
            tally.indexes.iter().copied().chain(more).collect::<BTreeSet<i64>>().len() as i64
        } else {
            status_int(&job, "succeeded") + (new_succeeded.len() + tally.uncounted_succeeded.len()) as i64
        };
        let failed = status_int(&job, "failed") + (new_failed.len() + tally.uncounted_failed.len()) as i64;
        if job.pointer("/status/startTime").is_none() && !suspended(&job) {
            job["status"]["startTime"] = json!(now_str);
        }
        let active: Vec<&Value> = pods.iter().map(|p| &**p).filter(|p| is_active(p)).collect();
        let mut finished = self.finish_condition(&job, &pods, &active, failed, now);
        match finished.as_ref().map(|c| c["type"].as_str().unwrap_or("")) {
            Some("FailureTarget" | "Failed") => {
                let victims: Vec<Value> = active.iter().map(|p| (*p).clone()).collect();
                self.delete_pods(&job, &victims).await?;
            }
            Some(_) => {}
            None => {
                if !meta::is_deleting(&job) {
                    self.manage(&job, &active, succeeded, &tally.indexes, now).await?;
                }
                let active_now = self.pods.owned_by(meta::uid(&job)).filter(|p| is_active(p)).count();
                let complete = match completions(&job) {
                    None => succeeded > 0 && active_now == 0,
                    Some(c) => succeeded >= c && active_now == 0,
                };
                if complete {
                    let msg = "Reached expected number of succeeded pods";
                    finished = Some(job_condition("SuccessCriteriaMet", "CompletionsReached", msg, &now_str));
                } else {
                    self.suspension(&mut job, &now_str);
                }
            }
        }
        self.track(job, finished, tally).await
    }

    /// `Suspended` condition and its events; resuming restarts the active deadline.
    fn suspension(&mut self, job: &mut Value, now: &str) {
        if suspended(job) {
            if ensure_condition(job, "Suspended", "True", "JobSuspended", "Job suspended", now) {
                self.ctx.normal(job, "Suspended", "Job suspended");
            }
        } else if ensure_condition(job, "Suspended", "False", "JobResumed", "Job resumed", now) {
            self.ctx.normal(job, "Resumed", "Job resumed");
            job["status"]["startTime"] = json!(now);
        }
    }

    /// Why the Job is finishing, if it is: an earlier interim condition, a FailJob rule, the
    /// back-off limit or the active deadline (whose expiry is otherwise scheduled).
    fn finish_condition(
        &mut self,
        job: &Value,
        pods: &[Arc<Value>],
        active: &[&Value],
        failed: i64,
        now: DateTime<Utc>,
    ) -> Option<Value> {
        let now_str = crate::clock::format_time(now);
        let from = |c: &Value, kind: &str| {
            job_condition(
                kind,
                c["reason"].as_str().unwrap_or(""),
                c["message"].as_str().unwrap_or(""),
                &now_str,
            )
        };
        if let Some(c) = true_condition(job, "FailureTarget") {
            return Some(from(c, "Failed"));
        }
        if let Some(c) = true_condition(job, "SuccessCriteriaMet") {
            return Some(from(c, "Complete"));
        }
        if job.pointer("/spec/podFailurePolicy").is_some_and(|p| !p.is_null()) {
            let fail_job = pods.iter().filter(|p| is_failed(p, job)).find_map(|p| match judge(job, p) {
                Verdict::FailJob(msg) => Some(msg),
                _ => None,
            });
            if let Some(msg) = fail_job {
                return Some(job_condition("FailureTarget", "PodFailurePolicy", &msg, &now_str));
            }
        }
        let limit = job.pointer("/spec/backoffLimit").and_then(Value::as_i64).unwrap_or(6);
        if failed > limit || past_backoff_limit_on_failure(job, active) {
            return Some(job_condition(
                "FailureTarget",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                &now_str,
            ));
        }
        let deadline = job.pointer("/spec/activeDeadlineSeconds").and_then(Value::as_i64);
        if let (Some(secs), Some(start)) = (deadline, time_at(job, "/status/startTime"))
            && !suspended(job)
        {
            let at = start + Duration::seconds(secs);
            if now >= at {
                return Some(job_condition(
                    "FailureTarget",
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                    &now_str,
                ));
            }
            self.queue.add_at(crate::cache::key_of(job), at);
        }
        None
    }

    /// The Job's pods after adopting orphans and releasing pods that stopped matching.
    async fn claim_pods(&mut self, job: &Value, sel: &LabelSelector) -> Result<Vec<Arc<Value>>, ApiError> {
        let claims = claim::plan(&self.pods, job, sel, |_| true);
        if claims.is_settled() {
            return Ok(claims.owned);
        }
        let (owned, written) = claims.execute(&self.ctx.client, self.pods_def, self.def, job).await?;
        for pod in written {
            if controller_uid(&pod).is_none() && has_tracking_finalizer(&pod) {
                self.strays.insert(crate::cache::key_of(&pod));
            }
            self.pods.wrote(pod);
        }
        Ok(owned)
    }
}

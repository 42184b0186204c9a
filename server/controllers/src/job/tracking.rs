//! Counting a Job's finished pods (upstream `trackJobStatusAndRemoveFinalizers`): record them
//! as uncounted (with the interim condition), drop their finalizers, move them into the
//! counters, and add the terminal condition once nothing is left uncounted or terminating.

use super::JobController;
use super::indexes::{format, index_of, is_indexed};
use super::policy::{Verdict, has_tracking_finalizer, is_failed, judge};
use super::sync::{Tally, completions, ensure_condition, job_condition, status_int};
use crate::pods::{is_active, is_ready, is_terminal, phase};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use wasmkube_api::{ApiError, meta};

/// At most this many finished pods are counted per sync (upstream `MaxUncountedPods` is 500).
const MAX_UNCOUNTED: usize = 500;

impl JobController {
    /// `trackJobStatusAndRemoveFinalizers`: record newly finished pods as uncounted (with the
    /// interim condition), drop their finalizers, move them into the counters, and add the
    /// terminal condition once nothing is left uncounted or terminating.
    pub(super) async fn track(
        &mut self,
        mut job: Value,
        finished: Option<Value>,
        mut tally: Tally,
    ) -> Result<(), ApiError> {
        let uid = meta::uid(&job).to_string();
        let limit = completions(&job).unwrap_or(0);
        let indexed = is_indexed(&job);
        let failing =
            finished.as_ref().is_some_and(|c| c["type"] == "FailureTarget" || c["type"] == "Failed");
        let pods: Vec<Arc<Value>> =
            self.pods.owned_by(&uid).filter(|p| has_tracking_finalizer(p)).cloned().collect();
        let mut release = Vec::new();
        for pod in &pods {
            let failed = is_failed(pod, &job);
            if !(meta::is_deleting(&job) || finished.is_some() || phase(pod) == "Succeeded" || failed) {
                continue;
            }
            release.push(pod.clone());
            let pod_uid = meta::uid(pod).to_string();
            if phase(pod) == "Succeeded" && !tally.uncounted_failed.contains(&pod_uid) {
                match index_of(pod) {
                    Some(ix) if indexed && ix < limit => {
                        tally.indexes.insert(ix);
                    }
                    _ if indexed => {}
                    _ => {
                        tally.uncounted_succeeded.insert(pod_uid);
                    }
                }
            } else if (failed || failing)
                && (!indexed || index_of(pod).is_some_and(|i| i < limit))
                && judge(&job, pod) != Verdict::Ignore
            {
                tally.uncounted_failed.insert(pod_uid);
            }
            if release.len() >= MAX_UNCOUNTED {
                break;
            }
        }
        let now_str = self.ctx.now_str();
        let terminal = finished.map(|f| {
            let (reason, message) = (f["reason"].as_str().unwrap_or(""), f["message"].as_str().unwrap_or(""));
            match f["type"].as_str() {
                Some("FailureTarget") => {
                    ensure_condition(&mut job, "FailureTarget", "True", reason, message, &now_str);
                    job_condition("Failed", reason, message, &now_str)
                }
                Some("SuccessCriteriaMet") => {
                    ensure_condition(&mut job, "SuccessCriteriaMet", "True", reason, message, &now_str);
                    job_condition("Complete", reason, message, &now_str)
                }
                _ => f,
            }
        });
        self.set_counts(&mut job, &tally, indexed);
        self.write_job_status(&mut job).await?;
        let mut still_tracked: BTreeSet<String> = pods.iter().map(|p| meta::uid(p).to_string()).collect();
        let mut release_error = None;
        for pod in release {
            match self.release_finalizer(&pod).await {
                Ok(()) => {
                    still_tracked.remove(meta::uid(&pod));
                }
                Err(e) => drop(release_error.get_or_insert(e)),
            }
        }
        let done_s: Vec<String> =
            tally.uncounted_succeeded.iter().filter(|u| !still_tracked.contains(*u)).cloned().collect();
        let done_f: Vec<String> =
            tally.uncounted_failed.iter().filter(|u| !still_tracked.contains(*u)).cloned().collect();
        job["status"]["succeeded"] = json!(status_int(&job, "succeeded") + done_s.len() as i64);
        job["status"]["failed"] = json!(status_int(&job, "failed") + done_f.len() as i64);
        for u in &done_s {
            tally.uncounted_succeeded.remove(u);
        }
        for u in &done_f {
            tally.uncounted_failed.remove(u);
        }
        self.set_counts(&mut job, &tally, indexed);
        let enacted = terminal
            .filter(|_| tally.uncounted_succeeded.is_empty() && tally.uncounted_failed.is_empty())
            .filter(|_| job["status"]["terminating"] == 0);
        if let Some(t) = &enacted {
            let (kind, reason, message) = (
                t["type"].as_str().unwrap_or(""),
                t["reason"].as_str().unwrap_or(""),
                t["message"].as_str().unwrap_or(""),
            );
            ensure_condition(&mut job, kind, "True", reason, message, &now_str);
            if kind == "Complete" {
                job["status"]["completionTime"] = json!(now_str);
            }
        }
        self.write_job_status(&mut job).await?;
        if let Some(t) = enacted {
            // Look again as finished: finalizers left behind, and the TTL clock starts.
            self.queue.add(crate::cache::key_of(&job));
            match t["type"].as_str() {
                Some("Complete") => self.ctx.normal(&job, "Completed", "Job completed"),
                _ => self.ctx.warning(
                    &job,
                    t["reason"].as_str().unwrap_or("Failed"),
                    t["message"].as_str().unwrap_or(""),
                ),
            }
        }
        release_error.map_or(Ok(()), Err)
    }

    /// Active/ready/terminating from the cache, the uncounted pods and completed indexes.
    fn set_counts(&self, job: &mut Value, tally: &Tally, indexed: bool) {
        let uid = meta::uid(job).to_string();
        let pods: Vec<&Arc<Value>> = self.pods.owned_by(&uid).collect();
        let active = pods.iter().filter(|p| is_active(p)).count();
        let ready = pods.iter().filter(|p| is_active(p) && is_ready(p)).count();
        let terminating = pods.iter().filter(|p| meta::is_deleting(p) && !is_terminal(p)).count();
        let status = job["status"].as_object_mut().expect("status is an object");
        for (k, n) in [("active", active), ("succeeded", 0), ("failed", 0)] {
            let n = if k == "active" { n as i64 } else { status.get(k).and_then(Value::as_i64).unwrap_or(0) };
            if n == 0 {
                status.remove(k);
            } else {
                status.insert(k.into(), json!(n));
            }
        }
        status.insert("ready".into(), json!(ready));
        status.insert("terminating".into(), json!(terminating));
        let mut uncounted = json!({});
        if !tally.uncounted_succeeded.is_empty() {
            uncounted["succeeded"] = json!(tally.uncounted_succeeded);
        }
        if !tally.uncounted_failed.is_empty() {
            uncounted["failed"] = json!(tally.uncounted_failed);
        }
        status.insert("uncountedTerminatedPods".into(), uncounted);
        if indexed {
            let text = format(&tally.indexes);
            if text.is_empty() {
                status.remove("completedIndexes");
            } else {
                status.insert("completedIndexes".into(), json!(text));
            }
            let n = tally.indexes.len() as i64;
            if n == 0 {
                status.remove("succeeded")
            } else {
                status.insert("succeeded".into(), json!(n))
            };
        }
    }

    async fn write_job_status(&mut self, job: &mut Value) -> Result<(), ApiError> {
        let cached = self.jobs.by_uid(meta::uid(job)).and_then(|j| j.get("status").cloned());
        if cached.as_ref() == job.get("status") {
            return Ok(());
        }
        let written = self.ctx.client.put_status(self.def, job, job["status"].clone()).await?;
        self.jobs.wrote(written.clone());
        let status = job["status"].clone();
        *job = written;
        // Keep exactly what we computed (the server may render some fields differently).
        job["status"] = status;
        Ok(())
    }
}

//! How a Job judges its pods: which count as failed, what `podFailurePolicy` says about a
//! failure, and how long to wait before replacing failed pods (upstream's back-off record).

use crate::clock::time_at;
use crate::pods::{phase, restart_count};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use wasmkube_api::meta;

pub(crate) const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";

pub(crate) fn has_tracking_finalizer(pod: &Value) -> bool {
    meta::finalizers(pod).iter().any(|f| f == TRACKING_FINALIZER)
}

/// `onlyReplaceFailedPods`: terminating pods are not failures until they reach Failed.
pub(crate) fn only_replace_failed(job: &Value) -> bool {
    job.pointer("/spec/podReplacementPolicy").and_then(Value::as_str) == Some("Failed")
        || job.pointer("/spec/podFailurePolicy").is_some_and(|p| !p.is_null())
}

/// `isPodFailed`: Failed, or (unless only failed pods are replaced) being deleted unfinished,
/// so that orphaned and killed pods count.
pub(crate) fn is_failed(pod: &Value, job: &Value) -> bool {
    if phase(pod) == "Failed" {
        return true;
    }
    !only_replace_failed(job) && meta::is_deleting(pod) && phase(pod) != "Succeeded"
}

/// What a matching `podFailurePolicy` rule decided.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Fail the whole Job, with this message.
    FailJob(String),
    /// Count the failure (a Count rule, FailIndex without per-index limits, or no rule).
    Count,
    /// Do not count it against backoffLimit.
    Ignore,
}

fn exit_code_match(pod: &Value, req: &Value) -> Option<(String, i64)> {
    let container = req.get("containerName").and_then(Value::as_str);
    let values: Vec<i64> =
        req.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_i64).collect();
    let is_in = req.get("operator").and_then(Value::as_str) == Some("In");
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|k| pod.get("status")?.get(*k)?.as_array())
        .flatten()
        .filter(|cs| container.is_none_or(|c| cs.get("name").and_then(Value::as_str) == Some(c)))
        .find_map(|cs| {
            let code = cs.pointer("/state/terminated/exitCode")?.as_i64()?;
            (code != 0 && values.contains(&code) == is_in)
                .then(|| (cs.get("name").and_then(Value::as_str).unwrap_or("").to_string(), code))
        })
}

fn condition_match<'a>(pod: &'a Value, patterns: &Value) -> Option<&'a str> {
    let conditions = pod.pointer("/status/conditions")?.as_array()?;
    patterns.as_array()?.iter().find_map(|pat| {
        conditions
            .iter()
            .find(|c| c.get("type") == pat.get("type") && c.get("status") == pat.get("status"))
            .and_then(|c| c.get("type")?.as_str())
    })
}

/// `matchPodFailurePolicy` for a failed pod.
pub(crate) fn judge(job: &Value, pod: &Value) -> Verdict {
    let Some(rules) = job.pointer("/spec/podFailurePolicy/rules").and_then(Value::as_array) else {
        return Verdict::Count;
    };
    let (ns, name) = (meta::namespace(pod), meta::name(pod));
    for (i, rule) in rules.iter().enumerate() {
        let action = rule.get("action").and_then(Value::as_str).unwrap_or("");
        let fail_message = if let Some(req) = rule.get("onExitCodes").filter(|r| !r.is_null()) {
            let Some((container, code)) = exit_code_match(pod, req) else { continue };
            format!(
                "Container {container} for pod {ns}/{name} failed with exit code {code} matching {action} rule at index {i}"
            )
        } else if let Some(patterns) = rule.get("onPodConditions").filter(|r| !r.is_null()) {
            let Some(kind) = condition_match(pod, patterns) else { continue };
            format!("Pod {ns}/{name} has condition {kind} matching {action} rule at index {i}")
        } else {
            continue;
        };
        return match action {
            "FailJob" => Verdict::FailJob(fail_message),
            "Ignore" => Verdict::Ignore,
            _ => Verdict::Count,
        };
    }
    Verdict::Count
}

/// `pastBackoffLimitOnFailure`: with restartPolicy OnFailure, container restarts of running
/// pods count against backoffLimit.
pub(crate) fn past_backoff_limit_on_failure(job: &Value, active: &[&Value]) -> bool {
    if job.pointer("/spec/template/spec/restartPolicy").and_then(Value::as_str) != Some("OnFailure") {
        return false;
    }
    let limit = job.pointer("/spec/backoffLimit").and_then(Value::as_i64).unwrap_or(6);
    let restarts: i64 =
        active.iter().filter(|p| matches!(phase(p), "Running" | "Pending")).map(|p| restart_count(p)).sum();
    if limit == 0 { restarts > 0 } else { restarts >= limit }
}

/// When a pod finished: its containers' latest finishedAt, else its deletion, else `now`.
pub(crate) fn finished_at(pod: &Value, now: DateTime<Utc>) -> DateTime<Utc> {
    let latest = ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|k| pod.get("status")?.get(*k)?.as_array())
        .flatten()
        .filter_map(|cs| time_at(cs, "/state/terminated/finishedAt"))
        .max();
    latest.or_else(|| time_at(pod, "/metadata/deletionTimestamp")).unwrap_or(now)
}

/// Failures since the last success, and when the last one happened (upstream `backoffRecord`).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Backoff {
    pub failures: u32,
    pub last_failure: Option<DateTime<Utc>>,
}

impl Backoff {
    /// Fold in newly finished pods (finish times of successes and failures).
    pub fn record(&mut self, succeeded: &[DateTime<Utc>], failed: &[DateTime<Utc>]) {
        let last_success = succeeded.iter().max();
        if let Some(success) = last_success {
            self.failures = 0;
            self.last_failure = None;
            let later: Vec<&DateTime<Utc>> = failed.iter().filter(|f| *f > success).collect();
            self.failures = later.len() as u32;
            self.last_failure = later.into_iter().max().copied();
        } else if !failed.is_empty() {
            self.failures += failed.len() as u32;
            self.last_failure = failed.iter().max().copied().max(self.last_failure);
        }
    }

    /// How long to wait before creating replacements: `base` doubling per failure up to `cap`.
    pub fn remaining(&self, now: DateTime<Utc>, base: Duration, cap: Duration) -> Duration {
        let Some(last) = self.last_failure.filter(|_| self.failures > 0) else {
            return Duration::zero();
        };
        let mut delay = base;
        for _ in 1..self.failures {
            delay = delay * 2;
            if delay >= cap {
                delay = cap;
                break;
            }
        }
        (delay - (now - last)).max(Duration::zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failed_pod(code: i64) -> Value {
        json!({"metadata": {"name": "p", "namespace": "ns"},
               "status": {"phase": "Failed", "containerStatuses": [
                   {"name": "main", "state": {"terminated": {"exitCode": code}}}]}})
    }

    fn job(rules: Value) -> Value {
        json!({"spec": {"podFailurePolicy": {"rules": rules}}})
    }

    #[test]
    fn exit_code_rules_match_in_order() {
        let j = job(json!([
            {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [7]}},
            {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}},
            {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [42, 7]}},
        ]));
        assert_eq!(judge(&j, &failed_pod(7)), Verdict::Ignore);
        assert_eq!(
            judge(&j, &failed_pod(42)),
            Verdict::FailJob(
                "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1"
                    .into()
            )
        );
        assert_eq!(judge(&j, &failed_pod(3)), Verdict::Count);
        assert_eq!(judge(&json!({"spec": {}}), &failed_pod(42)), Verdict::Count);
    }

    #[test]
    fn condition_rules_see_disruptions() {
        let j = job(
            json!([{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]),
        );
        let mut pod = failed_pod(137);
        assert_eq!(judge(&j, &pod), Verdict::Count);
        pod["status"]["conditions"] = json!([{"type": "DisruptionTarget", "status": "True"}]);
        assert_eq!(judge(&j, &pod), Verdict::Ignore);
    }

    #[test]
    fn backoff_doubles_from_the_last_failure_and_resets_on_success() {
        let t = |s: i64| DateTime::<Utc>::from_timestamp(1_000 + s, 0).unwrap();
        let mut b = Backoff::default();
        b.record(&[], &[t(0)]);
        let (base, cap) = (Duration::seconds(10), Duration::seconds(360));
        assert_eq!(b.remaining(t(4), base, cap), Duration::seconds(6));
        b.record(&[], &[t(20)]);
        assert_eq!(b.remaining(t(20), base, cap), Duration::seconds(20));
        assert_eq!(b.remaining(t(60), base, cap), Duration::zero());
        b.record(&[t(30)], &[t(25)]);
        assert_eq!(b, Backoff::default());
        b.failures = 20;
        b.last_failure = Some(t(0));
        assert_eq!(b.remaining(t(0), base, cap), cap);
    }

    #[test]
    fn restarts_count_only_with_on_failure() {
        let mut j =
            json!({"spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "OnFailure"}}}});
        let pod = json!({"status": {"phase": "Running", "containerStatuses": [{"restartCount": 2}]}});
        assert!(past_backoff_limit_on_failure(&j, &[&pod]));
        j["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
        assert!(!past_backoff_limit_on_failure(&j, &[&pod]));
    }
}

//! A Deployment's status and its Progressing/Available/ReplicaFailure conditions (upstream
//! `calculateStatus`, `syncRolloutStatus`, `syncDeploymentStatus`).

use super::DeploymentController;
use super::util::{max_unavailable, progress_deadline, spec_replicas, status_int};
use crate::client::find_condition;
use crate::clock::parse_time;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use wasmkube_api::{ApiError, meta};

/// A Deployment condition (they carry lastUpdateTime as well as lastTransitionTime).
pub(super) fn new_condition(kind: &str, status: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": kind, "status": status, "lastUpdateTime": now, "lastTransitionTime": now,
           "reason": reason, "message": message})
}

pub(super) fn has_condition_type(d: &Value, kind: &str) -> bool {
    d.get("status").and_then(|s| find_condition(s, kind)).is_some()
}

fn cond_str<'a>(status: &'a Value, kind: &str, field: &str) -> Option<&'a str> {
    find_condition(status, kind)?.get(field)?.as_str()
}

fn remove(status: &mut Value, kind: &str) {
    if let Some(list) = status.get_mut("conditions").and_then(Value::as_array_mut) {
        list.retain(|c| c["type"] != kind);
    }
}

/// `SetDeploymentCondition` on a status: same status and reason changes nothing; same status
/// keeps the transition time.
fn set_on_status(status: &mut Value, mut cond: Value) {
    let kind = cond["type"].as_str().unwrap_or_default().to_string();
    if let Some(cur) = find_condition(status, &kind) {
        if cur["status"] == cond["status"] && cur["reason"] == cond["reason"] {
            return;
        }
        if cur["status"] == cond["status"] {
            cond["lastTransitionTime"] = cur["lastTransitionTime"].clone();
        }
    }
    remove(status, &kind);
    match status.get_mut("conditions").and_then(Value::as_array_mut) {
        Some(list) => list.push(cond),
        None => status["conditions"] = json!([cond]),
    }
}

pub(super) fn set_deployment_condition(d: &mut Value, cond: Value) {
    if !d.get("status").is_some_and(Value::is_object) {
        d["status"] = json!({});
    }
    set_on_status(&mut d["status"], cond);
}

fn set_count(status: &mut Value, key: &str, n: i64) {
    if n == 0 {
        status.as_object_mut().map(|m| m.remove(key));
    } else {
        status[key] = json!(n);
    }
}

/// `calculateStatus`: counts from the sets' statuses, conditions carried over, Available set.
pub(super) fn calculate(all: &[&Value], new: Option<&Value>, d: &Value, now: &str) -> Value {
    let sum = |f: &str| all.iter().map(|rs| status_int(rs, f)).sum::<i64>();
    let available = sum("availableReplicas");
    let total: i64 = all.iter().map(|rs| spec_replicas(rs)).sum();
    let mut status =
        json!({"observedGeneration": d.pointer("/metadata/generation").cloned().unwrap_or(json!(0))});
    set_count(&mut status, "replicas", sum("replicas"));
    set_count(&mut status, "updatedReplicas", new.map_or(0, |rs| status_int(rs, "replicas")));
    set_count(&mut status, "readyReplicas", sum("readyReplicas"));
    set_count(&mut status, "availableReplicas", available);
    set_count(&mut status, "unavailableReplicas", (total - available).max(0));
    if let Some(c) = d.pointer("/status/collisionCount") {
        status["collisionCount"] = c.clone();
    }
    if let Some(c) = d.pointer("/status/conditions").filter(|c| c.as_array().is_some_and(|a| !a.is_empty())) {
        status["conditions"] = c.clone();
    }
    let cond = if available >= spec_replicas(d) - max_unavailable(d) {
        new_condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            now,
        )
    } else {
        new_condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            now,
        )
    };
    set_on_status(&mut status, cond);
    status
}

/// `DeploymentComplete`.
pub(super) fn complete(d: &Value, status: &Value) -> bool {
    let want = spec_replicas(d);
    let generation = d.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
    status_int_of(status, "updatedReplicas") == want
        && status_int_of(status, "replicas") == want
        && status_int_of(status, "availableReplicas") == want
        && status_int_of(status, "observedGeneration") >= generation
}

fn status_int_of(status: &Value, key: &str) -> i64 {
    status.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// `DeploymentProgressing`: more updated, ready or available pods, or fewer old ones.
fn progressing(d: &Value, new: &Value) -> bool {
    let old_old = status_int(d, "replicas") - status_int(d, "updatedReplicas");
    let new_old = status_int_of(new, "replicas") - status_int_of(new, "updatedReplicas");
    status_int_of(new, "updatedReplicas") > status_int(d, "updatedReplicas")
        || new_old < old_old
        || status_int_of(new, "readyReplicas") > status_int(d, "readyReplicas")
        || status_int_of(new, "availableReplicas") > status_int(d, "availableReplicas")
}

/// When the Progressing condition's deadline passes (None: no deadline applies).
fn deadline(d: &Value, status: &Value) -> Option<DateTime<Utc>> {
    let secs = progress_deadline(d)?;
    if cond_str(status, "Progressing", "reason") == Some("NewReplicaSetAvailable") {
        return None;
    }
    let from = parse_time(cond_str(status, "Progressing", "lastUpdateTime")?)?;
    Some(from + Duration::seconds(secs))
}

fn timed_out(d: &Value, status: &Value, now: DateTime<Utc>) -> bool {
    if cond_str(status, "Progressing", "reason") == Some("ProgressDeadlineExceeded") {
        return true;
    }
    deadline(d, status).is_some_and(|at| at < now)
}

impl DeploymentController {
    pub(super) async fn write_status(&mut self, d: &mut Value) -> Result<(), ApiError> {
        let status = d.get("status").cloned().unwrap_or_else(|| json!({}));
        let written = self.ctx.client.put_status(self.def, d, status).await?;
        self.deployments.wrote(written.clone());
        // Look again, as upstream does when its informer delivers the write: a rollout that just
        // completed is then cleaned up.
        self.queue.add(crate::cache::key_of(&written));
        *d = written;
        Ok(())
    }

    /// `syncDeploymentStatus`: write the calculated status if it changed.
    pub(super) async fn sync_status(
        &mut self,
        all: &[&Value],
        new: Option<&Value>,
        mut d: Value,
    ) -> Result<(), ApiError> {
        let status = calculate(all, new, &d, &self.ctx.now_str());
        if d.get("status") == Some(&status) {
            return Ok(());
        }
        d["status"] = status;
        self.write_status(&mut d).await
    }

    /// `syncRolloutStatus`: the status plus the Progressing condition and its deadline.
    pub(super) async fn sync_rollout_status(
        &mut self,
        all: &[&Value],
        new: Option<&Value>,
        mut d: Value,
    ) -> Result<(), ApiError> {
        let (now, now_str) = (self.ctx.now(), self.ctx.now_str());
        let mut status = calculate(all, new, &d, &now_str);
        if progress_deadline(&d).is_none() {
            remove(&mut status, "Progressing");
        }
        let current = d.get("status").and_then(|s| find_condition(s, "Progressing")).cloned();
        let done = status_int_of(&status, "replicas") == status_int_of(&status, "updatedReplicas")
            && current.as_ref().is_some_and(|c| c["reason"] == "NewReplicaSetAvailable");
        let subject = match new {
            Some(rs) => format!("ReplicaSet \"{}\"", meta::name(rs)),
            None => format!("Deployment \"{}\"", meta::name(&d)),
        };
        if progress_deadline(&d).is_some() && !done {
            if complete(&d, &status) {
                let msg = format!("{subject} has successfully progressed.");
                set_on_status(
                    &mut status,
                    new_condition("Progressing", "True", "NewReplicaSetAvailable", &msg, &now_str),
                );
            } else if progressing(&d, &status) {
                let msg = format!("{subject} is progressing.");
                let mut cond = new_condition("Progressing", "True", "ReplicaSetUpdated", &msg, &now_str);
                if let Some(cur) = current.as_ref().filter(|c| c["status"] == "True") {
                    cond["lastTransitionTime"] = cur["lastTransitionTime"].clone();
                }
                remove(&mut status, "Progressing");
                set_on_status(&mut status, cond);
            } else if timed_out(&d, &status, now) {
                let msg = format!("{subject} has timed out progressing.");
                set_on_status(
                    &mut status,
                    new_condition("Progressing", "False", "ProgressDeadlineExceeded", &msg, &now_str),
                );
            }
        }
        match replica_failure(all, new) {
            Some(c) => set_on_status(&mut status, new_condition("ReplicaFailure", c.0, c.1, c.2, &now_str)),
            None => remove(&mut status, "ReplicaFailure"),
        }
        if status.get("conditions").and_then(Value::as_array).is_some_and(Vec::is_empty) {
            status.as_object_mut().map(|m| m.remove("conditions"));
        }
        if d.get("status") != Some(&status) {
            d["status"] = status;
            self.write_status(&mut d).await?;
        }
        // A rollout that is neither complete nor timed out is looked at again at its deadline.
        let status = d.get("status").cloned().unwrap_or(Value::Null);
        if !complete(&d, &status)
            && cond_str(&status, "Progressing", "reason") != Some("ProgressDeadlineExceeded")
            && let Some(at) = deadline(&d, &status)
        {
            self.queue.add_at(crate::cache::key_of(&d), at.max(now) + Duration::milliseconds(1));
        }
        Ok(())
    }
}

/// The first ReplicaFailure condition of the new set, then of the others.
fn replica_failure<'a>(all: &[&'a Value], new: Option<&'a Value>) -> Option<(&'a str, &'a str, &'a str)> {
    new.into_iter().chain(all.iter().copied()).find_map(|rs| {
        let c = find_condition(rs.get("status")?, "ReplicaFailure")?;
        Some((c["status"].as_str()?, c["reason"].as_str().unwrap_or(""), c["message"].as_str().unwrap_or("")))
    })
}

//! The status of a ReplicaSet or ReplicationController (upstream `calculateStatus`).

use super::manage::replicas;
use crate::client::{condition, find_condition, remove_condition, set_condition};
use crate::pods::{is_available, is_ready, template_labels};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::Arc;
use wasmkube_api::ApiError;

/// `active` are the claimed, active pods after this sync's writes; `failure` is what went
/// wrong creating or deleting pods, if anything.
pub(super) fn calculate(
    set: &Value,
    active: &[Arc<Value>],
    failure: Option<&ApiError>,
    now_str: &str,
    now: DateTime<Utc>,
) -> Value {
    let min_ready = set.pointer("/spec/minReadySeconds").and_then(Value::as_i64).unwrap_or(0);
    let template = set.pointer("/spec/template").cloned().unwrap_or(Value::Null);
    let labels = template_labels(&template);
    let fully_labeled = active
        .iter()
        .filter(|p| {
            let have = wasmkube_api::meta::labels(p);
            labels.iter().all(|(k, v)| have.and_then(|h| h.get(k)) == Some(v))
        })
        .count();
    let ready = active.iter().filter(|p| is_ready(p)).count();
    let available = active.iter().filter(|p| is_available(p, min_ready, now)).count();
    let mut status = set.get("status").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
    let fields = [
        ("replicas", active.len()),
        ("fullyLabeledReplicas", fully_labeled),
        ("readyReplicas", ready),
        ("availableReplicas", available),
    ];
    for (k, n) in fields {
        // Go's omitempty: zero counts (other than replicas) are absent upstream.
        if n == 0 && k != "replicas" {
            status.as_object_mut().map(|m| m.remove(k));
        } else {
            status[k] = json!(n);
        }
    }
    let generation = set.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
    status["observedGeneration"] = json!(generation);
    match failure {
        Some(e) if find_condition(&status, "ReplicaFailure").is_none() => {
            let reason = if active.len() < replicas(set) { "FailedCreate" } else { "FailedDelete" };
            set_condition(&mut status, condition("ReplicaFailure", "True", reason, &e.message, now_str));
        }
        None => remove_condition(&mut status, "ReplicaFailure"),
        Some(_) => {}
    }
    status
}

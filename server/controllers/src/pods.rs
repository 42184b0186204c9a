//! Pods as workload controllers see them: which count, which are ready or available, and how a
//! pod is made from a template.

use crate::clock::{parse_time, time_at};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use wasmkube_api::meta;

pub(crate) fn phase(pod: &Value) -> &str {
    meta::str_at(pod, &["status", "phase"]).unwrap_or("")
}

pub(crate) fn is_terminal(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// Upstream `FilterActivePods`: neither finished nor being deleted.
pub(crate) fn is_active(pod: &Value) -> bool {
    !is_terminal(pod) && !meta::is_deleting(pod)
}

pub(crate) fn node_name(pod: &Value) -> &str {
    meta::str_at(pod, &["spec", "nodeName"]).unwrap_or("")
}

/// The pod's condition of `type`, if reported.
pub(crate) fn condition<'a>(pod: &'a Value, kind: &str) -> Option<&'a Value> {
    pod.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

pub(crate) fn has_condition(pod: &Value, kind: &str) -> bool {
    condition(pod, kind).and_then(|c| c.get("status")).and_then(Value::as_str) == Some("True")
}

pub(crate) fn is_ready(pod: &Value) -> bool {
    has_condition(pod, "Ready")
}

/// When the pod became ready (the Ready condition's lastTransitionTime), if it is ready.
pub(crate) fn ready_since(pod: &Value) -> Option<DateTime<Utc>> {
    let c = condition(pod, "Ready").filter(|_| is_ready(pod))?;
    parse_time(c.get("lastTransitionTime")?.as_str()?)
}

/// Upstream `IsPodAvailable`: ready for at least `min_ready_seconds`.
pub(crate) fn is_available(pod: &Value, min_ready_seconds: i64, now: DateTime<Utc>) -> bool {
    if !is_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    ready_since(pod).is_some_and(|t| t + Duration::seconds(min_ready_seconds) < now)
}

/// When a ready but not yet available pod will become available (for a timed re-check).
pub(crate) fn available_at(pod: &Value, min_ready_seconds: i64) -> Option<DateTime<Utc>> {
    if min_ready_seconds <= 0 {
        return None;
    }
    Some(ready_since(pod)? + Duration::seconds(min_ready_seconds) + Duration::milliseconds(1))
}

/// The earliest time any of `pods` becomes available, for those not yet available at `now`.
pub(crate) fn next_available<'a>(
    pods: impl IntoIterator<Item = &'a Value>,
    min_ready_seconds: i64,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    pods.into_iter()
        .filter(|p| !is_available(p, min_ready_seconds, now))
        .filter_map(|p| available_at(p, min_ready_seconds))
        .min()
}

pub(crate) fn created(obj: &Value) -> Option<DateTime<Utc>> {
    time_at(obj, "/metadata/creationTimestamp")
}

/// Restarts of every container, init containers included.
pub(crate) fn restart_count(pod: &Value) -> i64 {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|k| pod.get("status")?.get(*k)?.as_array())
        .flatten()
        .filter_map(|c| c.get("restartCount")?.as_i64())
        .sum()
}

/// `metav1.NewControllerRef`.
pub(crate) fn controller_reference(owner: &Value) -> Value {
    json!({
        "apiVersion": owner.get("apiVersion").cloned().unwrap_or(Value::Null),
        "kind": owner.get("kind").cloned().unwrap_or(Value::Null),
        "name": meta::name(owner),
        "uid": meta::uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// The labels of a template (or any object), as a map.
pub(crate) fn template_labels(template: &Value) -> Map<String, Value> {
    template.pointer("/metadata/labels").and_then(Value::as_object).cloned().unwrap_or_default()
}

/// Upstream `GetPodFromTemplate`: labels, annotations and finalizers of the template, the
/// parent as controller, and the template's spec; named by the API server from `generate_name`.
pub(crate) fn pod_from_template(template: &Value, owner: &Value, generate_name: &str) -> Value {
    let tmeta = template.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let mut metadata = json!({
        "generateName": generate_name,
        "namespace": meta::namespace(owner),
        "ownerReferences": [controller_reference(owner)],
    });
    for k in ["labels", "annotations", "finalizers"] {
        if let Some(v) = tmeta.get(k).filter(|v| !v.is_null()) {
            metadata[k] = v.clone();
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// Upstream `getPodsPrefix`: `<controller>-` (the API server truncates long prefixes).
pub(crate) fn generate_name(controller: &str) -> String {
    format!("{controller}-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready_pod(since: &str) -> Value {
        json!({"status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": since}]}})
    }

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let now = parse_time("2024-01-01T00:00:10Z").unwrap();
        let pod = ready_pod("2024-01-01T00:00:05Z");
        assert!(is_available(&pod, 0, now));
        assert!(is_available(&pod, 4, now));
        assert!(!is_available(&pod, 5, now));
        assert_eq!(available_at(&pod, 5).unwrap().timestamp(), 1_704_067_210);
        assert!(!is_available(&json!({"status": {"phase": "Running"}}), 0, now));
    }

    #[test]
    fn pods_from_templates_carry_the_owner() {
        let owner = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                           "metadata": {"name": "web", "namespace": "ns", "uid": "u"}});
        let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}});
        let pod = pod_from_template(&template, &owner, "web-");
        assert_eq!(pod["metadata"]["generateName"], "web-");
        assert_eq!(pod["metadata"]["labels"]["app"], "web");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
    }
}

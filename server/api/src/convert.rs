//! Conversion between served versions that share one storage form.
//!
//! Storage holds each resource in the form of its first-listed definition in the registry
//! (autoscaling/v2 HorizontalPodAutoscaler, core/v1 Event). Requests for another version are
//! converted on the way in and out, so every version sees the same objects, as upstream does.

use crate::registry::{ResourceDef, by_storage};
use serde_json::{Map, Value, json};

/// Is `def` the storage form of its resource?
pub fn is_storage_form(def: &ResourceDef) -> bool {
    by_storage(def.storage).is_some_and(|s| std::ptr::eq(s, def))
}

/// The served form -> the storage form.
pub fn to_storage(def: &ResourceDef, obj: Value) -> Value {
    if is_storage_form(def) {
        return obj;
    }
    let storage = by_storage(def.storage).expect("every def has a storage form");
    let mut out = match def.group {
        "autoscaling" => hpa_v1_to_v2(obj),
        "events.k8s.io" => rename(obj, EVENT_FIELDS, false),
        _ => obj,
    };
    out["apiVersion"] = json!(storage.api_version());
    out
}

/// The storage form -> the served form.
pub fn from_storage(def: &ResourceDef, obj: Value) -> Value {
    if is_storage_form(def) {
        return obj;
    }
    let mut out = match def.group {
        "autoscaling" => hpa_v2_to_v1(obj),
        "events.k8s.io" => rename(obj, EVENT_FIELDS, true),
        _ => obj,
    };
    out["apiVersion"] = json!(def.api_version());
    out
}

/// (core/v1 name, events.k8s.io/v1 name).
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

fn rename(mut obj: Value, pairs: &[(&str, &str)], core_to_new: bool) -> Value {
    if let Some(map) = obj.as_object_mut() {
        for (core, new) in pairs {
            let (from, to) = if core_to_new { (core, new) } else { (new, core) };
            if let Some(v) = map.remove(*from) {
                map.insert((*to).to_string(), v);
            }
        }
    }
    obj
}

fn cpu_metric(key: &str, util: &Value) -> Value {
    json!([{"type": "Resource", "resource": {"name": "cpu", key: {"type": "Utilization", "averageUtilization": util}}}])
}

fn hpa_v1_to_v2(mut obj: Value) -> Value {
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
        && let Some(util) = spec.remove("targetCPUUtilizationPercentage")
    {
        spec.insert("metrics".into(), cpu_metric("target", &util));
    }
    if let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut) {
        if let Some(util) = status.remove("currentCPUUtilizationPercentage") {
            status.insert("currentMetrics".into(), cpu_metric("current", &util));
        }
        status.entry("desiredReplicas").or_insert(json!(0));
    }
    obj
}

fn cpu_utilization(metrics: Option<&Value>, key: &str) -> Option<Value> {
    metrics?.as_array()?.iter().find_map(|m| {
        let r = m.get("resource")?;
        (r.get("name")? == "cpu").then(|| r.get(key)?.get("averageUtilization").cloned())?
    })
}

fn hpa_v2_to_v1(mut obj: Value) -> Value {
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        let util = cpu_utilization(spec.get("metrics"), "target");
        spec.remove("metrics");
        spec.remove("behavior");
        if let Some(u) = util {
            spec.insert("targetCPUUtilizationPercentage".into(), u);
        }
    }
    if let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut) {
        let util = cpu_utilization(status.get("currentMetrics"), "current");
        let keep = ["observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"];
        let kept: Map<String, Value> = status
            .iter()
            .filter(|(k, _)| keep.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        *status = kept;
        if let Some(u) = util {
            status.insert("currentCPUUtilizationPercentage".into(), u);
        }
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::find;

    #[test]
    fn hpa_round_trips_through_v2_storage() {
        let v1 = find("autoscaling", "v1", "horizontalpodautoscalers").unwrap();
        let obj = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "spec": {"minReplicas": 1, "maxReplicas": 3, "targetCPUUtilizationPercentage": 50,
                     "scaleTargetRef": {"kind": "Deployment", "name": "d", "apiVersion": "apps/v1"}}});
        let stored = to_storage(v1, obj.clone());
        assert_eq!(stored["apiVersion"], "autoscaling/v2");
        assert_eq!(stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 50);
        assert_eq!(from_storage(v1, stored), obj);
    }

    #[test]
    fn events_rename_between_groups() {
        let new = find("events.k8s.io", "v1", "events").unwrap();
        let core =
            json!({"apiVersion": "v1", "kind": "Event", "message": "m", "involvedObject": {"name": "p"}});
        let served = from_storage(new, core.clone());
        assert_eq!(served["note"], "m");
        assert_eq!(served["regarding"]["name"], "p");
        assert_eq!(to_storage(new, served), core);
    }
}

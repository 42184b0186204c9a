//! Small kinds: HorizontalPodAutoscaler, Lease, RuntimeClass and Events.

use serde_json::{Value, json};

use crate::error::FieldError;
use crate::json::{arr, get, int, s};
use crate::names::{dns1123_label, dns1123_subdomain, path_segment_name, qualified_name};
use crate::path::Path;

use super::resources::container_requirements;

/// The HorizontalPodAutoscaler kind (v1 and v2 wire forms).
pub fn validate_hpa(obj_v: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj_v, "spec").cloned().unwrap_or(Value::Null);
    let path = Path::new("spec");
    let mut errs = replica_bounds(&spec, &path);
    let target = get(&spec, "scaleTargetRef").cloned().unwrap_or(Value::Null);
    let tp = path.child("scaleTargetRef");
    for key in ["kind", "name"] {
        let v = s(&target, key);
        if v.is_empty() {
            errs.push(FieldError::required(tp.child(key), ""));
        } else {
            errs.extend(path_segment_name(v).into_iter().map(|m| FieldError::invalid(tp.child(key), v, &m)));
        }
    }
    if let Some(cpu) = int(&spec, "targetCPUUtilizationPercentage").filter(|c| *c < 1) {
        errs.push(FieldError::invalid(
            path.child("targetCPUUtilizationPercentage"),
            cpu,
            "must be greater than 0",
        ));
    }
    for (i, metric) in arr(&spec, "metrics").iter().enumerate() {
        errs.extend(super::hpa_metrics::metric(metric, &path.child("metrics").index(i)));
    }
    if let Some(behavior) = get(&spec, "behavior") {
        errs.extend(super::hpa_metrics::behavior(behavior, &path.child("behavior")));
    }
    errs
}

/// `minReplicas` and `maxReplicas` of an autoscaler.
fn replica_bounds(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let min = int(spec, "minReplicas");
    let max = int(spec, "maxReplicas").unwrap_or(0);
    if let Some(m) = min.filter(|m| *m < 1) {
        errs.push(FieldError::invalid(path.child("minReplicas"), m, "must be greater than or equal to 1"));
    }
    if max < 1 {
        errs.push(FieldError::invalid(path.child("maxReplicas"), max, "must be greater than 0"));
    }
    if min.is_some_and(|m| max < m) {
        errs.push(FieldError::invalid(
            path.child("maxReplicas"),
            max,
            "must be greater than or equal to `minReplicas`",
        ));
    }
    errs
}

/// The Lease kind.
pub fn validate_lease(obj_v: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj_v, "spec").cloned().unwrap_or(Value::Null);
    let path = Path::new("spec");
    let mut errs = Vec::new();
    if let Some(d) = int(&spec, "leaseDurationSeconds").filter(|d| *d <= 0) {
        errs.push(FieldError::invalid(path.child("leaseDurationSeconds"), d, "must be greater than 0"));
    }
    if let Some(t) = int(&spec, "leaseTransitions").filter(|t| *t < 0) {
        errs.push(FieldError::invalid(path.child("leaseTransitions"), t, crate::NEGATIVE_MSG));
    }
    let preferred = s(&spec, "preferredHolder");
    if !preferred.is_empty() && s(&spec, "strategy").is_empty() {
        errs.push(FieldError::forbidden(
            path.child("preferredHolder"),
            "may only be specified if `strategy` is defined",
        ));
    }
    errs
}

/// The RuntimeClass kind: `handler` is a DNS label and immutable.
pub fn validate_runtime_class(obj_v: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let handler = s(obj_v, "handler");
    let hp = Path::new("handler");
    if let Some(old) = old {
        return (s(old, "handler") != handler)
            .then(|| FieldError::invalid(&hp, handler, crate::IMMUTABLE_MSG))
            .into_iter()
            .collect();
    }
    let mut errs: Vec<FieldError> =
        dns1123_label(handler).into_iter().map(|m| FieldError::invalid(&hp, handler, &m)).collect();
    if let Some(fixed) = get(obj_v, "overhead").and_then(|o| get(o, "podFixed")) {
        let res = json!({ "limits": fixed });
        errs.extend(container_requirements(&res, &Path::new("overhead").child("podFixed")));
    }
    if let Some(sched) = get(obj_v, "scheduling") {
        let sp = Path::new("scheduling");
        errs.extend(crate::meta::validate_labels(sched.get("nodeSelector"), &sp.child("nodeSelector")));
        errs.extend(super::scheduling::tolerations(arr(sched, "tolerations"), &sp.child("tolerations")));
    }
    errs
}

const REPORTING_INSTANCE_MAX: usize = 128;
const ACTION_MAX: usize = 128;
const REASON_MAX: usize = 128;
const NOTE_MAX: usize = 1024;

/// Core v1 Events: upstream's lenient legacy rules.
pub fn validate_core_event(obj_v: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let involved = get(obj_v, "involvedObject").cloned().unwrap_or(Value::Null);
    let fields = EventFields {
        involved_ns: s(&involved, "namespace").to_owned(),
        controller: s(obj_v, "reportingComponent").to_owned(),
        controller_field: "reportingComponent",
        message: s(obj_v, "message").to_owned(),
    };
    legacy_event(obj_v, &fields)
}

/// events.k8s.io/v1 Events: legacy rules plus the strict ones.
pub fn validate_events_event(obj_v: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let regarding = get(obj_v, "regarding").cloned().unwrap_or(Value::Null);
    let fields = EventFields {
        involved_ns: s(&regarding, "namespace").to_owned(),
        controller: s(obj_v, "reportingController").to_owned(),
        controller_field: "reportingController",
        message: s(obj_v, "note").to_owned(),
    };
    let mut errs = legacy_event(obj_v, &fields);
    if get(obj_v, "eventTime").is_none() {
        errs.push(FieldError::required(Path::new("eventTime"), ""));
    }
    let ty = s(obj_v, "type");
    if ty != "Normal" && ty != "Warning" {
        errs.push(FieldError::invalid(Path::new("type"), "", &format!("has invalid value: {ty}")));
    }
    for key in ["deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount", "deprecatedSource"]
    {
        let set = get(obj_v, key).is_some_and(|v| v != &json!(0) && v != &json!({}));
        if set {
            errs.push(FieldError::invalid(Path::new(key), "", "needs to be unset"));
        }
    }
    errs
}

struct EventFields {
    involved_ns: String,
    controller: String,
    controller_field: &'static str,
    message: String,
}

/// `legacyValidateEvent`.
fn legacy_event(obj_v: &Value, f: &EventFields) -> Vec<FieldError> {
    let ns = get(obj_v, "metadata").map(|m| s(m, "namespace")).unwrap_or("");
    let ip = Path::new("involvedObject").child("namespace");
    let mut errs = Vec::new();
    if get(obj_v, "eventTime").is_none() {
        let mismatch =
            if f.involved_ns.is_empty() { !ns.is_empty() && ns != "default" } else { ns != f.involved_ns };
        if mismatch {
            errs.push(FieldError::invalid(&ip, f.involved_ns.as_str(), "does not match event.namespace"));
        }
    } else {
        if f.involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(FieldError::invalid(&ip, f.involved_ns.as_str(), "does not match event.namespace"));
        }
        errs.extend(strict_event_fields(obj_v, f));
    }
    errs.extend(
        dns1123_subdomain(ns).into_iter().map(|m| FieldError::invalid(Path::new("namespace"), ns, &m)),
    );
    errs
}

fn strict_event_fields(obj_v: &Value, f: &EventFields) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let cp = Path::new(f.controller_field);
    if f.controller.is_empty() {
        errs.push(FieldError::required(&cp, ""));
    }
    errs.extend(
        qualified_name(&f.controller)
            .into_iter()
            .map(|m| FieldError::invalid(&cp, f.controller.as_str(), &m)),
    );
    let limits =
        [("reportingInstance", REPORTING_INSTANCE_MAX), ("action", ACTION_MAX), ("reason", REASON_MAX)];
    for (key, max) in limits {
        let v = s(obj_v, key);
        if v.is_empty() {
            errs.push(FieldError::required(Path::new(key), ""));
        }
        if v.len() > max {
            errs.push(FieldError::invalid(Path::new(key), "", &format!("can have at most {max} characters")));
        }
    }
    if f.message.len() > NOTE_MAX {
        errs.push(FieldError::invalid(
            Path::new("message"),
            "",
            &format!("can have at most {NOTE_MAX} characters"),
        ));
    }
    errs
}

//! StatefulSet rules (`ValidateStatefulSetSpec`, `ValidateStatefulSetUpdate`).

use serde_json::{Map, Value};

use crate::error::FieldError;
use crate::json::{get, s};
use crate::meta::labels_of;
use crate::names::percent;
use crate::path::Path;
use crate::selector::Selector;

use super::non_negative;
use super::pod_update::semantic_eq;
use super::workloads::{
    SELECTOR_MISMATCH, always_restart, int_or_string_text, required_selector, template_labels,
    template_meta_only,
};

/// `ValidateStatefulSetSpec`.
pub fn stateful_set_spec(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match s(spec, "podManagementPolicy") {
        "" => errs.push(FieldError::required(path.child("podManagementPolicy"), "")),
        "OrderedReady" | "Parallel" => {}
        other => errs.push(FieldError::invalid(
            path.child("podManagementPolicy"),
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    errs.extend(update_strategy(spec, &path.child("updateStrategy")));
    if let Some(policy) = get(spec, "persistentVolumeClaimRetentionPolicy") {
        let p = path.child("persistentVolumeClaimRetentionPolicy");
        for key in ["whenDeleted", "whenScaled"] {
            let v = s(policy, key);
            if v != "Retain" && v != "Delete" {
                errs.push(FieldError::not_supported(p.child(key), v, &["Retain", "Delete"]));
            }
        }
    }
    errs.extend(non_negative(spec, "replicas", path));
    errs.extend(non_negative(spec, "minReadySeconds", path));
    if let Some(ordinals) = get(spec, "ordinals") {
        errs.extend(non_negative(ordinals, "start", &path.child("ordinals")));
    }
    errs.extend(required_selector(spec, "statefulset", path));
    let template = get(spec, "template").cloned().unwrap_or(Value::Null);
    let tpath = path.child("template");
    match Selector::parse(get(spec, "selector")) {
        None => {
            let sel = get(spec, "selector").cloned().unwrap_or(Value::Null);
            errs.push(FieldError::invalid(path.child("selector"), sel, ""));
        }
        Some(sel) => {
            if !sel.is_empty() && !sel.matches(&labels_of(&template)) {
                let p = tpath.child("metadata").child("labels");
                errs.push(FieldError::invalid(p, template_labels(&template), SELECTOR_MISMATCH));
            }
            errs.extend(template_meta_only(&template, &tpath));
        }
    }
    errs.extend(always_restart(&template, "StatefulSet", &tpath));
    errs
}

fn update_strategy(spec: &Value, path: &Path) -> Vec<FieldError> {
    let strategy = get(spec, "updateStrategy").cloned().unwrap_or(Value::Null);
    let rolling = get(&strategy, "rollingUpdate");
    match (s(&strategy, "type"), rolling) {
        ("", _) => vec![FieldError::required(path, "")],
        ("OnDelete", Some(ru)) => vec![FieldError::invalid(
            path.child("rollingUpdate"),
            ru.clone(),
            "only allowed for updateStrategy 'RollingUpdate'",
        )],
        ("OnDelete", None) | ("RollingUpdate", None) => Vec::new(),
        ("RollingUpdate", Some(ru)) => rolling_update(ru, &path.child("rollingUpdate")),
        _ => vec![FieldError::invalid(path, strategy.clone(), "must be 'RollingUpdate' or 'OnDelete'")],
    }
}

fn rolling_update(ru: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = non_negative(ru, "partition", path).into_iter().collect();
    let Some(max) = get(ru, "maxUnavailable") else {
        return errs;
    };
    let p = path.child("maxUnavailable");
    let value = match max {
        Value::String(t) => {
            errs.extend(percent(t).into_iter().map(|m| FieldError::invalid_stringer(&p, t, &m)));
            t.strip_suffix('%').and_then(|d| d.parse::<i64>().ok()).unwrap_or(0)
        }
        other => {
            let n = other.as_i64().unwrap_or(0);
            if n < 0 {
                errs.push(FieldError::invalid(&p, n, crate::NEGATIVE_MSG));
            }
            n
        }
    };
    if value == 0 {
        errs.push(FieldError::invalid_stringer(&p, int_or_string_text(max), "cannot be 0"));
    }
    if max.is_string() && value > 100 {
        errs.push(FieldError::invalid_stringer(&p, int_or_string_text(max), "must not be greater than 100%"));
    }
    errs
}

const MUTABLE_FIELDS: [&str; 6] = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// `ValidateStatefulSetUpdate`: only the fields above may change.
pub fn stateful_set_update(spec: &Value, old: &Value, path: &Path) -> Vec<FieldError> {
    let strip = |v: &Value| -> Value {
        let mut m: Map<String, Value> = v.as_object().cloned().unwrap_or_default();
        for key in MUTABLE_FIELDS {
            m.remove(key);
        }
        Value::Object(m)
    };
    if semantic_eq(&strip(spec), &strip(old)) {
        return Vec::new();
    }
    let detail = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
    vec![FieldError::forbidden(path, detail)]
}

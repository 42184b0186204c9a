//! ResourceQuota and LimitRange (`ValidateResourceQuota`, `ValidateLimitRange`).

use std::collections::HashSet;

use serde_json::Value;
use wasmkube_api::quantity::Quantity;

use crate::error::FieldError;
use crate::json::{arr, get, obj, s, strings};
use crate::names::qualified_name;
use crate::path::Path;

use super::resources::{container_resource_name, is_standard_quota, quantity_value, resource_name};

const QUOTA_SCOPES: [&str; 7] = [
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
];

fn quota_resource_name(name: &str, p: &Path) -> Vec<FieldError> {
    let mut errs = resource_name(name, p);
    if !name.contains('/') && !is_standard_quota(name) {
        errs.push(FieldError::invalid(p, name, "must be a standard resource for quota"));
    }
    errs
}

/// The ResourceQuota kind.
pub fn validate_resource_quota(obj_v: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj_v, "spec").cloned().unwrap_or(Value::Null);
    let mut errs = Vec::new();
    let status = get(obj_v, "status").cloned().unwrap_or(Value::Null);
    for (root, holder, keys) in [("spec", &spec, &["hard"][..]), ("status", &status, &["hard", "used"][..])] {
        for key in keys {
            for (name, q) in obj(holder, key).into_iter().flatten() {
                let p = Path::new(root).child(key).key(name);
                errs.extend(quota_resource_name(name, &p));
                errs.extend(quantity_value(name, q, &p));
            }
        }
    }
    let scopes = strings(&spec, "scopes");
    let sp = Path::new("spec").child("scopes");
    for scope in &scopes {
        if !QUOTA_SCOPES.contains(&scope.as_str()) {
            errs.push(FieldError::invalid(&sp, Value::from(scopes.clone()), "unsupported scope"));
        }
    }
    let has = |x: &str| scopes.iter().any(|s| s == x);
    for (a, b) in [("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating")] {
        if has(a) && has(b) {
            errs.push(FieldError::invalid(&sp, Value::from(scopes.clone()), "conflicting scopes"));
        }
    }
    if let Some(old) = old {
        let old_scopes: HashSet<String> =
            get(old, "spec").map(|s| strings(s, "scopes")).unwrap_or_default().into_iter().collect();
        if old_scopes != scopes.iter().cloned().collect() {
            errs.push(FieldError::invalid(&sp, Value::from(scopes.clone()), crate::IMMUTABLE_MSG));
        }
    }
    errs
}

/// The LimitRange kind (`ValidateLimitRange`).
pub fn validate_limit_range(obj_v: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj_v, "spec").cloned().unwrap_or(Value::Null);
    let path = Path::new("spec").child("limits");
    let mut errs = Vec::new();
    let mut types = HashSet::new();
    for (i, item) in arr(&spec, "limits").iter().enumerate() {
        let p = path.index(i);
        let ty = s(item, "type");
        errs.extend(limit_type(ty, &p.child("type")));
        if !types.insert(ty) {
            errs.push(FieldError::duplicate(p.child("type"), ty));
        }
        errs.extend(limit_item(item, ty, &p));
    }
    errs
}

fn limit_type(ty: &str, p: &Path) -> Vec<FieldError> {
    let errs: Vec<FieldError> =
        qualified_name(ty).into_iter().map(|m| FieldError::invalid(p, ty, &m)).collect();
    if errs.is_empty() && !ty.contains('/') && !["Pod", "Container", "PersistentVolumeClaim"].contains(&ty) {
        return vec![FieldError::invalid(p, ty, "must be a standard limit type or fully qualified")];
    }
    errs
}

fn limit_item(item: &Value, ty: &str, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let lists = ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"];
    for key in lists {
        if ty == "Pod" && (key == "default" || key == "defaultRequest") {
            if obj(item, key).is_some_and(|m| !m.is_empty()) {
                errs.push(FieldError::forbidden(p.child(key), "may not be specified when `type` is 'Pod'"));
            }
            continue;
        }
        for name in obj(item, key).into_iter().flatten().map(|(k, _)| k) {
            let kp = p.child(key).key(name);
            errs.extend(if ty == "Pod" || ty == "Container" {
                container_resource_name(name, &kp)
            } else {
                resource_name(name, &kp)
            });
        }
    }
    if ty == "PersistentVolumeClaim" {
        let has = |k: &str| obj(item, k).is_some_and(|m| m.contains_key("storage"));
        if !has("min") && !has("max") {
            let detail = "either minimum or maximum storage value is required, but neither was provided";
            errs.push(FieldError::required(p.child("limits"), detail));
        }
    }
    errs.extend(limit_comparisons(item, p));
    errs
}

fn quantity_at(item: &Value, list: &str, name: &str) -> Option<Quantity> {
    obj(item, list)?.get(name).and_then(Quantity::from_json)
}

/// `(a, b, report at, value from, a's label, b's label)`: `a` may not
/// exceed `b`; upstream's message is "<a> value X is greater than <b> value Y".
const ORDER_RULES: [(&str, &str, &str, &str, &str, &str); 6] = [
    ("min", "max", "min", "min", "min", "max"),
    ("min", "defaultRequest", "defaultRequest", "defaultRequest", "min", "default request"),
    ("defaultRequest", "max", "defaultRequest", "defaultRequest", "default request", "max"),
    ("defaultRequest", "default", "defaultRequest", "defaultRequest", "default request", "default limit"),
    ("min", "default", "default", "min", "min", "default"),
    ("default", "max", "default", "max", "default", "max"),
];

/// The ordering rules between min, max, default and defaultRequest.
fn limit_comparisons(item: &Value, p: &Path) -> Vec<FieldError> {
    let mut names: Vec<&String> = ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"]
        .iter()
        .flat_map(|k| obj(item, k).into_iter().flatten().map(|(n, _)| n))
        .collect();
    names.sort();
    names.dedup();
    let mut errs = Vec::new();
    for name in names {
        let q = |list: &str| quantity_at(item, list, name);
        for (a, b, at, value, a_label, b_label) in ORDER_RULES {
            let (Some(qa), Some(qb)) = (q(a), q(b)) else {
                continue;
            };
            if qa > qb {
                let detail = format!("{a_label} value {qa} is greater than {b_label} value {qb}");
                let shown = q(value).map(|v| v.to_string()).unwrap_or_default();
                errs.push(FieldError::invalid_stringer(p.child(at).key(name), shown, &detail));
            }
        }
        if let Some(ratio) = q("maxLimitRequestRatio").filter(|r| *r < Quantity::from_int(1)) {
            let detail = format!("ratio {ratio} is less than 1");
            errs.push(FieldError::invalid_stringer(
                p.child("maxLimitRequestRatio").key(name),
                ratio,
                &detail,
            ));
        }
    }
    errs
}

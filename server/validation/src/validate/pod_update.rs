//! `ValidatePodUpdate`: a Pod's spec is immutable except for container
//! images, `activeDeadlineSeconds` (may only shrink), added tolerations and
//! removed scheduling gates.

use serde_json::{Map, Value};

use crate::error::FieldError;
use crate::json::{arr, get, int, s};
use crate::names::range_error;
use crate::path::Path;

const UPDATABLE: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// Compares `new` with `old` under upstream's update rules. The diff that
/// upstream appends to the "may not change fields" message is omitted.
pub fn validate_pod_update(new: &Value, old: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["containers", "initContainers"] {
        let (n, o) = (arr(new, key), arr(old, key));
        if n.len() != o.len() {
            errs.push(FieldError::forbidden(path.child(key), "pod updates may not add or remove containers"));
            return errs;
        }
        for (i, c) in n.iter().enumerate() {
            if s(c, "image").is_empty() {
                errs.push(FieldError::required(path.child(key).index(i).child("image"), ""));
            }
        }
    }
    if let Some(err) = active_deadline(new, old, path) {
        errs.push(err);
        return errs;
    }
    if let Some(err) = only_added_tolerations(new, old, path) {
        errs.push(err);
    }
    if !semantic_eq(&munged(new, old), old) {
        let detail = format!("pod updates may not change fields other than {UPDATABLE}");
        errs.push(FieldError::forbidden(path, &detail));
    }
    errs
}

fn active_deadline(new: &Value, old: &Value, path: &Path) -> Option<FieldError> {
    let p = path.child("activeDeadlineSeconds");
    match (int(new, "activeDeadlineSeconds"), int(old, "activeDeadlineSeconds")) {
        (Some(n), _) if !(0..=i64::from(i32::MAX)).contains(&n) => {
            Some(FieldError::invalid(p, n, &range_error(0, i32::MAX.into())))
        }
        (Some(n), Some(o)) if o < n => {
            Some(FieldError::invalid(p, n, "must be less than or equal to previous value"))
        }
        (None, Some(_)) => {
            Some(FieldError::invalid(p, Value::Null, "must not update from a positive integer to nil value"))
        }
        _ => None,
    }
}

/// `validateOnlyAddedTolerations`: every old toleration must still be there
/// (its `tolerationSeconds` may change).
fn only_added_tolerations(new: &Value, old: &Value, path: &Path) -> Option<FieldError> {
    let strip = |t: &Value| {
        let mut t = t.clone();
        if let Some(m) = t.as_object_mut() {
            m.remove("tolerationSeconds");
        }
        t
    };
    let new_list: Vec<Value> = arr(new, "tolerations").iter().map(strip).collect();
    let missing = arr(old, "tolerations").iter().any(|o| !new_list.iter().any(|n| semantic_eq(n, &strip(o))));
    missing.then(|| {
        FieldError::forbidden(
            path.child("tolerations"),
            "existing toleration can not be modified except its tolerationSeconds",
        )
    })
}

/// The new spec with every updatable field replaced by the old value.
fn munged(new: &Value, old: &Value) -> Value {
    let mut m = new.clone();
    for key in ["containers", "initContainers"] {
        if let Some(Value::Array(list)) = m.get_mut(key) {
            for (c, o) in list.iter_mut().zip(arr(old, key)) {
                c["image"] = get(o, "image").cloned().unwrap_or(Value::Null);
            }
        }
    }
    let Some(map) = m.as_object_mut() else {
        return m;
    };
    for key in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        match get(old, key) {
            Some(v) => {
                map.insert(key.to_owned(), v.clone());
            }
            None => {
                map.remove(key);
            }
        }
    }
    let old_grace = int(old, "terminationGracePeriodSeconds");
    if old_grace.is_some_and(|g| g < 0) && int(new, "terminationGracePeriodSeconds") == Some(1) {
        map.insert("terminationGracePeriodSeconds".into(), Value::from(old_grace));
    }
    m
}

/// Upstream's `Semantic.DeepEqual`: `null`, empty lists and empty maps equal
/// absent fields.
pub fn semantic_eq(a: &Value, b: &Value) -> bool {
    let (a, b) = (normalize(a), normalize(b));
    (is_empty(&a) && is_empty(&b)) || a == b
}

fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let cleaned: Map<String, Value> =
                map.iter().map(|(k, x)| (k.clone(), normalize(x))).filter(|(_, x)| !is_empty(x)).collect();
            Value::Object(cleaned)
        }
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

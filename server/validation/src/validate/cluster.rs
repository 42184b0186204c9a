//! Cluster-level core kinds: Namespace and Node. Volumes (PV/PVC) live in
//! `storage`, quotas and limit ranges in `quota`.

use std::collections::HashSet;

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{arr, get, obj, s, strings};
use crate::meta::kube_finalizer_name;
use crate::names::{CIDR_MSG, is_cidr, label_value, qualified_name};
use crate::path::Path;

use super::resources::quantity_value;
use super::scheduling::taint_effect;

/// The Namespace kind: `spec.finalizers` names.
pub fn validate_namespace(obj_v: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj_v, "spec").cloned().unwrap_or(Value::Null);
    let p = Path::new("spec").child("finalizers");
    let mut errs = Vec::new();
    for f in strings(&spec, "finalizers") {
        errs.extend(qualified_name(&f).into_iter().map(|m| FieldError::invalid(&p, f.as_str(), &m)));
        errs.extend(kube_finalizer_name(&f, &p));
    }
    errs
}

/// The Node kind (`ValidateNode` / `ValidateNodeUpdate`).
pub fn validate_node(obj_v: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj_v, "spec").cloned().unwrap_or(Value::Null);
    // Upstream reports taints under `metadata.taints`.
    let mut errs = taints(arr(&spec, "taints"), &Path::new("metadata").child("taints"));
    if let Some(status) = get(obj_v, "status") {
        for key in ["capacity", "allocatable"] {
            for (name, q) in obj(status, key).into_iter().flatten() {
                let p = Path::new("status").child(key).child(name);
                errs.extend(quantity_value(name, q, &p));
            }
        }
    }
    let cidrs = strings(&spec, "podCIDRs");
    let cp = Path::new("spec").child("podCIDRs");
    for (i, c) in cidrs.iter().enumerate() {
        if !is_cidr(c) {
            errs.push(FieldError::invalid(cp.index(i), c.as_str(), CIDR_MSG));
        }
    }
    if cidrs.len() > 1 {
        let dual = cidrs.len() == 2 && cidrs[0].contains(':') != cidrs[1].contains(':');
        if !dual {
            let detail = "may specify no more than one CIDR for each IP family";
            errs.push(FieldError::invalid(&cp, Value::from(cidrs.clone()), detail));
        }
        let mut seen = HashSet::new();
        for (i, c) in cidrs.iter().enumerate() {
            if !seen.insert(c) {
                errs.push(FieldError::duplicate(cp.index(i), c.as_str()));
            }
        }
    }
    if let Some(old) = old {
        errs.extend(node_update(&spec, &get(old, "spec").cloned().unwrap_or(Value::Null)));
    }
    errs
}

fn node_update(spec: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let old_cidrs = strings(old, "podCIDRs");
    let new_cidrs = strings(spec, "podCIDRs");
    if !old_cidrs.is_empty() {
        let detail = "node updates may not change podCIDR except from \"\" to valid";
        let changes = if old_cidrs.len() != new_cidrs.len() {
            1
        } else {
            old_cidrs.iter().zip(&new_cidrs).filter(|(a, b)| a != b).count()
        };
        for _ in 0..changes {
            errs.push(FieldError::forbidden(Path::new("spec").child("podCIDRs"), detail));
        }
    }
    let old_id = s(old, "providerID");
    if !old_id.is_empty() && old_id != s(spec, "providerID") {
        let detail = "node updates may not change providerID except from \"\" to valid";
        errs.push(FieldError::forbidden(Path::new("spec").child("providerID"), detail));
    }
    if s(old, "externalID") != s(spec, "externalID") {
        errs.push(FieldError::forbidden(Path::new("spec").child("externalID"), "may not be updated"));
    }
    errs
}

/// `validateNodeTaints`.
fn taints(list: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    for (i, t) in list.iter().enumerate() {
        let p = path.index(i);
        let (key, value, effect) = (s(t, "key"), s(t, "value"), s(t, "effect"));
        errs.extend(qualified_name(key).into_iter().map(|m| FieldError::invalid(p.child("key"), key, &m)));
        let msgs = label_value(value);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(p.child("value"), value, &msgs.join(";")));
        }
        errs.extend(taint_effect(effect, &p.child("effect")));
        if !seen.insert((effect, key)) {
            let dup = FieldError::duplicate(&p, t.clone())
                .with_detail("taints must be unique by key and effect pair");
            errs.push(dup);
        }
    }
    errs
}

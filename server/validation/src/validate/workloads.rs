//! Pod controllers: apps `validation.go` (Deployment, ReplicaSet, DaemonSet,
//! StatefulSet, ControllerRevision) and core's ReplicationController, plus
//! the selector immutability their registry strategies add on update.

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{get, int, obj, s};
use crate::meta::{labels_of, validate_annotations, validate_labels};
use crate::names::percent;
use crate::path::Path;
use crate::selector::{self, Selector};

use super::pod_spec::validate_template_spec;
use super::{immutable, non_negative};

pub(super) const SELECTOR_MISMATCH: &str = "`selector` does not match template `labels`";

pub(super) fn spec_of(obj: &Value) -> Value {
    get(obj, "spec").cloned().unwrap_or(Value::Null)
}

/// `spec.selector` may not change once set (apps/v1 strategies).
pub(super) fn selector_immutable(obj: &Value, old: Option<&Value>) -> Option<FieldError> {
    let old_spec = spec_of(old?);
    let new_spec = spec_of(obj);
    immutable(get(&new_spec, "selector"), get(&old_spec, "selector"), &Path::new("spec").child("selector"))
}

/// The required, non-empty `metav1.LabelSelector` of apps controllers.
pub(super) fn required_selector(spec: &Value, kind: &str, path: &Path) -> Vec<FieldError> {
    let Some(sel) = get(spec, "selector") else {
        return vec![FieldError::required(path.child("selector"), "")];
    };
    let mut errs = selector::validate(sel, &path.child("selector"));
    if selector::has_no_terms(sel) {
        let detail = format!("empty selector is invalid for {kind}");
        errs.push(FieldError::invalid(path.child("selector"), sel.clone(), &detail));
    }
    errs
}

/// `ValidatePodTemplateSpecForReplicaSet`: selector match, template
/// validation, `restartPolicy: Always`, no `activeDeadlineSeconds`.
fn template_for_controller(spec: &Value, kind: &str, selector: &Selector, path: &Path) -> Vec<FieldError> {
    let Some(template) = get(spec, "template") else {
        return vec![FieldError::required(path, "")];
    };
    let mut errs = Vec::new();
    if !selector.is_empty() && !selector.matches(&labels_of(template)) {
        let labels = template_labels(template);
        errs.push(FieldError::invalid(path.child("metadata").child("labels"), labels, SELECTOR_MISMATCH));
    }
    errs.extend(validate_template_spec(template, path));
    errs.extend(always_restart(template, kind, path));
    errs
}

pub(super) fn template_labels(template: &Value) -> Value {
    get(template, "metadata").and_then(|m| get(m, "labels")).cloned().unwrap_or(Value::Null)
}

pub(super) fn always_restart(template: &Value, kind: &str, path: &Path) -> Vec<FieldError> {
    let spec = get(template, "spec").cloned().unwrap_or(Value::Null);
    let mut errs = Vec::new();
    let policy = s(&spec, "restartPolicy");
    if policy != "Always" {
        errs.push(FieldError::not_supported(path.child("spec").child("restartPolicy"), policy, &["Always"]));
    }
    if get(&spec, "activeDeadlineSeconds").is_some() {
        let detail = format!("activeDeadlineSeconds in {kind} is not Supported");
        errs.push(FieldError::forbidden(path.child("spec").child("activeDeadlineSeconds"), &detail));
    }
    errs
}

/// `ValidateReplicaSetSpec` (Deployments share most of it).
fn replica_set_spec(spec: &Value, selector_kind: &str, template_kind: &str, path: &Path) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = non_negative(spec, "replicas", path).into_iter().collect();
    errs.extend(non_negative(spec, "minReadySeconds", path));
    errs.extend(required_selector(spec, selector_kind, path));
    match Selector::parse(get(spec, "selector")) {
        Some(sel) => errs.extend(template_for_controller(spec, template_kind, &sel, &path.child("template"))),
        None => {
            let sel = get(spec, "selector").cloned().unwrap_or(Value::Null);
            errs.push(FieldError::invalid(path.child("selector"), sel, "invalid label selector"));
        }
    }
    errs
}

/// The ReplicaSet kind.
pub fn validate_replica_set(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = replica_set_spec(&spec_of(obj), "deployment", "ReplicaSet", &Path::new("spec"));
    errs.extend(selector_immutable(obj, old));
    errs
}

/// The Deployment kind.
pub fn validate_deployment(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = spec_of(obj);
    let path = Path::new("spec");
    let mut errs = replica_set_spec(&spec, "deployment", "Deployment", &path);
    errs.extend(deployment_strategy(&spec, &path.child("strategy")));
    errs.extend(non_negative(&spec, "revisionHistoryLimit", &path));
    if let Some(pds) = int(&spec, "progressDeadlineSeconds") {
        errs.extend(non_negative(&spec, "progressDeadlineSeconds", &path));
        if pds <= int(&spec, "minReadySeconds").unwrap_or(0) {
            let p = path.child("progressDeadlineSeconds");
            errs.push(FieldError::invalid(p, pds, "must be greater than minReadySeconds"));
        }
    }
    errs.extend(selector_immutable(obj, old));
    errs
}

fn deployment_strategy(spec: &Value, path: &Path) -> Vec<FieldError> {
    let strategy = get(spec, "strategy").cloned().unwrap_or(Value::Null);
    match s(&strategy, "type") {
        "Recreate" if get(&strategy, "rollingUpdate").is_some() => vec![FieldError::forbidden(
            path.child("rollingUpdate"),
            "may not be specified when strategy `type` is 'Recreate'",
        )],
        "Recreate" => Vec::new(),
        "RollingUpdate" => match get(&strategy, "rollingUpdate") {
            None => vec![FieldError::required(
                path.child("rollingUpdate"),
                "this should be defaulted and never be nil",
            )],
            Some(ru) => rolling_update_deployment(ru, &path.child("rollingUpdate")),
        },
        _ => vec![FieldError::not_supported(path, strategy.clone(), &["Recreate", "RollingUpdate"])],
    }
}

fn rolling_update_deployment(ru: &Value, path: &Path) -> Vec<FieldError> {
    let unavailable = ru.get("maxUnavailable").cloned().unwrap_or(Value::Null);
    let surge = ru.get("maxSurge").cloned().unwrap_or(Value::Null);
    let mut errs = int_or_percent(&unavailable, &path.child("maxUnavailable"));
    errs.extend(int_or_percent(&surge, &path.child("maxSurge")));
    if int_or_percent_value(&unavailable) == 0 && int_or_percent_value(&surge) == 0 {
        let detail = "may not be 0 when `maxSurge` is 0";
        errs.push(FieldError::invalid_stringer(
            path.child("maxUnavailable"),
            int_or_string_text(&unavailable),
            detail,
        ));
    }
    errs.extend(not_more_than_100(&unavailable, &path.child("maxUnavailable")));
    errs
}

/// `IntOrString.String()`: how upstream prints these values.
pub(super) fn int_or_string_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "0".to_owned(),
    }
}

/// `ValidatePositiveIntOrPercent`.
pub(super) fn int_or_percent(v: &Value, path: &Path) -> Vec<FieldError> {
    match v {
        Value::String(text) => {
            percent(text).into_iter().map(|m| FieldError::invalid_stringer(path, text, &m)).collect()
        }
        Value::Number(n) if n.as_i64().unwrap_or(0) < 0 => {
            vec![FieldError::invalid(path, n.as_i64().unwrap_or(0), crate::NEGATIVE_MSG)]
        }
        _ => Vec::new(),
    }
}

pub(super) fn int_or_percent_value(v: &Value) -> i64 {
    match v {
        Value::String(text) => text.strip_suffix('%').and_then(|d| d.parse().ok()).unwrap_or(0),
        other => other.as_i64().unwrap_or(0),
    }
}

/// `IsNotMoreThan100Percent`.
pub(super) fn not_more_than_100(v: &Value, path: &Path) -> Option<FieldError> {
    let is_percent = v.as_str().is_some_and(|t| percent(t).is_empty());
    (is_percent && int_or_percent_value(v) > 100)
        .then(|| FieldError::invalid_stringer(path, int_or_string_text(v), "must not be greater than 100%"))
}

/// The ControllerRevision kind: `data` is required and immutable.
pub fn validate_controller_revision(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if get(obj, "data").is_none() {
        errs.push(FieldError::required(Path::new("data"), "data is mandatory"));
    }
    errs.extend(non_negative(obj, "revision", &Path::root()));
    if let Some(old) = old {
        errs.extend(immutable(get(obj, "data"), get(old, "data"), &Path::new("data")));
    }
    errs
}

/// The ReplicationController kind (`ValidateReplicationControllerSpec`).
pub fn validate_replication_controller(obj: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let spec = spec_of(obj);
    let path = Path::new("spec");
    let mut errs: Vec<FieldError> = non_negative(&spec, "minReadySeconds", &path).into_iter().collect();
    let selector = obj_map_pairs(&spec, "selector");
    if selector.is_empty() {
        errs.push(FieldError::required(path.child("selector"), ""));
    }
    errs.extend(non_negative(&spec, "replicas", &path));
    let Some(template) = get(&spec, "template") else {
        errs.push(FieldError::required(path.child("template"), ""));
        return errs;
    };
    let tpath = path.child("template");
    let labels = labels_of(template);
    let matches = selector.iter().all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v));
    if !selector.is_empty() && !matches {
        errs.push(FieldError::invalid(
            tpath.child("metadata").child("labels"),
            template_labels(template),
            SELECTOR_MISMATCH,
        ));
    }
    errs.extend(validate_template_spec(template, &tpath));
    errs.extend(always_restart(template, "ReplicationController", &tpath));
    errs
}

fn obj_map_pairs(v: &Value, key: &str) -> Vec<(String, String)> {
    obj(v, key)
        .map(|m| m.iter().map(|(k, x)| (k.clone(), x.as_str().unwrap_or_default().to_owned())).collect())
        .unwrap_or_default()
}

/// The StatefulSet kind: the template's pod spec is validated only for
/// labels and annotations (upstream's known gap), and most of the spec is
/// immutable on update.
pub fn validate_stateful_set(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = spec_of(obj);
    let path = Path::new("spec");
    let mut errs = super::statefulset::stateful_set_spec(&spec, &path);
    if let Some(old) = old {
        errs.extend(super::statefulset::stateful_set_update(&spec, &spec_of(old), &path));
    }
    errs
}

/// Template labels/annotations only: what upstream checks for StatefulSets.
pub fn template_meta_only(template: &Value, path: &Path) -> Vec<FieldError> {
    let meta = get(template, "metadata").cloned().unwrap_or(Value::Null);
    let mut errs = validate_labels(meta.get("labels"), &path.child("labels"));
    errs.extend(validate_annotations(meta.get("annotations"), &path.child("annotations")));
    errs
}

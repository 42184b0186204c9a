//! `metadata` validation shared by every kind (apimachinery's
//! `ValidateObjectMeta` plus core's finalizer-name rule).

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{arr, get, int, obj, s, strings};
use crate::names::{NameRule, check_name, label_value, qualified_name};
use crate::path::Path;

/// Upstream's `TotalAnnotationSizeLimitB` (256 KiB, keys plus values).
pub const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

/// How a kind's metadata is checked.
#[derive(Debug, Clone, Copy)]
pub struct MetaRules {
    /// The rule for `metadata.name` and `metadata.generateName`.
    pub name: NameRule,
    /// Whether the kind lives in a namespace.
    pub namespaced: bool,
}

/// Validates `metadata` on create. A missing name is accepted when
/// `generateName` is set, because the API server generates the name after
/// validation in wasmkube (upstream generates it first).
pub fn validate_create(obj: &Value, rules: MetaRules) -> Vec<FieldError> {
    let meta = get(obj, "metadata").cloned().unwrap_or(Value::Null);
    let path = Path::new("metadata");
    let mut errs = Vec::new();
    let generate = s(&meta, "generateName");
    if !generate.is_empty() {
        for m in check_name(rules.name, generate, true) {
            errs.push(FieldError::invalid(path.child("generateName"), generate, &m));
        }
    }
    let name = s(&meta, "name");
    if name.is_empty() {
        if generate.is_empty() {
            errs.push(FieldError::required(path.child("name"), "name or generateName is required"));
        }
    } else {
        for m in check_name(rules.name, name, false) {
            errs.push(FieldError::invalid(path.child("name"), name, &m));
        }
    }
    errs.extend(validate_namespace(&meta, rules.namespaced, &path));
    errs.extend(validate_common(&meta, &path));
    errs
}

/// Validates `metadata` on update: the same content rules minus the name
/// (which cannot change), plus "no new finalizers while deleting".
pub fn validate_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let meta = get(obj, "metadata").cloned().unwrap_or(Value::Null);
    let old_meta = get(old, "metadata").cloned().unwrap_or(Value::Null);
    let path = Path::new("metadata");
    let mut errs = Vec::new();
    if get(&old_meta, "deletionTimestamp").is_some() {
        let old_f = strings(&old_meta, "finalizers");
        let mut extra: Vec<String> =
            strings(&meta, "finalizers").into_iter().filter(|f| !old_f.contains(f)).collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            let list = crate::go_repr::go_value("", &Value::from(extra));
            let detail = format!(
                "no new finalizers can be added if the object is being deleted, found new finalizers {list}"
            );
            errs.push(FieldError::forbidden(path.child("finalizers"), &detail));
        }
    }
    errs.extend(validate_common(&meta, &path));
    errs
}

fn validate_namespace(meta: &Value, namespaced: bool, path: &Path) -> Vec<FieldError> {
    let ns = s(meta, "namespace");
    let p = path.child("namespace");
    match (namespaced, ns.is_empty()) {
        (true, true) => vec![FieldError::required(p, "")],
        (true, false) => check_name(NameRule::Label, ns, false)
            .into_iter()
            .map(|m| FieldError::invalid(&p, ns, &m))
            .collect(),
        (false, false) => vec![FieldError::forbidden(p, "not allowed on this type")],
        (false, true) => Vec::new(),
    }
}

fn validate_common(meta: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if int(meta, "generation").is_some_and(|g| g < 0) {
        let g = int(meta, "generation").unwrap_or(0);
        errs.push(FieldError::invalid(path.child("generation"), g, crate::NEGATIVE_MSG));
    }
    errs.extend(validate_labels(meta.get("labels"), &path.child("labels")));
    errs.extend(validate_annotations(meta.get("annotations"), &path.child("annotations")));
    errs.extend(validate_owner_references(arr(meta, "ownerReferences"), &path.child("ownerReferences")));
    errs.extend(validate_finalizers(meta, &path.child("finalizers")));
    errs.extend(validate_managed_fields(arr(meta, "managedFields"), &path.child("managedFields")));
    errs
}

/// `ValidateLabels`: every key a qualified name, every value a label value;
/// all errors reported on the map's path, as upstream does.
pub fn validate_labels(labels: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let Some(map) = labels.and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut errs = Vec::new();
    for (k, v) in map {
        for m in qualified_name(k) {
            errs.push(FieldError::invalid(path, k.as_str(), &m));
        }
        let v = v.as_str().unwrap_or_default();
        for m in label_value(v) {
            errs.push(FieldError::invalid(path, v, &m));
        }
    }
    errs
}

/// `ValidateAnnotations`: keys are case-insensitive qualified names; the
/// total size of keys and values is capped.
pub fn validate_annotations(annotations: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let Some(map) = annotations.and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut errs = Vec::new();
    let mut total = 0usize;
    for (k, v) in map {
        for m in qualified_name(&k.to_lowercase()) {
            errs.push(FieldError::invalid(path, k.as_str(), &m));
        }
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    if total > ANNOTATIONS_MAX_BYTES {
        errs.push(FieldError::too_long(path, ANNOTATIONS_MAX_BYTES));
    }
    errs
}

fn validate_owner_references(refs: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut first_controller: Option<String> = None;
    for r in refs {
        let api_version = s(r, "apiVersion");
        let version = api_version.rsplit('/').next().unwrap_or("");
        if version.is_empty() {
            errs.push(FieldError::invalid(
                path.child("apiVersion"),
                api_version,
                "version must not be empty",
            ));
        }
        for key in ["kind", "name", "uid"] {
            if s(r, key).is_empty() {
                errs.push(FieldError::invalid(path.child(key), "", "must not be empty"));
            }
        }
        if api_version == "v1" && s(r, "kind") == "Event" {
            errs.push(FieldError::invalid(
                path,
                r.clone(),
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            let current = format!("{}/{}", s(r, "kind"), s(r, "name"));
            match &first_controller {
                Some(first) => {
                    let detail = format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                    );
                    errs.push(FieldError::invalid(path, Value::from(refs.to_vec()), &detail));
                }
                None => first_controller = Some(current),
            }
        }
    }
    errs
}

fn validate_finalizers(meta: &Value, path: &Path) -> Vec<FieldError> {
    let finalizers = strings(meta, "finalizers");
    let mut errs = Vec::new();
    for f in &finalizers {
        for m in qualified_name(f) {
            errs.push(FieldError::invalid(path, f.as_str(), &m));
        }
    }
    if finalizers.iter().any(|f| f == "orphan") && finalizers.iter().any(|f| f == "foregroundDeletion") {
        let detail = "finalizer orphan and foregroundDeletion cannot be both set";
        errs.push(FieldError::invalid(path, Value::from(finalizers.clone()), detail));
    }
    for (i, f) in finalizers.iter().enumerate() {
        errs.extend(kube_finalizer_name(f, &path.index(i)));
    }
    errs
}

/// core's `validateKubeFinalizerName`: unqualified finalizers must be one of
/// the built-in ones.
pub fn kube_finalizer_name(f: &str, path: &Path) -> Option<FieldError> {
    (!f.contains('/') && !STANDARD_FINALIZERS.contains(&f)).then(|| {
        FieldError::invalid(path, f, "name is neither a standard finalizer name nor is it fully qualified")
    })
}

fn validate_managed_fields(entries: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let p = path.index(i);
        let op = s(e, "operation");
        if op != "Apply" && op != "Update" {
            errs.push(FieldError::invalid(p.child("operation"), op, "must be `Apply` or `Update`"));
        }
        let ft = s(e, "fieldsType");
        if !ft.is_empty() && ft != "FieldsV1" {
            errs.push(FieldError::invalid(p.child("fieldsType"), ft, "must be `FieldsV1`"));
        }
    }
    errs
}

/// Labels of a template or object as a map, for selector matching.
pub fn labels_of(meta_holder: &Value) -> Vec<(String, String)> {
    obj(meta_holder, "metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
        .unwrap_or_default()
}

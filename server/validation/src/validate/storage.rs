//! PersistentVolume and PersistentVolumeClaim (`ValidatePersistentVolume*`,
//! `ValidatePersistentVolumeClaim*`).

use serde_json::Value;
use wasmkube_api::quantity::Quantity;

use crate::error::FieldError;
use crate::json::{get, obj, s, strings};
use crate::names::dns1123_subdomain;
use crate::path::Path;

use super::pod_update::semantic_eq;
use super::scheduling::node_selector;
use super::volume::csi_driver;

const ACCESS_MODES: [&str; 4] = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
const VOLUME_MODES: [&str; 2] = ["Block", "Filesystem"];
const PV_SOURCES: [&str; 22] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "glusterfs",
    "flocker",
    "nfs",
    "rbd",
    "quobyte",
    "cephfs",
    "iscsi",
    "cinder",
    "fc",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "scaleIO",
    "local",
    "storageos",
    "csi",
];

fn access_modes(spec: &Value, path: &Path, required_detail: &str) -> Vec<FieldError> {
    let modes = strings(spec, "accessModes");
    let p = path.child("accessModes");
    let mut errs = Vec::new();
    if modes.is_empty() {
        errs.push(FieldError::required(&p, required_detail));
    }
    let (mut rwop, mut other) = (false, false);
    for m in &modes {
        if !ACCESS_MODES.contains(&m.as_str()) {
            errs.push(FieldError::not_supported(&p, m.as_str(), &ACCESS_MODES));
        } else if m == "ReadWriteOncePod" {
            rwop = true;
        } else {
            other = true;
        }
    }
    if rwop && other {
        errs.push(FieldError::forbidden(&p, "may not use ReadWriteOncePod with other access modes"));
    }
    errs
}

fn storage_class_and_mode(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let class = s(spec, "storageClassName");
    if !class.is_empty() {
        errs.extend(
            dns1123_subdomain(class)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("storageClassName"), class, &m)),
        );
    }
    if let Some(mode) = get(spec, "volumeMode").and_then(Value::as_str)
        && !VOLUME_MODES.contains(&mode)
    {
        errs.push(FieldError::not_supported(path.child("volumeMode"), mode, &VOLUME_MODES));
    }
    errs
}

/// The PersistentVolume kind.
pub fn validate_persistent_volume(obj_v: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj_v, "spec").cloned().unwrap_or(Value::Null);
    let path = Path::new("spec");
    let mut errs = access_modes(&spec, &path, "");
    errs.extend(capacity(&spec, &path.child("capacity")));
    let reclaim = s(&spec, "persistentVolumeReclaimPolicy");
    let policies = ["Delete", "Recycle", "Retain"];
    if !reclaim.is_empty() && !policies.contains(&reclaim) {
        errs.push(FieldError::not_supported(path.child("persistentVolumeReclaimPolicy"), reclaim, &policies));
    }
    let affinity = get(&spec, "nodeAffinity").and_then(|a| get(a, "required"));
    if let Some(required) = affinity {
        errs.extend(node_selector(required, &path.child("nodeAffinity").child("required")));
    }
    errs.extend(pv_source(&spec, affinity.is_some(), &path));
    if let Some(hp) = get(&spec, "hostPath") {
        let root = s(hp, "path").trim_end_matches('/').is_empty() && !s(hp, "path").is_empty();
        if root && reclaim == "Recycle" {
            let detail = "may not be 'recycle' for a hostPath mount of '/'";
            errs.push(FieldError::forbidden(path.child("persistentVolumeReclaimPolicy"), detail));
        }
    }
    errs.extend(storage_class_and_mode(&spec, &path));
    if let Some(old) = old {
        errs.extend(pv_update(&spec, &get(old, "spec").cloned().unwrap_or(Value::Null)));
    }
    errs
}

fn capacity(spec: &Value, p: &Path) -> Vec<FieldError> {
    let cap = obj(spec, "capacity");
    let mut errs = Vec::new();
    if cap.is_none_or(|c| c.is_empty()) {
        errs.push(FieldError::required(p, ""));
    }
    if cap.is_none_or(|c| !c.contains_key("storage") || c.len() > 1) {
        let v = get(spec, "capacity").cloned().unwrap_or(Value::Null);
        errs.push(FieldError::not_supported(p, v, &["storage"]));
    }
    for (name, q) in cap.into_iter().flatten() {
        if let Some(q) = Quantity::from_json(q)
            && q <= Quantity::from_int(0)
        {
            errs.push(FieldError::invalid(p.key(name), q.to_string(), "must be greater than zero"));
        }
    }
    errs
}

fn pv_source(spec: &Value, has_affinity: bool, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut found = false;
    for key in PV_SOURCES {
        let Some(src) = get(spec, key) else { continue };
        if found {
            errs.push(FieldError::forbidden(path.child(key), "may not specify more than 1 volume type"));
            continue;
        }
        found = true;
        let p = path.child(key);
        match key {
            "hostPath" | "local" if s(src, "path").is_empty() => {
                errs.push(FieldError::required(p.child("path"), ""))
            }
            "nfs" => {
                for k in ["server", "path"] {
                    if s(src, k).is_empty() {
                        errs.push(FieldError::required(p.child(k), ""));
                    }
                }
            }
            "csi" => {
                errs.extend(csi_driver(s(src, "driver"), &p.child("driver")));
                if s(src, "volumeHandle").is_empty() {
                    errs.push(FieldError::required(p.child("volumeHandle"), ""));
                }
            }
            _ => {}
        }
        if key == "local" && !has_affinity {
            errs.push(FieldError::required(
                path.child("nodeAffinity"),
                "Local volume requires node affinity",
            ));
        }
    }
    if !found {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
    errs
}

fn pv_update(spec: &Value, old: &Value) -> Vec<FieldError> {
    let source = |v: &Value| -> Value {
        let picked: serde_json::Map<String, Value> =
            PV_SOURCES.iter().filter_map(|k| get(v, k).map(|x| ((*k).to_owned(), x.clone()))).collect();
        Value::Object(picked)
    };
    let mut errs = Vec::new();
    if !semantic_eq(&source(spec), &source(old)) {
        let p = Path::new("spec").child("persistentvolumesource");
        errs.push(FieldError::forbidden(p, "spec.persistentvolumesource is immutable after creation"));
    }
    errs.extend(super::immutable(get(spec, "volumeMode"), get(old, "volumeMode"), &Path::new("volumeMode")));
    if let Some(old_aff) = get(old, "nodeAffinity") {
        let new_aff = get(spec, "nodeAffinity").cloned().unwrap_or(Value::Null);
        if !semantic_eq(&new_aff, old_aff) {
            let detail = format!("{}, except for updating from beta label to GA", crate::IMMUTABLE_MSG);
            errs.push(FieldError::invalid(Path::new("nodeAffinity"), new_aff, &detail));
        }
    }
    errs
}

/// `ValidatePersistentVolumeClaimSpec`.
pub fn pvc_spec(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = access_modes(spec, path, "at least 1 access mode is required");
    if let Some(sel) = get(spec, "selector") {
        errs.extend(crate::selector::validate(sel, &path.child("selector")));
    }
    let storage_path = path.child("resources").key("storage");
    let storage = get(spec, "resources").and_then(|r| obj(r, "requests")).and_then(|r| r.get("storage"));
    match storage.map(|q| (q, Quantity::from_json(q))) {
        None => errs.push(FieldError::required(&storage_path, "")),
        Some((raw, None)) => {
            errs.push(FieldError::invalid(&storage_path, raw.clone(), "must be a valid resource quantity"))
        }
        Some((_, Some(q))) if q <= Quantity::from_int(0) => {
            errs.push(FieldError::invalid(&storage_path, q.to_string(), "must be greater than zero"));
        }
        _ => {}
    }
    errs.extend(storage_class_and_mode(spec, path));
    for key in ["dataSource", "dataSourceRef"] {
        if let Some(ds) = get(spec, key) {
            errs.extend(data_source(ds, &path.child(key)));
        }
    }
    errs
}

fn data_source(ds: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["name", "kind"] {
        if s(ds, key).is_empty() {
            errs.push(FieldError::required(p.child(key), ""));
        }
    }
    let group = s(ds, "apiGroup");
    if group.is_empty() && s(ds, "kind") != "PersistentVolumeClaim" {
        let detail = "must be 'PersistentVolumeClaim' when referencing the default apiGroup";
        errs.push(FieldError::invalid(p, s(ds, "kind"), detail));
    }
    if !group.is_empty() {
        errs.extend(
            dns1123_subdomain(group).into_iter().map(|m| FieldError::invalid(p.child("apiGroup"), group, &m)),
        );
    }
    errs
}

/// `ValidatePersistentVolumeClaimTemplate` (generic ephemeral volumes).
pub fn pvc_template(t: &Value, path: &Path) -> Vec<FieldError> {
    let meta = get(t, "metadata").cloned().unwrap_or(Value::Null);
    let mp = path.child("metadata");
    let mut errs = crate::meta::validate_annotations(meta.get("annotations"), &mp.child("annotations"));
    errs.extend(crate::meta::validate_labels(meta.get("labels"), &mp.child("labels")));
    let keys: Vec<String> = meta.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    for key in keys {
        if key != "labels" && key != "annotations" && get(&meta, &key).is_some() {
            errs.push(FieldError::forbidden(mp.child(&key), "cannot be set"));
        }
    }
    let spec = get(t, "spec").cloned().unwrap_or(Value::Null);
    errs.extend(pvc_spec(&spec, &path.child("spec")));
    errs
}

/// The PersistentVolumeClaim kind.
pub fn validate_persistent_volume_claim(obj_v: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj_v, "spec").cloned().unwrap_or(Value::Null);
    let mut errs = pvc_spec(&spec, &Path::new("spec"));
    if let Some(old) = old {
        errs.extend(pvc_update(obj_v, &spec, old));
    }
    errs
}

/// Claims are immutable except `volumeName` (once), the storage request of a
/// bound claim (never below status capacity) and setting a nil class.
fn pvc_update(obj_v: &Value, spec: &Value, old: &Value) -> Vec<FieldError> {
    let old_spec = get(old, "spec").cloned().unwrap_or(Value::Null);
    let bound = get(obj_v, "status").map(|st| s(st, "phase")) == Some("Bound");
    let mut new_cmp = spec.clone();
    let mut old_cmp = old_spec.clone();
    if s(&old_spec, "volumeName").is_empty() {
        old_cmp["volumeName"] = get(spec, "volumeName").cloned().unwrap_or(Value::Null);
    }
    if get(&old_spec, "storageClassName").is_none() {
        old_cmp["storageClassName"] = get(spec, "storageClassName").cloned().unwrap_or(Value::Null);
    }
    if bound {
        let old_storage = old_cmp.pointer("/resources/requests/storage").cloned();
        if let (Some(slot), Some(v)) = (new_cmp.pointer_mut("/resources/requests/storage"), old_storage) {
            *slot = v;
        }
    }
    let mut errs = Vec::new();
    if !semantic_eq(&new_cmp, &old_cmp) {
        let detail = "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";
        errs.push(FieldError::forbidden(Path::new("spec"), detail));
    }
    let size = |v: &Value, ptr: &str| v.pointer(ptr).and_then(Quantity::from_json);
    let (new_size, old_size) =
        (size(spec, "/resources/requests/storage"), size(&old_spec, "/resources/requests/storage"));
    if let (Some(n), Some(o)) = (new_size, old_size) {
        let status_size = old.pointer("/status/capacity/storage").and_then(Quantity::from_json);
        if n < o && status_size.is_some_and(|st| n <= st) {
            let p = Path::new("spec").child("resources").child("requests").child("storage");
            errs.push(FieldError::forbidden(p, "field can not be less than status.capacity"));
        }
    }
    errs.extend(super::immutable(
        get(spec, "volumeMode"),
        get(&old_spec, "volumeMode"),
        &Path::new("volumeMode"),
    ));
    errs
}

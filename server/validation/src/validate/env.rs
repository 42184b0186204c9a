//! Container `env` and `envFrom` (core `ValidateEnv`, `ValidateEnvFrom`).

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{get, s};
use crate::names::{config_map_key, dns1123_subdomain, env_var_name, mask_trailing_dash, qualified_name};
use crate::path::Path;

/// The downward-API field paths a container env var may reference.
const ENV_FIELD_PATHS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// What `ConvertDownwardAPIFieldLabel` accepts for `v1` Pods.
const CONVERTIBLE_FIELD_PATHS: [&str; 14] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.serviceAccountName",
    "spec.schedulerName",
    "status.phase",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

const RESOURCE_FIELD_PATHS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// `ValidateEnv`.
pub fn validate_env(vars: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ev) in vars.iter().enumerate() {
        let p = path.index(i);
        let name = s(ev, "name");
        if name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        } else {
            for m in env_var_name(name) {
                errs.push(FieldError::invalid(p.child("name"), name, &m));
            }
        }
        errs.extend(value_from(ev, &p.child("valueFrom")));
    }
    errs
}

fn value_from(ev: &Value, path: &Path) -> Vec<FieldError> {
    let Some(from) = get(ev, "valueFrom") else {
        return Vec::new();
    };
    let mut errs = Vec::new();
    let mut sources = 0;
    if let Some(f) = get(from, "fieldRef") {
        sources += 1;
        errs.extend(object_field_selector(f, &ENV_FIELD_PATHS, &path.child("fieldRef")));
    }
    if let Some(r) = get(from, "resourceFieldRef") {
        sources += 1;
        errs.extend(resource_field_selector(r, false, &path.child("resourceFieldRef")));
    }
    for key in ["configMapKeyRef", "secretKeyRef"] {
        if let Some(k) = get(from, key) {
            sources += 1;
            errs.extend(key_selector(k, &path.child(key)));
        }
    }
    if sources == 0 {
        let detail =
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`";
        errs.push(FieldError::invalid(path, "", detail));
    } else if !s(ev, "value").is_empty() {
        errs.push(FieldError::invalid(path, "", "may not be specified when `value` is not empty"));
    } else if sources > 1 {
        errs.push(FieldError::invalid(path, "", "may not have more than one field specified at a time"));
    }
    errs
}

/// `validateObjectFieldSelector`; `allowed` lists unsubscripted paths.
pub fn object_field_selector(f: &Value, allowed: &[&str], path: &Path) -> Vec<FieldError> {
    let api_version = s(f, "apiVersion");
    if api_version.is_empty() {
        return vec![FieldError::required(path.child("apiVersion"), "")];
    }
    let field_path = s(f, "fieldPath");
    if field_path.is_empty() {
        return vec![FieldError::required(path.child("fieldPath"), "")];
    }
    let (base, subscript) = split_subscript(field_path);
    let convert_err = if api_version != "v1" {
        Some(format!("unsupported pod version: {api_version}"))
    } else if !CONVERTIBLE_FIELD_PATHS.contains(&base) {
        Some(format!("field label not supported: {field_path}"))
    } else {
        None
    };
    if let Some(e) = convert_err {
        let detail = format!("error converting fieldPath: {e}");
        return vec![FieldError::invalid(path.child("fieldPath"), field_path, &detail)];
    }
    match (base, subscript) {
        ("metadata.annotations", Some(key)) => qname_errors(&key.to_lowercase(), path),
        ("metadata.labels", Some(key)) => qname_errors(key, path),
        (other, Some(_)) => vec![FieldError::invalid(path, other, "does not support subscript")],
        (other, None) if !allowed.contains(&other) => {
            vec![FieldError::not_supported(path.child("fieldPath"), other, allowed)]
        }
        _ => Vec::new(),
    }
}

fn qname_errors(key: &str, path: &Path) -> Vec<FieldError> {
    qualified_name(key).into_iter().map(|m| FieldError::invalid(path, key, &m)).collect()
}

/// `metadata.labels['app']` splits into (`metadata.labels`, `app`).
fn split_subscript(field_path: &str) -> (&str, Option<&str>) {
    let Some(open) = field_path.find("['") else {
        return (field_path, None);
    };
    match field_path[open + 2..].strip_suffix("']") {
        Some(key) => (&field_path[..open], Some(key)),
        None => (field_path, None),
    }
}

/// `validateContainerResourceFieldSelector`.
pub fn resource_field_selector(r: &Value, volume: bool, path: &Path) -> Vec<FieldError> {
    let resource = s(r, "resource");
    if volume && s(r, "containerName").is_empty() {
        return vec![FieldError::required(path.child("containerName"), "")];
    }
    if resource.is_empty() {
        return vec![FieldError::required(path.child("resource"), "")];
    }
    let hugepages = resource.starts_with("limits.hugepages-") || resource.starts_with("requests.hugepages-");
    if !RESOURCE_FIELD_PATHS.contains(&resource) && !hugepages {
        return vec![FieldError::not_supported(path.child("resource"), resource, &RESOURCE_FIELD_PATHS)];
    }
    Vec::new()
}

fn key_selector(k: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = s(k, "name");
    for m in dns1123_subdomain(name) {
        errs.push(FieldError::invalid(path.child("name"), name, &m));
    }
    let key = s(k, "key");
    if key.is_empty() {
        errs.push(FieldError::required(path.child("key"), ""));
    } else {
        for m in config_map_key(key) {
            errs.push(FieldError::invalid(path.child("key"), key, &m));
        }
    }
    errs
}

/// `ValidateEnvFrom`.
pub fn validate_env_from(sources: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ev) in sources.iter().enumerate() {
        let p = path.index(i);
        let prefix = s(ev, "prefix");
        if !prefix.is_empty() {
            for m in env_var_name(prefix) {
                errs.push(FieldError::invalid(p.child("prefix"), prefix, &m));
            }
        }
        let mut count = 0;
        for key in ["configMapRef", "secretRef"] {
            if let Some(src) = get(ev, key) {
                count += 1;
                errs.extend(env_source_name(src, &p.child(key)));
            }
        }
        if count == 0 {
            errs.push(FieldError::invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"));
        } else if count > 1 {
            errs.push(FieldError::invalid(path, "", "may not have more than one field specified at a time"));
        }
    }
    errs
}

/// ConfigMap/Secret env sources validate their name as a generateName prefix.
fn env_source_name(src: &Value, path: &Path) -> Vec<FieldError> {
    let name = s(src, "name");
    if name.is_empty() {
        return vec![FieldError::required(path.child("name"), "")];
    }
    dns1123_subdomain(&mask_trailing_dash(name))
        .into_iter()
        .map(|m| FieldError::invalid(path.child("name"), name, &m))
        .collect()
}

//! Pod volumes (`ValidateVolumes`, `validateVolumeSource` and the sources
//! wasmkube can serve: emptyDir, hostPath, secret, configMap, downwardAPI,
//! projected, persistentVolumeClaim, csi, ephemeral, nfs, gitRepo). Other
//! in-tree plugins are counted (exactly one source) but not inspected.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use wasmkube_api::quantity::Quantity;

use crate::error::FieldError;
use crate::json::{arr, get, int, s};
use crate::names::dns1123_label;
use crate::path::Path;

use super::env::{object_field_selector, resource_field_selector};

/// Valid volumes by name, with the source field each uses.
pub type VolumeKinds = HashMap<String, String>;

/// Source fields in upstream's checking order, with the name upstream uses
/// in the "more than 1 volume type" error (it differs for two of them).
const SOURCES: [(&str, &str); 30] = [
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
];

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const HOST_PATH_TYPES: [&str; 8] =
    ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"];
const VOLUME_FIELD_PATHS: [&str; 5] =
    ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"];

/// `ValidateVolumes`: returns the volumes that validated, by name.
pub fn validate_volumes(volumes: &[Value], path: &Path) -> (VolumeKinds, Vec<FieldError>) {
    let mut valid = VolumeKinds::new();
    let mut errs = Vec::new();
    for (i, vol) in volumes.iter().enumerate() {
        let p = path.index(i);
        let (kind, mut el) = volume_source(vol, &p);
        let name = s(vol, "name");
        if name.is_empty() {
            el.push(FieldError::required(p.child("name"), ""));
        } else {
            el.extend(
                dns1123_label(name).into_iter().map(|m| FieldError::invalid(p.child("name"), name, &m)),
            );
        }
        if valid.contains_key(name) {
            el.push(FieldError::duplicate(p.child("name"), name));
        }
        if el.is_empty() {
            valid.insert(name.to_owned(), kind);
        } else {
            errs.extend(el);
        }
    }
    (valid, errs)
}

fn volume_source(vol: &Value, path: &Path) -> (String, Vec<FieldError>) {
    let mut errs = Vec::new();
    let mut kind = String::new();
    for (field, err_name) in SOURCES {
        let Some(src) = get(vol, field) else {
            continue;
        };
        if !kind.is_empty() {
            errs.push(FieldError::forbidden(path.child(err_name), "may not specify more than 1 volume type"));
            continue;
        }
        kind = field.to_owned();
        errs.extend(source_errors(field, src, &path.child(field)));
    }
    if kind.is_empty() {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
    (kind, errs)
}

fn source_errors(field: &str, src: &Value, p: &Path) -> Vec<FieldError> {
    match field {
        "emptyDir" => empty_dir(src, p),
        "hostPath" => host_path(src, p),
        "gitRepo" => required(src, "repository", p)
            .into_iter()
            .chain(local_descending_path(s(src, "directory"), &p.child("directory")))
            .collect(),
        "secret" => required(src, "secretName", p).into_iter().chain(items_and_mode(src, p)).collect(),
        "configMap" => required(src, "name", p).into_iter().chain(items_and_mode(src, p)).collect(),
        "persistentVolumeClaim" => required(src, "claimName", p).into_iter().collect(),
        "nfs" => nfs(src, p),
        "downwardAPI" => downward_api(src, p),
        "projected" => projected(src, p),
        "csi" => csi_driver(s(src, "driver"), &p.child("driver")),
        "ephemeral" => match get(src, "volumeClaimTemplate") {
            None => vec![FieldError::required(p.child("volumeClaimTemplate"), "")],
            Some(t) => super::storage::pvc_template(t, &p.child("volumeClaimTemplate")),
        },
        _ => Vec::new(),
    }
}

fn required(src: &Value, key: &str, p: &Path) -> Option<FieldError> {
    s(src, key).is_empty().then(|| FieldError::required(p.child(key), ""))
}

fn empty_dir(src: &Value, p: &Path) -> Vec<FieldError> {
    let negative = get(src, "sizeLimit").and_then(Quantity::from_json).is_some_and(|q| q.is_negative());
    if negative {
        let detail = "SizeLimit field must be a valid resource quantity";
        return vec![FieldError::forbidden(p.child("sizeLimit"), detail)];
    }
    Vec::new()
}

fn host_path(src: &Value, p: &Path) -> Vec<FieldError> {
    let path = s(src, "path");
    if path.is_empty() {
        return vec![FieldError::required(p.child("path"), "")];
    }
    let mut errs: Vec<FieldError> = no_backsteps(path, &p.child("path")).into_iter().collect();
    if let Some(ty) = get(src, "type").and_then(Value::as_str)
        && !HOST_PATH_TYPES.contains(&ty)
    {
        errs.push(FieldError::not_supported(p.child("type"), ty, &HOST_PATH_TYPES));
    }
    errs
}

fn nfs(src: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = ["server", "path"].iter().filter_map(|k| required(src, k, p)).collect();
    let path = s(src, "path");
    if !path.starts_with('/') {
        errs.push(FieldError::invalid(p.child("path"), path, "must be an absolute path"));
    }
    errs
}

fn file_mode(holder: &Value, key: &str, p: &Path) -> Option<FieldError> {
    let mode = int(holder, key)?;
    (!(0..=0o777).contains(&mode)).then(|| FieldError::invalid(p.child(key), mode, FILE_MODE_MSG))
}

fn items_and_mode(src: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = file_mode(src, "defaultMode", p).into_iter().collect();
    for (i, item) in arr(src, "items").iter().enumerate() {
        errs.extend(key_to_path(item, &p.child("items").index(i)));
    }
    errs
}

/// `validateKeyToPath`.
fn key_to_path(item: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = ["key", "path"].iter().filter_map(|k| required(item, k, p)).collect();
    errs.extend(local_non_reserved_path(s(item, "path"), &p.child("path")));
    errs.extend(file_mode(item, "mode", p));
    errs
}

fn downward_api(src: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = file_mode(src, "defaultMode", p).into_iter().collect();
    for item in arr(src, "items") {
        errs.extend(downward_api_file(item, p));
    }
    errs
}

/// `validateDownwardAPIVolumeFile`; upstream reports on the source's path.
fn downward_api_file(item: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = required(item, "path", p).into_iter().collect();
    errs.extend(local_non_reserved_path(s(item, "path"), &p.child("path")));
    match (get(item, "fieldRef"), get(item, "resourceFieldRef")) {
        (Some(f), other) => {
            errs.extend(object_field_selector(f, &VOLUME_FIELD_PATHS, &p.child("fieldRef")));
            if other.is_some() {
                let detail = "fieldRef and resourceFieldRef can not be specified simultaneously";
                errs.push(FieldError::invalid(p, "resource", detail));
            }
        }
        (None, Some(r)) => errs.extend(resource_field_selector(r, true, &p.child("resourceFieldRef"))),
        (None, None) => {
            errs.push(FieldError::required(p, "one of fieldRef and resourceFieldRef is required"))
        }
    }
    errs.extend(file_mode(item, "mode", p));
    errs
}

fn projected(src: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = file_mode(src, "defaultMode", p).into_iter().collect();
    let mut paths = HashSet::new();
    for (i, source) in arr(src, "sources").iter().enumerate() {
        let sp = p.child("sources").index(i);
        let mut count = 0;
        for key in ["secret", "configMap"] {
            if let Some(x) = get(source, key) {
                count += 1;
                errs.extend(required(x, "name", &sp.child(key)));
                for (j, item) in arr(x, "items").iter().enumerate() {
                    errs.extend(key_to_path(item, &sp.child(key).child("items").index(j)));
                    let path = s(item, "path");
                    if !path.is_empty() && !paths.insert(path.to_owned()) {
                        errs.push(FieldError::invalid(p, s(x, "name"), "conflicting duplicate paths"));
                    }
                }
            }
        }
        if let Some(d) = get(source, "downwardAPI") {
            count += 1;
            for item in arr(d, "items") {
                errs.extend(downward_api_file(item, &sp.child("downwardAPI")));
            }
        }
        if let Some(t) = get(source, "serviceAccountToken") {
            count += 1;
            errs.extend(token_projection(t, p, &sp.child("serviceAccountToken")));
        }
        count += usize::from(get(source, "clusterTrustBundle").is_some());
        if count > 1 {
            errs.push(FieldError::forbidden(sp, "may not specify more than 1 volume type per source"));
        }
    }
    errs
}

fn token_projection(t: &Value, projected: &Path, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let exp = int(t, "expirationSeconds").unwrap_or(0);
    if exp < 600 {
        let detail = "may not specify a duration less than 10 minutes";
        errs.push(FieldError::invalid(p.child("expirationSeconds"), exp, detail));
    }
    if exp > 1 << 32 {
        let detail = "may not specify a duration larger than 2^32 seconds";
        errs.push(FieldError::invalid(p.child("expirationSeconds"), exp, detail));
    }
    let path = s(t, "path");
    if path.is_empty() {
        errs.push(FieldError::required(projected.child("path"), ""));
    } else {
        errs.extend(local_non_reserved_path(path, &projected.child("path")));
    }
    errs
}

/// `ValidateCSIDriverName`.
pub fn csi_driver(driver: &str, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if driver.is_empty() {
        errs.push(FieldError::required(p, ""));
    }
    if driver.len() > 63 {
        errs.push(FieldError::too_long(p, 63));
    }
    let lower = driver.to_lowercase();
    errs.extend(
        crate::names::dns1123_subdomain(&lower).into_iter().map(|m| FieldError::invalid(p, driver, &m)),
    );
    errs
}

fn no_backsteps(path: &str, p: &Path) -> Option<FieldError> {
    path.split('/').any(|part| part == "..").then(|| FieldError::invalid(p, path, "must not contain '..'"))
}

/// `validateLocalDescendingPath`: relative, without `..` elements.
pub fn local_descending_path(path: &str, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if path.starts_with('/') {
        errs.push(FieldError::invalid(p, path, "must be a relative path"));
    }
    errs.extend(no_backsteps(path, p));
    errs
}

/// `ValidateLocalNonReservedPath`: also may not start with `..`.
pub fn local_non_reserved_path(path: &str, p: &Path) -> Vec<FieldError> {
    let mut errs = local_descending_path(path, p);
    if path.starts_with("..") && !path.starts_with("../") {
        errs.push(FieldError::invalid(p, path, "must not start with '..'"));
    }
    errs
}

//! Pod spec defaults (`SetDefaults_PodSpec`, `_Container`, `_Probe`,
//! `_Volume`, ...), shared by Pods and every pod template.

use serde_json::{Value, json};

use crate::image::default_pull_policy;
use crate::json::{child_mut, each_mut, ensure_obj, has, s, set_default, set_default_nonzero};

use super::{canonicalize_list, canonicalize_quantity, pvc_spec};

/// Defaults a `PodSpec` wherever it appears.
pub fn pod_spec(spec: &mut Value) {
    set_default_nonzero(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default_nonzero(spec, "restartPolicy", json!("Always"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default_nonzero(spec, "schedulerName", json!("default-scheduler"));
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        each_mut(spec, key, container);
    }
    each_mut(spec, "volumes", volume);
    canonicalize_list(spec, "overhead");
    if let Some(res) = child_mut(spec, "resources") {
        canonicalize_list(res, "limits");
        canonicalize_list(res, "requests");
    }
}

/// `SetDefaults_Container`, plus the declarative `protocol: TCP` on ports.
fn container(c: &mut Value) {
    if s(c, "imagePullPolicy").is_empty() {
        let policy = default_pull_policy(s(c, "image"));
        c["imagePullPolicy"] = json!(policy);
    }
    set_default_nonzero(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default_nonzero(c, "terminationMessagePolicy", json!("File"));
    each_mut(c, "ports", |p| set_default_nonzero(p, "protocol", json!("TCP")));
    each_mut(c, "env", |e| {
        if let Some(from) = child_mut(e, "valueFrom") {
            field_ref(from);
            if let Some(r) = child_mut(from, "resourceFieldRef") {
                canonicalize_divisor(r);
            }
        }
    });
    // Go serialises the non-pointer `resources` struct as `{}`.
    let res = ensure_obj(c, "resources");
    canonicalize_list(res, "limits");
    canonicalize_list(res, "requests");
    for probe_key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = child_mut(c, probe_key) {
            probe(p);
        }
    }
    if let Some(lc) = child_mut(c, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = child_mut(lc, hook) {
                handler(h);
            }
        }
    }
}

fn field_ref(holder: &mut Value) {
    if let Some(f) = child_mut(holder, "fieldRef") {
        set_default_nonzero(f, "apiVersion", json!("v1"));
    }
}

fn canonicalize_divisor(r: &mut Value) {
    if let Some(d) = r.get_mut("divisor") {
        canonicalize_quantity(d, false);
    }
}

/// `SetDefaults_Probe`: zero counts as unset, as upstream's int32 fields do.
fn probe(p: &mut Value) {
    set_default_nonzero(p, "timeoutSeconds", json!(1));
    set_default_nonzero(p, "periodSeconds", json!(10));
    set_default_nonzero(p, "successThreshold", json!(1));
    set_default_nonzero(p, "failureThreshold", json!(3));
    handler(p);
}

/// `SetDefaults_HTTPGetAction` inside a probe or lifecycle handler.
fn handler(h: &mut Value) {
    if let Some(get) = child_mut(h, "httpGet") {
        set_default_nonzero(get, "path", json!("/"));
        set_default_nonzero(get, "scheme", json!("HTTP"));
    }
}

/// Every `VolumeSource` field: a volume with none of them becomes `emptyDir`.
const VOLUME_SOURCES: [&str; 30] = [
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

/// `SetDefaults_Volume` and the per-source defaults.
fn volume(v: &mut Value) {
    if !VOLUME_SOURCES.iter().any(|k| has(v, k)) {
        v["emptyDir"] = json!({});
    }
    for key in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(src) = child_mut(v, key) {
            set_default(src, "defaultMode", json!(420));
        }
    }
    if let Some(src) = child_mut(v, "downwardAPI") {
        each_mut(src, "items", field_ref);
    }
    if let Some(src) = child_mut(v, "projected") {
        each_mut(src, "sources", projection);
    }
    if let Some(src) = child_mut(v, "hostPath") {
        set_default(src, "type", json!(""));
    }
    if let Some(src) = child_mut(v, "emptyDir")
        && let Some(q) = src.get_mut("sizeLimit")
    {
        canonicalize_quantity(q, false);
    }
    if let Some(t) = child_mut(v, "ephemeral").and_then(|e| child_mut(e, "volumeClaimTemplate")) {
        pvc_spec(ensure_obj(t, "spec"));
    }
    legacy_source_defaults(v);
}

fn projection(src: &mut Value) {
    if let Some(token) = child_mut(src, "serviceAccountToken") {
        set_default(token, "expirationSeconds", json!(3600));
    }
    if let Some(d) = child_mut(src, "downwardAPI") {
        each_mut(d, "items", field_ref);
    }
}

/// The declarative (`+default=`) values on in-tree volume plugins.
fn legacy_source_defaults(v: &mut Value) {
    if let Some(src) = child_mut(v, "iscsi") {
        set_default(src, "iscsiInterface", json!("default"));
    }
    if let Some(src) = child_mut(v, "rbd") {
        set_default(src, "pool", json!("rbd"));
        set_default(src, "user", json!("admin"));
        set_default(src, "keyring", json!("/etc/ceph/keyring"));
    }
    if let Some(src) = child_mut(v, "azureDisk") {
        set_default(src, "cachingMode", json!("ReadWrite"));
        set_default(src, "fsType", json!("ext4"));
        set_default(src, "readOnly", json!(false));
        set_default(src, "kind", json!("Shared"));
    }
    if let Some(src) = child_mut(v, "scaleIO") {
        set_default(src, "storageMode", json!("ThinProvisioned"));
        set_default(src, "fsType", json!("xfs"));
    }
    if let Some(src) = child_mut(v, "image")
        && s(src, "pullPolicy").is_empty()
    {
        let policy = default_pull_policy(s(src, "reference"));
        src["pullPolicy"] = json!(policy);
    }
}

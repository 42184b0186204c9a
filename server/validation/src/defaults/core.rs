//! Defaults of the non-workload core kinds.

use serde_json::{Value, json};

use crate::json::{arr, child_mut, each_mut, ensure_obj, get, int, obj, s, set_default, set_default_nonzero};

use super::canonicalize_list;

/// `SetDefaults_Service` plus the IP-family fields the service registry
/// fills on create (wasmkube runs single-stack IPv4; the caller allocates
/// `clusterIP` itself).
pub fn service(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    set_default_nonzero(spec, "sessionAffinity", json!("None"));
    match s(spec, "sessionAffinity") {
        "None" => {
            if let Some(m) = spec.as_object_mut() {
                m.remove("sessionAffinityConfig");
            }
        }
        "ClientIP" => {
            let has_timeout = get(spec, "sessionAffinityConfig")
                .and_then(|c| get(c, "clientIP"))
                .is_some_and(|c| int(c, "timeoutSeconds").is_some());
            if !has_timeout {
                spec["sessionAffinityConfig"] = json!({"clientIP": {"timeoutSeconds": 10800}});
            }
        }
        _ => {}
    }
    set_default_nonzero(spec, "type", json!("ClusterIP"));
    each_mut(spec, "ports", service_port);
    let ty = s(spec, "type").to_owned();
    let externally_accessible = ty == "LoadBalancer"
        || ty == "NodePort"
        || (ty == "ClusterIP" && !arr(spec, "externalIPs").is_empty());
    if externally_accessible {
        set_default_nonzero(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if matches!(ty.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    let cluster_ip = s(spec, "clusterIP").to_owned();
    if !cluster_ip.is_empty() && arr(spec, "clusterIPs").is_empty() {
        spec["clusterIPs"] = json!([cluster_ip]);
    }
    if ty != "ExternalName" {
        ip_families(spec);
    }
}

fn service_port(p: &mut Value) {
    set_default_nonzero(p, "protocol", json!("TCP"));
    let target_unset = match p.get("targetPort") {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        _ => false,
    };
    if target_unset {
        p["targetPort"] = get(p, "port").cloned().unwrap_or(json!(0));
    }
}

/// The registry's `PrepareForCreate` IP-family handling, single-stack IPv4.
fn ip_families(spec: &mut Value) {
    let cluster_ip = s(spec, "clusterIP").to_owned();
    let headless = cluster_ip == "None";
    let selectorless = obj(spec, "selector").is_none_or(|m| m.is_empty());
    let policy = if headless && selectorless { "RequireDualStack" } else { "SingleStack" };
    set_default(spec, "ipFamilyPolicy", json!(policy));
    if arr(spec, "ipFamilies").is_empty() {
        let family = if cluster_ip.contains(':') { "IPv6" } else { "IPv4" };
        spec["ipFamilies"] = json!([family]);
    }
}

/// `SetDefaults_Endpoints`.
pub fn endpoints(obj: &mut Value) {
    each_mut(obj, "subsets", |ss| {
        each_mut(ss, "ports", |p| set_default_nonzero(p, "protocol", json!("TCP")));
    });
}

/// `SetDefaults_NodeStatus` (allocatable mirrors capacity) and canonical quantities.
pub fn node(obj: &mut Value) {
    let Some(status) = child_mut(obj, "status") else {
        return;
    };
    if !crate::json::has(status, "allocatable")
        && let Some(cap) = get(status, "capacity").cloned()
    {
        status["allocatable"] = cap;
    }
    canonicalize_list(status, "capacity");
    canonicalize_list(status, "allocatable");
}

/// `SetDefaults_Namespace` (the `kubernetes.io/metadata.name` label) and the `Active` phase.
/// The strategy's `kubernetes` finalizer is a create-time step (upstream `PrepareForCreate`),
/// not a default: re-adding it on update would undo `/finalize`. The API server adds it.
pub fn namespace(obj: &mut Value) {
    let name = get(obj, "metadata").map(|m| s(m, "name").to_owned()).unwrap_or_default();
    if !name.is_empty() {
        let labels = ensure_obj(ensure_obj(obj, "metadata"), "labels");
        labels["kubernetes.io/metadata.name"] = json!(name);
    }
    set_default_nonzero(ensure_obj(obj, "status"), "phase", json!("Active"));
}

/// `SetDefaults_Secret`, and the v1 conversion that folds `stringData` into
/// `data` (upstream never stores `stringData`).
pub fn secret(obj: &mut Value) {
    set_default_nonzero(obj, "type", json!("Opaque"));
    let Some(Value::Object(string_data)) = obj.as_object_mut().and_then(|m| m.remove("stringData")) else {
        return;
    };
    let data = ensure_obj(obj, "data");
    for (k, v) in string_data {
        let text = v.as_str().unwrap_or_default();
        data[k.as_str()] = json!(crate::base64::encode(text.as_bytes()));
    }
}

/// `SetDefaults_PersistentVolume`.
pub fn persistent_volume(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    set_default_nonzero(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
    set_default(spec, "volumeMode", json!("Filesystem"));
    canonicalize_list(spec, "capacity");
    if let Some(hp) = child_mut(spec, "hostPath") {
        set_default(hp, "type", json!(""));
    }
    set_default_nonzero(ensure_obj(obj, "status"), "phase", json!("Pending"));
}

/// Canonical quantities in a quota.
pub fn resource_quota(obj: &mut Value) {
    if let Some(spec) = child_mut(obj, "spec") {
        canonicalize_list(spec, "hard");
    }
}

/// `SetDefaults_LimitRangeItem`: for `Container` limits, `default` falls back
/// to `max` and `defaultRequest` to `default`, then to `min`.
pub fn limit_range(range: &mut Value) {
    let Some(spec) = child_mut(range, "spec") else {
        return;
    };
    each_mut(spec, "limits", |item| {
        for key in ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"] {
            canonicalize_list(item, key);
        }
        if s(item, "type") != "Container" {
            return;
        }
        let max = obj(item, "max").cloned().unwrap_or_default();
        let min = obj(item, "min").cloned().unwrap_or_default();
        let default = ensure_obj(item, "default");
        for (k, v) in &max {
            set_default(default, k, v.clone());
        }
        let default = obj(item, "default").cloned().unwrap_or_default();
        let request = ensure_obj(item, "defaultRequest");
        for (k, v) in default.iter().chain(min.iter()) {
            set_default(request, k, v.clone());
        }
    });
}

//! Defaulting: what upstream's generated defaulters (plus a few registry
//! strategies and the default admission chain, where a client can see the
//! result) fill in before an object is validated and stored.
//!
//! Layout: `pod` holds the pod-spec defaults shared by every template;
//! `workloads` the controllers; `core` the other core kinds; `other` the
//! remaining groups. Every function only fills absent (or Go-zero) fields,
//! so applying defaults twice changes nothing.

mod core;
mod other;
mod pod;
mod workloads;

use serde_json::{Value, json};
use wasmkube_api::quantity::Quantity;

use crate::json::{child_mut, ensure_obj, set_default};

/// Applies the defaults of `(group, kind)` to `obj` in place.
pub fn apply(group: &str, kind: &str, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    match (crate::normalize_group(group), kind) {
        ("", "Pod") => workloads::pod(obj),
        ("", "PodTemplate") => template(ensure_obj(obj, "template")),
        ("", "ReplicationController") => workloads::replication_controller(obj),
        ("", "Service") => core::service(obj),
        ("", "Endpoints") => core::endpoints(obj),
        ("", "Node") => core::node(obj),
        ("", "Namespace") => core::namespace(obj),
        ("", "Secret") => core::secret(obj),
        ("", "PersistentVolume") => core::persistent_volume(obj),
        ("", "PersistentVolumeClaim") => persistent_volume_claim(obj),
        ("", "ResourceQuota") => core::resource_quota(obj),
        ("", "LimitRange") => core::limit_range(obj),
        ("apps", "Deployment") => workloads::deployment(obj),
        ("apps", "ReplicaSet") => workloads::replica_set(obj),
        ("apps", "StatefulSet") => workloads::stateful_set(obj),
        ("apps", "DaemonSet") => workloads::daemon_set(obj),
        ("batch", "Job") => workloads::job(obj),
        ("batch", "CronJob") => workloads::cron_job(obj),
        ("networking.k8s.io", "NetworkPolicy") => other::network_policy(obj),
        ("discovery.k8s.io", "EndpointSlice") => other::endpoint_slice(obj),
        ("autoscaling", "HorizontalPodAutoscaler") => other::horizontal_pod_autoscaler(obj),
        _ => {}
    }
}

/// Defaults a `PodTemplateSpec` (the pod spec inside it).
fn template(t: &mut Value) {
    pod::pod_spec(ensure_obj(t, "spec"));
}

/// `SetDefaults_PersistentVolumeClaim` + `_PersistentVolumeClaimSpec`; also
/// used for StatefulSet `volumeClaimTemplates`.
fn persistent_volume_claim(obj: &mut Value) {
    pvc_spec(ensure_obj(obj, "spec"));
    set_default(ensure_obj(obj, "status"), "phase", json!("Pending"));
}

/// `SetDefaults_PersistentVolumeClaimSpec`.
fn pvc_spec(spec: &mut Value) {
    set_default(spec, "volumeMode", json!("Filesystem"));
    if let Some(res) = child_mut(spec, "resources") {
        canonicalize_list(res, "limits");
        canonicalize_list(res, "requests");
    }
}

/// `SetDefaults_ResourceList`: quantities rounded up to milli-units and
/// rewritten in canonical form (upstream's serialisation of `Quantity`).
fn canonicalize_list(holder: &mut Value, key: &str) {
    if let Some(Value::Object(list)) = holder.get_mut(key) {
        for q in list.values_mut() {
            canonicalize_quantity(q, true);
        }
    }
}

/// Rewrites one quantity in canonical form, rounded up to milli-units for resource lists;
/// an unparseable value is left alone for validation to report.
fn canonicalize_quantity(value: &mut Value, round_to_milli: bool) {
    let Some(q) = Quantity::from_json(value) else {
        return;
    };
    let q = if round_to_milli { q.round_up(-3).unwrap_or(q) } else { q };
    *value = Value::String(q.to_string());
}

//! Validation entry point: metadata rules per kind, then the kind's own rules.
//!
//! Each kind module mirrors an upstream `validation.go` (core, apps, batch,
//! networking, ...) and names its functions after upstream's so the two can
//! be read side by side.

mod batch;
mod cluster;
mod config;
mod container;
mod cron;
mod daemonset;
mod endpointslice;
mod env;
mod hpa_metrics;
mod misc;
mod network_policy;
mod networking;
mod pod_spec;
mod pod_update;
mod probe;
mod quota;
mod resources;
mod scheduling;
mod service;
mod service_ips;
mod statefulset;
mod storage;
mod volume;
mod workloads;

use serde_json::Value;

use crate::error::FieldError;
use crate::meta::{self, MetaRules};
use crate::names::NameRule;
use crate::path::Path;

/// A kind's own checks; `old` is the stored object on update.
type Check = fn(&Value, Option<&Value>) -> Vec<FieldError>;

fn rules(group: &str, kind: &str) -> Option<(NameRule, bool, Check)> {
    use NameRule::{Label, Rfc1035, Subdomain};
    Some(match (group, kind) {
        ("", "Pod") => (Subdomain, true, pod_spec::validate_pod),
        ("", "PodTemplate") => (Subdomain, true, pod_spec::validate_pod_template),
        ("", "ReplicationController") => (Subdomain, true, workloads::validate_replication_controller),
        ("", "Service") => (Rfc1035, true, service::validate_service),
        ("", "Endpoints") => (Subdomain, true, service::validate_endpoints),
        ("", "Node") => (Subdomain, false, cluster::validate_node),
        ("", "Namespace") => (Label, false, cluster::validate_namespace),
        ("", "ConfigMap") => (Subdomain, true, config::validate_config_map),
        ("", "Secret") => (Subdomain, true, config::validate_secret),
        ("", "ServiceAccount") => (Subdomain, true, config::validate_service_account),
        ("", "Event") => (NameRule::PathSegment, true, misc::validate_core_event),
        ("", "PersistentVolume") => (Subdomain, false, storage::validate_persistent_volume),
        ("", "PersistentVolumeClaim") => (Subdomain, true, storage::validate_persistent_volume_claim),
        ("", "ResourceQuota") => (Subdomain, true, quota::validate_resource_quota),
        ("", "LimitRange") => (Subdomain, true, quota::validate_limit_range),
        ("apps", "Deployment") => (Subdomain, true, workloads::validate_deployment),
        ("apps", "ReplicaSet") => (Subdomain, true, workloads::validate_replica_set),
        ("apps", "StatefulSet") => (Label, true, workloads::validate_stateful_set),
        ("apps", "DaemonSet") => (Subdomain, true, daemonset::validate_daemon_set),
        ("apps", "ControllerRevision") => (Subdomain, true, workloads::validate_controller_revision),
        ("batch", "Job") => (Subdomain, true, batch::validate_job),
        ("batch", "CronJob") => (Subdomain, true, batch::validate_cron_job),
        ("networking.k8s.io", "Ingress") => (Subdomain, true, networking::validate_ingress),
        ("networking.k8s.io", "IngressClass") => (Subdomain, false, networking::validate_ingress_class),
        ("networking.k8s.io", "NetworkPolicy") => (Subdomain, true, network_policy::validate_network_policy),
        ("discovery.k8s.io", "EndpointSlice") => (Subdomain, true, service::validate_endpoint_slice),
        ("autoscaling", "HorizontalPodAutoscaler") => (Subdomain, true, misc::validate_hpa),
        ("coordination.k8s.io", "Lease") => (Subdomain, true, misc::validate_lease),
        ("node.k8s.io", "RuntimeClass") => (Subdomain, false, misc::validate_runtime_class),
        ("events.k8s.io", "Event") => (Subdomain, true, misc::validate_events_event),
        _ => return None,
    })
}

/// Whether `(group, kind)` has rules here.
pub fn is_known(group: &str, kind: &str) -> bool {
    rules(group, kind).is_some()
}

/// Metadata then kind-specific validation.
pub fn run(group: &str, kind: &str, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let Some((name, namespaced, check)) = rules(group, kind) else {
        return Vec::new();
    };
    let mut errs = match old {
        None => meta::validate_create(obj, MetaRules { name, namespaced }),
        Some(old) => meta::validate_update(obj, old),
    };
    errs.extend(check(obj, old));
    errs
}

/// `ValidateNonnegativeField` for an optional integer field.
pub(crate) fn non_negative(holder: &Value, key: &str, path: &Path) -> Option<FieldError> {
    let v = crate::json::int(holder, key)?;
    (v < 0).then(|| FieldError::invalid(path.child(key), v, crate::NEGATIVE_MSG))
}

/// `ValidateImmutableField`: reports the new value when it differs.
pub(crate) fn immutable(new: Option<&Value>, old: Option<&Value>, path: &Path) -> Option<FieldError> {
    let (new, old) = (new.unwrap_or(&Value::Null), old.unwrap_or(&Value::Null));
    (!pod_update::semantic_eq(new, old)).then(|| FieldError::invalid(path, new.clone(), crate::IMMUTABLE_MSG))
}

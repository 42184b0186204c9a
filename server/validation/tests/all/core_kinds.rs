//! Namespace, Node, PersistentVolume(Claim), ResourceQuota and LimitRange.

use serde_json::json;

use crate::support::{assert_has, assert_valid, create_errors, update_errors};

#[test]
fn namespace_finalizers() {
    let ns = json!({"metadata": {"name": "team"}, "spec": {"finalizers": ["custom"]}});
    assert_has(
        &create_errors("", "Namespace", ns),
        "spec.finalizers: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified",
    );
}

#[test]
fn node_rules() {
    let node = json!({"metadata": {"name": "n1"}, "spec": {
        "podCIDRs": ["10.0.0.0/33", "10.1.0.0/24"],
        "taints": [{"key": "k", "effect": "NoSchedule"}, {"key": "k", "effect": "NoSchedule"}, {"key": "j", "effect": "Sometimes"}]
    }, "status": {"capacity": {"cpu": "-1"}}});
    let errs = create_errors("", "Node", node);
    assert_has(
        &errs,
        "spec.podCIDRs[0]: Invalid value: \"10.0.0.0/33\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
    );
    assert!(errs.iter().any(
        |e| e.field == "metadata.taints[1]" && e.detail == "taints must be unique by key and effect pair"
    ));
    assert_has(
        &errs,
        "metadata.taints[2].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
    );
    assert_has(&errs, "status.capacity.cpu: Invalid value: \"-1\": must be greater than or equal to 0");
}

#[test]
fn node_pod_cidrs_and_provider_id_are_sticky() {
    let old =
        json!({"metadata": {"name": "n1"}, "spec": {"podCIDRs": ["10.0.0.0/24"], "providerID": "wasm://n1"}});
    let mut new = old.clone();
    new["spec"] = json!({"podCIDRs": ["10.0.1.0/24"], "providerID": "wasm://n2", "unschedulable": true});
    let errs = update_errors("", "Node", old.clone(), new);
    assert_has(
        &errs,
        "spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid",
    );
    assert_has(
        &errs,
        "spec.providerID: Forbidden: node updates may not change providerID except from \"\" to valid",
    );
    let mut cordoned = old.clone();
    cordoned["spec"]["unschedulable"] = json!(true);
    assert_valid(&update_errors("", "Node", old, cordoned));
}

#[test]
fn persistent_volume_rules() {
    let pv = json!({"metadata": {"name": "pv"}, "spec": {"accessModes": ["ReadWriteOncePod", "ReadWriteOnce"], "capacity": {"storage": "0"}}});
    let errs = create_errors("", "PersistentVolume", pv);
    assert_has(&errs, "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes");
    assert_has(&errs, "spec.capacity[storage]: Invalid value: \"0\": must be greater than zero");
    assert_has(&errs, "spec: Required value: must specify a volume type");

    let old = json!({"metadata": {"name": "pv"}, "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/a"}}});
    let mut new = old.clone();
    new["spec"]["hostPath"]["path"] = json!("/b");
    assert_has(
        &update_errors("", "PersistentVolume", old, new),
        "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation",
    );
}

#[test]
fn persistent_volume_claim_rules() {
    let pvc = json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {"accessModes": [], "resources": {}, "volumeMode": "Raw"}});
    let errs = create_errors("", "PersistentVolumeClaim", pvc);
    assert_has(&errs, "spec.accessModes: Required value: at least 1 access mode is required");
    assert_has(&errs, "spec.resources[storage]: Required value");
    assert_has(
        &errs,
        "spec.volumeMode: Unsupported value: \"Raw\": supported values: \"Block\", \"Filesystem\"",
    );

    let old = json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let mut new = old.clone();
    new["spec"]["accessModes"] = json!(["ReadWriteMany"]);
    assert_has(
        &update_errors("", "PersistentVolumeClaim", old.clone(), new),
        "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
    );
    let mut bound_old = old.clone();
    bound_old["status"] = json!({"phase": "Bound", "capacity": {"storage": "1Gi"}});
    let mut grown = bound_old.clone();
    grown["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
    grown["spec"]["volumeName"] = json!("pv-1");
    assert_valid(&update_errors("", "PersistentVolumeClaim", bound_old, grown));
}

#[test]
fn resource_quota_rules() {
    let rq = json!({"metadata": {"name": "q", "namespace": "d"}, "spec": {"hard": {"widgets": "1", "pods": "1.5"}, "scopes": ["BestEffort", "NotBestEffort"]}});
    let errs = create_errors("", "ResourceQuota", rq);
    assert_has(
        &errs,
        "spec.hard[widgets]: Invalid value: \"widgets\": must be a standard resource type or fully qualified",
    );
    assert_has(
        &errs,
        "spec.hard[widgets]: Invalid value: \"widgets\": must be a standard resource for quota",
    );
    assert_has(&errs, "spec.hard[pods]: Invalid value: 1500m: must be an integer");
    assert_has(
        &errs,
        "spec.scopes: Invalid value: []string{\"BestEffort\", \"NotBestEffort\"}: conflicting scopes",
    );

    let old = json!({"metadata": {"name": "q", "namespace": "d"}, "spec": {"hard": {"pods": "1"}, "scopes": ["BestEffort"]}});
    let mut new = old.clone();
    new["spec"]["scopes"] = json!(["NotTerminating"]);
    assert_has(
        &update_errors("", "ResourceQuota", old, new),
        "spec.scopes: Invalid value: []string{\"NotTerminating\"}: field is immutable",
    );
}

#[test]
fn limit_range_rules() {
    let lr = json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"limits": [
        {"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}},
        {"type": "Pod", "default": {"cpu": "1"}},
        {"type": "Container"},
        {"type": "PersistentVolumeClaim"},
        {"type": "Widget"}
    ]}});
    let errs = create_errors("", "LimitRange", lr);
    assert_has(&errs, "spec.limits[0].min[cpu]: Invalid value: 2: min value 2 is greater than max value 1");
    assert_has(&errs, "spec.limits[1].default: Forbidden: may not be specified when `type` is 'Pod'");
    assert_has(&errs, "spec.limits[2].type: Duplicate value: \"Container\"");
    assert_has(
        &errs,
        "spec.limits[3].limits: Required value: either minimum or maximum storage value is required, but neither was provided",
    );
    assert_has(
        &errs,
        "spec.limits[4].type: Invalid value: \"Widget\": must be a standard limit type or fully qualified",
    );
}

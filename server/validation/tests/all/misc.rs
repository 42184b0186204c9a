//! HorizontalPodAutoscaler, Lease, RuntimeClass and Events.

use serde_json::json;

use crate::support::{assert_has, create_errors, update_errors};

fn hpa(spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "autoscaling/v2", "metadata": {"name": "h", "namespace": "d"}, "spec": spec})
}

#[test]
fn hpa_replica_bounds() {
    let h = hpa(
        json!({"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 5, "maxReplicas": 3}),
    );
    assert_has(
        &create_errors("autoscaling", "HorizontalPodAutoscaler", h),
        "spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`",
    );
    let h = hpa(
        json!({"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 0, "maxReplicas": 0}),
    );
    let errs = create_errors("autoscaling", "HorizontalPodAutoscaler", h);
    assert_has(&errs, "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1");
    assert_has(&errs, "spec.maxReplicas: Invalid value: 0: must be greater than 0");
}

#[test]
fn hpa_target_and_metrics() {
    let h = hpa(json!({"scaleTargetRef": {"name": "a/b"}, "maxReplicas": 3, "metrics": [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 0}}},
        {"type": "Pods"},
        {"type": "Sideways"}
    ]}));
    let errs = create_errors("autoscaling", "HorizontalPodAutoscaler", h);
    assert_has(&errs, "spec.scaleTargetRef.kind: Required value");
    assert_has(&errs, "spec.scaleTargetRef.name: Invalid value: \"a/b\": may not contain '/'");
    assert_has(
        &errs,
        "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0",
    );
    assert_has(
        &errs,
        "spec.metrics[1].pods: Required value: must populate information for the given metric source",
    );
    assert_has(
        &errs,
        "spec.metrics[2].type: Unsupported value: \"Sideways\": supported values: \"ContainerResource\", \"External\", \"Object\", \"Pods\", \"Resource\"",
    );
}

#[test]
fn lease_rules() {
    let l = json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"leaseDurationSeconds": 0, "leaseTransitions": -1}});
    let errs = create_errors("coordination.k8s.io", "Lease", l);
    assert_has(&errs, "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0");
    assert_has(&errs, "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0");
}

#[test]
fn runtime_class_handler() {
    let rc = json!({"metadata": {"name": "r"}, "handler": "Wasm_Time"});
    assert_has(
        &create_errors("node.k8s.io", "RuntimeClass", rc),
        "handler: Invalid value: \"Wasm_Time\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
    let old = json!({"metadata": {"name": "r"}, "handler": "a"});
    let new = json!({"metadata": {"name": "r"}, "handler": "b"});
    assert_has(
        &update_errors("node.k8s.io", "RuntimeClass", old, new),
        "handler: Invalid value: \"b\": field is immutable",
    );
}

#[test]
fn core_events_check_namespaces() {
    let e = json!({"metadata": {"name": "e", "namespace": "a"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": "b"}});
    assert_has(
        &create_errors("", "Event", e),
        "involvedObject.namespace: Invalid value: \"b\": does not match event.namespace",
    );
}

#[test]
fn events_api_requires_reporting_fields() {
    let e = json!({"metadata": {"name": "e", "namespace": "d"}, "eventTime": "2025-01-01T00:00:00.000000Z", "type": "Info", "regarding": {"namespace": "d"}});
    let errs = create_errors("events.k8s.io", "Event", e);
    assert_has(&errs, "reportingController: Required value");
    assert_has(&errs, "reportingInstance: Required value");
    assert_has(&errs, "action: Required value");
    assert_has(&errs, "reason: Required value");
    assert_has(&errs, "type: Invalid value: \"\": has invalid value: Info");
}

//! HorizontalPodAutoscaler rows in the v1 and v2 shapes.

use serde_json::{Value, json};

use crate::support::{cells, column_names, meta, row};

fn targets(hpa: &Value) -> Value {
    row("autoscaling", "HorizontalPodAutoscaler", hpa)[2].clone()
}

#[test]
fn v2_autoscaler() {
    assert_eq!(
        column_names("autoscaling", "HorizontalPodAutoscaler"),
        ["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"]
    );
    let hpa = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": meta("shop", 86_400 * 2),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"},
            "minReplicas": 2, "maxReplicas": 10,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "512Mi"}}}
            ]
        },
        "status": {
            "currentReplicas": 3, "desiredReplicas": 3,
            "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45, "averageValue": "90m"}}},
                {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "314572800"}}}
            ]
        }
    });
    // Quantities print in upstream's canonical form, which keeps a plain number's decimal format.
    assert_eq!(
        row("autoscaling", "HorizontalPodAutoscaler", &hpa),
        cells(json!(["shop", "Deployment/shop", "cpu: 45%/80%, memory: 314572800/512Mi", "2", 10, 3, "2d"]))
    );
}

#[test]
fn v2_metric_kinds_and_overflow() {
    let hpa = json!({
        "metadata": meta("q", 60),
        "spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "worker"}, "maxReplicas": 5, "metrics": [
            {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "AverageValue", "averageValue": "30"}}},
            {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}},
            {"type": "Object", "object": {"metric": {"name": "hits"}, "target": {"type": "Value", "value": "2000"}}}
        ]},
        "status": {"currentMetrics": [
            {"type": "External", "external": {"current": {"averageValue": "12"}}}
        ]}
    });
    assert_eq!(targets(&hpa), json!("12/30 (avg), <unknown>/1k + 1 more..."));
    let cells = row("autoscaling", "HorizontalPodAutoscaler", &hpa);
    assert_eq!((&cells[3], &cells[5]), (&json!("1"), &json!(0)));

    let odd = json!({"spec": {"metrics": [
        {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app", "target": {"type": "Utilization"}}},
        {"type": "Unknown"}
    ]}});
    assert_eq!(targets(&odd), json!("cpu: <unknown>/<auto>, <unknown type>"));
    assert_eq!(targets(&json!({"spec": {"metrics": []}})), json!("<none>"));
}

#[test]
fn v1_autoscaler() {
    let hpa = json!({
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": meta("legacy", 600),
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "legacy"}, "minReplicas": 1, "maxReplicas": 4, "targetCPUUtilizationPercentage": 70},
        "status": {"currentReplicas": 2, "desiredReplicas": 2, "currentCPUUtilizationPercentage": 35}
    });
    assert_eq!(
        row("autoscaling", "HorizontalPodAutoscaler", &hpa),
        cells(json!(["legacy", "Deployment/legacy", "cpu: 35%/70%", "1", 4, 2, "10m"]))
    );
    let waiting = json!({"spec": {"targetCPUUtilizationPercentage": 50}});
    assert_eq!(targets(&waiting), json!("cpu: <unknown>/50%"));
    assert_eq!(targets(&json!({"spec": {}})), json!("<none>"));
}

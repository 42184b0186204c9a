//! Pod columns and a realistic running pod, including the wide cells.

use serde_json::json;

use crate::support::{ago, cells, column_names, meta, row};

#[test]
fn pod_columns_match_upstream() {
    assert_eq!(
        column_names("", "Pod"),
        ["Name", "Ready", "Status", "Restarts", "Age", "IP*", "Node*", "Nominated Node*", "Readiness Gates*"]
    );
    let columns = wasmkube_printers::columns("", "Pod");
    assert_eq!(columns[0].format, "name");
    assert!(columns[0].description.starts_with("Name must be unique"));
    assert_eq!(columns[3].type_, "string");
}

#[test]
fn running_pod_with_a_past_restart() {
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta("web-7d4b9c-x2k8p", 3 * 3600 + 5 * 60),
        "spec": {
            "nodeName": "node-1",
            "containers": [
                {"name": "web", "image": "nginx:1.25"},
                {"name": "proxy", "image": "envoy:1.29"}
            ]
        },
        "status": {
            "phase": "Running",
            "podIP": "10.244.1.5",
            "podIPs": [{"ip": "10.244.1.5"}, {"ip": "fd00::5"}],
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {
                    "name": "web", "ready": true, "restartCount": 2,
                    "state": {"running": {"startedAt": ago(300)}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(300)}}
                },
                {"name": "proxy", "ready": true, "restartCount": 0, "state": {"running": {}}}
            ]
        }
    });
    assert_eq!(
        row("", "Pod", &pod),
        cells(json!([
            "web-7d4b9c-x2k8p",
            "2/2",
            "Running",
            "2 (5m ago)",
            "3h5m",
            "10.244.1.5",
            "node-1",
            "<none>",
            "<none>"
        ]))
    );
}

#[test]
fn unscheduled_pod_with_nomination_and_readiness_gates() {
    let pod = json!({
        "metadata": meta("batch-0", 45),
        "spec": {
            "containers": [{"name": "main", "image": "busybox"}],
            "readinessGates": [
                {"conditionType": "example.com/lb-ready"},
                {"conditionType": "example.com/warm"}
            ]
        },
        "status": {
            "phase": "Pending",
            "nominatedNodeName": "node-2",
            "conditions": [
                {"type": "example.com/lb-ready", "status": "True"},
                {"type": "example.com/warm", "status": "False"}
            ]
        }
    });
    assert_eq!(
        row("", "Pod", &pod),
        cells(json!(["batch-0", "0/1", "Pending", "0", "45s", "<none>", "<none>", "node-2", "1/2"]))
    );
}

#[test]
fn pod_ip_falls_back_to_the_singular_field() {
    let pod = json!({
        "metadata": meta("p", 10),
        "spec": {"containers": []},
        "status": {"phase": "Running", "podIP": "10.0.0.9"}
    });
    assert_eq!(row("", "Pod", &pod)[5], json!("10.0.0.9"));
}

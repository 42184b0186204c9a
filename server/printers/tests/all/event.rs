//! Event rows in the core/v1 and events.k8s.io/v1 shapes.

use serde_json::json;

use crate::support::{ago, cells, column_names, row};

const COLUMNS: [&str; 10] = [
    "Last Seen",
    "Type",
    "Reason",
    "Object",
    "Subobject*",
    "Source*",
    "Message",
    "First Seen*",
    "Count*",
    "Name*",
];

#[test]
fn core_event() {
    assert_eq!(column_names("", "Event"), COLUMNS);
    let name_column = &wasmkube_printers::columns("", "Event")[9];
    assert_eq!((name_column.format, name_column.priority), ("name", 1));
    let event = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web-1.17d2a", "namespace": "default", "creationTimestamp": ago(3600)},
        "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default", "fieldPath": "spec.containers{web}"},
        "reason": "BackOff",
        "message": "Back-off restarting failed container web in pod web-1\n",
        "source": {"component": "kubelet", "host": "worker-1"},
        "firstTimestamp": ago(3600),
        "lastTimestamp": ago(30),
        "count": 14,
        "type": "Warning"
    });
    assert_eq!(
        row("", "Event", &event),
        cells(json!([
            "30s",
            "Warning",
            "BackOff",
            "pod/web-1",
            "spec.containers{web}",
            "kubelet, worker-1",
            "Back-off restarting failed container web in pod web-1",
            "60m",
            14,
            "web-1.17d2a"
        ]))
    );
}

#[test]
fn singleton_and_series_events() {
    let singleton = json!({
        "metadata": {"name": "n.1"},
        "involvedObject": {"kind": "Node"},
        "reason": "Starting", "type": "Normal",
        "eventTime": "2024-06-01T11:58:00.123456Z",
        "reportingComponent": "kube-proxy", "reportingInstance": "worker-2"
    });
    assert_eq!(
        row("", "Event", &singleton),
        cells(json!([
            "119s",
            "Normal",
            "Starting",
            "node",
            "",
            "kube-proxy, worker-2",
            "",
            "119s",
            1,
            "n.1"
        ]))
    );
    let series = json!({
        "metadata": {"name": "s.1"},
        "involvedObject": {"kind": "Deployment", "name": "shop"},
        "firstTimestamp": ago(7200), "lastTimestamp": ago(3600), "count": 3,
        "series": {"count": 9, "lastObservedTime": "2024-06-01T11:59:50.000000Z"},
        "source": {"component": "deployment-controller"}
    });
    let cells = row("", "Event", &series);
    assert_eq!(
        (&cells[0], &cells[3], &cells[5], &cells[8]),
        (&json!("10s"), &json!("deployment/shop"), &json!("deployment-controller"), &json!(9))
    );
}

#[test]
fn events_api_shape() {
    assert_eq!(column_names("events.k8s.io", "Event"), COLUMNS);
    let event = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "db-0.abc", "namespace": "shop"},
        "eventTime": "2024-06-01T11:55:00.000000Z",
        "reportingController": "default-scheduler",
        "reportingInstance": "default-scheduler-cp-1",
        "action": "Binding",
        "reason": "Scheduled",
        "regarding": {"kind": "Pod", "name": "db-0", "namespace": "shop"},
        "note": "Successfully assigned shop/db-0 to worker-1",
        "type": "Normal"
    });
    assert_eq!(
        row("events.k8s.io", "Event", &event),
        cells(json!([
            "5m",
            "Normal",
            "Scheduled",
            "pod/db-0",
            "",
            "default-scheduler, default-scheduler-cp-1",
            "Successfully assigned shop/db-0 to worker-1",
            "5m",
            1,
            "db-0.abc"
        ]))
    );
    let migrated = json!({
        "metadata": {"name": "old"},
        "regarding": {"kind": "Node", "name": "n1"},
        "deprecatedSource": {"component": "kubelet", "host": "n1"},
        "deprecatedFirstTimestamp": ago(600),
        "deprecatedLastTimestamp": ago(60),
        "deprecatedCount": 4
    });
    let cells = row("events.k8s.io", "Event", &migrated);
    assert_eq!(
        (&cells[0], &cells[5], &cells[7], &cells[8]),
        (&json!("60s"), &json!("kubelet, n1"), &json!("10m"), &json!(4))
    );
}

//! Property-style sweep: for every kind, `cells` never panics and always returns one cell per
//! column, whatever shape the stored object has.

use serde_json::{Value, json};

use crate::support::now;

/// Every `(group, kind)` we serve, plus kinds that fall back to the default table.
const KINDS: &[(&str, &str)] = &[
    ("", "Pod"),
    ("", "PodTemplate"),
    ("", "ReplicationController"),
    ("", "Service"),
    ("", "Endpoints"),
    ("", "Node"),
    ("", "Namespace"),
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "ServiceAccount"),
    ("", "Event"),
    ("", "PersistentVolume"),
    ("", "PersistentVolumeClaim"),
    ("", "ResourceQuota"),
    ("", "LimitRange"),
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ControllerRevision"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("coordination.k8s.io", "Lease"),
    ("node.k8s.io", "RuntimeClass"),
    ("events.k8s.io", "Event"),
    ("example.com", "Unknown"),
];

/// Values that replace each part of a well-formed object in turn.
fn hostile_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1e300),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(""),
        json!("garbage"),
        json!("-5e99999Ei"),
        json!("340282366920938463463374607431768211455Ei"),
        json!("1e-99999"),
        json!(true),
        json!([]),
        json!([null, 1, "x", {}]),
        json!({}),
        json!({"unexpected": [1]}),
    ]
}

/// One object carrying the fields every printer reads, so mutating it reaches all code paths.
fn kitchen_sink() -> Value {
    let mut sink = json!({
        "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}],
        "addressType": "IPv4", "ports": [{"port": 80}, {"name": "n"}], "endpoints": [{"addresses": ["10.0.0.2"]}],
        "data": {"a": "b"}, "binaryData": {"c": "d"}, "stringData": {"e": "f"}, "type": "Opaque", "secrets": [{}],
        "revision": 3, "handler": "h", "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}},
        "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "f"}, "regarding": {"kind": "Pod", "name": "p"},
        "message": "m", "note": "n", "source": {"component": "c", "host": "h"}, "deprecatedSource": {"component": "c"},
        "firstTimestamp": "2024-06-01T11:00:00Z", "lastTimestamp": "2024-06-01T11:10:00Z", "count": 3,
        "eventTime": "2024-06-01T11:00:00.000000Z", "series": {"count": 2, "lastObservedTime": "2024-06-01T11:20:00.000000Z"},
        "reportingComponent": "rc", "reportingController": "rc", "reportingInstance": "ri"
    });
    sink["metadata"] = json!({
        "name": "x", "creationTimestamp": "2024-06-01T11:00:00Z", "deletionTimestamp": "2024-06-01T11:59:00Z",
        "labels": {"node-role.kubernetes.io/worker": "", "kubernetes.io/role": "edge"},
        "annotations": {"volume.beta.kubernetes.io/storage-class": "slow"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": true}]
    });
    sink["spec"] = sink_spec();
    sink["status"] = sink_status();
    sink
}

fn sink_spec() -> Value {
    let mut spec = json!({
        "replicas": 3, "completions": 2, "parallelism": 4, "schedule": "* * * * *", "timeZone": "UTC",
        "suspend": true, "unschedulable": true, "nodeName": "n", "type": "LoadBalancer",
        "clusterIPs": ["10.0.0.1"], "clusterIP": "10.0.0.1", "externalIPs": ["1.2.3.4"], "externalName": "e",
        "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
        "selector": {"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "k", "operator": "In", "values": ["v"]}]},
        "podSelector": {"matchLabels": {"a": "b"}},
        "readinessGates": [{"conditionType": "g"}],
        "initContainers": [{"name": "i", "restartPolicy": "Always"}, {"name": "j"}],
        "containers": [{"name": "c", "image": "img"}],
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}], "nodeSelector": {"a": "b"}}},
        "jobTemplate": {"spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": [{"name": "c"}]}}}},
        "rules": [{"host": "h"}], "tls": [{}], "ingressClassName": "nginx",
        "controller": "ctl", "parameters": {"kind": "K", "name": "n", "apiGroup": "g"},
        "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "claimRef": {"namespace": "ns", "name": "c"},
        "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "fast", "volumeName": "pv", "volumeMode": "Block",
        "volumeAttributesClassName": "gold",
        "scaleTargetRef": {"kind": "Deployment", "name": "d"}, "minReplicas": 1, "maxReplicas": 3,
        "targetCPUUtilizationPercentage": 50,
        "holderIdentity": "me"
    });
    spec["metrics"] = json!([
        {"type": "Resource", "resource": {"name": "cpu", "target": {"averageUtilization": 50}}},
        {"type": "Pods", "pods": {"target": {"averageValue": "1"}}},
        {"type": "External", "external": {"target": {"averageValue": "1"}}},
        {"type": "Object", "object": {"target": {"value": "1"}}},
        {"type": "ContainerResource", "containerResource": {"name": "memory", "target": {"averageValue": "1Mi"}}}
    ]);
    spec
}

fn sink_status() -> Value {
    let metric = json!({"current": {"averageValue": "1", "averageUtilization": 5, "value": "2"}});
    let mut status = json!({
        "phase": "Running", "reason": "NodeLost", "podIPs": [{"ip": "10.1.1.1"}], "nominatedNodeName": "n2",
        "conditions": [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "False"}, {"type": "Complete", "status": "True"}],
        "initContainerStatuses": [{"name": "i", "started": true, "ready": true, "restartCount": 1,
            "state": {"terminated": {"exitCode": 1, "signal": 9}}, "lastState": {"terminated": {"finishedAt": "2024-06-01T11:50:00Z"}}}],
        "containerStatuses": [{"name": "c", "ready": true, "restartCount": 2, "state": {"waiting": {"reason": "X"}, "running": {}}}],
        "replicas": 3, "readyReplicas": 2, "updatedReplicas": 1, "availableReplicas": 1, "succeeded": 1,
        "startTime": "2024-06-01T11:00:00Z", "completionTime": "2024-06-01T11:30:00Z",
        "active": [{}], "lastScheduleTime": "2024-06-01T11:00:00Z",
        "loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb"}]},
        "addresses": [{"type": "InternalIP", "address": "1.1.1.1"}],
        "nodeInfo": {"kubeletVersion": "v1", "osImage": "os"},
        "hard": {"cpu": "1", "limits.cpu": "2"}, "used": {"cpu": "500m"},
        "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
        "currentReplicas": 2, "currentCPUUtilizationPercentage": 10
    });
    status["currentMetrics"] = json!([
        {"resource": metric.clone()}, {"pods": metric.clone()}, {"external": metric.clone()}, {"object": metric}
    ]);
    status
}

/// Every JSON pointer into `value`, the root included.
fn pointers(value: &Value, prefix: &str, out: &mut Vec<String>) {
    out.push(prefix.to_owned());
    match value {
        Value::Object(members) => {
            for (key, child) in members {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                pointers(child, &format!("{prefix}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                pointers(child, &format!("{prefix}/{index}"), out);
            }
        }
        _ => {}
    }
}

fn assert_row_width(group: &str, kind: &str, obj: &Value) {
    let width = wasmkube_printers::columns(group, kind).len();
    let cells = wasmkube_printers::cells(group, kind, obj, now());
    assert_eq!(cells.len(), width, "{group}/{kind} on {obj}");
    assert!(
        cells.iter().all(|c| c.is_string() || c.is_i64() || c.is_boolean()),
        "{group}/{kind}: cells must be strings, integers or booleans: {cells:?}"
    );
}

#[test]
fn trivial_inputs_give_full_rows() {
    for (group, kind) in KINDS {
        for obj in [json!({}), Value::Null, json!([]), json!("x"), json!(7)] {
            assert_row_width(group, kind, &obj);
        }
    }
}

#[test]
fn the_well_formed_kitchen_sink_gives_full_rows() {
    let sink = kitchen_sink();
    for (group, kind) in KINDS {
        assert_row_width(group, kind, &sink);
    }
}

#[test]
fn every_part_replaced_by_every_hostile_value_gives_full_rows() {
    let sink = kitchen_sink();
    let mut paths = Vec::new();
    pointers(&sink, "", &mut paths);
    let hostile = hostile_values();
    for path in &paths {
        for replacement in &hostile {
            let mut obj = sink.clone();
            match obj.pointer_mut(path) {
                Some(slot) => *slot = replacement.clone(),
                None => unreachable!("pointer {path} came from the document"),
            }
            for (group, kind) in KINDS {
                assert_row_width(group, kind, &obj);
            }
        }
    }
}

#[test]
fn columns_have_a_name_column_and_valid_types() {
    for (group, kind) in KINDS {
        let columns = wasmkube_printers::columns(group, kind);
        assert!(!columns.is_empty(), "{group}/{kind}");
        assert_eq!(
            columns.iter().filter(|c| c.format == "name").count(),
            1,
            "{group}/{kind} has exactly one name column"
        );
        for column in &columns {
            assert!(["string", "integer", "boolean", "date"].contains(&column.type_));
            assert!((0..=1).contains(&column.priority));
        }
    }
}

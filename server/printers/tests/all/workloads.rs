//! Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController, PodTemplate and
//! ControllerRevision rows.

use serde_json::{Value, json};

use crate::support::{cells, column_names, meta, row};

fn template() -> Value {
    json!({
        "metadata": {"labels": {"app": "shop", "tier": "web"}},
        "spec": {"containers": [
            {"name": "web", "image": "nginx:1.25"},
            {"name": "log", "image": "fluent-bit:3"}
        ]}
    })
}

#[test]
fn deployment() {
    assert_eq!(
        column_names("apps", "Deployment"),
        ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers*", "Images*", "Selector*"]
    );
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta("shop", 2 * 86_400 + 3 * 3600),
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"tier": "web", "app": "shop"}},
            "template": template()
        },
        "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2}
    });
    assert_eq!(
        row("apps", "Deployment", &deployment),
        cells(json!([
            "shop",
            "2/3",
            3,
            2,
            "2d3h",
            "web,log",
            "nginx:1.25,fluent-bit:3",
            "app=shop,tier=web"
        ]))
    );
}

#[test]
fn deployment_defaults_and_selector_quirks() {
    let fresh = json!({"metadata": meta("new", 5), "spec": {"template": template()}});
    // replicas defaults to 1; an empty selector prints empty (not <none>) for Deployments.
    assert_eq!(
        row("apps", "Deployment", &fresh),
        cells(json!(["new", "0/1", 0, 0, "5s", "web,log", "nginx:1.25,fluent-bit:3", ""]))
    );
    let bad = json!({"metadata": meta("bad", 5), "spec": {"selector": {"matchLabels": {"-x": "y"}}}});
    assert_eq!(row("apps", "Deployment", &bad)[7], json!("<invalid>"));
}

#[test]
fn replica_set() {
    assert_eq!(
        column_names("apps", "ReplicaSet"),
        ["Name", "Desired", "Current", "Ready", "Age", "Containers*", "Images*", "Selector*"]
    );
    let rs = json!({
        "metadata": meta("shop-5d9f7c", 600),
        "spec": {
            "replicas": 3,
            "selector": {
                "matchLabels": {"app": "shop", "pod-template-hash": "5d9f7c"},
                "matchExpressions": [{"key": "track", "operator": "NotIn", "values": ["canary"]}]
            },
            "template": template()
        },
        "status": {"replicas": 3, "readyReplicas": 1}
    });
    assert_eq!(
        row("apps", "ReplicaSet", &rs),
        cells(json!([
            "shop-5d9f7c",
            3,
            3,
            1,
            "10m",
            "web,log",
            "nginx:1.25,fluent-bit:3",
            "app=shop,pod-template-hash=5d9f7c,track notin (canary)"
        ]))
    );
}

#[test]
fn stateful_set() {
    assert_eq!(column_names("apps", "StatefulSet"), ["Name", "Ready", "Age", "Containers*", "Images*"]);
    let sts = json!({
        "metadata": meta("db", 400 * 86_400),
        "spec": {"replicas": 3, "serviceName": "db", "template": {"spec": {"containers": [
            {"name": "postgres", "image": "postgres:16"}
        ]}}},
        "status": {"replicas": 3, "readyReplicas": 3}
    });
    assert_eq!(
        row("apps", "StatefulSet", &sts),
        cells(json!(["db", "3/3", "400d", "postgres", "postgres:16"]))
    );
}

#[test]
fn daemon_set() {
    assert_eq!(
        column_names("apps", "DaemonSet"),
        [
            "Name",
            "Desired",
            "Current",
            "Ready",
            "Up-to-date",
            "Available",
            "Node Selector",
            "Age",
            "Containers*",
            "Images*",
            "Selector*"
        ]
    );
    let ds = json!({
        "metadata": meta("node-exporter", 3600),
        "spec": {
            "selector": {"matchLabels": {"app": "node-exporter"}},
            "template": {"spec": {
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "containers": [{"name": "exporter", "image": "prom/node-exporter:v1.8"}]
            }}
        },
        "status": {
            "desiredNumberScheduled": 4, "currentNumberScheduled": 4, "numberReady": 3,
            "updatedNumberScheduled": 4, "numberAvailable": 3
        }
    });
    assert_eq!(
        row("apps", "DaemonSet", &ds),
        cells(json!([
            "node-exporter",
            4,
            4,
            3,
            4,
            3,
            "kubernetes.io/os=linux",
            "60m",
            "exporter",
            "prom/node-exporter:v1.8",
            "app=node-exporter"
        ]))
    );
}

#[test]
fn replication_controller() {
    assert_eq!(
        column_names("", "ReplicationController"),
        ["Name", "Desired", "Current", "Ready", "Age", "Containers*", "Images*", "Selector*"]
    );
    let rc = json!({
        "metadata": meta("legacy", 90),
        "spec": {"replicas": 2, "selector": {"app": "legacy"}, "template": template()},
        "status": {"replicas": 2, "readyReplicas": 2}
    });
    assert_eq!(
        row("", "ReplicationController", &rc),
        cells(json!(["legacy", 2, 2, 2, "90s", "web,log", "nginx:1.25,fluent-bit:3", "app=legacy"]))
    );
}

#[test]
fn pod_template() {
    assert_eq!(column_names("", "PodTemplate"), ["Name", "Containers", "Images", "Pod Labels"]);
    let pt = json!({"metadata": meta("tpl", 1), "template": template()});
    assert_eq!(
        row("", "PodTemplate", &pt),
        cells(json!(["tpl", "web,log", "nginx:1.25,fluent-bit:3", "app=shop,tier=web"]))
    );
}

#[test]
fn controller_revision() {
    assert_eq!(column_names("apps", "ControllerRevision"), ["Name", "Controller", "Revision", "Age"]);
    let mut revision = json!({"metadata": meta("db-7c9d6", 300), "revision": 2, "data": {}});
    revision["metadata"]["ownerReferences"] = json!([
        {"apiVersion": "v1", "kind": "Pod", "name": "other", "controller": false},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": true}
    ]);
    assert_eq!(
        row("apps", "ControllerRevision", &revision),
        cells(json!(["db-7c9d6", "statefulset.apps/db", 2, "5m"]))
    );
    let orphan = json!({"metadata": meta("orphan", 300), "revision": 1});
    assert_eq!(row("apps", "ControllerRevision", &orphan)[1], json!("<none>"));
}

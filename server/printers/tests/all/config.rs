//! Namespace, ConfigMap, Secret, ServiceAccount, ResourceQuota, Lease and RuntimeClass rows.

use serde_json::json;

use crate::support::{ago, cells, column_names, meta, row};

#[test]
fn namespace() {
    assert_eq!(column_names("", "Namespace"), ["Name", "Status", "Age"]);
    let ns = json!({"metadata": {"name": "team-a", "creationTimestamp": ago(3 * 86_400)}, "status": {"phase": "Active"}});
    assert_eq!(row("", "Namespace", &ns), cells(json!(["team-a", "Active", "3d"])));
    let mut leaving = json!({"metadata": meta("old", 60), "status": {"phase": "Terminating"}});
    leaving["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(row("", "Namespace", &leaving)[1], json!("Terminating"));
    assert_eq!(row("", "Namespace", &json!({"metadata": meta("new", 1)}))[1], json!("Active"));
}

#[test]
fn config_map_counts_data_and_binary_data() {
    assert_eq!(column_names("", "ConfigMap"), ["Name", "Data", "Age"]);
    let cm = json!({
        "metadata": meta("app-config", 42),
        "data": {"app.yaml": "x: 1", "LOG_LEVEL": "debug"},
        "binaryData": {"logo.png": "iVBORw0KGgo="}
    });
    assert_eq!(row("", "ConfigMap", &cm), cells(json!(["app-config", 3, "42s"])));
}

#[test]
fn secret() {
    assert_eq!(column_names("", "Secret"), ["Name", "Type", "Data", "Age"]);
    let tls = json!({
        "metadata": meta("shop-tls", 600),
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "LS0t", "tls.key": "LS0t"}
    });
    assert_eq!(row("", "Secret", &tls), cells(json!(["shop-tls", "kubernetes.io/tls", 2, "10m"])));
    // stringData is folded into data on write upstream; keys present in both count once.
    let opaque = json!({
        "metadata": meta("creds", 600),
        "data": {"user": "YWRtaW4="},
        "stringData": {"user": "admin", "password": "s3cret"}
    });
    assert_eq!(row("", "Secret", &opaque), cells(json!(["creds", "Opaque", 2, "10m"])));
}

#[test]
fn service_account() {
    assert_eq!(column_names("", "ServiceAccount"), ["Name", "Secrets", "Age"]);
    let sa = json!({"metadata": meta("default", 5 * 86_400), "secrets": [{"name": "default-token"}]});
    assert_eq!(row("", "ServiceAccount", &sa), cells(json!(["default", 1, "5d"])));
    let bare = json!({"metadata": meta("builder", 5)});
    assert_eq!(row("", "ServiceAccount", &bare), cells(json!(["builder", 0, "5s"])));
}

#[test]
fn resource_quota() {
    assert_eq!(column_names("", "ResourceQuota"), ["Name", "Request", "Limit", "Age"]);
    let quota = json!({
        "metadata": meta("compute", 3600),
        "spec": {"hard": {"requests.cpu": "2", "requests.memory": "4Gi", "limits.cpu": "4", "limits.memory": "8Gi", "pods": "10"}},
        "status": {
            "hard": {"requests.cpu": "2", "requests.memory": "4Gi", "limits.cpu": "4", "limits.memory": "8Gi", "pods": "10"},
            "used": {"requests.cpu": "500m", "requests.memory": "1048576Ki", "limits.cpu": "1000m", "pods": "3"}
        }
    });
    assert_eq!(
        row("", "ResourceQuota", &quota),
        cells(json!([
            "compute",
            "pods: 3/10, requests.cpu: 500m/2, requests.memory: 1Gi/4Gi",
            "limits.cpu: 1/4, limits.memory: 0/8Gi",
            "60m"
        ]))
    );
}

#[test]
fn lease_and_runtime_class() {
    assert_eq!(column_names("coordination.k8s.io", "Lease"), ["Name", "Holder", "Age"]);
    let lease = json!({
        "metadata": meta("kube-scheduler", 200),
        "spec": {"holderIdentity": "cp-1_4f1c", "leaseDurationSeconds": 15, "renewTime": "2024-06-01T11:59:58.000000Z"}
    });
    assert_eq!(
        row("coordination.k8s.io", "Lease", &lease),
        cells(json!(["kube-scheduler", "cp-1_4f1c", "3m20s"]))
    );
    assert_eq!(column_names("node.k8s.io", "RuntimeClass"), ["Name", "Handler", "Age"]);
    let rc = json!({"metadata": {"name": "wasm", "creationTimestamp": ago(7)}, "handler": "wasmtime"});
    assert_eq!(row("node.k8s.io", "RuntimeClass", &rc), cells(json!(["wasm", "wasmtime", "7s"])));
}

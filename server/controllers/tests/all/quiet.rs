//! Level-triggered controllers must converge: once everything is settled, nobody writes.

use crate::harness::{Cluster, container, int};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_cluster_makes_no_writes() {
    let c = Cluster::start().await;
    let _kubelet = c.kubelet("default", |_| true);
    c.create("nodes", json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})).await;
    let template = |app: &str| json!({"metadata": {"labels": {"app": app}}, "spec": {"containers": [container("main", "x.wasm")]}});
    let d = c
        .create(
            "apps/deployments",
            json!({"metadata": {"name": "d", "namespace": "default"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}}, "template": template("d")}}),
        )
        .await;
    let ds = c
        .create(
            "apps/daemonsets",
            json!({"metadata": {"name": "ds", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "ds"}}, "template": template("ds")}}),
        )
        .await;
    let sts = c
        .create("apps/statefulsets", json!({"metadata": {"name": "s", "namespace": "default"},
            "spec": {"replicas": 2, "serviceName": "s", "selector": {"matchLabels": {"app": "s"}}, "template": template("s")}}))
        .await;
    c.wait_for("apps/deployments", &d, "deployment ready", |o| int(o, "/status/availableReplicas") == 2)
        .await;
    c.wait_for("apps/daemonsets", &ds, "daemon set ready", |o| int(o, "/status/numberAvailable") == 1).await;
    c.wait_for("apps/statefulsets", &sts, "stateful set ready", |o| int(o, "/status/readyReplicas") == 2)
        .await;
    // Events are written asynchronously; let them and any last syncs land.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = c.api.store_rev();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(c.api.store_rev(), before, "something kept writing");
}

//! Taints and tolerations, cordoned nodes and nodes that are not Ready.

use crate::support::{Cluster, node, pod};
use serde_json::json;
use wasmkube_apiserver::service::update::Part;

#[tokio::test]
async fn untolerated_taints_keep_pods_away() {
    let c = Cluster::start().await;
    c.node(node("gpu").taint("dedicated", "gpu", "NoSchedule")).await;
    c.node(node("evicting").taint("maintenance", "", "NoExecute")).await;
    c.pod("default", pod("plain", "100m", "")).await;
    let expected = "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, \
        1 node(s) had untolerated taint {maintenance: }. \
        preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.";
    assert_eq!(c.unschedulable("default", "plain").await, expected);

    let mut tolerant = pod("tolerant", "100m", "");
    tolerant["spec"]["tolerations"] =
        json!([{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]);
    c.pod("default", tolerant).await;
    assert_eq!(c.bound("default", "tolerant").await, "gpu");

    let mut anything = pod("anything", "100m", "");
    anything["spec"]["tolerations"] = json!([{"key": "maintenance", "operator": "Exists"}]);
    anything["spec"]["nodeSelector"] = json!({"kubernetes.io/hostname": "evicting"});
    c.pod("default", anything).await;
    assert_eq!(c.bound("default", "anything").await, "evicting");
}

#[tokio::test]
async fn prefer_no_schedule_is_a_preference() {
    let c = Cluster::start().await;
    c.node(node("soft").taint("spot", "true", "PreferNoSchedule")).await;
    c.node(node("clean")).await;
    for i in 0..3 {
        c.pod("default", pod(&format!("p{i}"), "100m", "")).await;
        assert_eq!(c.bound("default", &format!("p{i}")).await, "clean");
    }
    // Only the soft node is left with room: the preference gives way.
    let mut pinned = pod("pinned", "100m", "");
    pinned["spec"]["nodeSelector"] = json!({"kubernetes.io/hostname": "soft"});
    c.pod("default", pinned).await;
    assert_eq!(c.bound("default", "pinned").await, "soft");
}

#[tokio::test]
async fn cordoned_and_not_ready_nodes_are_skipped_unless_tolerated() {
    let c = Cluster::start().await;
    c.node(node("cordoned").cordoned()).await;
    c.node(node("sick").not_ready()).await;
    c.pod("default", pod("web", "100m", "")).await;
    let expected = "0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, \
        1 node(s) were unschedulable. \
        preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.";
    assert_eq!(c.unschedulable("default", "web").await, expected);

    // What DaemonSet pods carry.
    let mut daemon = pod("daemon", "100m", "");
    daemon["spec"]["tolerations"] = json!([
        {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]);
    c.pod("default", daemon).await;
    assert_eq!(c.bound("default", "daemon").await, "cordoned");

    // Uncordoning lets the waiting pod in.
    c.merge("nodes", "", "cordoned", json!({"spec": {"unschedulable": null}}), Part::Main).await;
    assert_eq!(c.bound("default", "web").await, "cordoned");
}

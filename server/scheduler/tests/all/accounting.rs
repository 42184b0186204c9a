//! Pods the scheduler does not place still count: pods with `spec.nodeName` set by their
//! creator, and pods that belong to another scheduler are left alone.

use crate::support::{Cluster, node, node_of, pod};
use serde_json::json;

#[tokio::test]
async fn pods_with_a_node_name_are_counted_not_bound() {
    let c = Cluster::start().await;
    c.node(node("a").allocatable("cpu", "2")).await;
    c.node(node("b").allocatable("cpu", "2")).await;
    let mut direct = pod("direct", "1500m", "");
    direct["spec"]["nodeName"] = json!("a");
    c.pod("default", direct).await;
    // Only b has room left for a whole cpu.
    c.pod("default", pod("scheduled", "1500m", "")).await;
    assert_eq!(c.bound("default", "scheduled").await, "b");
    c.pod("default", pod("too-big", "1", "")).await;
    let message = c.unschedulable("default", "too-big").await;
    assert!(message.starts_with("0/2 nodes are available: 2 Insufficient cpu."), "{message}");
}

#[tokio::test]
async fn other_schedulers_pods_are_left_alone() {
    let c = Cluster::start().await;
    c.node(node("a")).await;
    let mut theirs = pod("theirs", "100m", "");
    theirs["spec"]["schedulerName"] = json!("my-scheduler");
    c.pod("default", theirs).await;
    c.pod("default", pod("ours", "100m", "")).await;
    c.bound("default", "ours").await;
    // Ours was queued after theirs and is bound, so theirs was seen and skipped.
    let theirs = c.get("pods", "default", "theirs").await;
    assert_eq!(node_of(&theirs), "");
    assert!(
        theirs.pointer("/status/conditions").is_none_or(|c| c.as_array().is_some_and(|a| a.is_empty())),
        "{theirs}"
    );
}

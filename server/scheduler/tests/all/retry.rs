//! Waiting pods are retried when the cluster changes: a node is added, a node changes, a pod
//! goes away or finishes.

use crate::support::{Cluster, node, pod};
use serde_json::json;
use std::time::Duration;
use wasmkube_apiserver::service::update::Part;

#[tokio::test]
async fn a_new_node_takes_the_waiting_pod() {
    let c = Cluster::start().await;
    c.pod("default", pod("early", "100m", "")).await;
    assert_eq!(c.unschedulable("default", "early").await, "no nodes available to schedule pods");
    c.node(node("late")).await;
    assert_eq!(c.bound("default", "early").await, "late");
}

#[tokio::test]
async fn a_node_growing_or_a_pod_finishing_makes_room() {
    let c = Cluster::start().await;
    c.node(node("n").allocatable("cpu", "1")).await;
    c.pod("default", pod("big", "1", "")).await;
    c.bound("default", "big").await;
    c.pod("default", pod("next", "1", "")).await;
    let first = c.unschedulable("default", "next").await;
    assert!(first.starts_with("0/1 nodes are available: 1 Insufficient cpu."), "{first}");

    // The pod that held the cpu finishes: it no longer counts.
    c.merge("pods", "default", "big", json!({"status": {"phase": "Succeeded"}}), Part::Status).await;
    assert_eq!(c.bound("default", "next").await, "n");

    c.pod("default", pod("third", "1", "")).await;
    c.unschedulable("default", "third").await;
    c.merge("nodes", "", "n", json!({"status": {"allocatable": {"cpu": "2"}}}), Part::Status).await;
    assert_eq!(c.bound("default", "third").await, "n");
}

#[tokio::test]
async fn a_waiting_pod_is_reported_once_per_reason() {
    let c = Cluster::with_config(wasmkube_scheduler::Config {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        unschedulable_flush: Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    c.node(node("n").allocatable("cpu", "1")).await;
    c.pod("default", pod("waiting", "2", "")).await;
    c.unschedulable("default", "waiting").await;
    c.event("default", "waiting", "FailedScheduling").await;
    let rv = c.get("pods", "default", "waiting").await["metadata"]["resourceVersion"].clone();
    // Many retries later (every 50 ms), nothing about the pod was rewritten: same summary,
    // same status, one event. Other writes advance the revision meanwhile.
    for i in 0..10 {
        let cm = json!({"metadata": {"name": format!("tick-{i}")}});
        c.api
            .create(crate::support::def("configmaps"), "default", cm, &crate::support::opts())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(c.get("pods", "default", "waiting").await["metadata"]["resourceVersion"], rv);
    let events =
        c.api.list(crate::support::def("events"), Some("default"), &Default::default()).await.unwrap();
    let failed: Vec<_> = events.items.iter().filter(|e| e["reason"] == "FailedScheduling").collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["count"], 1);
}

//! NodeResourcesFit: requests against what nodes have left, and the unschedulable report.

use crate::support::{Cluster, node, pod};
use serde_json::json;

#[tokio::test]
async fn a_pod_goes_to_the_node_with_room() {
    let c = Cluster::start().await;
    c.node(node("small").allocatable("cpu", "1")).await;
    c.node(node("big").allocatable("cpu", "8")).await;
    c.pod("default", pod("web", "2", "1Gi")).await;
    assert_eq!(c.bound("default", "web").await, "big");
    let message = c.event("default", "web", "Scheduled").await;
    assert_eq!(message, "Successfully assigned default/web to big");
}

#[tokio::test]
async fn insufficient_resources_are_reported_like_upstream() {
    let c = Cluster::start().await;
    c.node(node("a").allocatable("cpu", "1")).await;
    c.node(node("b").allocatable("cpu", "1").allocatable("memory", "1Gi")).await;
    c.pod("default", pod("hungry", "2", "2Gi")).await;
    let expected = "0/2 nodes are available: 1 Insufficient memory, 2 Insufficient cpu. \
        preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.";
    assert_eq!(c.unschedulable("default", "hungry").await, expected);
    assert_eq!(c.event("default", "hungry", "FailedScheduling").await, expected);
}

#[tokio::test]
async fn no_node_is_over_committed_by_a_burst_of_pods() {
    let c = Cluster::start().await;
    for n in ["n1", "n2", "n3"] {
        c.node(node(n).allocatable("cpu", "1")).await;
    }
    // Each node fits exactly four of these; created at once, decided before any bind lands.
    let pods: Vec<_> = (0..12).map(|i| c.pod("default", pod(&format!("p{i}"), "250m", "64Mi"))).collect();
    futures::future::join_all(pods).await;
    for i in 0..12 {
        c.bound("default", &format!("p{i}")).await;
    }
    c.pod("default", pod("extra", "250m", "64Mi")).await;
    let message = c.unschedulable("default", "extra").await;
    assert!(message.starts_with("0/3 nodes are available: 3 Insufficient cpu."), "{message}");
    let placement = c.placement("default").await;
    assert_eq!(placement.get("n1"), Some(&4), "{placement:?}");
    assert_eq!(placement.get("n2"), Some(&4), "{placement:?}");
    assert_eq!(placement.get("n3"), Some(&4), "{placement:?}");
}

#[tokio::test]
async fn pod_count_extended_resources_and_init_containers_count() {
    let c = Cluster::start().await;
    c.node(node("tiny").allocatable("pods", "1")).await;
    c.node(node("gpu").allocatable("example.com/gpu", "1").allocatable("cpu", "2")).await;
    let mut gpu_pod = pod("trainer", "100m", "");
    gpu_pod["spec"]["containers"][0]["resources"] =
        json!({"requests": {"example.com/gpu": "1"}, "limits": {"example.com/gpu": "1"}});
    c.pod("default", gpu_pod).await;
    assert_eq!(c.bound("default", "trainer").await, "gpu");

    // The init container needs 5 cpus at its peak: more than either node has.
    let mut init = pod("migrate", "100m", "");
    init["spec"]["initContainers"] = json!([{"name": "init", "image": "hello:latest",
        "resources": {"requests": {"cpu": "5"}}}]);
    c.pod("default", init).await;
    let message = c.unschedulable("default", "migrate").await;
    assert!(message.starts_with("0/2 nodes are available: 2 Insufficient cpu."), "{message}");

    // "tiny" takes one pod.
    for name in ["first", "second"] {
        let mut p = pod(name, "", "");
        p["spec"]["nodeSelector"] = json!({"kubernetes.io/hostname": "tiny"});
        c.pod("default", p).await;
    }
    assert_eq!(c.bound("default", "first").await, "tiny");
    let message = c.unschedulable("default", "second").await;
    assert!(
        message.contains("1 Too many pods, 1 node(s) didn't match Pod's node affinity/selector."),
        "{message}"
    );
}

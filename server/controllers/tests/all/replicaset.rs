//! ReplicaSet and ReplicationController.

use crate::harness::{Cluster, container, controller_uid, int};
use serde_json::{Value, json};
use std::time::Duration;

fn replica_set(name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name, "tier": "web"}},
                         "spec": {"containers": [container("main", "hello.wasm")]}},
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_owned_pods_from_the_template_and_reports_status() {
    let c = Cluster::start().await;
    let rs = c.create("apps/replicasets", replica_set("web", 3)).await;
    let pods = c.wait_active_pods(&rs, 3).await;
    for p in &pods {
        assert!(p["metadata"]["name"].as_str().unwrap().starts_with("web-"));
        assert_eq!(p["metadata"]["generateName"], "web-");
        assert_eq!(p["metadata"]["labels"], json!({"app": "web", "tier": "web"}));
        let owner = &p["metadata"]["ownerReferences"][0];
        assert_eq!(owner["kind"], "ReplicaSet");
        assert_eq!(owner["apiVersion"], "apps/v1");
        assert_eq!(owner["name"], "web");
        assert_eq!(owner["controller"], true);
        assert_eq!(owner["blockOwnerDeletion"], true);
    }
    let rs = c
        .wait_for("apps/replicasets", &rs, "status.replicas 3", |o| {
            int(o, "/status/replicas") == 3 && int(o, "/status/observedGeneration") == 1
        })
        .await;
    assert_eq!(int(&rs, "/status/fullyLabeledReplicas"), 3);
    assert_eq!(int(&rs, "/status/readyReplicas"), 0);
    for p in &pods {
        c.make_ready(p).await;
    }
    c.wait_for("apps/replicasets", &rs, "3 ready and available", |o| {
        int(o, "/status/readyReplicas") == 3 && int(o, "/status/availableReplicas") == 3
    })
    .await;
    let msg = c.wait_event(&rs, "SuccessfulCreate").await;
    assert!(msg.starts_with("Created pod: web-"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_down_deletes_unready_pods_first_and_scaling_up_creates() {
    let c = Cluster::start().await;
    let rs = c.create("apps/replicasets", replica_set("web", 4)).await;
    let pods = c.wait_active_pods(&rs, 4).await;
    let ready: Vec<String> =
        pods[..2].iter().map(|p| p["metadata"]["name"].as_str().unwrap().into()).collect();
    for p in &pods[..2] {
        c.make_ready(p).await;
    }
    c.wait_for("apps/replicasets", &rs, "2 ready", |o| int(o, "/status/readyReplicas") == 2).await;
    let rs = c.merge("apps/replicasets", &rs, json!({"spec": {"replicas": 2}})).await;
    let left = c.wait_active_pods(&rs, 2).await;
    let mut names: Vec<String> =
        left.iter().map(|p| p["metadata"]["name"].as_str().unwrap().into()).collect();
    names.sort();
    let mut ready = ready;
    ready.sort();
    assert_eq!(names, ready, "the unready pods go first");
    let rs = c
        .wait_for("apps/replicasets", &rs, "observedGeneration 2", |o| {
            int(o, "/status/observedGeneration") == 2 && int(o, "/status/replicas") == 2
        })
        .await;
    c.wait_event(&rs, "SuccessfulDelete").await;
    let rs = c.merge("apps/replicasets", &rs, json!({"spec": {"replicas": 5}})).await;
    c.wait_active_pods(&rs, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_events_never_over_creates() {
    let c = Cluster::start().await;
    let rs = c.create("apps/replicasets", replica_set("burst", 20)).await;
    let pods = c.wait_active_pods(&rs, 20).await;
    // Status churn on every pod while the controller works must not create extra pods.
    let churn = pods.iter().map(|p| c.make_ready(p));
    futures::future::join_all(churn).await;
    for _ in 0..10 {
        assert_eq!(c.pods_of(&rs).await.len(), 20);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    c.wait_for("apps/replicasets", &rs, "20 ready", |o| int(o, "/status/readyReplicas") == 20).await;
    assert_eq!(c.pods_of(&rs).await.len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopts_matching_orphans_and_releases_pods_that_stop_matching() {
    let c = Cluster::start().await;
    let orphan = c
        .create(
            "pods",
            json!({"metadata": {"name": "stray", "namespace": "default", "labels": {"app": "adopt"}},
                                "spec": {"containers": [container("main", "hello.wasm")]}}),
        )
        .await;
    let rs = c.create("apps/replicasets", replica_set("adopt", 2)).await;
    let pods = c.wait_active_pods(&rs, 2).await;
    assert!(pods.iter().any(|p| p["metadata"]["name"] == "stray"), "the orphan was adopted");
    let other = pods.iter().find(|p| p["metadata"]["name"] != "stray").unwrap();
    // Relabel the adopted pod: it is released and replaced.
    c.merge("pods", &orphan, json!({"metadata": {"labels": {"app": "elsewhere"}}})).await;
    let pods = c
        .eventually("the release and a replacement", || async {
            let pods = c.active_pods_of(&rs).await;
            (pods.len() == 2 && pods.iter().all(|p| p["metadata"]["name"] != "stray")).then_some(pods)
        })
        .await;
    assert!(pods.iter().any(|p| p["metadata"]["name"] == other["metadata"]["name"]));
    let stray = c.get("pods", "default", "stray").await.unwrap();
    assert!(controller_uid(&stray).is_none(), "released: {stray}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_and_deleted_pods_are_replaced() {
    let c = Cluster::start().await;
    let rs = c.create("apps/replicasets", replica_set("heal", 2)).await;
    let pods = c.wait_active_pods(&rs, 2).await;
    c.finish(&pods[0], 1).await;
    c.delete("pods", &pods[1], None).await;
    let now = c.wait_active_pods(&rs, 2).await;
    for p in &now {
        assert_ne!(p["metadata"]["name"], pods[0]["metadata"]["name"]);
        assert_ne!(p["metadata"]["name"], pods[1]["metadata"]["name"]);
    }
    // The failed pod stays (upstream leaves it to the pod GC) but is not counted.
    c.wait_for("apps/replicasets", &rs, "replicas 2", |o| int(o, "/status/replicas") == 2).await;
    assert_eq!(c.pods_of(&rs).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_ready_seconds_delays_availability_on_the_controller_clock() {
    let c = Cluster::start_with_manual_clock().await;
    let mut spec = replica_set("slow", 1);
    spec["spec"]["minReadySeconds"] = json!(30);
    let rs = c.create("apps/replicasets", spec).await;
    let pods = c.wait_active_pods(&rs, 1).await;
    c.make_ready(&pods[0]).await;
    let rs = c.wait_for("apps/replicasets", &rs, "ready", |o| int(o, "/status/readyReplicas") == 1).await;
    assert_eq!(int(&rs, "/status/availableReplicas"), 0);
    c.clock.as_ref().unwrap().advance(chrono::Duration::seconds(31));
    c.wait_for("apps/replicasets", &rs, "available", |o| int(o, "/status/availableReplicas") == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_controllers_share_the_implementation() {
    let c = Cluster::start().await;
    let rc = c
        .create(
            "replicationcontrollers",
            json!({"apiVersion": "v1", "kind": "ReplicationController",
                   "metadata": {"name": "legacy", "namespace": "default"},
                   "spec": {"replicas": 2, "selector": {"app": "legacy"},
                            "template": {"metadata": {"labels": {"app": "legacy"}},
                                         "spec": {"containers": [container("main", "hello.wasm")]}}}}),
        )
        .await;
    let pods = c.wait_active_pods(&rc, 2).await;
    assert_eq!(pods[0]["metadata"]["ownerReferences"][0]["kind"], "ReplicationController");
    assert_eq!(pods[0]["metadata"]["ownerReferences"][0]["apiVersion"], "v1");
    c.wait_for("replicationcontrollers", &rc, "replicas 2", |o| int(o, "/status/replicas") == 2).await;
    let rc = c.merge("replicationcontrollers", &rc, json!({"spec": {"replicas": 0}})).await;
    c.wait_active_pods(&rc, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_set_removes_its_pods_through_the_garbage_collector() {
    let c = Cluster::start().await;
    let rs = c.create("apps/replicasets", replica_set("gone", 2)).await;
    c.wait_active_pods(&rs, 2).await;
    c.delete("apps/replicasets", &rs, None).await;
    c.eventually("pods gone", || async { c.pods_of(&rs).await.is_empty().then_some(()) }).await;
}

//! Inter-pod affinity and anti-affinity: required (a filter) and preferred (a score).

use crate::support::{Cluster, node, pod};
use serde_json::{Value, json};

fn labelled(name: &str, app: &str) -> Value {
    let mut p = pod(name, "100m", "");
    p["metadata"]["labels"] = json!({"app": app});
    p
}

fn term(app: &str, topology_key: &str) -> Value {
    json!({"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": topology_key})
}

async fn three_nodes_in_two_zones() -> Cluster {
    let c = Cluster::start().await;
    c.node(node("a1").label("zone", "a")).await;
    c.node(node("a2").label("zone", "a")).await;
    c.node(node("b1").label("zone", "b")).await;
    c
}

#[tokio::test]
async fn anti_affinity_spreads_replicas_one_per_node() {
    let c = three_nodes_in_two_zones().await;
    for i in 0..4 {
        let mut p = labelled(&format!("web-{i}"), "web");
        p["spec"]["affinity"] = json!({"podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [term("web", "kubernetes.io/hostname")]}});
        c.pod("default", p).await;
    }
    let mut nodes = Vec::new();
    for i in 0..3 {
        nodes.push(c.bound("default", &format!("web-{i}")).await);
    }
    nodes.sort();
    assert_eq!(nodes, ["a1", "a2", "b1"]);
    let expected = "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. \
        preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";
    assert_eq!(c.unschedulable("default", "web-3").await, expected);
}

#[tokio::test]
async fn required_affinity_co_locates_by_zone() {
    let c = three_nodes_in_two_zones().await;
    let mut db = labelled("db", "db");
    db["spec"]["nodeSelector"] = json!({"kubernetes.io/hostname": "b1"});
    c.pod("default", db).await;
    assert_eq!(c.bound("default", "db").await, "b1");
    for i in 0..3 {
        let mut p = labelled(&format!("cache-{i}"), "cache");
        p["spec"]["affinity"] =
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("db", "zone")]}});
        c.pod("default", p).await;
        assert_eq!(c.bound("default", &format!("cache-{i}")).await, "b1");
    }
    // No pod matches anywhere and the pod does not match itself: nothing fits.
    let mut lonely = labelled("lonely", "lonely");
    lonely["spec"]["affinity"] =
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("ghost", "zone")]}});
    c.pod("default", lonely).await;
    let message = c.unschedulable("default", "lonely").await;
    assert!(
        message.starts_with("0/3 nodes are available: 3 node(s) didn't match pod affinity rules."),
        "{message}"
    );
    // The first pod of a self-affine group may go anywhere.
    let mut first = labelled("group-0", "group");
    first["spec"]["affinity"] =
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("group", "zone")]}});
    c.pod("default", first).await;
    c.bound("default", "group-0").await;
}

#[tokio::test]
async fn existing_pods_anti_affinity_repels_newcomers() {
    let c = three_nodes_in_two_zones().await;
    let mut loner = labelled("loner", "loner");
    loner["spec"]["nodeSelector"] = json!({"zone": "a"});
    loner["spec"]["affinity"] = json!({"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term("noisy", "zone")]}});
    c.pod("default", loner).await;
    c.bound("default", "loner").await;
    for i in 0..3 {
        c.pod("default", labelled(&format!("noisy-{i}"), "noisy")).await;
        assert_eq!(c.bound("default", &format!("noisy-{i}")).await, "b1", "zone a is the loner's");
    }
    // Namespaces scope the term: the same labels elsewhere are not "noisy" to the loner.
    c.api
        .create(
            crate::support::def("namespaces"),
            "",
            json!({"metadata": {"name": "other"}}),
            &crate::support::opts(),
        )
        .await
        .unwrap();
    let mut elsewhere = labelled("elsewhere", "noisy");
    elsewhere["spec"]["nodeSelector"] = json!({"zone": "a"});
    c.pod("other", elsewhere).await;
    c.bound("other", "elsewhere").await;
}

#[tokio::test]
async fn preferred_anti_affinity_spreads_and_preferred_affinity_gathers() {
    let c = three_nodes_in_two_zones().await;
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..3 {
        let mut p = labelled(&format!("soft-{i}"), "soft");
        p["spec"]["affinity"] = json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": term("soft", "kubernetes.io/hostname")}]}});
        c.pod("default", p).await;
        seen.insert(c.bound("default", &format!("soft-{i}")).await);
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    let mut p = labelled("friend", "friend");
    p["spec"]["affinity"] = json!({"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": term("soft-anchor", "zone")}]}});
    let mut anchor = labelled("anchor", "soft-anchor");
    anchor["spec"]["nodeSelector"] = json!({"kubernetes.io/hostname": "b1"});
    c.pod("default", anchor).await;
    c.bound("default", "anchor").await;
    c.pod("default", p).await;
    assert_eq!(c.bound("default", "friend").await, "b1");
}

//! nodeSelector and node affinity, required and preferred.

use crate::support::{Cluster, node, pod};
use serde_json::json;

async fn zoned_cluster() -> Cluster {
    let c = Cluster::start().await;
    c.node(node("a1").label("zone", "a").label("disk", "ssd").label("generation", "3")).await;
    c.node(node("b1").label("zone", "b").label("generation", "5")).await;
    c.node(node("c1").label("zone", "c").label("disk", "hdd").label("generation", "7")).await;
    c
}

#[tokio::test]
async fn node_selector_picks_the_labelled_node() {
    let c = zoned_cluster().await;
    let mut p = pod("picky", "100m", "");
    p["spec"]["nodeSelector"] = json!({"zone": "b"});
    c.pod("default", p).await;
    assert_eq!(c.bound("default", "picky").await, "b1");

    let mut nowhere = pod("nowhere", "100m", "");
    nowhere["spec"]["nodeSelector"] = json!({"zone": "mars"});
    c.pod("default", nowhere).await;
    let expected = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. \
        preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
    assert_eq!(c.unschedulable("default", "nowhere").await, expected);
}

fn required(terms: serde_json::Value) -> serde_json::Value {
    json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}})
}

#[tokio::test]
async fn required_node_affinity_operators() {
    let c = zoned_cluster().await;
    let cases = [
        (
            "in-and-exists",
            json!([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "c"]},
            {"key": "disk", "operator": "Exists"}, {"key": "disk", "operator": "NotIn", "values": ["ssd"]}]}]),
            "c1",
        ),
        (
            "gt-lt",
            json!([{"matchExpressions": [{"key": "generation", "operator": "Gt", "values": ["3"]},
            {"key": "generation", "operator": "Lt", "values": ["7"]}]}]),
            "b1",
        ),
        ("no-disk", json!([{"matchExpressions": [{"key": "disk", "operator": "DoesNotExist"}]}]), "b1"),
        (
            "by-name",
            json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a1"]}]}]),
            "a1",
        ),
        // Terms are ORed: the first matches nothing, the second one node.
        (
            "ored",
            json!([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z"]}]},
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["c"]}]}]),
            "c1",
        ),
    ];
    for (name, terms, _) in &cases {
        let mut p = pod(name, "100m", "");
        p["spec"]["affinity"] = required(terms.clone());
        c.pod("default", p).await;
    }
    for (name, _, want) in &cases {
        assert_eq!(c.bound("default", name).await, *want, "{name}");
    }
}

#[tokio::test]
async fn preferred_node_affinity_wins_by_weight() {
    let c = zoned_cluster().await;
    let mut p = pod("leaning", "100m", "");
    p["spec"]["affinity"] = json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
        {"weight": 80, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["hdd"]}]}},
    ]}});
    c.pod("default", p).await;
    assert_eq!(c.bound("default", "leaning").await, "c1");
}

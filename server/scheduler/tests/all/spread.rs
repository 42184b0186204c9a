//! Topology spread constraints: DoNotSchedule (a filter) and ScheduleAnyway (a score).

use crate::support::{Cluster, node, pod};
use serde_json::{Value, json};

fn spread_pod(name: &str, max_skew: i64, key: &str, when: &str) -> Value {
    let mut p = pod(name, "100m", "");
    p["metadata"]["labels"] = json!({"app": "spread"});
    p["spec"]["topologySpreadConstraints"] = json!([{"maxSkew": max_skew, "topologyKey": key,
        "whenUnsatisfiable": when, "labelSelector": {"matchLabels": {"app": "spread"}}}]);
    p
}

async fn zones() -> Cluster {
    let c = Cluster::start().await;
    for (n, z) in [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("c1", "c")] {
        c.node(node(n).label("zone", z)).await;
    }
    c
}

async fn zone_counts(c: &Cluster, names: &[String]) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for name in names {
        let node = c.bound("default", name).await;
        *out.entry(node[..1].to_string()).or_default() += 1;
    }
    out
}

#[tokio::test]
async fn do_not_schedule_keeps_zones_within_max_skew() {
    let c = zones().await;
    // Zone a has three nodes, so without the constraint most pods would go there.
    let names: Vec<String> = (0..6).map(|i| format!("s{i}")).collect();
    for name in &names {
        c.pod("default", spread_pod(name, 1, "zone", "DoNotSchedule")).await;
    }
    let counts = zone_counts(&c, &names).await;
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), [2, 2, 2], "{counts:?}");
}

#[tokio::test]
async fn skew_blocks_a_zone_and_a_missing_key_is_unresolvable() {
    let c = Cluster::start().await;
    c.node(node("a1").label("zone", "a")).await;
    c.node(node("b1").label("zone", "b").allocatable("cpu", "100m")).await;
    c.node(node("nozone")).await;
    // b1 is full after one pod; zone a may then get one more than zone b, not two.
    let mut first = spread_pod("s0", 1, "zone", "DoNotSchedule");
    first["spec"]["nodeSelector"] = json!({"zone": "b"});
    c.pod("default", first).await;
    assert_eq!(c.bound("default", "s0").await, "b1");
    for name in ["s1", "s2"] {
        c.pod("default", spread_pod(name, 1, "zone", "DoNotSchedule")).await;
        assert_eq!(c.bound("default", name).await, "a1");
    }
    c.pod("default", spread_pod("s3", 1, "zone", "DoNotSchedule")).await;
    let message = c.unschedulable("default", "s3").await;
    let expected = "0/3 nodes are available: 1 Insufficient cpu, \
        1 node(s) didn't match pod topology spread constraints, \
        1 node(s) didn't match pod topology spread constraints (missing required label). \
        preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, \
        2 No preemption victims found for incoming pod.";
    assert_eq!(message, expected);
}

#[tokio::test]
async fn schedule_anyway_prefers_the_emptier_domain() {
    let c = zones().await;
    let names: Vec<String> = (0..6).map(|i| format!("soft{i}")).collect();
    for name in &names {
        c.pod("default", spread_pod(name, 1, "zone", "ScheduleAnyway")).await;
        c.bound("default", name).await;
    }
    let counts = zone_counts(&c, &names).await;
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), [2, 2, 2], "{counts:?}");
}

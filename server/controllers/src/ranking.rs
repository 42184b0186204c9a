//! Which pods a controller deletes first when it scales down (upstream `ActivePodsWithRanks`,
//! with pod deletion cost and logarithmic scale-down, both on by default upstream).

use crate::pods::{created, is_ready, node_name, phase, ready_since};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::HashMap;
use wasmkube_api::meta;

const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

fn phase_ordinal(pod: &Value) -> u8 {
    match phase(pod) {
        "Unknown" => 1,
        "Running" => 2,
        _ => 0,
    }
}

fn deletion_cost(pod: &Value) -> i64 {
    pod.pointer("/metadata/annotations")
        .and_then(|a| a.get(DELETION_COST))
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<i32>().ok())
        .map_or(0, i64::from)
}

fn max_restarts(pod: &Value) -> i64 {
    pod.pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("restartCount")?.as_i64())
        .max()
        .unwrap_or(0)
}

/// Base-2 log of the age in nanoseconds: pods of about the same age rank the same.
fn log_rank(t: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let nanos = (now - t).num_nanoseconds().unwrap_or(i64::MAX);
    if nanos > 0 { (nanos as f64).log2() as i64 } else { -1 }
}

/// Newer (or unknown) times first; times of the same logarithmic age fall back to the uid.
fn newer_first(
    a: (Option<DateTime<Utc>>, &Value),
    b: (Option<DateTime<Utc>>, &Value),
    now: DateTime<Utc>,
) -> Ordering {
    match (a.0, b.0) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) if x == y => Ordering::Equal,
        (Some(x), Some(y)) => match log_rank(x, now).cmp(&log_rank(y, now)) {
            Ordering::Equal => meta::uid(a.1).cmp(meta::uid(b.1)),
            other => other,
        },
    }
}

/// `Less` of upstream's ranking: `Less` means "delete first".
fn compare(a: &Value, b: &Value, rank_a: usize, rank_b: usize, now: DateTime<Utc>) -> Ordering {
    let (na, nb) = (node_name(a), node_name(b));
    if na != nb && (na.is_empty() || nb.is_empty()) {
        return if na.is_empty() { Ordering::Less } else { Ordering::Greater };
    }
    let by_phase = phase_ordinal(a).cmp(&phase_ordinal(b));
    if by_phase != Ordering::Equal {
        return by_phase;
    }
    if is_ready(a) != is_ready(b) {
        return if is_ready(a) { Ordering::Greater } else { Ordering::Less };
    }
    let by_cost = deletion_cost(a).cmp(&deletion_cost(b));
    if by_cost != Ordering::Equal {
        return by_cost;
    }
    if rank_a != rank_b {
        return rank_b.cmp(&rank_a);
    }
    if is_ready(a) && is_ready(b) {
        let by_ready = newer_first((ready_since(a), a), (ready_since(b), b), now);
        if by_ready != Ordering::Equal {
            return by_ready;
        }
    }
    let by_restarts = max_restarts(b).cmp(&max_restarts(a));
    if by_restarts != Ordering::Equal {
        return by_restarts;
    }
    newer_first((created(a), a), (created(b), b), now)
}

/// `pods` in the order they should be deleted. `related` are the active pods of the same
/// controller family; pods doubled up on a node with more of them go first.
pub(crate) fn deletion_order<'a>(
    pods: &[&'a Value],
    related: &[&Value],
    now: DateTime<Utc>,
) -> Vec<&'a Value> {
    let mut on_node: HashMap<&str, usize> = HashMap::new();
    for p in related {
        *on_node.entry(node_name(p)).or_default() += 1;
    }
    let mut ranked: Vec<(&Value, usize)> =
        pods.iter().map(|p| (*p, on_node.get(node_name(p)).copied().unwrap_or(0))).collect();
    ranked.sort_by(|(a, ra), (b, rb)| compare(a, b, *ra, *rb, now));
    ranked.into_iter().map(|(p, _)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_time;
    use serde_json::json;

    fn pod(name: &str, node: &str, phase: &str, ready: Option<&str>, created: &str) -> Value {
        let mut conditions = vec![];
        if let Some(t) = ready {
            conditions.push(json!({"type": "Ready", "status": "True", "lastTransitionTime": t}));
        }
        json!({"metadata": {"name": name, "uid": name, "creationTimestamp": created},
               "spec": {"nodeName": node},
               "status": {"phase": phase, "conditions": conditions}})
    }

    fn names(order: Vec<&Value>) -> Vec<&str> {
        order.into_iter().map(meta::name).collect()
    }

    #[test]
    fn unscheduled_pending_and_unready_pods_go_first() {
        let now = parse_time("2024-01-02T00:00:00Z").unwrap();
        let t = "2024-01-01T00:00:00Z";
        let ready = pod("ready", "n1", "Running", Some(t), t);
        let unready = pod("unready", "n1", "Running", None, t);
        let pending = pod("pending", "n1", "Pending", None, t);
        let unscheduled = pod("unscheduled", "", "Pending", None, t);
        let all = [&ready, &unready, &pending, &unscheduled];
        assert_eq!(names(deletion_order(&all, &all, now)), ["unscheduled", "pending", "unready", "ready"]);
    }

    #[test]
    fn cost_then_doubling_then_newer_ready_go_first() {
        let now = parse_time("2024-01-02T00:00:00Z").unwrap();
        let old = "2024-01-01T00:00:00Z";
        let a = pod("alone", "n1", "Running", Some(old), old);
        let d1 = pod("doubled1", "n2", "Running", Some(old), old);
        let d2 = pod("doubled2", "n2", "Running", Some("2024-01-01T23:59:59Z"), old);
        let mut cheap = pod("cheap", "n3", "Running", Some(old), old);
        cheap["metadata"]["annotations"] = json!({DELETION_COST: "-5"});
        let all = [&a, &d1, &d2, &cheap];
        let order = names(deletion_order(&all, &all, now));
        assert_eq!(order[0], "cheap");
        assert_eq!(&order[1..3], ["doubled2", "doubled1"]);
        assert_eq!(order[3], "alone");
    }

    #[test]
    fn more_restarts_and_newer_pods_go_first() {
        let now = parse_time("2024-06-01T00:00:00Z").unwrap();
        let mut crashy = pod("crashy", "n1", "Running", None, "2024-01-01T00:00:00Z");
        crashy["status"]["containerStatuses"] = json!([{"restartCount": 4}]);
        let young = pod("young", "n1", "Running", None, "2024-05-31T23:59:00Z");
        let old = pod("old", "n1", "Running", None, "2024-01-01T00:00:00Z");
        let all = [&old, &young, &crashy];
        assert_eq!(names(deletion_order(&all, &[], now)), ["crashy", "young", "old"]);
    }
}

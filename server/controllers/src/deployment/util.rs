//! The arithmetic of rollouts (upstream `deploymentutil`): surge and unavailability budgets,
//! proportional scaling, revisions and the annotations that record them.

use crate::pods::created;
use serde_json::Value;
use std::cmp::Ordering;
use wasmkube_api::meta;

pub(crate) const REVISION: &str = "deployment.kubernetes.io/revision";
pub(crate) const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub(crate) const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub(crate) const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
pub(crate) const HASH_LABEL: &str = "pod-template-hash";
/// Annotations of a Deployment that are not copied to its ReplicaSets (nor back by undo).
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];
/// Upstream's `math.MaxInt32` progress deadline means "no deadline".
const NO_DEADLINE: i64 = i32::MAX as i64;

pub(crate) fn spec_replicas(obj: &Value) -> i64 {
    obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)
}

pub(crate) fn status_int(obj: &Value, field: &str) -> i64 {
    obj.get("status").and_then(|s| s.get(field)).and_then(Value::as_i64).unwrap_or(0)
}

pub(crate) fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/annotations")?.get(key)?.as_str()
}

pub(crate) fn annotation_int(obj: &Value, key: &str) -> Option<i64> {
    annotation(obj, key)?.parse().ok()
}

pub(crate) fn revision(rs: &Value) -> i64 {
    annotation_int(rs, REVISION).unwrap_or(0)
}

pub(crate) fn is_rolling(d: &Value) -> bool {
    d.pointer("/spec/strategy/type").and_then(Value::as_str) != Some("Recreate")
}

pub(crate) fn progress_deadline(d: &Value) -> Option<i64> {
    d.pointer("/spec/progressDeadlineSeconds").and_then(Value::as_i64).filter(|s| *s != NO_DEADLINE)
}

/// `intstr.GetScaledValueFromIntOrPercent`: an int, or a percentage of `total` rounded up or down.
pub(crate) fn scaled_value(v: Option<&Value>, total: i64, round_up: bool) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) if round_up => (p * total + 99).div_euclid(100),
            Some(p) => (p * total).div_euclid(100),
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

/// `ResolveFenceposts`: surge rounds up, unavailability down, and both zero means one unavailable.
pub(crate) fn surge_and_unavailable(d: &Value) -> (i64, i64) {
    let desired = spec_replicas(d);
    let ru = d.pointer("/spec/strategy/rollingUpdate");
    let surge = scaled_value(ru.and_then(|r| r.get("maxSurge")), desired, true);
    let unavailable = scaled_value(ru.and_then(|r| r.get("maxUnavailable")), desired, false);
    if surge == 0 && unavailable == 0 { (0, 1) } else { (surge, unavailable) }
}

pub(crate) fn max_surge(d: &Value) -> i64 {
    if is_rolling(d) { surge_and_unavailable(d).0 } else { 0 }
}

pub(crate) fn max_unavailable(d: &Value) -> i64 {
    let desired = spec_replicas(d);
    if !is_rolling(d) || desired == 0 {
        return 0;
    }
    surge_and_unavailable(d).1.min(desired)
}

/// `NewRSNewReplicas`: how big the new ReplicaSet may be now.
pub(crate) fn new_rs_new_replicas(d: &Value, all: &[&Value], new_rs: &Value) -> i64 {
    if !is_rolling(d) {
        return spec_replicas(d);
    }
    let current: i64 = all.iter().map(|rs| spec_replicas(rs)).sum();
    let max_total = spec_replicas(d) + max_surge(d);
    let have = spec_replicas(new_rs);
    if current >= max_total {
        return have;
    }
    have + (max_total - current).min(spec_replicas(d) - have)
}

/// `getReplicaSetFraction`: this set's share of a resize, from the size it was last scaled for.
fn rs_fraction(rs: &Value, d: &Value) -> i64 {
    let size = spec_replicas(rs);
    if spec_replicas(d) == 0 {
        return -size;
    }
    let deployment_replicas = spec_replicas(d) + max_surge(d);
    let annotated = annotation_int(rs, MAX_REPLICAS).unwrap_or_else(|| status_int(d, "replicas"));
    if annotated == 0 {
        return 0;
    }
    let new_size = (size * deployment_replicas) as f64 / annotated as f64;
    new_size.round() as i64 - size
}

/// `GetProportion`: how many of `to_add` (negative: to remove) this set takes.
pub(crate) fn proportion(rs: &Value, d: &Value, to_add: i64, added: i64) -> i64 {
    if spec_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = rs_fraction(rs, d);
    let allowed = to_add - added;
    if to_add > 0 { fraction.min(allowed) } else { fraction.max(allowed) }
}

/// Templates equal but for the `pod-template-hash` label (`EqualIgnoreHash`).
pub(crate) fn equal_ignore_hash(a: &Value, b: &Value) -> bool {
    let strip = |t: &Value| {
        let mut t = t.clone();
        if let Some(labels) = t.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
            labels.remove(HASH_LABEL);
            if labels.is_empty() {
                t["metadata"].as_object_mut().map(|m| m.remove("labels"));
            }
        }
        t
    };
    strip(a) == strip(b)
}

/// Whether a Deployment annotation is copied to its ReplicaSets.
pub(crate) fn copied_annotation(key: &str) -> bool {
    !NOT_COPIED.contains(&key)
}

/// Oldest first; same second: by name (`ReplicaSetsByCreationTimestamp`).
pub(crate) fn by_creation(a: &Value, b: &Value) -> Ordering {
    created(a).cmp(&created(b)).then_with(|| meta::name(a).cmp(meta::name(b)))
}

/// Larger first; ties newer first (`ReplicaSetsBySizeNewer`) or older first (`BySizeOlder`).
pub(crate) fn by_size(a: &Value, b: &Value, newer_first: bool) -> Ordering {
    spec_replicas(b).cmp(&spec_replicas(a)).then_with(|| {
        let o = by_creation(a, b);
        if newer_first { o.reverse() } else { o }
    })
}

pub(crate) fn by_revision(a: &Value, b: &Value) -> Ordering {
    revision(a).cmp(&revision(b)).then_with(|| by_creation(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(replicas: i64, surge: Value, unavailable: Value) -> Value {
        json!({"spec": {"replicas": replicas, "strategy": {"type": "RollingUpdate",
               "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}})
    }

    #[test]
    fn percentages_round_like_upstream() {
        let d = deployment(10, json!("25%"), json!("25%"));
        assert_eq!(surge_and_unavailable(&d), (3, 2));
        let d = deployment(1, json!("25%"), json!("25%"));
        assert_eq!(surge_and_unavailable(&d), (1, 0));
        let d = deployment(4, json!(0), json!("10%"));
        assert_eq!(surge_and_unavailable(&d), (0, 1), "both zero means one unavailable");
        let d = deployment(3, json!(2), json!(5));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (2, 3));
        let recreate = json!({"spec": {"replicas": 3, "strategy": {"type": "Recreate"}}});
        assert_eq!((max_surge(&recreate), max_unavailable(&recreate)), (0, 0));
    }

    #[test]
    fn the_new_replica_set_grows_within_the_surge() {
        let d = deployment(10, json!("25%"), json!("25%"));
        let old = json!({"spec": {"replicas": 10}});
        let new = json!({"spec": {"replicas": 0}});
        assert_eq!(new_rs_new_replicas(&d, &[&old, &new], &new), 3);
        let old = json!({"spec": {"replicas": 5}});
        let new = json!({"spec": {"replicas": 3}});
        assert_eq!(new_rs_new_replicas(&d, &[&old, &new], &new), 8);
        let old = json!({"spec": {"replicas": 1}});
        assert_eq!(new_rs_new_replicas(&d, &[&old, &new], &new), 10);
    }

    #[test]
    fn proportions_follow_the_size_each_set_was_scaled_for() {
        let d = json!({"spec": {"replicas": 20, "strategy": {"type": "RollingUpdate",
                       "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}}, "status": {"replicas": 13}});
        let rs = json!({"metadata": {"annotations": {MAX_REPLICAS: "13"}}, "spec": {"replicas": 8}});
        // 8 * 23 / 13 = 14.15 -> 14, so 6 more, capped by what is left to add.
        assert_eq!(proportion(&rs, &d, 10, 0), 6);
        assert_eq!(proportion(&rs, &d, 10, 7), 3);
        let zero = json!({"spec": {"replicas": 0, "strategy": {"type": "Recreate"}}});
        assert_eq!(proportion(&rs, &zero, -8, 0), -8);
    }

    #[test]
    fn templates_compare_without_the_hash_label() {
        let a = json!({"metadata": {"labels": {"app": "x", HASH_LABEL: "abc"}}, "spec": {"c": 1}});
        let b = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"c": 1}});
        assert!(equal_ignore_hash(&a, &b));
        assert!(!equal_ignore_hash(&a, &json!({"metadata": {"labels": {"app": "y"}}, "spec": {"c": 1}})));
    }
}

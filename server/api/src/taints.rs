//! Taints (on nodes) and tolerations (on pods), as the scheduler, the DaemonSet controller and
//! the node lifecycle controller all read them.

use serde_json::Value;

/// The taint upstream's node lifecycle puts on a node whose Ready condition is False.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// ... and on one whose Ready condition is Unknown (the agent stopped reporting).
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// Cordoned nodes (`spec.unschedulable`) admit pods that tolerate this NoSchedule taint.
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::NoSchedule => "NoSchedule",
            Effect::PreferNoSchedule => "PreferNoSchedule",
            Effect::NoExecute => "NoExecute",
        }
    }

    pub fn parse(s: &str) -> Option<Effect> {
        match s {
            "NoSchedule" => Some(Effect::NoSchedule),
            "PreferNoSchedule" => Some(Effect::PreferNoSchedule),
            "NoExecute" => Some(Effect::NoExecute),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: Effect,
}

impl Taint {
    pub fn parse_list(list: Option<&Value>) -> Vec<Taint> {
        let str_of = |t: &Value, k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        list.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let effect = Effect::parse(t.get("effect")?.as_str()?)?;
                Some(Taint { key: str_of(t, "key"), value: str_of(t, "value"), effect })
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toleration {
    /// Empty with `exists`: every key.
    pub key: String,
    pub exists: bool,
    pub value: String,
    /// `None`: every effect.
    pub effect: Option<Effect>,
    /// For NoExecute: how long the pod may stay once the taint appears (`None`: forever).
    pub seconds: Option<i64>,
}

impl Toleration {
    pub fn parse_list(list: Option<&Value>) -> Vec<Toleration> {
        let str_of = |t: &Value, k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        list.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|t| Toleration {
                key: str_of(t, "key"),
                exists: t.get("operator").and_then(Value::as_str) == Some("Exists"),
                value: str_of(t, "value"),
                effect: t.get("effect").and_then(Value::as_str).and_then(Effect::parse),
                seconds: t.get("tolerationSeconds").and_then(Value::as_i64),
            })
            .collect()
    }

    /// Upstream's `ToleratesTaint`.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if self.effect.is_some_and(|e| e != taint.effect) {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        self.exists || self.value == taint.value
    }
}

/// How long a pod may stay on a node with these NoExecute `taints`: `Some(None)` forever,
/// `Some(Some(s))` for `s` seconds after the taints appeared (the shortest toleration wins, as
/// upstream's taint manager decides), `None` when some taint is not tolerated at all (evict now).
pub fn no_execute_allowance(taints: &[Taint], tolerations: &[Toleration]) -> Option<Option<i64>> {
    let mut shortest: Option<i64> = None;
    for taint in taints.iter().filter(|t| t.effect == Effect::NoExecute) {
        let matching: Vec<&Toleration> = tolerations.iter().filter(|t| t.tolerates(taint)).collect();
        if matching.is_empty() {
            return None;
        }
        if matching.iter().all(|t| t.seconds.is_some()) {
            let s = matching.iter().filter_map(|t| t.seconds).min().unwrap_or(0).max(0);
            shortest = Some(shortest.map_or(s, |m| m.min(s)));
        }
    }
    Some(shortest)
}

pub fn tolerated(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| t.tolerates(taint))
}

/// The first NoSchedule or NoExecute taint no toleration covers.
pub fn first_untolerated<'a>(taints: &'a [Taint], tolerations: &[Toleration]) -> Option<&'a Taint> {
    taints.iter().find(|t| t.effect != Effect::PreferNoSchedule && !tolerated(tolerations, t))
}

/// How many PreferNoSchedule taints the pod does not tolerate (a toleration without an effect,
/// or with PreferNoSchedule, counts).
pub fn intolerable_preferences(taints: &[Taint], tolerations: &[Toleration]) -> i64 {
    let soft = || tolerations.iter().filter(|t| t.effect.is_none_or(|e| e == Effect::PreferNoSchedule));
    let n = taints
        .iter()
        .filter(|t| t.effect == Effect::PreferNoSchedule && !soft().any(|tol| tol.tolerates(t)))
        .count();
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn taint(key: &str, value: &str, effect: Effect) -> Taint {
        Taint { key: key.into(), value: value.into(), effect }
    }

    #[test]
    fn toleration_matching_as_upstream() {
        let tols = Toleration::parse_list(Some(&json!([
            {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
            {"key": "flaky", "operator": "Exists"},
        ])));
        assert!(tolerated(&tols, &taint("dedicated", "gpu", Effect::NoSchedule)));
        assert!(!tolerated(&tols, &taint("dedicated", "gpu", Effect::NoExecute)));
        assert!(!tolerated(&tols, &taint("dedicated", "cpu", Effect::NoSchedule)));
        assert!(tolerated(&tols, &taint("flaky", "x", Effect::NoExecute)));
        let all = Toleration::parse_list(Some(&json!([{"operator": "Exists"}])));
        assert!(tolerated(&all, &taint("anything", "v", Effect::NoSchedule)));
    }

    #[test]
    fn no_execute_allowance_takes_the_shortest_bounded_toleration() {
        let taints = vec![taint(UNREACHABLE, "", Effect::NoExecute), taint("soft", "", Effect::NoSchedule)];
        assert_eq!(no_execute_allowance(&taints, &[]), None);
        let forever = Toleration::parse_list(Some(&json!([{"key": UNREACHABLE, "operator": "Exists"}])));
        assert_eq!(no_execute_allowance(&taints, &forever), Some(None));
        let bounded = Toleration::parse_list(Some(&json!([
            {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"operator": "Exists", "tolerationSeconds": 5},
        ])));
        assert_eq!(no_execute_allowance(&taints, &bounded), Some(Some(5)));
    }

    #[test]
    fn prefer_no_schedule_is_not_a_filter() {
        let taints = vec![taint("a", "", Effect::PreferNoSchedule), taint("b", "1", Effect::NoSchedule)];
        assert_eq!(first_untolerated(&taints, &[]).map(|t| t.key.as_str()), Some("b"));
        assert_eq!(intolerable_preferences(&taints, &[]), 1);
        let tol = Toleration::parse_list(Some(&json!([{"key": "a", "operator": "Exists"}])));
        assert_eq!(intolerable_preferences(&taints, &tol), 0);
    }
}

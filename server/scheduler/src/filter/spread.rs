//! PodTopologySpread (`whenUnsatisfiable: DoNotSchedule`): placing the pod in a node's domain
//! must not make that domain exceed the emptiest one by more than `maxSkew` matching pods.
//!
//! Counting, shared with the scoring side: a node forms part of a constraint's domains when it
//! carries every constraint's topology key and passes the constraint's node policies
//! (`nodeAffinityPolicy` Honor by default, `nodeTaintsPolicy` Ignore by default); the pods
//! counted are in the incoming pod's namespace, not terminating, and match the selector.

use super::Reason;
use crate::cache::{Cache, NodeInfo};
use crate::model::node::NodeSpec;
use crate::model::pod::PodInfo;
use crate::model::pod_terms::SpreadConstraint;
use crate::model::taints::first_untolerated;
use std::collections::HashMap;

/// Pod counts per domain value for each of a set of constraints.
#[derive(Debug, Default)]
pub struct DomainCounts {
    pub counts: Vec<HashMap<String, i64>>,
}

impl DomainCounts {
    /// Count over every node with a Node object.
    pub fn count(pod: &PodInfo, constraints: &[&SpreadConstraint], cache: &Cache) -> DomainCounts {
        let mut counts = vec![HashMap::new(); constraints.len()];
        for node in cache.nodes() {
            let Some(spec) = &node.spec else { continue };
            if !constraints.iter().all(|c| spec.label(&c.topology_key).is_some()) {
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if !eligible(pod, c, spec) {
                    continue;
                }
                let value = spec.label(&c.topology_key).unwrap_or_default();
                *counts[i].entry(value.to_string()).or_default() += matching_pods(pod, c, node);
            }
        }
        DomainCounts { counts }
    }

    pub fn get(&self, i: usize, value: &str) -> i64 {
        self.counts[i].get(value).copied().unwrap_or(0)
    }
}

/// Whether the constraint's node policies let `node` form one of its domains.
pub fn eligible(pod: &PodInfo, c: &SpreadConstraint, node: &NodeSpec) -> bool {
    (!c.honor_affinity || pod.spec.matches_node(&node.name, &node.labels))
        && (!c.honor_taints || first_untolerated(&node.taints, &pod.spec.tolerations).is_none())
}

pub fn matching_pods(pod: &PodInfo, c: &SpreadConstraint, node: &NodeInfo) -> i64 {
    let n = node
        .pods
        .values()
        .filter(|p| p.namespace == pod.namespace && !p.deleting && c.selects(&p.spec.labels))
        .count();
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[derive(Debug)]
pub struct SpreadState {
    hard: Vec<SpreadConstraint>,
    domains: DomainCounts,
    /// Per constraint: the smallest count over its domains (0 with fewer than minDomains).
    min: Vec<i64>,
}

pub fn pre_filter(pod: &PodInfo, cache: &Cache) -> Option<SpreadState> {
    let hard: Vec<SpreadConstraint> = pod.spec.spread.iter().filter(|c| c.hard).cloned().collect();
    if hard.is_empty() {
        return None;
    }
    let refs: Vec<&SpreadConstraint> = hard.iter().collect();
    let domains = DomainCounts::count(pod, &refs, cache);
    let min = hard
        .iter()
        .zip(&domains.counts)
        .map(|(c, counts)| {
            let few = c.min_domains.is_some_and(|m| i64::try_from(counts.len()).unwrap_or(i64::MAX) < m);
            if few { 0 } else { counts.values().copied().min().unwrap_or(0) }
        })
        .collect();
    Some(SpreadState { hard, domains, min })
}

impl SpreadState {
    pub fn filter(&self, pod: &PodInfo, node: &NodeSpec) -> Option<Reason> {
        if self.hard.iter().any(|c| node.label(&c.topology_key).is_none()) {
            return Some(Reason::SpreadMissingLabel);
        }
        for (i, c) in self.hard.iter().enumerate() {
            let value = node.label(&c.topology_key).unwrap_or_default();
            let own = i64::from(c.selects(&pod.spec.labels));
            if self.domains.get(i, value) + own - self.min[i] > c.max_skew {
                return Some(Reason::Spread);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{cache, node, pod};
    use serde_json::{Value, json};

    fn spread(max_skew: i64, min_domains: Option<i64>) -> Value {
        let mut c = json!({"maxSkew": max_skew, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "s"}}});
        if let Some(m) = min_domains {
            c["minDomains"] = json!(m);
        }
        json!({"topologySpreadConstraints": [c]})
    }

    fn verdicts(p: &PodInfo, c: &Cache) -> Vec<Option<Reason>> {
        let state = pre_filter(p, c).expect("hard constraints");
        c.nodes().iter().map(|n| state.filter(p, n.spec.as_ref().unwrap())).collect()
    }

    #[test]
    fn skew_counts_matching_pods_per_domain() {
        let nodes =
            vec![node("a1", json!({"zone": "a"})), node("b1", json!({"zone": "b"})), node("x", json!({}))];
        let placed = vec![
            (pod("s0", json!({"app": "s"}), json!({})), "a1"),
            (pod("other", json!({"app": "other"}), json!({})), "b1"),
        ];
        let c = cache(nodes, placed);
        let p = pod("s1", json!({"app": "s"}), spread(1, None));
        assert_eq!(verdicts(&p, &c), [Some(Reason::Spread), None, Some(Reason::SpreadMissingLabel)]);
        let relaxed = pod("s1", json!({"app": "s"}), spread(2, None));
        assert_eq!(verdicts(&relaxed, &c)[0], None);
    }

    #[test]
    fn too_few_domains_count_the_minimum_as_zero() {
        let nodes = vec![node("a1", json!({"zone": "a"})), node("b1", json!({"zone": "b"}))];
        let placed = vec![
            (pod("s0", json!({"app": "s"}), json!({})), "a1"),
            (pod("s1", json!({"app": "s"}), json!({})), "b1"),
        ];
        let c = cache(nodes, placed);
        assert_eq!(verdicts(&pod("s2", json!({"app": "s"}), spread(1, None)), &c), [None, None]);
        // Three domains wanted, two exist: the global minimum is 0, so 1 + 1 - 0 > 1.
        let strict = pod("s2", json!({"app": "s"}), spread(1, Some(3)));
        assert_eq!(verdicts(&strict, &c), [Some(Reason::Spread), Some(Reason::Spread)]);
    }
}

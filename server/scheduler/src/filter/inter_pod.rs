//! InterPodAffinity (required terms): the incoming pod's affinity and anti-affinity, and the
//! anti-affinity of pods already placed, which may forbid the newcomer a whole topology domain.
//!
//! One scan of the placed pods per incoming pod builds counts per (topologyKey, value); each
//! node is then a few map lookups. The scan is skipped entirely when the pod has no required
//! terms and no placed pod has required anti-affinity, the common case.

use super::Reason;
use crate::cache::{Cache, NodeInfo};
use crate::model::node::NodeSpec;
use crate::model::pod::PodInfo;
use crate::model::pod_terms::AffinityTerm;
use std::collections::HashMap;

type Pair = (String, String);

#[derive(Debug, Default)]
pub struct InterPodState {
    /// Domains holding a pod that matches all of the incoming pod's affinity terms.
    affinity: HashMap<Pair, i64>,
    /// Domains holding a pod that matches one of its anti-affinity terms.
    anti: HashMap<Pair, i64>,
    /// Domains a placed pod's anti-affinity forbids to the incoming pod.
    existing_anti: HashMap<Pair, i64>,
    /// The incoming pod matches all of its own affinity terms.
    self_affine: bool,
}

fn bump(map: &mut HashMap<Pair, i64>, node: &NodeInfo, key: &str) {
    let value = node.spec.as_ref().and_then(|s| s.label(key));
    if let Some(v) = value {
        *map.entry((key.to_string(), v.to_string())).or_default() += 1;
    }
}

fn term_matches(term: &AffinityTerm, target: &PodInfo, cache: &Cache) -> bool {
    term.matches(&target.namespace, &target.spec.labels, |ns| cache.namespace_labels(ns))
}

pub fn pre_filter(pod: &PodInfo, cache: &Cache) -> Option<InterPodState> {
    let aff = &pod.spec.affinity;
    let own_terms = !aff.required.is_empty() || !aff.anti_required.is_empty();
    if !own_terms && cache.with_anti_affinity == 0 {
        return None;
    }
    let mut state = InterPodState {
        self_affine: aff.required.iter().all(|t| term_matches(t, pod, cache)),
        ..InterPodState::default()
    };
    for node in cache.nodes().iter().filter(|n| n.spec.is_some()) {
        if !own_terms && node.with_anti_affinity == 0 {
            continue;
        }
        for other in node.pods.values() {
            if other.uid == pod.uid {
                continue;
            }
            if !aff.required.is_empty() && aff.required.iter().all(|t| term_matches(t, other, cache)) {
                for t in &aff.required {
                    bump(&mut state.affinity, node, &t.topology_key);
                }
            }
            for t in aff.anti_required.iter().filter(|t| term_matches(t, other, cache)) {
                bump(&mut state.anti, node, &t.topology_key);
            }
            for t in other.spec.affinity.anti_required.iter().filter(|t| term_matches(t, pod, cache)) {
                bump(&mut state.existing_anti, node, &t.topology_key);
            }
        }
    }
    Some(state)
}

impl InterPodState {
    pub fn filter(&self, pod: &PodInfo, node: &NodeSpec) -> Option<Reason> {
        if !self.satisfies_affinity(pod, node) {
            return Some(Reason::Affinity);
        }
        let in_domain = |map: &HashMap<Pair, i64>, key: &str| {
            node.label(key)
                .is_some_and(|v| map.get(&(key.to_string(), v.to_string())).is_some_and(|n| *n > 0))
        };
        if pod.spec.affinity.anti_required.iter().any(|t| in_domain(&self.anti, &t.topology_key)) {
            return Some(Reason::AntiAffinity);
        }
        let forbidden =
            self.existing_anti.iter().any(|((k, v), n)| *n > 0 && node.label(k) == Some(v.as_str()));
        forbidden.then_some(Reason::ExistingAntiAffinity)
    }

    /// Every term must find a matching pod in the node's domain; the node must carry every
    /// term's topology key. The first pod of a group that selects itself is let through when no
    /// pod matches anywhere yet, or a self-affine Deployment could never start.
    fn satisfies_affinity(&self, pod: &PodInfo, node: &NodeSpec) -> bool {
        let terms = &pod.spec.affinity.required;
        let mut found = true;
        for t in terms {
            let Some(v) = node.label(&t.topology_key) else { return false };
            if self.affinity.get(&(t.topology_key.clone(), v.to_string())).is_none_or(|n| *n <= 0) {
                found = false;
            }
        }
        found || (self.affinity.is_empty() && self.self_affine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{cache, node, pod};
    use serde_json::{Value, json};

    fn anti(app: &str, key: &str) -> Value {
        json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}})
    }

    fn zones() -> Vec<NodeSpec> {
        vec![
            node("a1", json!({"zone": "a"})),
            node("a2", json!({"zone": "a"})),
            node("b1", json!({"zone": "b"})),
        ]
    }

    #[test]
    fn incoming_anti_affinity_rejects_the_whole_domain() {
        let db = pod("db", json!({"app": "db"}), json!({}));
        let c = cache(zones(), vec![(db, "a1")]);
        let p = pod("web", json!({"app": "web"}), json!({"affinity": anti("db", "zone")}));
        let state = pre_filter(&p, &c).expect("the pod has terms");
        let verdicts: Vec<_> = c.nodes().iter().map(|n| state.filter(&p, n.spec.as_ref().unwrap())).collect();
        assert_eq!(verdicts, [Some(Reason::AntiAffinity), Some(Reason::AntiAffinity), None]);
    }

    #[test]
    fn placed_pods_anti_affinity_rejects_matching_newcomers_only() {
        let loner = pod(
            "loner",
            json!({"app": "loner"}),
            json!({"affinity": anti("noisy", "kubernetes.io/hostname")}),
        );
        let nodes = vec![
            node("n1", json!({"kubernetes.io/hostname": "n1"})),
            node("n2", json!({"kubernetes.io/hostname": "n2"})),
        ];
        let c = cache(nodes, vec![(loner, "n1")]);
        let noisy = pod("noisy", json!({"app": "noisy"}), json!({}));
        let state = pre_filter(&noisy, &c).expect("a placed pod has anti-affinity");
        let n1 = c.node("n1").unwrap().spec.clone().unwrap();
        let n2 = c.node("n2").unwrap().spec.clone().unwrap();
        assert_eq!(state.filter(&noisy, &n1), Some(Reason::ExistingAntiAffinity));
        assert_eq!(state.filter(&noisy, &n2), None);
        let quiet = pod("quiet", json!({"app": "quiet"}), json!({}));
        assert_eq!(pre_filter(&quiet, &c).unwrap().filter(&quiet, &n1), None);
    }

    #[test]
    fn affinity_needs_a_match_in_the_domain_except_for_a_self_affine_first_pod() {
        let term = |app: &str| {
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "zone"}]}})
        };
        let c = cache(zones(), vec![(pod("cache", json!({"app": "cache"}), json!({})), "b1")]);
        let near = pod("near", json!({"app": "web"}), json!({"affinity": term("cache")}));
        let state = pre_filter(&near, &c).unwrap();
        let a1 = c.node("a1").unwrap().spec.clone().unwrap();
        let b1 = c.node("b1").unwrap().spec.clone().unwrap();
        assert_eq!(state.filter(&near, &a1), Some(Reason::Affinity));
        assert_eq!(state.filter(&near, &b1), None);
        let first = pod("first", json!({"app": "group"}), json!({"affinity": term("group")}));
        assert_eq!(pre_filter(&first, &c).unwrap().filter(&first, &a1), None);
        let nobody = pod("nobody", json!({"app": "x"}), json!({"affinity": term("ghost")}));
        assert_eq!(pre_filter(&nobody, &c).unwrap().filter(&nobody, &a1), Some(Reason::Affinity));
    }
}

//! InterPodAffinity's score: preferred terms, both the incoming pod's (towards or away from
//! placed pods) and placed pods' (towards or away from the incoming pod), plus placed pods'
//! required affinity at weight 1 (upstream's `hardPodAffinityWeight`), summed per topology
//! domain and min-max normalised.

use super::MAX_NODE_SCORE;
use crate::cache::{Cache, NodeInfo};
use crate::model::pod::PodInfo;
use crate::model::pod_terms::AffinityTerm;
use std::collections::HashMap;

const HARD_POD_AFFINITY_WEIGHT: i64 = 1;

pub fn scores(pod: &PodInfo, cache: &Cache, nodes: &[&NodeInfo]) -> Option<Vec<i64>> {
    let aff = &pod.spec.affinity;
    let own_terms = !aff.preferred.is_empty() || !aff.anti_preferred.is_empty();
    if !own_terms && cache.with_affinity == 0 {
        return None;
    }
    let matches = |t: &AffinityTerm, target: &PodInfo| {
        t.matches(&target.namespace, &target.spec.labels, |ns| cache.namespace_labels(ns))
    };
    let mut domains: HashMap<(String, String), i64> = HashMap::new();
    for node in cache.nodes() {
        let Some(spec) = &node.spec else { continue };
        if !own_terms && node.with_affinity == 0 {
            continue;
        }
        let mut add = |key: &str, weight: i64| {
            if let Some(v) = spec.label(key) {
                *domains.entry((key.to_string(), v.to_string())).or_default() += weight;
            }
        };
        for other in node.pods.values().filter(|o| o.uid != pod.uid) {
            for w in aff.preferred.iter().filter(|w| matches(&w.term, other)) {
                add(&w.term.topology_key, w.weight);
            }
            for w in aff.anti_preferred.iter().filter(|w| matches(&w.term, other)) {
                add(&w.term.topology_key, -w.weight);
            }
            let theirs = &other.spec.affinity;
            for w in theirs.preferred.iter().filter(|w| matches(&w.term, pod)) {
                add(&w.term.topology_key, w.weight);
            }
            for w in theirs.anti_preferred.iter().filter(|w| matches(&w.term, pod)) {
                add(&w.term.topology_key, -w.weight);
            }
            for t in theirs.required.iter().filter(|t| matches(t, pod)) {
                add(&t.topology_key, HARD_POD_AFFINITY_WEIGHT);
            }
        }
    }
    if domains.is_empty() {
        return None;
    }
    let raw: Vec<i64> = nodes
        .iter()
        .map(|n| {
            let Some(spec) = &n.spec else { return 0 };
            domains.iter().filter(|((k, v), _)| spec.label(k) == Some(v.as_str())).map(|(_, s)| s).sum()
        })
        .collect();
    let (min, max) = (raw.iter().copied().min().unwrap_or(0), raw.iter().copied().max().unwrap_or(0));
    Some(raw.iter().map(|s| if max > min { MAX_NODE_SCORE * (s - min) / (max - min) } else { 0 }).collect())
}

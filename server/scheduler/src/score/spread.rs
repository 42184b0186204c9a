//! PodTopologySpread's score (`whenUnsatisfiable: ScheduleAnyway`): nodes in domains with
//! fewer matching pods score higher. Each constraint weighs log(domains + 2), so a constraint
//! over many small domains (hostname) is not drowned by one over a few big ones (zone).

use super::MAX_NODE_SCORE;
use crate::cache::{Cache, NodeInfo};
use crate::filter::spread::DomainCounts;
use crate::model::pod::PodInfo;
use crate::model::pod_terms::SpreadConstraint;
use std::collections::HashSet;

pub fn scores(pod: &PodInfo, cache: &Cache, nodes: &[&NodeInfo]) -> Option<Vec<i64>> {
    let soft: Vec<&SpreadConstraint> = pod.spec.spread.iter().filter(|c| !c.hard).collect();
    if soft.is_empty() {
        return None;
    }
    let has_keys = |n: &NodeInfo| {
        n.spec.as_ref().is_some_and(|s| soft.iter().all(|c| s.label(&c.topology_key).is_some()))
    };
    // Domains among the candidates decide the weights, as upstream counts them.
    let weights: Vec<f64> = soft
        .iter()
        .map(|c| {
            let domains: HashSet<&str> = nodes
                .iter()
                .filter(|n| has_keys(n))
                .filter_map(|n| n.spec.as_ref()?.label(&c.topology_key))
                .collect();
            (domains.len() as f64 + 2.0).ln()
        })
        .collect();
    let counts = DomainCounts::count(pod, &soft, cache);
    let raw: Vec<Option<i64>> = nodes
        .iter()
        .map(|n| {
            let spec = n.spec.as_ref().filter(|_| has_keys(n))?;
            let mut s = 0.0;
            for (i, c) in soft.iter().enumerate() {
                let value = spec.label(&c.topology_key).unwrap_or_default();
                s += (counts.get(i, value) + c.max_skew - 1) as f64 * weights[i];
            }
            Some(s.round() as i64)
        })
        .collect();
    let present = || raw.iter().flatten().copied();
    let (min, max) = (present().min().unwrap_or(0), present().max().unwrap_or(0));
    Some(
        raw.iter()
            .map(|s| match s {
                None => 0,
                Some(_) if max == 0 => MAX_NODE_SCORE,
                Some(s) => MAX_NODE_SCORE * (max + min - s) / max,
            })
            .collect(),
    )
}

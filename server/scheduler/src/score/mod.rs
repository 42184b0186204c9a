//! Scores: which feasible node suits the pod best. Each plugin gives every node 0-100
//! (normalised across the feasible nodes as upstream's plugins normalise), and the total is
//! the weighted sum with upstream's default weights. A plugin whose inputs are absent (no
//! preferred terms, no soft constraints) would give every node the same score, so it is
//! skipped: a constant changes no choice.

pub mod inter_pod;
pub mod node_affinity;
pub mod resources;
pub mod spread;
pub mod taints;

use crate::cache::NodeInfo;
use crate::filter::Prepared;

pub const MAX_NODE_SCORE: i64 = 100;

/// Upstream's default plugin weights.
const TAINT_TOLERATION: i64 = 3;
const NODE_AFFINITY: i64 = 2;
const POD_TOPOLOGY_SPREAD: i64 = 2;
const INTER_POD_AFFINITY: i64 = 2;
const LEAST_ALLOCATED: i64 = 1;
const BALANCED_ALLOCATION: i64 = 1;

/// Total scores of `feasible` (indexes into the cache's nodes), in the same order.
pub fn score(p: &Prepared<'_>, feasible: &[usize]) -> Vec<i64> {
    let nodes: Vec<&NodeInfo> = feasible.iter().map(|i| &p.cache.nodes()[*i]).collect();
    let mut total: Vec<i64> = nodes
        .iter()
        .map(|n| {
            LEAST_ALLOCATED * resources::least_allocated(p.pod, n)
                + BALANCED_ALLOCATION * resources::balanced_allocation(p.pod, n)
        })
        .collect();
    let mut add = |weight: i64, scores: Option<Vec<i64>>| {
        for (t, s) in total.iter_mut().zip(scores.into_iter().flatten()) {
            *t += weight * s;
        }
    };
    add(TAINT_TOLERATION, taints::scores(p.pod, &nodes));
    add(NODE_AFFINITY, node_affinity::scores(p.pod, &nodes));
    add(POD_TOPOLOGY_SPREAD, spread::scores(p.pod, p.cache, &nodes));
    add(INTER_POD_AFFINITY, inter_pod::scores(p.pod, p.cache, &nodes));
    total
}

/// Upstream's `DefaultNormalizeScore`: scale so the highest raw score becomes 100 (or, reversed,
/// so the highest becomes 0 and nodes scoring 0 get 100).
pub fn normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        }
        return;
    }
    for s in scores.iter_mut() {
        let scaled = MAX_NODE_SCORE * *s / max;
        *s = if reverse { MAX_NODE_SCORE - scaled } else { scaled };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_as_upstream() {
        let mut s = vec![0, 5, 10];
        normalize(&mut s, false);
        assert_eq!(s, [0, 50, 100]);
        let mut s = vec![0, 1, 4];
        normalize(&mut s, true);
        assert_eq!(s, [100, 75, 0]);
        let mut s = vec![0, 0];
        normalize(&mut s, true);
        assert_eq!(s, [100, 100]);
    }
}

//! One scheduling decision: filter a sample of the nodes, score the feasible ones, pick the
//! best (ties broken at random).
//!
//! Like upstream's `percentageOfNodesToScore`, filtering stops once enough feasible nodes are
//! found: by default 50% of the nodes minus 1% per 125 nodes, at least 5% and at least 100
//! nodes (so small clusters are always searched in full). The search starts where the previous
//! one stopped, so over successive pods every node gets its turn. An infeasible pod is checked
//! against every node, so its summary counts them all.

use crate::cache::Cache;
use crate::filter::{Prepared, Reason};
use crate::model::pod::PodInfo;
use std::collections::HashMap;
use std::fmt;

const MIN_FEASIBLE_NODES: usize = 100;
const MIN_FEASIBLE_PERCENTAGE: usize = 5;
const BASE_PERCENTAGE: usize = 50;

/// How many feasible nodes to look for among `all`; `percentage` overrides the adaptive one.
pub fn feasible_nodes_to_find(all: usize, percentage: Option<u32>) -> usize {
    if all < MIN_FEASIBLE_NODES || percentage.is_some_and(|p| p >= 100) {
        return all;
    }
    let pct = match percentage {
        Some(p) if p > 0 => p as usize,
        _ => BASE_PERCENTAGE.saturating_sub(all / 125).max(MIN_FEASIBLE_PERCENTAGE),
    };
    (all * pct / 100).max(MIN_FEASIBLE_NODES)
}

/// Why no node fits: how many nodes gave each reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FitError {
    pub nodes: usize,
    pub reasons: HashMap<Reason, usize>,
    /// Nodes where evicting lower-priority pods could not help (for the preemption part).
    pub unresolvable: usize,
}

impl FitError {
    fn record(&mut self, reasons: Vec<Reason>) {
        if reasons.iter().any(Reason::unresolvable) {
            self.unresolvable += 1;
        }
        for r in reasons {
            *self.reasons.entry(r).or_default() += 1;
        }
    }
}

/// Upstream's summary, e.g. `0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had
/// untolerated taint {k: v}. preemption: 0/3 nodes are available: 1 No preemption victims found
/// for incoming pod, 2 Preemption is not helpful for scheduling.` (There is no preemption yet;
/// the second part says what it would find.)
impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nodes == 0 {
            return f.write_str("no nodes available to schedule pods");
        }
        let mut filters: Vec<String> = self.reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
        filters.sort();
        let mut preemption = Vec::new();
        let victims = self.nodes - self.unresolvable;
        if victims > 0 {
            preemption.push(format!("{victims} No preemption victims found for incoming pod"));
        }
        if self.unresolvable > 0 {
            preemption.push(format!("{} Preemption is not helpful for scheduling", self.unresolvable));
        }
        preemption.sort();
        write!(
            f,
            "0/{n} nodes are available: {}. preemption: 0/{n} nodes are available: {}.",
            filters.join(", "),
            preemption.join(", "),
            n = self.nodes
        )
    }
}

/// The decision-maker; remembers where the last search stopped.
#[derive(Debug)]
pub struct Algorithm {
    next_start: usize,
    percentage: Option<u32>,
    ties: TieBreaker,
}

impl Algorithm {
    pub fn new(percentage: Option<u32>) -> Algorithm {
        Algorithm { next_start: 0, percentage, ties: TieBreaker(rand::random::<u64>() | 1) }
    }

    /// The node for `pod`, or why there is none.
    pub fn schedule(&mut self, pod: &PodInfo, cache: &Cache) -> Result<String, FitError> {
        let all = cache.node_count();
        if all == 0 {
            return Err(FitError::default());
        }
        let prepared = Prepared::new(pod, cache);
        let feasible = self.find_feasible(&prepared, feasible_nodes_to_find(all, self.percentage))?;
        let nodes = cache.nodes();
        if feasible.len() == 1 {
            return Ok(nodes[feasible[0]].name.clone());
        }
        let scores = crate::score::score(&prepared, &feasible);
        Ok(nodes[self.ties.pick_best(&feasible, &scores)].name.clone())
    }

    fn find_feasible(&mut self, p: &Prepared<'_>, wanted: usize) -> Result<Vec<usize>, FitError> {
        let nodes = p.cache.nodes();
        let len = nodes.len();
        let start = self.next_start % len;
        let mut feasible = Vec::with_capacity(wanted);
        let mut err = FitError { nodes: p.cache.node_count(), ..FitError::default() };
        let mut processed = 0;
        for k in 0..len {
            processed += 1;
            let i = (start + k) % len;
            let Some(spec) = &nodes[i].spec else { continue };
            match p.run(&nodes[i], spec) {
                Ok(()) => feasible.push(i),
                Err(reasons) => err.record(reasons),
            }
            if feasible.len() >= wanted {
                break;
            }
        }
        self.next_start = (start + processed) % len;
        if feasible.is_empty() { Err(err) } else { Ok(feasible) }
    }
}

/// Random tie-breaks. Hundreds of nodes often tie (an empty cluster), so this is a tiny
/// xorshift generator rather than a cryptographic one: fairness, not secrecy, is wanted.
#[derive(Debug)]
struct TieBreaker(u64);

impl TieBreaker {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    /// The highest score; among equals, each is equally likely (reservoir sampling).
    fn pick_best(&mut self, feasible: &[usize], scores: &[i64]) -> usize {
        let (mut best, mut best_score, mut ties) = (feasible[0], i64::MIN, 0u64);
        for (i, s) in feasible.iter().zip(scores) {
            if *s > best_score {
                (best, best_score, ties) = (*i, *s, 1);
            } else if *s == best_score {
                ties += 1;
                if self.below(ties) == 0 {
                    best = *i;
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adaptive_sample_size() {
        assert_eq!(feasible_nodes_to_find(50, None), 50);
        assert_eq!(feasible_nodes_to_find(100, None), 100);
        assert_eq!(feasible_nodes_to_find(1000, None), 420);
        assert_eq!(feasible_nodes_to_find(5000, None), 500);
        assert_eq!(feasible_nodes_to_find(1000, Some(100)), 1000);
        assert_eq!(feasible_nodes_to_find(1000, Some(5)), 100);
    }

    #[test]
    fn summary_reads_like_upstream() {
        let mut e = FitError { nodes: 3, ..FitError::default() };
        e.record(vec![Reason::Insufficient("cpu".into())]);
        for _ in 0..2 {
            e.record(vec![Reason::Taint {
                key: "node-role.kubernetes.io/control-plane".into(),
                value: String::new(),
            }]);
        }
        assert_eq!(
            e.to_string(),
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint \
             {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: \
             1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
        );
        assert_eq!(FitError::default().to_string(), "no nodes available to schedule pods");
    }

    #[test]
    fn ties_are_broken_among_the_best_only_and_fairly() {
        let mut ties = TieBreaker(0x9e37_79b9_7f4a_7c15);
        let mut seen = [0; 4];
        for _ in 0..1000 {
            seen[ties.pick_best(&[0, 1, 2, 3], &[5, 9, 9, 1])] += 1;
        }
        assert_eq!(seen[0] + seen[3], 0);
        assert!(seen[1] > 350 && seen[2] > 350, "{seen:?}");
    }
}

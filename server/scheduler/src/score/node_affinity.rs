//! NodeAffinity's score: the summed weights of the preferred terms a node matches.

use crate::cache::NodeInfo;
use crate::model::pod::PodInfo;

pub fn scores(pod: &PodInfo, nodes: &[&NodeInfo]) -> Option<Vec<i64>> {
    let preferred = &pod.spec.preferred_node_affinity;
    if preferred.is_empty() {
        return None;
    }
    let mut raw: Vec<i64> = nodes
        .iter()
        .map(|n| {
            let Some(spec) = &n.spec else { return 0 };
            preferred.iter().filter(|p| p.term.matches(&spec.name, &spec.labels)).map(|p| p.weight).sum()
        })
        .collect();
    super::normalize(&mut raw, false);
    Some(raw)
}

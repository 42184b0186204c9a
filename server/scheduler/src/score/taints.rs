//! TaintToleration's score: fewer untolerated PreferNoSchedule taints is better.

use crate::cache::NodeInfo;
use crate::model::pod::PodInfo;
use crate::model::taints::intolerable_preferences;

pub fn scores(pod: &PodInfo, nodes: &[&NodeInfo]) -> Option<Vec<i64>> {
    if !nodes.iter().any(|n| n.tainted) {
        return None;
    }
    let mut raw: Vec<i64> = nodes
        .iter()
        .map(|n| match &n.spec {
            Some(s) if n.tainted => intolerable_preferences(&s.taints, &pod.spec.tolerations),
            _ => 0,
        })
        .collect();
    if raw.iter().all(|r| *r == 0) {
        return None;
    }
    super::normalize(&mut raw, true);
    Some(raw)
}

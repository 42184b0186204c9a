//! NodeResourcesFit's LeastAllocated and NodeResourcesBalancedAllocation, over cpu and
//! memory with equal weights, counting pods without requests at upstream's defaults.

use super::MAX_NODE_SCORE;
use crate::cache::NodeInfo;
use crate::model::pod::PodInfo;

/// (requested after placing the pod, allocatable) for cpu and memory.
fn usage(pod: &PodInfo, node: &NodeInfo) -> [(i64, i64); 2] {
    let alloc = &node.allocatable;
    [
        (node.non_zero.0 + pod.spec.non_zero.0, alloc.milli_cpu),
        (node.non_zero.1 + pod.spec.non_zero.1, alloc.memory),
    ]
}

/// Free share after placement: emptier nodes score higher, spreading load.
pub fn least_allocated(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let per = |(requested, capacity): (i64, i64)| {
        if capacity == 0 || requested > capacity {
            0
        } else {
            (capacity - requested) * MAX_NODE_SCORE / capacity
        }
    };
    let [cpu, mem] = usage(pod, node);
    (per(cpu) + per(mem)) / 2
}

/// How evenly cpu and memory would be used: 100 when both are the same fraction.
/// With two resources the standard deviation is half their difference; a resource the node
/// does not have is left out (and one resource alone is perfectly balanced).
pub fn balanced_allocation(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let fraction = |(requested, capacity): (i64, i64)| {
        (capacity > 0).then(|| (requested as f64 / capacity as f64).min(1.0))
    };
    let [cpu, mem] = usage(pod, node);
    let std = match (fraction(cpu), fraction(mem)) {
        (Some(c), Some(m)) => ((c - m) / 2.0).abs(),
        _ => 0.0,
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::node::NodeSpec;
    use crate::resources::Resources;
    use std::sync::Arc;

    fn node(cpu: i64, mem: i64, used: (i64, i64)) -> NodeInfo {
        let allocatable = Resources { milli_cpu: cpu, memory: mem, pods: 110, ..Resources::default() };
        NodeInfo {
            spec: Some(Arc::new(NodeSpec { allocatable: allocatable.clone(), ..NodeSpec::default() })),
            allocatable,
            non_zero: used,
            ..NodeInfo::default()
        }
    }

    #[test]
    fn emptier_and_more_even_nodes_score_higher() {
        let mut pod = PodInfo::default();
        pod.spec.non_zero = (1000, 1 << 30);
        let empty = node(4000, 4 << 30, (0, 0));
        let busy = node(4000, 4 << 30, (2000, 2 << 30));
        assert_eq!(least_allocated(&pod, &empty), 75);
        assert_eq!(least_allocated(&pod, &busy), 25);
        assert_eq!(balanced_allocation(&pod, &empty), 100);
        let lopsided = node(4000, 4 << 30, (2000, 0));
        // cpu 3/4, memory 1/4: std 0.25.
        assert_eq!(balanced_allocation(&pod, &lopsided), 75);
        assert_eq!(least_allocated(&pod, &node(500, 4 << 30, (0, 0))), 37);
    }
}

//! NodeUnschedulable and TaintToleration. Both admit a pod that tolerates the taint, as
//! upstream does: DaemonSet pods tolerate `node.kubernetes.io/unschedulable` and land on
//! cordoned nodes; pods tolerating `not-ready` land on nodes that are not Ready.

use super::Reason;
use crate::model::node::NodeSpec;
use crate::model::pod::PodInfo;
use crate::model::taints::{Effect, Taint, UNSCHEDULABLE, first_untolerated, tolerated};

/// For a node with `spec.unschedulable`.
pub fn unschedulable(pod: &PodInfo) -> Option<Reason> {
    let taint = Taint { key: UNSCHEDULABLE.into(), value: String::new(), effect: Effect::NoSchedule };
    (!tolerated(&pod.spec.tolerations, &taint)).then_some(Reason::Unschedulable)
}

pub fn untolerated(pod: &PodInfo, node: &NodeSpec) -> Option<Reason> {
    if node.taints.is_empty() {
        return None;
    }
    first_untolerated(&node.taints, &pod.spec.tolerations)
        .map(|t| Reason::Taint { key: t.key.clone(), value: t.value.clone() })
}

//! NodeAffinity: `nodeSelector` and required node affinity.

use super::Reason;
use crate::model::node::NodeSpec;
use crate::model::pod::PodInfo;

pub fn filter(pod: &PodInfo, node: &NodeSpec) -> Option<Reason> {
    (!pod.spec.matches_node(&node.name, &node.labels)).then_some(Reason::NodeAffinity)
}

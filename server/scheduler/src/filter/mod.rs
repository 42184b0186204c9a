//! Filters: may this pod run on this node? Each returns the reasons it may not, worded as
//! upstream's plugins word them, because users read them in `kubectl describe pod`.
//!
//! Filters run in upstream's plugin order (NodeUnschedulable, TaintToleration, NodeAffinity,
//! NodePorts, NodeResourcesFit, PodTopologySpread, InterPodAffinity) and stop at the first that
//! fails, so a node contributes one plugin's reasons to the summary, as upstream's does. What
//! the cluster-wide filters need (pod counts per topology domain) is computed once per pod in
//! [`Prepared::new`], not once per node.

pub mod inter_pod;
pub mod node_affinity;
pub mod ports;
pub mod resources;
pub mod spread;
pub mod taints;

use crate::cache::{Cache, NodeInfo};
use crate::model::node::NodeSpec;
use crate::model::pod::PodInfo;
use std::fmt;

/// Why a node was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reason {
    Unschedulable,
    Taint { key: String, value: String },
    NodeAffinity,
    HostPorts,
    Insufficient(String),
    TooManyPods,
    SpreadMissingLabel,
    Spread,
    Affinity,
    AntiAffinity,
    ExistingAntiAffinity,
}

impl Reason {
    /// Upstream's `UnschedulableAndUnresolvable`: evicting pods from the node would not help,
    /// which the preemption part of the summary reports.
    pub fn unresolvable(&self) -> bool {
        matches!(
            self,
            Reason::Unschedulable
                | Reason::Taint { .. }
                | Reason::NodeAffinity
                | Reason::SpreadMissingLabel
                | Reason::Affinity
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Unschedulable => f.write_str("node(s) were unschedulable"),
            Reason::Taint { key, value } => write!(f, "node(s) had untolerated taint {{{key}: {value}}}"),
            Reason::NodeAffinity => f.write_str("node(s) didn't match Pod's node affinity/selector"),
            Reason::HostPorts => f.write_str("node(s) didn't have free ports for the requested pod ports"),
            Reason::Insufficient(resource) => write!(f, "Insufficient {resource}"),
            Reason::TooManyPods => f.write_str("Too many pods"),
            Reason::SpreadMissingLabel => {
                f.write_str("node(s) didn't match pod topology spread constraints (missing required label)")
            }
            Reason::Spread => f.write_str("node(s) didn't match pod topology spread constraints"),
            Reason::Affinity => f.write_str("node(s) didn't match pod affinity rules"),
            Reason::AntiAffinity => f.write_str("node(s) didn't match pod anti-affinity rules"),
            Reason::ExistingAntiAffinity => {
                f.write_str("node(s) didn't satisfy existing pods anti-affinity rules")
            }
        }
    }
}

/// A pod with the per-pod state the filters share across nodes.
pub struct Prepared<'a> {
    pub pod: &'a PodInfo,
    pub cache: &'a Cache,
    pub spread: Option<spread::SpreadState>,
    pub inter_pod: Option<inter_pod::InterPodState>,
    /// The pod has a nodeSelector or required node affinity.
    selects_nodes: bool,
}

impl<'a> Prepared<'a> {
    pub fn new(pod: &'a PodInfo, cache: &'a Cache) -> Prepared<'a> {
        Prepared {
            pod,
            cache,
            spread: spread::pre_filter(pod, cache),
            inter_pod: inter_pod::pre_filter(pod, cache),
            selects_nodes: !pod.spec.node_selector.is_empty() || pod.spec.required_node_affinity.is_some(),
        }
    }

    /// Run every filter on one node; `Err` carries the first failing filter's reasons.
    ///
    /// `spec` is only read when the pod or the node has something it must be checked against,
    /// which keeps the common case to the node's inline totals.
    pub fn run(&self, node: &NodeInfo, spec: &NodeSpec) -> Result<(), Vec<Reason>> {
        let pod = self.pod;
        let single = |r: Option<Reason>| r.map_or(Ok(()), |r| Err(vec![r]));
        if node.unschedulable {
            single(taints::unschedulable(pod))?;
        }
        if node.tainted {
            single(taints::untolerated(pod, spec))?;
        }
        if self.selects_nodes {
            single(node_affinity::filter(pod, spec))?;
        }
        if !pod.spec.host_ports.is_empty() {
            single(ports::filter(pod, node))?;
        }
        resources::filter(&pod.spec.requests, node, &node.allocatable)?;
        if let Some(state) = &self.spread {
            single(state.filter(pod, spec))?;
        }
        if let Some(state) = &self.inter_pod {
            single(state.filter(pod, spec))?;
        }
        Ok(())
    }
}

//! The cluster as the scheduler counts it: nodes with running totals of what their pods
//! request, kept up to date from the watch and from our own binds.
//!
//! Totals are adjusted per pod event (add, remove), so a decision reads a node's free
//! resources in O(1) instead of summing its pods. A pod we just bound is *assumed*: counted on
//! its node at once, before the watch confirms it, so the next decision cannot over-commit the
//! node; a failed bind forgets it again. Pods bound to a node we have no Node object for are
//! counted all the same, and the node becomes a candidate when its Node appears.

use crate::model::node::NodeSpec;
use crate::model::pod::{HostPort, PodInfo};
use crate::resources::Resources;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// One node and what is placed on it.
#[derive(Debug, Default)]
pub struct NodeInfo {
    pub name: String,
    /// `None` while pods name a node whose Node object does not exist (or no longer does).
    pub spec: Option<Arc<NodeSpec>>,
    /// Copies of what every decision reads from `spec`, kept here so that scanning hundreds of
    /// nodes per pod touches one structure per node rather than two.
    pub allocatable: Resources,
    pub unschedulable: bool,
    /// Whether `spec` has any taint at all.
    pub tainted: bool,
    pub requested: Resources,
    /// cpu and memory with upstream's defaults for pods that request none (for scores).
    pub non_zero: (i64, i64),
    pub pods: HashMap<String, Arc<PodInfo>>,
    pub host_ports: Vec<HostPort>,
    /// How many of `pods` carry required pod anti-affinity (which can reject newcomers).
    pub with_anti_affinity: usize,
    /// How many of `pods` carry any inter-pod term (which can score newcomers).
    pub with_affinity: usize,
}

impl NodeInfo {
    fn account(&mut self, pod: &PodInfo, sign: i64) {
        let s = &pod.spec;
        if sign > 0 {
            self.requested.add(&s.requests);
            self.host_ports.extend(s.host_ports.iter().cloned());
        } else {
            self.requested.sub(&s.requests);
            for p in &s.host_ports {
                if let Some(i) = self.host_ports.iter().position(|q| q == p) {
                    self.host_ports.swap_remove(i);
                }
            }
        }
        self.non_zero.0 += sign * s.non_zero.0;
        self.non_zero.1 += sign * s.non_zero.1;
        let step = |n: &mut usize| *n = if sign > 0 { *n + 1 } else { n.saturating_sub(1) };
        if !s.affinity.anti_required.is_empty() {
            step(&mut self.with_anti_affinity);
        }
        if !s.affinity.is_empty() {
            step(&mut self.with_affinity);
        }
    }
}

/// Where a pod is counted.
#[derive(Debug, Clone)]
pub struct Placed {
    pub node: String,
    pub pod: Arc<PodInfo>,
    /// Counted by our bind, not yet seen bound in the watch.
    pub assumed: bool,
}

#[derive(Debug, Default)]
pub struct Cache {
    nodes: Vec<NodeInfo>,
    index: HashMap<String, usize>,
    pods: HashMap<String, Placed>,
    namespaces: HashMap<String, Map<String, Value>>,
    /// Nodes with a Node object: the candidates.
    schedulable: usize,
    /// Totals over all nodes of `with_anti_affinity` and `with_affinity`, to skip scans.
    pub with_anti_affinity: usize,
    pub with_affinity: usize,
}

impl Cache {
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    /// Nodes with a Node object.
    pub fn node_count(&self) -> usize {
        self.schedulable
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.index.get(name).map(|i| &self.nodes[*i])
    }

    fn slot(&mut self, name: &str) -> &mut NodeInfo {
        let i = *self.index.entry(name.to_string()).or_insert_with(|| {
            self.nodes.push(NodeInfo { name: name.to_string(), ..NodeInfo::default() });
            self.nodes.len() - 1
        });
        &mut self.nodes[i]
    }

    /// Add or update a Node; returns whether anything a decision reads changed.
    pub fn set_node(&mut self, spec: NodeSpec) -> bool {
        let slot = self.slot(&spec.name.clone());
        let changed = slot.spec.as_deref() != Some(&spec);
        let was_new = slot.spec.is_none();
        if changed {
            slot.allocatable = spec.allocatable.clone();
            slot.unschedulable = spec.unschedulable;
            slot.tainted = !spec.taints.is_empty();
            slot.spec = Some(Arc::new(spec));
        }
        if was_new {
            self.schedulable += 1;
        }
        changed
    }

    pub fn remove_node(&mut self, name: &str) {
        let Some(&i) = self.index.get(name) else { return };
        let slot = &mut self.nodes[i];
        if slot.spec.take().is_some() {
            self.schedulable -= 1;
        }
        (slot.allocatable, slot.unschedulable, slot.tainted) = (Resources::default(), false, false);
        self.drop_if_empty(i);
    }

    fn drop_if_empty(&mut self, i: usize) {
        if self.nodes[i].spec.is_some() || !self.nodes[i].pods.is_empty() {
            return;
        }
        let gone = self.nodes.swap_remove(i);
        self.index.remove(&gone.name);
        if let Some(moved) = self.nodes.get(i) {
            self.index.insert(moved.name.clone(), i);
        }
    }

    pub fn placed(&self, uid: &str) -> Option<&Placed> {
        self.pods.get(uid)
    }

    /// Count `pod` on `node`, replacing wherever it was counted before.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>, node: &str, assumed: bool) {
        self.remove_pod(&pod.uid);
        let slot = self.slot(node);
        slot.account(&pod, 1);
        slot.pods.insert(pod.uid.clone(), pod.clone());
        self.adjust_totals(&pod, 1);
        self.pods.insert(pod.uid.clone(), Placed { node: node.to_string(), pod, assumed });
    }

    pub fn remove_pod(&mut self, uid: &str) -> Option<Placed> {
        let placed = self.pods.remove(uid)?;
        let i = self.index[&placed.node];
        self.nodes[i].account(&placed.pod, -1);
        self.nodes[i].pods.remove(uid);
        self.adjust_totals(&placed.pod, -1);
        self.drop_if_empty(i);
        Some(placed)
    }

    fn adjust_totals(&mut self, pod: &PodInfo, sign: i8) {
        let step = |n: &mut usize| *n = if sign > 0 { *n + 1 } else { n.saturating_sub(1) };
        if !pod.spec.affinity.anti_required.is_empty() {
            step(&mut self.with_anti_affinity);
        }
        if !pod.spec.affinity.is_empty() {
            step(&mut self.with_affinity);
        }
    }

    /// Record a namespace's labels; returns whether they changed.
    pub fn set_namespace(&mut self, name: &str, labels: Map<String, Value>) -> bool {
        self.namespaces.insert(name.to_string(), labels.clone()).is_none_or(|old| old != labels)
    }

    pub fn remove_namespace(&mut self, name: &str) {
        self.namespaces.remove(name);
    }

    pub fn namespace_labels(&self, ns: &str) -> Option<&Map<String, Value>> {
        self.namespaces.get(ns)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{cache, node, pod};
    use serde_json::json;

    #[test]
    fn totals_follow_pods_in_and_out_and_assumptions_are_replaced() {
        let web = pod(
            "web",
            json!({}),
            json!({"containers": [{"name": "c", "image": "i",
            "resources": {"requests": {"cpu": "500m"}}, "ports": [{"containerPort": 80, "hostPort": 80}]}]}),
        );
        let mut c = cache(vec![node("n1", json!({})), node("n2", json!({}))], vec![]);
        c.add_pod(web.clone(), "n1", true);
        let n1 = c.node("n1").unwrap();
        assert_eq!((n1.requested.milli_cpu, n1.requested.pods, n1.host_ports.len()), (500, 1, 1));
        assert!(c.placed("uid-web").unwrap().assumed);
        // The watch shows it bound elsewhere: counted there instead, and confirmed.
        c.add_pod(web, "n2", false);
        assert_eq!(c.node("n1").unwrap().requested.milli_cpu, 0);
        assert!(c.node("n1").unwrap().host_ports.is_empty());
        assert_eq!(c.node("n2").unwrap().requested.milli_cpu, 500);
        assert!(!c.placed("uid-web").unwrap().assumed);
        c.remove_pod("uid-web");
        assert_eq!(c.node("n2").unwrap().requested, Default::default());
    }

    #[test]
    fn pods_on_unknown_nodes_count_once_the_node_appears() {
        let mut c = cache(vec![], vec![(pod("early", json!({}), json!({})), "late")]);
        assert_eq!(c.node_count(), 0);
        assert_eq!(c.node("late").unwrap().requested.pods, 1);
        c.set_node(node("late", json!({})));
        assert_eq!(c.node_count(), 1);
        assert_eq!(c.node("late").unwrap().allocatable.pods, 110);
        c.remove_node("late");
        assert_eq!(c.node_count(), 0);
        assert!(c.node("late").is_some(), "kept while a pod still counts there");
        c.remove_pod("uid-early");
        assert!(c.node("late").is_none());
        assert!(c.nodes().is_empty());
    }
}

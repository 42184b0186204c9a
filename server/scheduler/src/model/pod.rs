//! A pod as the scheduler sees it: everything a decision reads, parsed once when the pod's
//! watch event arrives and shared (`Arc`) between the queue and the node it is counted on.

use super::node_selector::{NodeSelector, Preferred, parse_preferred};
use super::pod_terms::{PodAffinity, SpreadConstraint};
use super::taints::Toleration;
use super::{at, str_at};
use crate::resources::{Resources, non_zero_requests, pod_requests};
use serde_json::{Map, Value, json};
use wasmkube_api::meta;

/// A `hostPort` a pod claims on its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// `0.0.0.0` when unset: every address.
    pub ip: String,
    pub protocol: String,
    pub port: i64,
}

impl HostPort {
    /// Two claims collide on the same protocol and port when either takes every address.
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == "0.0.0.0" || other.ip == "0.0.0.0")
    }
}

/// The fields that decide placement. Equal specs mean a pod update cannot change a decision,
/// so status-only updates (including our own condition writes) do not requeue the pod.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodSpec {
    pub labels: Map<String, Value>,
    pub requests: Resources,
    /// cpu and memory with upstream's defaults for containers that request none (scores only).
    pub non_zero: (i64, i64),
    pub host_ports: Vec<HostPort>,
    pub node_selector: Vec<(String, String)>,
    pub required_node_affinity: Option<NodeSelector>,
    pub preferred_node_affinity: Vec<Preferred>,
    pub tolerations: Vec<Toleration>,
    pub affinity: PodAffinity,
    pub spread: Vec<SpreadConstraint>,
    pub priority: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodInfo {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub resource_version: String,
    pub node_name: String,
    pub scheduler_name: String,
    pub deleting: bool,
    /// Succeeded or Failed: holds nothing on its node any more.
    pub terminal: bool,
    /// The current `PodScheduled` condition as (status, reason, message).
    pub scheduled_condition: Option<(String, String, String)>,
    pub spec: PodSpec,
}

impl PodInfo {
    pub fn parse(obj: &Value) -> PodInfo {
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        let phase = str_at(obj, &["status", "phase"]);
        PodInfo {
            uid: meta::uid(obj).to_string(),
            namespace: meta::namespace(obj).to_string(),
            name: meta::name(obj).to_string(),
            resource_version: str_at(obj, &["metadata", "resourceVersion"]).to_string(),
            node_name: str_at(spec, &["nodeName"]).to_string(),
            scheduler_name: str_at(spec, &["schedulerName"]).to_string(),
            deleting: at(obj, &["metadata", "deletionTimestamp"]).is_some_and(|t| !t.is_null()),
            terminal: matches!(phase, "Succeeded" | "Failed"),
            scheduled_condition: scheduled_condition(obj),
            spec: PodSpec::parse(meta::namespace(obj), meta::labels(obj), spec),
        }
    }

    /// An `ObjectReference`-shaped value for events about this pod.
    pub fn object_ref(&self) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": self.name,
            "namespace": self.namespace, "uid": self.uid, "resourceVersion": self.resource_version}})
    }

    /// Whether the pod has terms that other pods' placement can satisfy or violate.
    pub fn depends_on_other_pods(&self) -> bool {
        !self.spec.affinity.is_empty() || !self.spec.spread.is_empty()
    }
}

impl PodSpec {
    fn parse(ns: &str, labels: Option<&Map<String, Value>>, spec: &Value) -> PodSpec {
        let labels = labels.cloned().unwrap_or_default();
        let affinity = spec.get("affinity");
        let node_affinity = affinity.and_then(|a| a.get("nodeAffinity"));
        PodSpec {
            requests: pod_requests(spec),
            non_zero: non_zero_requests(spec),
            host_ports: host_ports(spec),
            node_selector: spec
                .get("nodeSelector")
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().into())).collect())
                .unwrap_or_default(),
            required_node_affinity: node_affinity
                .and_then(|n| n.get("requiredDuringSchedulingIgnoredDuringExecution"))
                .filter(|r| !r.is_null())
                .map(NodeSelector::parse),
            preferred_node_affinity: parse_preferred(
                node_affinity.and_then(|n| n.get("preferredDuringSchedulingIgnoredDuringExecution")),
            ),
            tolerations: Toleration::parse_list(spec.get("tolerations")),
            affinity: PodAffinity::parse(affinity, ns, &labels),
            spread: SpreadConstraint::parse_list(spec.get("topologySpreadConstraints"), &labels),
            priority: spec.get("priority").and_then(Value::as_i64).unwrap_or(0),
            labels,
        }
    }

    /// nodeSelector and required node affinity, both of which must hold.
    pub fn matches_node(&self, name: &str, labels: &Map<String, Value>) -> bool {
        self.node_selector.iter().all(|(k, v)| labels.get(k).and_then(Value::as_str) == Some(v.as_str()))
            && self.required_node_affinity.as_ref().is_none_or(|s| s.matches(name, labels))
    }
}

/// hostPorts of the containers and of sidecars (restartable init containers), which run
/// alongside them.
fn host_ports(spec: &Value) -> Vec<HostPort> {
    let containers = spec.get("containers").and_then(Value::as_array).into_iter().flatten();
    let sidecars = spec
        .get("initContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c.get("restartPolicy").and_then(Value::as_str) == Some("Always"));
    let mut out = Vec::new();
    for c in containers.chain(sidecars) {
        for p in c.get("ports").and_then(Value::as_array).into_iter().flatten() {
            let port = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            if port <= 0 {
                continue;
            }
            let text = |k: &str, default: &str| {
                p.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or(default).to_string()
            };
            out.push(HostPort { ip: text("hostIP", "0.0.0.0"), protocol: text("protocol", "TCP"), port });
        }
    }
    out
}

fn scheduled_condition(obj: &Value) -> Option<(String, String, String)> {
    let conds = at(obj, &["status", "conditions"])?.as_array()?;
    let c = conds.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("PodScheduled"))?;
    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    Some((s("status"), s("reason"), s("message")))
}

//! A Node as the scheduler sees it, parsed once per watch event.

use super::at;
use super::taints::{Effect, NOT_READY, Taint, UNREACHABLE};
use crate::resources::Resources;
use serde_json::{Map, Value};
use wasmkube_api::meta;

/// Everything about a node that filters and scores read. Two equal specs schedule alike, so a
/// heartbeat that changes only timestamps is not a reason to retry unschedulable pods.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeSpec {
    pub name: String,
    pub labels: Map<String, Value>,
    /// `status.allocatable` (or `status.capacity` on nodes that report no allocatable).
    pub allocatable: Resources,
    /// `spec.taints`, plus the not-ready / unreachable taint upstream's node lifecycle would add
    /// for a node that is not Ready, so tolerating pods (DaemonSets) may still land there.
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
}

impl NodeSpec {
    pub fn parse(obj: &Value) -> NodeSpec {
        let status = obj.get("status");
        let allocatable = status
            .and_then(|s| s.get("allocatable"))
            .filter(|a| a.as_object().is_some_and(|m| !m.is_empty()))
            .or_else(|| status.and_then(|s| s.get("capacity")));
        let mut taints = Taint::parse_list(at(obj, &["spec", "taints"]));
        let ready = obj
            .get("status")
            .and_then(|s| s.get("conditions"))
            .and_then(Value::as_array)
            .and_then(|conds| conds.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("Ready")))
            .and_then(|c| c.get("status"))
            .and_then(Value::as_str);
        let synthetic = match ready {
            Some("True") => None,
            Some("Unknown") => Some(UNREACHABLE),
            _ => Some(NOT_READY),
        };
        if let Some(key) = synthetic
            && !taints.iter().any(|t| t.key == key && t.effect == Effect::NoSchedule)
        {
            taints.push(Taint { key: key.to_string(), value: String::new(), effect: Effect::NoSchedule });
        }
        NodeSpec {
            name: meta::name(obj).to_string(),
            labels: meta::labels(obj).cloned().unwrap_or_default(),
            allocatable: Resources::from_list(allocatable),
            taints,
            unschedulable: at(obj, &["spec", "unschedulable"]).and_then(Value::as_bool).unwrap_or(false),
        }
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn readiness_becomes_a_taint_and_allocatable_is_read_once() {
        let node = json!({"metadata": {"name": "n1", "labels": {"zone": "a"}},
            "spec": {"taints": [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110", "example.com/fpga": "2"},
                       "conditions": [{"type": "Ready", "status": "False"}]}});
        let spec = NodeSpec::parse(&node);
        assert_eq!(spec.allocatable.milli_cpu, 4000);
        assert_eq!(spec.allocatable.memory, 8 << 30);
        assert_eq!(spec.allocatable.pods, 110);
        assert_eq!(spec.allocatable.scalar("example.com/fpga"), 2);
        assert_eq!(spec.label("zone"), Some("a"));
        let keys: Vec<&str> = spec.taints.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["gpu", NOT_READY]);

        let ready = json!({"metadata": {"name": "n2"}, "status": {"capacity": {"cpu": "1"},
            "conditions": [{"type": "Ready", "status": "True"}]}});
        let spec = NodeSpec::parse(&ready);
        assert!(spec.taints.is_empty());
        assert_eq!(spec.allocatable.milli_cpu, 1000);
    }
}

//! Builders for unit tests: Nodes and Pods from the JSON users write.

use crate::cache::Cache;
use crate::model::node::NodeSpec;
use crate::model::pod::PodInfo;
use serde_json::{Value, json};
use std::sync::Arc;

/// A Ready node with 4 cpus, 8Gi and 110 pods, and these labels.
pub fn node(name: &str, labels: Value) -> NodeSpec {
    NodeSpec::parse(&json!({"metadata": {"name": name, "labels": labels},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True"}]}}))
}

/// A pod in `default` with these labels and this spec (containers default to one).
pub fn pod(name: &str, labels: Value, mut spec: Value) -> Arc<PodInfo> {
    if spec.get("containers").is_none() {
        spec["containers"] = json!([{"name": "c", "image": "hello"}]);
    }
    Arc::new(PodInfo::parse(
        &json!({"metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"),
        "labels": labels}, "spec": spec}),
    ))
}

/// A cache with these nodes and (pod, node) placements.
pub fn cache(nodes: Vec<NodeSpec>, placed: Vec<(Arc<PodInfo>, &str)>) -> Cache {
    let mut cache = Cache::default();
    for n in nodes {
        cache.set_node(n);
    }
    for (p, n) in placed {
        cache.add_pod(p, n, false);
    }
    cache
}

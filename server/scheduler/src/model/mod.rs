//! The scheduler's own view of Pods and Nodes: the fields decisions read, parsed once per
//! watch event so that scheduling a pod never touches JSON.

pub mod node;
pub mod node_selector;
pub mod pod;
pub mod pod_terms;
/// Shared with the DaemonSet and node lifecycle controllers.
pub use wasmkube_api::taints;

use serde_json::Value;

/// The value at a path of object keys. `Value::pointer` allocates a string per path segment,
/// which shows up when every watch event is parsed; this does not.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or_default()
}

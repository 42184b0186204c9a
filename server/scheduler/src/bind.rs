//! Binding: `pods/binding` writes, many in flight at once so the store's group commit puts
//! them in the same durable commit. Each bind runs in its own task and reports back to the
//! scheduling loop, which owns the cache and the queue.

use crate::model::pod::PodInfo;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::Instrument;
use wasmkube_api::ApiError;
use wasmkube_apiserver::Api;
use wasmkube_apiserver::events::{EventType, Recorder};

/// What became of one bind.
#[derive(Debug)]
pub struct BindOutcome {
    pub pod: Arc<PodInfo>,
    pub node: String,
    pub result: Result<(), ApiError>,
}

/// Start binding `pod` to `node`; the outcome arrives on `done`.
pub fn spawn(
    api: Api,
    recorder: Recorder,
    pod: Arc<PodInfo>,
    node: String,
    done: mpsc::UnboundedSender<BindOutcome>,
) {
    let span = tracing::debug_span!("bind", namespace = %pod.namespace, pod = %pod.name, node = %node);
    let task = async move {
        let def = wasmkube_api::registry::by_storage("pods").expect("pods are served");
        let binding = json!({
            "apiVersion": "v1", "kind": "Binding",
            "metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        });
        let result = api.bind(def, &pod.namespace, &pod.name, &binding).await.map(drop);
        match &result {
            Ok(()) => {
                tracing::debug!("bound");
                let message = format!("Successfully assigned {}/{} to {node}", pod.namespace, pod.name);
                recorder.event(&pod.object_ref(), EventType::Normal, "Scheduled", message);
            }
            Err(e) => tracing::debug!(error = %e, "bind failed"),
        }
        // The loop only stops with the process; a closed channel means nobody cares any more.
        let _ = done.send(BindOutcome { pod, node, result });
    };
    tokio::spawn(task.instrument(span));
}

/// Whether a failed bind means the pod no longer needs us: it is gone, being deleted, or
/// already bound by someone else (the watch will show where).
pub fn settled_elsewhere(e: &ApiError) -> bool {
    e.code == 404
        || (e.code == 409 && (e.message.contains("already assigned") || e.message.contains("being deleted")))
}

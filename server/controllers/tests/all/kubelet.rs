//! Stand-ins for the node agent: background tasks that report pods ready or finished, as
//! kwok does for upstream's tests.

use crate::harness::{Cluster, def, is_active, is_ready, opts};
use chrono::Utc;
use serde_json::{Value, json};
use std::time::Duration;
use wasmkube_api::meta;
use wasmkube_apiserver::service::update::Part;
use wasmkube_apiserver::service::{ListOptions, PatchType};

/// A stand-in kubelet: marks every active, not yet ready pod in `ns` that `pick` accepts as
/// Running and Ready, until dropped.
pub struct Kubelet(tokio::task::JoinHandle<()>);

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Cluster {
    pub fn kubelet(&self, ns: &str, pick: impl Fn(&Value) -> bool + Send + Sync + 'static) -> Kubelet {
        let (api, ns, clock) = (self.api.clone(), ns.to_string(), self.clock.clone());
        Kubelet(tokio::spawn(async move {
            loop {
                let pods = api.list(def("pods"), Some(&ns), &ListOptions::default()).await.unwrap().items;
                for p in pods.iter().filter(|p| is_active(p) && !is_ready(p) && pick(p)) {
                    let now = clock
                        .as_ref()
                        .map_or_else(Utc::now, |c| wasmkube_controllers::clock::Clock::now(&**c));
                    let patch =
                        json!({"status": ready_status(&now.format("%Y-%m-%dT%H:%M:%SZ").to_string())});
                    let name = meta::name(p);
                    let _ = api
                        .patch(def("pods"), &ns, name, PatchType::Merge, &patch, Part::Status, false, &opts())
                        .await;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }))
    }
}

impl Cluster {
    /// A stand-in kubelet that runs every active pod in `ns` to completion with the exit code
    /// `code` picks for it.
    pub fn finisher(&self, ns: &str, code: impl Fn(&Value) -> i64 + Send + Sync + 'static) -> Kubelet {
        let (api, ns, clock) = (self.api.clone(), ns.to_string(), self.clock.clone());
        Kubelet(tokio::spawn(async move {
            let c = Cluster { api, clock, dir: tempfile::tempdir().unwrap() };
            loop {
                for p in c.list("pods", &ns).await.iter().filter(|p| is_active(p)) {
                    c.finish(p, code(p)).await;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }))
    }
}

pub fn ready_status(now: &str) -> Value {
    json!({
        "phase": "Running",
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
            {"type": "Initialized", "status": "True", "lastTransitionTime": now},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
            {"type": "Ready", "status": "True", "lastTransitionTime": now},
        ],
        "startTime": now,
    })
}

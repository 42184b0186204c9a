//! A real control plane for scheduler tests: a RedbStore in a tempdir, the Api over it, the
//! cluster defaults, and the scheduler under test; Nodes and Pods are created through the Api
//! as a user (or kwok) would.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use wasmkube_api::{ResourceDef, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::service::update::Part;
use wasmkube_apiserver::service::{ListOptions, PatchType, WriteOptions};
use wasmkube_store::{RedbStore, RedbStoreConfig};

/// Long enough for a loaded two-core machine; conditions are polled, so a passing test is fast.
const DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);

pub fn def(storage: &str) -> &'static ResourceDef {
    registry::by_storage(storage).expect("served resource")
}

pub struct Cluster {
    pub api: Api,
    scheduler: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.scheduler.abort();
    }
}

impl Cluster {
    /// A cluster with the scheduler running (short backoffs, so retries come quickly).
    pub async fn start() -> Cluster {
        let config = wasmkube_scheduler::Config {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..Default::default()
        };
        Cluster::with_config(config).await
    }

    pub async fn with_config(config: wasmkube_scheduler::Config) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RedbStore::open(RedbStoreConfig::new(dir.path().join("store.redb"))).expect("store");
        let api = Api::new(Arc::new(store));
        wasmkube_apiserver::bootstrap::ensure_defaults(&api, 6443).await.expect("bootstrap");
        let scheduler = wasmkube_scheduler::spawn_with(api.clone(), config);
        Cluster { api, scheduler, _dir: dir }
    }

    /// Register a Node the way kwok does: the object, then its status (create resets status).
    pub async fn node(&self, node: NodeBuilder) {
        let name = node.name.clone();
        let created = self.api.create(def("nodes"), "", node.object(), &opts()).await.expect("create node");
        let mut obj = created.object;
        obj["status"] = node.status();
        self.api.update(def("nodes"), "", &name, obj, Part::Status, &opts()).await.expect("node status");
    }

    pub async fn pod(&self, ns: &str, pod: Value) {
        self.api.create(def("pods"), ns, pod, &opts()).await.expect("create pod");
    }

    pub async fn get(&self, storage: &str, ns: &str, name: &str) -> Value {
        self.api.get(def(storage), ns, name).await.expect("get")
    }

    pub async fn merge(&self, storage: &str, ns: &str, name: &str, patch: Value, part: Part) {
        let api = &self.api;
        api.patch(def(storage), ns, name, PatchType::Merge, &patch, part, false, &opts())
            .await
            .expect("patch");
    }

    pub async fn delete_pod(&self, ns: &str, name: &str) {
        let opts = wasmkube_apiserver::service::DeleteOptions {
            grace_period_seconds: Some(0),
            ..Default::default()
        };
        self.api.delete(def("pods"), ns, name, &opts).await.expect("delete pod");
    }

    /// Wait for `pod` to be bound; returns its node.
    pub async fn bound(&self, ns: &str, name: &str) -> String {
        let pod = self.until(ns, name, |p| !node_of(p).is_empty()).await;
        let node = node_of(&pod).to_string();
        let scheduled = condition(&pod, "PodScheduled").expect("binding sets PodScheduled");
        assert_eq!(scheduled["status"], "True", "{pod}");
        node
    }

    /// Wait for `pod` to be reported unschedulable; returns the condition's message.
    pub async fn unschedulable(&self, ns: &str, name: &str) -> String {
        let pod = self
            .until(ns, name, |p| {
                condition(p, "PodScheduled")
                    .is_some_and(|c| c["status"] == "False" && c["reason"] == "Unschedulable")
            })
            .await;
        assert_eq!(node_of(&pod), "", "an unschedulable pod has no node: {pod}");
        condition(&pod, "PodScheduled").expect("just seen")["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn until(&self, ns: &str, name: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let pod = self.get("pods", ns, name).await;
            if done(&pod) {
                return pod;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting on pod {ns}/{name}: {pod:#}");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Wait for an event with `reason` about pod `name`; returns its message.
    pub async fn event(&self, ns: &str, name: &str, reason: &str) -> String {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let events =
                self.api.list(def("events"), Some(ns), &ListOptions::default()).await.expect("events");
            let found =
                events.items.iter().find(|e| e["involvedObject"]["name"] == name && e["reason"] == reason);
            if let Some(e) = found {
                assert_eq!(e["source"]["component"], "default-scheduler", "{e}");
                return e["message"].as_str().unwrap_or_default().to_string();
            }
            assert!(tokio::time::Instant::now() < deadline, "no {reason} event for {ns}/{name}");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Bound pods per node name.
    pub async fn placement(&self, ns: &str) -> std::collections::BTreeMap<String, usize> {
        let pods = self.api.list(def("pods"), Some(ns), &ListOptions::default()).await.expect("pods");
        let mut out = std::collections::BTreeMap::new();
        for p in &pods.items {
            *out.entry(node_of(p).to_string()).or_default() += 1;
        }
        out
    }
}

pub fn opts() -> WriteOptions {
    WriteOptions::default()
}

pub fn node_of(pod: &Value) -> &str {
    pod.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or_default()
}

fn condition<'a>(pod: &'a Value, kind: &str) -> Option<&'a Value> {
    pod.pointer("/status/conditions")?.as_array()?.iter().find(|c| c["type"] == kind)
}

/// A pod with one container requesting `cpu` and `memory` (either may be empty).
pub fn pod(name: &str, cpu: &str, memory: &str) -> Value {
    let mut requests = serde_json::Map::new();
    if !cpu.is_empty() {
        requests.insert("cpu".into(), json!(cpu));
    }
    if !memory.is_empty() {
        requests.insert("memory".into(), json!(memory));
    }
    json!({"metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "c", "image": "hello:latest", "resources": {"requests": requests}}]}})
}

/// A simulated Node: Ready, with room for `cpu`, `memory` and `pods`, unless told otherwise.
pub struct NodeBuilder {
    name: String,
    labels: Value,
    allocatable: Value,
    taints: Vec<Value>,
    unschedulable: bool,
    ready: &'static str,
}

pub fn node(name: &str) -> NodeBuilder {
    NodeBuilder {
        name: name.into(),
        labels: json!({"kubernetes.io/hostname": name}),
        allocatable: json!({"cpu": "4", "memory": "8Gi", "pods": "110"}),
        taints: Vec::new(),
        unschedulable: false,
        ready: "True",
    }
}

impl NodeBuilder {
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.labels[k] = json!(v);
        self
    }

    pub fn allocatable(mut self, k: &str, v: &str) -> Self {
        self.allocatable[k] = json!(v);
        self
    }

    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> Self {
        self.taints.push(json!({"key": key, "value": value, "effect": effect}));
        self
    }

    pub fn cordoned(mut self) -> Self {
        self.unschedulable = true;
        self
    }

    pub fn not_ready(mut self) -> Self {
        self.ready = "False";
        self
    }

    fn object(&self) -> Value {
        let mut spec = json!({});
        if !self.taints.is_empty() {
            spec["taints"] = json!(self.taints);
        }
        if self.unschedulable {
            spec["unschedulable"] = json!(true);
        }
        json!({"metadata": {"name": self.name, "labels": self.labels}, "spec": spec})
    }

    fn status(&self) -> Value {
        json!({"capacity": self.allocatable, "allocatable": self.allocatable,
            "conditions": [{"type": "Ready", "status": self.ready, "reason": "KubeletReady", "message": "simulated"}]})
    }
}

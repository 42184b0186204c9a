//! A cluster without nodes: a real store and API, the workload controllers and the garbage
//! collector; the tests play the kubelet's part by writing pod status, as kwok does.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use wasmkube_api::{meta, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::controllers::{gc::GarbageCollector, run};
use wasmkube_apiserver::service::update::Part;
use wasmkube_apiserver::service::{DeleteOptions, ListOptions, PatchType, WriteOptions};
use wasmkube_controllers::ControllerConfig;
use wasmkube_controllers::clock::ManualClock;
use wasmkube_store::{RedbStore, RedbStoreConfig};

/// How long a test waits for the controllers to react before failing.
const DEADLINE: Duration = Duration::from_secs(10);

pub struct Cluster {
    pub api: Api,
    pub clock: Option<Arc<ManualClock>>,
    pub dir: tempfile::TempDir,
}

pub fn def(storage: &str) -> &'static wasmkube_api::ResourceDef {
    registry::by_storage(storage).unwrap_or_else(|| panic!("{storage} is served"))
}

pub fn opts() -> WriteOptions {
    WriteOptions { field_manager: Some("test".into()), ..Default::default() }
}

impl Cluster {
    /// A cluster on the wall clock.
    pub async fn start() -> Cluster {
        Self::boot(None).await
    }

    /// A cluster whose controllers read `clock`, starting at the wall clock's now.
    pub async fn start_with_manual_clock() -> Cluster {
        Self::boot(Some(Arc::new(ManualClock::new(Utc::now())))).await
    }

    async fn boot(clock: Option<Arc<ManualClock>>) -> Cluster {
        init_tracing();
        let dir = tempfile::tempdir().unwrap();
        let api = open_api(dir.path());
        wasmkube_apiserver::bootstrap::ensure_defaults(&api, 6443).await.unwrap();
        let mut config = ControllerConfig::new(dir.path().join("volumes"));
        // The stand-in nodes never heartbeat and the manual clock jumps ahead: keep the node
        // lifecycle controller from tainting them (it is tested end to end in tests/e2e).
        config.node_monitor_grace = std::time::Duration::from_secs(100 * 365 * 24 * 3600);
        if let Some(c) = &clock {
            config.clock = c.clone();
        }
        wasmkube_controllers::spawn(api.clone(), config);
        tokio::spawn(run(api.clone(), GarbageCollector::default(), "garbage-collector"));
        Cluster { api, clock, dir }
    }

    /// A cluster whose API is also served over HTTP (with its own garbage collector), for
    /// kubectl; returns the kubeconfig path.
    pub async fn start_served() -> (Cluster, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let api = open_api(dir.path());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = api.clone();
        tokio::spawn(async move {
            let _ =
                wasmkube_apiserver::serve(listener, served, Default::default(), std::future::pending()).await;
        });
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}\n\
             contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n    namespace: default\n\
             current-context: c\nusers:\n- name: u\n  user: {{}}\n"
            ),
        )
        .unwrap();
        wasmkube_controllers::spawn(api.clone(), ControllerConfig::new(dir.path().join("volumes")));
        let c = Cluster { api, clock: None, dir };
        c.eventually("the served API", || async { c.get("namespaces", "", "default").await }).await;
        (c, kubeconfig)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.as_ref().map_or_else(Utc::now, |c| wasmkube_controllers::clock::Clock::now(&**c))
    }

    pub fn now_str(&self) -> String {
        self.now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    pub async fn create(&self, storage: &str, obj: Value) -> Value {
        let ns = meta::namespace(&obj).to_string();
        let ns = if ns.is_empty() { "default".to_string() } else { ns };
        match self.api.create(def(storage), &ns, obj, &opts()).await {
            Ok(w) => w.object,
            Err(e) => panic!("creating {storage}: {e}"),
        }
    }

    pub async fn get(&self, storage: &str, ns: &str, name: &str) -> Option<Value> {
        self.api.get(def(storage), ns, name).await.ok()
    }

    pub async fn list(&self, storage: &str, ns: &str) -> Vec<Value> {
        let ns = if def(storage).namespaced { Some(ns) } else { None };
        self.api.list(def(storage), ns, &ListOptions::default()).await.unwrap().items
    }

    pub async fn patch(&self, storage: &str, obj: &Value, kind: PatchType, patch: Value) -> Value {
        let (ns, name) = (meta::namespace(obj), meta::name(obj));
        let r = self.api.patch(def(storage), ns, name, kind, &patch, Part::Main, false, &opts()).await;
        r.unwrap_or_else(|e| panic!("patching {storage} {name}: {e}")).0.object
    }

    pub async fn merge(&self, storage: &str, obj: &Value, patch: Value) -> Value {
        self.patch(storage, obj, PatchType::Merge, patch).await
    }

    pub async fn patch_status(&self, storage: &str, obj: &Value, status: Value) -> Value {
        let (ns, name) = (meta::namespace(obj), meta::name(obj));
        let patch = json!({"status": status});
        let r = self
            .api
            .patch(def(storage), ns, name, PatchType::Merge, &patch, Part::Status, false, &opts())
            .await;
        r.unwrap_or_else(|e| panic!("patching the status of {storage} {name}: {e}")).0.object
    }

    pub async fn delete(&self, storage: &str, obj: &Value, propagation: Option<&str>) {
        let o = DeleteOptions { propagation_policy: propagation.map(String::from), ..Default::default() };
        match self.api.delete(def(storage), meta::namespace(obj), meta::name(obj), &o).await {
            Ok(_) => {}
            Err(e) if e.code == 404 => {}
            Err(e) => panic!("deleting {storage} {}: {e}", meta::name(obj)),
        }
    }

    /// Pods whose controlling owner is `owner` (all of them, terminating or finished too).
    pub async fn pods_of(&self, owner: &Value) -> Vec<Value> {
        let uid = meta::uid(owner);
        let mut pods: Vec<Value> = self
            .list("pods", meta::namespace(owner))
            .await
            .into_iter()
            .filter(|p| controller_uid(p) == Some(uid))
            .collect();
        pods.sort_by(|a, b| meta::name(a).cmp(meta::name(b)));
        pods
    }

    /// Pods of `owner` that count: not finished, not being deleted.
    pub async fn active_pods_of(&self, owner: &Value) -> Vec<Value> {
        self.pods_of(owner).await.into_iter().filter(is_active).collect()
    }

    /// The kubelet's report of a started, ready pod (Ready since now).
    pub async fn make_ready(&self, pod: &Value) -> Value {
        self.patch_status("pods", pod, crate::kubelet::ready_status(&self.now_str())).await
    }

    /// The kubelet's report of a pod whose containers all exited with `exit_code`.
    pub async fn finish(&self, pod: &Value, exit_code: i64) -> Value {
        let now = self.now_str();
        let phase = if exit_code == 0 { "Succeeded" } else { "Failed" };
        let containers: Vec<Value> = pod["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false, "restartCount": 0,
                       "state": {"terminated": {"exitCode": exit_code, "reason": if exit_code == 0 { "Completed" } else { "Error" },
                                                "startedAt": now, "finishedAt": now}}})
            })
            .collect();
        let status = json!({
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now}],
            "containerStatuses": containers,
        });
        self.patch_status("pods", pod, status).await
    }

    /// Poll `check` until it returns `Some`, failing the test after the deadline.
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if let Some(v) = check().await {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait until `owner` has exactly `n` active pods, and return them.
    pub async fn wait_active_pods(&self, owner: &Value, n: usize) -> Vec<Value> {
        let what = format!("{} active pods of {}", n, meta::name(owner));
        self.eventually(&what, || async {
            let pods = self.active_pods_of(owner).await;
            (pods.len() == n).then_some(pods)
        })
        .await
    }

    /// Wait until the object's status satisfies `pred`, and return the object.
    pub async fn wait_for(
        &self,
        storage: &str,
        obj: &Value,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let (ns, name) = (meta::namespace(obj).to_string(), meta::name(obj).to_string());
        self.eventually(what, || async { self.get(storage, &ns, &name).await.filter(|o| pred(o)) }).await
    }

    /// Events recorded about `obj`, as (reason, message).
    pub async fn events_of(&self, obj: &Value) -> Vec<(String, String)> {
        self.list("events", meta::namespace(obj))
            .await
            .into_iter()
            .filter(|e| e["involvedObject"]["uid"] == obj["metadata"]["uid"])
            .map(|e| (e["reason"].as_str().unwrap_or("").into(), e["message"].as_str().unwrap_or("").into()))
            .collect()
    }

    /// Wait until an event with `reason` was recorded about `obj`.
    pub async fn wait_event(&self, obj: &Value, reason: &str) -> String {
        let what = format!("a {reason} event on {}", meta::name(obj));
        self.eventually(&what, || async {
            self.events_of(obj).await.into_iter().find(|(r, _)| r == reason).map(|(_, m)| m)
        })
        .await
    }
}

/// Logs for failing tests: `RUST_LOG=wasmkube_controllers=debug cargo test ...`.
fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

fn open_api(dir: &std::path::Path) -> Api {
    let store = RedbStore::open(RedbStoreConfig::new(dir.join("store.redb"))).unwrap();
    Api::new(Arc::new(store))
}

pub fn controller_uid(obj: &Value) -> Option<&str> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
        .and_then(|r| r["uid"].as_str())
}

pub fn is_active(pod: &Value) -> bool {
    let phase = pod["status"]["phase"].as_str().unwrap_or("");
    phase != "Succeeded" && phase != "Failed" && pod["metadata"]["deletionTimestamp"].is_null()
}

pub fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

pub fn int(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// A container the validation accepts.
pub fn container(name: &str, image: &str) -> Value {
    json!({"name": name, "image": image})
}

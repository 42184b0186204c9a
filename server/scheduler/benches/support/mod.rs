//! The simulated cluster the scheduler benchmark runs against, and what it measures with.

use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmkube_api::{ResourceDef, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::service::WriteOptions;
use wasmkube_apiserver::service::update::Part;
use wasmkube_store::{Prefix, RedbStore, RedbStoreConfig, Store, WatchStream};

/// Concurrent clients registering nodes and creating pods.
pub const CLIENTS: usize = 64;
const POD_CPU_MILLIS: i64 = 100;
const POD_MEMORY_MIB: i64 = 128;
/// How a bound pod's stored record shows it (the store holds compact JSON).
const NODE_NAME: &[u8] = br#""nodeName":""#;

fn def(storage: &str) -> &'static ResourceDef {
    registry::by_storage(storage).expect("served")
}

/// A fresh durable store with the cluster defaults; the store is kept for the observer.
pub struct Cluster {
    pub api: Api,
    store: Arc<RedbStore>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub async fn open() -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = RedbStoreConfig::new(dir.path().join("store.redb"));
        let store = Arc::new(RedbStore::open(config).expect("store"));
        let api = Api::new(store.clone());
        wasmkube_apiserver::bootstrap::ensure_defaults(&api, 6443).await.expect("bootstrap");
        Cluster { api, store, _dir: dir }
    }

    /// Nodes as kwok registers them: Ready, 32 cpus, 256Gi, 110 pods; three zones.
    pub async fn register_nodes(&self, n: usize) {
        let api = self.api.clone();
        concurrently(n, move |i| {
            let api = api.clone();
            async move {
                let name = format!("kwok-node-{i}");
                let labels = json!({"kubernetes.io/hostname": name, "type": "kwok",
                    "topology.kubernetes.io/zone": format!("zone-{}", i % 3)});
                let resources = json!({"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "100Gi"});
                let status = json!({"capacity": resources, "allocatable": resources,
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kwok"}]});
                let node = json!({"metadata": {"name": name, "labels": labels}});
                let mut obj = api.create(def("nodes"), "", node, &opts()).await.expect("create node").object;
                obj["status"] = status;
                api.update(def("nodes"), "", &name, obj, Part::Status, &opts()).await.expect("node status");
            }
        })
        .await;
    }

    /// Pod changes from now on, read from the store itself (see [`Observer`]).
    pub fn observe(&self) -> Observer {
        let events =
            self.store.watch(Prefix::resource("pods", None), self.store.current_rev()).expect("watch");
        Observer { events, bound: HashSet::new() }
    }

    /// Nodes whose bound pods request more cpu, memory or pod slots than the node has.
    pub async fn over_committed(&self) -> usize {
        let pods = self.api.list(def("pods"), None, &Default::default()).await.expect("list pods").items;
        let mut per_node: HashMap<String, (i64, i64, i64)> = HashMap::new();
        for p in &pods {
            let node = p.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or_default().to_string();
            let e = per_node.entry(node).or_default();
            *e = (e.0 + POD_CPU_MILLIS, e.1 + POD_MEMORY_MIB, e.2 + 1);
        }
        per_node.values().filter(|(cpu, mem, n)| *cpu > 32_000 || *mem > 256 * 1024 || *n > 110).count()
    }
}

fn opts() -> WriteOptions {
    WriteOptions::default()
}

fn pod(i: usize) -> Value {
    json!({"metadata": {"name": format!("pod-{i}"), "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "c", "image": "http-hello:latest", "resources": {"requests":
            {"cpu": format!("{POD_CPU_MILLIS}m"), "memory": format!("{POD_MEMORY_MIB}Mi")}}}]}})
}

/// Create pods `pod-0` .. `pod-{n-1}` as fast as [`CLIENTS`] clients can.
pub async fn create_pods(api: Api, n: usize) {
    concurrently(n, move |i| {
        let api = api.clone();
        async move {
            api.create(def("pods"), "default", pod(i), &opts()).await.expect("create pod");
        }
    })
    .await;
}

/// Create pods `pod-0` .. `pod-{n-1}` at `rate` per second, open loop: each create starts at
/// its scheduled time whether or not earlier ones have finished. Returns the scheduled times,
/// from which latency is measured so that a stall is not hidden (no coordinated omission).
pub fn create_pods_at_rate(api: Api, n: usize, rate: f64) -> Vec<Instant> {
    let start = Instant::now() + Duration::from_millis(10);
    let due: Vec<Instant> = (0..n).map(|i| start + Duration::from_secs_f64(i as f64 / rate)).collect();
    let schedule = due.clone();
    tokio::spawn(async move {
        for (i, at) in schedule.into_iter().enumerate() {
            tokio::time::sleep_until(at.into()).await;
            let api = api.clone();
            tokio::spawn(async move {
                api.create(def("pods"), "default", pod(i), &opts()).await.expect("create pod");
            });
        }
    });
    due
}

/// Sees pods become bound. It watches the store and looks for `"nodeName"` in the raw records
/// instead of decoding them through the Api, so measuring costs next to nothing on the two
/// cores being measured; a record is in the store's watch once its bind is committed.
pub struct Observer {
    events: WatchStream,
    bound: HashSet<String>,
}

impl Observer {
    /// Wait for the next pod seen bound for the first time; returns its name and when.
    pub async fn next_bound(&mut self) -> (String, Instant) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        loop {
            let ev = tokio::time::timeout_at(deadline, self.events.next()).await;
            let ev = ev.expect("pods bound within 10 minutes").expect("watch open").expect("watch event");
            let has_node = ev.value.windows(NODE_NAME.len()).any(|w| w == NODE_NAME);
            if has_node && self.bound.insert(ev.key.name.clone()) {
                return (ev.key.name.clone(), Instant::now());
            }
        }
    }
}

/// Run `count` jobs over [`CLIENTS`] concurrent tasks.
async fn concurrently<F, Fut>(count: usize, job: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let job = Arc::new(job);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let job = job.clone();
            tokio::spawn(async move {
                for i in (c..count).step_by(CLIENTS) {
                    job(i).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("client task");
    }
}

/// User + system CPU time of this process so far.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest.split_whitespace().skip(11).take(2).filter_map(|f| f.parse().ok()).collect();
    fields.iter().sum::<f64>() / 100.0
}

/// Non-idle CPU time of the whole machine so far (everything but idle and iowait, /proc/stat).
pub fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or_default();
    let cpu: Vec<f64> = line.split_whitespace().skip(1).take(8).filter_map(|f| f.parse().ok()).collect();
    let idle = cpu.get(3).copied().unwrap_or(0.0) + cpu.get(4).copied().unwrap_or(0.0);
    (cpu.iter().sum::<f64>() - idle) / 100.0
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

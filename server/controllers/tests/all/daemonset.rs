//! DaemonSet: a pod per eligible node, node changes, rolling and OnDelete updates, history.

use crate::harness::{Cluster, container, int, is_active, is_ready};
use serde_json::{Value, json};
use std::time::Duration;
use wasmkube_apiserver::service::PatchType;

fn daemon_set(name: &str, extra: Value) -> Value {
    let mut ds = json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [container("main", "agent-v1.wasm")]}},
        },
    });
    for (k, v) in extra.as_object().unwrap() {
        ds["spec"][k] = v.clone();
    }
    ds
}

fn target(pod: &Value) -> String {
    pod.pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0/values/0")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

impl Cluster {
    async fn node(&self, name: &str, labels: Value, taints: Value) -> Value {
        self.create("nodes", json!({"apiVersion": "v1", "kind": "Node",
                                    "metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}}))
            .await
    }

    async fn targets(&self, ds: &Value) -> Vec<String> {
        let mut t: Vec<String> = self.active_pods_of(ds).await.iter().map(target).collect();
        t.sort();
        t
    }

    async fn wait_targets(&self, ds: &Value, want: &[&str]) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.targets(ds).await != want {
            if tokio::time::Instant::now() > deadline {
                let pods: Vec<(String, String, Value)> = self
                    .pods_of(ds)
                    .await
                    .iter()
                    .map(|p| {
                        (
                            p["metadata"]["name"].as_str().unwrap_or("").to_string(),
                            target(p),
                            p["metadata"]["deletionTimestamp"].clone(),
                        )
                    })
                    .collect();
                let cur =
                    self.get("apps/daemonsets", "default", ds["metadata"]["name"].as_str().unwrap()).await;
                panic!("timed out waiting for daemon pods on {want:?}: {pods:?} {cur:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.active_pods_of(ds).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pod_per_eligible_node_pinned_by_affinity() {
    let c = Cluster::start().await;
    c.node("n1", json!({"role": "web"}), json!([])).await;
    c.node("n2", json!({"role": "db"}), json!([])).await;
    c.node("n3", json!({}), json!([{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])).await;
    c.node("n4", json!({}), json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]))
        .await;
    let ds = c.create("apps/daemonsets", daemon_set("agent", json!({}))).await;
    let pods = c.wait_targets(&ds, &["n1", "n2", "n4"]).await;
    for p in &pods {
        assert!(p["spec"]["nodeName"].is_null(), "binding is the scheduler's job");
        assert_eq!(p["metadata"]["generateName"], "agent-");
        assert!(p["metadata"]["labels"]["controller-revision-hash"].is_string());
        assert_eq!(p["metadata"]["labels"]["pod-template-generation"], "1");
        let tolerations = p["spec"]["tolerations"].as_array().unwrap();
        for key in
            ["not-ready", "unreachable", "disk-pressure", "memory-pressure", "pid-pressure", "unschedulable"]
        {
            let key = format!("node.kubernetes.io/{key}");
            assert!(
                tolerations.iter().any(|t| t["key"] == key.as_str() && t["operator"] == "Exists"),
                "{key}"
            );
        }
    }
    let ds = c
        .wait_for("apps/daemonsets", &ds, "status", |o| {
            int(o, "/status/desiredNumberScheduled") == 3 && int(o, "/status/currentNumberScheduled") == 3
        })
        .await;
    assert_eq!(int(&ds, "/status/numberReady"), 0);
    assert_eq!(int(&ds, "/status/numberMisscheduled"), 0);
    for p in &pods {
        c.make_ready(p).await;
    }
    let ds = c
        .wait_for("apps/daemonsets", &ds, "all available", |o| {
            int(o, "/status/numberAvailable") == 3 && int(o, "/status/updatedNumberScheduled") == 3
        })
        .await;
    assert_eq!(int(&ds, "/status/numberReady"), 3);
    assert_eq!(int(&ds, "/status/observedGeneration"), 1);
    assert!(ds["status"].get("numberUnavailable").is_none());
    let revs = c.list("apps/controllerrevisions", "default").await;
    assert_eq!(revs.len(), 1);
    assert_eq!(revs[0]["revision"], 1);
    let hash = pods[0]["metadata"]["labels"]["controller-revision-hash"].as_str().unwrap();
    assert_eq!(revs[0]["metadata"]["name"], format!("agent-{hash}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_selector_labels_and_taints_move_pods() {
    let c = Cluster::start().await;
    let n1 = c.node("n1", json!({"disk": "ssd"}), json!([])).await;
    c.node("n2", json!({"disk": "hdd"}), json!([])).await;
    let ds = c.create("apps/daemonsets", daemon_set("ssd", json!({}))).await;
    let ds = c
        .merge(
            "apps/daemonsets",
            &ds,
            json!({"spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"}}}}}),
        )
        .await;
    c.wait_targets(&ds, &["n1"]).await;
    c.node("n3", json!({"disk": "ssd"}), json!([])).await;
    c.wait_targets(&ds, &["n1", "n3"]).await;
    // A NoSchedule taint keeps the running pod (now misscheduled); NoExecute evicts it.
    let n1 =
        c.merge("nodes", &n1, json!({"spec": {"taints": [{"key": "maint", "effect": "NoSchedule"}]}})).await;
    c.wait_for("apps/daemonsets", &ds, "one misscheduled", |o| int(o, "/status/numberMisscheduled") == 1)
        .await;
    assert_eq!(c.targets(&ds).await, ["n1", "n3"]);
    c.merge("nodes", &n1, json!({"spec": {"taints": [{"key": "maint", "effect": "NoExecute"}]}})).await;
    c.wait_targets(&ds, &["n3"]).await;
    let n3 = c.get("nodes", "", "n3").await.unwrap();
    c.delete("nodes", &n3, None).await;
    c.wait_targets(&ds, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_updates_keep_within_max_unavailable() {
    let c = Cluster::start().await;
    for n in ["n1", "n2", "n3", "n4"] {
        c.node(n, json!({}), json!([])).await;
    }
    let _kubelet = c.kubelet("default", |_| true);
    let ds = c
        .create(
            "apps/daemonsets",
            daemon_set(
                "roll",
                json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}}),
            ),
        )
        .await;
    c.wait_for("apps/daemonsets", &ds, "all available", |o| int(o, "/status/numberAvailable") == 4).await;
    let ds = c
        .merge(
            "apps/daemonsets",
            &ds,
            json!({"metadata": {"annotations": {"kubernetes.io/change-cause": "v2"}},
        "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "agent-v2.wasm"}]}}}}),
        )
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let pods = c.active_pods_of(&ds).await;
        let ready = pods.iter().filter(|p| is_ready(p)).count();
        assert!(ready >= 3, "more than maxUnavailable nodes without an available pod: {ready} ready");
        let cur = c.get("apps/daemonsets", "default", "roll").await.unwrap();
        if int(&cur, "/status/observedGeneration") == 2
            && int(&cur, "/status/updatedNumberScheduled") == 4
            && int(&cur, "/status/numberAvailable") == 4
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "rollout did not finish: {}", cur["status"]);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pods = c.active_pods_of(&ds).await;
    assert!(pods.iter().all(|p| p["spec"]["containers"][0]["image"] == "agent-v2.wasm"));
    let mut revs = c.list("apps/controllerrevisions", "default").await;
    revs.sort_by_key(|r| r["revision"].as_i64());
    assert_eq!(revs.len(), 2);
    assert_eq!(revs[1]["metadata"]["annotations"]["kubernetes.io/change-cause"], "v2");
    // kubectl rollout undo: the previous revision's data as a strategic merge patch.
    let ds = c.patch("apps/daemonsets", &ds, PatchType::Strategic, revs[0]["data"].clone()).await;
    c.wait_for("apps/daemonsets", &ds, "rolled back", |o| {
        int(o, "/status/observedGeneration") == 3
            && int(o, "/status/updatedNumberScheduled") == 4
            && int(o, "/status/numberAvailable") == 4
    })
    .await;
    let revs = c.list("apps/controllerrevisions", "default").await;
    let first = revs.iter().find(|r| r["metadata"]["name"] == revs_name(&revs, "agent-v1.wasm")).unwrap();
    assert_eq!(first["revision"], 3, "the restored revision becomes the newest");
    assert!(
        c.active_pods_of(&ds).await.iter().all(|p| p["spec"]["containers"][0]["image"] == "agent-v1.wasm")
    );
}

fn revs_name(revs: &[Value], image: &str) -> String {
    revs.iter()
        .find(|r| r["data"]["spec"]["template"]["spec"]["containers"][0]["image"] == image)
        .map(|r| r["metadata"]["name"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn surge_starts_new_pods_before_removing_old_ones() {
    let c = Cluster::start().await;
    for n in ["n1", "n2"] {
        c.node(n, json!({}), json!([])).await;
    }
    let _kubelet = c.kubelet("default", |_| true);
    let strategy = json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}});
    let ds = c.create("apps/daemonsets", daemon_set("surge", json!({"updateStrategy": strategy}))).await;
    c.wait_for("apps/daemonsets", &ds, "all available", |o| int(o, "/status/numberAvailable") == 2).await;
    let ds = c.merge("apps/daemonsets", &ds, json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "agent-v2.wasm"}]}}}})).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let pods = c.active_pods_of(&ds).await;
        assert!(pods.len() <= 3, "more than maxSurge extra pods: {}", pods.len());
        for node in ["n1", "n2"] {
            let on = pods.iter().filter(|p| target(p) == node && is_ready(p)).count();
            assert!(
                on >= 1 || pods.iter().filter(|p| target(p) == node).count() == 0,
                "node {node} lost its ready pod"
            );
        }
        let cur = c.get("apps/daemonsets", "default", "surge").await.unwrap();
        if int(&cur, "/status/updatedNumberScheduled") == 2
            && int(&cur, "/status/numberAvailable") == 2
            && pods.len() == 2
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "surge rollout did not finish: {}", cur["status"]);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_delete_replaces_only_deleted_pods_and_failed_pods_are_recreated() {
    let c = Cluster::start().await;
    for n in ["n1", "n2"] {
        c.node(n, json!({}), json!([])).await;
    }
    let ds = c
        .create("apps/daemonsets", daemon_set("manual", json!({"updateStrategy": {"type": "OnDelete"}})))
        .await;
    let pods = c.wait_targets(&ds, &["n1", "n2"]).await;
    let ds = c.merge("apps/daemonsets", &ds, json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "agent-v2.wasm"}]}}}})).await;
    c.wait_for("apps/daemonsets", &ds, "observed", |o| int(o, "/status/observedGeneration") == 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        c.active_pods_of(&ds).await.iter().all(|p| p["spec"]["containers"][0]["image"] == "agent-v1.wasm")
    );
    c.delete("pods", &pods[0], None).await;
    let node = target(&pods[0]);
    let fresh = c
        .eventually("a new pod on the node", || async {
            c.active_pods_of(&ds)
                .await
                .into_iter()
                .find(|p| target(p) == node && p["metadata"]["name"] != pods[0]["metadata"]["name"])
        })
        .await;
    assert_eq!(fresh["spec"]["containers"][0]["image"], "agent-v2.wasm");
    // A failed daemon pod is deleted and replaced.
    c.finish(&pods[1], 1).await;
    let other = target(&pods[1]);
    c.eventually("the failed pod replaced", || async {
        let all = c.pods_of(&ds).await;
        let gone = all.iter().all(|p| p["metadata"]["name"] != pods[1]["metadata"]["name"]);
        let replaced = all.iter().any(|p| target(p) == other && is_active(p));
        (gone && replaced).then_some(())
    })
    .await;
    c.wait_event(&ds, "FailedDaemonPod").await;
}

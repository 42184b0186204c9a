//! StatefulSet (ordered and parallel pods, claims, updates) and the local-path provisioner.

use crate::harness::{Cluster, int, is_active, is_ready};
use serde_json::{Value, json};
use std::time::Duration;

fn stateful_set(name: &str, replicas: i64, extra: Value) -> Value {
    let mut s = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "serviceName": "nginx",
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "main", "image": "v1.wasm",
                                                  "volumeMounts": [{"name": "www", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "www"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
        },
    });
    for (k, v) in extra.as_object().unwrap() {
        s["spec"][k] = v.clone();
    }
    s
}

fn names(pods: &[Value]) -> Vec<String> {
    let mut n: Vec<String> =
        pods.iter().map(|p| p["metadata"]["name"].as_str().unwrap().to_string()).collect();
    n.sort();
    n
}

impl Cluster {
    async fn wait_pod_names(&self, set: &Value, want: &[&str]) -> Vec<Value> {
        let what = format!("pods {want:?}");
        self.eventually(&what, || async {
            let pods = self.active_pods_of(set).await;
            (names(&pods) == want).then_some(pods)
        })
        .await
    }

    async fn pod(&self, name: &str) -> Value {
        self.get("pods", "default", name).await.unwrap_or_else(|| panic!("pod {name}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_ready_creates_pods_one_at_a_time_with_their_own_bound_claims() {
    let c = Cluster::start().await;
    let set = c.create("apps/statefulsets", stateful_set("web", 3, json!({}))).await;
    let pods = c.wait_pod_names(&set, &["web-0"]).await;
    let p = &pods[0];
    assert_eq!(p["spec"]["hostname"], "web-0");
    assert_eq!(p["spec"]["subdomain"], "nginx");
    assert_eq!(p["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"], "web-0");
    assert_eq!(p["metadata"]["labels"]["apps.kubernetes.io/pod-index"], "0");
    assert!(p["metadata"]["labels"]["controller-revision-hash"].as_str().unwrap().starts_with("web-"));
    assert_eq!(
        p["spec"]["volumes"][0],
        json!({"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}})
    );
    let claim = c
        .wait_for(
            "persistentvolumeclaims",
            &json!({"metadata": {"namespace": "default", "name": "www-web-0"}}),
            "a bound claim",
            |o| o["status"]["phase"] == "Bound",
        )
        .await;
    assert_eq!(claim["metadata"]["labels"]["app"], "web");
    let volume_name = claim["spec"]["volumeName"].as_str().unwrap().to_string();
    assert_eq!(volume_name, format!("pvc-{}", claim["metadata"]["uid"].as_str().unwrap()));
    assert_eq!(claim["status"]["capacity"]["storage"], "1Gi");
    let pv = c.get("persistentvolumes", "", &volume_name).await.unwrap();
    assert_eq!(pv["status"]["phase"], "Bound");
    assert_eq!(pv["spec"]["storageClassName"], "local-path");
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    assert_eq!(pv["spec"]["hostPath"]["type"], "DirectoryOrCreate");
    assert_eq!(pv["spec"]["claimRef"]["name"], "www-web-0");
    let dir = c.dir.path().join("volumes").join(&volume_name);
    assert_eq!(pv["spec"]["hostPath"]["path"], dir.to_str().unwrap());
    assert!(dir.is_dir(), "the volume directory exists");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(names(&c.active_pods_of(&set).await), ["web-0"], "web-1 waits for web-0 to be ready");
    c.make_ready(p).await;
    let pods = c.wait_pod_names(&set, &["web-0", "web-1"]).await;
    c.make_ready(&pods[1]).await;
    let pods = c.wait_pod_names(&set, &["web-0", "web-1", "web-2"]).await;
    c.make_ready(&pods[2]).await;
    let set = c
        .wait_for("apps/statefulsets", &set, "3 ready", |o| {
            int(o, "/status/readyReplicas") == 3 && int(o, "/status/availableReplicas") == 3
        })
        .await;
    assert_eq!(int(&set, "/status/replicas"), 3);
    assert_eq!(int(&set, "/status/currentReplicas"), 3);
    assert_eq!(set["status"]["currentRevision"], set["status"]["updateRevision"]);
    c.wait_event(&set, "SuccessfulCreate").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_down_goes_from_the_highest_ordinal_and_keeps_claims() {
    let c = Cluster::start().await;
    let _kubelet = c.kubelet("default", |_| true);
    let set = c.create("apps/statefulsets", stateful_set("db", 3, json!({}))).await;
    let set =
        c.wait_for("apps/statefulsets", &set, "3 ready", |o| int(o, "/status/readyReplicas") == 3).await;
    let set = c.merge("apps/statefulsets", &set, json!({"spec": {"replicas": 1}})).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let n = names(&c.active_pods_of(&set).await);
        assert!(
            !n.contains(&"db-2".to_string()) || n.contains(&"db-1".to_string()),
            "db-1 went before db-2: {n:?}"
        );
        if n == ["db-0"] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "scale down did not finish: {n:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let claims = c.list("persistentvolumeclaims", "default").await;
    assert_eq!(names(&claims), ["www-db-0", "www-db-1", "www-db-2"], "claims are retained");
    // A deleted pod comes back with the same name and claim.
    let db0 = c.pod("db-0").await;
    c.delete("pods", &db0, None).await;
    let back = c
        .eventually("db-0 again", || async {
            c.get("pods", "default", "db-0").await.filter(|p| p["metadata"]["uid"] != db0["metadata"]["uid"])
        })
        .await;
    assert_eq!(back["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], "www-db-0");
    // Scaling up again reuses the kept claims.
    let set = c.merge("apps/statefulsets", &set, json!({"spec": {"replicas": 2}})).await;
    c.wait_pod_names(&set, &["db-0", "db-1"]).await;
    assert_eq!(c.list("persistentvolumeclaims", "default").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_pod_management_does_not_wait() {
    let c = Cluster::start().await;
    let set = c
        .create("apps/statefulsets", stateful_set("par", 3, json!({"podManagementPolicy": "Parallel"})))
        .await;
    c.wait_pod_names(&set, &["par-0", "par-1", "par-2"]).await;
    let set = c.merge("apps/statefulsets", &set, json!({"spec": {"replicas": 0}})).await;
    c.wait_pod_names(&set, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_updates_go_down_from_the_highest_ordinal_to_the_partition() {
    let c = Cluster::start().await;
    let _kubelet = c.kubelet("default", |_| true);
    let strategy = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}});
    let set =
        c.create("apps/statefulsets", stateful_set("roll", 3, json!({"updateStrategy": strategy}))).await;
    let set =
        c.wait_for("apps/statefulsets", &set, "3 ready", |o| int(o, "/status/readyReplicas") == 3).await;
    let set = c
        .merge(
            "apps/statefulsets",
            &set,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "v2.wasm"}]}}}}),
        )
        .await;
    let image = |p: &Value| p["spec"]["containers"][0]["image"].as_str().unwrap_or("").to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let pods = c.active_pods_of(&set).await;
        let of = |n: &str| pods.iter().find(|p| p["metadata"]["name"] == n).map(image);
        assert!(
            !(of("roll-1").as_deref() == Some("v2.wasm") && of("roll-2").as_deref() == Some("v1.wasm")),
            "roll-1 before roll-2"
        );
        assert_ne!(of("roll-0").as_deref(), Some("v2.wasm"), "below the partition");
        let cur = c.get("apps/statefulsets", "default", "roll").await.unwrap();
        if int(&cur, "/status/updatedReplicas") == 2 && pods.len() == 3 && pods.iter().all(is_ready) {
            assert_ne!(cur["status"]["currentRevision"], cur["status"]["updateRevision"]);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "partitioned update did not finish: {}",
            cur["status"]
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let set = c
        .merge(
            "apps/statefulsets",
            &set,
            json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}}),
        )
        .await;
    let set = c
        .wait_for("apps/statefulsets", &set, "the full update", |o| {
            int(o, "/status/updatedReplicas") == 3
                && o["status"]["currentRevision"] == o["status"]["updateRevision"]
        })
        .await;
    assert_eq!(int(&set, "/status/currentReplicas"), 3);
    assert!(c.active_pods_of(&set).await.iter().all(|p| image(p) == "v2.wasm"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_delete_waits_for_pods_to_be_deleted() {
    let c = Cluster::start().await;
    let _kubelet = c.kubelet("default", |_| true);
    let set = c
        .create(
            "apps/statefulsets",
            stateful_set("manual", 2, json!({"updateStrategy": {"type": "OnDelete"}})),
        )
        .await;
    let set =
        c.wait_for("apps/statefulsets", &set, "2 ready", |o| int(o, "/status/readyReplicas") == 2).await;
    let set = c
        .merge(
            "apps/statefulsets",
            &set,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "v2.wasm"}]}}}}),
        )
        .await;
    c.wait_for("apps/statefulsets", &set, "a new update revision", |o| {
        o["status"]["updateRevision"] != o["status"]["currentRevision"]
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(c.active_pods_of(&set).await.iter().all(|p| p["spec"]["containers"][0]["image"] == "v1.wasm"));
    let old = c.pod("manual-1").await;
    c.delete("pods", &old, None).await;
    let new = c
        .eventually("manual-1 recreated", || async {
            c.get("pods", "default", "manual-1")
                .await
                .filter(|p| p["metadata"]["uid"] != old["metadata"]["uid"] && is_active(p))
        })
        .await;
    assert_eq!(new["spec"]["containers"][0]["image"], "v2.wasm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_deleted_delete_removes_claims_volumes_and_directories_with_the_set() {
    let c = Cluster::start().await;
    let policy = json!({"whenDeleted": "Delete", "whenScaled": "Retain"});
    let set = c
        .create(
            "apps/statefulsets",
            stateful_set(
                "tmp",
                2,
                json!({"persistentVolumeClaimRetentionPolicy": policy, "podManagementPolicy": "Parallel"}),
            ),
        )
        .await;
    c.wait_pod_names(&set, &["tmp-0", "tmp-1"]).await;
    let volumes = c
        .eventually("two bound volumes", || async {
            let v = c.list("persistentvolumes", "").await;
            (v.len() == 2 && v.iter().all(|v| v["status"]["phase"] == "Bound")).then_some(v)
        })
        .await;
    let claim = c.get("persistentvolumeclaims", "default", "www-tmp-0").await.unwrap();
    assert_eq!(claim["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
    c.delete("apps/statefulsets", &set, None).await;
    c.eventually("claims and volumes gone", || async {
        let gone = c.list("persistentvolumeclaims", "default").await.is_empty()
            && c.list("persistentvolumes", "").await.is_empty();
        gone.then_some(())
    })
    .await;
    for v in volumes {
        let dir = c.dir.path().join("volumes").join(v["metadata"]["name"].as_str().unwrap());
        assert!(!dir.exists(), "{} removed", dir.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provisioner_binds_only_local_path_claims() {
    let c = Cluster::start().await;
    let claim = |name: &str, class: Option<&str>| {
        let mut claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Mi"}}}});
        if let Some(class) = class {
            claim["spec"]["storageClassName"] = json!(class);
        }
        claim
    };
    let plain = c.create("persistentvolumeclaims", claim("plain", None)).await;
    let local = c.create("persistentvolumeclaims", claim("local", Some("local-path"))).await;
    let other = c.create("persistentvolumeclaims", claim("other", Some("fast-ssd"))).await;
    for cl in [&plain, &local] {
        c.wait_for("persistentvolumeclaims", cl, "bound", |o| o["status"]["phase"] == "Bound").await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let other = c.get("persistentvolumeclaims", "default", "other").await.unwrap_or(other);
    assert!(other["spec"]["volumeName"].is_null(), "another class is not ours");
    let local = c.get("persistentvolumeclaims", "default", "local").await.unwrap();
    assert_eq!(local["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"], "yes");
    assert_eq!(local["status"]["accessModes"], json!(["ReadWriteOnce"]));
    let pv_name = local["spec"]["volumeName"].as_str().unwrap().to_string();
    assert_eq!(c.get("persistentvolumes", "", &pv_name).await.unwrap()["spec"]["capacity"]["storage"], "5Mi");
    c.delete("persistentvolumeclaims", &local, None).await;
    c.eventually("the volume released and deleted", || async {
        c.get("persistentvolumes", "", &pv_name).await.is_none().then_some(())
    })
    .await;
    assert!(!c.dir.path().join("volumes").join(&pv_name).exists());
}

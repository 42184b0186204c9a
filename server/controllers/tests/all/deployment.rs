//! Deployment: ReplicaSets per template, rolling and recreate rollouts, history, pause, scaling.

use crate::harness::{Cluster, container, controller_uid, int, is_active, is_ready};
use serde_json::{Value, json};
use std::time::Duration;
use wasmkube_apiserver::service::PatchType;

fn deployment(name: &str, replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [container("main", image)]}},
        },
    })
}

fn ann<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj["metadata"]["annotations"][key].as_str().unwrap_or("")
}

fn image_of(obj: &Value) -> &str {
    obj.pointer("/spec/template/spec/containers/0/image")
        .or_else(|| obj.pointer("/spec/containers/0/image"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

impl Cluster {
    async fn sets_of(&self, d: &Value) -> Vec<Value> {
        let mut sets: Vec<Value> = self
            .list("apps/replicasets", "default")
            .await
            .into_iter()
            .filter(|rs| controller_uid(rs) == d["metadata"]["uid"].as_str())
            .collect();
        sets.sort_by_key(|rs| ann(rs, "deployment.kubernetes.io/revision").parse::<i64>().unwrap_or(0));
        sets
    }

    async fn wait_rolled_out(&self, d: &Value) -> Value {
        // What `kubectl rollout status` checks.
        self.wait_for("apps/deployments", d, "the rollout to finish", |o| {
            let want = int(o, "/spec/replicas");
            int(o, "/metadata/generation") <= int(o, "/status/observedGeneration")
                && int(o, "/status/updatedReplicas") == want
                && int(o, "/status/replicas") == want
                && int(o, "/status/availableReplicas") == want
        })
        .await
    }
}

fn condition<'a>(d: &'a Value, kind: &str) -> Option<&'a Value> {
    d["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_deployment_gets_a_hashed_replica_set_and_reports_complete() {
    let c = Cluster::start().await;
    let _kubelet = c.kubelet("default", |_| true);
    let d = c.create("apps/deployments", deployment("web", 3, "v1.wasm")).await;
    let d = c.wait_rolled_out(&d).await;
    let sets = c.sets_of(&d).await;
    assert_eq!(sets.len(), 1);
    let rs = &sets[0];
    let hash = rs["metadata"]["labels"]["pod-template-hash"].as_str().unwrap();
    assert_eq!(rs["metadata"]["name"], format!("web-{hash}"));
    assert_eq!(rs["spec"]["selector"]["matchLabels"]["pod-template-hash"], hash);
    assert_eq!(rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"], hash);
    assert_eq!(ann(rs, "deployment.kubernetes.io/revision"), "1");
    assert_eq!(ann(rs, "deployment.kubernetes.io/desired-replicas"), "3");
    assert_eq!(ann(rs, "deployment.kubernetes.io/max-replicas"), "4");
    assert_eq!(rs["metadata"]["ownerReferences"][0]["kind"], "Deployment");
    for p in c.active_pods_of(rs).await {
        assert_eq!(p["metadata"]["labels"]["pod-template-hash"], hash);
    }
    assert_eq!(ann(&d, "deployment.kubernetes.io/revision"), "1");
    let d = c
        .wait_for("apps/deployments", &d, "complete conditions", |o| {
            condition(o, "Progressing").is_some_and(|p| p["reason"] == "NewReplicaSetAvailable")
        })
        .await;
    let available = condition(&d, "Available").unwrap();
    assert_eq!(
        (available["status"].as_str(), available["reason"].as_str()),
        (Some("True"), Some("MinimumReplicasAvailable"))
    );
    let progressing = condition(&d, "Progressing").unwrap();
    assert_eq!(progressing["message"], format!("ReplicaSet \"web-{hash}\" has successfully progressed."));
    assert_eq!(int(&d, "/status/readyReplicas"), 3);
    assert!(d["status"].get("unavailableReplicas").is_none());
    let msg = c.wait_event(&d, "ScalingReplicaSet").await;
    assert_eq!(msg, format!("Scaled up replica set web-{hash} from 0 to 3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_update_stays_within_surge_and_unavailability() {
    let c = Cluster::start().await;
    let _kubelet = c.kubelet("default", |_| true);
    let mut spec = deployment("roll", 4, "v1.wasm");
    spec["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}});
    let d = c.create("apps/deployments", spec).await;
    let d = c.wait_rolled_out(&d).await;
    let d = c
        .patch(
            "apps/deployments",
            &d,
            PatchType::Strategic,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "v2.wasm"}]}}}}),
        )
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let sets = c.sets_of(&d).await;
        let desired: i64 = sets.iter().map(|rs| int(rs, "/spec/replicas")).sum();
        assert!(desired <= 5, "replica sets sized beyond replicas + maxSurge: {desired}");
        let pods = c.list("pods", "default").await;
        let ready = pods.iter().filter(|p| is_active(p) && is_ready(p)).count();
        assert!(ready >= 3, "fewer than replicas - maxUnavailable ready pods: {ready}");
        let cur = c.get("apps/deployments", "default", "roll").await.unwrap();
        let done = int(&cur, "/status/observedGeneration") >= 2
            && int(&cur, "/status/updatedReplicas") == 4
            && int(&cur, "/status/replicas") == 4
            && int(&cur, "/status/availableReplicas") == 4;
        if done {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "rollout did not finish: {}", cur["status"]);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let sets = c.sets_of(&d).await;
    assert_eq!(sets.len(), 2);
    assert_eq!((int(&sets[0], "/spec/replicas"), int(&sets[1], "/spec/replicas")), (0, 4));
    assert_eq!(image_of(&sets[1]), "v2.wasm");
    assert_eq!(ann(&sets[1], "deployment.kubernetes.io/revision"), "2");
    let pods = c.active_pods_of(&sets[1]).await;
    assert!(pods.iter().all(|p| image_of(p) == "v2.wasm"));
    let d = c.get("apps/deployments", "default", "roll").await.unwrap();
    assert_eq!(ann(&d, "deployment.kubernetes.io/revision"), "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_as_kubectl_does_it_brings_back_the_old_replica_set() {
    let c = Cluster::start().await;
    let _kubelet = c.kubelet("default", |_| true);
    let mut spec = deployment("undo", 2, "v1.wasm");
    spec["metadata"]["annotations"] = json!({"kubernetes.io/change-cause": "first"});
    let d = c.create("apps/deployments", spec).await;
    c.wait_rolled_out(&d).await;
    let d = c
        .merge("apps/deployments", &d, json!({"metadata": {"annotations": {"kubernetes.io/change-cause": "second"}},
                                              "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "v2.wasm"}]}}}}))
        .await;
    let d = c.wait_rolled_out(&d).await;
    let sets = c.sets_of(&d).await;
    assert_eq!(ann(&sets[0], "kubernetes.io/change-cause"), "first");
    assert_eq!(ann(&sets[1], "kubernetes.io/change-cause"), "second");
    // kubectl 1.32's rollback: the template of revision 1 without its hash label, and the
    // revision's annotations, in one JSON patch.
    let mut template = sets[0]["spec"]["template"].clone();
    template["metadata"]["labels"].as_object_mut().unwrap().remove("pod-template-hash");
    let mut annotations = sets[0]["metadata"]["annotations"].as_object().unwrap().clone();
    for k in [
        "deployment.kubernetes.io/revision",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
    ] {
        annotations.remove(k);
    }
    let undo = json!([{"op": "replace", "path": "/spec/template", "value": template},
                      {"op": "replace", "path": "/metadata/annotations", "value": annotations}]);
    let d = c.patch("apps/deployments", &d, PatchType::Json, undo).await;
    let d = c.wait_rolled_out(&d).await;
    let sets = c.sets_of(&d).await;
    assert_eq!(sets.len(), 2, "no third replica set: the first one is new again");
    let back = &sets[1];
    assert_eq!(image_of(back), "v1.wasm");
    assert_eq!(ann(back, "deployment.kubernetes.io/revision"), "3");
    assert_eq!(ann(back, "deployment.kubernetes.io/revision-history"), "1");
    assert_eq!(int(back, "/spec/replicas"), 2);
    assert_eq!(int(&sets[0], "/spec/replicas"), 0);
    let d = c.get("apps/deployments", "default", "undo").await.unwrap();
    assert_eq!(ann(&d, "deployment.kubernetes.io/revision"), "3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_waits_for_every_old_pod_to_stop() {
    let c = Cluster::start().await;
    let _kubelet = c.kubelet("default", |_| true);
    let mut spec = deployment("re", 2, "v1.wasm");
    spec["spec"]["strategy"] = json!({"type": "Recreate"});
    // Bound pods terminate gracefully: deleting them leaves them running until "the kubelet"
    // (this test) finishes them.
    spec["spec"]["template"]["spec"]["nodeName"] = json!("node-1");
    let d = c.create("apps/deployments", spec).await;
    let d = c.wait_rolled_out(&d).await;
    let old_rs = c.sets_of(&d).await.remove(0);
    let old_pods = c.active_pods_of(&old_rs).await;
    let d = c.merge("apps/deployments", &d, json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}})).await;
    c.eventually("old pods terminating", || async {
        let pods = c.pods_of(&old_rs).await;
        pods.iter().all(|p| !p["metadata"]["deletionTimestamp"].is_null()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(c.sets_of(&d).await.len(), 1, "no new replica set while old pods run");
    for p in &old_pods {
        c.finish(p, 0).await;
    }
    c.eventually("the new replica set", || async { (c.sets_of(&d).await.len() == 2).then_some(()) }).await;
    c.wait_rolled_out(&d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_holds_template_changes_until_resumed() {
    let c = Cluster::start().await;
    let _kubelet = c.kubelet("default", |_| true);
    let d = c.create("apps/deployments", deployment("pause", 2, "v1.wasm")).await;
    let d = c.wait_rolled_out(&d).await;
    let d = c.merge("apps/deployments", &d, json!({"spec": {"paused": true}})).await;
    let d = c
        .wait_for("apps/deployments", &d, "the paused condition", |o| {
            condition(o, "Progressing")
                .is_some_and(|p| p["reason"] == "DeploymentPaused" && p["status"] == "Unknown")
        })
        .await;
    let d = c.merge("apps/deployments", &d, json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "main", "image": "v2.wasm"}]}}}})).await;
    // Scaling still happens while paused; the new template does not.
    c.wait_for("apps/deployments", &d, "scaled while paused", |o| int(o, "/status/availableReplicas") == 3)
        .await;
    assert_eq!(c.sets_of(&d).await.len(), 1);
    let d = c.merge("apps/deployments", &d, json!({"spec": {"paused": false}})).await;
    c.wait_for("apps/deployments", &d, "the resumed rollout", |o| {
        condition(o, "Progressing").is_some_and(|p| p["reason"] != "DeploymentPaused")
    })
    .await;
    let d = c.wait_rolled_out(&d).await;
    let sets = c.sets_of(&d).await;
    assert_eq!(sets.len(), 2);
    assert_eq!(image_of(&sets[1]), "v2.wasm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_mid_rollout_is_proportional() {
    let c = Cluster::start().await;
    // Only v1 pods ever become ready: the rollout to v2 gets stuck halfway.
    let _kubelet = c.kubelet("default", |p| image_of(p) == "v1.wasm");
    let mut spec = deployment("prop", 10, "v1.wasm");
    spec["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}});
    let d = c.create("apps/deployments", spec).await;
    let d = c.wait_rolled_out(&d).await;
    let d = c
        .merge(
            "apps/deployments",
            &d,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "v2.wasm"}]}}}}),
        )
        .await;
    let sizes = |sets: &[Value]| sets.iter().map(|rs| int(rs, "/spec/replicas")).collect::<Vec<_>>();
    c.eventually("the stuck rollout (8 old, 5 new)", || async {
        let sets = c.sets_of(&d).await;
        (sizes(&sets) == [8, 5]).then_some(())
    })
    .await;
    let d = c.merge("apps/deployments", &d, json!({"spec": {"replicas": 20}})).await;
    // 10 more (to 20 + 3 surge), split by the sizes the sets were scaled for: 8*23/13 -> 14,
    // the rest to the new set.
    c.eventually("the proportional split (14 old, 9 new)", || async {
        let sets = c.sets_of(&d).await;
        (sizes(&sets) == [14, 9]).then_some(())
    })
    .await;
    let sets = c.sets_of(&d).await;
    for rs in &sets {
        assert_eq!(ann(rs, "deployment.kubernetes.io/desired-replicas"), "20");
        assert_eq!(ann(rs, "deployment.kubernetes.io/max-replicas"), "23");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_replica_sets_beyond_the_history_limit_are_deleted() {
    let c = Cluster::start().await;
    let _kubelet = c.kubelet("default", |_| true);
    let mut spec = deployment("hist", 1, "v1.wasm");
    spec["spec"]["revisionHistoryLimit"] = json!(1);
    let mut d = c.create("apps/deployments", spec).await;
    for v in ["v2.wasm", "v3.wasm", "v4.wasm"] {
        d = c.wait_rolled_out(&d).await;
        d = c
            .merge(
                "apps/deployments",
                &d,
                json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": v}]}}}}),
            )
            .await;
    }
    let d = c.wait_rolled_out(&d).await;
    let sets = c
        .eventually("two replica sets", || async {
            let sets = c.sets_of(&d).await;
            (sets.len() == 2).then_some(sets)
        })
        .await;
    assert_eq!(image_of(&sets[0]), "v3.wasm");
    assert_eq!(image_of(&sets[1]), "v4.wasm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_rollout_exceeds_its_progress_deadline_on_the_controller_clock() {
    let c = Cluster::start_with_manual_clock().await;
    let mut spec = deployment("stuck", 1, "v1.wasm");
    spec["spec"]["progressDeadlineSeconds"] = json!(30);
    let d = c.create("apps/deployments", spec).await;
    let d = c
        .wait_for("apps/deployments", &d, "progress (one updated pod)", |o| {
            int(o, "/status/updatedReplicas") == 1
                && condition(o, "Progressing").is_some_and(|p| p["reason"] == "ReplicaSetUpdated")
        })
        .await;
    assert_eq!(condition(&d, "Available").unwrap()["status"], "False");
    c.clock.as_ref().unwrap().advance(chrono::Duration::seconds(31));
    let d = c
        .wait_for("apps/deployments", &d, "the deadline", |o| {
            condition(o, "Progressing").is_some_and(|p| p["reason"] == "ProgressDeadlineExceeded")
        })
        .await;
    let p = condition(&d, "Progressing").unwrap();
    assert_eq!(p["status"], "False");
    assert!(p["message"].as_str().unwrap().ends_with("has timed out progressing."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_deployment_removes_its_replica_sets_and_pods() {
    let c = Cluster::start().await;
    let d = c.create("apps/deployments", deployment("bye", 2, "v1.wasm")).await;
    c.eventually("pods", || async { (c.list("pods", "default").await.len() == 2).then_some(()) }).await;
    c.delete("apps/deployments", &d, None).await;
    c.eventually("everything gone", || async {
        let empty = c.list("pods", "default").await.is_empty()
            && c.list("apps/replicasets", "default").await.is_empty();
        empty.then_some(())
    })
    .await;
}

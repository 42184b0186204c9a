//! Job: completions, parallelism, failure handling, deadlines, TTL, Indexed mode, suspension.

use crate::harness::{Cluster, container, int};
use serde_json::{Value, json};

fn job(name: &str, spec: Value) -> Value {
    let mut j = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container("main", "hello.wasm")]}}},
    });
    for (k, v) in spec.as_object().unwrap() {
        j["spec"][k] = v.clone();
    }
    j
}

fn condition_types(j: &Value) -> Vec<String> {
    j["status"]["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter(|c| c["status"] == "True")
                .map(|c| c["type"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn has_condition(j: &Value, kind: &str) -> bool {
    condition_types(j).iter().any(|t| t == kind)
}

fn reason_of<'a>(j: &'a Value, kind: &str) -> &'a str {
    j["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .and_then(|c| c["reason"].as_str())
        .unwrap_or("")
}

impl Cluster {
    async fn wait_job(&self, j: &Value, kind: &str) -> Value {
        self.wait_for("batch/jobs", j, &format!("condition {kind}"), |o| has_condition(o, kind)).await
    }

    /// Skip the Job controller's failure back-off (10 s doubling).
    fn skip_backoff(&self) {
        self.clock.as_ref().unwrap().advance(chrono::Duration::seconds(400));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_run_within_parallelism_and_complete() {
    let c = Cluster::start().await;
    let j = c.create("batch/jobs", job("work", json!({"completions": 3, "parallelism": 2}))).await;
    let pods = c.wait_active_pods(&j, 2).await;
    let p = &pods[0];
    let uid = j["metadata"]["uid"].as_str().unwrap();
    assert!(p["metadata"]["generateName"] == "work-");
    for (k, v) in [
        ("job-name", "work"),
        ("batch.kubernetes.io/job-name", "work"),
        ("controller-uid", uid),
        ("batch.kubernetes.io/controller-uid", uid),
    ] {
        assert_eq!(p["metadata"]["labels"][k], v, "label {k}");
    }
    assert_eq!(p["metadata"]["finalizers"], json!(["batch.kubernetes.io/job-tracking"]));
    assert_eq!(p["spec"]["restartPolicy"], "Never");
    assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "Job");
    let j = c
        .wait_for("batch/jobs", &j, "active 2 and a start time", |o| {
            int(o, "/status/active") == 2 && !o["status"]["startTime"].is_null()
        })
        .await;
    assert_eq!(int(&j, "/status/ready"), 0);
    for p in &pods {
        c.finish(p, 0).await;
    }
    let pods = c.wait_active_pods(&j, 1).await;
    c.finish(&pods[0], 0).await;
    let j = c.wait_job(&j, "Complete").await;
    assert_eq!(condition_types(&j), ["SuccessCriteriaMet", "Complete"]);
    assert_eq!(reason_of(&j, "Complete"), "CompletionsReached");
    assert_eq!(int(&j, "/status/succeeded"), 3);
    assert_eq!(int(&j, "/status/active"), 0);
    assert!(!j["status"]["completionTime"].is_null());
    assert_eq!(j["status"]["uncountedTerminatedPods"], json!({}));
    for p in c.pods_of(&j).await {
        assert!(p["metadata"]["finalizers"].is_null(), "finalizer left on {}", p["metadata"]["name"]);
    }
    c.wait_event(&j, "Completed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_pods_beyond_the_backoff_limit_fail_the_job() {
    let c = Cluster::start_with_manual_clock().await;
    let j = c.create("batch/jobs", job("flaky", json!({"backoffLimit": 1}))).await;
    for _ in 0..2 {
        let pods = c.wait_active_pods(&j, 1).await;
        c.finish(&pods[0], 3).await;
        c.wait_for("batch/jobs", &j, "the failure counted", |o| o["status"]["failed"].as_i64().is_some())
            .await;
        c.skip_backoff();
    }
    let j = c.wait_job(&j, "Failed").await;
    assert_eq!(condition_types(&j), ["FailureTarget", "Failed"]);
    assert_eq!(reason_of(&j, "Failed"), "BackoffLimitExceeded");
    assert_eq!(int(&j, "/status/failed"), 2);
    assert!(j["status"]["completionTime"].is_null());
    assert_eq!(c.active_pods_of(&j).await.len(), 0);
    let msg = c.wait_event(&j, "BackoffLimitExceeded").await;
    assert_eq!(msg, "Job has reached the specified backoff limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacements_wait_out_the_failure_backoff() {
    let c = Cluster::start_with_manual_clock().await;
    let j = c.create("batch/jobs", job("patient", json!({"backoffLimit": 5}))).await;
    let pods = c.wait_active_pods(&j, 1).await;
    c.finish(&pods[0], 1).await;
    c.wait_for("batch/jobs", &j, "failed 1", |o| int(o, "/status/failed") == 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(c.active_pods_of(&j).await.len(), 0, "no replacement within the back-off");
    c.clock.as_ref().unwrap().advance(chrono::Duration::seconds(11));
    c.wait_active_pods(&j, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_active_deadline_fails_the_job_and_stops_its_pods() {
    let c = Cluster::start_with_manual_clock().await;
    let j = c.create("batch/jobs", job("slow", json!({"activeDeadlineSeconds": 30}))).await;
    c.wait_active_pods(&j, 1).await;
    c.clock.as_ref().unwrap().advance(chrono::Duration::seconds(31));
    let j = c.wait_job(&j, "Failed").await;
    assert_eq!(reason_of(&j, "Failed"), "DeadlineExceeded");
    assert_eq!(c.active_pods_of(&j).await.len(), 0);
    assert_eq!(int(&j, "/status/failed"), 1, "the killed pod counts as failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_jobs_are_deleted_after_their_ttl() {
    let c = Cluster::start_with_manual_clock().await;
    let j = c.create("batch/jobs", job("brief", json!({"ttlSecondsAfterFinished": 60}))).await;
    let pods = c.wait_active_pods(&j, 1).await;
    c.finish(&pods[0], 0).await;
    c.wait_job(&j, "Complete").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(c.get("batch/jobs", "default", "brief").await.is_some(), "kept until the TTL passes");
    c.clock.as_ref().unwrap().advance(chrono::Duration::seconds(61));
    c.eventually("the job and its pods deleted", || async {
        let gone = c.get("batch/jobs", "default", "brief").await.is_none() && c.pods_of(&j).await.is_empty();
        gone.then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_jobs_run_each_index_once() {
    let c = Cluster::start_with_manual_clock().await;
    let j = c
        .create(
            "batch/jobs",
            job("idx", json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed"})),
        )
        .await;
    let pods = c.wait_active_pods(&j, 3).await;
    let index = |p: &Value| {
        p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"].as_str().unwrap().to_string()
    };
    let mut seen: Vec<String> = pods.iter().map(index).collect();
    seen.sort();
    assert_eq!(seen, ["0", "1", "2"]);
    for p in &pods {
        let i = index(p);
        assert_eq!(p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"], i.as_str());
        assert_eq!(p["spec"]["hostname"], format!("idx-{i}"));
        assert_eq!(p["metadata"]["generateName"], format!("idx-{i}-"));
        assert_eq!(p["spec"]["containers"][0]["env"][0]["name"], "JOB_COMPLETION_INDEX");
    }
    let by_index = |i: &str| pods.iter().find(|p| index(p) == i).unwrap().clone();
    c.finish(&by_index("1"), 0).await;
    c.wait_for("batch/jobs", &j, "index 1 completed", |o| o["status"]["completedIndexes"] == "1").await;
    c.finish(&by_index("0"), 1).await;
    c.skip_backoff();
    let again = c
        .eventually("index 0 again", || async {
            c.active_pods_of(&j)
                .await
                .into_iter()
                .find(|p| index(p) == "0" && p["metadata"]["name"] != by_index("0")["metadata"]["name"])
        })
        .await;
    c.finish(&again, 0).await;
    c.finish(&by_index("2"), 0).await;
    let j = c.wait_job(&j, "Complete").await;
    assert_eq!(j["status"]["completedIndexes"], "0-2");
    assert_eq!(int(&j, "/status/succeeded"), 3);
    assert_eq!(int(&j, "/status/failed"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_failure_policy_fails_ignores_or_counts_by_exit_code() {
    let c = Cluster::start().await;
    let policy = json!({"rules": [
        {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [7]}},
        {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}},
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
    ]});
    let j =
        c.create("batch/jobs", job("policy", json!({"backoffLimit": 0, "podFailurePolicy": policy}))).await;
    let pods = c.wait_active_pods(&j, 1).await;
    // Ignored: not counted, replaced without back-off accounting.
    c.finish(&pods[0], 7).await;
    let pods = c
        .eventually("a replacement", || async {
            let now = c.active_pods_of(&j).await;
            (now.len() == 1 && now[0]["metadata"]["name"] != pods[0]["metadata"]["name"]).then_some(now)
        })
        .await;
    let cur = c.get("batch/jobs", "default", "policy").await.unwrap();
    assert_eq!(int(&cur, "/status/failed"), 0);
    assert!(!has_condition(&cur, "Failed"));
    c.finish(&pods[0], 42).await;
    let j = c.wait_job(&j, "Failed").await;
    assert_eq!(reason_of(&j, "Failed"), "PodFailurePolicy");
    let msg = j["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Failed").unwrap()["message"].clone();
    let want = format!(
        "Container main for pod default/{} failed with exit code 42 matching FailJob rule at index 1",
        pods[0]["metadata"]["name"].as_str().unwrap()
    );
    assert_eq!(msg, want.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_jobs_run_nothing_until_resumed() {
    let c = Cluster::start().await;
    let j = c
        .create("batch/jobs", job("later", json!({"suspend": true, "parallelism": 2, "completions": 2})))
        .await;
    let j = c.wait_job(&j, "Suspended").await;
    assert_eq!(reason_of(&j, "Suspended"), "JobSuspended");
    assert!(j["status"]["startTime"].is_null());
    assert!(c.pods_of(&j).await.is_empty());
    let j = c.merge("batch/jobs", &j, json!({"spec": {"suspend": false}})).await;
    c.wait_active_pods(&j, 2).await;
    let j = c.wait_for("batch/jobs", &j, "resumed", |o| reason_of(o, "Suspended") == "JobResumed").await;
    assert!(!has_condition(&j, "Suspended"));
    assert!(!j["status"]["startTime"].is_null());
    c.wait_event(&j, "Resumed").await;
    // Suspending again stops the running pods.
    let j = c.merge("batch/jobs", &j, json!({"spec": {"suspend": true}})).await;
    c.wait_active_pods(&j, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_restarts_count_against_the_backoff_limit_with_on_failure() {
    let c = Cluster::start().await;
    let mut spec = job("restarts", json!({"backoffLimit": 2}));
    spec["spec"]["template"]["spec"]["restartPolicy"] = json!("OnFailure");
    let j = c.create("batch/jobs", spec).await;
    let pods = c.wait_active_pods(&j, 1).await;
    assert_eq!(pods[0]["spec"]["restartPolicy"], "OnFailure");
    let status = json!({"phase": "Running", "containerStatuses": [
        {"name": "main", "image": "hello.wasm", "imageID": "", "ready": false, "restartCount": 2,
         "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]});
    c.patch_status("pods", &pods[0], status).await;
    let j = c.wait_job(&j, "Failed").await;
    assert_eq!(reason_of(&j, "Failed"), "BackoffLimitExceeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_completions_one_success_ends_the_job() {
    let c = Cluster::start().await;
    let j = c.create("batch/jobs", job("queue", json!({"parallelism": 2, "completions": null}))).await;
    let pods = c.wait_active_pods(&j, 2).await;
    c.finish(&pods[0], 0).await;
    c.wait_for("batch/jobs", &j, "one success", |o| int(o, "/status/succeeded") == 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(c.active_pods_of(&j).await.len(), 1, "no new pods after a success");
    c.finish(&pods[1], 0).await;
    let j = c.wait_job(&j, "Complete").await;
    assert_eq!(int(&j, "/status/succeeded"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_running_job_releases_its_pods_finalizers() {
    let c = Cluster::start().await;
    let j = c.create("batch/jobs", job("dropped", json!({"parallelism": 2, "completions": 4}))).await;
    c.wait_active_pods(&j, 2).await;
    c.delete("batch/jobs", &j, None).await;
    c.eventually("the pods gone", || async { c.pods_of(&j).await.is_empty().then_some(()) }).await;
}

//! The real kubectl's rollout commands against the served API and the controllers.

use crate::harness::{Cluster, int};
use std::path::Path;
use std::process::Command;

/// Run kubectl; returns (success, stdout + stderr).
async fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    let kubeconfig = kubeconfig.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(&args)
            .output()
            .expect("kubectl runs");
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    })
    .await
    .unwrap()
}

async fn ok(kubeconfig: &Path, args: &[&str]) -> String {
    let (success, out) = kubectl(kubeconfig, args).await;
    assert!(success, "kubectl {args:?} failed: {out}");
    out
}

const DEPLOYMENT: &str = r#"{"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default"},
  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
           "template": {"metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "main", "image": "v1.wasm"}]}}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollout_status_history_undo_restart_pause_and_scale() {
    if Command::new("kubectl").arg("version").arg("--client").output().is_err() {
        eprintln!("kubectl is not installed; skipping");
        return;
    }
    let (c, kc) = Cluster::start_served().await;
    let _kubelet = c.kubelet("default", |_| true);
    let manifest = c.dir.path().join("web.json");
    std::fs::write(&manifest, DEPLOYMENT).unwrap();
    ok(&kc, &["apply", "-f", manifest.to_str().unwrap()]).await;
    let out = ok(&kc, &["rollout", "status", "deployment/web", "--timeout=20s"]).await;
    assert!(out.contains("successfully rolled out"), "{out}");

    ok(&kc, &["set", "image", "deployment/web", "main=v2.wasm"]).await;
    ok(&kc, &["rollout", "status", "deployment/web", "--timeout=20s"]).await;
    let history = ok(&kc, &["rollout", "history", "deployment/web"]).await;
    assert!(history.contains("REVISION") && history.contains("1 ") && history.contains("2 "), "{history}");
    let rev1 = ok(&kc, &["rollout", "history", "deployment/web", "--revision=1"]).await;
    assert!(rev1.contains("v1.wasm"), "{rev1}");

    ok(&kc, &["rollout", "undo", "deployment/web"]).await;
    ok(&kc, &["rollout", "status", "deployment/web", "--timeout=20s"]).await;
    let image =
        ok(&kc, &["get", "deployment/web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]).await;
    assert_eq!(image, "v1.wasm");
    let revision = ok(
        &kc,
        &[
            "get",
            "deployment/web",
            "-o",
            "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
        ],
    )
    .await;
    assert_eq!(revision, "3");

    ok(&kc, &["rollout", "restart", "deployment/web"]).await;
    ok(&kc, &["rollout", "status", "deployment/web", "--timeout=20s"]).await;
    let history = ok(&kc, &["rollout", "history", "deployment/web"]).await;
    assert!(history.contains("4 "), "{history}");

    ok(&kc, &["rollout", "pause", "deployment/web"]).await;
    ok(&kc, &["set", "image", "deployment/web", "main=v3.wasm"]).await;
    let (_, out) = kubectl(&kc, &["rollout", "undo", "deployment/web"]).await;
    assert!(out.contains("paused"), "undo refuses a paused deployment: {out}");
    ok(&kc, &["rollout", "resume", "deployment/web"]).await;
    ok(&kc, &["rollout", "status", "deployment/web", "--timeout=20s"]).await;

    ok(&kc, &["scale", "deployment/web", "--replicas=4"]).await;
    let out = ok(&kc, &["rollout", "status", "deployment/web", "--timeout=20s"]).await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let d = c.get("apps/deployments", "default", "web").await.unwrap();
    assert_eq!(int(&d, "/status/availableReplicas"), 4);
    let pods = ok(&kc, &["get", "pods", "-l", "app=web", "-o", "name"]).await;
    assert_eq!(pods.lines().count(), 4, "{pods}");
}

const JOBS: &str = "\
apiVersion: batch/v1
kind: Job
metadata: {name: ok, namespace: default}
spec:
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: hello.wasm}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: bad, namespace: default}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: fail.wasm}]
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_waits_for_jobs_to_complete_or_fail() {
    if Command::new("kubectl").arg("version").arg("--client").output().is_err() {
        eprintln!("kubectl is not installed; skipping");
        return;
    }
    let (c, kc) = Cluster::start_served().await;
    let _kubelet =
        c.finisher("default", |p| if p["spec"]["containers"][0]["image"] == "fail.wasm" { 3 } else { 0 });
    let manifest = c.dir.path().join("jobs.yaml");
    std::fs::write(&manifest, JOBS).unwrap();
    ok(&kc, &["apply", "-f", manifest.to_str().unwrap()]).await;
    let out = ok(&kc, &["wait", "--for=condition=complete", "job/ok", "--timeout=20s"]).await;
    assert!(out.contains("condition met"), "{out}");
    let out = ok(&kc, &["wait", "--for=condition=failed", "job/bad", "--timeout=20s"]).await;
    assert!(out.contains("condition met"), "{out}");
    let out = ok(&kc, &["get", "jobs"]).await;
    assert!(out.contains("Complete") && out.contains("Failed"), "{out}");
}

const DAEMONS: &str = "\
apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: main, image: agent-v1.wasm}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: main, image: web-v1.wasm}]
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rolls_daemon_sets_and_stateful_sets() {
    if Command::new("kubectl").arg("version").arg("--client").output().is_err() {
        eprintln!("kubectl is not installed; skipping");
        return;
    }
    let (c, kc) = Cluster::start_served().await;
    let _kubelet = c.kubelet("default", |_| true);
    let manifest = c.dir.path().join("daemons.yaml");
    std::fs::write(&manifest, DAEMONS).unwrap();
    ok(&kc, &["apply", "-f", manifest.to_str().unwrap()]).await;
    let out = ok(&kc, &["rollout", "status", "daemonset/agent", "--timeout=20s"]).await;
    assert!(out.contains("successfully rolled out"), "{out}");
    ok(&kc, &["set", "image", "daemonset/agent", "main=agent-v2.wasm"]).await;
    ok(&kc, &["rollout", "status", "daemonset/agent", "--timeout=20s"]).await;
    let history = ok(&kc, &["rollout", "history", "daemonset/agent"]).await;
    assert!(history.contains("1 ") && history.contains("2 "), "{history}");
    ok(&kc, &["rollout", "undo", "daemonset/agent"]).await;
    ok(&kc, &["rollout", "status", "daemonset/agent", "--timeout=20s"]).await;
    let image =
        ok(&kc, &["get", "daemonset/agent", "-o", "jsonpath={.spec.template.spec.containers[0].image}"])
            .await;
    assert_eq!(image, "agent-v1.wasm");

    let out = ok(&kc, &["rollout", "status", "statefulset/web", "--timeout=20s"]).await;
    assert!(out.contains("2 new pods have been updated") || out.contains("roll out complete"), "{out}");
    ok(&kc, &["set", "image", "statefulset/web", "main=web-v2.wasm"]).await;
    ok(&kc, &["rollout", "status", "statefulset/web", "--timeout=20s"]).await;
    let pods =
        ok(&kc, &["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.containers[0].image}"])
            .await;
    assert_eq!(pods, "web-v2.wasm web-v2.wasm");
    let history = ok(&kc, &["rollout", "history", "statefulset/web"]).await;
    assert!(history.contains("2 "), "{history}");
}

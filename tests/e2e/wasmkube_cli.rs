//! The `wasmkube` client verbs (get, describe, apply, delete, logs, scale, rollout, run) against
//! a real server, checked against what the real kubectl sees and prints.

use crate::support::{BIN, Server, eventually, import};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Run `wasmkube ARGS` with the server's kubeconfig in `$KUBECONFIG` and an empty home, so the
/// lookup order is exercised rather than a flag.
fn wk_in(s: &Server, dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir).env("KUBECONFIG", s.kubeconfig()).env("HOME", s.data());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("running wasmkube");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// `wasmkube ARGS` that must succeed; returns stdout.
#[track_caller]
fn wk(s: &Server, args: &[&str]) -> String {
    wk_stdin(s, args, None)
}

#[track_caller]
fn wk_stdin(s: &Server, args: &[&str], stdin: Option<&str>) -> String {
    let out = wk_in(s, s.data(), args, stdin);
    assert!(
        out.status.success(),
        "wasmkube {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `wasmkube ARGS` that must fail with exactly one line on stderr; returns that line.
#[track_caller]
fn wk_err(s: &Server, args: &[&str]) -> String {
    let out = wk_in(s, s.data(), args, None);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        !out.status.success(),
        "wasmkube {args:?} unexpectedly succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "wasmkube {args:?}: not one line: {stderr:?}");
    stderr.trim_end().to_string()
}

/// The first column of a table, header dropped.
fn names(table: &str) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty() && !l.starts_with("NAME"))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

const MANIFESTS: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: alpha, labels: {app: demo}}
data: {greeting: hello}
---
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "beta", "labels": {"app": "other"}}, "data": {"x": "1"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: http-hello:latest, ports: [{containerPort: 8080}]}]
"#;

#[test]
fn apply_and_get_agree_with_kubectl() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.yaml"), MANIFESTS).unwrap();
    let file = dir.path().join("app.yaml");
    let file = file.to_str().unwrap();
    assert_eq!(
        wk(&s, &["apply", "-f", file]),
        "configmap/alpha created\nconfigmap/beta created\ndeployment.apps/web created\n"
    );
    assert_eq!(
        wk(&s, &["apply", "-f", dir.path().to_str().unwrap()]),
        "configmap/alpha unchanged\nconfigmap/beta unchanged\ndeployment.apps/web unchanged\n"
    );
    let changed = MANIFESTS.replace("greeting: hello", "greeting: bonjour");
    let out = wk_stdin(&s, &["apply", "-f", "-"], Some(&changed));
    assert!(out.starts_with("configmap/alpha configured\nconfigmap/beta unchanged\n"), "{out}");
    assert_eq!(s.k(&["get", "cm", "alpha", "-o", "jsonpath={.data.greeting}"]), "bonjour");

    // The NAME column, several kinds at once, -o name and -l are what kubectl shows.
    for args in [&["get", "cm"][..], &["get", "deploy,cm"], &["get", "cm", "-l", "app=demo"], &["get", "all"]]
    {
        assert_eq!(names(&wk(&s, args)), names(&s.k(args)), "{args:?}");
    }
    assert_eq!(wk(&s, &["get", "deploy,cm", "-o", "name"]), s.k(&["get", "deploy,cm", "-o", "name"]));
    let table = wk(&s, &["get", "deploy", "web"]);
    assert!(table.starts_with("NAME   READY   UP-TO-DATE   AVAILABLE   AGE\nweb    "), "{table}");
    let wide = wk(&s, &["get", "deploy", "-o", "wide", "--show-labels"]);
    assert!(
        wide.lines().next().unwrap().ends_with("CONTAINERS   IMAGES              SELECTOR   LABELS"),
        "{wide}"
    );
    let all_ns = wk(&s, &["get", "cm", "-A"]);
    assert!(all_ns.starts_with("NAMESPACE   NAME"), "{all_ns}");
    let json: serde_json::Value =
        serde_json::from_str(&wk(&s, &["get", "cm", "alpha", "-o", "json"])).unwrap();
    assert_eq!(
        (json["kind"].as_str(), json["data"]["greeting"].as_str()),
        (Some("ConfigMap"), Some("bonjour"))
    );
    let list: serde_json::Value =
        serde_yaml::from_str(&wk(&s, &["get", "cm", "-l", "app", "-o", "yaml"])).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["items"][0]["kind"], "ConfigMap");
    let empty = wk_in(&s, s.data(), &["get", "pods", "-n", "kube-public"], None);
    assert_eq!(String::from_utf8_lossy(&empty.stderr), "No resources found in kube-public namespace.\n");

    // delete by selector, by name, and from the manifests; then nothing is left.
    assert_eq!(wk(&s, &["delete", "cm", "-l", "app=demo"]), "configmap \"alpha\" deleted\n");
    assert_eq!(wk(&s, &["delete", "cm/beta"]), "configmap \"beta\" deleted\n");
    let out = wk(&s, &["delete", "-f", file, "--ignore-not-found"]);
    assert_eq!(out, "deployment.apps \"web\" deleted\n");
    assert!(names(&s.k(&["get", "cm,deploy", "-l", "app"])).is_empty());
}

#[test]
fn pods_describe_logs_and_delete() {
    let s = Server::start();
    import(s.data(), &["hello"]);
    assert!(
        eventually(20, || s.k(&["get", "nodes", "-o", "name"]).starts_with("node/")),
        "no node registered"
    );
    let node = s.k(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: greeter, labels: {{app: greeter}}}}\nspec:\n  nodeName: {node}\n  restartPolicy: Never\n  containers:\n  - {{name: hello, image: 'hello:latest', args: [wasm]}}\n"
    );
    assert_eq!(wk_stdin(&s, &["apply", "-f", "-"], Some(&pod)), "pod/greeter created\n");
    let phase = || s.k(&["get", "pod", "greeter", "-o", "jsonpath={.status.phase}"]);
    assert!(eventually(30, || phase() == "Succeeded"), "greeter is {}", phase());

    assert_eq!(wk(&s, &["logs", "greeter"]), "Hello, wasm!\n");
    // Following a finished container ends with its log.
    assert_eq!(wk(&s, &["logs", "-f", "greeter"]), "Hello, wasm!\n");
    assert_eq!(wk(&s, &["logs", "pod/greeter", "--tail", "1", "-c", "hello"]), "Hello, wasm!\n");
    let stamped = wk(&s, &["logs", "greeter", "--timestamps", "--since", "1h"]);
    assert!(stamped.ends_with("Z Hello, wasm!\n") && stamped.starts_with("20"), "{stamped}");

    let ours = wk(&s, &["describe", "pod", "greeter"]);
    for needle in [
        "Name:             greeter",
        "Status:           Succeeded",
        "Node:             ",
        "    State:          Terminated",
        "      Exit Code:    0",
        "    Restart Count:  0",
        "Conditions:",
        "Events:",
    ] {
        assert!(ours.contains(needle), "describe lacks {needle:?}:\n{ours}");
    }
    // Line for line what kubectl shows, apart from event ages that may tick between the two runs.
    let theirs = s.k(&["describe", "pod", "greeter"]);
    let head = |t: &str| t.split("Events:").next().unwrap().to_string();
    assert_eq!(head(&ours), head(&theirs));

    assert_eq!(wk(&s, &["delete", "pod", "greeter", "--grace-period", "0"]), "pod \"greeter\" deleted\n");
    assert!(s.kubectl(&["get", "pod", "greeter"]).status.code() != Some(0));
}

#[test]
fn run_scale_and_rollout() {
    let s = Server::start();
    assert_eq!(
        wk(
            &s,
            &[
                "run",
                "web",
                "--image=http-hello:latest",
                "--replicas",
                "0",
                "--port",
                "8080",
                "-e",
                "MODE=demo"
            ]
        ),
        "deployment.apps/web created\n"
    );
    let d = s.get_json(&["deploy", "web"]);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        (c["name"].as_str(), c["ports"][0]["containerPort"].as_i64()),
        (Some("http-hello"), Some(8080))
    );
    assert_eq!(d["spec"]["selector"]["matchLabels"]["app"], "web");
    assert_eq!(
        wk(&s, &["run", "once", "--image=hello:latest", "--restart=Never", "--", "a", "b"]),
        "pod/once created\n"
    );
    assert_eq!(s.k(&["get", "pod", "once", "-o", "jsonpath={.spec.containers[0].args}"]), r#"["a","b"]"#);

    assert_eq!(wk(&s, &["scale", "deploy/web", "--replicas", "0"]), "deployment.apps/web scaled\n");
    assert_eq!(
        wk(&s, &["scale", "deployment", "web", "--replicas", "0", "--current-replicas", "0"]),
        "deployment.apps/web scaled\n"
    );
    assert_eq!(
        wk_err(&s, &["scale", "deploy/web", "--replicas", "1", "--current-replicas", "3"]),
        "wasmkube: Expected replicas to be 3, was 0"
    );

    // With 0 replicas a rollout is complete as soon as the spec is observed: the controller
    // does that when it runs, and the test does it through the status subresource otherwise.
    let generation = d["metadata"]["generation"].as_i64().unwrap();
    let status = format!(r#"{{"status":{{"observedGeneration":{generation},"replicas":0}}}}"#);
    s.k(&["patch", "deploy", "web", "--subresource=status", "--type=merge", "-p", &status]);
    let out = wk(&s, &["rollout", "status", "deploy/web", "--timeout", "30s"]);
    assert_eq!(out.lines().last(), Some("deployment \"web\" successfully rolled out"), "{out}");

    // A rollout that cannot finish times out with kubectl's message.
    wk(&s, &["run", "stuck", "--image=missing:latest"]);
    assert_eq!(
        wk_err(&s, &["rollout", "status", "deploy/stuck", "--timeout", "1s"]),
        "wasmkube: timed out waiting for the condition"
    );

    assert_eq!(wk(&s, &["rollout", "restart", "deploy/web"]), "deployment.apps/web restarted\n");
    let stamp = s.k(&[
        "get",
        "deploy",
        "web",
        "-o",
        r"jsonpath={.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}",
    ]);
    assert!(stamp.starts_with("20") && stamp.ends_with('Z'), "{stamp:?}");
    undo_to_an_earlier_revision(&s);
}

/// kubectl's client-side undo: the restart made revision 2; undo copies revision 1's
/// ReplicaSet template (without its pod-template-hash label) back into the Deployment.
fn undo_to_an_earlier_revision(s: &Server) {
    let history = || wk(s, &["rollout", "history", "deploy/web"]);
    assert!(eventually(30, || history().contains("\n2         <none>\n")), "no revision 2: {}", history());
    assert!(
        history().starts_with("deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n"),
        "{}",
        history()
    );
    assert_eq!(wk(s, &["rollout", "undo", "deploy/web"]), "deployment.apps/web rolled back\n");
    let template = s.get_json(&["deploy", "web"])["spec"]["template"].clone();
    assert_eq!(
        template["metadata"]["annotations"].get("kubectl.kubernetes.io/restartedAt"),
        None,
        "{template}"
    );
    assert_eq!(template["metadata"]["labels"].get("pod-template-hash"), None);
    assert_eq!(
        wk_err(s, &["rollout", "undo", "deploy/web", "--to-revision", "9"]),
        "wasmkube: unable to find specified revision 9 in history"
    );
}

/// With the controllers, scheduler and node agent running: a live rollout followed to the end,
/// a watch that sees the new pods, and a cascading delete that --wait sees through.
#[test]
fn live_deployment_rollout_watch_and_delete() {
    let s = Server::start();
    import(s.data(), &["http-hello"]);
    assert_eq!(
        wk(&s, &["run", "web", "--image=http-hello:latest", "--replicas", "2", "--port", "8080"]),
        "deployment.apps/web created\n"
    );
    let out = wk(&s, &["rollout", "status", "deploy/web", "--timeout", "60s"]);
    assert_eq!(out.lines().last(), Some("deployment \"web\" successfully rolled out"), "{out}");
    assert_eq!(s.k(&["get", "deploy", "web", "-o", "jsonpath={.status.availableReplicas}"]), "2");
    let pods = wk(&s, &["get", "pods", "-l", "app=web", "-o", "name"]);
    assert_eq!(pods.lines().count(), 2, "{pods}");
    let out = wk_in(&s, s.data(), &["logs", "deploy/web"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Found 2 pods, using pod/web-"));

    // A watch started now sees the pods of the scale-up arrive.
    let mut watch = Command::new(BIN)
        .args(["get", "pods", "-w", "-l", "app=web", "--kubeconfig", s.kubeconfig().to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(wk(&s, &["scale", "deploy/web", "--replicas", "3"]), "deployment.apps/web scaled\n");
    let out = wk(&s, &["rollout", "status", "deploy/web", "--timeout", "60s"]);
    assert!(out.ends_with("deployment \"web\" successfully rolled out\n"), "{out}");
    std::thread::sleep(std::time::Duration::from_millis(500));
    watch.kill().unwrap();
    let seen = String::from_utf8(watch.wait_with_output().unwrap().stdout).unwrap();
    assert!(seen.starts_with("NAME "), "{seen}");
    let names: std::collections::BTreeSet<&str> =
        seen.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(names.len(), 3, "{seen}");
    assert!(seen.contains("Running"), "{seen}");

    // A changed template rolls out; undo rolls it back.
    s.k(&["set", "env", "deploy/web", "MODE=two"]);
    let out = wk(&s, &["rollout", "status", "deploy/web", "--timeout", "60s"]);
    assert!(out.ends_with("deployment \"web\" successfully rolled out\n"), "{out}");
    assert_eq!(wk(&s, &["rollout", "undo", "deploy/web"]), "deployment.apps/web rolled back\n");
    wk(&s, &["rollout", "status", "deploy/web", "--timeout", "60s"]);
    assert_eq!(s.k(&["get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].env}"]), "");

    // Foreground deletion: the Deployment is gone only after its ReplicaSets and pods.
    let out = wk(&s, &["delete", "deploy", "web", "--cascade=foreground", "--timeout", "60s"]);
    assert_eq!(out, "deployment.apps \"web\" deleted\n");
    assert!(s.kubectl(&["get", "deploy", "web"]).status.code() != Some(0));
    assert!(eventually(30, || s.k(&["get", "rs,pods", "-l", "app=web", "-o", "name"]).is_empty()));
}

#[test]
fn kubeconfig_lookup_and_one_line_errors() {
    let s = Server::start();
    assert_eq!(
        wk_err(&s, &["get", "widgets"]),
        "wasmkube: the server doesn't have a resource type \"widgets\""
    );
    assert_eq!(wk_err(&s, &["get", "cm", "nope"]), "wasmkube: configmaps \"nope\" not found");
    assert_eq!(wk_err(&s, &["delete", "deploy", "nope"]), "wasmkube: deployments.apps \"nope\" not found");
    assert_eq!(
        wk_err(&s, &["scale", "cm/x", "--replicas", "1"]),
        "wasmkube: configmaps cannot be scaled: they have no scale subresource"
    );
    let bad = r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}"#;
    let out = wk_in(&s, s.data(), &["apply", "-f", "-"], Some(bad));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.lines().count() == 1 && err.contains("Bad_Name"), "{err}");
    let refused = wk_err(&s, &["get", "pods", "-s", "http://127.0.0.1:1"]);
    assert_eq!(refused, "wasmkube: cannot reach the API at http://127.0.0.1:1: connection refused");
    let tls = wk_err(&s, &["get", "pods", "-s", "https://127.0.0.1:6443"]);
    assert!(tls.contains("https") && tls.contains("plain http only"), "{tls}");

    // Without $KUBECONFIG or ~/.kube/config, ./wasmkube-data/kubeconfig (what `wasmkube server` writes there).
    let cwd = tempfile::tempdir().unwrap();
    std::fs::create_dir(cwd.path().join("wasmkube-data")).unwrap();
    std::fs::copy(s.kubeconfig(), cwd.path().join("wasmkube-data/kubeconfig")).unwrap();
    let out = Command::new(BIN)
        .args(["get", "ns", "-o", "name"])
        .current_dir(cwd.path())
        .env_remove("KUBECONFIG")
        .env("HOME", cwd.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().next(),
        Some("namespace/default"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // --kubeconfig wins over $KUBECONFIG; -n over the context's namespace.
    let out = wk(
        &s,
        &["get", "cm", "--kubeconfig", s.kubeconfig().to_str().unwrap(), "-n", "kube-system", "-o", "name"],
    );
    assert_eq!(out, s.k(&["get", "cm", "-n", "kube-system", "-o", "name"]));
}

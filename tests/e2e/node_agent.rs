//! The node agent inside `wasmkube server`, driven by the real kubectl with the real guests:
//! pods bound to the node run, report status, probes, restarts, logs and events, and come back
//! after the server restarts.

use crate::support::{READY_WEB, Server, eventually, import};
use std::io::Read;
use std::process::{Command, Stdio};

fn cluster() -> (Server, String) {
    let server = Server::start();
    import(server.data(), &["hello", "http-hello", "log-shipper"]);
    assert!(
        eventually(20, || server.k(&["get", "nodes", "-o", "name"]).starts_with("node/")),
        "no node registered"
    );
    let node = server.k(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);
    (server, node)
}

/// GET over a fresh connection; `None` while nothing answers.
fn get(addr: &str, path: &str) -> Option<String> {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    Some(text)
}

fn jsonpath(s: &Server, what: &str, path: &str) -> String {
    let out = s.kubectl(&["get", what, "-o", &format!("jsonpath={path}")]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn node_registers_with_capacity_conditions_and_lease() {
    let (s, node) = cluster();
    let n = s.get_json(&["node", &node]);
    assert_eq!(n["status"]["nodeInfo"]["containerRuntimeVersion"], "wasmtime://48.0.8");
    // Quantities come back canonical: 20000 -> "20k".
    let pods = n["status"]["allocatable"]["pods"].as_str().unwrap();
    let pods = pods
        .strip_suffix('k')
        .map_or_else(|| pods.parse::<u32>().unwrap(), |k| k.parse::<u32>().unwrap() * 1000);
    assert!(pods >= 10_000, "{pods}");
    assert!(n["status"]["capacity"]["memory"].as_str().unwrap().ends_with("Ki"));
    assert_eq!(n["spec"]["podCIDR"], "10.244.0.0/16");
    let ready =
        n["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap().clone();
    assert_eq!(ready["status"], "True", "{ready}");
    assert!(eventually(15, || s.kubectl(&["get", "lease", "-n", "kube-node-lease", &node]).status.success()));
}

#[test]
fn http_pod_becomes_ready_behind_its_probe_and_answers_on_its_pod_ip() {
    let (s, node) = cluster();
    let host_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    s.apply(
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: web}}
spec:
  nodeName: {node}
  {READY_WEB}
---
apiVersion: v1
kind: Pod
metadata: {{name: client}}
spec:
  nodeName: {node}
  containers:
  - name: web
    image: http-hello:latest
    ports: [{{containerPort: 8080, hostPort: {host_port}}}]
"#
        ),
        &[],
    );
    assert!(
        eventually(20, || jsonpath(&s, "pod/web", "{.status.conditions[?(@.type=='Ready')].status}")
            == "True"),
        "web never became Ready: {}",
        s.k(&["get", "pod", "web", "-o", "yaml"])
    );
    let ip = jsonpath(&s, "pod/web", "{.status.podIP}");
    assert!(ip.starts_with("10.244."), "pod IP {ip:?}");
    assert_eq!(jsonpath(&s, "pod/web", "{.status.phase}"), "Running");
    let events = s.k(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=web",
        "-o",
        "jsonpath={.items[*].reason}",
    ]);
    for reason in ["Pulled", "Created", "Started"] {
        assert!(events.contains(reason), "events of web: {events}");
    }
    assert!(s.k(&["describe", "pod", "web"]).contains("Started container web"));
    // Another pod reaches web at its pod IP (the test enters through client's hostPort).
    let fetch = format!("/fetch?url=http://{ip}:8080/");
    let answered = eventually(20, || {
        get(&format!("127.0.0.1:{host_port}"), &fetch).is_some_and(|b| b.contains("hello from web"))
    });
    assert!(answered, "web did not answer on its pod IP");
}

#[test]
fn a_failing_container_crash_loops_with_growing_back_off_and_keeps_previous_logs() {
    let (s, node) = cluster();
    s.apply(
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: crash}}
spec:
  nodeName: {node}
  containers:
  - name: hello
    image: hello:latest
    env: [{{name: EXIT_CODE, value: "3"}}, {{name: NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}]
"#
        ),
        &[],
    );
    assert!(
        eventually(30, || jsonpath(&s, "pod/crash", "{.status.containerStatuses[0].state.waiting.reason}")
            == "CrashLoopBackOff"),
        "{}",
        s.k(&["get", "pod", "crash", "-o", "yaml"])
    );
    let restarts = |s: &Server| {
        jsonpath(s, "pod/crash", "{.status.containerStatuses[0].restartCount}").parse::<u32>().unwrap_or(0)
    };
    let first = restarts(&s);
    assert!(first >= 1);
    assert_eq!(
        jsonpath(&s, "pod/crash", "{.status.containerStatuses[0].lastState.terminated.exitCode}"),
        "3"
    );
    assert_eq!(jsonpath(&s, "pod/crash", "{.status.phase}"), "Running");
    assert!(s.k(&["logs", "crash", "--previous"]).contains("Hello, crash!"));
    // The back-off doubles: after the immediate restart and a 10 s wait, the next takes 20 s.
    assert!(eventually(40, || restarts(&s) > first), "no further restart");
    let events =
        s.k(&["get", "events", "--field-selector", "involvedObject.name=crash,reason=BackOff", "-o", "name"]);
    assert!(!events.is_empty(), "no BackOff event");
}

#[test]
fn never_restarting_pod_fails_with_its_exit_code_and_init_containers_share_a_volume() {
    let (s, node) = cluster();
    s.apply(
        &format!(
            r#"
apiVersion: v1
kind: ConfigMap
metadata: {{name: greet}}
data: {{who: configmap}}
---
apiVersion: v1
kind: Pod
metadata: {{name: once}}
spec:
  nodeName: {node}
  restartPolicy: Never
  volumes: [{{name: shared, emptyDir: {{}}}}]
  initContainers:
  - name: write
    image: hello:latest
    args: ["--write", "/shared/msg", "from-init"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  containers:
  - name: read
    image: hello:latest
    args: ["--cat", "/shared/msg"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  - name: fail
    image: hello:latest
    env:
    - {{name: NAME, valueFrom: {{configMapKeyRef: {{name: greet, key: who}}}}}}
    - {{name: EXIT_CODE, value: "3"}}
"#
        ),
        &[],
    );
    assert!(
        eventually(30, || jsonpath(&s, "pod/once", "{.status.phase}") == "Failed"),
        "{}",
        s.k(&["get", "pod", "once", "-o", "yaml"])
    );
    assert!(s.k(&["logs", "once", "-c", "read"]).contains("from-init"));
    assert!(s.k(&["logs", "once", "-c", "fail"]).contains("Hello, configmap!"));
    assert_eq!(
        jsonpath(&s, "pod/once", "{.status.containerStatuses[?(@.name=='fail')].state.terminated.exitCode}"),
        "3"
    );
    assert_eq!(
        jsonpath(&s, "pod/once", "{.status.initContainerStatuses[0].state.terminated.reason}"),
        "Completed"
    );
    // kubectl picks a default container itself; the API names the choices.
    let r = s.http("GET", "/api/v1/namespaces/default/pods/once/log", None, b"");
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"].as_str().unwrap().contains("a container name must be specified for pod once"),
        "{}",
        r.json()
    );
}

#[test]
fn liveness_failure_restarts_the_container_and_the_deadline_ends_the_pod() {
    let (s, node) = cluster();
    s.apply(
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: sick}}
spec:
  nodeName: {node}
  containers:
  - name: web
    image: http-hello:latest
    livenessProbe: {{tcpSocket: {{port: 9999}}, periodSeconds: 1, failureThreshold: 2}}
  terminationGracePeriodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {{name: bounded}}
spec:
  nodeName: {node}
  activeDeadlineSeconds: 2
  containers: [{{name: web, image: "http-hello:latest"}}]
"#
        ),
        &[],
    );
    assert!(
        eventually(30, || jsonpath(&s, "pod/sick", "{.status.containerStatuses[0].restartCount}")
            .parse::<u32>()
            .unwrap_or(0)
            >= 1),
        "{}",
        s.k(&["get", "pod", "sick", "-o", "yaml"])
    );
    let events = s.k(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=sick",
        "-o",
        "jsonpath={.items[*].reason}",
    ]);
    assert!(events.contains("Unhealthy") && events.contains("Killing"), "{events}");
    assert!(eventually(20, || jsonpath(&s, "pod/bounded", "{.status.reason}") == "DeadlineExceeded"));
    assert_eq!(jsonpath(&s, "pod/bounded", "{.status.phase}"), "Failed");
}

#[test]
fn a_pod_whose_empty_dir_or_ephemeral_storage_outgrows_its_limit_is_evicted() {
    let (s, node) = cluster();
    let line = "x".repeat(1000);
    s.apply(
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: hoarder}}
spec:
  nodeName: {node}
  restartPolicy: Never
  volumes:
  - {{name: scratch, emptyDir: {{sizeLimit: 1Mi}}}}
  - {{name: roomy, emptyDir: {{sizeLimit: 1Gi}}}}
  containers:
  - name: fill
    image: "hello:latest"
    args: ["--append", "/scratch/junk", "{line}", "--count", "100000", "--interval-ms", "1"]
    volumeMounts: [{{name: scratch, mountPath: /scratch}}, {{name: roomy, mountPath: /roomy}}]
"#
        ),
        &[],
    );
    assert!(
        eventually(30, || jsonpath(&s, "pod/hoarder", "{.status.reason}") == "Evicted"),
        "{}",
        s.k(&["get", "pod", "hoarder", "-o", "yaml"])
    );
    assert_eq!(jsonpath(&s, "pod/hoarder", "{.status.phase}"), "Failed");
    assert_eq!(
        jsonpath(&s, "pod/hoarder", "{.status.message}"),
        r#"Usage of EmptyDir volume "scratch" exceeds the limit "1Mi"."#
    );
    let disruption =
        jsonpath(&s, "pod/hoarder", "{.status.conditions[?(@.type==\"DisruptionTarget\")].reason}");
    assert_eq!(disruption, "TerminationByKubelet");
    let state = jsonpath(&s, "pod/hoarder", "{.status.containerStatuses[0].state.terminated.exitCode}");
    assert_eq!(state, "137", "killed at once");
    // As for any terminated pod, its volumes are torn down at once; its logs stay.
    let pod_dir = s.data().join("pods").join(jsonpath(&s, "pod/hoarder", "{.metadata.uid}"));
    assert!(eventually(10, || !pod_dir.join("volumes").exists()), "the evicted pod's emptyDirs are gone");
    assert!(pod_dir.join("logs").exists());
    let events = s.k(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=hoarder",
        "-o",
        "jsonpath={.items[*].reason}",
    ]);
    assert!(events.contains("Evicted"), "{events}");
    // No sizeLimit, but the container's ephemeral-storage limit bounds the pod's emptyDirs too.
    s.apply(
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: spender}}
spec:
  nodeName: {node}
  restartPolicy: Never
  volumes: [{{name: scratch, emptyDir: {{}}}}]
  containers:
  - name: fill
    image: "hello:latest"
    args: ["--append", "/scratch/junk", "{line}", "--count", "100000", "--interval-ms", "1"]
    resources: {{limits: {{ephemeral-storage: 1Mi}}}}
    volumeMounts: [{{name: scratch, mountPath: /scratch}}]
"#
        ),
        &[],
    );
    assert!(
        eventually(30, || jsonpath(&s, "pod/spender", "{.status.reason}") == "Evicted"),
        "{}",
        s.k(&["get", "pod", "spender", "-o", "yaml"])
    );
    assert_eq!(
        jsonpath(&s, "pod/spender", "{.status.message}"),
        "Pod ephemeral local storage usage exceeds the total limit of containers 1Mi."
    );
}

#[test]
fn logs_follow_streams_new_lines() {
    let (s, node) = cluster();
    s.apply(
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: shipper}}
spec:
  nodeName: {node}
  volumes: [{{name: logs, emptyDir: {{}}}}]
  containers:
  - name: ship
    image: log-shipper:latest
    args: ["--follow", "/logs/app.log", "--interval-ms", "50"]
    volumeMounts: [{{name: logs, mountPath: /logs}}]
"#
        ),
        &[],
    );
    assert!(eventually(20, || jsonpath(&s, "pod/shipper", "{.status.phase}") == "Running"));
    let uid = jsonpath(&s, "pod/shipper", "{.metadata.uid}");
    let file = s.data().join("pods").join(&uid).join("volumes/logs/app.log");
    std::fs::write(&file, "first line\n").unwrap();
    let mut follow = Command::new("kubectl")
        .args(["--kubeconfig", s.kubeconfig().to_str().unwrap(), "logs", "-f", "shipper"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = follow.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        let mut buf = [0u8; 256];
        while !seen.contains("second line") {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        seen
    });
    std::thread::sleep(std::time::Duration::from_secs(1));
    std::fs::write(&file, "first line\nsecond line\n").unwrap();
    let done = eventually(15, || reader.is_finished());
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(done, "kubectl logs -f never showed the second line");
    let seen = reader.join().unwrap();
    assert!(seen.contains("[shipped] first line") && seen.contains("[shipped] second line"), "{seen}");
}

#[test]
fn deleting_a_pod_stops_it_and_removes_its_files_and_a_restart_resumes_running_pods() {
    let (mut s, node) = cluster();
    s.apply(
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: keep}}
spec:
  nodeName: {node}
  containers: [{{name: web, image: "http-hello:latest"}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: gone}}
spec:
  nodeName: {node}
  containers:
  - name: web
    image: "http-hello:latest"
    volumeMounts: [{{name: scratch, mountPath: /scratch}}]
  volumes: [{{name: scratch, emptyDir: {{}}}}]
"#
        ),
        &[],
    );
    assert!(eventually(20, || jsonpath(&s, "pods", "{.items[*].status.phase}") == "Running Running"));
    let uid = jsonpath(&s, "pod/gone", "{.metadata.uid}");
    assert!(s.data().join("pods").join(&uid).exists());
    s.k(&["delete", "pod", "gone", "--timeout=30s"]);
    assert!(eventually(10, || !s.data().join("pods").join(&uid).exists()), "the pod's directory stayed");
    s.restart(true);
    assert!(
        eventually(30, || !jsonpath(
            &s,
            "pod/keep",
            "{.status.containerStatuses[0].state.running.startedAt}"
        )
        .is_empty()
            && jsonpath(&s, "pod/keep", "{.status.containerStatuses[0].restartCount}") == "1"),
        "{}",
        s.k(&["get", "pod", "keep", "-o", "yaml"])
    );
    assert_eq!(jsonpath(&s, "pod/keep", "{.status.phase}"), "Running");
    // Marked NotReady by someone else (the node lifecycle controller does it while a node is
    // away, and a restarted node may come back after its first write): the agent writes its own
    // conditions again.
    let ready = || jsonpath(&s, "pod/keep", "{.status.conditions[?(@.type==\"Ready\")].status}");
    assert!(eventually(20, || ready() == "True"), "{}", s.k(&["get", "pod", "keep", "-o", "yaml"]));
    s.k(&[
        "patch",
        "pod",
        "keep",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"conditions":[{"type":"Ready","status":"False","reason":"NodeNotReady"}]}}"#,
    ]);
    assert!(eventually(20, || ready() == "True"), "{}", s.k(&["get", "pod", "keep", "-o", "yaml"]));
}

#[test]
fn static_pods_from_the_manifests_folder_are_mirrored_and_follow_their_file() {
    let (s, node) = cluster();
    let dir = s.data().join("manifests");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("static-web.yaml");
    std::fs::write(&file, "apiVersion: v1\nkind: Pod\nmetadata: {name: static-web}\nspec:\n  containers: [{name: web, image: \"http-hello:latest\"}]\n").unwrap();
    let mirror = format!("pod/static-web-{node}");
    assert!(
        eventually(30, || jsonpath(&s, &mirror, "{.status.phase}") == "Running"),
        "no running mirror pod"
    );
    assert_eq!(jsonpath(&s, &mirror, "{.metadata.ownerReferences[0].kind}"), "Node");
    assert!(!jsonpath(&s, &mirror, "{.metadata.annotations.kubernetes\\.io/config\\.mirror}").is_empty());
    // Deleting the mirror does not remove a static pod: it comes back.
    let first_uid = jsonpath(&s, &mirror, "{.metadata.uid}");
    s.k(&["delete", &mirror, "--wait=false"]);
    assert!(
        eventually(30, || {
            let uid = jsonpath(&s, &mirror, "{.metadata.uid}");
            !uid.is_empty() && uid != first_uid && jsonpath(&s, &mirror, "{.status.phase}") == "Running"
        }),
        "the mirror pod was not recreated"
    );
    std::fs::remove_file(&file).unwrap();
    assert!(
        eventually(30, || !s.kubectl(&["get", &mirror]).status.success()),
        "the pod outlived its manifest"
    );
}

#[test]
fn a_node_that_stops_heartbeating_goes_unknown_is_tainted_and_its_pods_are_evicted() {
    // A second node with no agent behind it (as kwok registers them): it reported Ready once,
    // then nothing more, like a node whose agent died.
    let s = Server::start_with(&["--node-monitor-grace-period", "15s"]); // the real node renews every 10 s
    s.apply("apiVersion: v1\nkind: Node\nmetadata: {name: ghost}\n", &[]);
    let now = chrono_now();
    let status = format!(
        r#"{{"status":{{"conditions":[{{"type":"Ready","status":"True","reason":"KubeletReady","lastHeartbeatTime":"{now}","lastTransitionTime":"{now}"}}],"allocatable":{{"cpu":"4","memory":"4Gi","pods":"110"}}}}}}"#
    );
    s.k(&["patch", "node", "ghost", "--subresource=status", "--type=merge", "-p", &status]);
    s.apply(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: stranded}
spec:
  nodeName: ghost
  tolerations:
  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
  containers: [{name: web, image: "http-hello:latest"}]
"#,
        &[],
    );
    assert!(
        eventually(30, || jsonpath(&s, "node/ghost", "{.status.conditions[?(@.type=='Ready')].status}")
            == "Unknown"),
        "ghost never went Unknown"
    );
    assert!(eventually(15, || jsonpath(&s, "node/ghost", "{.spec.taints[*].key}")
        .contains("node.kubernetes.io/unreachable")));
    assert!(
        eventually(20, || !jsonpath(&s, "pod/stranded", "{.metadata.deletionTimestamp}").is_empty()),
        "the pod was not evicted after its toleration ran out"
    );
    assert_eq!(
        jsonpath(&s, "pod/stranded", "{.status.conditions[?(@.type=='DisruptionTarget')].reason}"),
        "DeletionByTaintManager"
    );
    // The node with a live agent stays Ready and untainted.
    let real = s.k(&["get", "nodes", "-o", "jsonpath={.items[?(@.metadata.name!='ghost')].metadata.name}"]);
    assert_eq!(
        jsonpath(&s, &format!("node/{real}"), "{.status.conditions[?(@.type=='Ready')].status}"),
        "True"
    );
    assert!(jsonpath(&s, &format!("node/{real}"), "{.spec.taints}").is_empty());
}

fn chrono_now() -> String {
    let out = Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

//! get in every output form, selectors, create variants (JSON and protobuf bodies), replace,
//! patch, label, annotate, scale, describe, watch.

use crate::support::{Server, eventually};
use std::io::Read;
use std::process::{Command, Stdio};

#[test]
fn get_tables_and_output_formats() {
    let s = Server::start();
    s.k(&["create", "configmap", "cm1", "--from-literal=a=b"]);
    s.k(&["create", "namespace", "team-a"]);
    s.k(&["-n", "team-a", "create", "configmap", "cm2", "--from-literal=x=y", "--from-literal=z=w"]);
    let table = s.k(&["get", "cm"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "DATA", "AGE"], "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("cm1") && l.split_whitespace().nth(1) == Some("1")),
        "{table}"
    );
    let all = s.k(&["get", "cm", "-A"]);
    assert!(all.lines().next().unwrap().starts_with("NAMESPACE"), "{all}");
    assert!(all.lines().any(|l| l.starts_with("team-a") && l.contains("cm2")), "{all}");
    assert_eq!(s.k(&["get", "cm", "cm1", "-o", "name"]).trim(), "configmap/cm1");
    let yaml = s.k(&["get", "cm", "cm1", "-o", "yaml"]);
    assert!(yaml.contains("kind: ConfigMap") && yaml.contains("a: b"), "{yaml}");
    let json = s.get_json(&["cm", "cm1"]);
    assert_eq!(json["data"]["a"], "b");
    assert!(json["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));
    assert!(
        json["metadata"]["creationTimestamp"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 20)
    );
    let ns = s.k(&["get", "ns"]);
    for n in ["default", "kube-system", "kube-public", "kube-node-lease", "team-a"] {
        assert!(ns.lines().any(|l| l.starts_with(n) && l.contains("Active")), "{n} in {ns}");
    }
    let svc = s.k(&["get", "svc", "kubernetes", "-o", "wide"]);
    assert!(
        svc.lines().next().unwrap().contains("CLUSTER-IP")
            && svc.contains("10.96.0.1")
            && svc.contains("443/TCP"),
        "{svc}"
    );
}

#[test]
fn selectors_labels_and_annotations() {
    let s = Server::start();
    for (n, color) in [("red1", "red"), ("blue1", "blue"), ("plain", "")] {
        s.k(&["create", "configmap", n]);
        if !color.is_empty() {
            s.k(&["label", "cm", n, &format!("color={color}")]);
        }
    }
    let names = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["get", "cm", "-o", "name"];
        a.extend_from_slice(args);
        let mut v: Vec<String> =
            s.k(&a).lines().map(String::from).filter(|l| !l.contains("kube-root")).collect();
        v.sort();
        v
    };
    assert_eq!(names(&["-l", "color=red"]), ["configmap/red1"]);
    assert_eq!(names(&["-l", "color in (red,blue)"]), ["configmap/blue1", "configmap/red1"]);
    assert_eq!(names(&["-l", "!color"]), ["configmap/plain"]);
    assert_eq!(names(&["-l", "color!=red,color"]), ["configmap/blue1"]);
    assert_eq!(names(&["--field-selector", "metadata.name=plain"]), ["configmap/plain"]);
    assert_eq!(names(&["--field-selector", "metadata.namespace=nope"]), Vec::<String>::new());
    let shown = s.k(&["get", "cm", "red1", "--show-labels"]);
    assert!(shown.contains("color=red"), "{shown}");
    let col = s.k(&["get", "cm", "-L", "color"]);
    assert!(col.lines().next().unwrap().contains("COLOR"), "{col}");
    s.k(&["annotate", "cm", "red1", "note=hello"]);
    assert_eq!(s.k(&["get", "cm", "red1", "-o", "jsonpath={.metadata.annotations.note}"]), "hello");
    s.k(&["label", "cm", "red1", "color-"]);
    assert_eq!(s.k(&["get", "cm", "red1", "-o", "jsonpath={.metadata.labels}"]), "");
}

#[test]
fn create_variants_with_protobuf_bodies() {
    let s = Server::start();
    s.k(&["create", "deployment", "d2", "--image=hello:latest", "--replicas=2"]);
    let d = s.get_json(&["deploy", "d2"]);
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "hello:latest");
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate", "defaults applied to a protobuf body");
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "Always");
    s.k(&["create", "secret", "generic", "s1", "--from-literal=k=v"]);
    assert_eq!(s.k(&["get", "secret", "s1", "-o", "jsonpath={.data.k}"]), "dg==");
    s.k(&["create", "namespace", "ns1"]);
    s.k(&["create", "job", "j1", "--image=hello:latest"]);
    assert_eq!(s.k(&["get", "job", "j1", "-o", "jsonpath={.spec.template.spec.restartPolicy}"]), "Never");
    s.k(&["autoscale", "deployment", "d2", "--min=1", "--max=3", "--cpu-percent=50"]);
    let hpa = s.get_json(&["hpa", "d2"]);
    assert_eq!(hpa["spec"]["maxReplicas"], 3);
    let manifest = crate::support::fixture("deploy-v1.yaml");
    let first = s.kubectl_stdin(&["create", "-f", "-"], Some(&manifest));
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let again = s.kubectl_stdin(&["create", "-f", "-"], Some(&manifest));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success() && stderr.contains("AlreadyExists"), "{stderr}");
    let err = s.k_err(&["create", "deployment", "d2", "--image=x"]);
    assert!(err.contains("AlreadyExists") || err.contains("already exists"), "{err}");
}

#[test]
fn replace_patch_scale_and_describe() {
    let s = Server::start();
    s.apply(&crate::support::fixture("deploy-v1.yaml"), &[]);
    // The deployment controller writes the status meanwhile, so a replace may meet a newer
    // resourceVersion: like any client, read again and retry on Conflict.
    let mut attempts = 0;
    let d = loop {
        let mut d = s.get_json(&["deploy", "web"]);
        d["spec"]["replicas"] = 4.into();
        let out = s.kubectl_stdin(&["replace", "-f", "-"], Some(&d.to_string()));
        let stderr = String::from_utf8_lossy(&out.stderr);
        attempts += 1;
        if out.status.success() {
            break d;
        }
        assert!(attempts < 10 && stderr.contains("the object has been modified"), "{stderr}");
    };
    assert_eq!(s.k(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]), "4");
    // A stale resourceVersion is a conflict, not a lost update.
    let stale = s.kubectl_stdin(&["replace", "-f", "-"], Some(&d.to_string()));
    assert!(
        String::from_utf8_lossy(&stale.stderr).contains("the object has been modified"),
        "{}",
        String::from_utf8_lossy(&stale.stderr)
    );
    s.k(&["patch", "deploy", "web", "--type=merge", "-p", r#"{"spec":{"minReadySeconds":5}}"#]);
    s.k(&[
        "patch",
        "deploy",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":3}]"#,
    ]);
    s.k(&[
        "patch",
        "deploy",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"http-hello:v2"}]}}}}"#,
    ]);
    let d = s.get_json(&["deploy", "web"]);
    assert_eq!(d["spec"]["minReadySeconds"], 5);
    assert_eq!(d["spec"]["replicas"], 3);
    let containers = d["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2, "strategic merge keeps the other container");
    assert_eq!(containers[0]["image"], "http-hello:v2");
    s.k(&["scale", "deploy", "web", "--replicas=7"]);
    assert_eq!(s.k(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]), "7");
    let gen_before: i64 =
        s.k(&["get", "deploy", "web", "-o", "jsonpath={.metadata.generation}"]).parse().unwrap();
    s.k(&["label", "deploy", "web", "x=y"]);
    let gen_after: i64 =
        s.k(&["get", "deploy", "web", "-o", "jsonpath={.metadata.generation}"]).parse().unwrap();
    assert_eq!(gen_before, gen_after, "metadata-only changes keep the generation");
    let desc = s.k(&["describe", "deploy", "web"]);
    assert!(desc.contains("Name:") && desc.contains("web") && desc.contains("Replicas:"), "{desc}");
    s.k(&["run", "p1", "--image=hello:latest", "--restart=Never"]);
    let desc = s.k(&["describe", "pod", "p1"]);
    assert!(desc.contains("Status:") && desc.contains("Pending"), "{desc}");
    let pods = s.k(&["get", "pods", "-o", "wide"]);
    let header: Vec<&str> = pods.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(&header[..5], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "{pods}");
    assert!(header.contains(&"IP") && header.contains(&"NODE"), "{pods}");
}

#[test]
fn get_watch_streams_changes() {
    let s = Server::start();
    let mut child = Command::new(crate::support::KUBECTL)
        .arg("--kubeconfig")
        .arg(s.kubeconfig())
        .args([
            "get",
            "cm",
            "-w",
            "--output-watch-events",
            "-o",
            "jsonpath={.type} {.object.metadata.name}{\"\\n\"}",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    s.k(&["create", "configmap", "watched"]);
    s.k(&["delete", "configmap", "watched"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let _ = child.wait();
    assert!(out.lines().any(|l| l == "ADDED watched"), "{out}");
    assert!(out.lines().any(|l| l == "DELETED watched"), "{out}");
    assert!(eventually(5, || !s.kubectl(&["get", "cm", "watched"]).status.success()));
}

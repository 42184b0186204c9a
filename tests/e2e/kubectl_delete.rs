//! delete: immediate, finalizers, cascading (background, foreground, orphan), namespaces, wait.

use crate::support::{Server, eventually};

fn gone(s: &Server, args: &[&str]) -> bool {
    let mut a = vec!["get"];
    a.extend_from_slice(args);
    eventually(20, || !s.kubectl(&a).status.success())
}

/// A ReplicaSet owned by the Deployment `web`, labelled to match its selector (the deployment
/// controller releases owned ReplicaSets that do not match, as upstream does).
fn owned_replicaset(s: &Server, name: &str) {
    let uid = s.k(&["get", "deploy", "web", "-o", "jsonpath={.metadata.uid}"]);
    let rs = format!(
        r#"{{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{{"name":"{name}","labels":{{"app":"web"}},"ownerReferences":[{{"apiVersion":"apps/v1","kind":"Deployment","name":"web","uid":"{uid}","controller":true,"blockOwnerDeletion":true}}]}},
        "spec":{{"replicas":0,"selector":{{"matchLabels":{{"app":"web"}}}},"template":{{"metadata":{{"labels":{{"app":"web"}}}},"spec":{{"containers":[{{"name":"a","image":"hello:latest"}}]}}}}}}}}"#
    );
    let out = s.kubectl_stdin(&["create", "-f", "-"], Some(&rs));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn finalizers_hold_an_object_until_removed() {
    let s = Server::start();
    s.k(&["create", "configmap", "fin"]);
    s.k(&["patch", "cm", "fin", "--type=merge", "-p", r#"{"metadata":{"finalizers":["example.com/hold"]}}"#]);
    s.k(&["delete", "cm", "fin", "--wait=false"]);
    assert!(!s.k(&["get", "cm", "fin", "-o", "jsonpath={.metadata.deletionTimestamp}"]).is_empty());
    s.k(&["patch", "cm", "fin", "--type=json", "-p", r#"[{"op":"remove","path":"/metadata/finalizers"}]"#]);
    assert!(gone(&s, &["cm", "fin"]));
    s.k(&["create", "configmap", "plain"]);
    s.k(&["delete", "cm", "plain"]);
    assert!(!s.kubectl(&["get", "cm", "plain"]).status.success());
    let err = s.k_err(&["delete", "cm", "plain"]);
    assert!(err.contains("NotFound") || err.contains("not found"), "{err}");
}

#[test]
fn cascading_deletes_follow_owner_references() {
    let s = Server::start();
    s.apply(&crate::support::fixture("deploy-v1.yaml"), &[]);
    owned_replicaset(&s, "web-bg");
    s.k(&["delete", "deploy", "web"]);
    assert!(gone(&s, &["rs", "web-bg"]), "background propagation deletes dependents");

    s.apply(&crate::support::fixture("deploy-v1.yaml"), &[]);
    owned_replicaset(&s, "web-orphan");
    s.k(&["delete", "deploy", "web", "--cascade=orphan"]);
    assert!(gone(&s, &["deploy", "web"]));
    assert!(s.kubectl(&["get", "rs", "web-orphan"]).status.success(), "orphaned dependent stays");
    assert_eq!(s.k(&["get", "rs", "web-orphan", "-o", "jsonpath={.metadata.ownerReferences}"]), "");

    s.apply(&crate::support::fixture("deploy-v1.yaml"), &[]);
    owned_replicaset(&s, "web-fg");
    s.k(&["delete", "deploy", "web", "--cascade=foreground", "--timeout=30s"]);
    assert!(gone(&s, &["rs", "web-fg"]));
    assert!(gone(&s, &["deploy", "web"]));
}

#[test]
fn deleting_a_namespace_removes_everything_in_it() {
    let s = Server::start();
    s.k(&["create", "namespace", "team-a"]);
    s.k(&["-n", "team-a", "create", "configmap", "inner"]);
    s.k(&["-n", "team-a", "create", "deployment", "d", "--image=hello:latest"]);
    s.k(&["delete", "ns", "team-a", "--timeout=30s"]);
    assert!(gone(&s, &["ns", "team-a"]));
    let err = s.k_err(&["-n", "team-a", "create", "configmap", "late"]);
    assert!(err.contains("NotFound") || err.contains("not found"), "{err}");
    let err = s.k_err(&["delete", "ns", "kube-system"]);
    assert!(err.contains("may not be deleted"), "{err}");
}

#[test]
fn wait_for_delete_returns_when_the_object_goes() {
    let s = Server::start();
    s.k(&["create", "configmap", "w"]);
    s.k(&["patch", "cm", "w", "--type=merge", "-p", r#"{"metadata":{"finalizers":["example.com/x"]}}"#]);
    s.k(&["delete", "cm", "w", "--wait=false"]);
    let waiter = std::thread::scope(|scope| {
        let h = scope.spawn(|| s.kubectl(&["wait", "--for=delete", "cm/w", "--timeout=30s"]));
        std::thread::sleep(std::time::Duration::from_secs(1));
        s.k(&["patch", "cm", "w", "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
        h.join().unwrap()
    });
    assert!(waiter.status.success(), "{}", String::from_utf8_lossy(&waiter.stderr));
}

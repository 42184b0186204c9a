//! kubectl apply: client-side (strategic merge with list edits), server-side (managedFields,
//! conflicts, force), default validation (Strict), and dry runs.

use crate::support::{Server, fixture};

#[test]
fn client_side_apply_create_then_update_with_list_edits() {
    let s = Server::start();
    s.apply(&fixture("deploy-v1.yaml"), &[]);
    let jp = |p: &str| s.k(&["get", "deploy", "web", "-o", &format!("jsonpath={p}")]);
    assert_eq!(jp("{.spec.replicas}"), "2");
    assert_eq!(jp("{.spec.strategy.type}"), "RollingUpdate");
    assert_eq!(jp("{.spec.strategy.rollingUpdate.maxSurge}"), "25%");
    assert_eq!(jp("{.spec.revisionHistoryLimit}"), "10");
    assert_eq!(jp("{.metadata.generation}"), "1");
    assert!(jp("{.metadata.annotations}").contains("last-applied-configuration"));
    s.apply(&fixture("deploy-v2.yaml"), &[]);
    assert_eq!(jp("{.spec.template.spec.containers[*].name}"), "a");
    assert_eq!(jp("{.spec.template.spec.containers[0].ports[*].containerPort}"), "80");
    assert_eq!(jp("{.spec.template.spec.containers[0].env[*].value}"), "3");
    assert_eq!(jp("{.spec.strategy.type}"), "Recreate");
    assert_eq!(jp("{.spec.strategy.rollingUpdate}"), "", "$retainKeys dropped rollingUpdate");
    assert_eq!(jp("{.metadata.labels.tier}"), "");
    assert_eq!(jp("{.metadata.generation}"), "2");
}

#[test]
fn reapplying_an_unchanged_manifest_writes_nothing() {
    let s = Server::start();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: same, labels: {a: b}}\ndata: {k: v}\n";
    s.apply(cm, &[]);
    let rv = s.k(&["get", "cm", "same", "-o", "jsonpath={.metadata.resourceVersion}"]);
    let out = s.apply(cm, &[]);
    assert!(out.contains("unchanged"), "{out}");
    s.k(&["label", "cm", "same", "a=b", "--overwrite"]);
    assert_eq!(
        s.k(&["get", "cm", "same", "-o", "jsonpath={.metadata.resourceVersion}"]),
        rv,
        "no-op writes keep the revision"
    );
}

#[test]
fn the_observed_kubectl_vector_applies_exactly() {
    let s = Server::start();
    s.apply(&fixture("smp1.yaml"), &[]);
    s.apply(&fixture("smp2.yaml"), &[]);
    let d = s.get_json(&["deploy", "smp3"]);
    let names: Vec<&str> = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let expected: Vec<String> =
        serde_yaml::from_str::<serde_json::Value>(&fixture("smp2.yaml")).unwrap()["spec"]["template"]["spec"]
            ["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
    assert_eq!(names, expected, "container order follows $setElementOrder");
}

#[test]
fn server_side_apply_tracks_managers_and_conflicts() {
    let s = Server::start();
    // kubectl's config carries a label that only kubectl applies.
    let mine = fixture("deploy-v1.yaml").replace("tier: front}", "tier: front, mine: yes-please}");
    let out = s.apply(&mine, &["--server-side"]);
    assert!(out.contains("serverside-applied"), "{out}");
    let d: serde_json::Value =
        serde_json::from_str(&s.k(&["get", "deploy", "web", "-o", "json", "--show-managed-fields"])).unwrap();
    let managers: Vec<&str> = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert!(managers.contains(&"kubectl"), "{managers:?}");
    // Another manager changing replicas conflicts, unless forced.
    let other = fixture("deploy-v1.yaml").replace("replicas: 2", "replicas: 6");
    let out = s.kubectl_stdin(&["apply", "--server-side", "--field-manager=other", "-f", "-"], Some(&other));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("conflict") && err.contains(".spec.replicas"), "{err}");
    assert_eq!(s.k(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]), "2");
    s.apply(&other, &["--server-side", "--field-manager=other", "--force-conflicts"]);
    assert_eq!(s.k(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]), "6");
    // Dropping a field from the applied config removes it when nobody else owns it (the label
    // was kubectl's alone; the env entries stay, "other" applied them too). The replicas now
    // agree with "other", so they are shared, not in conflict.
    s.apply(&other, &["--server-side"]);
    assert_eq!(s.k(&["get", "deploy", "web", "-o", "jsonpath={.metadata.labels.mine}"]), "");
    assert_eq!(
        s.k(&["get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].env[0].name}"]),
        "X"
    );
}

#[test]
fn default_validation_is_strict_and_rejects_unknown_fields() {
    let s = Server::start();
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x1}\nbogus: 1\n";
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(bad));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("unknown field \"bogus\""), "{err}");
    assert!(!s.kubectl(&["get", "cm", "x1"]).status.success(), "nothing was created");
    let bad_deploy = fixture("deploy-v1.yaml").replace("  replicas: 2\n", "  replicas: 2\n  replicaz: 3\n");
    let out = s.kubectl_stdin(&["create", "-f", "-"], Some(&bad_deploy));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("strict decoding error") && err.contains("spec.replicaz"), "{err}");
    let ok = s.kubectl_stdin(&["apply", "--validate=false", "-f", "-"], Some(bad));
    assert!(ok.status.success(), "Ignore drops unknown fields: {}", String::from_utf8_lossy(&ok.stderr));
    let invalid = s.k_err(&["create", "configmap", "Bad_Name"]);
    assert!(invalid.contains("is invalid") && invalid.contains("RFC 1123"), "{invalid}");
}

#[test]
fn dry_run_server_changes_nothing() {
    let s = Server::start();
    let out = s.apply(&fixture("deploy-v1.yaml"), &["--dry-run=server"]);
    assert!(out.contains("server dry run"), "{out}");
    assert!(!s.kubectl(&["get", "deploy", "web"]).status.success());
}

#[test]
fn a_list_file_applies_gets_and_deletes_its_items() {
    let s = Server::start();
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n  \
                data: {x: \"1\"}\n- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n  spec:\n    \
                ports: [{port: 80}]\n";
    let out = s.apply(list, &[]);
    assert!(out.contains("configmap/a created") && out.contains("service/b created"), "{out}");
    assert_eq!(s.k(&["get", "cm", "a", "-o", "jsonpath={.data.x}"]), "1");
    let again = s.apply(list, &[]);
    assert!(again.contains("configmap/a unchanged"), "{again}");
    // Items are still checked strictly, on the server.
    let bad = list.replace("data: {x: \"1\"}", "data: {x: \"1\"}\n  bogus: 1");
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(&bad));
    assert!(!out.status.success(), "an unknown field in an item is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field \"bogus\""));
    let out = s.kubectl_stdin(&["delete", "-f", "-"], Some(list));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!s.kubectl(&["get", "cm", "a"]).status.success());
}

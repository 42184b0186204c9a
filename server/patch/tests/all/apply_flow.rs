//! The acceptance sequence of `01-control-plane`, as the API server would drive this crate:
//! `kubectl apply` (create, then strategic merge patch), `kubectl scale`, then
//! `kubectl apply --server-side --field-manager=other --force-conflicts` with the old file.

use serde_json::{Value, json};
use wasmkube_patch::apply::{ApplyError, decode_managed_fields, record_update, server_side_apply};
use wasmkube_patch::schema::{TypeRef, root_type};
use wasmkube_patch::strategic::strategic_merge;

fn deployment() -> TypeRef {
    root_type("apps", "v1", "Deployment").unwrap()
}

fn deploy_v1() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "tier": "front"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "a", "image": "http-hello:latest",
                 "ports": [{"containerPort": 80}, {"containerPort": 443}],
                 "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
                {"name": "b", "image": "hello:latest"}
            ]}}
        }
    })
}

fn v2_patch() -> Value {
    json!({
        "metadata": {"labels": {"tier": null}},
        "spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "template": {"spec": {
                "$setElementOrder/containers": [{"name": "a"}],
                "containers": [
                    {"$setElementOrder/env": [{"name": "Y"}], "$setElementOrder/ports": [{"containerPort": 80}],
                     "env": [{"name": "Y", "value": "3"}, {"$patch": "delete", "name": "X"}],
                     "name": "a", "ports": [{"$patch": "delete", "containerPort": 443}]},
                    {"$patch": "delete", "name": "b"}
                ]
            }}
        }
    })
}

/// What the server stores after creating `deploy-v1.yaml` (defaults filled in).
fn created() -> Value {
    let mut obj = deploy_v1();
    obj["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
    for port in obj["spec"]["template"]["spec"]["containers"][0]["ports"].as_array_mut().unwrap() {
        port["protocol"] = json!("TCP");
    }
    obj
}

fn managers(obj: &Value) -> Vec<(String, String)> {
    decode_managed_fields(obj)
        .unwrap()
        .into_iter()
        .map(|e| (e.manager, format!("{:?}", e.operation)))
        .collect()
}

#[test]
fn client_side_apply_scale_then_forced_server_side_apply() {
    let t = "2026-01-01T00:00:00Z";
    let live = record_update(None, &created(), "kubectl-client-side-apply", None, deployment(), t).unwrap();

    let patched = strategic_merge(&live, &v2_patch(), deployment()).unwrap();
    let live =
        record_update(Some(&live), &patched, "kubectl-client-side-apply", None, deployment(), t).unwrap();
    assert_eq!(live["spec"]["strategy"], json!({"type": "Recreate"}));

    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(5);
    let live = record_update(Some(&live), &scaled, "kubectl", Some("scale"), deployment(), t).unwrap();

    // Without force, v1's replicas and env conflict with the earlier writers.
    let err = server_side_apply(Some(&live), &deploy_v1(), "other", false, deployment(), t).unwrap_err();
    let ApplyError::Conflict(conflicts) = &err else { panic!("{err:?}") };
    let paths: Vec<&str> = conflicts.iter().map(|c| c.field_path.as_str()).collect();
    assert!(paths.contains(&".spec.replicas"), "{paths:?}");
    assert!(paths.contains(&r#".spec.template.spec.containers[name="a"].env[name="Y"].value"#), "{paths:?}");
    assert!(
        err.to_string().contains(r#"conflicts with "kubectl" with subresource "scale" using apps/v1:"#),
        "{err}"
    );

    let out = server_side_apply(Some(&live), &deploy_v1(), "other", true, deployment(), t).unwrap();
    assert_eq!(out["spec"]["replicas"], 2);
    assert_eq!(out["metadata"]["labels"], json!({"app": "web", "tier": "front"}));
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    let containers = &out["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["env"], json!([{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]));
    assert_eq!(
        containers[0]["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}])
    );
    assert_eq!(containers[1], json!({"name": "b", "image": "hello:latest"}));
    // The scaler lost its only field, so its entry is gone; the applier is first (Apply
    // sorts before Update).
    assert_eq!(
        managers(&out),
        [
            ("other".to_owned(), "Apply".to_owned()),
            ("kubectl-client-side-apply".to_owned(), "Update".to_owned())
        ]
    );
}

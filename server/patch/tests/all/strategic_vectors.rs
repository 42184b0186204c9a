//! Strategic merge patches exactly as kubectl 1.32 sent them (see the reference captures
//! `smp3.requests` and the acceptance fixtures `deploy-v1.yaml` -> `deploy-v2.yaml`).

use serde_json::{Value, json};
use wasmkube_patch::schema::root_type;
use wasmkube_patch::strategic::strategic_merge;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn deployment() -> wasmkube_patch::schema::TypeRef {
    root_type("apps", "v1", "Deployment").unwrap()
}

/// The live Deployment after `kubectl apply -f smp1.yaml`, with the server's defaults.
fn smp1_live() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "smp3", "namespace": "default", "uid": "u-1", "resourceVersion": "7",
            "generation": 1,
            "labels": {"app": "smp", "tier": "web"},
            "annotations": {LAST_APPLIED: "{\"old\":true}\n"}
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "smp"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "smp"}},
                "spec": {
                    "containers": [
                        {"name": "a", "image": "nginx",
                         "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
                         "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}],
                         "imagePullPolicy": "Always"},
                        {"name": "b", "image": "busybox", "imagePullPolicy": "Always"}
                    ],
                    "restartPolicy": "Always"
                }
            }
        },
        "status": {"replicas": 1}
    })
}

/// The PATCH body of `smp3.requests`, verbatim.
fn smp3_patch() -> Value {
    serde_json::from_str(r#"{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"annotations\":{},\"labels\":{\"app\":\"smp\"},\"name\":\"smp3\",\"namespace\":\"default\"},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"smp\"}},\"strategy\":{\"type\":\"Recreate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"smp\"}},\"spec\":{\"containers\":[{\"image\":\"redis\",\"name\":\"c\"},{\"env\":[{\"name\":\"Y\",\"value\":\"3\"}],\"image\":\"nginx\",\"name\":\"a\",\"ports\":[{\"containerPort\":80}]}]}}}}\n"},"labels":{"tier":null}},"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":null,"type":"Recreate"},"template":{"spec":{"$setElementOrder/containers":[{"name":"c"},{"name":"a"}],"containers":[{"image":"redis","name":"c"},{"$setElementOrder/env":[{"name":"Y"}],"$setElementOrder/ports":[{"containerPort":80}],"env":[{"name":"Y","value":"3"},{"$patch":"delete","name":"X"}],"name":"a","ports":[{"$patch":"delete","containerPort":443}]},{"$patch":"delete","name":"b"}]}}}}"#).unwrap()
}

#[test]
fn kubectl_smp3_vector() {
    let patch = smp3_patch();
    let out = strategic_merge(&smp1_live(), &patch, deployment()).unwrap();
    let mut expected = smp1_live();
    expected["metadata"]["labels"] = json!({"app": "smp"});
    expected["metadata"]["annotations"][LAST_APPLIED] =
        patch["metadata"]["annotations"][LAST_APPLIED].clone();
    expected["spec"]["strategy"] = json!({"type": "Recreate"});
    expected["spec"]["template"]["spec"]["containers"] = json!([
        {"image": "redis", "name": "c"},
        {"name": "a", "image": "nginx",
         "env": [{"name": "Y", "value": "3"}],
         "ports": [{"containerPort": 80, "protocol": "TCP"}],
         "imagePullPolicy": "Always"}
    ]);
    assert_eq!(out, expected);
    // Order matters to kubectl's output: c before a, as $setElementOrder says.
    let names: Vec<&str> = out["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c", "a"]);
    assert!(!out.to_string().contains("$patch"));
}

/// `deploy-v1.yaml` as created (with defaults), the state `kubectl apply -f deploy-v2.yaml`
/// patches.
fn deploy_v1_live() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "default", "generation": 1,
            "labels": {"app": "web", "tier": "front"},
            "annotations": {LAST_APPLIED: "v1"}
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "a", "image": "http-hello:latest",
                     "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}],
                     "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
                    {"name": "b", "image": "hello:latest"}
                ]}
            }
        }
    })
}

/// What kubectl computes for v1 -> v2: the three-way diff of last-applied (v1), the new file
/// (v2) and live. v1 had no strategy, so `rollingUpdate` is dropped by `$retainKeys` alone.
fn deploy_v2_patch() -> Value {
    json!({
        "metadata": {"annotations": {LAST_APPLIED: "v2"}, "labels": {"tier": null}},
        "spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "template": {"spec": {
                "$setElementOrder/containers": [{"name": "a"}],
                "containers": [
                    {"$setElementOrder/env": [{"name": "Y"}],
                     "$setElementOrder/ports": [{"containerPort": 80}],
                     "env": [{"name": "Y", "value": "3"}, {"$patch": "delete", "name": "X"}],
                     "name": "a",
                     "ports": [{"$patch": "delete", "containerPort": 443}]},
                    {"$patch": "delete", "name": "b"}
                ]
            }}
        }
    })
}

#[test]
fn acceptance_deploy_v1_to_v2() {
    let out = strategic_merge(&deploy_v1_live(), &deploy_v2_patch(), deployment()).unwrap();
    let expected = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "default", "generation": 1,
            "labels": {"app": "web"},
            "annotations": {LAST_APPLIED: "v2"}
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "a", "image": "http-hello:latest",
                     "ports": [{"containerPort": 80, "protocol": "TCP"}],
                     "env": [{"name": "Y", "value": "3"}]}
                ]}
            }
        }
    });
    assert_eq!(out, expected);
}

#[test]
fn kubectl_set_image_and_rollout_restart_vectors() {
    let live = deploy_v1_live();
    let set_image = json!({"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],"containers":[{"image":"nginx:1.99","name":"a"}]}}}});
    let out = strategic_merge(&live, &set_image, deployment()).unwrap();
    let containers = &out["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["image"], "nginx:1.99");
    assert_eq!(containers[0]["env"], live["spec"]["template"]["spec"]["containers"][0]["env"]);
    assert_eq!(containers[1]["name"], "b");

    let restart = json!({"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-22T02:20:27Z"}}}}});
    let out = strategic_merge(&live, &restart, deployment()).unwrap();
    assert_eq!(
        out["spec"]["template"]["metadata"],
        json!({"labels": {"app": "web"}, "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-22T02:20:27Z"}})
    );
}

#[test]
fn kubectl_cordon_vector() {
    let node = root_type("", "v1", "Node").unwrap();
    let live = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1"}, "spec": {"podCIDR": "10.0.0.0/24"}});
    let out = strategic_merge(&live, &json!({"spec":{"unschedulable":true}}), node).unwrap();
    assert_eq!(out["spec"], json!({"podCIDR": "10.0.0.0/24", "unschedulable": true}));
}

//! Bodies captured from the real kubectl (see `gen/capture_fixtures.py`), each checked against
//! the JSON kubectl itself prints for the same object with `--dry-run=client -o json`.

use serde_json::{Value, json};
use wasmkube_protobuf::decode;

/// Every captured body: kubectl 1.32, plus `hpa_v2` from kubectl 1.33.
pub const FIXTURES: &[&str] = &[
    "configmap",
    "cronjob",
    "deployment",
    "hpa",
    "hpa_v2",
    "job",
    "job_from_cronjob",
    "namespace",
    "pdb",
    "quota",
    "secret",
    "secret_binary",
    "service",
];

fn path(name: &str, extension: &str) -> String {
    format!("{}/tests/fixtures/{name}.{extension}", env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(path(name, "pb")).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn kubectl_json(name: &str) -> Value {
    let text = std::fs::read_to_string(path(name, "json")).expect("oracle JSON");
    let mut value: Value = serde_json::from_str(&text).expect("oracle parses");
    drop_nil_lists(&mut value);
    value
}

/// Go prints a nil slice without omitempty as `null` (`status.currentMetrics` of an HPA v2);
/// such a field is absent on the wire, and the decoder leaves it absent, by design.
fn drop_nil_lists(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|key, v| !(v.is_null() && key != "creationTimestamp"));
        map.values_mut().for_each(drop_nil_lists);
    }
}

fn decoded(name: &str) -> Value {
    decode(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_fixture_decodes_to_the_json_kubectl_prints() {
    for name in FIXTURES {
        assert_eq!(decoded(name), kubectl_json(name), "fixture {name}");
    }
}

#[test]
fn create_deployment() {
    let expected = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "creationTimestamp": null, "labels": {"app": "d"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": "d"}},
                "spec": {"containers": [{
                    "name": "hello",
                    "image": "hello:latest",
                    "ports": [{"containerPort": 8080}],
                    "resources": {}
                }]}
            },
            "strategy": {}
        },
        "status": {}
    });
    assert_eq!(decoded("deployment"), expected);
}

#[test]
fn apiversion_and_kind_come_first() {
    let value = decoded("deployment");
    let keys: Vec<&String> = value.as_object().unwrap().keys().take(2).collect();
    assert_eq!(keys, ["apiVersion", "kind"]);
}

#[test]
fn create_configmap_and_namespace() {
    assert_eq!(
        decoded("configmap"),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "cm", "creationTimestamp": null}, "data": {"a": "b"}})
    );
    assert_eq!(
        decoded("namespace"),
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": "ns1", "creationTimestamp": null},
               "spec": {}, "status": {}})
    );
}

#[test]
fn create_secret_base64_encodes_data() {
    assert_eq!(
        decoded("secret"),
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "s", "creationTimestamp": null}, "data": {"k": "dg=="}})
    );
    let binary = decoded("secret_binary");
    assert_eq!(binary["type"], "example.com/bin");
    assert!(binary["data"]["blob"].as_str().unwrap().starts_with("AAECAwQF"));
}

#[test]
fn create_job_keeps_command_order() {
    let job = decoded("job");
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(
        pod["containers"],
        json!([{"name": "j", "image": "hello:latest", "command": ["echo", "hi"], "resources": {}}])
    );
    assert_eq!(job["status"], json!({}));
}

#[test]
fn autoscale_keeps_non_omitempty_zeros() {
    assert_eq!(
        decoded("hpa"),
        json!({
            "apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "d", "creationTimestamp": null},
            "spec": {
                "scaleTargetRef": {"kind": "Deployment", "name": "d", "apiVersion": "apps/v1"},
                "minReplicas": 1,
                "maxReplicas": 3,
                "targetCPUUtilizationPercentage": 50
            },
            "status": {"currentReplicas": 0, "desiredReplicas": 0}
        })
    );
    let v2 = decoded("hpa_v2");
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(
        v2["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}}])
    );
}

#[test]
fn create_service_int_or_string_target_port() {
    let service = decoded("service");
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "80-http", "protocol": "TCP", "port": 80, "targetPort": "http"}])
    );
    assert_eq!(service["status"], json!({"loadBalancer": {}}));
}

#[test]
fn create_quota_and_pdb_special_types() {
    assert_eq!(decoded("quota")["spec"]["hard"], json!({"cpu": "1500m", "memory": "1Gi", "pods": "10"}));
    assert_eq!(decoded("pdb")["spec"]["minAvailable"], "50%");
}

/// `kubectl create job --from=cronjob/rich` copies a job template touching most of PodSpec
/// (gen/rich_cronjob.json); the oracle test above checks all of it, these spot-check the
/// trickiest corners by name.
#[test]
fn job_from_rich_cronjob() {
    let job = decoded("job_from_cronjob");
    assert_eq!(
        job["metadata"]["ownerReferences"],
        json!([{"apiVersion": "batch/v1", "kind": "CronJob", "name": "rich",
                "uid": "cj-uid-1", "controller": true}])
    );
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert_eq!(job["spec"]["suspend"], false);
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["securityContext"]["supplementalGroups"], json!([1, 2, 3]));
    assert_eq!(pod["securityContext"]["runAsNonRoot"], false);
    assert_eq!(pod["tolerations"][1]["tolerationSeconds"], 30);
    assert_eq!(pod["overhead"], json!({"cpu": "250m", "memory": "120Mi"}));
    assert_eq!(
        pod["volumes"][2],
        json!({"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}})
    );
    let main = &pod["containers"][0];
    assert_eq!(main["livenessProbe"]["httpGet"]["port"], "http");
    assert_eq!(main["startupProbe"]["grpc"], json!({"port": 9000, "service": "health"}));
    assert_eq!(main["env"][1], json!({"name": "EMPTY"}));
    assert_eq!(main["securityContext"]["privileged"], false);
    assert_eq!(main["ports"][0], json!({"name": "http", "containerPort": 8080, "protocol": "TCP"}));
}

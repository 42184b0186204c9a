//! Pod, PodTemplate and pod-spec rules.

use serde_json::json;

use crate::support::{assert_has, assert_reason, assert_valid, create_errors, remove, set, update_errors};
use crate::valid_objects::pod;

const LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

#[test]
fn at_least_one_container() {
    let mut p = pod();
    set(&mut p, "/spec/containers", json!([]));
    assert_has(&create_errors("", "Pod", p), "spec.containers: Required value");
}

#[test]
fn container_names_are_labels_and_unique_across_init() {
    let mut p = pod();
    set(&mut p, "/spec/initContainers/0/name", json!("web"));
    set(&mut p, "/spec/containers/0/name", json!("web"));
    assert_has(&create_errors("", "Pod", p.clone()), "spec.initContainers[0].name: Duplicate value: \"web\"");
    set(&mut p, "/spec/containers/0/name", json!("Web_1"));
    assert_has(
        &create_errors("", "Pod", p),
        &format!("spec.containers[0].name: Invalid value: \"Web_1\": {LABEL}"),
    );
}

#[test]
fn image_is_required_and_trimmed_for_pods() {
    let mut p = pod();
    remove(&mut p, "/spec/containers/0/image");
    assert_has(&create_errors("", "Pod", p.clone()), "spec.containers[0].image: Required value");
    set(&mut p, "/spec/containers/0/image", json!(" nginx"));
    assert_has(
        &create_errors("", "Pod", p),
        "spec.containers[0].image: Invalid value: \" nginx\": must not have leading or trailing whitespace",
    );
}

#[test]
fn container_ports() {
    let mut p = pod();
    set(
        &mut p,
        "/spec/containers/0/ports",
        json!([
            {"name": "http", "containerPort": 70000},
            {"name": "http", "containerPort": 81, "protocol": "HTTP"},
            {"name": "HTTP_X", "containerPort": 82},
            {"containerPort": 0}
        ]),
    );
    let errs = create_errors("", "Pod", p);
    assert_has(
        &errs,
        "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    );
    assert_has(&errs, "spec.containers[0].ports[1].name: Duplicate value: \"http\"");
    assert_has(
        &errs,
        "spec.containers[0].ports[1].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
    );
    assert_has(
        &errs,
        "spec.containers[0].ports[2].name: Invalid value: \"HTTP_X\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
    );
    assert_has(
        &errs,
        "spec.containers[0].ports[2].name: Invalid value: \"HTTP_X\": must contain at least one letter (a-z)",
    );
    assert_has(&errs, "spec.containers[0].ports[3].containerPort: Required value");
}

#[test]
fn restart_and_dns_policies() {
    let mut p = pod();
    set(&mut p, "/spec/restartPolicy", json!("Sometimes"));
    p["spec"]["dnsPolicy"] = json!("Google");
    let errs = create_errors("", "Pod", p);
    assert_has(
        &errs,
        "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
    );
    assert_has(
        &errs,
        "spec.dnsPolicy: Unsupported value: \"Google\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
    );
}

#[test]
fn volumes_unique_with_exactly_one_source() {
    let mut p = pod();
    set(
        &mut p,
        "/spec/volumes",
        json!([
            {"name": "config", "configMap": {"name": "c"}, "secret": {"secretName": "s"}},
            {"name": "cache", "emptyDir": {}},
            {"name": "cache", "emptyDir": {}},
            {"name": "Bad", "emptyDir": {}}
        ]),
    );
    let errs = create_errors("", "Pod", p);
    assert_has(&errs, "spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type");
    assert_has(&errs, "spec.volumes[2].name: Duplicate value: \"cache\"");
    assert_has(&errs, &format!("spec.volumes[3].name: Invalid value: \"Bad\": {LABEL}"));
    assert_has(&errs, "spec.containers[0].volumeMounts[0].name: Not found: \"config\"");
    assert_reason(&errs, "spec.containers[0].volumeMounts[0].name", "FieldValueNotFound");
}

#[test]
fn volume_sources_are_checked() {
    let mut p = pod();
    set(
        &mut p,
        "/spec/volumes/0/configMap",
        json!({"defaultMode": 1000, "items": [{"key": "k", "path": "/abs"}]}),
    );
    set(
        &mut p,
        "/spec/volumes/1",
        json!({"name": "cache", "hostPath": {"path": "/var/../etc", "type": "Folder"}}),
    );
    let errs = create_errors("", "Pod", p);
    assert_has(&errs, "spec.volumes[0].configMap.name: Required value");
    assert_has(
        &errs,
        "spec.volumes[0].configMap.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive",
    );
    assert_has(
        &errs,
        "spec.volumes[0].configMap.items[0].path: Invalid value: \"/abs\": must be a relative path",
    );
    assert_has(&errs, "spec.volumes[1].hostPath.path: Invalid value: \"/var/../etc\": must not contain '..'");
    assert_has(
        &errs,
        "spec.volumes[1].hostPath.type: Unsupported value: \"Folder\": supported values: \"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\"",
    );
}

#[test]
fn volume_mounts() {
    let mut p = pod();
    set(
        &mut p,
        "/spec/containers/0/volumeMounts",
        json!([
            {"name": "config", "mountPath": "/etc/web"},
            {"name": "cache", "mountPath": "/etc/web"},
            {"name": "cache", "mountPath": "/x", "subPath": "../up"}
        ]),
    );
    let errs = create_errors("", "Pod", p);
    assert_has(
        &errs,
        "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/etc/web\": must be unique",
    );
    assert_has(
        &errs,
        "spec.containers[0].volumeMounts.subPath: Invalid value: \"../up\": must not contain '..'",
    );
}

#[test]
fn requests_must_not_exceed_limits() {
    let mut p = pod();
    set(
        &mut p,
        "/spec/containers/0/resources",
        json!({"requests": {"cpu": "2000m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "512Mi", "example.com/gpu": "1"}}),
    );
    let errs = create_errors("", "Pod", p);
    assert_has(
        &errs,
        "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
    );
    assert_has(
        &errs,
        "spec.containers[0].resources.requests: Invalid value: \"1Gi\": must be less than or equal to memory limit of 512Mi",
    );
    assert!(!errs.iter().any(|e| e.field.contains("gpu")), "requests default to limits for Pods");
}

#[test]
fn resource_names_and_quantities() {
    let mut p = pod();
    set(&mut p, "/spec/containers/0/resources", json!({"limits": {"gpu": "1", "cpu": "-1"}}));
    let errs = create_errors("", "Pod", p);
    assert_has(
        &errs,
        "spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource type or fully qualified",
    );
    assert_has(
        &errs,
        "spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource for containers",
    );
    assert_has(
        &errs,
        "spec.containers[0].resources.limits[cpu]: Invalid value: \"-1\": must be greater than or equal to 0",
    );
}

#[test]
fn extended_resources_may_not_overcommit() {
    let mut p = crate::valid_objects::deployment();
    set(&mut p, "/spec/template/spec/containers/0/resources", json!({"requests": {"example.com/gpu": "1"}}));
    let errs = create_errors("apps", "Deployment", p);
    assert_has(
        &errs,
        "spec.template.spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources",
    );
}

#[test]
fn env_names_and_sources() {
    let mut p = pod();
    set(
        &mut p,
        "/spec/containers/0/env",
        json!([
            {"name": "A=B", "value": "x"},
            {"name": "", "value": "x"},
            {"name": "X", "value": "v", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "Y", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels"}}},
            {"name": "Z", "valueFrom": {}}
        ]),
    );
    let errs = create_errors("", "Pod", p);
    assert_has(
        &errs,
        "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
    );
    assert_has(&errs, "spec.containers[0].env[1].name: Required value");
    assert_has(
        &errs,
        "spec.containers[0].env[2].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
    );
    assert_has(
        &errs,
        "spec.containers[0].env[3].valueFrom.fieldRef.fieldPath: Unsupported value: \"metadata.labels\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"",
    );
    assert_has(
        &errs,
        "spec.containers[0].env[4].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
    );
}

#[test]
fn probes() {
    let mut p = pod();
    set(
        &mut p,
        "/spec/containers/0/livenessProbe",
        json!({"httpGet": {"path": "/", "port": 99999}, "successThreshold": 2}),
    );
    set(&mut p, "/spec/containers/0/readinessProbe", json!({"periodSeconds": -1}));
    let errs = create_errors("", "Pod", p);
    assert_has(&errs, "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1");
    assert_has(
        &errs,
        "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 99999: must be between 1 and 65535, inclusive",
    );
    assert_has(&errs, "spec.containers[0].readinessProbe: Required value: must specify a handler type");
    assert_has(
        &errs,
        "spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
    );
}

#[test]
fn init_containers_without_restart_policy_may_not_probe() {
    let mut p = pod();
    set(&mut p, "/spec/initContainers/0/readinessProbe", json!({"exec": {"command": ["true"]}}));
    assert_has(
        &create_errors("", "Pod", p),
        "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
    );
}

#[test]
fn scheduling_fields() {
    let mut p = pod();
    set(
        &mut p,
        "/spec/tolerations",
        json!([{"operator": "Equal", "value": "x"}, {"key": "k", "operator": "Exists", "value": "v", "tolerationSeconds": 5}]),
    );
    p["spec"]["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}});
    let errs = create_errors("", "Pod", p);
    assert_has(
        &errs,
        "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
    );
    assert_has(
        &errs,
        "spec.tolerations[1].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'",
    );
    assert_has(
        &errs,
        "spec.tolerations[1].effect: Invalid value: \"\": effect must be 'NoExecute' when `tolerationSeconds` is set",
    );
    assert_has(
        &errs,
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term",
    );
}

#[test]
fn host_network_ports_must_match() {
    let mut p = pod();
    p["spec"]["hostNetwork"] = json!(true);
    set(&mut p, "/spec/containers/0/ports/0/hostPort", json!(8080));
    assert_has(
        &create_errors("", "Pod", p),
        "spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true",
    );
}

#[test]
fn ephemeral_containers_cannot_be_set_on_create() {
    let mut p = pod();
    p["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox"}]);
    assert_has(&create_errors("", "Pod", p), "spec.ephemeralContainers: Forbidden: cannot be set on create");
}

#[test]
fn pod_updates_only_change_images_and_some_fields() {
    let old = pod();
    let mut new = old.clone();
    set(&mut new, "/spec/containers/0/image", json!("nginx:1.28"));
    new["spec"]["activeDeadlineSeconds"] = json!(600);
    assert_valid(&update_errors("", "Pod", old.clone(), new.clone()));

    set(&mut new, "/spec/restartPolicy", json!("Never"));
    assert_has(
        &update_errors("", "Pod", old.clone(), new),
        "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    );

    let mut fewer = old.clone();
    set(&mut fewer, "/spec/initContainers", json!([]));
    assert_has(
        &update_errors("", "Pod", old.clone(), fewer),
        "spec.initContainers: Forbidden: pod updates may not add or remove containers",
    );

    let mut no_tolerations = old.clone();
    remove(&mut no_tolerations, "/spec/tolerations");
    assert_has(
        &update_errors("", "Pod", old, no_tolerations),
        "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds",
    );
}

#[test]
fn pod_templates_validate_their_spec() {
    let mut t = json!({"metadata": {"name": "t", "namespace": "default"}, "template": crate::valid_objects::pod_template_spec()});
    set(&mut t, "/template/spec/containers/0/name", json!(""));
    set(&mut t, "/template/metadata/labels", json!({"app": "bad value"}));
    let errs = create_errors("", "PodTemplate", t);
    assert_has(&errs, "template.spec.containers[0].name: Required value");
    assert_reason(&errs, "template.labels", "FieldValueInvalid");
}

//! A realistic, valid object of every supported kind; each must default and
//! validate cleanly (creation, and an unchanged update).

use serde_json::{Value, json};

use crate::support::{assert_valid, create_errors, update_errors};

pub fn pod_template_spec() -> Value {
    json!({
        "metadata": {"labels": {"app": "web", "tier": "frontend"}, "annotations": {"example.com/owner": "team-a"}},
        "spec": {
            "containers": [{
                "name": "web",
                "image": "nginx:1.27",
                "ports": [{"name": "http", "containerPort": 80}],
                "env": [
                    {"name": "MODE", "value": "production"},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
                ],
                "envFrom": [{"configMapRef": {"name": "web-config"}}],
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}},
                "volumeMounts": [{"name": "config", "mountPath": "/etc/web"}, {"name": "cache", "mountPath": "/cache"}],
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                "readinessProbe": {"tcpSocket": {"port": 80}, "initialDelaySeconds": 2}
            }],
            "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"]}],
            "volumes": [
                {"name": "config", "configMap": {"name": "web-config", "items": [{"key": "nginx.conf", "path": "nginx.conf"}]}},
                {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}
            ],
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}]
        }
    })
}

pub fn pod() -> Value {
    let t = pod_template_spec();
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": "default", "labels": t["metadata"]["labels"]}, "spec": t["spec"]})
}

pub fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": pod_template_spec()}
    })
}

pub fn replica_set() -> Value {
    let mut d = deployment();
    d["kind"] = json!("ReplicaSet");
    d["spec"]["selector"] =
        json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]});
    d
}

pub fn stateful_set() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {
            "serviceName": "db", "replicas": 2,
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}}]
        }
    })
}

pub fn daemon_set() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "kube-system"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"hostNetwork": true, "containers": [{"name": "agent", "image": "example.com/agent:v1", "ports": [{"containerPort": 9100}]}]}}
        }
    })
}

pub fn replication_controller() -> Value {
    json!({
        "apiVersion": "v1", "kind": "ReplicationController",
        "metadata": {"name": "legacy", "namespace": "default"},
        "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "legacy"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
    })
}

pub fn job() -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default", "uid": "6f8b3d1e-0000-4000-8000-000000000001"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl:5.34", "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(200)"]}]}}}
    })
}

pub fn cron_job() -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "hello", "namespace": "default"},
        "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "hello", "image": "busybox:1.36"}]}}}}}
    })
}

pub fn service() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}, {"name": "https", "port": 443}]}
    })
}

fn all_kinds() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("", "Pod", pod()),
        (
            "",
            "PodTemplate",
            json!({"metadata": {"name": "tpl", "namespace": "default"}, "template": pod_template_spec()}),
        ),
        ("", "ReplicationController", replication_controller()),
        ("", "Service", service()),
        (
            "",
            "Endpoints",
            json!({"metadata": {"name": "web", "namespace": "default"}, "subsets": [{"addresses": [{"ip": "10.1.2.3", "nodeName": "node-1"}], "ports": [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9090}]}]}),
        ),
        (
            "",
            "Node",
            json!({"metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}}, "spec": {"podCIDRs": ["10.244.0.0/24"], "taints": [{"key": "dedicated", "value": "edge", "effect": "NoSchedule"}]}, "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}),
        ),
        ("", "Namespace", json!({"metadata": {"name": "team-a"}})),
        (
            "",
            "ConfigMap",
            json!({"metadata": {"name": "web-config", "namespace": "default"}, "data": {"nginx.conf": "server {}", "MODE": "prod"}, "binaryData": {"logo.png": "iVBORw0KGgo="}}),
        ),
        (
            "",
            "Secret",
            json!({"metadata": {"name": "tls", "namespace": "default"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}}),
        ),
        ("", "ServiceAccount", json!({"metadata": {"name": "builder", "namespace": "ci"}})),
        (
            "",
            "Event",
            json!({"metadata": {"name": "web-0.17a2b3c4", "namespace": "default"}, "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": "default"}, "reason": "Pulled", "message": "Pulled image", "type": "Normal", "count": 1}),
        ),
        (
            "",
            "PersistentVolume",
            json!({"metadata": {"name": "pv-1"}, "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data/pv-1"}, "storageClassName": "manual"}}),
        ),
        (
            "",
            "PersistentVolumeClaim",
            json!({"metadata": {"name": "data", "namespace": "default"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "manual"}}),
        ),
        (
            "",
            "ResourceQuota",
            json!({"metadata": {"name": "quota", "namespace": "team-a"}, "spec": {"hard": {"pods": "10", "requests.cpu": "4", "limits.memory": "8Gi", "count/deployments.apps": "5"}}}),
        ),
        (
            "",
            "LimitRange",
            json!({"metadata": {"name": "limits", "namespace": "team-a"}, "spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"cpu": "100m"}, "default": {"cpu": "500m"}}]}}),
        ),
        ("apps", "Deployment", deployment()),
        ("apps", "ReplicaSet", replica_set()),
        ("apps", "StatefulSet", stateful_set()),
        ("apps", "DaemonSet", daemon_set()),
        (
            "apps",
            "ControllerRevision",
            json!({"metadata": {"name": "web-5d8f", "namespace": "default"}, "data": {"spec": {"template": {}}}, "revision": 2}),
        ),
        ("batch", "Job", job()),
        ("batch", "CronJob", cron_job()),
        (
            "networking.k8s.io",
            "Ingress",
            json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["example.com"], "secretName": "tls"}], "rules": [{"host": "example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}, {"host": "*.example.com", "http": {"paths": [{"path": "/api", "pathType": "Exact", "backend": {"service": {"name": "api", "port": {"name": "http"}}}}]}}]}}),
        ),
        (
            "networking.k8s.io",
            "IngressClass",
            json!({"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx", "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb", "scope": "Cluster"}}}),
        ),
        (
            "networking.k8s.io",
            "NetworkPolicy",
            json!({"metadata": {"name": "db", "namespace": "default"}, "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}, {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0/24"]}}], "ports": [{"port": 5432}]}], "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"protocol": "UDP", "port": 53}]}]}}),
        ),
        (
            "discovery.k8s.io",
            "EndpointSlice",
            json!({"metadata": {"name": "web-abc", "namespace": "default", "labels": {"kubernetes.io/service-name": "web"}}, "addressType": "IPv4", "endpoints": [{"addresses": ["10.1.2.3"], "conditions": {"ready": true}, "nodeName": "node-1"}], "ports": [{"name": "http", "port": 8080}]}),
        ),
        (
            "autoscaling",
            "HorizontalPodAutoscaler",
            json!({"apiVersion": "autoscaling/v2", "metadata": {"name": "web", "namespace": "default"}, "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 10, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}], "behavior": {"scaleDown": {"stabilizationWindowSeconds": 120}}}}),
        ),
        (
            "coordination.k8s.io",
            "Lease",
            json!({"metadata": {"name": "kube-scheduler", "namespace": "kube-system"}, "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 15, "leaseTransitions": 3}}),
        ),
        (
            "node.k8s.io",
            "RuntimeClass",
            json!({"metadata": {"name": "wasm"}, "handler": "wasmtime", "overhead": {"podFixed": {"memory": "16Mi"}}, "scheduling": {"nodeSelector": {"runtime": "wasm"}}}),
        ),
        (
            "events.k8s.io",
            "Event",
            json!({"metadata": {"name": "web-0.17a2b3c5", "namespace": "default"}, "eventTime": "2025-01-01T00:00:00.000000Z", "reportingController": "kubelet", "reportingInstance": "node-1", "action": "Pulling", "reason": "Pulling", "type": "Normal", "regarding": {"kind": "Pod", "name": "web-0", "namespace": "default"}, "note": "Pulling image"}),
        ),
    ]
}

#[test]
fn every_supported_kind_has_a_valid_realistic_object() {
    for (group, kind, obj) in all_kinds() {
        assert!(wasmkube_validation::supports(group, kind), "{group}/{kind} unsupported");
        let errs = create_errors(group, kind, obj);
        assert!(
            errs.is_empty(),
            "{group}/{kind}: {:#?}",
            errs.iter().map(|e| e.message()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn unchanged_updates_are_valid() {
    for (group, kind, obj) in all_kinds() {
        let errs = update_errors(group, kind, obj.clone(), obj);
        assert!(
            errs.is_empty(),
            "{group}/{kind}: {:#?}",
            errs.iter().map(|e| e.message()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn defaulting_is_idempotent_for_every_kind() {
    for (group, kind, mut obj) in all_kinds() {
        wasmkube_validation::default(group, kind, &mut obj);
        let once = obj.clone();
        wasmkube_validation::default(group, kind, &mut obj);
        assert_eq!(once, obj, "{group}/{kind}");
    }
}

#[test]
fn generate_name_stands_in_for_a_missing_name() {
    let mut p = pod();
    p["metadata"] = json!({"generateName": "web-", "namespace": "default"});
    assert_valid(&create_errors("", "Pod", p));
}

//! Defaulting: the full upstream result for a minimal Deployment, and the
//! notable defaults of other kinds.

use serde_json::json;
use wasmkube_validation::default;

#[test]
fn minimal_deployment_matches_upstream_defaulted_object() {
    let mut d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}
        }
    });
    default("apps", "Deployment", &mut d);
    let expected = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "image": "nginx",
                        "imagePullPolicy": "Always",
                        "name": "nginx",
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File"
                    }],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "securityContext": {},
                    "terminationGracePeriodSeconds": 30
                }
            }
        }
    });
    assert_eq!(d, expected, "got {}", serde_json::to_string_pretty(&d).unwrap());
}

#[test]
fn pod_gets_pod_only_and_admission_defaults() {
    let mut p = json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {
        "hostNetwork": true,
        "containers": [{"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 8080}],
            "resources": {"limits": {"cpu": "1000m", "memory": "1024Mi"}},
            "readinessProbe": {"httpGet": {"port": 8080}}}]}});
    default("", "Pod", &mut p);
    let c = &p["spec"]["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["ports"][0], json!({"containerPort": 8080, "hostPort": 8080, "protocol": "TCP"}));
    assert_eq!(
        c["resources"],
        json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}})
    );
    assert_eq!(
        c["readinessProbe"],
        json!({"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    let spec = &p["spec"];
    assert_eq!(spec["enableServiceLinks"], true);
    assert_eq!(spec["priority"], 0);
    assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
    assert_eq!(spec["serviceAccountName"], "default");
    assert_eq!(spec["serviceAccount"], "default");
    assert_eq!(spec["tolerations"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        spec["tolerations"][0],
        json!({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
    );
}

#[test]
fn templates_do_not_get_pod_only_defaults() {
    let mut d = crate::valid_objects::deployment();
    default("apps", "Deployment", &mut d);
    let spec = &d["spec"]["template"]["spec"];
    assert!(spec.get("enableServiceLinks").is_none());
    assert!(spec.get("serviceAccountName").is_none());
    assert_eq!(spec["containers"][0]["resources"]["requests"], json!({"cpu": "100m", "memory": "64Mi"}));
}

#[test]
fn volume_and_env_defaults() {
    let mut p = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {
        "containers": [{"name": "c", "image": "x", "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}],
        "volumes": [{"name": "a"}, {"name": "s", "secret": {"secretName": "s"}}, {"name": "cm", "configMap": {"name": "c"}},
            {"name": "pr", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}, {"name": "h", "hostPath": {"path": "/tmp"}}]}});
    default("", "Pod", &mut p);
    let v = &p["spec"]["volumes"];
    assert_eq!(v[0], json!({"name": "a", "emptyDir": {}}));
    assert_eq!(v[1]["secret"]["defaultMode"], 420);
    assert_eq!(v[2]["configMap"]["defaultMode"], 420);
    assert_eq!(
        v[3]["projected"],
        json!({"defaultMode": 420, "sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]})
    );
    assert_eq!(v[4]["hostPath"], json!({"path": "/tmp", "type": ""}));
    assert_eq!(p["spec"]["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
}

#[test]
fn workload_defaults() {
    let mut sts = crate::valid_objects::stateful_set();
    default("apps", "StatefulSet", &mut sts);
    let spec = &sts["spec"];
    assert_eq!(spec["podManagementPolicy"], "OrderedReady");
    assert_eq!(spec["updateStrategy"], json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}));
    assert_eq!(
        spec["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["volumeClaimTemplates"][0]["spec"]["volumeMode"], "Filesystem");
    assert_eq!(spec["volumeClaimTemplates"][0]["status"], json!({"phase": "Pending"}));

    let mut ds = crate::valid_objects::daemon_set();
    default("apps", "DaemonSet", &mut ds);
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );

    let mut rc = crate::valid_objects::replication_controller();
    default("", "ReplicationController", &mut rc);
    assert_eq!(rc["spec"]["selector"], json!({"app": "legacy"}));
    assert_eq!(rc["metadata"]["labels"], json!({"app": "legacy"}));
}

#[test]
fn job_and_cron_job_defaults() {
    let mut job = crate::valid_objects::job();
    default("batch", "Job", &mut job);
    let spec = &job["spec"];
    let uid = "6f8b3d1e-0000-4000-8000-000000000001";
    assert_eq!(spec["completions"], 1);
    assert_eq!(spec["parallelism"], 1);
    assert_eq!(spec["backoffLimit"], 6);
    assert_eq!(spec["completionMode"], "NonIndexed");
    assert_eq!(spec["suspend"], false);
    assert_eq!(spec["manualSelector"], false);
    assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
    assert_eq!(spec["selector"], json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}));
    assert_eq!(spec["template"]["metadata"]["labels"]["job-name"], "pi");
    assert_eq!(job["metadata"]["labels"]["batch.kubernetes.io/controller-uid"], uid);

    let mut cj = crate::valid_objects::cron_job();
    default("batch", "CronJob", &mut cj);
    let spec = &cj["spec"];
    assert_eq!(spec["concurrencyPolicy"], "Allow");
    assert_eq!(spec["suspend"], false);
    assert_eq!(spec["successfulJobsHistoryLimit"], 3);
    assert_eq!(spec["failedJobsHistoryLimit"], 1);
    assert!(spec["jobTemplate"]["spec"].get("backoffLimit").is_none());
}

#[test]
fn service_defaults() {
    let mut svc = json!({"metadata": {"name": "s", "namespace": "d"}, "spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "ports": [{"port": 80}]}});
    default("", "Service", &mut svc);
    let spec = &svc["spec"];
    assert_eq!(spec["ports"][0], json!({"port": 80, "protocol": "TCP", "targetPort": 80}));
    assert_eq!(spec["sessionAffinityConfig"], json!({"clientIP": {"timeoutSeconds": 10800}}));
    assert_eq!(spec["externalTrafficPolicy"], "Cluster");
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert_eq!(spec["allocateLoadBalancerNodePorts"], true);
    assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));

    let mut headless = json!({"metadata": {"name": "h", "namespace": "d"}, "spec": {"clusterIP": "None"}});
    default("", "Service", &mut headless);
    assert_eq!(headless["spec"]["type"], "ClusterIP");
    assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
    assert_eq!(headless["spec"]["ipFamilyPolicy"], "RequireDualStack");
}

#[test]
fn core_kind_defaults() {
    let mut secret = json!({"metadata": {"name": "s", "namespace": "d"}, "stringData": {"user": "admin"}});
    default("", "Secret", &mut secret);
    assert_eq!(
        secret,
        json!({"metadata": {"name": "s", "namespace": "d"}, "type": "Opaque", "data": {"user": "YWRtaW4="}})
    );

    let mut ns = json!({"metadata": {"name": "team-a"}});
    default("", "Namespace", &mut ns);
    assert_eq!(
        ns,
        json!({"metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}}, "status": {"phase": "Active"}})
    );

    let mut pvc = json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1024Mi"}}}});
    default("", "PersistentVolumeClaim", &mut pvc);
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "1Gi");
    assert_eq!(pvc["status"]["phase"], "Pending");

    let mut pv = json!({"metadata": {"name": "v"}, "spec": {"capacity": {"storage": "5Gi"}, "hostPath": {"path": "/d"}}});
    default("", "PersistentVolume", &mut pv);
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(pv["status"]["phase"], "Pending");

    let mut lr = json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]}});
    default("", "LimitRange", &mut lr);
    assert_eq!(lr["spec"]["limits"][0]["default"], json!({"cpu": "2"}));
    assert_eq!(lr["spec"]["limits"][0]["defaultRequest"], json!({"cpu": "2", "memory": "64Mi"}));
}

#[test]
fn other_group_defaults() {
    let mut np = json!({"metadata": {"name": "n", "namespace": "d"}, "spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}});
    default("networking.k8s.io", "NetworkPolicy", &mut np);
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(np["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");

    let mut hpa = json!({"apiVersion": "autoscaling/v2", "metadata": {"name": "h", "namespace": "d"}, "spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "web"}, "behavior": {"scaleUp": {"stabilizationWindowSeconds": 30}}}});
    default("autoscaling", "HorizontalPodAutoscaler", &mut hpa);
    assert_eq!(hpa["spec"]["minReplicas"], 1);
    assert_eq!(hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 80);
    assert_eq!(hpa["spec"]["behavior"]["scaleUp"]["stabilizationWindowSeconds"], 30);
    assert_eq!(hpa["spec"]["behavior"]["scaleUp"]["selectPolicy"], "Max");
    assert_eq!(hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"], 300);

    let mut slice = json!({"metadata": {"name": "e", "namespace": "d"}, "addressType": "IPv4", "endpoints": [], "ports": [{"port": 80}]});
    default("discovery.k8s.io", "EndpointSlice", &mut slice);
    assert_eq!(slice["ports"][0], json!({"port": 80, "name": "", "protocol": "TCP"}));
}

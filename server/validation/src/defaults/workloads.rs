//! Defaults of Pods and the controllers that template them.

use serde_json::{Map, Value, json};

use crate::json::{arr, child_mut, each_mut, ensure_obj, get, obj, s, set_default, set_default_nonzero};

use super::{persistent_volume_claim, pod::pod_spec, template};

/// `SetDefaults_Pod` plus what the default admission chain adds to every Pod
/// (Priority, ServiceAccount without the token volume, DefaultTolerationSeconds).
pub fn pod(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    pod_spec(spec);
    for key in ["containers", "initContainers"] {
        each_mut(spec, key, requests_from_limits);
    }
    set_default(spec, "enableServiceLinks", json!(true));
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        for key in ["containers", "initContainers"] {
            each_mut(spec, key, |c| each_mut(c, "ports", host_port_from_container_port));
        }
    }
    admission_defaults(spec);
}

/// Requests default to limits for resources that only have a limit (Pods only).
fn requests_from_limits(c: &mut Value) {
    let Some(res) = child_mut(c, "resources") else {
        return;
    };
    let Some(limits) = obj(res, "limits").cloned() else {
        return;
    };
    let requests = ensure_obj(res, "requests");
    for (k, v) in limits {
        set_default(requests, &k, v);
    }
}

fn host_port_from_container_port(p: &mut Value) {
    if crate::json::int0(p, "hostPort") == 0
        && let Some(cp) = get(p, "containerPort").cloned()
    {
        p["hostPort"] = cp;
    }
}

fn admission_defaults(spec: &mut Value) {
    let class = s(spec, "priorityClassName");
    let priority = match class {
        "" => Some(0),
        "system-cluster-critical" => Some(2_000_000_000),
        "system-node-critical" => Some(2_000_001_000),
        _ => None,
    };
    if let Some(p) = priority {
        set_default(spec, "priority", json!(p));
        set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
    let legacy = s(spec, "serviceAccount").to_owned();
    let sa = match s(spec, "serviceAccountName") {
        "" if !legacy.is_empty() => legacy,
        "" => "default".to_owned(),
        name => name.to_owned(),
    };
    spec["serviceAccountName"] = json!(sa);
    spec["serviceAccount"] = json!(sa);
    default_tolerations(spec);
}

/// DefaultTolerationSeconds: tolerate not-ready/unreachable nodes for 300s
/// unless the pod already tolerates those taints.
fn default_tolerations(spec: &mut Value) {
    for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
        let tolerated = arr(spec, "tolerations").iter().any(|t| {
            let effect = s(t, "effect");
            let key_matches = s(t, "key") == key || (s(t, "key").is_empty() && s(t, "operator") == "Exists");
            key_matches && (effect.is_empty() || effect == "NoExecute")
        });
        if !tolerated {
            let t =
                json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300});
            match spec.get_mut("tolerations") {
                Some(Value::Array(list)) => list.push(t),
                _ => spec["tolerations"] = json!([t]),
            }
        }
    }
}

/// `SetDefaults_Deployment`.
pub fn deployment(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    set_default(spec, "replicas", json!(1));
    let strategy = ensure_obj(spec, "strategy");
    set_default_nonzero(strategy, "type", json!("RollingUpdate"));
    if s(strategy, "type") == "RollingUpdate" {
        let ru = ensure_obj(strategy, "rollingUpdate");
        set_default(ru, "maxUnavailable", json!("25%"));
        set_default(ru, "maxSurge", json!("25%"));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    template(ensure_obj(spec, "template"));
}

/// `SetDefaults_ReplicaSet`.
pub fn replica_set(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    set_default(spec, "replicas", json!(1));
    template(ensure_obj(spec, "template"));
}

/// `SetDefaults_ReplicationController`: selector and labels come from the
/// template's labels when unset.
pub fn replication_controller(obj: &mut Value) {
    let labels = get(obj, "spec")
        .and_then(|s| get(s, "template"))
        .and_then(|t| get(t, "metadata"))
        .and_then(|m| get(m, "labels"))
        .cloned();
    if let Some(labels) = labels {
        let spec = ensure_obj(obj, "spec");
        if obj_is_empty(spec.get("selector")) {
            spec["selector"] = labels.clone();
        }
        let meta = ensure_obj(obj, "metadata");
        if obj_is_empty(meta.get("labels")) {
            meta["labels"] = labels;
        }
    }
    let spec = ensure_obj(obj, "spec");
    set_default(spec, "replicas", json!(1));
    if let Some(t) = child_mut(spec, "template") {
        template(t);
    }
}

fn obj_is_empty(v: Option<&Value>) -> bool {
    v.and_then(Value::as_object).is_none_or(Map::is_empty)
}

/// `SetDefaults_StatefulSet`, plus PVC defaults on `volumeClaimTemplates`.
pub fn stateful_set(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    set_default_nonzero(spec, "podManagementPolicy", json!("OrderedReady"));
    let strategy = ensure_obj(spec, "updateStrategy");
    if s(strategy, "type").is_empty() {
        strategy["type"] = json!("RollingUpdate");
        set_default(strategy, "rollingUpdate", json!({}));
    }
    if s(strategy, "type") == "RollingUpdate"
        && let Some(ru) = child_mut(strategy, "rollingUpdate")
    {
        set_default(ru, "partition", json!(0));
    }
    let policy = ensure_obj(spec, "persistentVolumeClaimRetentionPolicy");
    set_default_nonzero(policy, "whenDeleted", json!("Retain"));
    set_default_nonzero(policy, "whenScaled", json!("Retain"));
    set_default(spec, "replicas", json!(1));
    set_default(spec, "revisionHistoryLimit", json!(10));
    each_mut(spec, "volumeClaimTemplates", persistent_volume_claim);
    template(ensure_obj(spec, "template"));
}

/// `SetDefaults_DaemonSet`.
pub fn daemon_set(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    let strategy = ensure_obj(spec, "updateStrategy");
    set_default_nonzero(strategy, "type", json!("RollingUpdate"));
    if s(strategy, "type") == "RollingUpdate" {
        let ru = ensure_obj(strategy, "rollingUpdate");
        set_default(ru, "maxUnavailable", json!(1));
        set_default(ru, "maxSurge", json!(0));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    template(ensure_obj(spec, "template"));
}

/// `SetDefaults_Job`, plus the registry's generated selector (which needs
/// `metadata.uid`, so the caller defaults after assigning it).
pub fn job(obj: &mut Value) {
    generate_job_selector(obj);
    let template_labels = get(obj, "spec")
        .and_then(|s| get(s, "template"))
        .and_then(|t| get(t, "metadata"))
        .and_then(|m| get(m, "labels"))
        .cloned();
    if let Some(labels) = template_labels {
        let meta = ensure_obj(obj, "metadata");
        if obj_is_empty(meta.get("labels")) {
            meta["labels"] = labels;
        }
    }
    let spec = ensure_obj(obj, "spec");
    if !crate::json::has(spec, "completions") && !crate::json::has(spec, "parallelism") {
        spec["completions"] = json!(1);
    }
    set_default(spec, "parallelism", json!(1));
    let backoff = if crate::json::has(spec, "backoffLimitPerIndex") { i32::MAX } else { 6 };
    set_default(spec, "backoffLimit", json!(backoff));
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    let replacement =
        if crate::json::has(spec, "podFailurePolicy") { "Failed" } else { "TerminatingOrFailed" };
    set_default(spec, "podReplacementPolicy", json!(replacement));
    set_default(spec, "manualSelector", json!(false));
    template(ensure_obj(spec, "template"));
}

/// The job strategy's `generateSelector`: pods of a Job carry its uid and name.
fn generate_job_selector(obj: &mut Value) {
    let uid = get(obj, "metadata").map(|m| s(m, "uid").to_owned()).unwrap_or_default();
    let name = get(obj, "metadata").map(|m| s(m, "name").to_owned()).unwrap_or_default();
    let spec = ensure_obj(obj, "spec");
    if uid.is_empty() || spec.get("manualSelector").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let labels = ensure_obj(ensure_obj(ensure_obj(spec, "template"), "metadata"), "labels");
    for key in ["job-name", "batch.kubernetes.io/job-name"] {
        set_default(labels, key, json!(name));
    }
    for key in ["controller-uid", "batch.kubernetes.io/controller-uid"] {
        set_default(labels, key, json!(uid));
    }
    if !crate::json::has(spec, "selector") {
        spec["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
    }
}

/// `SetDefaults_CronJob`; the job template only gets pod-template defaults.
pub fn cron_job(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    set_default_nonzero(spec, "concurrencyPolicy", json!("Allow"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
    let job_spec = ensure_obj(ensure_obj(spec, "jobTemplate"), "spec");
    template(ensure_obj(job_spec, "template"));
}

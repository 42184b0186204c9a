//! The Pod's `status` as the API shows it, computed from what the worker observed: the
//! runtime's container states, probe results, the pod's addresses and any reason the pod could
//! not start. Pure, so it is tested without a runtime.

use serde_json::{Value, json};
use std::collections::HashMap;
use wasmkube_runtime::{ContainerState, ContainerStatus, PodPhase, PodStatus};

/// Everything the status is computed from.
pub(crate) struct Observed<'a> {
    pub pod: &'a Value,
    pub runtime: Option<&'a PodStatus>,
    pub pod_ip: Option<std::net::Ipv4Addr>,
    pub host_ip: &'a str,
    pub start_time: &'a str,
    /// Why containers that never ran are waiting (ErrImagePull, CreateContainerConfigError, ...).
    pub waiting: Option<&'a (String, String)>,
    /// The pod failed as a whole (DeadlineExceeded, ContainerStatusUnknown after a restart).
    pub failure: Option<&'a (String, String)>,
    /// Readiness and startup probe results, by container (absent: no such probe).
    pub ready: &'a HashMap<String, bool>,
    pub started: &'a HashMap<String, bool>,
    /// Restarts before this agent started the pod (a server restart counts as one).
    pub restart_offset: &'a HashMap<String, u32>,
    pub image_ids: &'a HashMap<String, String>,
}

/// The kubelet's conditions, in its order.
const OWN_CONDITIONS: [&str; 4] = ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"];

pub(crate) fn build(o: &Observed<'_>) -> Value {
    let uid = o.pod.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("");
    let spec_containers = |key: &str| {
        o.pod.pointer(&format!("/spec/{key}")).and_then(Value::as_array).cloned().unwrap_or_default()
    };
    let main_specs = spec_containers("containers");
    let init_specs = spec_containers("initContainers");
    let status_of = |name: &str| o.runtime.and_then(|r| r.container(name));
    let containers: Vec<Value> =
        main_specs.iter().map(|c| container_status(o, uid, c, status_of(name_of(c)))).collect();
    let inits: Vec<Value> =
        init_specs.iter().map(|c| container_status(o, uid, c, status_of(name_of(c)))).collect();
    let phase = match (o.failure, o.runtime) {
        (Some(_), _) => "Failed",
        (None, Some(r)) => phase_name(r.phase),
        (None, None) => "Pending",
    };
    let terminal = matches!(phase, "Succeeded" | "Failed");
    let all_ready = |list: &[Value]| list.iter().all(|c| c.get("ready") == Some(&json!(true)));
    let sidecars_ready =
        inits.iter().zip(&init_specs).filter(|(_, s)| is_sidecar(s)).all(|(c, _)| c["ready"] == json!(true));
    let containers_ready = !terminal && all_ready(&containers) && sidecars_ready;
    let initialized = o.runtime.is_some_and(|r| {
        r.init_containers
            .iter()
            .all(|c| if c.sidecar { started_state(&c.state) } else { c.state.exit_code() == Some(0) })
    });
    let not_ready: Vec<&str> =
        containers.iter().filter(|c| c["ready"] != json!(true)).filter_map(|c| c["name"].as_str()).collect();
    let unready_msg = format!("containers with unready status: [{}]", not_ready.join(" "));
    let reason_ready = if terminal { "PodCompleted" } else { "ContainersNotReady" };
    let pending_inits: Vec<&str> = inits
        .iter()
        .filter(|c| c.pointer("/state/terminated/exitCode") != Some(&json!(0)) && c["started"] != json!(true))
        .filter_map(|c| c["name"].as_str())
        .collect();
    let mut ours = vec![
        cond(
            "PodReadyToStartContainers",
            o.runtime.is_some() && !(terminal && o.runtime.is_some_and(|r| r.ended)),
            "",
            "",
        ),
        if initialized || terminal {
            cond("Initialized", true, if terminal && !initialized { "PodCompleted" } else { "" }, "")
        } else {
            cond(
                "Initialized",
                false,
                "ContainersNotInitialized",
                &format!("containers with incomplete status: [{}]", pending_inits.join(" ")),
            )
        },
        if containers_ready {
            cond("ContainersReady", true, "", "")
        } else {
            cond("ContainersReady", false, reason_ready, if terminal { "" } else { &unready_msg })
        },
        if containers_ready {
            cond("Ready", true, "", "")
        } else {
            cond("Ready", false, reason_ready, if terminal { "" } else { &unready_msg })
        },
    ];
    // An eviction is a disruption, as the kubelet reports it.
    if let Some((reason, message)) = o.failure
        && reason == "Evicted"
    {
        ours.push(cond("DisruptionTarget", true, "TerminationByKubelet", message));
    }
    let mut status = json!({
        "phase": phase,
        "conditions": merge_conditions(o.pod, &ours),
        "hostIP": o.host_ip,
        "hostIPs": [{"ip": o.host_ip}],
        "startTime": o.start_time,
        "containerStatuses": containers,
        "qosClass": qos_class(o.pod),
    });
    if !inits.is_empty() {
        status["initContainerStatuses"] = json!(inits);
    }
    if let Some(ip) = o.pod_ip {
        status["podIP"] = json!(ip.to_string());
        status["podIPs"] = json!([{"ip": ip.to_string()}]);
    }
    if let Some((reason, message)) = o.failure {
        status["reason"] = json!(reason);
        status["message"] = json!(message);
    } else if let Some(message) = o.runtime.and_then(|r| r.message.as_ref()) {
        status["message"] = json!(message);
    }
    status
}

fn name_of(c: &Value) -> &str {
    c.get("name").and_then(Value::as_str).unwrap_or("")
}

fn is_sidecar(c: &Value) -> bool {
    c.get("restartPolicy").and_then(Value::as_str) == Some("Always")
}

fn phase_name(p: PodPhase) -> &'static str {
    match p {
        PodPhase::Pending => "Pending",
        PodPhase::Running => "Running",
        PodPhase::Succeeded => "Succeeded",
        PodPhase::Failed => "Failed",
    }
}

fn started_state(s: &ContainerState) -> bool {
    matches!(s, ContainerState::Running { .. })
}

fn container_status(o: &Observed<'_>, uid: &str, spec: &Value, observed: Option<&ContainerStatus>) -> Value {
    let name = name_of(spec);
    let image = spec.get("image").and_then(Value::as_str).unwrap_or("");
    let offset = o.restart_offset.get(name).copied().unwrap_or(0);
    let restarts = observed.map_or(0, |c| c.restart_count) + offset;
    let running = observed.is_some_and(|c| started_state(&c.state));
    let started = running && o.started.get(name).copied().unwrap_or(true);
    let probe_ready = o.ready.get(name).copied().unwrap_or(true);
    let ready = started && probe_ready && o.failure.is_none();
    let container_id = format!("wasm://{uid}/{name}/{restarts}");
    let state = match (observed.map(|c| &c.state), o.waiting) {
        (Some(ContainerState::Waiting { reason }), Some((r, m)))
            if reason == "PodInitializing" || reason == "ContainerCreating" =>
        {
            json!({"waiting": {"reason": r, "message": m}})
        }
        (None, Some((r, m))) => json!({"waiting": {"reason": r, "message": m}}),
        (Some(s), _) => state_json(s, &container_id),
        (None, None) => json!({"waiting": {"reason": "ContainerCreating"}}),
    };
    let mut out = json!({
        "name": name,
        "image": image,
        "imageID": o.image_ids.get(image).cloned().unwrap_or_default(),
        "ready": ready,
        "restartCount": restarts,
        "started": started,
        "state": state,
        "lastState": observed.and_then(|c| c.last_state.as_ref()).map_or(json!({}), |s| state_json(s, &container_id)),
    });
    if running || observed.is_some_and(|c| c.state.is_terminated()) {
        out["containerID"] = json!(container_id);
    }
    out
}

fn state_json(s: &ContainerState, container_id: &str) -> Value {
    let ts = |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match s {
        ContainerState::Waiting { reason } => json!({"waiting": {"reason": reason}}),
        ContainerState::Running { started_at } => json!({"running": {"startedAt": ts(started_at)}}),
        ContainerState::Terminated { exit_code, reason, message, started_at, finished_at } => {
            let mut t = json!({"exitCode": exit_code, "reason": reason, "startedAt": ts(started_at),
                               "finishedAt": ts(finished_at), "containerID": container_id});
            if let Some(m) = message {
                t["message"] = json!(m);
            }
            json!({"terminated": t})
        }
    }
}

fn cond(ty: &str, status: bool, reason: &str, message: &str) -> Value {
    let mut c = json!({"type": ty, "status": if status { "True" } else { "False" }});
    if !reason.is_empty() {
        c["reason"] = json!(reason);
    }
    if !message.is_empty() {
        c["message"] = json!(message);
    }
    c
}

/// Other writers' conditions (PodScheduled, DisruptionTarget) stay; ours replace the previous
/// ones and keep their transition time while their status is unchanged.
fn merge_conditions(pod: &Value, ours: &[Value]) -> Vec<Value> {
    let existing = pod.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let now = wasmkube_api::meta::now_rfc3339();
    let mut out: Vec<Value> = existing
        .iter()
        .filter(|c| {
            !OWN_CONDITIONS.contains(&c["type"].as_str().unwrap_or(""))
                && !ours.iter().any(|o| o["type"] == c["type"])
        })
        .cloned()
        .collect();
    for c in ours {
        let mut c = c.clone();
        let before = existing.iter().find(|e| e["type"] == c["type"]);
        let since =
            before.filter(|e| e["status"] == c["status"]).and_then(|e| e.get("lastTransitionTime").cloned());
        c["lastTransitionTime"] = since.unwrap_or_else(|| json!(now));
        c["lastProbeTime"] = Value::Null;
        out.push(c);
    }
    out
}

/// Guaranteed when every container's requests equal its limits for cpu and memory;
/// BestEffort when none sets any; Burstable otherwise.
pub(crate) fn qos_class(pod: &Value) -> &'static str {
    let all: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| pod.pointer(&format!("/spec/{k}")).and_then(Value::as_array))
        .flatten()
        .collect();
    let get = |c: &Value, kind: &str, res: &str| c.pointer(&format!("/resources/{kind}/{res}")).cloned();
    let any = all.iter().any(|c| {
        ["cpu", "memory"].iter().any(|r| get(c, "requests", r).is_some() || get(c, "limits", r).is_some())
    });
    if !any {
        return "BestEffort";
    }
    let guaranteed = all.iter().all(|c| {
        ["cpu", "memory"].iter().all(|r| {
            let limit = get(c, "limits", r);
            limit.is_some() && get(c, "requests", r).is_none_or(|q| Some(q) == limit)
        })
    });
    if guaranteed { "Guaranteed" } else { "Burstable" }
}

/// The conditions the node agent owns in a pod status, as (type, status) pairs.
pub(crate) fn own_conditions(status: &Value) -> Vec<(&str, &str)> {
    let conditions =
        status.get("conditions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let mut own: Vec<(&str, &str)> = conditions
        .iter()
        .map(|c| (c["type"].as_str().unwrap_or(""), c["status"].as_str().unwrap_or("")))
        .filter(|(kind, _)| OWN_CONDITIONS.contains(kind))
        .collect();
    own.sort_unstable();
    own
}

/// The status without timestamps that change on every computation, to decide whether a write is due.
pub(crate) fn comparable(status: &Value) -> Value {
    let mut s = status.clone();
    if let Some(cs) = s.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in cs {
            if let Some(m) = c.as_object_mut() {
                m.remove("lastTransitionTime");
            }
        }
    }
    s
}

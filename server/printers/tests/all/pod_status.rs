//! The READY / STATUS / RESTARTS cells through every branch of upstream's pod status logic.

use serde_json::{Value, json};

use crate::support::{ago, meta, row};

/// `[ready, status, restarts]` of a pod.
fn summary(pod: &Value) -> [String; 3] {
    let cells = row("", "Pod", pod);
    let text = |i: usize| cells[i].as_str().expect("string cell").to_owned();
    [text(1), text(2), text(3)]
}

fn pod(spec: Value, status: Value) -> Value {
    json!({"metadata": meta("p", 600), "spec": spec, "status": status})
}

fn one_container() -> Value {
    json!({"containers": [{"name": "app", "image": "app:1"}]})
}

fn two_inits() -> Value {
    json!({
        "initContainers": [{"name": "migrate"}, {"name": "seed"}],
        "containers": [{"name": "app"}]
    })
}

fn expect(pod: &Value, ready: &str, status: &str, restarts: &str) {
    assert_eq!(summary(pod), [ready, status, restarts].map(str::to_owned));
}

#[test]
fn phase_is_the_starting_point() {
    expect(&pod(one_container(), json!({"phase": "Pending"})), "0/1", "Pending", "0");
    // The API server sets Pending on create, so an object without status is pending.
    expect(&pod(one_container(), json!({})), "0/1", "Pending", "0");
    let evicted = json!({"phase": "Failed", "reason": "Evicted"});
    expect(&pod(one_container(), evicted), "0/1", "Evicted", "0");
}

#[test]
fn waiting_and_terminated_app_containers() {
    let creating = json!({"phase": "Pending", "containerStatuses": [
        {"name": "app", "ready": false, "state": {"waiting": {"reason": "ContainerCreating"}}}
    ]});
    expect(&pod(one_container(), creating), "0/1", "ContainerCreating", "0");
    let oom = json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "restartCount": 4, "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}
    ]});
    expect(&pod(one_container(), oom), "0/1", "OOMKilled", "4");
    let exit_code = json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "state": {"terminated": {"exitCode": 2}}}
    ]});
    expect(&pod(one_container(), exit_code), "0/1", "ExitCode:2", "0");
    let signal = json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "state": {"terminated": {"exitCode": 137, "signal": 9}}}
    ]});
    expect(&pod(one_container(), signal), "0/1", "Signal:9", "0");
}

#[test]
fn the_first_listed_container_reason_wins() {
    let spec = json!({"containers": [{"name": "a"}, {"name": "b"}]});
    let status = json!({"phase": "Running", "containerStatuses": [
        {"name": "a", "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "restartCount": 7,
         "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(90)}}},
        {"name": "b", "state": {"waiting": {"reason": "ImagePullBackOff"}}}
    ]});
    expect(&pod(spec, status), "0/2", "CrashLoopBackOff", "7 (90s ago)");
}

#[test]
fn init_containers_progress() {
    let first_running = json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "migrate", "state": {"running": {}}},
        {"name": "seed", "state": {"waiting": {"reason": "PodInitializing"}}}
    ]});
    expect(&pod(two_inits(), first_running), "0/1", "Init:0/2", "0");
    let second_running = json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "migrate", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "seed", "state": {"running": {}}}
    ]});
    expect(&pod(two_inits(), second_running), "0/1", "Init:1/2", "0");
    let done = json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "migrate", "state": {"terminated": {"exitCode": 0}}},
        {"name": "seed", "state": {"terminated": {"exitCode": 0}}}
    ], "containerStatuses": [
        {"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}
    ]});
    expect(&pod(two_inits(), done), "0/1", "PodInitializing", "0");
}

#[test]
fn failing_init_containers() {
    let crash_loop = json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "migrate", "restartCount": 3,
         "state": {"waiting": {"reason": "CrashLoopBackOff"}},
         "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(120)}}}
    ], "containerStatuses": [{"name": "app", "restartCount": 9}]});
    // While initialising, only init container restarts count.
    expect(&pod(two_inits(), crash_loop), "0/1", "Init:CrashLoopBackOff", "3 (2m ago)");
    let error = json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "migrate", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
    ]});
    expect(&pod(two_inits(), error), "0/1", "Init:Error", "0");
    let exit_code = json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "migrate", "state": {"terminated": {"exitCode": 3}}}
    ]});
    expect(&pod(two_inits(), exit_code), "0/1", "Init:ExitCode:3", "0");
    let signal = json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "migrate", "state": {"terminated": {"exitCode": 0, "signal": 15}}}
    ]});
    // Exit code 0 means the init container finished, whatever the signal; with no status yet
    // for the second one the walk ends there and the phase shows.
    expect(&pod(two_inits(), signal), "0/1", "Pending", "0");
    let killed = json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "migrate", "state": {"terminated": {"exitCode": 137, "signal": 9}}}
    ]});
    expect(&pod(two_inits(), killed), "0/1", "Init:Signal:9", "0");
}

#[test]
fn sidecar_init_containers_count_as_containers() {
    let spec = json!({
        "initContainers": [{"name": "mesh", "restartPolicy": "Always"}],
        "containers": [{"name": "app"}]
    });
    let status = json!({"phase": "Running",
        "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
        "initContainerStatuses": [
            {"name": "mesh", "started": true, "ready": true, "restartCount": 1,
             "state": {"running": {}},
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(600)}}}
        ],
        "containerStatuses": [{"name": "app", "ready": true, "state": {"running": {}}}]
    });
    expect(&pod(spec, status), "2/2", "Running", "1 (10m ago)");
}

#[test]
fn completed_pods() {
    let completed = json!({"phase": "Succeeded", "containerStatuses": [
        {"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    ]});
    expect(&pod(one_container(), completed), "0/1", "Completed", "0");
    let spec = json!({"containers": [{"name": "a"}, {"name": "b"}]});
    let partly = |conditions: Value| {
        json!({"phase": "Running", "conditions": conditions, "containerStatuses": [
            {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "b", "ready": true, "state": {"running": {}}}
        ]})
    };
    let ready = partly(json!([{"type": "Ready", "status": "True"}]));
    expect(&pod(spec.clone(), ready), "1/2", "Running", "0");
    let not_ready = partly(json!([{"type": "Ready", "status": "False"}]));
    expect(&pod(spec, not_ready), "1/2", "NotReady", "0");
}

#[test]
fn deletion_overrides_live_status_only() {
    let running = json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": true, "state": {"running": {}}}
    ]});
    let mut deleting = pod(one_container(), running);
    deleting["metadata"]["deletionTimestamp"] = json!(ago(5));
    expect(&deleting, "1/1", "Terminating", "0");

    let succeeded = json!({"phase": "Succeeded", "containerStatuses": [
        {"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    ]});
    let mut finished = pod(one_container(), succeeded);
    finished["metadata"]["deletionTimestamp"] = json!(ago(5));
    expect(&finished, "0/1", "Completed", "0");

    let mut lost = pod(one_container(), json!({"phase": "Running", "reason": "NodeLost"}));
    lost["metadata"]["deletionTimestamp"] = json!(ago(5));
    expect(&lost, "0/1", "Unknown", "0");
}

#[test]
fn scheduling_gated_pods() {
    let gated = json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}
    ]});
    expect(&pod(one_container(), gated), "0/1", "SchedulingGated", "0");
}

#[test]
fn restarts_without_a_known_time_are_a_bare_count() {
    let status = json!({"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": true, "restartCount": 4, "state": {"running": {}}}
    ]});
    expect(&pod(one_container(), status), "1/1", "Running", "4");
}

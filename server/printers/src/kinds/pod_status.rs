//! The READY, STATUS and RESTARTS summary of a pod, following upstream's `printPod` step by step.
//!
//! STATUS is not the pod phase: it is the most telling reason found while walking the containers —
//! an init container still running (`Init:0/2`) or crash-looping (`Init:CrashLoopBackOff`), a
//! waiting or terminated app container (`ContainerCreating`, `OOMKilled`, `ExitCode:1`), and
//! finally `Terminating` for a pod being deleted. Users read these strings, and scripts grep for
//! them, so every branch mirrors upstream, including its ordering quirks (app containers are
//! walked last-to-first, so the first container's reason wins).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::field::Field;

/// What the READY, STATUS and RESTARTS cells are made of.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PodSummary {
    pub(crate) ready: usize,
    pub(crate) total: usize,
    pub(crate) reason: String,
    pub(crate) restarts: Restarts,
}

/// Restarts counted so far and when the most recent one ended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Restarts {
    pub(crate) count: i64,
    pub(crate) last: Option<DateTime<Utc>>,
}

impl Restarts {
    fn add(&mut self, status: Field<'_>) {
        self.count += status.get("restartCount").int_or_zero();
        let finished = status.path(&["lastState", "terminated", "finishedAt"]).time();
        self.last = self.last.max(finished);
    }
}

/// Walks a pod the way upstream does and returns its summary.
pub(crate) fn summarize(pod: Field<'_>) -> PodSummary {
    let status = pod.get("status");
    // The API server sets `Pending` on create, so a stored pod without a phase is pending.
    let phase = status.get("phase").str().unwrap_or("Pending");
    let mut summary = PodSummary {
        ready: 0,
        total: pod.path(&["spec", "containers"]).array_len(),
        reason: status.get("reason").non_empty().unwrap_or(phase).to_owned(),
        restarts: Restarts::default(),
    };
    if is_scheduling_gated(status) {
        "SchedulingGated".clone_into(&mut summary.reason);
    }
    let restartable = restartable_init_containers(pod.get("spec"));
    summary.total += pod
        .path(&["spec", "initContainers"])
        .items()
        .filter(|c| c.get("restartPolicy").str() == Some("Always"))
        .count();

    let init = walk_init_containers(pod, &restartable, &mut summary);
    if !init.initializing || condition_is_true(status, "Initialized") {
        summary.restarts = init.restartable_restarts;
        walk_app_containers(status, &mut summary);
    } else {
        summary.restarts = init.all_restarts;
    }

    let deleting = pod.path(&["metadata", "deletionTimestamp"]).is_set();
    if deleting && status.get("reason").str() == Some("NodeLost") {
        "Unknown".clone_into(&mut summary.reason);
    } else if deleting && !matches!(phase, "Failed" | "Succeeded") {
        "Terminating".clone_into(&mut summary.reason);
    }
    summary
}

/// The RESTARTS cell: `3`, or `3 (5m ago)` once a restart time is known.
pub(crate) fn restarts_text(restarts: Restarts, now: DateTime<Utc>) -> String {
    match restarts.last {
        Some(last) if restarts.count != 0 => {
            format!("{} ({} ago)", restarts.count, crate::duration::human_duration(now - last))
        }
        _ => restarts.count.to_string(),
    }
}

/// Result of walking the init container statuses.
struct InitWalk {
    initializing: bool,
    all_restarts: Restarts,
    restartable_restarts: Restarts,
}

/// Init container name -> whether it is a sidecar (`restartPolicy: Always`).
fn restartable_init_containers<'a>(spec: Field<'a>) -> HashMap<&'a str, bool> {
    spec.get("initContainers")
        .items()
        .map(|c| {
            let name = c.get("name").str().unwrap_or_default();
            (name, c.get("restartPolicy").str() == Some("Always"))
        })
        .collect()
}

fn walk_init_containers(
    pod: Field<'_>,
    restartable: &HashMap<&str, bool>,
    summary: &mut PodSummary,
) -> InitWalk {
    let mut walk = InitWalk {
        initializing: false,
        all_restarts: Restarts::default(),
        restartable_restarts: Restarts::default(),
    };
    let declared = pod.path(&["spec", "initContainers"]).array_len();
    for (index, container) in pod.path(&["status", "initContainerStatuses"]).items().enumerate() {
        walk.all_restarts.add(container);
        let name = container.get("name").str().unwrap_or_default();
        let is_sidecar = restartable.get(name).copied().unwrap_or(false);
        if is_sidecar {
            walk.restartable_restarts.add(container);
        }
        let state = container.get("state");
        let terminated = state.get("terminated");
        if terminated.is_object() && terminated.get("exitCode").int_or_zero() == 0 {
            continue;
        }
        if is_sidecar && container.get("started").bool() == Some(true) {
            if container.get("ready").bool() == Some(true) {
                summary.ready += 1;
            }
            continue;
        }
        summary.reason = init_reason(state, index, declared);
        walk.initializing = true;
        break;
    }
    walk
}

/// STATUS for the first init container that has not finished.
fn init_reason(state: Field<'_>, index: usize, declared: usize) -> String {
    let terminated = state.get("terminated");
    let waiting_reason = state.path(&["waiting", "reason"]).non_empty();
    if terminated.is_object() {
        return format!("Init:{}", terminated_reason(terminated));
    }
    match waiting_reason {
        Some(reason) if state.get("waiting").is_object() && reason != "PodInitializing" => {
            format!("Init:{reason}")
        }
        _ => format!("Init:{index}/{declared}"),
    }
}

/// `reason`, else `Signal:N`, else `ExitCode:N` for a terminated container.
fn terminated_reason(terminated: Field<'_>) -> String {
    if let Some(reason) = terminated.get("reason").non_empty() {
        return reason.to_owned();
    }
    let signal = terminated.get("signal").int_or_zero();
    if signal != 0 {
        format!("Signal:{signal}")
    } else {
        format!("ExitCode:{}", terminated.get("exitCode").int_or_zero())
    }
}

/// App containers, last to first, so the reason of the first listed container wins.
fn walk_app_containers(status: Field<'_>, summary: &mut PodSummary) {
    let mut has_running = false;
    for container in status.get("containerStatuses").items().rev() {
        summary.restarts.add(container);
        let state = container.get("state");
        let waiting = state.get("waiting");
        let terminated = state.get("terminated");
        if let Some(reason) = waiting.get("reason").non_empty() {
            reason.clone_into(&mut summary.reason);
        } else if terminated.is_object() {
            summary.reason = terminated_reason(terminated);
        } else if container.get("ready").bool() == Some(true) && state.get("running").is_object() {
            has_running = true;
            summary.ready += 1;
        }
    }
    // A "Completed" pod with a container still running is only partly done.
    if summary.reason == "Completed" && has_running {
        let ready = status
            .get("conditions")
            .items()
            .any(|c| c.get("type").str() == Some("Ready") && c.get("status").str() == Some("True"));
        summary.reason = if ready { "Running" } else { "NotReady" }.to_owned();
    }
}

/// Whether the first condition of `type_` has status `True` (upstream checks only the first).
pub(crate) fn condition_is_true(status: Field<'_>, type_: &str) -> bool {
    status
        .get("conditions")
        .items()
        .find(|c| c.get("type").str() == Some(type_))
        .is_some_and(|c| c.get("status").str() == Some("True"))
}

fn is_scheduling_gated(status: Field<'_>) -> bool {
    status.get("conditions").items().any(|c| {
        c.get("type").str() == Some("PodScheduled") && c.get("reason").str() == Some("SchedulingGated")
    })
}

//! Telling users why a pod waits: the `PodScheduled=False` condition (reason `Unschedulable`)
//! and a `FailedScheduling` warning event, both carrying the summary of why no node fits.
//!
//! Written only when the summary changes: a pod retried every few seconds against an
//! unchanged cluster must not rewrite its status or pile up events each time.

use crate::model::pod::PodInfo;
use serde_json::{Value, json};
use tracing::Instrument;
use wasmkube_api::meta;
use wasmkube_apiserver::Api;
use wasmkube_apiserver::events::{EventType, Recorder};
use wasmkube_apiserver::service::update::Part;
use wasmkube_apiserver::service::{PatchType, WriteOptions};

pub const FIELD_MANAGER: &str = "default-scheduler";

/// Report `message` for `pod`; `reported` is the last message written for it and is updated.
pub fn unschedulable(
    api: &Api,
    recorder: &Recorder,
    pod: &PodInfo,
    reported: &mut Option<String>,
    message: String,
) {
    let condition_current = pod
        .scheduled_condition
        .as_ref()
        .is_some_and(|(s, r, m)| s == "False" && r == "Unschedulable" && *m == message);
    if reported.as_deref() == Some(message.as_str()) && condition_current {
        return;
    }
    tracing::info!(namespace = %pod.namespace, pod = %pod.name, reason = %message, "unschedulable");
    if reported.as_deref() != Some(message.as_str()) {
        recorder.event(&pod.object_ref(), EventType::Warning, "FailedScheduling", message.clone());
    }
    if !condition_current {
        let already_false = pod.scheduled_condition.as_ref().is_some_and(|(s, _, _)| s == "False");
        spawn_condition_write(api.clone(), pod, condition(&message, already_false));
    }
    *reported = Some(message);
}

/// The condition as a strategic-merge element (conditions merge by `type`). The transition
/// time changes only when the status does, so an updated message keeps the old one.
fn condition(message: &str, already_false: bool) -> Value {
    let mut c = json!({"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": message, "lastProbeTime": null});
    if !already_false {
        c["lastTransitionTime"] = json!(meta::now_rfc3339());
    }
    c
}

fn spawn_condition_write(api: Api, pod: &PodInfo, condition: Value) {
    let (ns, name) = (pod.namespace.clone(), pod.name.clone());
    let span = tracing::debug_span!("pod_condition", namespace = %ns, pod = %name);
    let task = async move {
        let def = wasmkube_api::registry::by_storage("pods").expect("pods are served");
        let patch = json!({"status": {"conditions": [condition]}});
        let opts = WriteOptions { field_manager: Some(FIELD_MANAGER.into()), ..WriteOptions::default() };
        let written =
            api.patch(def, &ns, &name, PatchType::Strategic, &patch, Part::Status, false, &opts).await;
        match written {
            // Gone meanwhile: nothing to report on.
            Err(e) if e.code == 404 => {}
            Err(e) => tracing::warn!(error = %e, "could not record PodScheduled=False"),
            Ok(_) => {}
        }
    };
    tokio::spawn(task.instrument(span));
}

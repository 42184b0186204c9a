//! `describe` for the workload kinds: replicas, selector, strategy, the pod template,
//! conditions, and (for Deployments) which ReplicaSets are old and new.

use super::pod::{containers, volumes};
use super::{Writer, labels_and_annotations, str_or, time};
use crate::ctl::Ctx;
use crate::ctl::logs::selector_string;
use crate::ctl::table::labels;
use serde_json::Value;

fn num(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

pub async fn describe(ctx: &Ctx, w: &mut Writer, kind: &str, obj: &Value) -> anyhow::Result<()> {
    let (spec, status) = (&obj["spec"], &obj["status"]);
    let selector = selector_string(&spec["selector"]).unwrap_or_default();
    w.kv(0, "Name", str_or(&obj["metadata"]["name"], ""));
    w.kv(0, "Namespace", str_or(&obj["metadata"]["namespace"], ""));
    if kind == "Deployment" {
        w.kv(0, "CreationTimestamp", time(&obj["metadata"]["creationTimestamp"]));
        labels_and_annotations(w, &obj["metadata"]);
    }
    w.kv(0, "Selector", &selector);
    if kind != "Deployment" {
        labels_and_annotations(w, &obj["metadata"]);
        owner(w, obj);
    }
    let desired = spec["replicas"].as_i64().unwrap_or(1);
    match kind {
        "Deployment" => deployment_spec(w, obj),
        "DaemonSet" => {
            w.kv(0, "Desired Number of Nodes Scheduled", num(&status["desiredNumberScheduled"]));
            w.kv(0, "Current Number of Nodes Scheduled", num(&status["currentNumberScheduled"]));
            w.kv(0, "Number of Nodes Scheduled with Up-to-date Pods", num(&status["updatedNumberScheduled"]));
            w.kv(0, "Number of Nodes Scheduled with Available Pods", num(&status["numberAvailable"]));
            w.kv(0, "Number of Nodes Misscheduled", num(&status["numberMisscheduled"]));
        }
        _ => w.kv(0, "Replicas", format!("{} current / {desired} desired", num(&status["replicas"]))),
    }
    if kind != "Deployment" {
        w.kv(0, "Pods Status", pods_status(ctx, obj, &selector).await);
    }
    pod_template(w, &spec["template"]);
    conditions(w, status);
    if kind == "Deployment" {
        replica_sets(ctx, w, obj, &selector).await;
    }
    Ok(())
}

fn owner(w: &mut Writer, obj: &Value) {
    let refs = obj["metadata"]["ownerReferences"].as_array();
    if let Some(o) = refs.into_iter().flatten().find(|o| o["controller"] == true) {
        w.kv(0, "Controlled By", format!("{}/{}", str_or(&o["kind"], ""), str_or(&o["name"], "")));
    }
}

fn deployment_spec(w: &mut Writer, d: &Value) {
    let (spec, s) = (&d["spec"], &d["status"]);
    let desired = spec["replicas"].as_i64().unwrap_or(1);
    w.kv(
        0,
        "Replicas",
        format!(
            "{desired} desired | {} updated | {} total | {} available | {} unavailable",
            num(&s["updatedReplicas"]),
            num(&s["replicas"]),
            num(&s["availableReplicas"]),
            num(&s["unavailableReplicas"])
        ),
    );
    let strategy = str_or(&spec["strategy"]["type"], "RollingUpdate");
    w.kv(0, "StrategyType", strategy);
    w.kv(0, "MinReadySeconds", num(&spec["minReadySeconds"]));
    if strategy == "RollingUpdate" {
        let ru = &spec["strategy"]["rollingUpdate"];
        let text =
            |v: &Value| v.as_str().map(String::from).unwrap_or_else(|| v.as_i64().unwrap_or(0).to_string());
        w.kv(
            0,
            "RollingUpdateStrategy",
            format!("{} max unavailable, {} max surge", text(&ru["maxUnavailable"]), text(&ru["maxSurge"])),
        );
    }
}

/// Counts of the selected pods by phase: `2 Running / 0 Waiting / 1 Succeeded / 0 Failed`.
async fn pods_status(ctx: &Ctx, obj: &Value, selector: &str) -> String {
    let ns = str_or(&obj["metadata"]["namespace"], "default");
    let query = serde_urlencoded::to_string([("labelSelector", selector)]).unwrap_or_default();
    let pods = match ctx.client.get(&format!("/api/v1/namespaces/{ns}/pods?{query}")).await {
        Ok(list) => list["items"].as_array().cloned().unwrap_or_default(),
        Err(_) => return "<unknown>".into(),
    };
    let count = |phase: &str| pods.iter().filter(|p| p["status"]["phase"] == phase).count();
    format!(
        "{} Running / {} Waiting / {} Succeeded / {} Failed",
        count("Running"),
        count("Pending"),
        count("Succeeded"),
        count("Failed")
    )
}

pub fn pod_template(w: &mut Writer, t: &Value) {
    w.line(0, "Pod Template:");
    let label_lines: Vec<String> = labels(&t["metadata"]["labels"]).split(',').map(String::from).collect();
    w.list(1, "Labels", &label_lines);
    if let Some(a) = t["metadata"]["annotations"].as_object().filter(|a| !a.is_empty()) {
        let values: Vec<String> =
            a.iter().map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or(""))).collect();
        w.list(1, "Annotations", &values);
    }
    if t["spec"]["initContainers"].as_array().is_some_and(|c| !c.is_empty()) {
        w.line(1, "Init Containers:");
        containers(w, 1, &t["spec"]["initContainers"], None);
    }
    w.line(1, "Containers:");
    containers(w, 1, &t["spec"]["containers"], None);
    let mut vols = Writer::default();
    volumes(&mut vols, &t["spec"]["volumes"]);
    // The template's volumes sit one level deeper than a pod's.
    for line in vols.text.lines() {
        w.text.push_str(&format!("  {line}\n"));
    }
    w.kv(1, "Node-Selectors", labels(&t["spec"]["nodeSelector"]));
    let tolerations: Vec<String> =
        t["spec"]["tolerations"].as_array().into_iter().flatten().map(super::pod::toleration).collect();
    w.list(1, "Tolerations", &tolerations);
}

/// Conditions with their reasons, as kubectl shows them for workloads.
fn conditions(w: &mut Writer, status: &Value) {
    let Some(conds) = status["conditions"].as_array().filter(|c| !c.is_empty()) else { return };
    w.line(0, "Conditions:");
    w.line(1, "Type\tStatus\tReason");
    w.line(1, "----\t------\t------");
    for c in conds {
        w.line(
            1,
            format!("{}\t{}\t{}", str_or(&c["type"], ""), str_or(&c["status"], ""), str_or(&c["reason"], "")),
        );
    }
}

/// OldReplicaSets / NewReplicaSet: the owned ReplicaSet whose template matches is the new one.
async fn replica_sets(ctx: &Ctx, w: &mut Writer, d: &Value, selector: &str) {
    let ns = str_or(&d["metadata"]["namespace"], "default");
    let query = serde_urlencoded::to_string([("labelSelector", selector)]).unwrap_or_default();
    let all = match ctx.client.get(&format!("/apis/apps/v1/namespaces/{ns}/replicasets?{query}")).await {
        Ok(list) => list["items"].as_array().cloned().unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let uid = &d["metadata"]["uid"];
    let owned = all.iter().filter(|rs| {
        rs["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|o| o["controller"] == true && &o["uid"] == uid)
    });
    let strip = |t: &Value| {
        let mut t = t.clone();
        if let Some(l) = t["metadata"]["labels"].as_object_mut() {
            l.remove("pod-template-hash");
        }
        t
    };
    let current = strip(&d["spec"]["template"]);
    let (new, old): (Vec<&Value>, Vec<&Value>) =
        owned.partition(|rs| strip(&rs["spec"]["template"]) == current);
    let describe = |rs: &[&Value]| {
        if rs.is_empty() {
            return "<none>".to_string();
        }
        let parts: Vec<String> = rs
            .iter()
            .map(|r| {
                let (have, want) = (num(&r["status"]["replicas"]), num(&r["spec"]["replicas"]));
                format!("{} ({have}/{want} replicas created)", str_or(&r["metadata"]["name"], ""))
            })
            .collect();
        parts.join(", ")
    };
    w.kv(0, "OldReplicaSets", describe(&old));
    w.kv(0, "NewReplicaSet", describe(&new));
}

pub fn describe_job(w: &mut Writer, job: &Value) {
    let (spec, s) = (&job["spec"], &job["status"]);
    w.kv(0, "Name", str_or(&job["metadata"]["name"], ""));
    w.kv(0, "Namespace", str_or(&job["metadata"]["namespace"], ""));
    w.kv(0, "Selector", selector_string(&spec["selector"]).unwrap_or_else(|| "<none>".into()));
    labels_and_annotations(w, &job["metadata"]);
    owner(w, job);
    w.kv(0, "Parallelism", spec["parallelism"].as_i64().unwrap_or(1));
    let completions = spec["completions"].as_i64().map_or("<unset>".to_string(), |c| c.to_string());
    w.kv(0, "Completions", completions);
    w.kv(0, "Completion Mode", str_or(&spec["completionMode"], "NonIndexed"));
    w.kv(0, "Suspend", spec["suspend"].as_bool().unwrap_or(false));
    w.kv(0, "Backoff Limit", spec["backoffLimit"].as_i64().unwrap_or(6));
    if s["startTime"].is_string() {
        w.kv(0, "Start Time", time(&s["startTime"]));
    }
    if s["completionTime"].is_string() {
        w.kv(0, "Completed At", time(&s["completionTime"]));
    }
    w.kv(
        0,
        "Pods Statuses",
        format!(
            "{} Active ({} Ready) / {} Succeeded / {} Failed",
            num(&s["active"]),
            num(&s["ready"]),
            num(&s["succeeded"]),
            num(&s["failed"])
        ),
    );
    pod_template(w, &spec["template"]);
    conditions(w, s);
}

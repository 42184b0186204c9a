//! Pods: NAME READY STATUS RESTARTS AGE, wide IP NODE NOMINATED-NODE READINESS-GATES.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::KindPrinter;
use super::common::{age, name, or_placeholder, text};
use super::pod_status::{restarts_text, summarize};
use crate::column::{AGE, Column, NAME};
use crate::descriptions::{
    POD_SPEC_NODE_NAME, POD_SPEC_READINESS_GATES, POD_STATUS_NOMINATED_NODE_NAME, POD_STATUS_POD_IP,
};
use crate::field::Field;

pub(crate) const POD: KindPrinter = KindPrinter {
    group: "",
    kind: "Pod",
    columns: &[
        NAME,
        Column::string("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        Column::string("Status", "The aggregate status of the containers in this pod."),
        Column::string(
            "Restarts",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
        AGE,
        Column::string("IP", POD_STATUS_POD_IP).wide(),
        Column::string("Node", POD_SPEC_NODE_NAME).wide(),
        Column::string("Nominated Node", POD_STATUS_NOMINATED_NODE_NAME).wide(),
        Column::string("Readiness Gates", POD_SPEC_READINESS_GATES).wide(),
    ],
    cells: pod_cells,
};

fn pod_cells(pod: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let summary = summarize(pod);
    let status = pod.get("status");
    vec![
        name(pod),
        text(format!("{}/{}", summary.ready, summary.total)),
        text(summary.reason),
        text(restarts_text(summary.restarts, now)),
        age(pod, now),
        text(pod_ip(status)),
        text(or_placeholder(pod.path(&["spec", "nodeName"]).str(), "<none>")),
        text(or_placeholder(status.get("nominatedNodeName").str(), "<none>")),
        text(readiness_gates(pod)),
    ]
}

/// The first of `status.podIPs`; `status.podIP` stands in when a client stored only that field,
/// since the API server keeps the two in step.
fn pod_ip(status: Field<'_>) -> String {
    let ips = status.get("podIPs");
    let first = if ips.array_len() > 0 {
        ips.items().next().and_then(|ip| ip.get("ip").str())
    } else {
        status.get("podIP").str()
    };
    or_placeholder(first, "<none>")
}

/// `true/declared` over `spec.readinessGates`, or `<none>` when the pod declares none.
fn readiness_gates(pod: Field<'_>) -> String {
    let gates = pod.path(&["spec", "readinessGates"]);
    if gates.array_len() == 0 {
        return "<none>".to_owned();
    }
    let conditions = pod.path(&["status", "conditions"]);
    let satisfied = gates
        .items()
        .filter(|gate| {
            let wanted = gate.get("conditionType").str();
            conditions
                .items()
                .find(|c| c.get("type").str() == wanted)
                .is_some_and(|c| c.get("status").str() == Some("True"))
        })
        .count();
    format!("{satisfied}/{}", gates.array_len())
}

//! Nodes: NAME STATUS ROLES AGE VERSION, wide addresses and system info.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::KindPrinter;
use super::common::{age, name, or_placeholder, text};
use crate::column::{AGE, Column, NAME};
use crate::descriptions::{
    NODE_INFO_CONTAINER_RUNTIME, NODE_INFO_KERNEL_VERSION, NODE_INFO_KUBELET_VERSION, NODE_INFO_OS_IMAGE,
    NODE_STATUS_ADDRESSES,
};
use crate::field::Field;

/// Label prefix whose suffix names a role: `node-role.kubernetes.io/control-plane`.
const ROLE_LABEL_PREFIX: &str = "node-role.kubernetes.io/";
/// Older role label whose value names the role.
const ROLE_LABEL: &str = "kubernetes.io/role";

pub(crate) const NODE: KindPrinter = KindPrinter {
    group: "",
    kind: "Node",
    columns: &[
        NAME,
        Column::string("Status", "The status of the node"),
        Column::string("Roles", "The roles of the node"),
        AGE,
        Column::string("Version", NODE_INFO_KUBELET_VERSION),
        Column::string("Internal-IP", NODE_STATUS_ADDRESSES).wide(),
        Column::string("External-IP", NODE_STATUS_ADDRESSES).wide(),
        Column::string("OS-Image", NODE_INFO_OS_IMAGE).wide(),
        Column::string("Kernel-Version", NODE_INFO_KERNEL_VERSION).wide(),
        Column::string("Container-Runtime", NODE_INFO_CONTAINER_RUNTIME).wide(),
    ],
    cells: node_cells,
};

fn node_cells(node: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let status = node.get("status");
    let info = status.get("nodeInfo");
    let info_or_unknown = |key: &str| text(or_placeholder(info.get(key).str(), "<unknown>"));
    vec![
        name(node),
        text(node_status(node)),
        text(roles(node)),
        age(node, now),
        text(info.get("kubeletVersion").string()),
        text(address(status, "InternalIP")),
        text(address(status, "ExternalIP")),
        info_or_unknown("osImage"),
        info_or_unknown("kernelVersion"),
        info_or_unknown("containerRuntimeVersion"),
    ]
}

/// `Ready`, `NotReady` or `Unknown` from the Ready condition, then `SchedulingDisabled` when
/// cordoned.
fn node_status(node: Field<'_>) -> String {
    // Upstream keys conditions by type, so the last Ready condition listed is the one used.
    let ready =
        node.path(&["status", "conditions"]).items().rev().find(|c| c.get("type").str() == Some("Ready"));
    let mut status = vec![match ready {
        Some(c) if c.get("status").str() == Some("True") => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if node.path(&["spec", "unschedulable"]).bool() == Some(true) {
        status.push("SchedulingDisabled");
    }
    status.join(",")
}

/// Sorted roles from `node-role.kubernetes.io/<role>` keys and `kubernetes.io/role` values.
fn roles(node: Field<'_>) -> String {
    let roles: BTreeSet<&str> = node
        .path(&["metadata", "labels"])
        .entries()
        .filter_map(|(key, value)| match key.strip_prefix(ROLE_LABEL_PREFIX) {
            Some(role) => Some(role),
            None if key == ROLE_LABEL => value.str(),
            None => None,
        })
        .filter(|role| !role.is_empty())
        .collect();
    if roles.is_empty() {
        return "<none>".to_owned();
    }
    roles.into_iter().collect::<Vec<_>>().join(",")
}

/// The first address of `type_`, or `<none>`.
fn address(status: Field<'_>, type_: &str) -> String {
    status
        .get("addresses")
        .items()
        .find(|a| a.get("type").str() == Some(type_))
        .map_or_else(|| "<none>".to_owned(), |a| a.get("address").string())
}

//! networking.k8s.io: Ingress, IngressClass, NetworkPolicy.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::KindPrinter;
use super::common::{age, name, text};
use super::service::load_balancer_points;
use crate::column::{AGE, Column, NAME};
use crate::descriptions::NETWORK_POLICY_SPEC_POD_SELECTOR;
use crate::field::Field;
use crate::labels::format_label_selector;

/// Upstream shows at most this many hosts, then `+ N more...`.
const HOST_LIMIT: usize = 3;

pub(crate) const INGRESS: KindPrinter = KindPrinter {
    group: "networking.k8s.io",
    kind: "Ingress",
    columns: &[
        NAME,
        Column::string(
            "Class",
            "The name of the IngressClass resource that should be used for additional configuration",
        ),
        Column::string("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
        Column::string("Address", "Address is a list containing ingress points for the load-balancer"),
        Column::string("Ports", "Ports of TLS configurations that open"),
        AGE,
    ],
    cells: ingress_cells,
};

fn ingress_cells(ingress: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let spec = ingress.get("spec");
    let ports = if spec.get("tls").array_len() == 0 { "80" } else { "80, 443" };
    let address = load_balancer_points(ingress.path(&["status", "loadBalancer"])).join(",");
    vec![
        name(ingress),
        text(spec.get("ingressClassName").str().unwrap_or("<none>")),
        text(hosts(spec.get("rules"))),
        text(address),
        text(ports),
        age(ingress, now),
    ]
}

/// The first three non-empty rule hosts, `*` when no rule names a host.
///
/// Like upstream, the `+ N more...` count is over all rules, hosted or not.
fn hosts(rules: Field<'_>) -> String {
    let mut shown: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules.items() {
        if shown.len() == HOST_LIMIT {
            more = true;
        }
        if let Some(host) = rule.get("host").non_empty().filter(|_| !more) {
            shown.push(host);
        }
    }
    if shown.is_empty() {
        return "*".to_owned();
    }
    let joined = shown.join(",");
    if more { format!("{joined} + {} more...", rules.array_len() - HOST_LIMIT) } else { joined }
}

pub(crate) const INGRESS_CLASS: KindPrinter = KindPrinter {
    group: "networking.k8s.io",
    kind: "IngressClass",
    columns: &[
        NAME,
        Column::string("Controller", "Controller that is responsible for handling this class"),
        Column::string("Parameters", "A reference to a resource with additional parameters"),
        AGE,
    ],
    cells: ingress_class_cells,
};

fn ingress_class_cells(class: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let spec = class.get("spec");
    vec![
        name(class),
        text(spec.get("controller").string()),
        text(parameters(spec.get("parameters"))),
        age(class, now),
    ]
}

/// `Kind.apiGroup/name` of the parameters reference, or `<none>`.
fn parameters(reference: Field<'_>) -> String {
    if !reference.is_object() {
        return "<none>".to_owned();
    }
    let kind = reference.get("kind").string();
    let name = reference.get("name").string();
    match reference.get("apiGroup").str() {
        Some(group) => format!("{kind}.{group}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

pub(crate) const NETWORK_POLICY: KindPrinter = KindPrinter {
    group: "networking.k8s.io",
    kind: "NetworkPolicy",
    columns: &[NAME, Column::string("Pod-Selector", NETWORK_POLICY_SPEC_POD_SELECTOR), AGE],
    cells: network_policy_cells,
};

fn network_policy_cells(policy: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(policy), text(format_label_selector(policy.path(&["spec", "podSelector"]))), age(policy, now)]
}

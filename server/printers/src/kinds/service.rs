//! Services and the endpoint objects that back them: Service, Endpoints, EndpointSlice.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::KindPrinter;
use super::common::{age, name, or_placeholder, text};
use crate::column::{AGE, Column, NAME};
use crate::descriptions::{
    ENDPOINT_SLICE_ADDRESS_TYPE, ENDPOINT_SLICE_ENDPOINTS, ENDPOINT_SLICE_PORTS, ENDPOINTS_SUBSETS,
    SERVICE_SPEC_CLUSTER_IP, SERVICE_SPEC_EXTERNAL_IPS, SERVICE_SPEC_PORTS, SERVICE_SPEC_SELECTOR,
    SERVICE_SPEC_TYPE,
};
use crate::field::Field;
use crate::labels::format_labels;

/// Upstream shows at most this many endpoints or ports, then `+ N more...`.
const LIST_LIMIT: usize = 3;

pub(crate) const SERVICE: KindPrinter = KindPrinter {
    group: "",
    kind: "Service",
    columns: &[
        NAME,
        Column::string("Type", SERVICE_SPEC_TYPE),
        Column::string("Cluster-IP", SERVICE_SPEC_CLUSTER_IP),
        Column::string("External-IP", SERVICE_SPEC_EXTERNAL_IPS),
        Column::string("Port(s)", SERVICE_SPEC_PORTS),
        AGE,
        Column::string("Selector", SERVICE_SPEC_SELECTOR).wide(),
    ],
    cells: service_cells,
};

fn service_cells(svc: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let spec = svc.get("spec");
    // The API server defaults the type; a stored object without one is a ClusterIP service.
    let type_ = spec.get("type").str().unwrap_or("ClusterIP");
    // `clusterIPs` is authoritative upstream; `clusterIP` stands in when a client stored only it.
    let cluster_ip = match spec.get("clusterIPs").items().next() {
        Some(first) => first.str(),
        None => spec.get("clusterIP").non_empty(),
    };
    let ports = port_list(spec.get("ports"));
    vec![
        name(svc),
        text(type_),
        text(cluster_ip.unwrap_or("<none>")),
        text(external_ip(svc, type_)),
        text(or_placeholder(Some(&ports), "<none>")),
        age(svc, now),
        text(format_labels(spec.get("selector"))),
    ]
}

/// The EXTERNAL-IP cell: external IPs, load-balancer ingress points, or a placeholder.
fn external_ip(svc: Field<'_>, type_: &str) -> String {
    let spec = svc.get("spec");
    let external: Vec<String> = spec.get("externalIPs").items().map(Field::string).collect();
    match type_ {
        "ClusterIP" | "NodePort" if external.is_empty() => "<none>".to_owned(),
        "ClusterIP" | "NodePort" => external.join(","),
        "LoadBalancer" => {
            let mut all = load_balancer_points(svc.path(&["status", "loadBalancer"]));
            if all.is_empty() && external.is_empty() {
                return "<pending>".to_owned();
            }
            all.extend(external);
            all.join(",")
        }
        "ExternalName" => spec.get("externalName").string(),
        _ => "<unknown>".to_owned(),
    }
}

/// Sorted, de-duplicated IPs (or hostnames when an entry has no IP) of a load-balancer status.
/// Never shortened: the server renders tables in wide mode.
pub(crate) fn load_balancer_points(load_balancer: Field<'_>) -> Vec<String> {
    let points: BTreeSet<&str> = load_balancer
        .get("ingress")
        .items()
        .filter_map(|i| i.get("ip").non_empty().or_else(|| i.get("hostname").non_empty()))
        .collect();
    points.into_iter().map(str::to_owned).collect()
}

/// `80/TCP,443:30443/TCP`: port, node port when allocated, protocol.
fn port_list(ports: Field<'_>) -> String {
    let pieces: Vec<String> = ports
        .items()
        .map(|port| {
            let number = port.get("port").int_or_zero();
            // TCP is the API default for a port's protocol.
            let protocol = port.get("protocol").str().unwrap_or("TCP");
            match port.get("nodePort").int_or_zero() {
                node_port if node_port > 0 => format!("{number}:{node_port}/{protocol}"),
                _ => format!("{number}/{protocol}"),
            }
        })
        .collect();
    pieces.join(",")
}

pub(crate) const ENDPOINTS: KindPrinter = KindPrinter {
    group: "",
    kind: "Endpoints",
    columns: &[NAME, Column::string("Endpoints", ENDPOINTS_SUBSETS), AGE],
    cells: endpoints_cells,
};

fn endpoints_cells(obj: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(obj), text(endpoint_list(obj.get("subsets"))), age(obj, now)]
}

/// `10.0.0.1:80,10.0.0.2:80 + 3 more...`, one entry per address and port.
fn endpoint_list(subsets: Field<'_>) -> String {
    if subsets.array_len() == 0 {
        return "<none>".to_owned();
    }
    let mut shown = Vec::new();
    let mut total = 0;
    for subset in subsets.items() {
        let addresses: Vec<&str> =
            subset.get("addresses").items().map(|a| a.get("ip").str().unwrap_or_default()).collect();
        let ports: Vec<Option<i64>> = if subset.get("ports").array_len() == 0 {
            // Headless services may have no ports: list the bare addresses.
            vec![None]
        } else {
            subset.get("ports").items().map(|p| Some(p.get("port").int_or_zero())).collect()
        };
        for port in ports {
            total += addresses.len();
            for ip in addresses.iter().take(LIST_LIMIT.saturating_sub(shown.len())) {
                shown.push(port.map_or_else(|| (*ip).to_owned(), |port| join_host_port(ip, port)));
            }
        }
    }
    let joined = shown.join(",");
    if total > LIST_LIMIT { format!("{joined} + {} more...", total - LIST_LIMIT) } else { joined }
}

/// `host:port`, bracketing IPv6 hosts like Go's `net.JoinHostPort`.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

pub(crate) const ENDPOINT_SLICE: KindPrinter = KindPrinter {
    group: "discovery.k8s.io",
    kind: "EndpointSlice",
    columns: &[
        NAME,
        Column::string("AddressType", ENDPOINT_SLICE_ADDRESS_TYPE),
        Column::string("Ports", ENDPOINT_SLICE_PORTS),
        Column::string("Endpoints", ENDPOINT_SLICE_ENDPOINTS),
        AGE,
    ],
    cells: endpoint_slice_cells,
};

fn endpoint_slice_cells(obj: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let ports = obj.get("ports").items().map(|port| match (port.get("port").int(), port.get("name").str()) {
        (Some(number), _) => number.to_string(),
        (None, Some(name)) => name.to_owned(),
        (None, None) => "*".to_owned(),
    });
    let addresses = obj
        .get("endpoints")
        .items()
        .flat_map(|e| e.get("addresses").items().map(Field::string).collect::<Vec<_>>());
    vec![
        name(obj),
        text(obj.get("addressType").string()),
        text(limited_list(ports)),
        text(limited_list(addresses)),
        age(obj, now),
    ]
}

/// Up to three entries joined by commas, `+ N more...` beyond that, `<unset>` when empty.
fn limited_list(items: impl Iterator<Item = String>) -> String {
    let mut shown = Vec::new();
    let mut total = 0;
    for item in items {
        if shown.len() < LIST_LIMIT {
            shown.push(item);
        }
        total += 1;
    }
    let joined = shown.join(",");
    if total > LIST_LIMIT {
        format!("{joined} + {} more...", total - LIST_LIMIT)
    } else if joined.is_empty() {
        "<unset>".to_owned()
    } else {
        joined
    }
}

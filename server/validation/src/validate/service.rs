//! Services and endpoints: core `ValidateService`, `ValidateEndpoints` and
//! discovery's EndpointSlice rules.

use std::collections::HashSet;
use std::net::IpAddr;

use serde_json::{Value, json};

use crate::error::FieldError;
use crate::json::{arr, get, int0, s, strings};
use crate::names::{IP_MSG, dns1123_label, dns1123_subdomain, is_ip, qualified_name};
use crate::path::Path;

use super::container::PROTOCOLS;
use super::probe::port_num_or_name;
use super::service_ips::{cluster_ip_fields, cluster_ip_updates, type_rules};

/// The Service kind.
pub fn validate_service(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj, "spec").cloned().unwrap_or(Value::Null);
    let path = Path::new("spec");
    let mut errs = Vec::new();
    if let Some(old) = old {
        let old_spec = get(old, "spec").cloned().unwrap_or(Value::Null);
        errs.extend(cluster_ip_updates(&spec, &old_spec, &path));
    }
    let ty = s(&spec, "type");
    let headless = is_headless(&spec);
    if arr(&spec, "ports").is_empty() && !headless && ty != "ExternalName" {
        errs.push(FieldError::required(path.child("ports"), ""));
    }
    errs.extend(type_rules(&spec, &path));
    errs.extend(service_ports(&spec, &path.child("ports")));
    errs.extend(crate::meta::validate_labels(spec.get("selector"), &path.child("selector")));
    errs.extend(session_affinity(&spec, &path));
    errs.extend(cluster_ip_fields(&spec, &path));
    for (i, ip) in strings(&spec, "externalIPs").iter().enumerate() {
        let p = path.child("externalIPs").index(i);
        if is_ip(ip) {
            errs.extend(non_special_ip(ip, &p));
        } else {
            errs.push(FieldError::invalid(p, ip.as_str(), IP_MSG));
        }
    }
    let types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    match ty {
        "" => errs.push(FieldError::required(path.child("type"), "")),
        t if !types.contains(&t) => errs.push(FieldError::not_supported(path.child("type"), t, &types)),
        _ => {}
    }
    errs.extend(node_ports(&spec, &path.child("ports")));
    errs.extend(traffic_policies(&spec, &path));
    errs
}

/// `isHeadlessService`.
pub fn is_headless(spec: &Value) -> bool {
    let ips = strings(spec, "clusterIPs");
    ips.len() == 1 && ips[0] == "None"
}

fn service_ports(spec: &Value, path: &Path) -> Vec<FieldError> {
    let ports = arr(spec, "ports");
    let mut names = HashSet::new();
    let mut errs = Vec::new();
    for (i, sp) in ports.iter().enumerate() {
        let p = path.index(i);
        let name = s(sp, "name");
        if ports.len() > 1 && name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        } else if !name.is_empty() {
            errs.extend(
                dns1123_label(name).into_iter().map(|m| FieldError::invalid(p.child("name"), name, &m)),
            );
            if !names.insert(name) {
                errs.push(FieldError::duplicate(p.child("name"), name));
            }
        }
        let port = int0(sp, "port");
        errs.extend(
            crate::names::port_num(port).into_iter().map(|m| FieldError::invalid(p.child("port"), port, &m)),
        );
        errs.extend(protocol(sp, &p));
        errs.extend(port_num_or_name(sp.get("targetPort"), &p.child("targetPort")));
        if let Some(app) = get(sp, "appProtocol").and_then(Value::as_str) {
            errs.extend(
                qualified_name(app).into_iter().map(|m| FieldError::invalid(p.child("appProtocol"), app, &m)),
            );
        }
    }
    errs
}

/// A required `protocol` among TCP, UDP and SCTP.
fn protocol(port: &Value, p: &Path) -> Option<FieldError> {
    match s(port, "protocol") {
        "" => Some(FieldError::required(p.child("protocol"), "")),
        proto if !PROTOCOLS.contains(&proto) => {
            Some(FieldError::not_supported(p.child("protocol"), proto, &PROTOCOLS))
        }
        _ => None,
    }
}

fn session_affinity(spec: &Value, path: &Path) -> Vec<FieldError> {
    let p = path.child("sessionAffinityConfig");
    match s(spec, "sessionAffinity") {
        "" => vec![FieldError::required(path.child("sessionAffinity"), "")],
        "None" if get(spec, "sessionAffinityConfig").is_some() => {
            vec![FieldError::forbidden(p, "must not be set when session affinity is None")]
        }
        "None" => Vec::new(),
        "ClientIP" => {
            let timeout = get(spec, "sessionAffinityConfig")
                .and_then(|c| get(c, "clientIP"))
                .and_then(|c| get(c, "timeoutSeconds"));
            match timeout.and_then(Value::as_i64) {
                None => vec![FieldError::required(
                    p.child("clientIP").child("timeoutSeconds"),
                    "when session affinity type is ClientIP",
                )],
                Some(t) if !(1..=86400).contains(&t) => vec![FieldError::invalid(
                    p.child("clientIP").child("timeoutSeconds"),
                    t,
                    "must be greater than 0 and less than 86400",
                )],
                Some(_) => Vec::new(),
            }
        }
        other => vec![FieldError::not_supported(path.child("sessionAffinity"), other, &["ClientIP", "None"])],
    }
}

/// ClusterIP services may not set node ports; node ports are unique per
/// protocol and (as the allocator enforces) inside the default range.
fn node_ports(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    let mut seen_ports = HashSet::new();
    for (i, sp) in arr(spec, "ports").iter().enumerate() {
        let p = path.index(i);
        let node_port = int0(sp, "nodePort");
        if node_port != 0 {
            if s(spec, "type") == "ClusterIP" {
                errs.push(FieldError::forbidden(
                    p.child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            } else if !(30000..=32767).contains(&node_port) {
                let detail =
                    "provided port is not in the valid range. The range of valid ports is 30000-32767";
                errs.push(FieldError::invalid(p.child("nodePort"), node_port, detail));
            }
            if !seen.insert((s(sp, "protocol").to_owned(), node_port)) {
                errs.push(FieldError::duplicate(p.child("nodePort"), node_port));
            }
        }
        let key = (s(sp, "protocol").to_owned(), int0(sp, "port"));
        if !seen_ports.insert(key.clone()) {
            errs.push(FieldError::duplicate(&p, json!({"protocol": key.0, "port": key.1})));
        }
    }
    errs
}

fn traffic_policies(spec: &Value, path: &Path) -> Vec<FieldError> {
    let ty = s(spec, "type");
    let mut errs = Vec::new();
    let accessible = ty == "LoadBalancer"
        || ty == "NodePort"
        || (ty == "ClusterIP" && !arr(spec, "externalIPs").is_empty());
    let etp = s(spec, "externalTrafficPolicy");
    let p = path.child("externalTrafficPolicy");
    if !accessible && !etp.is_empty() {
        errs.push(FieldError::invalid(p, etp, "may only be set for externally-accessible services"));
    } else if accessible && etp.is_empty() {
        errs.push(FieldError::required(p, ""));
    } else if accessible && etp != "Cluster" && etp != "Local" {
        errs.push(FieldError::not_supported(p, etp, &["Cluster", "Local"]));
    }
    match get(spec, "internalTrafficPolicy").and_then(Value::as_str) {
        None if matches!(ty, "ClusterIP" | "NodePort" | "LoadBalancer") => {
            errs.push(FieldError::required(path.child("internalTrafficPolicy"), ""));
        }
        Some(itp) if itp != "Cluster" && itp != "Local" => {
            errs.push(FieldError::not_supported(
                path.child("internalTrafficPolicy"),
                itp,
                &["Cluster", "Local"],
            ));
        }
        _ => {}
    }
    if let Some(td) = get(spec, "trafficDistribution").and_then(Value::as_str)
        && td != "PreferClose"
    {
        errs.push(FieldError::not_supported(path.child("trafficDistribution"), td, &["PreferClose"]));
    }
    errs
}

/// `ValidateNonSpecialIP`.
pub fn non_special_ip(ip: &str, path: &Path) -> Vec<FieldError> {
    let Ok(addr) = ip.parse::<IpAddr>() else {
        return vec![FieldError::invalid(path, ip, "must be a valid IP address")];
    };
    let mut errs = Vec::new();
    if addr.is_unspecified() {
        errs.push(FieldError::invalid(path, ip, &format!("may not be unspecified ({ip})")));
    }
    if addr.is_loopback() {
        errs.push(FieldError::invalid(path, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"));
    }
    let link_local = match addr {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    };
    if link_local {
        errs.push(FieldError::invalid(
            path,
            ip,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        ));
    }
    let link_local_multicast = match addr {
        IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
        IpAddr::V6(v6) => (v6.segments()[0] & 0xff0f) == 0xff02,
    };
    if link_local_multicast {
        errs.push(FieldError::invalid(
            path,
            ip,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
    errs
}

/// The Endpoints kind.
pub fn validate_endpoints(obj: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ss) in arr(obj, "subsets").iter().enumerate() {
        let p = Path::new("subsets").index(i);
        if arr(ss, "addresses").is_empty() && arr(ss, "notReadyAddresses").is_empty() {
            errs.push(FieldError::required(&p, "must specify `addresses` or `notReadyAddresses`"));
        }
        for key in ["addresses", "notReadyAddresses"] {
            for (j, addr) in arr(ss, key).iter().enumerate() {
                errs.extend(endpoint_address(addr, &p.child(key).index(j)));
            }
        }
        let ports = arr(ss, "ports");
        for (j, port) in ports.iter().enumerate() {
            errs.extend(endpoint_port(port, ports.len() > 1, &p.child("ports").index(j)));
        }
    }
    errs
}

fn endpoint_address(addr: &Value, p: &Path) -> Vec<FieldError> {
    let ip = s(addr, "ip");
    let mut errs = Vec::new();
    if !is_ip(ip) {
        errs.push(FieldError::invalid(p.child("ip"), ip, IP_MSG));
    }
    let host = s(addr, "hostname");
    if !host.is_empty() {
        errs.extend(
            dns1123_label(host).into_iter().map(|m| FieldError::invalid(p.child("hostname"), host, &m)),
        );
    }
    if let Some(node) = get(addr, "nodeName").and_then(Value::as_str) {
        errs.extend(
            dns1123_subdomain(node).into_iter().map(|m| FieldError::invalid(p.child("nodeName"), node, &m)),
        );
    }
    errs.extend(non_special_ip(ip, &p.child("ip")));
    errs
}

fn endpoint_port(port: &Value, require_name: bool, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = s(port, "name");
    if require_name && name.is_empty() {
        errs.push(FieldError::required(p.child("name"), ""));
    } else if !name.is_empty() {
        errs.extend(dns1123_label(name).into_iter().map(|m| FieldError::invalid(p.child("name"), name, &m)));
    }
    let n = int0(port, "port");
    errs.extend(crate::names::port_num(n).into_iter().map(|m| FieldError::invalid(p.child("port"), n, &m)));
    errs.extend(protocol(port, p));
    if let Some(app) = get(port, "appProtocol").and_then(Value::as_str) {
        errs.extend(
            qualified_name(app).into_iter().map(|m| FieldError::invalid(p.child("appProtocol"), app, &m)),
        );
    }
    errs
}

/// The EndpointSlice kind.
pub fn validate_endpoint_slice(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    super::endpointslice::validate(obj, old)
}

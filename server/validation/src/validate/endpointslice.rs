//! discovery `ValidateEndpointSlice`.

use std::collections::HashSet;
use std::net::IpAddr;

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{arr, get, s, strings};
use crate::names::{dns1123_label, dns1123_subdomain, port_num, qualified_name};
use crate::path::Path;

use super::container::PROTOCOLS;

const ADDRESS_TYPES: [&str; 3] = ["FQDN", "IPv4", "IPv6"];

/// EndpointSlice create/update rules.
pub fn validate(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let address_type = s(obj, "addressType");
    match (old, address_type) {
        (None, "") => errs.push(FieldError::required(Path::new("addressType"), "")),
        (None, t) if !ADDRESS_TYPES.contains(&t) => {
            errs.push(FieldError::not_supported(Path::new("addressType"), t, &ADDRESS_TYPES));
        }
        (Some(old), t) if s(old, "addressType") != t => {
            errs.push(FieldError::invalid(Path::new("addressType"), t, crate::IMMUTABLE_MSG));
        }
        _ => {}
    }
    errs.extend(endpoints(arr(obj, "endpoints"), address_type, &Path::new("endpoints")));
    errs.extend(ports(arr(obj, "ports"), &Path::new("ports")));
    errs
}

fn endpoints(list: &[Value], address_type: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if list.len() > 1000 {
        errs.push(FieldError::too_many(path, list.len(), 1000));
    }
    for (i, ep) in list.iter().enumerate() {
        let p = path.index(i);
        let addrs = strings(ep, "addresses");
        let ap = p.child("addresses");
        if addrs.is_empty() {
            errs.push(FieldError::required(&ap, "must contain at least 1 address"));
        } else if addrs.len() > 100 {
            errs.push(FieldError::too_many(&ap, addrs.len(), 100));
        }
        for (j, a) in addrs.iter().enumerate() {
            errs.extend(address(a, address_type, &ap.index(j)));
        }
        for key in ["nodeName"] {
            if let Some(n) = get(ep, key).and_then(Value::as_str) {
                errs.extend(
                    dns1123_subdomain(n).into_iter().map(|m| FieldError::invalid(p.child(key), n, &m)),
                );
            }
        }
        if let Some(h) = get(ep, "hostname").and_then(Value::as_str) {
            errs.extend(
                dns1123_label(h).into_iter().map(|m| FieldError::invalid(p.child("hostname"), h, &m)),
            );
        }
    }
    errs
}

fn address(a: &str, address_type: &str, p: &Path) -> Vec<FieldError> {
    match (address_type, a.parse::<IpAddr>()) {
        ("IPv4", Ok(IpAddr::V4(_))) | ("IPv6", Ok(IpAddr::V6(_))) => Vec::new(),
        ("IPv4", _) => vec![FieldError::invalid(p, a, "must be a valid IPv4 address")],
        ("IPv6", _) => vec![FieldError::invalid(p, a, "must be a valid IPv6 address")],
        ("FQDN", _) => fqdn(a, p),
        _ => Vec::new(),
    }
}

/// `IsFullyQualifiedDomainName`.
fn fqdn(name: &str, p: &Path) -> Vec<FieldError> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let errs = dns1123_subdomain(name);
    if !errs.is_empty() {
        return vec![FieldError::invalid(p, name, &errs.join(","))];
    }
    if name.split('.').count() < 2 {
        return vec![FieldError::invalid(
            p,
            name,
            "should be a domain with at least two segments separated by dots",
        )];
    }
    Vec::new()
}

fn ports(list: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if list.len() > 100 {
        errs.push(FieldError::too_many(path, list.len(), 100));
    }
    let mut names = HashSet::new();
    for (i, port) in list.iter().enumerate() {
        let p = path.index(i);
        let name = s(port, "name");
        if !name.is_empty() {
            errs.extend(
                dns1123_label(name).into_iter().map(|m| FieldError::invalid(p.child("name"), name, &m)),
            );
        }
        if !names.insert(name) {
            errs.push(FieldError::duplicate(p.child("name"), name));
        }
        match s(port, "protocol") {
            "" => errs.push(FieldError::required(p.child("protocol"), "")),
            proto if !PROTOCOLS.contains(&proto) => {
                errs.push(FieldError::not_supported(p.child("protocol"), proto, &PROTOCOLS))
            }
            _ => {}
        }
        if let Some(n) = get(port, "port").and_then(Value::as_i64) {
            errs.extend(port_num(n).into_iter().map(|m| FieldError::invalid(p.child("port"), n, &m)));
        }
        if let Some(app) = get(port, "appProtocol").and_then(Value::as_str) {
            errs.extend(
                qualified_name(app).into_iter().map(|m| FieldError::invalid(p.child("appProtocol"), app, &m)),
            );
        }
    }
    errs
}

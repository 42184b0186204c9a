//! networking.k8s.io NetworkPolicy (`ValidateNetworkPolicySpec`).

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{arr, get, int, s, strings};
use crate::names::{CIDR_MSG, is_cidr, port_name, port_num};
use crate::path::Path;

use super::container::PROTOCOLS;

/// The NetworkPolicy kind.
pub fn validate_network_policy(obj_v: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj_v, "spec").cloned().unwrap_or(Value::Null);
    let path = Path::new("spec");
    let pod_selector = get(&spec, "podSelector").cloned().unwrap_or(Value::Null);
    let mut errs = crate::selector::validate(&pod_selector, &path.child("podSelector"));
    for (dir, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in arr(&spec, dir).iter().enumerate() {
            let rp = path.child(dir).index(i);
            for (j, port) in arr(rule, "ports").iter().enumerate() {
                errs.extend(policy_port(port, &rp.child("ports").index(j)));
            }
            for (j, peer) in arr(rule, peers).iter().enumerate() {
                errs.extend(policy_peer(peer, &rp.child(peers).index(j)));
            }
        }
    }
    let types = strings(&spec, "policyTypes");
    if types.len() > 2 {
        let detail = "may not specify more than two policyTypes";
        errs.push(FieldError::invalid(path.child("policyTypes"), Value::from(types), detail));
        return errs;
    }
    for (i, t) in types.iter().enumerate() {
        if t != "Ingress" && t != "Egress" {
            errs.push(FieldError::not_supported(
                path.child("policyTypes").index(i),
                t.as_str(),
                &["Ingress", "Egress"],
            ));
        }
    }
    errs
}

fn policy_port(port: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(proto) = get(port, "protocol").and_then(Value::as_str)
        && !PROTOCOLS.contains(&proto)
    {
        errs.push(FieldError::not_supported(p.child("protocol"), proto, &["TCP", "UDP", "SCTP"]));
    }
    errs.extend(port_range(port, p));
    errs
}

/// `port` (number or name) and `endPort` of a NetworkPolicy port.
fn port_range(port: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let end = int(port, "endPort");
    match get(port, "port") {
        Some(Value::String(name)) => {
            if let Some(e) = end {
                errs.push(FieldError::invalid(
                    p.child("endPort"),
                    e,
                    "may not be specified when `port` is non-numeric",
                ));
            }
            errs.extend(
                port_name(name).into_iter().map(|m| FieldError::invalid(p.child("port"), name.as_str(), &m)),
            );
        }
        Some(n) => {
            let n = n.as_i64().unwrap_or(0);
            errs.extend(port_num(n).into_iter().map(|m| FieldError::invalid(p.child("port"), n, &m)));
            if let Some(e) = end {
                if e < n {
                    errs.push(FieldError::invalid(
                        p.child("endPort"),
                        e,
                        "must be greater than or equal to `port`",
                    ));
                }
                errs.extend(port_num(e).into_iter().map(|m| FieldError::invalid(p.child("endPort"), e, &m)));
            }
        }
        None => {
            if let Some(e) = end {
                errs.push(FieldError::invalid(
                    p.child("endPort"),
                    e,
                    "may not be specified when `port` is not specified",
                ));
            }
        }
    }
    errs
}

fn policy_peer(peer: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut count = 0;
    for key in ["podSelector", "namespaceSelector"] {
        if let Some(sel) = get(peer, key) {
            count += 1;
            errs.extend(crate::selector::validate(sel, &p.child(key)));
        }
    }
    if let Some(block) = get(peer, "ipBlock") {
        count += 1;
        errs.extend(ip_block(block, &p.child("ipBlock")));
    }
    if count == 0 {
        errs.push(FieldError::required(p, "must specify a peer"));
    } else if count > 1 && get(peer, "ipBlock").is_some() {
        errs.push(FieldError::forbidden(p, "may not specify both ipBlock and another peer"));
    }
    errs
}

fn ip_block(block: &Value, p: &Path) -> Vec<FieldError> {
    let cidr = s(block, "cidr");
    if cidr.is_empty() {
        return vec![FieldError::required(p.child("cidr"), "")];
    }
    if !is_cidr(cidr) {
        return vec![FieldError::invalid(p.child("cidr"), cidr, CIDR_MSG)];
    }
    let mut errs = Vec::new();
    for (i, except) in strings(block, "except").iter().enumerate() {
        let ep = p.child("except").index(i);
        if !is_cidr(except) {
            errs.push(FieldError::invalid(ep, except.as_str(), CIDR_MSG));
        } else if !strict_subset(except, cidr) {
            errs.push(FieldError::invalid(ep, except.as_str(), "must be a strict subset of `cidr`"));
        }
    }
    errs
}

/// Whether CIDR `inner` lies inside `outer` with a longer prefix.
fn strict_subset(inner: &str, outer: &str) -> bool {
    let parse = |c: &str| -> Option<(u128, u32, bool)> {
        let (ip, bits) = c.split_once('/')?;
        let bits: u32 = bits.parse().ok()?;
        match ip.parse::<std::net::IpAddr>().ok()? {
            std::net::IpAddr::V4(v4) => Some((u128::from(u32::from(v4)) << 96, bits, false)),
            std::net::IpAddr::V6(v6) => Some((u128::from(v6), bits, true)),
        }
    };
    let (Some((ia, ib, i6)), Some((oa, ob, o6))) = (parse(inner), parse(outer)) else {
        return false;
    };
    let mask = |bits: u32| {
        if bits == 0 { 0 } else { u128::MAX << (128 - bits) }
    };
    i6 == o6 && ob < ib && (ia & mask(ob)) == (oa & mask(ob))
}

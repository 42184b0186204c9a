//! Service type-specific fields and the cluster-IP / IP-family rules
//! (`ValidateServiceClusterIPsRelatedFields`, `validateUpgradeDowngrade*`).

use std::collections::HashSet;

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{arr, get, int0, s, strings};
use crate::names::{CIDR_MSG, IP_MSG, dns1123_subdomain, is_cidr, is_ip, qualified_name};
use crate::path::Path;

use super::service::is_headless;

/// Rules that depend on `spec.type`.
pub fn type_rules(spec: &Value, path: &Path) -> Vec<FieldError> {
    let ty = s(spec, "type");
    let mut errs = Vec::new();
    match ty {
        "LoadBalancer" | "NodePort" if is_headless(spec) => {
            let detail = format!("may not be set to 'None' for {ty} services");
            errs.push(FieldError::invalid(path.child("clusterIPs").index(0), "None", &detail));
        }
        "ExternalName" => errs.extend(external_name(spec, path)),
        _ => {}
    }
    errs.extend(load_balancer_fields(spec, ty, path));
    errs.extend(health_check_node_port(spec, path));
    errs
}

/// Fields that only LoadBalancer services may (or must) set.
fn load_balancer_fields(spec: &Value, ty: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ranges = strings(spec, "loadBalancerSourceRanges");
    if !ranges.is_empty() {
        let p = path.child("LoadBalancerSourceRanges");
        if ty != "LoadBalancer" {
            errs.push(FieldError::forbidden(&p, "may only be used when `type` is 'LoadBalancer'"));
        }
        for (i, r) in ranges.iter().enumerate() {
            let r = r.trim();
            if !is_cidr(r) {
                errs.push(FieldError::invalid(p.index(i), r, CIDR_MSG));
            }
        }
    }
    let allocate = get(spec, "allocateLoadBalancerNodePorts");
    if allocate.is_some() && ty != "LoadBalancer" {
        let p = path.child("allocateLoadBalancerNodePorts");
        errs.push(FieldError::forbidden(p, "may only be used when `type` is 'LoadBalancer'"));
    }
    if ty == "LoadBalancer" && allocate.is_none() {
        errs.push(FieldError::required(Path::new("allocateLoadBalancerNodePorts"), ""));
    }
    if let Some(class) = get(spec, "loadBalancerClass").and_then(Value::as_str) {
        let p = path.child("loadBalancerClass");
        if ty == "LoadBalancer" {
            errs.extend(qualified_name(class).into_iter().map(|m| FieldError::invalid(&p, class, &m)));
        } else {
            errs.push(FieldError::forbidden(p, "may only be used when `type` is 'LoadBalancer'"));
        }
    }
    errs
}

fn external_name(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["clusterIPs", "ipFamilies"] {
        if !arr(spec, key).is_empty() {
            errs.push(FieldError::forbidden(path.child(key), "may not be set for ExternalName services"));
        }
    }
    if get(spec, "ipFamilyPolicy").is_some() {
        errs.push(FieldError::forbidden(
            path.child("ipFamilyPolicy"),
            "may not be set for ExternalName services",
        ));
    }
    let name = s(spec, "externalName");
    let cname = name.strip_suffix('.').unwrap_or(name);
    let p = path.child("externalName");
    if cname.is_empty() {
        errs.push(FieldError::required(p, ""));
    } else {
        errs.extend(dns1123_subdomain(cname).into_iter().map(|m| FieldError::invalid(&p, cname, &m)));
    }
    errs
}

fn needs_health_check(spec: &Value) -> bool {
    s(spec, "type") == "LoadBalancer" && s(spec, "externalTrafficPolicy") == "Local"
}

fn health_check_node_port(spec: &Value, path: &Path) -> Option<FieldError> {
    let port = int0(spec, "healthCheckNodePort");
    let p = path.child("healthCheckNodePort");
    if !needs_health_check(spec) {
        let detail = "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'";
        return (port != 0).then(|| FieldError::invalid(p, port, detail));
    }
    // 0 means "allocate one"; the caller's allocator fills it before storing.
    crate::names::port_num(port).into_iter().find(|_| port != 0).map(|m| FieldError::invalid(p, port, &m))
}

/// `ValidateServiceClusterIPsRelatedFields`.
pub fn cluster_ip_fields(spec: &Value, path: &Path) -> Vec<FieldError> {
    if s(spec, "type") == "ExternalName" {
        return Vec::new();
    }
    let ips = strings(spec, "clusterIPs");
    let ips_path = path.child("clusterIPs");
    let mut errs: Vec<FieldError> = cluster_ip_sync(spec, &ips, &ips_path).into_iter().collect();
    errs.extend(family_fields(spec, path));
    let (ip_errs, invalid) = ip_list(&ips, &ips_path);
    errs.extend(ip_errs);
    if invalid {
        return errs;
    }
    if ips.len() == 2 && ips[0].contains(':') == ips[1].contains(':') {
        let detail = "may specify no more than one IP for each IP family";
        errs.push(FieldError::invalid(&ips_path, Value::from(ips.clone()), detail));
    }
    errs.extend(families_match(spec, &ips, &ips_path));
    errs
}

/// `clusterIP` and `clusterIPs[0]` must agree.
fn cluster_ip_sync(spec: &Value, ips: &[String], ips_path: &Path) -> Option<FieldError> {
    let cluster_ip = s(spec, "clusterIP");
    let value = || Value::from(ips.to_vec());
    if cluster_ip.is_empty() {
        let detail = "must be empty when `clusterIP` is not specified";
        return (!ips.is_empty()).then(|| FieldError::invalid(ips_path, value(), detail));
    }
    match ips.first() {
        None => Some(FieldError::required(ips_path, "")),
        Some(first) if first != cluster_ip => {
            Some(FieldError::invalid(ips_path, value(), "first value must match `clusterIP`"))
        }
        Some(_) => None,
    }
}

/// `ipFamilies` entries and `ipFamilyPolicy` on their own.
fn family_fields(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    for (i, family) in strings(spec, "ipFamilies").iter().enumerate() {
        let p = path.child("ipFamilies").index(i);
        if family != "IPv4" && family != "IPv6" {
            errs.push(FieldError::not_supported(&p, family.as_str(), &["IPv4", "IPv6"]));
        }
        if !seen.insert(family.clone()) {
            errs.push(FieldError::duplicate(&p, family.as_str()));
        }
    }
    if let Some(policy) = get(spec, "ipFamilyPolicy").and_then(Value::as_str) {
        let allowed = ["PreferDualStack", "RequireDualStack", "SingleStack"];
        if !allowed.contains(&policy) {
            errs.push(FieldError::not_supported(path.child("ipFamilyPolicy"), policy, &allowed));
        }
    }
    errs
}

/// Each cluster IP parses (`None` only alone); returns whether any is bad,
/// in which case upstream stops before the dual-stack checks.
fn ip_list(ips: &[String], ips_path: &Path) -> (Vec<FieldError>, bool) {
    let value = || Value::from(ips.to_vec());
    let mut errs = Vec::new();
    let mut invalid = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && ip == "None" {
            if ips.len() > 1 {
                invalid = true;
                errs.push(FieldError::invalid(ips_path, value(), "'None' must be the first and only value"));
            }
            continue;
        }
        if !is_ip(ip) {
            invalid = true;
            errs.push(FieldError::invalid(ips_path.index(i), ip.as_str(), IP_MSG));
        }
    }
    if ips.len() > 2 {
        errs.push(FieldError::invalid(ips_path, value(), "may only hold up to 2 values"));
    }
    (errs, invalid)
}

fn families_match(spec: &Value, ips: &[String], ips_path: &Path) -> Vec<FieldError> {
    if is_headless(spec) {
        return Vec::new();
    }
    let families = strings(spec, "ipFamilies");
    let mut errs = Vec::new();
    for (i, (ip, family)) in ips.iter().zip(&families).enumerate() {
        let v6 = ip.contains(':');
        if family == "IPv4" && v6 {
            let detail = format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`");
            errs.push(FieldError::invalid(ips_path.index(i), ip.as_str(), &detail));
        }
        if family == "IPv6" && !v6 {
            let detail = format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`");
            errs.push(FieldError::invalid(ips_path.index(i), ip.as_str(), &detail));
        }
    }
    errs
}

/// Update rules: allocated cluster IPs and families may not change (only a
/// secondary one may be added or released), nor may the load balancer class
/// or a health-check node port.
pub fn cluster_ip_updates(new: &Value, old: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let external = s(new, "type") == "ExternalName" || s(old, "type") == "ExternalName";
    let both_headless = is_headless(new) && is_headless(old);
    if !(external || both_headless) {
        errs.extend(list_update(new, old, "clusterIPs", "primary clusterIP can not be unset", path));
    }
    if !external && is_headless(new) == is_headless(old) && !is_headless(new) {
        errs.extend(list_update(new, old, "ipFamilies", "primary ipFamily can not be unset", path));
    }
    if s(new, "type") == "LoadBalancer"
        && s(old, "type") == "LoadBalancer"
        && get(new, "loadBalancerClass") != get(old, "loadBalancerClass")
    {
        let v = get(new, "loadBalancerClass").cloned().unwrap_or(Value::Null);
        errs.push(FieldError::invalid(path.child("loadBalancerClass"), v, "may not change once set"));
    }
    if needs_health_check(new)
        && needs_health_check(old)
        && int0(new, "healthCheckNodePort") != int0(old, "healthCheckNodePort")
    {
        errs.push(FieldError::forbidden(path.child("healthCheckNodePort"), crate::IMMUTABLE_MSG));
    }
    errs
}

fn list_update(new: &Value, old: &Value, key: &str, unset_msg: &str, path: &Path) -> Vec<FieldError> {
    let (n, o) = (strings(new, key), strings(old, key));
    let p = path.child(key);
    let value = Value::from(n.clone());
    let mut errs = Vec::new();
    if n.len() == o.len() {
        if n.iter().zip(&o).any(|(a, b)| a != b) {
            errs.push(FieldError::invalid(p.index(0), value, "may not change once set"));
        }
    } else if n.len() < o.len() {
        if n.is_empty() {
            errs.push(FieldError::invalid(p.index(0), value.clone(), unset_msg));
        } else if n[0] != o[0] {
            errs.push(FieldError::invalid(p.index(0), value.clone(), "may not change once set"));
        }
        let single = get(new, "ipFamilyPolicy").and_then(Value::as_str) == Some("SingleStack");
        if n.len() == 1 && !single {
            let what = if key == "clusterIPs" { "clusterIP" } else { "ipFamily" };
            let detail = format!("must be set to 'SingleStack' when releasing the secondary {what}");
            let policy = get(new, "ipFamilyPolicy").cloned().unwrap_or(Value::Null);
            errs.push(FieldError::invalid(path.child("ipFamilyPolicy"), policy, &detail));
        }
    } else if !o.is_empty() && n[0] != o[0] {
        errs.push(FieldError::invalid(p.index(0), value, "may not change once set"));
    }
    errs
}

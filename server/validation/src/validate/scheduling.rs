//! Scheduling-related pod spec fields: tolerations, affinity, topology
//! spread constraints and DNS config.

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{arr, get, int, s, strings};
use crate::names::{IP_MSG, dns1123_subdomain, is_ip, label_value, qualified_name};
use crate::path::Path;
use crate::selector::{Operators, validate_requirement};

const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// `ValidateTolerations`.
pub fn tolerations(list: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let p = path.index(i);
        let (key, op, value, effect) = (s(t, "key"), s(t, "operator"), s(t, "value"), s(t, "effect"));
        if !key.is_empty() {
            errs.extend(
                qualified_name(key).into_iter().map(|m| FieldError::invalid(p.child("key"), key, &m)),
            );
        }
        if key.is_empty() && op != "Exists" {
            let detail =
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"";
            errs.push(FieldError::invalid(p.child("operator"), op, detail));
        }
        if get(t, "tolerationSeconds").is_some() && effect != "NoExecute" {
            let detail = "effect must be 'NoExecute' when `tolerationSeconds` is set";
            errs.push(FieldError::invalid(p.child("effect"), effect, detail));
        }
        match op {
            "Equal" | "" => {
                let msgs = label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(p.child("operator"), value, &msgs.join(";")));
                }
            }
            "Exists" if !value.is_empty() => {
                let detail = "value must be empty when `operator` is 'Exists'";
                errs.push(FieldError::invalid(p.child("operator"), value, detail));
            }
            "Exists" => {}
            other => errs.push(FieldError::not_supported(p.child("operator"), other, &["Equal", "Exists"])),
        }
        if !effect.is_empty() && !TAINT_EFFECTS.contains(&effect) {
            errs.push(FieldError::not_supported(p.child("effect"), effect, &TAINT_EFFECTS));
        }
    }
    errs
}

/// `validateTaintEffect` for Node taints (effect required).
pub fn taint_effect(effect: &str, path: &Path) -> Option<FieldError> {
    if effect.is_empty() {
        return Some(FieldError::required(path, ""));
    }
    (!TAINT_EFFECTS.contains(&effect)).then(|| FieldError::not_supported(path, effect, &TAINT_EFFECTS))
}

/// `validateAffinity` (node affinity and pod (anti-)affinity terms).
pub fn affinity(a: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(na) = get(a, "nodeAffinity") {
        let p = path.child("nodeAffinity");
        if let Some(req) = get(na, "requiredDuringSchedulingIgnoredDuringExecution") {
            errs.extend(node_selector(req, &p.child("requiredDuringSchedulingIgnoredDuringExecution")));
        }
        let pref_path = p.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in arr(na, "preferredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
            errs.extend(weight(term, &pref_path.index(i)));
            if let Some(pref) = get(term, "preference") {
                errs.extend(node_selector_term(pref, false, &pref_path.index(i).child("preference")));
            }
        }
    }
    for key in ["podAffinity", "podAntiAffinity"] {
        let Some(pa) = get(a, key) else { continue };
        let p = path.child(key);
        let req = p.child("requiredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in arr(pa, "requiredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
            errs.extend(pod_affinity_term(term, &req.index(i)));
        }
        let pref = p.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, wt) in arr(pa, "preferredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
            errs.extend(weight(wt, &pref.index(i)));
            let term = get(wt, "podAffinityTerm").cloned().unwrap_or(Value::Null);
            errs.extend(pod_affinity_term(&term, &pref.index(i).child("podAffinityTerm")));
        }
    }
    errs
}

fn weight(term: &Value, p: &Path) -> Option<FieldError> {
    let w = int(term, "weight").unwrap_or(0);
    (!(1..=100).contains(&w)).then(|| FieldError::invalid(p.child("weight"), w, "must be in the range 1-100"))
}

fn pod_affinity_term(term: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["labelSelector", "namespaceSelector"] {
        if let Some(sel) = get(term, key) {
            errs.extend(crate::selector::validate(sel, &p.child(key)));
        }
    }
    for ns in strings(term, "namespaces") {
        for m in crate::names::dns1123_label(&ns) {
            errs.push(FieldError::invalid(p.child("namespace"), ns.as_str(), &m));
        }
    }
    let key = s(term, "topologyKey");
    if key.is_empty() {
        errs.push(FieldError::required(p.child("topologyKey"), "can not be empty"));
    }
    errs.extend(
        qualified_name(key).into_iter().map(|m| FieldError::invalid(p.child("topologyKey"), key, &m)),
    );
    errs
}

/// `ValidateNodeSelector`.
pub fn node_selector(sel: &Value, p: &Path) -> Vec<FieldError> {
    let terms = arr(sel, "nodeSelectorTerms");
    let tp = p.child("nodeSelectorTerms");
    if terms.is_empty() {
        return vec![FieldError::required(tp, "must have at least one node selector term")];
    }
    terms.iter().enumerate().flat_map(|(i, t)| node_selector_term(t, true, &tp.index(i))).collect()
}

fn node_selector_term(term: &Value, check_values: bool, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (j, req) in arr(term, "matchExpressions").iter().enumerate() {
        let rp = p.child("matchExpressions").index(j);
        errs.extend(validate_requirement(req, Operators::Node, check_values, &rp));
    }
    errs
}

/// `validateTopologySpreadConstraints` (the core checks).
pub fn topology_spread(list: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let p = path.index(i);
        let skew = int(c, "maxSkew").unwrap_or(0);
        if skew <= 0 {
            errs.push(FieldError::invalid(p.child("maxSkew"), skew, "must be greater than zero"));
        }
        let key = s(c, "topologyKey");
        if key.is_empty() {
            errs.push(FieldError::required(p.child("topologyKey"), "can not be empty"));
        } else {
            errs.extend(
                qualified_name(key).into_iter().map(|m| FieldError::invalid(p.child("topologyKey"), key, &m)),
            );
        }
        let when = s(c, "whenUnsatisfiable");
        if !["DoNotSchedule", "ScheduleAnyway"].contains(&when) {
            errs.push(FieldError::not_supported(
                p.child("whenUnsatisfiable"),
                when,
                &["DoNotSchedule", "ScheduleAnyway"],
            ));
        }
        if let Some(sel) = get(c, "labelSelector") {
            errs.extend(crate::selector::validate(sel, &p.child("labelSelector")));
        }
    }
    errs
}

/// `validatePodDNSConfig`.
pub fn dns_config(spec: &Value, path: &Path) -> Vec<FieldError> {
    let config = get(spec, "dnsConfig");
    if s(spec, "dnsPolicy") == "None" {
        let Some(config) = config else {
            return vec![FieldError::required(path, "must provide `dnsConfig` when `dnsPolicy` is None")];
        };
        if arr(config, "nameservers").is_empty() {
            let detail = "must provide at least one DNS nameserver when `dnsPolicy` is None";
            return vec![FieldError::required(path.child("nameservers"), detail)];
        }
    }
    let Some(config) = config else {
        return Vec::new();
    };
    let mut errs = dns_lists(config, path);
    for (i, opt) in arr(config, "options").iter().enumerate() {
        if s(opt, "name").is_empty() {
            errs.push(FieldError::required(path.child("options").index(i), "must not be empty"));
        }
    }
    errs
}

/// Nameserver and search-path limits of a `dnsConfig`.
fn dns_lists(config: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let servers = strings(config, "nameservers");
    if servers.len() > 3 {
        errs.push(FieldError::invalid(
            path.child("nameservers"),
            Value::from(servers.clone()),
            "must not have more than 3 nameservers",
        ));
    }
    for (i, ns) in servers.iter().enumerate() {
        if !is_ip(ns) {
            errs.push(FieldError::invalid(path.child("nameservers").index(i), ns.as_str(), IP_MSG));
        }
    }
    let searches = strings(config, "searches");
    if searches.len() > 32 {
        errs.push(FieldError::invalid(
            path.child("searches"),
            Value::from(searches.clone()),
            "must not have more than 32 search paths",
        ));
    }
    for (i, search) in searches.iter().enumerate() {
        let trimmed = search.strip_suffix('.').unwrap_or(search);
        for m in dns1123_subdomain(trimmed) {
            errs.push(FieldError::invalid(path.child("searches").index(i), trimmed, &m));
        }
    }
    errs
}

//! networking.k8s.io: Ingress and IngressClass (NetworkPolicy lives in
//! `network_policy`).

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{arr, get, int, obj, s, strings};
use crate::names::{
    dns1035_label, dns1123_label, dns1123_subdomain, domain_prefixed_path, is_ip, path_segment_name,
    port_name, port_num, wildcard_subdomain,
};
use crate::path::Path;

const PATH_TYPES: [&str; 3] = ["Exact", "ImplementationSpecific", "Prefix"];

/// The Ingress kind.
pub fn validate_ingress(obj_v: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj_v, "spec").cloned().unwrap_or(Value::Null);
    let path = Path::new("spec");
    let mut errs = Vec::new();
    let rules = arr(&spec, "rules");
    if rules.is_empty() && get(&spec, "defaultBackend").is_none() {
        let detail = "either `defaultBackend` or `rules` must be specified";
        errs.push(FieldError::invalid(&path, Value::from(rules.to_vec()), detail));
    }
    if let Some(b) = get(&spec, "defaultBackend") {
        errs.extend(backend(b, &path.child("defaultBackend")));
    }
    for (i, rule) in rules.iter().enumerate() {
        errs.extend(ingress_rule(rule, &path.child("rules").index(i)));
    }
    for (i, tls) in arr(&spec, "tls").iter().enumerate() {
        errs.extend(ingress_tls(tls, &path.child("tls").index(i)));
    }
    if let Some(class) = get(&spec, "ingressClassName").and_then(Value::as_str) {
        errs.extend(
            dns1123_subdomain(class)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("ingressClassName"), class, &m)),
        );
        let annotation = get(obj_v, "metadata")
            .and_then(|m| obj(m, "annotations"))
            .and_then(|a| a.get("kubernetes.io/ingress.class"))
            .and_then(Value::as_str);
        if old.is_none() && annotation.is_some_and(|a| a != class) {
            let p = Path::new("annotations").child("kubernetes.io/ingress.class");
            errs.push(FieldError::invalid(
                p,
                annotation.unwrap_or_default(),
                "must match `ingressClassName` when both are specified",
            ));
        }
    }
    errs
}

fn ingress_rule(rule: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let host = s(rule, "host");
    if !host.is_empty() {
        if is_ip(host) {
            errs.push(FieldError::invalid(p.child("host"), host, "must be a DNS name, not an IP address"));
        }
        let msgs = if host.contains('*') { wildcard_subdomain(host) } else { dns1123_subdomain(host) };
        errs.extend(msgs.into_iter().map(|m| FieldError::invalid(p.child("host"), host, &m)));
    }
    if let Some(http) = get(rule, "http") {
        let hp = p.child("http");
        let paths = arr(http, "paths");
        if paths.is_empty() {
            errs.push(FieldError::required(hp.child("paths"), ""));
        }
        for (i, path) in paths.iter().enumerate() {
            errs.extend(http_path(path, &hp.child("paths").index(i)));
        }
    }
    errs
}

fn http_path(path: &Value, p: &Path) -> Vec<FieldError> {
    let Some(path_type) = get(path, "pathType").and_then(Value::as_str) else {
        return vec![FieldError::required(p.child("pathType"), "pathType must be specified")];
    };
    let value = s(path, "path");
    let pp = p.child("path");
    let mut errs = Vec::new();
    match path_type {
        "Exact" | "Prefix" => {
            if !value.starts_with('/') {
                errs.push(FieldError::invalid(&pp, value, "must be an absolute path"));
            }
            for seq in ["//", "/./", "/../", "%2f", "%2F"] {
                if value.contains(seq) {
                    errs.push(FieldError::invalid(&pp, value, &format!("must not contain '{seq}'")));
                }
            }
            for suffix in ["/..", "/."] {
                if value.ends_with(suffix) {
                    errs.push(FieldError::invalid(&pp, value, &format!("cannot end with '{suffix}'")));
                }
            }
        }
        "ImplementationSpecific" if !value.is_empty() && !value.starts_with('/') => {
            errs.push(FieldError::invalid(&pp, value, "must be an absolute path"));
        }
        "ImplementationSpecific" => {}
        other => errs.push(FieldError::not_supported(p.child("pathType"), other, &PATH_TYPES)),
    }
    let b = get(path, "backend").cloned().unwrap_or(Value::Null);
    errs.extend(backend(&b, &p.child("backend")));
    errs
}

/// `validateIngressBackend`.
fn backend(b: &Value, p: &Path) -> Vec<FieldError> {
    match (get(b, "resource"), get(b, "service")) {
        (Some(_), Some(_)) => {
            vec![FieldError::invalid(p, "", "cannot set both resource and service backends")]
        }
        (Some(r), None) => typed_reference(r, &p.child("resource")),
        (None, Some(svc)) => service_backend(svc, p),
        (None, None) => vec![FieldError::invalid(p, "", "resource or service backend is required")],
    }
}

fn service_backend(svc: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = s(svc, "name");
    let np = p.child("service").child("name");
    if name.is_empty() {
        errs.push(FieldError::required(&np, ""));
    } else {
        errs.extend(dns1035_label(name).into_iter().map(|m| FieldError::invalid(&np, name, &m)));
    }
    let port = get(svc, "port").cloned().unwrap_or(Value::Null);
    let (port_n, number) = (s(&port, "name"), int(&port, "number").unwrap_or(0));
    let pp = p.child("service").child("port");
    match (port_n.is_empty(), number == 0) {
        (false, false) => errs.push(FieldError::invalid(p, "", "cannot set both port name & port number")),
        (false, true) => errs
            .extend(port_name(port_n).into_iter().map(|m| FieldError::invalid(pp.child("name"), port_n, &m))),
        (true, false) => errs.extend(
            port_num(number).into_iter().map(|m| FieldError::invalid(pp.child("number"), number, &m)),
        ),
        (true, true) => errs.push(FieldError::required(p, "port name or number is required")),
    }
    errs
}

fn typed_reference(r: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(group) = get(r, "apiGroup").and_then(Value::as_str) {
        errs.extend(
            dns1123_subdomain(group).into_iter().map(|m| FieldError::invalid(p.child("apiGroup"), group, &m)),
        );
    }
    for key in ["kind", "name"] {
        let v = s(r, key);
        if v.is_empty() {
            errs.push(FieldError::required(p.child(key), ""));
        } else {
            errs.extend(path_segment_name(v).into_iter().map(|m| FieldError::invalid(p.child(key), v, &m)));
        }
    }
    errs
}

fn ingress_tls(tls: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, host) in strings(tls, "hosts").iter().enumerate() {
        let msgs = if host.contains('*') { wildcard_subdomain(host) } else { dns1123_subdomain(host) };
        errs.extend(
            msgs.into_iter().map(|m| FieldError::invalid(p.child("hosts").index(i), host.as_str(), &m)),
        );
    }
    let secret = s(tls, "secretName");
    if !secret.is_empty() {
        errs.extend(
            dns1123_subdomain(secret)
                .into_iter()
                .map(|m| FieldError::invalid(p.child("secretName"), secret, &m)),
        );
    }
    errs
}

/// The IngressClass kind.
pub fn validate_ingress_class(obj_v: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj_v, "spec").cloned().unwrap_or(Value::Null);
    let cp = Path::new("spec").child("controller");
    let controller = s(&spec, "controller");
    let mut errs = Vec::new();
    if let Some(old) = old {
        let old_controller = get(old, "spec").map(|s2| s(s2, "controller")).unwrap_or("");
        if old_controller != controller {
            errs.push(FieldError::invalid(&cp, controller, crate::IMMUTABLE_MSG));
        }
    }
    if controller.is_empty() {
        errs.push(FieldError::required(&cp, ""));
    } else {
        if controller.len() > 250 {
            errs.push(FieldError::too_long(&cp, 250));
        }
        errs.extend(
            domain_prefixed_path(controller).into_iter().map(|(v, m)| FieldError::invalid(&cp, v, &m)),
        );
    }
    if let Some(params) = get(&spec, "parameters") {
        errs.extend(class_parameters(params, &Path::new("spec").child("parameters")));
    }
    errs
}

fn class_parameters(params: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = typed_reference(params, p);
    let Some(scope) = get(params, "scope").and_then(Value::as_str) else {
        errs.push(FieldError::required(p.child("scope"), ""));
        return errs;
    };
    let namespace = get(params, "namespace").and_then(Value::as_str);
    match (scope, namespace) {
        ("Namespace", None) => {
            errs.push(FieldError::required(p.child("namespace"), "`parameters.scope` is set to 'Namespace'"))
        }
        ("Namespace", Some(ns)) => {
            errs.extend(
                dns1123_label(ns).into_iter().map(|m| FieldError::invalid(p.child("namespace"), ns, &m)),
            );
        }
        ("Cluster", Some(_)) => {
            errs.push(FieldError::forbidden(p.child("namespace"), "`parameters.scope` is set to 'Cluster'"))
        }
        ("Cluster", None) => {}
        (other, _) => {
            errs.push(FieldError::not_supported(p.child("scope"), other, &["Cluster", "Namespace"]))
        }
    }
    errs
}

//! Probes and lifecycle hooks (`validateProbe`, `validateHandler`, ...).

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{arr, get, int, s};
use crate::names::{http_header_name, port_name, port_num};
use crate::path::Path;

/// `validateLivenessProbe` / `validateReadinessProbe` / `validateStartupProbe`;
/// `kind` is the container field name.
pub fn validate_probe(probe: &Value, kind: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = handler(probe, false, None, path);
    for key in
        ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"]
    {
        errs.extend(super::non_negative(probe, key, path));
    }
    if let Some(grace) = int(probe, "terminationGracePeriodSeconds")
        && grace <= 0
    {
        errs.push(FieldError::invalid(
            path.child("terminationGracePeriodSeconds"),
            grace,
            "must be greater than 0",
        ));
    }
    match kind {
        "readinessProbe" => {
            if let Some(v) = get(probe, "terminationGracePeriodSeconds") {
                let detail = "must not be set for readinessProbes";
                errs.push(FieldError::invalid(
                    path.child("terminationGracePeriodSeconds"),
                    v.clone(),
                    detail,
                ));
            }
        }
        _ => {
            let threshold = int(probe, "successThreshold").unwrap_or(0);
            if threshold != 1 {
                errs.push(FieldError::invalid(path.child("successThreshold"), threshold, "must be 1"));
            }
        }
    }
    errs
}

/// `validateLifecycle`.
pub fn validate_lifecycle(lc: &Value, grace: Option<i64>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for hook in ["postStart", "preStop"] {
        if let Some(h) = get(lc, hook) {
            errs.extend(handler(h, true, grace, &path.child(hook)));
        }
    }
    errs
}

/// `validateHandler`: exactly one action; `sleep` only in lifecycle hooks.
fn handler(h: &Value, lifecycle: bool, grace: Option<i64>, path: &Path) -> Vec<FieldError> {
    let mut kinds = vec!["exec", "httpGet", "tcpSocket"];
    kinds.push(if lifecycle { "sleep" } else { "grpc" });
    let mut errs = Vec::new();
    let mut found = 0;
    for kind in kinds {
        let Some(action) = get(h, kind) else {
            continue;
        };
        let p = path.child(kind);
        if found > 0 {
            errs.push(FieldError::forbidden(p, "may not specify more than 1 handler type"));
            continue;
        }
        found += 1;
        errs.extend(action_errors(kind, action, grace, &p));
    }
    if found == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
    errs
}

fn action_errors(kind: &str, action: &Value, grace: Option<i64>, p: &Path) -> Vec<FieldError> {
    match kind {
        "exec" if arr(action, "command").is_empty() => {
            vec![FieldError::required(p.child("command"), "")]
        }
        "httpGet" => http_get(action, p),
        "tcpSocket" => port_num_or_name(action.get("port"), &p.child("port")),
        "grpc" => port_num_or_name(action.get("port"), &p.child("port")),
        "sleep" => sleep(action, grace, p),
        _ => Vec::new(),
    }
}

fn http_get(action: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if s(action, "path").is_empty() {
        errs.push(FieldError::required(p.child("path"), ""));
    }
    errs.extend(port_num_or_name(action.get("port"), &p.child("port")));
    let scheme = s(action, "scheme");
    if scheme != "HTTP" && scheme != "HTTPS" {
        errs.push(FieldError::not_supported(p.child("scheme"), scheme, &["HTTP", "HTTPS"]));
    }
    for header in arr(action, "httpHeaders") {
        let name = s(header, "name");
        for m in http_header_name(name) {
            errs.push(FieldError::invalid(p.child("httpHeaders"), name, &m));
        }
    }
    errs
}

fn sleep(action: &Value, grace: Option<i64>, p: &Path) -> Vec<FieldError> {
    let seconds = int(action, "seconds").unwrap_or(0);
    match grace {
        Some(g) if seconds < 0 || seconds > g => {
            let detail = format!("must be non-negative and less than terminationGracePeriodSeconds ({g})");
            vec![FieldError::invalid(p, seconds, &detail)]
        }
        _ => Vec::new(),
    }
}

/// `ValidatePortNumOrName` for an IntOrString port.
pub fn port_num_or_name(port: Option<&Value>, path: &Path) -> Vec<FieldError> {
    match port {
        Some(Value::String(name)) => {
            port_name(name).into_iter().map(|m| FieldError::invalid(path, name.as_str(), &m)).collect()
        }
        Some(v) => {
            let n = v.as_i64().unwrap_or(0);
            port_num(n).into_iter().map(|m| FieldError::invalid(path, n, &m)).collect()
        }
        None => port_num(0).into_iter().map(|m| FieldError::invalid(path, 0, &m)).collect(),
    }
}

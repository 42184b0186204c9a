//! autoscaling/v2 metric specs and scaling behavior.

use serde_json::Value;
use wasmkube_api::quantity::Quantity;

use crate::error::FieldError;
use crate::json::{arr, get, int, s};
use crate::path::Path;

const SOURCE_TYPES: [&str; 5] = ["ContainerResource", "External", "Object", "Pods", "Resource"];

fn source_field(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "Object" => "object",
        "Pods" => "pods",
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        "External" => "external",
        _ => return None,
    })
}

/// `validateMetricSpec`.
pub fn metric(m: &Value, p: &Path) -> Vec<FieldError> {
    let ty = s(m, "type");
    let mut errs = Vec::new();
    if ty.is_empty() {
        errs.push(FieldError::required(p.child("type"), "must specify a metric source type"));
    }
    if !SOURCE_TYPES.contains(&ty) {
        errs.push(FieldError::not_supported(p.child("type"), ty, &SOURCE_TYPES));
    }
    let present: Vec<&str> = ["object", "pods", "resource", "containerResource", "external"]
        .into_iter()
        .filter(|k| get(m, k).is_some())
        .collect();
    if let Some(field) = source_field(ty) {
        match get(m, field) {
            None => errs.push(FieldError::required(
                p.child(field),
                "must populate information for the given metric source",
            )),
            Some(src) => errs.extend(source(field, src, &p.child(field))),
        }
        if present.len() > 1 {
            for other in present.iter().filter(|k| **k != field) {
                errs.push(FieldError::forbidden(
                    p.child(other),
                    "must populate the given metric source only",
                ));
            }
        }
    }
    errs
}

fn source(field: &str, src: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if (field == "resource" || field == "containerResource") && s(src, "name").is_empty() {
        errs.push(FieldError::required(p.child("name"), "must specify a resource name"));
    }
    if field == "containerResource" && s(src, "container").is_empty() {
        errs.push(FieldError::required(p.child("container"), "must specify a container"));
    }
    let target = get(src, "target").cloned().unwrap_or(Value::Null);
    let tp = p.child("target");
    errs.extend(metric_target(&target, &tp));
    if field == "resource" || field == "containerResource" {
        let (util, avg) =
            (get(&target, "averageUtilization").is_some(), get(&target, "averageValue").is_some());
        if !util && !avg {
            let detail = "must set either a target raw value or a target utilization";
            errs.push(FieldError::required(tp.child("averageUtilization"), detail));
        } else if util && avg {
            let detail = "may not set both a target raw value and a target utilization";
            errs.push(FieldError::forbidden(tp.child("averageValue"), detail));
        }
    }
    errs
}

/// `validateBehavior`.
pub fn behavior(b: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["scaleUp", "scaleDown"] {
        if let Some(rules) = get(b, key) {
            errs.extend(scaling_rules(rules, &p.child(key)));
        }
    }
    errs
}

fn scaling_rules(rules: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(w) = int(rules, "stabilizationWindowSeconds") {
        if w < 0 {
            errs.push(FieldError::invalid(
                p.child("stabilizationWindowSeconds"),
                w,
                "must be greater than or equal to zero",
            ));
        } else if w > 3600 {
            errs.push(FieldError::invalid(
                p.child("stabilizationWindowSeconds"),
                w,
                "must be less than or equal to 3600",
            ));
        }
    }
    if let Some(sp) = get(rules, "selectPolicy").and_then(Value::as_str) {
        let allowed = ["Disabled", "Max", "Min"];
        if !allowed.contains(&sp) {
            errs.push(FieldError::not_supported(p.child("selectPolicy"), sp, &allowed));
        }
    }
    let policies = arr(rules, "policies");
    if policies.is_empty() && s(rules, "selectPolicy") != "Disabled" {
        errs.push(FieldError::required(p.child("policies"), "must specify at least one Policy"));
    }
    for (i, policy) in policies.iter().enumerate() {
        errs.extend(scaling_policy(policy, &p.child("policies").index(i)));
    }
    errs
}

/// One `HPAScalingPolicy`.
fn scaling_policy(policy: &Value, pp: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ty = s(policy, "type");
    if ty != "Pods" && ty != "Percent" {
        errs.push(FieldError::invalid(pp.child("type"), ty, "must be either Pods or Percent"));
    }
    let value = int(policy, "value").unwrap_or(0);
    if value <= 0 {
        errs.push(FieldError::invalid(pp.child("value"), value, "must be greater than zero"));
    }
    let period = int(policy, "periodSeconds").unwrap_or(0);
    if period <= 0 {
        errs.push(FieldError::invalid(pp.child("periodSeconds"), period, "must be greater than zero"));
    } else if period > 1800 {
        errs.push(FieldError::invalid(
            pp.child("periodSeconds"),
            period,
            "must be less than or equal to 1800",
        ));
    }
    errs
}

/// `validateMetricTarget`.
fn metric_target(target: &Value, tp: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ty = s(target, "type");
    if ty.is_empty() {
        errs.push(FieldError::required(tp.child("type"), "must specify a metric target type"));
    } else if !["Utilization", "Value", "AverageValue"].contains(&ty) {
        errs.push(FieldError::invalid(
            tp.child("type"),
            ty,
            "must be either Utilization, Value, or AverageValue",
        ));
    }
    for key in ["value", "averageValue"] {
        if let Some(q) = get(target, key).and_then(Quantity::from_json)
            && q <= Quantity::from_int(0)
        {
            errs.push(FieldError::invalid_stringer(tp.child(key), q, "must be positive"));
        }
    }
    if let Some(u) = int(target, "averageUtilization").filter(|u| *u < 1) {
        errs.push(FieldError::invalid(tp.child("averageUtilization"), u, "must be greater than 0"));
    }
    errs
}

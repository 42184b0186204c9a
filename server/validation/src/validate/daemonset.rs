//! DaemonSet (`ValidateDaemonSetSpec`, `ValidateDaemonSetUpdateStrategy`).

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{get, s};
use crate::meta::labels_of;
use crate::path::Path;
use crate::selector::{self, Selector};

use super::non_negative;
use super::pod_spec::validate_template_spec;
use super::workloads::{
    SELECTOR_MISMATCH, always_restart, int_or_percent, int_or_percent_value, int_or_string_text,
    not_more_than_100, selector_immutable, spec_of, template_labels,
};

/// The DaemonSet kind.
pub fn validate_daemon_set(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = spec_of(obj);
    let path = Path::new("spec");
    let mut errs = Vec::new();
    if let Some(sel) = get(&spec, "selector") {
        errs.extend(selector::validate(sel, &path.child("selector")));
    }
    let template = get(&spec, "template").cloned().unwrap_or(Value::Null);
    if let Some(sel) = Selector::parse(get(&spec, "selector"))
        && !sel.matches(&labels_of(&template))
    {
        let p = path.child("template").child("metadata").child("labels");
        errs.push(FieldError::invalid(p, template_labels(&template), SELECTOR_MISMATCH));
    }
    if get(&spec, "selector").is_some_and(selector::has_no_terms) {
        let sel = get(&spec, "selector").cloned().unwrap_or(Value::Null);
        errs.push(FieldError::invalid(
            path.child("selector"),
            sel,
            "empty selector is invalid for daemonset",
        ));
    }
    errs.extend(validate_template_spec(&template, &path.child("template")));
    errs.extend(always_restart(&template, "DaemonSet", &path.child("template")));
    errs.extend(non_negative(&spec, "minReadySeconds", &path));
    errs.extend(daemon_set_strategy(&spec, &path.child("updateStrategy")));
    errs.extend(non_negative(&spec, "revisionHistoryLimit", &path));
    errs.extend(selector_immutable(obj, old));
    errs
}

fn daemon_set_strategy(spec: &Value, path: &Path) -> Vec<FieldError> {
    let strategy = get(spec, "updateStrategy").cloned().unwrap_or(Value::Null);
    match s(&strategy, "type") {
        "OnDelete" => Vec::new(),
        "RollingUpdate" => {
            let Some(ru) = get(&strategy, "rollingUpdate") else {
                return vec![FieldError::required(path.child("rollingUpdate"), "")];
            };
            rolling_update_daemon_set(ru, &path.child("rollingUpdate"))
        }
        _ => vec![FieldError::not_supported(path, strategy.clone(), &["RollingUpdate", "OnDelete"])],
    }
}

fn rolling_update_daemon_set(ru: &Value, path: &Path) -> Vec<FieldError> {
    let unavailable = ru.get("maxUnavailable").cloned().unwrap_or(Value::Null);
    let surge = ru.get("maxSurge").cloned().unwrap_or(Value::Null);
    let mut errs = int_or_percent(&unavailable, &path.child("maxUnavailable"));
    errs.extend(int_or_percent(&surge, &path.child("maxSurge")));
    errs.extend(not_more_than_100(&unavailable, &path.child("maxUnavailable")));
    errs.extend(not_more_than_100(&surge, &path.child("maxSurge")));
    let has_unavailable = int_or_percent_value(&unavailable) != 0;
    let has_surge = int_or_percent_value(&surge) != 0;
    if has_unavailable && has_surge {
        let detail = "may not be set when maxUnavailable is non-zero";
        errs.push(FieldError::invalid_stringer(path.child("maxSurge"), int_or_string_text(&surge), detail));
    } else if !has_unavailable && !has_surge {
        errs.push(FieldError::required(path.child("maxUnavailable"), "cannot be 0 when maxSurge is 0"));
    }
    errs
}

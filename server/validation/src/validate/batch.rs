//! batch `validation.go`: Job and CronJob.

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{boolean, get, int, s};
use crate::meta::labels_of;
use crate::path::Path;
use crate::selector::{self, Selector};

use super::pod_spec::validate_template_spec;
use super::workloads::template_labels;
use super::{immutable, non_negative};

/// The Job kind.
pub fn validate_job(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj, "spec").cloned().unwrap_or(Value::Null);
    let path = Path::new("spec");
    let meta = get(obj, "metadata").cloned().unwrap_or(Value::Null);
    let manual = boolean(&spec, "manualSelector") == Some(true);
    // Without a uid the selector cannot have been generated yet; upstream
    // always has one here, so only check selectors once it exists.
    let selector_pending = !manual && s(&meta, "uid").is_empty() && get(&spec, "selector").is_none();
    let mut errs = if manual || selector_pending { Vec::new() } else { generated_selector(&meta, &spec) };
    errs.extend(job_spec(&spec, &path));
    if !selector_pending {
        errs.extend(job_selector(&spec, &path));
    }
    if let Some(old) = old {
        let old_spec = get(old, "spec").cloned().unwrap_or(Value::Null);
        for key in [
            "completions",
            "selector",
            "template",
            "completionMode",
            "podFailurePolicy",
            "backoffLimitPerIndex",
        ] {
            errs.extend(immutable(get(&spec, key), get(&old_spec, key), &path.child(key)));
        }
    }
    errs
}

/// `ValidateGeneratedSelector`: the template carries the uid/name labels and
/// the selector selects on the uid.
fn generated_selector(meta: &Value, spec: &Value) -> Vec<FieldError> {
    let Some(sel) = get(spec, "selector") else {
        return Vec::new();
    };
    let (uid, name) = (s(meta, "uid"), s(meta, "name"));
    let mut errs = Vec::new();
    if uid.is_empty() {
        errs.push(FieldError::required(Path::new("metadata").child("uid"), ""));
    }
    let template = get(spec, "template").cloned().unwrap_or(Value::Null);
    let labels = labels_of(&template);
    let tmeta = Path::new("spec").child("template").child("metadata");
    let expected = [
        ("controller-uid", uid),
        ("job-name", name),
        ("batch.kubernetes.io/controller-uid", uid),
        ("batch.kubernetes.io/job-name", name),
    ];
    for (key, want) in expected {
        let detail = format!("must be '{want}'");
        match labels.iter().find(|(k, _)| k == key) {
            None => errs.push(FieldError::required(tmeta.child("labels").key(key), &detail)),
            Some((_, got)) if got != want => {
                errs.push(FieldError::invalid(
                    tmeta.child("labels").key(key),
                    template_labels(&template),
                    &detail,
                ));
            }
            _ => {}
        }
    }
    let uid_labels = vec![("batch.kubernetes.io/controller-uid".to_owned(), uid.to_owned())];
    if let Some(parsed) = Selector::parse(Some(sel))
        && !parsed.matches(&uid_labels)
    {
        errs.push(FieldError::invalid(
            Path::new("spec").child("selector"),
            sel.clone(),
            "`selector` not auto-generated",
        ));
    }
    errs
}

fn job_selector(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match get(spec, "selector") {
        None => errs.push(FieldError::required(path.child("selector"), "")),
        Some(sel) => errs.extend(selector::validate(sel, &path.child("selector"))),
    }
    let template = get(spec, "template").cloned().unwrap_or(Value::Null);
    if let Some(sel) = Selector::parse(get(spec, "selector"))
        && !sel.matches(&labels_of(&template))
    {
        let p = path.child("template").child("metadata").child("labels");
        errs.push(FieldError::invalid(p, template_labels(&template), super::workloads::SELECTOR_MISMATCH));
    }
    errs
}

/// `validateJobSpec`, shared with CronJob job templates.
fn job_spec(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in
        ["parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"]
    {
        errs.extend(non_negative(spec, key, path));
    }
    if let Some(mode) = get(spec, "completionMode").and_then(Value::as_str) {
        if mode != "NonIndexed" && mode != "Indexed" {
            errs.push(FieldError::not_supported(
                path.child("completionMode"),
                mode,
                &["NonIndexed", "Indexed"],
            ));
        }
        if mode == "Indexed" {
            if get(spec, "completions").is_none() {
                errs.push(FieldError::required(path.child("completions"), "when completion mode is Indexed"));
            }
            if let Some(p) = int(spec, "parallelism").filter(|p| *p > 100_000) {
                let detail = "must be less than or equal to 100000 when completion mode is Indexed";
                errs.push(FieldError::invalid(path.child("parallelism"), p, detail));
            }
        }
    }
    if let Some(policy) = get(spec, "podReplacementPolicy").and_then(Value::as_str) {
        let allowed = ["TerminatingOrFailed", "Failed"];
        if !allowed.contains(&policy) {
            errs.push(FieldError::not_supported(path.child("podReplacementPolicy"), policy, &allowed));
        }
    }
    let template = get(spec, "template").cloned().unwrap_or(Value::Null);
    errs.extend(validate_template_spec(&template, &path.child("template")));
    let policy = get(&template, "spec").map(|t| s(t, "restartPolicy")).unwrap_or("");
    if policy != "OnFailure" && policy != "Never" {
        let p = path.child("template").child("spec").child("restartPolicy");
        errs.push(FieldError::not_supported(p, policy, &["OnFailure", "Never"]));
    }
    errs
}

/// The CronJob kind.
pub fn validate_cron_job(obj: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = get(obj, "metadata").map(|m| s(m, "name")).unwrap_or("");
    if name.len() > 52 {
        errs.push(FieldError::invalid(
            Path::new("metadata").child("name"),
            name,
            "must be no more than 52 characters",
        ));
    }
    let spec = get(obj, "spec").cloned().unwrap_or(Value::Null);
    let path = Path::new("spec");
    errs.extend(schedule(&spec, &path));
    errs.extend(non_negative(&spec, "startingDeadlineSeconds", &path));
    match s(&spec, "concurrencyPolicy") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(FieldError::required(path.child("concurrencyPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            path.child("concurrencyPolicy"),
            other,
            &["Allow", "Forbid", "Replace"],
        )),
    }
    for key in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        errs.extend(non_negative(&spec, key, &path));
    }
    let job = get(&spec, "jobTemplate").and_then(|t| get(t, "spec")).cloned().unwrap_or(Value::Null);
    let jpath = path.child("jobTemplate").child("spec");
    errs.extend(job_spec(&job, &jpath));
    if let Some(sel) = get(&job, "selector") {
        errs.push(FieldError::invalid(
            jpath.child("selector"),
            sel.clone(),
            "`selector` will be auto-generated",
        ));
    }
    if boolean(&job, "manualSelector") == Some(true) {
        errs.push(FieldError::not_supported(jpath.child("manualSelector"), true, &["nil", "false"]));
    }
    errs
}

fn schedule(spec: &Value, path: &Path) -> Vec<FieldError> {
    let sched = s(spec, "schedule");
    let p = path.child("schedule");
    if sched.is_empty() {
        return vec![FieldError::required(p, "")];
    }
    let mut errs = Vec::new();
    if let Err(e) = super::cron::parse_standard(sched) {
        errs.push(FieldError::invalid(&p, sched, &e));
    }
    if sched.contains("TZ") {
        let detail = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead";
        errs.push(FieldError::invalid(&p, sched, detail));
    }
    if let Some(tz) = get(spec, "timeZone").and_then(Value::as_str) {
        let tp = path.child("timeZone");
        if tz.is_empty() {
            errs.push(FieldError::invalid(tp, tz, "timeZone must be nil or non-empty string"));
        } else if tz.eq_ignore_ascii_case("local") {
            let detail =
                "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones";
            errs.push(FieldError::invalid(tp, tz, detail));
        }
    }
    errs
}

//! Job and CronJob.

use serde_json::json;

use crate::support::{assert_has, assert_valid, create_errors, set, update_errors};
use crate::valid_objects::{cron_job, job};

#[test]
fn job_templates_must_not_restart_always() {
    let mut j = job();
    set(&mut j, "/spec/template/spec/restartPolicy", json!("Always"));
    assert_has(
        &create_errors("batch", "Job", j.clone()),
        "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
    );
    j["spec"]["template"]["spec"].as_object_mut().unwrap().remove("restartPolicy");
    assert_has(
        &create_errors("batch", "Job", j),
        "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
    );
}

#[test]
fn job_counts_are_non_negative() {
    let mut j = job();
    j["spec"]["completions"] = json!(-1);
    j["spec"]["parallelism"] = json!(-2);
    j["spec"]["backoffLimit"] = json!(-3);
    let errs = create_errors("batch", "Job", j);
    assert_has(&errs, "spec.completions: Invalid value: -1: must be greater than or equal to 0");
    assert_has(&errs, "spec.parallelism: Invalid value: -2: must be greater than or equal to 0");
    assert_has(&errs, "spec.backoffLimit: Invalid value: -3: must be greater than or equal to 0");
}

#[test]
fn indexed_jobs_need_completions() {
    let mut j = job();
    j["spec"]["completionMode"] = json!("Indexed");
    j["spec"]["parallelism"] = json!(2);
    assert_has(
        &create_errors("batch", "Job", j),
        "spec.completions: Required value: when completion mode is Indexed",
    );
}

#[test]
fn manual_selectors_must_match() {
    let mut j = job();
    j["spec"]["manualSelector"] = json!(true);
    j["spec"]["selector"] = json!({"matchLabels": {"app": "pi"}});
    assert_has(
        &create_errors("batch", "Job", j.clone()),
        "spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` does not match template `labels`",
    );
    j["spec"]["template"]["metadata"] = json!({"labels": {"app": "pi"}});
    assert_valid(&create_errors("batch", "Job", j));
}

#[test]
fn job_spec_is_mostly_immutable() {
    let old = job();
    let mut new = old.clone();
    set(&mut new, "/spec/template/spec/containers/0/image", json!("perl:5.36"));
    new["spec"]["completions"] = json!(3);
    let errs = update_errors("batch", "Job", old.clone(), new);
    assert_has(&errs, "spec.completions: Invalid value: 3: field is immutable");
    assert!(errs.iter().any(|e| e.field == "spec.template" && e.detail == "field is immutable"));

    let mut suspended = old.clone();
    suspended["spec"]["suspend"] = json!(true);
    assert_valid(&update_errors("batch", "Job", old, suspended));
}

#[test]
fn cron_schedule_is_required_and_parsed() {
    let mut c = cron_job();
    set(&mut c, "/spec/schedule", json!(""));
    assert_has(&create_errors("batch", "CronJob", c.clone()), "spec.schedule: Required value");
    for (schedule, message) in [
        (
            "every minute",
            "spec.schedule: Invalid value: \"every minute\": expected exactly 5 fields, found 2: [every minute]",
        ),
        (
            "0 25 * * *",
            "spec.schedule: Invalid value: \"0 25 * * *\": end of range (25) above maximum (23): 25",
        ),
        (
            "@fortnightly",
            "spec.schedule: Invalid value: \"@fortnightly\": unrecognized descriptor: @fortnightly",
        ),
        (
            "TZ=UTC 0 * * * *",
            "spec.schedule: Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
        ),
    ] {
        set(&mut c, "/spec/schedule", json!(schedule));
        assert_has(&create_errors("batch", "CronJob", c.clone()), message);
    }
    for ok in ["@hourly", "30 2 * * mon-fri", "*/15 0-6 1,15 * *"] {
        set(&mut c, "/spec/schedule", json!(ok));
        assert_valid(&create_errors("batch", "CronJob", c.clone()));
    }
}

#[test]
fn cron_job_policies_and_template() {
    let mut c = cron_job();
    c["spec"]["concurrencyPolicy"] = json!("Sometimes");
    c["spec"]["jobTemplate"]["spec"]["selector"] = json!({"matchLabels": {"a": "b"}});
    c["metadata"]["name"] = json!("a".repeat(53));
    let errs = create_errors("batch", "CronJob", c);
    assert_has(
        &errs,
        "spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\"",
    );
    assert!(
        errs.iter().any(|e| e.field == "spec.jobTemplate.spec.selector"
            && e.detail == "`selector` will be auto-generated")
    );
    assert!(
        errs.iter().any(|e| e.field == "metadata.name" && e.detail == "must be no more than 52 characters")
    );
}

#[test]
fn job_selector_is_immutable() {
    let mut old = job();
    old["spec"]["manualSelector"] = json!(true);
    old["spec"]["selector"] = json!({"matchLabels": {"app": "pi"}});
    old["spec"]["template"]["metadata"] = json!({"labels": {"app": "pi", "v": "1"}});
    let mut new = old.clone();
    new["spec"]["selector"] = json!({"matchLabels": {"app": "pi", "v": "1"}});
    assert_has(
        &update_errors("batch", "Job", old, new),
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"pi\", \"v\":\"1\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
    );
}

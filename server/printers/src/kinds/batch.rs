//! Jobs and CronJobs.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::KindPrinter;
use super::common::{age, containers_and_images, count, name, text};
use crate::column::{AGE, CONTAINERS_WIDE, Column, IMAGES_WIDE, NAME};
use crate::descriptions::{
    CRONJOB_SPEC_SCHEDULE, CRONJOB_SPEC_SUSPEND, CRONJOB_SPEC_TIME_ZONE, CRONJOB_STATUS_ACTIVE,
    CRONJOB_STATUS_LAST_SCHEDULE, JOB_SPEC_SELECTOR, JOB_STATUS_SUCCEEDED,
};
use crate::duration::{human_duration, since};
use crate::field::Field;
use crate::labels::format_label_selector;

pub(crate) const JOB: KindPrinter = KindPrinter {
    group: "batch",
    kind: "Job",
    columns: &[
        NAME,
        Column::string("Status", "Status of the job."),
        Column::string("Completions", JOB_STATUS_SUCCEEDED),
        Column::string("Duration", "Time required to complete the job."),
        AGE,
        CONTAINERS_WIDE,
        IMAGES_WIDE,
        Column::string("Selector", JOB_SPEC_SELECTOR).wide(),
    ],
    cells: job_cells,
};

fn job_cells(job: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let spec = job.get("spec");
    let [containers, images] = containers_and_images(spec.path(&["template", "spec"]));
    vec![
        name(job),
        text(job_status(job)),
        text(completions(job)),
        text(job_duration(job.get("status"), now)),
        age(job, now),
        containers,
        images,
        text(format_label_selector(spec.get("selector"))),
    ]
}

/// `succeeded/completions`; without completions, `succeeded/1`, plus the parallelism when
/// several pods run at once (`0/1 of 3`).
fn completions(job: Field<'_>) -> String {
    let succeeded = job.path(&["status", "succeeded"]).int_or_zero();
    let spec = job.get("spec");
    if let Some(wanted) = spec.get("completions").int() {
        return format!("{succeeded}/{wanted}");
    }
    match spec.get("parallelism").int() {
        Some(parallelism) if parallelism > 1 => format!("{succeeded}/1 of {parallelism}"),
        _ => format!("{succeeded}/1"),
    }
}

/// Running time so far, or start to completion once complete; empty before the job starts.
fn job_duration(status: Field<'_>, now: DateTime<Utc>) -> String {
    let Some(start) = status.get("startTime").time() else {
        return String::new();
    };
    let end = status.get("completionTime").time().unwrap_or(now);
    human_duration(end - start)
}

/// Terminal conditions win, then deletion, then the transient conditions.
fn job_status(job: Field<'_>) -> &'static str {
    let has = |type_: &str| job_condition_true(job.get("status"), type_);
    if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if job.path(&["metadata", "deletionTimestamp"]).is_set() {
        "Terminating"
    } else if has("Suspended") {
        "Suspended"
    } else if has("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

/// Whether the first condition of `type_` is `True`.
fn job_condition_true(status: Field<'_>, type_: &str) -> bool {
    status
        .get("conditions")
        .items()
        .find(|c| c.get("type").str() == Some(type_))
        .is_some_and(|c| c.get("status").str() == Some("True"))
}

pub(crate) const CRON_JOB: KindPrinter = KindPrinter {
    group: "batch",
    kind: "CronJob",
    columns: &[
        NAME,
        Column::string("Schedule", CRONJOB_SPEC_SCHEDULE),
        Column::string("Timezone", CRONJOB_SPEC_TIME_ZONE),
        Column::boolean("Suspend", CRONJOB_SPEC_SUSPEND),
        Column::integer("Active", CRONJOB_STATUS_ACTIVE),
        Column::string("Last Schedule", CRONJOB_STATUS_LAST_SCHEDULE),
        AGE,
        CONTAINERS_WIDE,
        IMAGES_WIDE,
        Column::string("Selector", JOB_SPEC_SELECTOR).wide(),
    ],
    cells: cron_job_cells,
};

fn cron_job_cells(cron_job: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let spec = cron_job.get("spec");
    let status = cron_job.get("status");
    let job_spec = spec.path(&["jobTemplate", "spec"]);
    let [containers, images] = containers_and_images(job_spec.path(&["template", "spec"]));
    let last_schedule = status.get("lastScheduleTime");
    let last_schedule = if last_schedule.is_set() { since(last_schedule, now) } else { "<none>".to_owned() };
    vec![
        name(cron_job),
        text(spec.get("schedule").string()),
        text(spec.get("timeZone").str().unwrap_or("<none>")),
        text(suspend_text(spec.get("suspend"))),
        count(status.get("active").array_len()),
        text(last_schedule),
        age(cron_job, now),
        containers,
        images,
        text(format_label_selector(job_spec.get("selector"))),
    ]
}

/// `True`/`False`; the API server defaults `suspend` to false, so unset prints `False`.
fn suspend_text(suspend: Field<'_>) -> &'static str {
    if suspend.bool() == Some(true) { "True" } else { "False" }
}

//! Job and CronJob rows.

use serde_json::{Value, json};

use crate::support::{ago, cells, column_names, meta, row};

fn job(spec: Value, status: Value) -> Value {
    let mut spec = spec;
    spec["template"] = json!({"spec": {"containers": [{"name": "pi", "image": "perl:5.34"}]}});
    json!({"metadata": meta("pi", 600), "spec": spec, "status": status})
}

fn job_status_and_completions(job: &Value) -> (Value, Value, Value) {
    let cells = row("batch", "Job", job);
    (cells[1].clone(), cells[2].clone(), cells[3].clone())
}

#[test]
fn completed_job() {
    assert_eq!(
        column_names("batch", "Job"),
        ["Name", "Status", "Completions", "Duration", "Age", "Containers*", "Images*", "Selector*"]
    );
    let done = job(
        json!({"completions": 1, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "1f2e"}}}),
        json!({
            "succeeded": 1, "startTime": ago(600), "completionTime": ago(600 - 185),
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True"},
                {"type": "Complete", "status": "True"}
            ]
        }),
    );
    assert_eq!(
        row("batch", "Job", &done),
        cells(json!([
            "pi",
            "Complete",
            "1/1",
            "3m5s",
            "10m",
            "pi",
            "perl:5.34",
            "batch.kubernetes.io/controller-uid=1f2e"
        ]))
    );
}

#[test]
fn running_and_failed_jobs() {
    let running = job(
        json!({"completions": 5, "parallelism": 2}),
        json!({"succeeded": 2, "active": 2, "startTime": ago(65)}),
    );
    assert_eq!(job_status_and_completions(&running), (json!("Running"), json!("2/5"), json!("65s")));
    let parallel = job(json!({"parallelism": 3}), json!({}));
    assert_eq!(job_status_and_completions(&parallel), (json!("Running"), json!("0/1 of 3"), json!("")));
    let failed = job(json!({}), json!({"conditions": [{"type": "Failed", "status": "True"}]}));
    assert_eq!(job_status_and_completions(&failed).0, json!("Failed"));
    let suspended = job(json!({}), json!({"conditions": [{"type": "Suspended", "status": "True"}]}));
    assert_eq!(job_status_and_completions(&suspended).0, json!("Suspended"));
    let target = job(json!({}), json!({"conditions": [{"type": "FailureTarget", "status": "True"}]}));
    assert_eq!(job_status_and_completions(&target).0, json!("FailureTarget"));
    let mut deleting = job(json!({}), json!({"conditions": [{"type": "Suspended", "status": "True"}]}));
    deleting["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(job_status_and_completions(&deleting).0, json!("Terminating"));
    let not_yet = job(json!({}), json!({"conditions": [{"type": "Complete", "status": "False"}]}));
    assert_eq!(job_status_and_completions(&not_yet).0, json!("Running"));
}

#[test]
fn cron_job() {
    assert_eq!(
        column_names("batch", "CronJob"),
        [
            "Name",
            "Schedule",
            "Timezone",
            "Suspend",
            "Active",
            "Last Schedule",
            "Age",
            "Containers*",
            "Images*",
            "Selector*"
        ]
    );
    let cron = json!({
        "metadata": meta("nightly", 30 * 86_400),
        "spec": {
            "schedule": "0 3 * * *",
            "timeZone": "Europe/Paris",
            "suspend": false,
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [
                {"name": "backup", "image": "restic:0.16"}
            ]}}}}
        },
        "status": {"active": [{"kind": "Job", "name": "nightly-28624"}], "lastScheduleTime": ago(9 * 3600)}
    });
    assert_eq!(
        row("batch", "CronJob", &cron),
        cells(json!([
            "nightly",
            "0 3 * * *",
            "Europe/Paris",
            "False",
            1,
            "9h",
            "30d",
            "backup",
            "restic:0.16",
            "<none>"
        ]))
    );
    let fresh = json!({"metadata": meta("fresh", 10), "spec": {"schedule": "@hourly", "suspend": true}});
    assert_eq!(
        row("batch", "CronJob", &fresh),
        cells(json!(["fresh", "@hourly", "<none>", "True", 0, "<none>", "10s", "", "", "<none>"]))
    );
}

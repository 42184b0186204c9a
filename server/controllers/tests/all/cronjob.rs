//! CronJob, driven through the controllers' clock seam instead of waiting for real minutes.

use crate::harness::{Cluster, container};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{Value, json};

fn cron_job(name: &str, schedule: &str, extra: Value) -> Value {
    let mut cj = json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "schedule": schedule,
            "jobTemplate": {"metadata": {"labels": {"from": name}},
                            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container("main", "hello.wasm")]}}}},
        },
    });
    for (k, v) in extra.as_object().unwrap() {
        cj["spec"][k] = v.clone();
    }
    cj
}

impl Cluster {
    /// Move the controllers' clock just past the next whole minute; returns that minute.
    fn next_minute(&self) -> DateTime<Utc> {
        let clock = self.clock.as_ref().unwrap();
        let minute = self.now().duration_trunc(Duration::minutes(1)).unwrap() + Duration::minutes(1);
        clock.set(minute + Duration::seconds(1));
        minute
    }

    async fn jobs_of(&self, cj: &Value) -> Vec<Value> {
        let uid = cj["metadata"]["uid"].as_str().unwrap();
        let mut jobs: Vec<Value> = self
            .list("batch/jobs", "default")
            .await
            .into_iter()
            .filter(|j| crate::harness::controller_uid(j) == Some(uid))
            .collect();
        jobs.sort_by(|a, b| a["metadata"]["name"].as_str().cmp(&b["metadata"]["name"].as_str()));
        jobs
    }

    async fn wait_jobs(&self, cj: &Value, n: usize) -> Vec<Value> {
        self.eventually(&format!("{n} jobs"), || async {
            let jobs = self.jobs_of(cj).await;
            (jobs.len() == n).then_some(jobs)
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_starts_at_each_scheduled_minute_and_is_tracked() {
    let c = Cluster::start_with_manual_clock().await;
    let cj = c.create("batch/cronjobs", cron_job("tick", "* * * * *", json!({}))).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(c.jobs_of(&cj).await.is_empty(), "nothing before the first scheduled minute");
    let minute = c.next_minute();
    let jobs = c.wait_jobs(&cj, 1).await;
    let job = &jobs[0];
    assert_eq!(job["metadata"]["name"], format!("tick-{}", minute.timestamp() / 60));
    assert_eq!(
        job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"],
        minute.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    assert_eq!(job["metadata"]["labels"]["from"], "tick");
    assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    let cj_now = c
        .wait_for("batch/cronjobs", &cj, "the job in status.active", |o| {
            o["status"]["active"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    assert_eq!(cj_now["status"]["active"][0]["name"], job["metadata"]["name"]);
    assert_eq!(cj_now["status"]["lastScheduleTime"], minute.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    c.wait_event(&cj, "SuccessfulCreate").await;
    // The job runs to completion; the CronJob notices.
    let _kubelet = c.finisher("default", |_| 0);
    let cj_now = c
        .wait_for("batch/cronjobs", &cj, "the completed job noticed", |o| {
            o["status"]["active"].is_null() && o["status"]["lastSuccessfulTime"].is_string()
        })
        .await;
    assert!(cj_now["status"]["lastSuccessfulTime"].is_string());
    let msg = c.wait_event(&cj, "SawCompletedJob").await;
    assert!(msg.ends_with("condition: Complete"), "{msg}");
    c.next_minute();
    c.wait_jobs(&cj, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbid_skips_and_replace_swaps_a_running_job() {
    let c = Cluster::start_with_manual_clock().await;
    let forbid = c
        .create("batch/cronjobs", cron_job("forbid", "* * * * *", json!({"concurrencyPolicy": "Forbid"})))
        .await;
    let replace = c
        .create("batch/cronjobs", cron_job("replace", "* * * * *", json!({"concurrencyPolicy": "Replace"})))
        .await;
    let allow = c.create("batch/cronjobs", cron_job("allow", "* * * * *", json!({}))).await;
    c.next_minute();
    let first = c.wait_jobs(&replace, 1).await.remove(0);
    c.wait_jobs(&forbid, 1).await;
    c.wait_jobs(&allow, 1).await;
    c.next_minute();
    c.wait_jobs(&allow, 2).await;
    let msg = c.wait_event(&forbid, "JobAlreadyActive").await;
    assert!(msg.contains("Forbid"));
    assert_eq!(c.jobs_of(&forbid).await.len(), 1);
    let jobs = c
        .eventually("the replacement", || async {
            let jobs = c.jobs_of(&replace).await;
            (jobs.len() == 1 && jobs[0]["metadata"]["name"] != first["metadata"]["name"]).then_some(jobs)
        })
        .await;
    assert_eq!(jobs.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_limits_keep_the_newest_finished_jobs() {
    let c = Cluster::start_with_manual_clock().await;
    let _kubelet = c.finisher("default", |_| 0);
    let cj = c
        .create("batch/cronjobs", cron_job("hist", "* * * * *", json!({"successfulJobsHistoryLimit": 1})))
        .await;
    let mut names = Vec::new();
    for _ in 0..3 {
        let minute = c.next_minute();
        let name = format!("hist-{}", minute.timestamp() / 60);
        c.eventually("the job to complete", || async {
            let job = c.get("batch/jobs", "default", &name).await?;
            job["status"]["conditions"].as_array()?.iter().any(|c| c["type"] == "Complete").then_some(())
        })
        .await;
        names.push(name);
    }
    let jobs = c
        .eventually("one job kept", || async {
            let jobs = c.jobs_of(&cj).await;
            (jobs.len() == 1).then_some(jobs)
        })
        .await;
    assert_eq!(jobs[0]["metadata"]["name"], names[2].as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_and_starting_deadlines_hold_jobs_back() {
    let c = Cluster::start_with_manual_clock().await;
    let suspended = c.create("batch/cronjobs", cron_job("held", "* * * * *", json!({"suspend": true}))).await;
    let late = c
        .create("batch/cronjobs", cron_job("late", "* * * * *", json!({"startingDeadlineSeconds": 10})))
        .await;
    c.next_minute();
    // 50 s past the minute: beyond the 10 s starting deadline.
    c.clock.as_ref().unwrap().advance(Duration::seconds(49));
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert!(c.jobs_of(&suspended).await.is_empty());
    assert!(c.jobs_of(&late).await.is_empty(), "a start missed by more than the deadline is skipped");
    c.next_minute();
    c.wait_jobs(&late, 1).await;
    c.merge("batch/cronjobs", &suspended, json!({"spec": {"suspend": false}})).await;
    c.wait_jobs(&suspended, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_zones_shift_the_schedule_and_the_annotation() {
    if !std::path::Path::new("/usr/share/zoneinfo/Asia/Kolkata").exists() {
        eprintln!("no zoneinfo; skipping");
        return;
    }
    let c = Cluster::start_with_manual_clock().await;
    let bad = c
        .create("batch/cronjobs", cron_job("nowhere", "* * * * *", json!({"timeZone": "Mars/Olympus_Mons"})))
        .await;
    let cj =
        c.create("batch/cronjobs", cron_job("india", "* * * * *", json!({"timeZone": "Asia/Kolkata"}))).await;
    let minute = c.next_minute();
    let job = c.wait_jobs(&cj, 1).await.remove(0);
    let local = (minute + Duration::minutes(330)).format("%Y-%m-%dT%H:%M:%S+05:30").to_string();
    assert_eq!(
        job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"],
        local.as_str()
    );
    let msg = c.wait_event(&bad, "UnknownTimeZone").await;
    assert!(msg.contains("Mars/Olympus_Mons"), "{msg}");
    assert!(c.jobs_of(&bad).await.is_empty());
}

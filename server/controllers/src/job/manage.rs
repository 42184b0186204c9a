//! Creating and deleting a Job's pods (upstream `manageJob`).

use super::JobController;
use super::indexes::{index_of, indexed_template, is_indexed};
use super::policy::{TRACKING_FINALIZER, only_replace_failed};
use super::sync::{completions, suspended};
use crate::client::Removal;
use crate::pods::{generate_name, is_terminal, pod_from_template};
use crate::ranking::deletion_order;
use chrono::{DateTime, Utc};
use futures::future::join_all;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use wasmkube_api::{ApiError, meta};

/// The most pods one sync creates or deletes (upstream `MaxPodCreateDeletePerSync`).
const BURST: usize = 500;

impl JobController {
    /// Bring the active pods to what parallelism, completions and suspension allow.
    pub(super) async fn manage(
        &mut self,
        job: &Value,
        active: &[&Value],
        succeeded: i64,
        done: &BTreeSet<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        if suspended(job) {
            let all: Vec<Value> = active.iter().map(|p| (*p).clone()).collect();
            return self.delete_pods(job, &all).await;
        }
        let parallelism = job.pointer("/spec/parallelism").and_then(Value::as_i64).unwrap_or(1);
        let have = active.len() as i64;
        let want = match completions(job) {
            None if succeeded > 0 => have,
            None => parallelism,
            Some(c) => (c - succeeded).clamp(0, parallelism),
        };
        let victims = self.pods_for_removal(job, active, (have - want).max(0) as usize, now);
        if !victims.is_empty() {
            return self.delete_pods(job, &victims).await;
        }
        let terminating = if only_replace_failed(job) {
            let uid = meta::uid(job).to_string();
            self.pods.owned_by(&uid).filter(|p| meta::is_deleting(p) && !is_terminal(p)).count() as i64
        } else {
            0
        };
        let missing = want - terminating - have;
        if missing <= 0 {
            return Ok(());
        }
        let (base, cap) = super::backoff_durations();
        let wait = self.backoff.get(meta::uid(job)).map(|b| b.remaining(now, base, cap)).unwrap_or_default();
        if wait > chrono::Duration::zero() {
            self.queue.add_at(crate::cache::key_of(job), now + wait);
            return Ok(());
        }
        let missing = (missing as usize).min(BURST);
        let indexes: Vec<Option<i64>> = if is_indexed(job) {
            let running: BTreeSet<i64> = active.iter().filter_map(|p| index_of(p)).collect();
            (0..completions(job).unwrap_or(0))
                .filter(|i| !done.contains(i) && !running.contains(i))
                .take(missing)
                .map(Some)
                .collect()
        } else {
            vec![None; missing]
        };
        self.create_pods(job, &indexes).await
    }

    /// Pods to delete: for Indexed jobs, duplicates and out-of-range indexes first; then the
    /// `at_least` pods upstream would pick first.
    fn pods_for_removal(
        &self,
        job: &Value,
        active: &[&Value],
        at_least: usize,
        now: DateTime<Utc>,
    ) -> Vec<Value> {
        let mut remove: Vec<&Value> = Vec::new();
        let mut left: Vec<&Value> = active.to_vec();
        if is_indexed(job) {
            let limit = completions(job).unwrap_or(0);
            let mut by_index: BTreeMap<i64, Vec<&Value>> = BTreeMap::new();
            left.clear();
            for p in active {
                match index_of(p).filter(|i| *i < limit) {
                    Some(i) => by_index.entry(i).or_default().push(p),
                    None => remove.push(p),
                }
            }
            for (_, mut same) in by_index {
                // Keep the pod upstream would delete last (ready, oldest); the rest are duplicates.
                let order = deletion_order(&same, &[], now);
                let keep = order.last().copied();
                same.retain(|p| Some(*p) != keep);
                remove.extend(same);
                left.extend(keep);
            }
        }
        if remove.len() < at_least {
            let order = deletion_order(&left, &[], now);
            remove.extend(order.into_iter().take(at_least - remove.len()));
        }
        remove.into_iter().take(BURST).cloned().collect()
    }

    /// Create pods (one per index for Indexed jobs) in slow-start batches.
    async fn create_pods(&mut self, job: &Value, indexes: &[Option<i64>]) -> Result<(), ApiError> {
        let mut template = job.pointer("/spec/template").cloned().unwrap_or_else(|| json!({}));
        match template["metadata"]["finalizers"].as_array_mut() {
            Some(list) if !list.iter().any(|f| f == TRACKING_FINALIZER) => {
                list.push(json!(TRACKING_FINALIZER))
            }
            Some(_) => {}
            None => template["metadata"]["finalizers"] = json!([TRACKING_FINALIZER]),
        }
        let name = meta::name(job).to_string();
        let pods: Vec<Value> = indexes
            .iter()
            .map(|ix| match ix {
                Some(i) => {
                    pod_from_template(&indexed_template(&template, &name, *i), job, &format!("{name}-{i}-"))
                }
                None => pod_from_template(&template, job, &generate_name(&name)),
            })
            .collect();
        let ns = meta::namespace(job).to_string();
        let (mut done, mut batch) = (0, 1);
        while done < pods.len() {
            let chunk = &pods[done..(done + batch).min(pods.len())];
            let results =
                join_all(chunk.iter().map(|p| self.ctx.client.create(self.pods_def, &ns, p.clone()))).await;
            let mut failed = None;
            for r in results {
                match r {
                    Ok(p) => {
                        self.ctx.normal(job, "SuccessfulCreate", format!("Created pod: {}", meta::name(&p)));
                        self.pods.wrote(p);
                    }
                    Err(e) => {
                        self.ctx.warning(job, "FailedCreate", format!("Error creating: {}", e.message));
                        failed.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
            done += chunk.len();
            batch *= 2;
        }
        Ok(())
    }

    /// Delete pods (they keep our finalizer until counted).
    pub(super) async fn delete_pods(&mut self, job: &Value, victims: &[Value]) -> Result<(), ApiError> {
        let results = join_all(victims.iter().map(|p| self.ctx.client.delete(self.pods_def, p, None))).await;
        let mut failed = None;
        for (pod, r) in victims.iter().zip(results) {
            match r {
                Ok(removal) => {
                    self.ctx.normal(job, "SuccessfulDelete", format!("Deleted pod: {}", meta::name(pod)));
                    match removal {
                        Removal::Gone(o) => drop(self.pods.removed(o.as_ref().unwrap_or(pod))),
                        Removal::Pending(o) => drop(self.pods.wrote(o)),
                    }
                }
                Err(e) => drop(failed.get_or_insert(e)),
            }
        }
        failed.map_or(Ok(()), Err)
    }
}

//! One DaemonSet's sync: history, a pod per eligible node (upstream `manage`), status.

use super::DaemonSetController;
use super::nodes::{add_daemon_tolerations, should_run, target_node};
use crate::cache::key_of;
use crate::claim;
use crate::pods::{created, is_available, is_ready, is_terminal, next_available, node_name};
use crate::revisions::{self, HASH_LABEL, Style, pod_hash};
use serde_json::{Value, json};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmkube_api::selector::LabelSelector;
use wasmkube_api::{ApiError, meta};

pub(super) type NodePods = BTreeMap<String, Vec<Arc<Value>>>;

pub(crate) fn selector(ds: &Value) -> Option<LabelSelector> {
    LabelSelector::from_json(ds.pointer("/spec/selector")?).ok().filter(|s| !s.is_empty())
}

pub(super) fn min_ready(ds: &Value) -> i64 {
    ds.pointer("/spec/minReadySeconds").and_then(Value::as_i64).unwrap_or(0)
}

/// The pod spec eligibility is judged on: the template's, with the daemon tolerations.
pub(super) fn daemon_spec(ds: &Value) -> Value {
    let mut spec = ds.pointer("/spec/template/spec").cloned().unwrap_or_else(|| json!({}));
    add_daemon_tolerations(&mut spec);
    spec
}

/// `podByCreationTimestampAndPhase`: bound pods first, then oldest, then by name.
pub(super) fn by_creation_and_phase(a: &Value, b: &Value) -> Ordering {
    let bound = |p: &Value| !node_name(p).is_empty();
    bound(b)
        .cmp(&bound(a))
        .then_with(|| created(a).cmp(&created(b)))
        .then_with(|| meta::name(a).cmp(meta::name(b)))
}

impl DaemonSetController {
    #[tracing::instrument(skip(self), fields(controller = self.ctx.name))]
    pub(super) async fn sync(&mut self, key: &crate::cache::Key) -> Result<(), ApiError> {
        let Some(ds) = self.sets.get_key(key).map(|d| (**d).clone()) else {
            return Ok(());
        };
        let Some(sel) = selector(&ds) else { return Ok(()) };
        let claims = claim::plan(&self.pods, &ds, &sel, |_| true);
        if !claims.is_settled() {
            let (_, written) = claims.execute(&self.ctx.client, self.pods_def, self.def, &ds).await?;
            written.into_iter().for_each(|p| drop(self.pods.wrote(p)));
        }
        let (current, old) =
            match revisions::sync_history(&self.ctx.client, &mut self.revisions, &ds, Style::DaemonSet)
                .await?
            {
                Ok(history) => history,
                Err(collision) => {
                    let mut status = ds.get("status").cloned().unwrap_or_else(|| json!({}));
                    let count = status.get("collisionCount").and_then(Value::as_i64).unwrap_or(0);
                    status["collisionCount"] = json!(count + 1);
                    let written = self.ctx.client.put_status(self.def, &ds, status).await?;
                    self.sets.wrote(written);
                    return Err(collision);
                }
            };
        let hash = pod_hash(&current).to_string();
        if !meta::is_deleting(&ds) {
            self.manage(&ds, &hash).await?;
            if ds.pointer("/spec/updateStrategy/type").and_then(Value::as_str) != Some("OnDelete") {
                self.rolling_update(&ds, &hash).await?;
            }
            let limit = ds.pointer("/spec/revisionHistoryLimit").and_then(Value::as_i64).unwrap_or(10);
            let live: Vec<String> =
                self.node_pods(&ds).values().flatten().filter_map(|p| label(p, HASH_LABEL)).collect();
            let live: Vec<&str> = live.iter().map(String::as_str).collect();
            revisions::truncate(&self.ctx.client, &mut self.revisions, &old, limit, &live, Style::DaemonSet)
                .await?;
        }
        self.update_status(&ds, &hash).await
    }

    /// The DaemonSet's pods by the node they are for; finished pods being deleted are gone
    /// for our purposes.
    pub(super) fn node_pods(&self, ds: &Value) -> NodePods {
        let mut map = NodePods::new();
        for pod in self.pods.owned_by(meta::uid(ds)) {
            if is_terminal(pod) && meta::is_deleting(pod) {
                continue;
            }
            if let Some(node) = target_node(pod) {
                map.entry(node.to_string()).or_default().push(pod.clone());
            }
        }
        map.values_mut().for_each(|pods| pods.sort_by(|a, b| by_creation_and_phase(a, b)));
        map
    }

    /// `updateDaemonSetStatus`, judging each node by its oldest daemon pod.
    async fn update_status(&mut self, ds: &Value, hash: &str) -> Result<(), ApiError> {
        let (node_pods, spec, now) = (self.node_pods(ds), daemon_spec(ds), self.ctx.now());
        let (mut desired, mut current, mut misscheduled, mut ready, mut available, mut updated) =
            (0, 0, 0, 0, 0, 0);
        let mut firsts = Vec::new();
        for node in self.nodes.iter() {
            let first = node_pods.get(meta::name(node)).and_then(|p| p.first());
            if !should_run(&spec, node).0 {
                misscheduled += i64::from(first.is_some());
                continue;
            }
            desired += 1;
            let Some(pod) = first else { continue };
            firsts.push(pod.clone());
            current += 1;
            ready += i64::from(is_ready(pod));
            available += i64::from(is_available(pod, min_ready(ds), now));
            updated += i64::from(label(pod, HASH_LABEL).as_deref() == Some(hash));
        }
        let mut status = ds.get("status").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
        for (k, n, always) in [
            ("currentNumberScheduled", current, true),
            ("numberMisscheduled", misscheduled, true),
            ("desiredNumberScheduled", desired, true),
            ("numberReady", ready, true),
            ("updatedNumberScheduled", updated, false),
            ("numberAvailable", available, false),
            ("numberUnavailable", desired - available, false),
        ] {
            if n == 0 && !always {
                status.as_object_mut().map(|m| m.remove(k));
            } else {
                status[k] = json!(n);
            }
        }
        status["observedGeneration"] = ds.pointer("/metadata/generation").cloned().unwrap_or(json!(0));
        if ds.get("status") != Some(&status) {
            let written = self.ctx.client.put_status(self.def, ds, status).await?;
            self.sets.wrote(written);
        }
        if let Some(at) = next_available(firsts.iter().map(|p| &**p), min_ready(ds), now) {
            self.queue.add_at(key_of(ds), at);
        }
        Ok(())
    }
}

pub(super) fn label(obj: &Value, key: &str) -> Option<String> {
    meta::labels(obj)?.get(key)?.as_str().map(String::from)
}

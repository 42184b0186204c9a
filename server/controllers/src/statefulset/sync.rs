//! One StatefulSet's sync (upstream `updateStatefulSet`): replace finished pods, create
//! missing ones (with their claims) in ordinal order, remove those beyond `replicas` from the
//! highest ordinal, then roll pods of an old revision from the highest ordinal down to the
//! partition. In OrderedReady mode every step waits for the pods before it to be Running and
//! Ready (and available); Parallel mode does not wait.

use super::StatefulSetController;
use super::identity::{claims, new_pod, ordinal, revision_template};
use crate::cache::key_of;
use crate::claim;
use crate::client::Removal;
use crate::pods::{is_available, is_ready, is_terminal, phase};
use crate::revisions::{self, HASH_LABEL, Style, pod_hash};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::Arc;
use wasmkube_api::selector::LabelSelector;
use wasmkube_api::{ApiError, meta};

pub(super) fn int(set: &Value, pointer: &str, default: i64) -> i64 {
    set.pointer(pointer).and_then(Value::as_i64).unwrap_or(default)
}

pub(super) fn running_and_ready(pod: &Value) -> bool {
    phase(pod) == "Running" && is_ready(pod)
}

pub(super) fn running_and_available(pod: &Value, min_ready: i64, now: DateTime<Utc>) -> bool {
    running_and_ready(pod) && is_available(pod, min_ready, now)
}

pub(super) fn revision_of(pod: &Value) -> &str {
    meta::labels(pod).and_then(|l| l.get(HASH_LABEL)).and_then(Value::as_str).unwrap_or("")
}

fn rolling(set: &Value) -> bool {
    set.pointer("/spec/updateStrategy/type").and_then(Value::as_str) != Some("OnDelete")
}

/// The pods in `[start, start + replicas)` by slot, and the others (highest ordinal first).
pub(super) type Members = (Vec<Option<Arc<Value>>>, Vec<Arc<Value>>);

impl StatefulSetController {
    #[tracing::instrument(skip(self), fields(controller = self.ctx.name))]
    pub(super) async fn sync(&mut self, key: &crate::cache::Key) -> Result<(), ApiError> {
        let Some(set) = self.sets.get_key(key).map(|s| (**s).clone()) else {
            return Ok(());
        };
        let Some(sel) = set
            .pointer("/spec/selector")
            .and_then(|s| LabelSelector::from_json(s).ok())
            .filter(|s| !s.is_empty())
        else {
            return Ok(());
        };
        let claims = claim::plan(&self.pods, &set, &sel, |p| ordinal(&set, p).is_some());
        if !claims.is_settled() {
            let (_, written) = claims.execute(&self.ctx.client, self.pods_def, self.def, &set).await?;
            written.into_iter().for_each(|p| drop(self.pods.wrote(p)));
        }
        let (update, old) =
            match revisions::sync_history(&self.ctx.client, &mut self.revisions, &set, Style::StatefulSet)
                .await?
            {
                Ok(history) => history,
                Err(collision) => {
                    let mut status =
                        set.get("status").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
                    status["collisionCount"] = json!(int(&set, "/status/collisionCount", 0) + 1);
                    let written = self.ctx.client.put_status(self.def, &set, status).await?;
                    self.sets.wrote(written);
                    return Err(collision);
                }
            };
        let current_name = set.pointer("/status/currentRevision").and_then(Value::as_str).unwrap_or("");
        let current =
            old.iter().find(|r| meta::name(r) == current_name).cloned().unwrap_or_else(|| update.clone());
        if !meta::is_deleting(&set) {
            let blocked = self.scale(&set, &update, &current).await?;
            if !blocked && rolling(&set) {
                self.roll(&set, &update).await?;
            }
        }
        self.write_status(&set, &update, &current).await?;
        let live: Vec<String> =
            self.pods.owned_by(meta::uid(&set)).map(|p| revision_of(p).to_string()).collect();
        let mut in_use: Vec<&str> = live.iter().map(String::as_str).collect();
        in_use.extend([pod_hash(&current), pod_hash(&update)]);
        let limit = int(&set, "/spec/revisionHistoryLimit", 10);
        revisions::truncate(&self.ctx.client, &mut self.revisions, &old, limit, &in_use, Style::StatefulSet)
            .await
    }

    pub(super) fn members(&self, set: &Value) -> Members {
        let (start, replicas) = (int(set, "/spec/ordinals/start", 0), int(set, "/spec/replicas", 1));
        let mut slots: Vec<Option<Arc<Value>>> = vec![None; replicas.max(0) as usize];
        let mut condemned = Vec::new();
        for pod in self.pods.owned_by(meta::uid(set)) {
            match ordinal(set, pod) {
                Some(o) if o >= start && o < start + replicas => {
                    slots[(o - start) as usize] = Some(pod.clone())
                }
                Some(_) => condemned.push(pod.clone()),
                None => {}
            }
        }
        condemned.sort_by_key(|p| std::cmp::Reverse(ordinal(set, p)));
        (slots, condemned)
    }

    /// Create, replace and remove pods; returns whether the sync must stop here (waiting).
    async fn scale(&mut self, set: &Value, update: &Value, current: &Value) -> Result<bool, ApiError> {
        let (slots, condemned) = self.members(set);
        let monotonic = set.pointer("/spec/podManagementPolicy").and_then(Value::as_str) != Some("Parallel");
        let (min_ready, now) = (int(set, "/spec/minReadySeconds", 0), self.ctx.now());
        let healthy = |p: &Value| running_and_available(p, min_ready, now) && !meta::is_deleting(p);
        // The first unhealthy pod, lowest ordinal first (a missing pod counts, and matches none).
        let first_unhealthy: Option<Option<String>> = slots
            .iter()
            .map(|s| s.as_ref().map(|p| (**p).clone()))
            .chain(condemned.iter().rev().map(|p| Some((**p).clone())))
            .find(|p| p.as_ref().is_none_or(|p| !healthy(p)))
            .map(|p| p.map(|p| meta::uid(&p).to_string()));
        let (start, partition) = (
            int(set, "/spec/ordinals/start", 0),
            int(set, "/spec/updateStrategy/rollingUpdate/partition", 0),
        );
        let mut exit = false;
        for (i, slot) in slots.iter().enumerate() {
            let ord = start + i as i64;
            match slot {
                Some(pod) if is_terminal(pod) => {
                    if !meta::is_deleting(pod) {
                        self.delete_pod(set, pod).await?;
                    }
                    exit = true;
                    if monotonic {
                        return Ok(true);
                    }
                }
                None => {
                    let rev = if rolling(set) && ord < start + partition { current } else { update };
                    self.create_pod(set, rev, ord).await?;
                    if monotonic {
                        return Ok(true);
                    }
                }
                Some(pod) if monotonic && !healthy(pod) => {
                    if let Some(at) = crate::pods::available_at(pod, min_ready) {
                        self.queue.add_at(key_of(set), at);
                    }
                    return Ok(true);
                }
                Some(_) => {}
            }
        }
        if exit {
            return Ok(true);
        }
        for pod in &condemned {
            if meta::is_deleting(pod) {
                if monotonic {
                    return Ok(true);
                }
                continue;
            }
            if monotonic && !healthy(pod) && first_unhealthy != Some(Some(meta::uid(pod).to_string())) {
                return Ok(true);
            }
            self.release_claims_on_scale_down(set, pod).await?;
            self.delete_pod(set, pod).await?;
            exit = true;
            if monotonic {
                return Ok(true);
            }
        }
        Ok(exit)
    }

    /// Replace the highest-ordinal pod of an old revision, waiting for each to be healthy.
    async fn roll(&mut self, set: &Value, update: &Value) -> Result<(), ApiError> {
        let (slots, _) = self.members(set);
        let partition = int(set, "/spec/updateStrategy/rollingUpdate/partition", 0).max(0) as usize;
        for slot in slots.iter().skip(partition).rev() {
            let Some(pod) = slot else { return Ok(()) };
            if revision_of(pod) != meta::name(update) && !meta::is_deleting(pod) {
                tracing::debug!(set = meta::name(set), pod = meta::name(pod), "terminating pod for update");
                return self.delete_pod(set, pod).await;
            }
            if !running_and_ready(pod) || meta::is_deleting(pod) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The pod of `ordinal` from revision `rev`, after its claims.
    async fn create_pod(&mut self, set: &Value, rev: &Value, ord: i64) -> Result<(), ApiError> {
        let name = format!("{}-{ord}", meta::name(set));
        for (_, claim) in claims(set, ord) {
            if self.claims.get_key(&key_of(&claim)).is_some() {
                continue;
            }
            let mut claim = claim;
            if set.pointer("/spec/persistentVolumeClaimRetentionPolicy/whenDeleted").and_then(Value::as_str)
                == Some("Delete")
            {
                claim["metadata"]["ownerReferences"] = json!([owner_ref(set)]);
            }
            match self.ctx.client.create(self.claims_def, meta::namespace(set), claim.clone()).await {
                Ok(c) => {
                    let msg = format!(
                        "create Claim {} Pod {name} in StatefulSet {} success",
                        meta::name(&c),
                        meta::name(set)
                    );
                    self.ctx.normal(set, "SuccessfulCreate", msg);
                    self.claims.wrote(c);
                }
                Err(e) if e.reason == "AlreadyExists" => {}
                Err(e) => {
                    let msg = format!(
                        "create Claim {} for Pod {name} in StatefulSet {} failed error: {}",
                        meta::name(&claim),
                        meta::name(set),
                        e.message
                    );
                    self.ctx.warning(set, "FailedCreate", msg);
                    return Err(e);
                }
            }
        }
        let pod = new_pod(set, &revision_template(rev), meta::name(rev), ord);
        match self.ctx.client.create(self.pods_def, meta::namespace(set), pod).await {
            Ok(p) => {
                self.ctx.normal(
                    set,
                    "SuccessfulCreate",
                    format!("create Pod {name} in StatefulSet {} successful", meta::name(set)),
                );
                self.pods.wrote(p);
                Ok(())
            }
            Err(e) => {
                let msg = format!(
                    "create Pod {name} in StatefulSet {} failed error: {}",
                    meta::name(set),
                    e.message
                );
                self.ctx.warning(set, "FailedCreate", msg);
                Err(e)
            }
        }
    }

    async fn delete_pod(&mut self, set: &Value, pod: &Value) -> Result<(), ApiError> {
        match self.ctx.client.delete(self.pods_def, pod, None).await? {
            Removal::Gone(o) => drop(self.pods.removed(o.as_ref().unwrap_or(pod))),
            Removal::Pending(o) => drop(self.pods.wrote(o)),
        }
        let msg = format!("delete Pod {} in StatefulSet {} successful", meta::name(pod), meta::name(set));
        self.ctx.normal(set, "SuccessfulDelete", msg);
        // The slot is recreated (or the next step taken) on the next pass.
        self.queue.add(key_of(set));
        Ok(())
    }

    /// `whenScaled: Delete`: a scaled-down pod's claims become the pod's, so the garbage
    /// collector removes them after it.
    async fn release_claims_on_scale_down(&mut self, set: &Value, pod: &Value) -> Result<(), ApiError> {
        if set.pointer("/spec/persistentVolumeClaimRetentionPolicy/whenScaled").and_then(Value::as_str)
            != Some("Delete")
        {
            return Ok(());
        }
        let Some(ord) = ordinal(set, pod) else { return Ok(()) };
        for (_, claim) in claims(set, ord) {
            let Some(cur) = self.claims.get_key(&key_of(&claim)).cloned() else { continue };
            let pod_ref =
                json!({"apiVersion": "v1", "kind": "Pod", "name": meta::name(pod), "uid": meta::uid(pod)});
            let patch = json!({"metadata": {"ownerReferences": [pod_ref]}});
            match self.ctx.client.merge(self.claims_def, &cur, &patch).await {
                Ok(c) => drop(self.claims.wrote(c)),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A plain (non-controller) owner reference to the set, as claims under `whenDeleted: Delete` get.
fn owner_ref(set: &Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": meta::name(set), "uid": meta::uid(set)})
}

//! A StatefulSet's status (upstream `computeReplicaStatus` and `completeRollingUpdate`).

use super::StatefulSetController;
use super::sync::{int, revision_of, running_and_available, running_and_ready};
use crate::cache::key_of;
use crate::pods::next_available;
use serde_json::{Value, json};
use std::sync::Arc;
use wasmkube_api::{ApiError, meta};

impl StatefulSetController {
    pub(super) async fn write_status(
        &mut self,
        set: &Value,
        update: &Value,
        current: &Value,
    ) -> Result<(), ApiError> {
        let (min_ready, now) = (int(set, "/spec/minReadySeconds", 0), self.ctx.now());
        let pods: Vec<Arc<Value>> = self
            .pods
            .owned_by(meta::uid(set))
            .filter(|p| super::identity::ordinal(set, p).is_some())
            .cloned()
            .collect();
        let (update_name, current_name) = (meta::name(update), meta::name(current));
        let live = |p: &&Arc<Value>| !meta::is_deleting(p);
        let ready = pods.iter().filter(|p| running_and_ready(p)).count();
        let available = pods.iter().filter(|p| running_and_available(p, min_ready, now)).count();
        let mut current_n = pods.iter().filter(live).filter(|p| revision_of(p) == current_name).count();
        let updated = pods.iter().filter(live).filter(|p| revision_of(p) == update_name).count();
        let mut current_revision = current_name;
        let rolling = set.pointer("/spec/updateStrategy/type").and_then(Value::as_str) != Some("OnDelete");
        if rolling && updated == pods.len() && ready == pods.len() {
            current_n = updated;
            current_revision = update_name;
        }
        let mut status = set.get("status").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
        status["observedGeneration"] = set.pointer("/metadata/generation").cloned().unwrap_or(json!(0));
        status["replicas"] = json!(pods.len());
        for (k, n) in [("readyReplicas", ready), ("currentReplicas", current_n), ("updatedReplicas", updated)]
        {
            if n == 0 {
                status.as_object_mut().map(|m| m.remove(k));
            } else {
                status[k] = json!(n);
            }
        }
        status["availableReplicas"] = json!(available);
        status["currentRevision"] = json!(current_revision);
        status["updateRevision"] = json!(update_name);
        if set.get("status") != Some(&status) {
            let written = self.ctx.client.put_status(self.def, set, status).await?;
            self.sets.wrote(written);
        }
        if let Some(at) = next_available(pods.iter().map(|p| &**p), min_ready, now) {
            self.queue.add_at(key_of(set), at);
        }
        Ok(())
    }
}

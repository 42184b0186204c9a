//! Finding, creating, scaling and cleaning up a Deployment's ReplicaSets.

use super::DeploymentController;
use super::annotations::{new_rs_annotations, set_replicas_annotations};
use super::status::{has_condition_type, new_condition, set_deployment_condition};
use super::util::{
    DESIRED_REPLICAS, HASH_LABEL, MAX_REPLICAS, REVISION, annotation, by_revision, equal_ignore_hash,
    max_surge, new_rs_new_replicas, progress_deadline, revision, spec_replicas, status_int,
};
use crate::cache::controller_uid;
use crate::client::Removal;
use crate::hash::compute_hash;
use crate::pods::controller_reference;
use serde_json::{Value, json};
use wasmkube_api::{ApiError, meta};

fn min_ready(obj: &Value) -> i64 {
    obj.pointer("/spec/minReadySeconds").and_then(Value::as_i64).unwrap_or(0)
}

impl DeploymentController {
    /// `getAllReplicaSetsAndSyncRevision`: the new set (created if asked and missing) and the
    /// old ones, with revisions brought up to date.
    pub(super) async fn new_and_old(
        &mut self,
        d: &mut Value,
        sets: &[Value],
        create: bool,
    ) -> Result<(Option<Value>, Vec<Value>), ApiError> {
        let template = d.pointer("/spec/template").cloned().unwrap_or(Value::Null);
        let existing = sets
            .iter()
            .find(|rs| equal_ignore_hash(rs.pointer("/spec/template").unwrap_or(&Value::Null), &template));
        let old: Vec<Value> = sets
            .iter()
            .filter(|rs| existing.is_none_or(|n| meta::uid(n) != meta::uid(rs)))
            .cloned()
            .collect();
        let new_revision = old.iter().map(revision).max().unwrap_or(0) + 1;
        let new = match existing {
            Some(rs) => Some(self.sync_existing_new(d, rs.clone(), new_revision).await?),
            None if create => Some(self.create_new(d, &old, new_revision).await?),
            None => None,
        };
        Ok((new, old))
    }

    async fn sync_existing_new(
        &mut self,
        d: &mut Value,
        mut rs: Value,
        new_revision: i64,
    ) -> Result<Value, ApiError> {
        let changed = new_rs_annotations(d, &mut rs, new_revision, true);
        if changed || min_ready(&rs) != min_ready(d) {
            rs["spec"]["minReadySeconds"] = json!(min_ready(d));
            let written = self.ctx.client.put(self.rs_def, rs).await?;
            self.sets.wrote(written.clone());
            return Ok(written);
        }
        let rev = annotation(&rs, REVISION).unwrap_or_default().to_string();
        self.set_revision(d, &rev).await?;
        if progress_deadline(d).is_some() && !has_condition_type(d, "Progressing") {
            let msg = format!("Found new replica set \"{}\"", meta::name(&rs));
            let cond = new_condition("Progressing", "True", "FoundNewReplicaSet", &msg, &self.ctx.now_str());
            set_deployment_condition(d, cond);
            self.write_status(d).await?;
        }
        Ok(rs)
    }

    async fn create_new(
        &mut self,
        d: &mut Value,
        old: &[Value],
        new_revision: i64,
    ) -> Result<Value, ApiError> {
        let mut template = d.pointer("/spec/template").cloned().unwrap_or_else(|| json!({}));
        let collisions = d.pointer("/status/collisionCount").and_then(Value::as_i64);
        let hash = compute_hash(&template, collisions);
        template["metadata"]["labels"][HASH_LABEL] = json!(hash);
        let mut selector = d.pointer("/spec/selector").cloned().unwrap_or_else(|| json!({}));
        selector["matchLabels"][HASH_LABEL] = json!(hash);
        let name = format!("{}-{hash}", meta::name(d));
        let mut rs = json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": meta::namespace(d),
                         "ownerReferences": [controller_reference(d)],
                         "labels": template["metadata"]["labels"].clone()},
            "spec": {"replicas": 0, "minReadySeconds": min_ready(d), "selector": selector, "template": template},
        });
        let all: Vec<&Value> = old.iter().chain(std::iter::once(&rs)).collect();
        let replicas = new_rs_new_replicas(d, &all, &rs);
        rs["spec"]["replicas"] = json!(replicas);
        new_rs_annotations(d, &mut rs, new_revision, false);
        let ns = meta::namespace(d).to_string();
        let (created, already) = match self.ctx.client.create(self.rs_def, &ns, rs).await {
            Ok(c) => (c, false),
            Err(e) if e.reason == "AlreadyExists" => {
                (self.adopt_existing_or_collide(d, &name, e).await?, true)
            }
            Err(e) => {
                let msg = format!("Failed to create new replica set \"{name}\": {}", e.message);
                if progress_deadline(d).is_some() {
                    let cond = new_condition(
                        "Progressing",
                        "False",
                        "ReplicaSetCreateError",
                        &msg,
                        &self.ctx.now_str(),
                    );
                    set_deployment_condition(d, cond);
                    let _ = self.write_status(d).await;
                }
                self.ctx.warning(d, "ReplicaSetCreateError", msg);
                return Err(e);
            }
        };
        self.sets.wrote(created.clone());
        if !already && replicas > 0 {
            self.ctx.normal(
                d,
                "ScalingReplicaSet",
                format!("Scaled up replica set {name} from 0 to {replicas}"),
            );
        }
        self.set_revision(d, &new_revision.to_string()).await?;
        if !already && progress_deadline(d).is_some() {
            let msg = format!("Created new replica set \"{name}\"");
            let cond =
                new_condition("Progressing", "True", "NewReplicaSetCreated", &msg, &self.ctx.now_str());
            set_deployment_condition(d, cond);
            self.write_status(d).await?;
        }
        Ok(created)
    }

    /// A set with our name exists: ours with our template is the new set; anything else is a
    /// hash collision, resolved by bumping `collisionCount` and trying again.
    async fn adopt_existing_or_collide(
        &mut self,
        d: &mut Value,
        name: &str,
        e: ApiError,
    ) -> Result<Value, ApiError> {
        let rs = self.ctx.client.api.get(self.rs_def, meta::namespace(d), name).await?;
        let template = d.pointer("/spec/template").unwrap_or(&Value::Null);
        if controller_uid(&rs) == Some(meta::uid(d)) && equal_ignore_hash(template, &rs["spec"]["template"]) {
            return Ok(rs);
        }
        let count = d.pointer("/status/collisionCount").and_then(Value::as_i64).unwrap_or(0);
        d["status"]["collisionCount"] = json!(count + 1);
        tracing::info!(
            deployment = meta::name(d),
            collisions = count + 1,
            "hash collision; bumping collisionCount"
        );
        self.write_status(d).await?;
        Err(e)
    }

    /// Record the new set's revision on the Deployment (a metadata write, keeping our status).
    pub(super) async fn set_revision(&mut self, d: &mut Value, rev: &str) -> Result<(), ApiError> {
        if rev.is_empty() || annotation(d, REVISION) == Some(rev) {
            return Ok(());
        }
        let patch = json!({"metadata": {"annotations": {REVISION: rev},
                                        "resourceVersion": d["metadata"]["resourceVersion"]}});
        let written = self.ctx.client.merge(self.def, d, &patch).await?;
        self.deployments.wrote(written.clone());
        let status = d.get("status").cloned();
        *d = written;
        if let Some(s) = status {
            d["status"] = s;
        }
        Ok(())
    }

    /// `scaleReplicaSetAndRecordEvent`: resize unless already that size.
    pub(super) async fn scale_to(
        &mut self,
        rs: &Value,
        size: i64,
        d: &Value,
    ) -> Result<(bool, Value), ApiError> {
        if spec_replicas(rs) == size {
            return Ok((false, rs.clone()));
        }
        let op = if spec_replicas(rs) < size { "up" } else { "down" };
        self.resize(rs, size, d, op).await
    }

    /// `scaleReplicaSet`: resize and record the Deployment size the set was scaled for.
    pub(super) async fn resize(
        &mut self,
        rs: &Value,
        size: i64,
        d: &Value,
        op: &str,
    ) -> Result<(bool, Value), ApiError> {
        let resize = spec_replicas(rs) != size;
        let mut probe = rs.clone();
        let annotate =
            set_replicas_annotations(&mut probe, spec_replicas(d), spec_replicas(d) + max_surge(d));
        if !resize && !annotate {
            return Ok((false, rs.clone()));
        }
        let patch = json!({
            "metadata": {"annotations": {DESIRED_REPLICAS: spec_replicas(d).to_string(),
                                         MAX_REPLICAS: (spec_replicas(d) + max_surge(d)).to_string()},
                         "resourceVersion": rs["metadata"]["resourceVersion"]},
            "spec": {"replicas": size},
        });
        let written = self.ctx.client.merge(self.rs_def, rs, &patch).await?;
        self.sets.wrote(written.clone());
        if resize {
            let msg =
                format!("Scaled {op} replica set {} from {} to {size}", meta::name(rs), spec_replicas(rs));
            self.ctx.normal(d, "ScalingReplicaSet", msg);
        }
        Ok((resize, written))
    }

    /// `cleanupDeployment`: delete the oldest empty sets beyond `revisionHistoryLimit`.
    pub(super) async fn cleanup(&mut self, old: &[Value], d: &Value) -> Result<(), ApiError> {
        let Some(limit) = d.pointer("/spec/revisionHistoryLimit").and_then(Value::as_i64) else {
            return Ok(());
        };
        let mut cleanable: Vec<&Value> = old.iter().filter(|rs| !meta::is_deleting(rs)).collect();
        let excess = cleanable.len() as i64 - limit;
        if excess <= 0 {
            return Ok(());
        }
        cleanable.sort_by(|a, b| by_revision(a, b));
        for rs in cleanable.into_iter().take(excess as usize) {
            let generation = rs.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
            if status_int(rs, "replicas") != 0
                || spec_replicas(rs) != 0
                || generation > status_int(rs, "observedGeneration")
            {
                continue;
            }
            tracing::debug!(
                deployment = meta::name(d),
                replicaset = meta::name(rs),
                "cleaning up old replica set"
            );
            match self.ctx.client.delete(self.rs_def, rs, None).await? {
                Removal::Gone(o) => drop(self.sets.removed(o.as_ref().unwrap_or(rs))),
                Removal::Pending(o) => drop(self.sets.wrote(o)),
            }
        }
        Ok(())
    }
}

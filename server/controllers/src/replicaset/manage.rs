//! Creating and deleting pods to match `spec.replicas`.

use super::ReplicaSetController;
use crate::cache::controller_uid;
use crate::client::Removal;
use crate::pods::{generate_name, is_active, pod_from_template};
use crate::ranking::deletion_order;
use futures::future::join_all;
use serde_json::Value;
use std::sync::Arc;
use wasmkube_api::{ApiError, meta};

/// The most pods one sync creates or deletes (upstream `BurstReplicas`).
const BURST: usize = 500;

pub(super) fn replicas(set: &Value) -> usize {
    set.pointer("/spec/replicas").and_then(Value::as_u64).unwrap_or(1) as usize
}

impl ReplicaSetController {
    /// Create or delete pods so that `active` becomes `spec.replicas`.
    pub(super) async fn manage(&mut self, set: &Value, active: &[Arc<Value>]) -> Result<(), ApiError> {
        let want = replicas(set);
        if active.len() < want {
            self.create_pods(set, (want - active.len()).min(BURST)).await
        } else if active.len() > want {
            self.delete_pods(set, active, (active.len() - want).min(BURST)).await
        } else {
            Ok(())
        }
    }

    /// Create `count` pods in batches of 1, 2, 4, ... ("slow start"): a template the API
    /// rejects fails once, not `count` times.
    async fn create_pods(&mut self, set: &Value, count: usize) -> Result<(), ApiError> {
        let template = set.pointer("/spec/template").cloned().unwrap_or(Value::Null);
        let pod = pod_from_template(&template, set, &generate_name(meta::name(set)));
        let ns = meta::namespace(set);
        let (mut done, mut batch) = (0, 1);
        while done < count {
            let n = batch.min(count - done);
            let results =
                join_all((0..n).map(|_| self.ctx.client.create(self.pods_def, ns, pod.clone()))).await;
            let mut failed = None;
            for r in results {
                match r {
                    Ok(p) => {
                        self.ctx.normal(set, "SuccessfulCreate", format!("Created pod: {}", meta::name(&p)));
                        self.pods.wrote(p);
                    }
                    Err(e) => {
                        self.ctx.warning(set, "FailedCreate", format!("Error creating: {}", e.message));
                        failed.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
            done += n;
            batch *= 2;
        }
        Ok(())
    }

    /// Delete the `count` pods upstream would pick first.
    async fn delete_pods(
        &mut self,
        set: &Value,
        active: &[Arc<Value>],
        count: usize,
    ) -> Result<(), ApiError> {
        let related = self.related_pods(set, active);
        let related: Vec<&Value> = related.iter().map(|p| &**p).collect();
        let candidates: Vec<&Value> = active.iter().map(|p| &**p).collect();
        let victims: Vec<Value> =
            deletion_order(&candidates, &related, self.ctx.now()).into_iter().take(count).cloned().collect();
        let results = join_all(victims.iter().map(|p| self.ctx.client.delete(self.pods_def, p, None))).await;
        let mut failed = None;
        for (pod, r) in victims.iter().zip(results) {
            match r {
                Ok(removal) => {
                    self.ctx.normal(set, "SuccessfulDelete", format!("Deleted pod: {}", meta::name(pod)));
                    match removal {
                        Removal::Gone(o) => drop(self.pods.removed(o.as_ref().unwrap_or(pod))),
                        Removal::Pending(o) => drop(self.pods.wrote(o)),
                    }
                }
                Err(e) => {
                    self.ctx.warning(set, "FailedDelete", format!("Error deleting: {}", e.message));
                    failed.get_or_insert(e);
                }
            }
        }
        failed.map_or(Ok(()), Err)
    }

    /// Active pods of the set's family: every set with the same controlling owner (the
    /// Deployment's ReplicaSets), or the set alone.
    fn related_pods(&self, set: &Value, active: &[Arc<Value>]) -> Vec<Arc<Value>> {
        let Some(owner) = controller_uid(set) else {
            return active.to_vec();
        };
        self.sets
            .owned_by(owner)
            .flat_map(|s| self.pods.owned_by(meta::uid(s)))
            .filter(|p| is_active(p))
            .cloned()
            .collect()
    }
}

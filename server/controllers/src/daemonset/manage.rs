//! Creating and deleting daemon pods (upstream `manage` and `syncNodes`): one per node that
//! should run one, finished pods replaced (failed ones with a back-off per node), extra pods
//! and pods on nodes that no longer want them removed.

use super::DaemonSetController;
use super::nodes::{add_daemon_tolerations, pin_to_node, should_run};
use super::sync::{daemon_spec, label, min_ready};
use crate::cache::key_of;
use crate::client::Removal;
use crate::pods::{generate_name, is_available, is_ready, node_name, phase, pod_from_template};
use crate::revisions::HASH_LABEL;
use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use serde_json::{Value, json};
use std::sync::Arc;
use wasmkube_api::{ApiError, meta};

/// Upstream's failed-pod back-off: 1 s doubling to 15 minutes.
fn failure_delay(count: u32) -> Duration {
    Duration::seconds(1i64 << count.saturating_sub(1).min(10)).min(Duration::minutes(15))
}

impl DaemonSetController {
    /// Create pods on nodes that need one, delete pods that should not be there.
    pub(super) async fn manage(&mut self, ds: &Value, hash: &str) -> Result<(), ApiError> {
        let node_pods = self.node_pods(ds);
        let spec = daemon_spec(ds);
        let surge = super::update::allows_surge(ds);
        let (mut create, mut delete) = (Vec::new(), Vec::new());
        let nodes: Vec<Arc<Value>> = self.nodes.iter().cloned().collect();
        for node in &nodes {
            let name = meta::name(node);
            let (run, keep) = should_run(&spec, node);
            let pods = node_pods.get(name).map(Vec::as_slice).unwrap_or_default();
            if run && pods.is_empty() {
                create.push(name.to_string());
            } else if keep {
                let running = self.prune_finished(ds, name, pods, &mut delete);
                delete.extend(self.excess(ds, hash, running, surge));
            } else {
                delete.extend(pods.iter().filter(|p| !meta::is_deleting(p)).map(|p| (**p).clone()));
            }
        }
        // Unbound pods meant for nodes that no longer exist.
        for (node, pods) in &node_pods {
            if !nodes.iter().any(|n| meta::name(n) == node) {
                delete.extend(
                    pods.iter()
                        .filter(|p| node_name(p).is_empty() && !meta::is_deleting(p))
                        .map(|p| (**p).clone()),
                );
            }
        }
        self.create_pods(ds, hash, &create).await?;
        self.delete_pods(ds, &delete).await
    }

    /// Finished pods are deleted (failed ones with a back-off per node); returns the others.
    fn prune_finished(
        &mut self,
        ds: &Value,
        node: &str,
        pods: &[Arc<Value>],
        delete: &mut Vec<Value>,
    ) -> Vec<Arc<Value>> {
        let now = self.ctx.now();
        let mut running = Vec::new();
        for pod in pods.iter().filter(|p| !meta::is_deleting(p)) {
            let (ns, name) = (meta::namespace(pod), meta::name(pod));
            match phase(pod) {
                "Failed" => {
                    if let Some(retry) = self.in_backoff(ds, node, now) {
                        self.queue.add_at(key_of(ds), retry);
                        continue;
                    }
                    let msg =
                        format!("Found failed daemon pod {ns}/{name} on node {node}, will try to kill it");
                    self.ctx.warning(ds, "FailedDaemonPod", msg);
                    delete.push((**pod).clone());
                }
                "Succeeded" => {
                    let msg = format!(
                        "Found succeeded daemon pod {ns}/{name} on node {node}, will try to delete it"
                    );
                    self.ctx.normal(ds, "SucceededDaemonPod", msg);
                    delete.push((**pod).clone());
                }
                _ => running.push(pod.clone()),
            }
        }
        running
    }

    /// Whether failed pods on this node are in back-off (and when it ends); records a failure
    /// otherwise.
    fn in_backoff(&mut self, ds: &Value, node: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let key = (meta::uid(ds).to_string(), node.to_string());
        let entry = self.failures.get(&key).copied();
        if let Some((n, last)) = entry
            && now < last + failure_delay(n)
        {
            return Some(last + failure_delay(n));
        }
        let expired = entry.is_none_or(|(_, last)| now - last > Duration::minutes(30));
        let n = if expired { 1 } else { entry.map_or(1, |(n, _)| n + 1) };
        self.failures.insert(key, (n, now));
        None
    }

    /// More than one running pod on a node: without surge, all but the oldest go; with surge,
    /// the oldest of the current revision and the oldest other may coexist until one of them
    /// settles it.
    fn excess(&self, ds: &Value, hash: &str, running: Vec<Arc<Value>>, surge: bool) -> Vec<Value> {
        if !surge {
            return running.iter().skip(1).map(|p| (**p).clone()).collect();
        }
        let (mut oldest_new, mut oldest_old, mut extra) = (None, None, Vec::new());
        for pod in running {
            let slot = if label(&pod, HASH_LABEL).as_deref() == Some(hash) {
                &mut oldest_new
            } else {
                &mut oldest_old
            };
            if slot.is_none() {
                *slot = Some(pod);
            } else {
                extra.push((*pod).clone());
            }
        }
        if let (Some(new), Some(old)) = (oldest_new, oldest_old)
            && (!is_ready(&old) || is_available(&new, min_ready(ds), self.ctx.now()))
        {
            extra.push((*old).clone());
        }
        extra
    }

    pub(super) async fn create_pods(
        &mut self,
        ds: &Value,
        hash: &str,
        nodes: &[String],
    ) -> Result<(), ApiError> {
        let mut template = ds.pointer("/spec/template").cloned().unwrap_or_else(|| json!({}));
        add_daemon_tolerations(&mut template["spec"]);
        let generation = ds.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
        template["metadata"]["labels"]["pod-template-generation"] = json!(generation.to_string());
        template["metadata"]["labels"][HASH_LABEL] = json!(hash);
        let ns = meta::namespace(ds).to_string();
        let (mut done, mut batch) = (0, 1);
        while done < nodes.len() {
            let chunk = &nodes[done..(done + batch).min(nodes.len())];
            let pods = chunk.iter().map(|node| {
                let mut t = template.clone();
                pin_to_node(&mut t["spec"], node);
                pod_from_template(&t, ds, &generate_name(meta::name(ds)))
            });
            let results = join_all(pods.map(|p| self.ctx.client.create(self.pods_def, &ns, p))).await;
            let mut failed = None;
            for r in results {
                match r {
                    Ok(p) => {
                        self.ctx.normal(ds, "SuccessfulCreate", format!("Created pod: {}", meta::name(&p)));
                        self.pods.wrote(p);
                    }
                    Err(e) => {
                        self.ctx.warning(ds, "FailedCreate", format!("Error creating: {}", e.message));
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

    pub(super) async fn delete_pods(&mut self, ds: &Value, pods: &[Value]) -> Result<(), ApiError> {
        if !pods.is_empty() {
            // A node that lost its pod gets a new one on the next pass (upstream's informer
            // would deliver the deletion; our cache already has it).
            self.queue.add(key_of(ds));
        }
        let results = join_all(pods.iter().map(|p| self.ctx.client.delete(self.pods_def, p, None))).await;
        let mut failed = None;
        for (pod, r) in pods.iter().zip(results) {
            match r {
                Ok(removal) => {
                    self.ctx.normal(ds, "SuccessfulDelete", format!("Deleted pod: {}", meta::name(pod)));
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

//! The garbage collector: dependents follow their owners (`metadata.ownerReferences`).
//!
//! - An object whose owners are all gone is deleted (Background propagation).
//! - An object with some owners gone loses the dangling references.
//! - An owner being deleted with the `orphan` finalizer releases its dependents (their
//!   references to it are removed), then loses the finalizer.
//! - An owner being deleted with `foregroundDeletion` has its dependents deleted first (also in
//!   the foreground); when none remain it loses the finalizer, and so is deleted.
//!
//! The index is built from a consistent list of everything plus the watch after it, so "not in
//! the index" means "does not exist": owners are always created before the dependents that name
//! their uid, and events arrive in revision order.

use super::Reconciler;
use crate::service::{AnyEvent, Api, DeleteOptions, PatchType, WriteOptions, update::Part};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use wasmkube_api::{ResourceDef, meta};

const ORPHAN: &str = "orphan";
const FOREGROUND: &str = "foregroundDeletion";

struct Node {
    def: &'static ResourceDef,
    namespace: String,
    name: String,
    owners: Vec<String>,
    refs: Vec<Value>,
    deleting: bool,
    finalizers: Vec<String>,
}

#[derive(Default)]
pub struct GarbageCollector {
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, HashSet<String>>,
    dirty: HashSet<String>,
}

impl GarbageCollector {
    fn insert(&mut self, def: &'static ResourceDef, obj: &Value) {
        let uid = meta::uid(obj).to_string();
        if uid.is_empty() {
            return;
        }
        self.remove(&uid);
        let refs: Vec<Value> =
            obj.pointer("/metadata/ownerReferences").and_then(Value::as_array).cloned().unwrap_or_default();
        let owners = meta::owner_uids(obj);
        for o in &owners {
            self.dependents.entry(o.clone()).or_default().insert(uid.clone());
        }
        let node = Node {
            def,
            namespace: meta::namespace(obj).to_string(),
            name: meta::name(obj).to_string(),
            owners,
            refs,
            deleting: meta::is_deleting(obj),
            finalizers: meta::finalizers(obj),
        };
        if node.deleting || !node.owners.is_empty() {
            self.dirty.insert(uid.clone());
        }
        self.nodes.insert(uid, node);
    }

    fn remove(&mut self, uid: &str) -> Option<Node> {
        let node = self.nodes.remove(uid)?;
        for o in &node.owners {
            if let Some(set) = self.dependents.get_mut(o) {
                set.remove(uid);
                if set.is_empty() {
                    self.dependents.remove(o);
                }
            }
        }
        Some(node)
    }

    fn dependents_of(&self, uid: &str) -> Vec<String> {
        self.dependents.get(uid).map(|s| s.iter().cloned().collect()).unwrap_or_default()
    }

    /// One object's due work. Returns whether it must be retried.
    async fn reconcile_one(&self, api: &Api, uid: &str) -> Result<(), wasmkube_api::ApiError> {
        let Some(node) = self.nodes.get(uid) else {
            return Ok(());
        };
        if node.deleting && node.finalizers.iter().any(|f| f == ORPHAN) {
            for dep in self.dependents_of(uid) {
                self.drop_refs(api, &dep, &[uid.to_string()]).await?;
            }
            return remove_finalizer(api, node, ORPHAN).await;
        }
        if node.deleting && node.finalizers.iter().any(|f| f == FOREGROUND) {
            let deps = self.dependents_of(uid);
            for dep in &deps {
                if let Some(d) = self.nodes.get(dep).filter(|d| !d.deleting) {
                    delete(api, d, "Foreground").await?;
                }
            }
            if deps.is_empty() {
                return remove_finalizer(api, node, FOREGROUND).await;
            }
            return Ok(());
        }
        if node.owners.is_empty() {
            return Ok(());
        }
        let absent: Vec<String> =
            node.owners.iter().filter(|o| !self.nodes.contains_key(*o)).cloned().collect();
        let foreground_owner = node
            .owners
            .iter()
            .filter_map(|o| self.nodes.get(o))
            .any(|o| o.deleting && o.finalizers.iter().any(|f| f == FOREGROUND));
        if absent.len() == node.owners.len() {
            if !node.deleting {
                delete(api, node, "Background").await?;
            }
        } else if foreground_owner && !node.deleting {
            delete(api, node, "Foreground").await?;
        } else if !absent.is_empty() {
            self.drop_refs(api, uid, &absent).await?;
        }
        Ok(())
    }

    async fn drop_refs(&self, api: &Api, uid: &str, owners: &[String]) -> Result<(), wasmkube_api::ApiError> {
        let Some(node) = self.nodes.get(uid) else {
            return Ok(());
        };
        let kept: Vec<&Value> = node
            .refs
            .iter()
            .filter(|r| !owners.iter().any(|o| r.get("uid").and_then(Value::as_str) == Some(o)))
            .collect();
        let refs = if kept.is_empty() { Value::Null } else { json!(kept) };
        set_metadata_list(api, node, "ownerReferences", refs).await
    }
}

async fn remove_finalizer(api: &Api, node: &Node, finalizer: &str) -> Result<(), wasmkube_api::ApiError> {
    let kept: Vec<&String> = node.finalizers.iter().filter(|f| *f != finalizer).collect();
    let list = if kept.is_empty() { Value::Null } else { json!(kept) };
    set_metadata_list(api, node, "finalizers", list).await
}

/// Replace one list in `metadata` (null removes it) with a merge patch, as the collector.
async fn set_metadata_list(
    api: &Api,
    node: &Node,
    field: &str,
    list: Value,
) -> Result<(), wasmkube_api::ApiError> {
    let patch = json!({ "metadata": { field: list } });
    let opts = WriteOptions { field_manager: Some("garbage-collector".into()), ..Default::default() };
    let written = api
        .patch(node.def, &node.namespace, &node.name, PatchType::Merge, &patch, Part::Main, false, &opts)
        .await;
    ignore_gone(written.map(drop))
}

async fn delete(api: &Api, node: &Node, policy: &str) -> Result<(), wasmkube_api::ApiError> {
    tracing::debug!(kind = node.def.kind, namespace = %node.namespace, name = %node.name, policy, "garbage collecting");
    let opts = DeleteOptions { propagation_policy: Some(policy.into()), ..Default::default() };
    ignore_gone(api.delete(node.def, &node.namespace, &node.name, &opts).await.map(drop))
}

/// Somebody else deleting the object first is success.
fn ignore_gone(r: Result<(), wasmkube_api::ApiError>) -> Result<(), wasmkube_api::ApiError> {
    match r {
        Err(e) if e.code == 404 => Ok(()),
        other => other,
    }
}

impl Reconciler for GarbageCollector {
    fn reset(&mut self, objects: Vec<(&'static ResourceDef, Arc<Value>)>) {
        *self = GarbageCollector::default();
        for (def, obj) in &objects {
            self.insert(def, obj);
        }
        // Dependents whose owners vanished while we were not watching.
        let orphans: Vec<String> =
            self.nodes.iter().filter(|(_, n)| !n.owners.is_empty()).map(|(u, _)| u.clone()).collect();
        self.dirty.extend(orphans);
    }

    fn observe(&mut self, ev: &AnyEvent) {
        let uid = meta::uid(&ev.object).to_string();
        if ev.deleted {
            if let Some(node) = self.remove(&uid) {
                self.dirty.extend(node.owners);
            }
            let deps = self.dependents_of(&uid);
            self.dirty.extend(deps);
        } else {
            self.insert(ev.def, &ev.object);
            let deps = self.dependents_of(&uid);
            if meta::is_deleting(&ev.object) {
                self.dirty.extend(deps);
            }
        }
    }

    async fn reconcile(&mut self, api: &Api) -> bool {
        let due: Vec<String> = self.dirty.drain().collect();
        let mut retry = false;
        for uid in due {
            if let Err(e) = self.reconcile_one(api, &uid).await {
                tracing::warn!(%uid, error = %e, "garbage collection failed; will retry");
                self.dirty.insert(uid);
                retry = true;
            }
        }
        // Foreground owners wait for their dependents to disappear.
        retry
            || self
                .nodes
                .values()
                .any(|n| n.deleting && n.finalizers.iter().any(|f| f == FOREGROUND || f == ORPHAN))
    }
}

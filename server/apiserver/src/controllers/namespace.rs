//! Namespace lifecycle: a deleted namespace (phase Terminating) has everything in it deleted;
//! once nothing is left, its `kubernetes` finalizer is removed through `/finalize`, which
//! removes the namespace.

use super::Reconciler;
use crate::service::{AnyEvent, Api, DeleteOptions, ListOptions};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use wasmkube_api::registry::{find, storage_prefixes};
use wasmkube_api::status::ApiError;
use wasmkube_api::{ResourceDef, meta};

#[derive(Default)]
pub struct NamespaceController {
    terminating: BTreeSet<String>,
}

impl NamespaceController {
    fn note(&mut self, def: &ResourceDef, obj: &Value, deleted: bool) {
        if def.storage != "namespaces" {
            return;
        }
        let name = meta::name(obj).to_string();
        if !deleted && meta::is_deleting(obj) {
            self.terminating.insert(name);
        } else {
            self.terminating.remove(&name);
        }
    }

    /// Delete what is left in `ns`; returns how many objects remain.
    async fn empty(api: &Api, ns: &str) -> Result<usize, ApiError> {
        let mut remaining = 0;
        for def in storage_prefixes().into_iter().filter(|d| d.namespaced) {
            let opts = DeleteOptions { propagation_policy: Some("Background".into()), ..Default::default() };
            for obj in api.list(def, Some(ns), &ListOptions::default()).await?.items {
                remaining += 1;
                if !meta::is_deleting(&obj) {
                    match api.delete(def, ns, meta::name(&obj), &opts).await {
                        Err(e) if e.code != 404 => return Err(e),
                        _ => {}
                    }
                }
            }
        }
        Ok(remaining)
    }
}

impl Reconciler for NamespaceController {
    fn reset(&mut self, objects: Vec<(&'static ResourceDef, Arc<Value>)>) {
        self.terminating.clear();
        for (def, obj) in &objects {
            self.note(def, obj, false);
        }
    }

    fn observe(&mut self, ev: &AnyEvent) {
        self.note(ev.def, &ev.object, ev.deleted);
    }

    async fn reconcile(&mut self, api: &Api) -> bool {
        let namespaces = find("", "v1", "namespaces").expect("namespaces are served");
        let mut retry = false;
        for ns in self.terminating.clone() {
            match Self::empty(api, &ns).await {
                Ok(0) => {
                    let body = json!({"spec": {"finalizers": []}});
                    if let Err(e) = api.finalize_namespace(namespaces, &ns, &body).await
                        && e.code != 404
                    {
                        tracing::warn!(namespace = %ns, error = %e, "finalizing namespace failed");
                        retry = true;
                    }
                }
                Ok(_) => retry = true,
                Err(e) => {
                    tracing::warn!(namespace = %ns, error = %e, "emptying namespace failed");
                    retry = true;
                }
            }
        }
        retry
    }
}

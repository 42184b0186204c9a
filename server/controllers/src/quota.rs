//! ResourceQuota status (kube-controller-manager's resourcequota controller): `status.hard`
//! follows `spec.hard`, and `status.used` is recounted from the namespace's objects with the
//! same evaluators admission charges with (`wasmkube_api::quota`).
//!
//! Admission charges a create before the object is written; this controller gives back what
//! deleted and finished objects held and corrects drift. A namespace is recounted when one of
//! its quotas is new or changed, when an object there is deleted or a pod finishes, and every
//! [`RESYNC`]. Writes carry the quota's resourceVersion, so a charge made after the recount read
//! the quota makes the write fail and the recount run again. As upstream's, a recount can still
//! miss an object admitted (charged) but not yet written; the next recount counts it.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use wasmkube_api::quota::{self, ResourceList, parse_list};
use wasmkube_api::{ApiError, ResourceDef, meta, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::controllers::Reconciler;
use wasmkube_apiserver::service::update::Part;
use wasmkube_apiserver::service::{AnyEvent, ListOptions, WriteOptions};

/// How often every quota is recounted even when nothing announced a change.
const RESYNC: Duration = Duration::from_secs(30);
const MANAGER: &str = "resourcequota-controller";

#[derive(Default)]
pub struct QuotaController {
    /// namespace -> quota name -> quota
    quotas: HashMap<String, BTreeMap<String, Arc<Value>>>,
    /// Namespaces to recount.
    dirty: BTreeSet<String>,
    /// Pods seen finished in namespaces with quotas: finishing gives usage back once.
    finished: HashSet<String>,
    resynced: Option<tokio::time::Instant>,
}

impl QuotaController {
    pub fn new() -> Self {
        QuotaController::default()
    }

    fn take(&mut self, def: &ResourceDef, obj: &Value, deleted: bool) {
        let ns = meta::namespace(obj);
        if def.storage == "resourcequotas" {
            let quotas = self.quotas.entry(ns.to_string()).or_default();
            if deleted {
                quotas.remove(meta::name(obj));
            } else {
                if obj.pointer("/status/hard") != obj.pointer("/spec/hard")
                    || obj.pointer("/status/used").is_none()
                {
                    self.dirty.insert(ns.to_string());
                }
                quotas.insert(meta::name(obj).to_string(), Arc::new(obj.clone()));
            }
        }
        if !quota::is_counted(def) || self.quotas.get(ns).is_none_or(BTreeMap::is_empty) {
            return;
        }
        // Usage goes down when an object goes or a pod finishes; it goes up only through
        // admission's charges, which a recount racing an admitted-but-unwritten object would
        // erase, so an object appearing is no reason to recount.
        let uid = meta::uid(obj);
        let gives_back = if deleted {
            self.finished.remove(uid);
            true
        } else {
            def.storage == "pods"
                && matches!(
                    obj.pointer("/status/phase").and_then(Value::as_str),
                    Some("Succeeded" | "Failed")
                )
                && self.finished.insert(uid.to_string())
        };
        if gives_back {
            self.dirty.insert(ns.to_string());
        }
    }

    /// Recount one namespace's quotas and write the statuses that changed.
    async fn recount(&self, api: &Api, ns: &str) -> Result<(), ApiError> {
        let Some(quotas) = self.quotas.get(ns).filter(|q| !q.is_empty()) else { return Ok(()) };
        let mut kinds: BTreeSet<&'static str> = BTreeSet::new();
        for q in quotas.values() {
            kinds.extend(parse_list(q.pointer("/spec/hard")).keys().filter_map(|k| counted_by(k)));
        }
        let mut objects: Vec<(&'static ResourceDef, Value)> = Vec::new();
        for storage in kinds {
            let def = registry::by_storage(storage).expect("quota kinds are served");
            let items = api.list(def, Some(ns), &ListOptions::default()).await?.items;
            objects.extend(items.into_iter().map(|o| (def, o)));
        }
        let def = registry::by_storage("resourcequotas").expect("resourcequotas are served");
        for q in quotas.values() {
            let hard = parse_list(q.pointer("/spec/hard"));
            let mut used: ResourceList =
                hard.keys().map(|k| (k.clone(), wasmkube_api::quantity::Quantity::zero())).collect();
            for (odef, obj) in &objects {
                if !quota::covers(q, odef, obj) {
                    continue;
                }
                let usage: ResourceList =
                    quota::usage(odef, obj).into_iter().filter(|(k, _)| hard.contains_key(k)).collect();
                quota::add(&mut used, &usage);
            }
            let status = serde_json::json!({"hard": q.pointer("/spec/hard").cloned().unwrap_or_default(),
                "used": quota::to_json(&used)});
            if q.get("status") == Some(&status) {
                continue;
            }
            let mut next = Value::clone(q);
            next["status"] = status;
            let opts = WriteOptions { field_manager: Some(MANAGER.into()), ..Default::default() };
            match api.update(def, ns, meta::name(q), next, Part::Status, &opts).await {
                Ok(_) => {}
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The kind (storage key) whose objects a quota resource name counts.
fn counted_by(name: &str) -> Option<&'static str> {
    if let Some(resource) = name.strip_prefix("count/") {
        let (plural, group) = resource.split_once('.').unwrap_or((resource, ""));
        let storage = if group.is_empty() { plural.to_string() } else { format!("{group}/{plural}") };
        return registry::by_storage(&storage).filter(|d| quota::is_counted(d)).map(|d| d.storage);
    }
    Some(match name {
        "pods" | "cpu" | "memory" | "ephemeral-storage" => "pods",
        n if n.starts_with("requests.") && n != "requests.storage" => "pods",
        n if n.starts_with("limits.") => "pods",
        "services" | "services.nodeports" | "services.loadbalancers" => "services",
        "persistentvolumeclaims" | "requests.storage" => "persistentvolumeclaims",
        n if n.contains(".storageclass.storage.k8s.io/") => "persistentvolumeclaims",
        "configmaps" => "configmaps",
        "secrets" => "secrets",
        "replicationcontrollers" => "replicationcontrollers",
        "resourcequotas" => "resourcequotas",
        _ => return None,
    })
}

impl Reconciler for QuotaController {
    fn reset(&mut self, objects: Vec<(&'static ResourceDef, Arc<Value>)>) {
        *self = QuotaController::default();
        for (def, obj) in objects.iter().filter(|(d, _)| d.storage == "resourcequotas") {
            self.take(def, obj, false);
        }
        for (def, obj) in objects.iter().filter(|(d, _)| d.storage != "resourcequotas") {
            self.take(def, obj, false);
        }
        self.dirty.extend(self.quotas.iter().filter(|(_, q)| !q.is_empty()).map(|(ns, _)| ns.clone()));
    }

    fn observe(&mut self, ev: &AnyEvent) {
        self.take(ev.def, &ev.object, ev.deleted);
    }

    async fn reconcile(&mut self, api: &Api) -> bool {
        let now = tokio::time::Instant::now();
        if self.resynced.is_none_or(|t| now.duration_since(t) >= RESYNC) {
            self.resynced = Some(now);
            self.dirty.extend(self.quotas.iter().filter(|(_, q)| !q.is_empty()).map(|(ns, _)| ns.clone()));
        }
        let mut failed = false;
        for ns in std::mem::take(&mut self.dirty) {
            if let Err(e) = self.recount(api, &ns).await {
                // A conflict means someone charged the quota meanwhile: count again.
                tracing::debug!(namespace = %ns, error = %e, "quota recount failed; will retry");
                self.dirty.insert(ns);
                failed = true;
            }
        }
        failed || self.quotas.values().any(|q| !q.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_names_map_to_the_kinds_that_use_them() {
        assert_eq!(counted_by("requests.cpu"), Some("pods"));
        assert_eq!(counted_by("memory"), Some("pods"));
        assert_eq!(counted_by("requests.storage"), Some("persistentvolumeclaims"));
        assert_eq!(
            counted_by("gold.storageclass.storage.k8s.io/requests.storage"),
            Some("persistentvolumeclaims")
        );
        assert_eq!(counted_by("services.nodeports"), Some("services"));
        assert_eq!(counted_by("count/deployments.apps"), Some("apps/deployments"));
        assert_eq!(counted_by("count/configmaps"), Some("configmaps"));
        assert_eq!(counted_by("count/nodes"), None, "cluster-scoped kinds are not counted");
        assert_eq!(counted_by("bogus"), None);
    }
}

//! Delete: preconditions, propagation policy, finalizers, graceful pod termination.

use super::update::{Operation, Part};
use super::{Api, WriteOptions, list::ListOptions, store_error};
use serde_json::{Value, json};
use wasmkube_api::status::ApiError;
use wasmkube_api::{ResourceDef, meta};
use wasmkube_store::Op;

/// `DeleteOptions`, from the body and/or the query.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub propagation_policy: Option<String>,
    pub grace_period_seconds: Option<i64>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Merge a `DeleteOptions` JSON body (kubectl sends `{"propagationPolicy":"Background"}`).
    pub fn merge_body(&mut self, body: &Value) {
        let s = |k: &str| body.get(k).and_then(Value::as_str).map(String::from);
        if let Some(p) = s("propagationPolicy") {
            self.propagation_policy = Some(p);
        }
        if let Some(orphan) = body.get("orphanDependents").and_then(Value::as_bool) {
            self.propagation_policy
                .get_or_insert_with(|| if orphan { "Orphan" } else { "Background" }.into());
        }
        if let Some(g) = body.get("gracePeriodSeconds").and_then(Value::as_i64) {
            self.grace_period_seconds = Some(g);
        }
        let pre = |k: &str| body.get("preconditions")?.get(k)?.as_str().map(String::from);
        self.precondition_uid = pre("uid").or(self.precondition_uid.take());
        self.precondition_rv = pre("resourceVersion").or(self.precondition_rv.take());
        if body.get("dryRun").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
            self.dry_run = true;
        }
    }
}

/// What a delete did.
#[derive(Debug)]
pub enum Deleted {
    /// Removed from the store; the object as it was.
    Gone(Value),
    /// Marked for deletion (finalizers or graceful termination pending); the object now.
    Pending(Value),
}

const ORPHAN: &str = "orphan";
const FOREGROUND: &str = "foregroundDeletion";

impl Api {
    pub async fn delete(
        &self,
        def: &'static ResourceDef,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Deleted, ApiError> {
        if def.storage == "namespaces" && super::create::SYSTEM_NAMESPACES[..3].contains(&name) {
            return Err(ApiError::forbidden(format!(
                "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
            )));
        }
        let mut retry = super::ConflictRetry::new();
        loop {
            let (current, rev) = self.get_with_rev(def, ns, name).await?;
            check_preconditions(def, &current, opts)?;
            let result = if let Some(next) = deletion_marks(def, &current, opts) {
                let wopts = WriteOptions { dry_run: opts.dry_run, ..Default::default() };
                self.write_update(def, &current, rev, next, Part::All, &wopts, Operation::MarkDeleted)
                    .await
                    .map(|obj| {
                        if meta::is_deleting(&obj) && !meta::finalizers(&obj).is_empty()
                            || is_namespace_or_graceful(def, &obj)
                        {
                            Deleted::Pending(obj)
                        } else {
                            Deleted::Gone(obj)
                        }
                    })
            } else if opts.dry_run {
                Ok(Deleted::Gone(current))
            } else {
                let key = Self::key(def, ns, name);
                match self.store.write(Op::Delete { key, expected_rev: Some(rev) }).await {
                    Ok(_) => {
                        if def.storage == "services" {
                            self.release_service_addresses(&current).await;
                        }
                        Ok(Deleted::Gone(current))
                    }
                    Err(wasmkube_store::Error::Conflict { .. }) => {
                        Err(ApiError::conflict(def.group, def.plural, name))
                    }
                    Err(wasmkube_store::Error::NotFound) => {
                        Err(ApiError::not_found(def.group, def.plural, name))
                    }
                    Err(e) => Err(store_error(e)),
                }
            };
            match result {
                Err(e) if e.reason == "Conflict" && opts.precondition_rv.is_none() && retry.again().await => {
                    continue;
                }
                other => return other,
            }
        }
    }

    /// DELETE on a collection: every matching object, one by one, as upstream does.
    pub async fn delete_collection(
        &self,
        def: &'static ResourceDef,
        ns: Option<&str>,
        list: &ListOptions,
        opts: &DeleteOptions,
    ) -> Result<Vec<Value>, ApiError> {
        let items = self.list(def, ns, list).await?.items;
        let mut out = Vec::new();
        for item in items {
            match self.delete(def, meta::namespace(&item), meta::name(&item), opts).await {
                Ok(Deleted::Gone(o) | Deleted::Pending(o)) => out.push(o),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

fn is_namespace_or_graceful(def: &ResourceDef, obj: &Value) -> bool {
    meta::is_deleting(obj)
        && (def.storage == "namespaces"
            || obj.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(0) > 0)
}

fn check_preconditions(def: &ResourceDef, current: &Value, opts: &DeleteOptions) -> Result<(), ApiError> {
    let name = meta::name(current);
    if let Some(uid) = &opts.precondition_uid
        && uid != meta::uid(current)
    {
        return Err(ApiError::conflict_message(
            def.group,
            def.plural,
            name,
            format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta::uid(current)
            ),
        ));
    }
    if let Some(rv) = &opts.precondition_rv
        && Some(rv.as_str()) != meta::str_at(current, &["metadata", "resourceVersion"])
    {
        return Err(ApiError::conflict_message(
            def.group,
            def.plural,
            name,
            format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                meta::str_at(current, &["metadata", "resourceVersion"]).unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

/// The marked object if this delete must wait (finalizers, propagation, graceful termination,
/// namespace content); `None` if the object can go at once.
fn deletion_marks(def: &ResourceDef, current: &Value, opts: &DeleteOptions) -> Option<Value> {
    let mut next = current.clone();
    let mut finalizers = meta::finalizers(current);
    match opts.propagation_policy.as_deref() {
        Some("Orphan") if !finalizers.iter().any(|f| f == ORPHAN) => finalizers.push(ORPHAN.into()),
        Some("Foreground") if !finalizers.iter().any(|f| f == FOREGROUND) => {
            finalizers.push(FOREGROUND.into())
        }
        _ => {}
    }
    let grace = pod_grace_period(def, current, opts);
    let namespace_content = def.storage == "namespaces";
    if finalizers.is_empty() && grace == 0 && !namespace_content {
        return None;
    }
    if meta::is_deleting(current) && finalizers == meta::finalizers(current) {
        // Already marked: a repeated delete changes nothing but may shorten a grace period.
        if grace == 0 && finalizers.is_empty() && !namespace_content {
            return None;
        }
        return Some(next);
    }
    meta::set_finalizers(&mut next, &finalizers);
    let m = meta::metadata_mut(&mut next);
    let when = chrono::Utc::now() + chrono::Duration::seconds(grace);
    m.insert("deletionTimestamp".into(), json!(when.format("%Y-%m-%dT%H:%M:%SZ").to_string()));
    m.insert("deletionGracePeriodSeconds".into(), json!(grace));
    if namespace_content {
        next["status"] = json!({"phase": "Terminating"});
    }
    Some(next)
}

/// Pods bound to a node terminate gracefully (the node agent stops them, then deletes with
/// grace 0); unbound pods and explicit `--grace-period=0` go at once.
fn pod_grace_period(def: &ResourceDef, pod: &Value, opts: &DeleteOptions) -> i64 {
    if def.storage != "pods" {
        return 0;
    }
    let bound = pod.pointer("/spec/nodeName").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
    let finished =
        matches!(pod.pointer("/status/phase").and_then(Value::as_str), Some("Succeeded" | "Failed"));
    if !bound || finished {
        return 0;
    }
    let default = pod.pointer("/spec/terminationGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(30);
    opts.grace_period_seconds.unwrap_or(default).max(0)
}

//! The writes controllers make, as one field manager, through the same [`Api`] users go through.

use serde_json::{Value, json};
use wasmkube_api::{ApiError, ResourceDef, meta};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::service::update::Part;
use wasmkube_apiserver::service::{DeleteOptions, Deleted, PatchType, WriteOptions};

/// What a delete left behind.
pub(crate) enum Removal {
    /// Gone from the store (or already gone): the object as it was, if we knew it.
    Gone(Option<Value>),
    /// Marked for deletion (graceful pod termination or finalizers): the object now.
    Pending(Value),
}

#[derive(Clone)]
pub(crate) struct Client {
    pub api: Api,
    opts: WriteOptions,
}

impl Client {
    pub fn new(api: Api, field_manager: &str) -> Self {
        Client { api, opts: WriteOptions { field_manager: Some(field_manager.into()), ..Default::default() } }
    }

    pub async fn create(&self, def: &'static ResourceDef, ns: &str, obj: Value) -> Result<Value, ApiError> {
        Ok(self.api.create(def, ns, obj, &self.opts).await?.object)
    }

    pub async fn patch(
        &self,
        def: &'static ResourceDef,
        obj: &Value,
        kind: PatchType,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        let (ns, name) = (meta::namespace(obj), meta::name(obj));
        let written = self.api.patch(def, ns, name, kind, patch, Part::Main, false, &self.opts).await?;
        Ok(written.0.object)
    }

    pub async fn merge(
        &self,
        def: &'static ResourceDef,
        obj: &Value,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        self.patch(def, obj, PatchType::Merge, patch).await
    }

    /// Replace the status of `obj` with `status` (unconditionally, as upstream's controllers do
    /// after computing it from their caches; a no-op write is not stored).
    pub async fn put_status(
        &self,
        def: &'static ResourceDef,
        obj: &Value,
        status: Value,
    ) -> Result<Value, ApiError> {
        let mut body = obj.clone();
        meta::metadata_mut(&mut body).remove("resourceVersion");
        body["status"] = status;
        let (ns, name) = (meta::namespace(obj), meta::name(obj));
        Ok(self.api.update(def, ns, name, body, Part::Status, &self.opts).await?.object)
    }

    /// Replace the main part of `obj` (spec and metadata), conditional on its resourceVersion.
    pub async fn put(&self, def: &'static ResourceDef, obj: Value) -> Result<Value, ApiError> {
        let (ns, name) = (meta::namespace(&obj).to_string(), meta::name(&obj).to_string());
        Ok(self.api.update(def, &ns, &name, obj, Part::Main, &self.opts).await?.object)
    }

    /// Delete `obj` (only that incarnation: its uid is a precondition). Absent is success.
    pub async fn delete(
        &self,
        def: &'static ResourceDef,
        obj: &Value,
        propagation: Option<&str>,
    ) -> Result<Removal, ApiError> {
        let opts = DeleteOptions {
            propagation_policy: propagation.map(String::from),
            precondition_uid: Some(meta::uid(obj).to_string()).filter(|u| !u.is_empty()),
            ..Default::default()
        };
        match self.api.delete(def, meta::namespace(obj), meta::name(obj), &opts).await {
            Ok(Deleted::Gone(o)) => Ok(Removal::Gone(Some(o))),
            Ok(Deleted::Pending(o)) => Ok(Removal::Pending(o)),
            Err(e) if e.code == 404 => Ok(Removal::Gone(None)),
            Err(e) if e.code == 409 && e.message.contains("Precondition failed: UID") => {
                Ok(Removal::Gone(None))
            }
            Err(e) => Err(e),
        }
    }
}

/// A condition in the shape every workload status uses.
pub(crate) fn condition(kind: &str, status: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": now,
    })
}

pub(crate) fn find_condition<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status.get("conditions")?.as_array()?.iter().find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

/// Set a condition, keeping its lastTransitionTime if the status did not change.
pub(crate) fn set_condition(status: &mut Value, mut cond: Value) {
    let kind = cond["type"].as_str().unwrap_or_default().to_string();
    if let Some(old) = find_condition(status, &kind)
        && old.get("status") == cond.get("status")
        && let Some(t) = old.get("lastTransitionTime")
    {
        cond["lastTransitionTime"] = t.clone();
    }
    remove_condition(status, &kind);
    match status.get_mut("conditions").and_then(Value::as_array_mut) {
        Some(list) => list.push(cond),
        None => status["conditions"] = json!([cond]),
    }
}

pub(crate) fn remove_condition(status: &mut Value, kind: &str) {
    if let Some(list) = status.get_mut("conditions").and_then(Value::as_array_mut) {
        list.retain(|c| c.get("type").and_then(Value::as_str) != Some(kind));
        if list.is_empty() {
            status.as_object_mut().map(|m| m.remove("conditions"));
        }
    }
}

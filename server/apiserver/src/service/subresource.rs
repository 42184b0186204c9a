//! Subresources with their own object shapes: scale, binding, eviction, namespace finalize.

use super::delete::{DeleteOptions, Deleted};
use super::patch::PatchType;
use super::update::{Operation, Part};
use super::{Api, WriteOptions, parse_rv};
use serde_json::{Value, json};
use wasmkube_api::status::ApiError;
use wasmkube_api::{ResourceDef, meta};

/// `metav1.FormatLabelSelector` / the RC's map selector as a selector string for Scale.status.
fn selector_string(sel: Option<&Value>) -> String {
    let Some(sel) = sel else { return String::new() };
    if sel.get("matchLabels").is_none() && sel.get("matchExpressions").is_none() {
        // ReplicationController: a plain map.
        return sel.as_object().map(|m| join_labels(m.iter())).unwrap_or_default();
    }
    let mut parts: Vec<String> = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .map(|m| vec![join_labels(m.iter())])
        .unwrap_or_default();
    for e in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
        let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        parts.push(match e.get("operator").and_then(Value::as_str) {
            Some("In") => format!("{key} in ({})", values.join(",")),
            Some("NotIn") => format!("{key} notin ({})", values.join(",")),
            Some("Exists") => key.to_string(),
            Some("DoesNotExist") => format!("!{key}"),
            _ => continue,
        });
    }
    parts.retain(|p| !p.is_empty());
    parts.join(",")
}

fn join_labels<'a>(m: impl Iterator<Item = (&'a String, &'a Value)>) -> String {
    m.map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect::<Vec<_>>().join(",")
}

fn scale_of(obj: &Value) -> Value {
    let m = obj.get("metadata").cloned().unwrap_or_default();
    let keep: serde_json::Map<String, Value> =
        ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"]
            .iter()
            .filter_map(|k| Some(((*k).to_string(), m.get(*k)?.clone())))
            .collect();
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": keep,
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
        "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
                   "selector": selector_string(obj.pointer("/spec/selector"))},
    })
}

impl Api {
    pub async fn get_scale(
        &self,
        def: &'static ResourceDef,
        ns: &str,
        name: &str,
    ) -> Result<Value, ApiError> {
        Ok(scale_of(&self.get(def, ns, name).await?))
    }

    /// PUT or PATCH on `/scale`: only `spec.replicas` reaches the parent.
    pub async fn write_scale(
        &self,
        def: &'static ResourceDef,
        ns: &str,
        name: &str,
        change: ScaleChange<'_>,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let mut retry = super::ConflictRetry::new();
        loop {
            let (current, rev) = self.get_with_rev(def, ns, name).await?;
            let scale = scale_of(&current);
            let wanted = match &change {
                ScaleChange::Replace(body) => (*body).clone(),
                // A Scale has no lists: strategic merge and apply reduce to a JSON merge.
                ScaleChange::Patch(kind, patch) => super::patch::json_or_merge(&scale, *kind, patch)?,
            };
            if let Some(rv) =
                meta::str_at(&wanted, &["metadata", "resourceVersion"]).filter(|s| !s.is_empty())
                && parse_rv(rv)? != rev
            {
                return Err(ApiError::conflict(def.group, def.plural, name));
            }
            let replicas = wanted.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
            if replicas < 0 {
                return Err(ApiError::invalid(
                    "autoscaling",
                    "Scale",
                    name,
                    vec![(
                        "FieldValueInvalid".into(),
                        "spec.replicas".into(),
                        format!("Invalid value: {replicas}: must be greater than or equal to 0"),
                    )],
                ));
            }
            let mut next = current.clone();
            next["spec"]["replicas"] = json!(replicas);
            match self.write_update(def, &current, rev, next, Part::Main, opts, Operation::Update).await {
                Err(e) if e.reason == "Conflict" && retry.again().await => continue,
                other => return other.map(|o| scale_of(&o)),
            }
        }
    }

    /// `pods/binding`: assign a node, once.
    pub async fn bind(
        &self,
        def: &'static ResourceDef,
        ns: &str,
        name: &str,
        binding: &Value,
    ) -> Result<Value, ApiError> {
        let node = binding.pointer("/target/name").and_then(Value::as_str).unwrap_or_default();
        if node.is_empty() {
            return Err(ApiError::invalid(
                "",
                "Binding",
                name,
                vec![("FieldValueRequired".into(), "target.name".into(), "Required value".into())],
            ));
        }
        let mut retry = super::ConflictRetry::new();
        loop {
            let (current, rev) = self.get_with_rev(def, ns, name).await?;
            if meta::is_deleting(&current) {
                return Err(ApiError::conflict_message(
                    def.group,
                    def.plural,
                    name,
                    format!("pod {name} is being deleted, cannot be assigned to a host"),
                ));
            }
            if let Some(existing) =
                current.pointer("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty())
            {
                return Err(ApiError::conflict_message(
                    def.group,
                    def.plural,
                    name,
                    format!("pod {name} is already assigned to node \"{existing}\""),
                ));
            }
            let mut next = current.clone();
            next["spec"]["nodeName"] = json!(node);
            set_condition(&mut next, "PodScheduled", "True");
            match self
                .write_update(
                    def,
                    &current,
                    rev,
                    next,
                    Part::All,
                    &WriteOptions::default(),
                    Operation::Update,
                )
                .await
            {
                Err(e) if e.reason == "Conflict" && retry.again().await => continue,
                Err(e) => return Err(e),
                Ok(_) => {
                    return Ok(
                        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
                    );
                }
            }
        }
    }

    /// `pods/eviction`: a delete honouring the eviction's deleteOptions (there are no
    /// PodDisruptionBudgets to consult yet, so every eviction is allowed).
    pub async fn evict(
        &self,
        def: &'static ResourceDef,
        ns: &str,
        name: &str,
        eviction: &Value,
    ) -> Result<Value, ApiError> {
        let mut opts = DeleteOptions::default();
        if let Some(d) = eviction.get("deleteOptions") {
            opts.merge_body(d);
        }
        match self.delete(def, ns, name, &opts).await? {
            Deleted::Gone(_) | Deleted::Pending(_) => Ok(
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
            ),
        }
    }

    /// `namespaces/{name}/finalize`: only `spec.finalizers` changes; a deleting namespace with
    /// no finalizers left is removed.
    pub async fn finalize_namespace(
        &self,
        def: &'static ResourceDef,
        name: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let (current, rev) = self.get_with_rev(def, "", name).await?;
        let mut next = current.clone();
        next["spec"]["finalizers"] = body.pointer("/spec/finalizers").cloned().unwrap_or(json!([]));
        self.write_update(def, &current, rev, next, Part::Main, &WriteOptions::default(), Operation::Update)
            .await
    }
}

/// What a `/scale` write carries.
pub enum ScaleChange<'a> {
    Replace(&'a Value),
    Patch(PatchType, &'a Value),
}

fn set_condition(pod: &mut Value, kind: &str, status: &str) {
    let now = meta::now_rfc3339();
    let status_obj =
        pod.as_object_mut().expect("objects are maps").entry("status").or_insert_with(|| json!({}));
    let conds = status_obj.as_object_mut().map(|s| s.entry("conditions").or_insert_with(|| json!([])));
    if let Some(Value::Array(list)) = conds {
        list.retain(|c| c.get("type").and_then(Value::as_str) != Some(kind));
        list.push(json!({"type": kind, "status": status, "lastProbeTime": null, "lastTransitionTime": now}));
    }
}

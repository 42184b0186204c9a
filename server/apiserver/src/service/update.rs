//! Update (PUT) and the write path shared with patch: keep what the client may not change,
//! bump the generation on spec changes, honour finalizers of a deleting object.

use super::{Api, WriteOptions, Written, parse_rv, store_error};
use serde_json::{Value, json};
use wasmkube_api::decode::decode_object;
use wasmkube_api::status::ApiError;
use wasmkube_api::{ResourceDef, Subresource, meta};
use wasmkube_store::Op;

/// Which part of the object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The main resource: everything but `status` (for kinds with a status subresource).
    Main,
    /// The status subresource: only `status`.
    Status,
    /// Everything (server-internal writes that set spec and status together, like binding).
    All,
}

impl Part {
    pub fn from_subresource(sub: Option<Subresource>) -> Self {
        if sub == Some(Subresource::Status) { Part::Status } else { Part::Main }
    }
}

/// Why an object is being rewritten; recorded in managedFields, and `MarkDeleted` is the only
/// write allowed to set the deletion fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Update,
    Apply,
    MarkDeleted,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update | Operation::MarkDeleted => "Update",
        }
    }
}

impl Api {
    /// PUT: replace the object (or its status). A `metadata.resourceVersion` in the body is a
    /// precondition; without one the update is unconditional, as upstream allows.
    pub async fn update(
        &self,
        def: &'static ResourceDef,
        ns: &str,
        name: &str,
        obj: Value,
        part: Part,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let decoded = decode_object(def, obj, opts.field_validation)?;
        let body_name = meta::name(&decoded.object);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let precondition = match meta::str_at(&decoded.object, &["metadata", "resourceVersion"]) {
            Some(rv) if !rv.is_empty() => Some(parse_rv(rv)?),
            _ => None,
        };
        let (current, rev) = self.get_with_rev(def, ns, name).await?;
        if precondition.is_some_and(|p| p != rev) {
            return Err(ApiError::conflict(def.group, def.plural, name));
        }
        let object =
            self.write_update(def, &current, rev, decoded.object, part, opts, Operation::Update).await?;
        Ok(Written { object, warnings: decoded.warnings })
    }

    /// Turn `new` (what the client wants) into the next stored state of `current` (read at
    /// `rev`) and write it with `rev` as precondition. Returns the stored object; a deleting
    /// object that loses its last finalizer is deleted instead.
    #[allow(
        clippy::too_many_arguments,
        reason = "the write path's inputs; grouping them would only rename them"
    )]
    pub(crate) async fn write_update(
        &self,
        def: &'static ResourceDef,
        current: &Value,
        rev: u64,
        new: Value,
        part: Part,
        opts: &WriteOptions,
        operation: Operation,
    ) -> Result<Value, ApiError> {
        let name = meta::name(current).to_string();
        let mut next = merge_part(def, current, new, part);
        keep_system_metadata(current, &mut next, operation == Operation::MarkDeleted);
        if super::create::tracks_generation(def) && spec_changed(current, &next) {
            let g = current.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
            meta::metadata_mut(&mut next).insert("generation".into(), json!(g + 1));
        }
        wasmkube_validation::default(def.group, def.kind, &mut next);
        meta::drop_empty_metadata(&mut next);
        let claim = if def.storage == "services" && !meta::is_deleting(&next) {
            Some(self.claim_service_addresses(Some(current), &mut next).await?)
        } else {
            None
        };
        // Server-internal whole-object writes (binding, deletion marks) are not user updates of
        // the spec: upstream checks them as objects, not against update rules such as "pod
        // updates may not change fields other than ...".
        let old = if part == Part::All { None } else { Some(current) };
        self.validate(def, &next, old)?;
        if unchanged(current, &next) {
            // As upstream: a write that changes nothing is not written and keeps its revision.
            return Ok(current.clone());
        }
        self.record_managed_fields(def, Some(current), &mut next, opts, operation, part);
        meta::drop_empty_metadata(&mut next);
        if opts.dry_run {
            return Ok(next);
        }
        let key = Self::key(def, meta::namespace(current), &name);
        let conflict = |e| match e {
            wasmkube_store::Error::Conflict { .. } => ApiError::conflict(def.group, def.plural, &name),
            wasmkube_store::Error::NotFound => ApiError::not_found(def.group, def.plural, &name),
            other => store_error(other),
        };
        if should_delete_during_update(def, &next) {
            self.store.write(Op::Delete { key, expected_rev: Some(rev) }).await.map_err(conflict)?;
            if def.storage == "services" {
                self.release_service_addresses(current).await;
            }
            return Ok(next);
        }
        let value = Self::encode_for_storage(def, &next);
        let out =
            self.store.write(Op::Update { key, value, expected_rev: Some(rev) }).await.map_err(conflict)?;
        if let Some(claim) = claim {
            claim.commit();
        }
        Ok(Self::with_rev(next, out.rev))
    }
}

/// Upstream's rule: a deleting object whose last finalizer is gone and whose grace period is
/// over (0) is deleted by the update. A pod still in its grace period stays (its node agent
/// updates its status while it stops, then deletes it with grace 0).
fn should_delete_during_update(def: &ResourceDef, next: &Value) -> bool {
    let grace = next.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(0);
    meta::is_deleting(next)
        && meta::finalizers(next).is_empty()
        && grace == 0
        && !namespace_pending(def, next)
}

/// A namespace is only gone once its spec finalizers are also cleared (by /finalize).
fn namespace_pending(def: &ResourceDef, ns: &Value) -> bool {
    def.storage == "namespaces"
        && ns.pointer("/spec/finalizers").and_then(Value::as_array).is_some_and(|a| !a.is_empty())
}

/// Keep the part of `current` that this write may not change.
fn merge_part(def: &ResourceDef, current: &Value, mut new: Value, part: Part) -> Value {
    match part {
        Part::Status => {
            let mut next = current.clone();
            let status = new.as_object_mut().and_then(|m| m.remove("status")).unwrap_or(Value::Null);
            next.as_object_mut().expect("objects are maps").insert("status".into(), status);
            next
        }
        Part::Main if def.has(Subresource::Status) => {
            let map = new.as_object_mut().expect("objects are maps");
            match current.get("status") {
                Some(s) => map.insert("status".into(), s.clone()),
                None => map.remove("status"),
            };
            new
        }
        Part::Main | Part::All => new,
    }
}

/// uid, name, namespace, creationTimestamp, generation and deletion state belong to the server.
fn keep_system_metadata(current: &Value, next: &mut Value, marking_deleted: bool) {
    let cur = current.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let m = meta::metadata_mut(next);
    let deletion: &[&str] =
        if marking_deleted { &[] } else { &["deletionTimestamp", "deletionGracePeriodSeconds"] };
    for k in ["uid", "name", "namespace", "creationTimestamp", "generation"].iter().chain(deletion) {
        match cur.get(k) {
            Some(v) => m.insert((*k).into(), v.clone()),
            None => m.remove(*k),
        };
    }
    m.remove("resourceVersion");
}

/// `next` is `current` apart from the server-managed resourceVersion.
fn unchanged(current: &Value, next: &Value) -> bool {
    let mut cur = current.clone();
    meta::metadata_mut(&mut cur).remove("resourceVersion");
    cur == *next
}

/// Everything except metadata and status is "spec" for generation purposes.
fn spec_changed(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut m = v.as_object().cloned().unwrap_or_default();
        m.remove("metadata");
        m.remove("status");
        m
    };
    strip(a) != strip(b)
}

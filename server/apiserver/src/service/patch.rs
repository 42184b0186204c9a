//! PATCH in its four flavours, and managedFields bookkeeping.
//!
//! A patch is applied to the current object as its version serves it; the result then goes
//! through exactly the same decode -> default -> validate -> write path as an update, with the
//! read revision as precondition. A conflicting concurrent write makes us re-read and re-apply
//! (upstream's GuaranteedUpdate) unless the patch itself pinned a resourceVersion.

use super::update::{Operation, Part};
use super::{Api, WriteOptions, Written};
use serde_json::Value;
use wasmkube_api::decode::{self, decode_object};
use wasmkube_api::status::ApiError;
use wasmkube_api::{ResourceDef, meta};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    pub fn from_content_type(ct: &str) -> Option<Self> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Some(PatchType::Apply),
            _ => None,
        }
    }
}

impl Api {
    /// Apply `patch` (already parsed JSON) to an object. Returns the object and whether it was
    /// created (server-side apply of an absent object).
    #[allow(clippy::too_many_arguments, reason = "one parameter per request input")]
    pub async fn patch(
        &self,
        def: &'static ResourceDef,
        ns: &str,
        name: &str,
        kind: PatchType,
        patch: &Value,
        part: Part,
        force: bool,
        opts: &WriteOptions,
    ) -> Result<(Written, bool), ApiError> {
        if kind == PatchType::Apply && opts.field_manager.as_deref().is_none_or(str::is_empty) {
            return Err(ApiError::bad_request(
                "PATCH, application/apply-patch+yaml requests must set fieldManager",
            ));
        }
        // Field ownership must be computed on the values that will be stored.
        let mut applied = patch.clone();
        let mut early_warnings = Vec::new();
        if kind == PatchType::Apply {
            early_warnings = decode::coerce_partial(def, &mut applied)?;
        }
        let patch = &applied;
        let mut retry = super::ConflictRetry::new();
        loop {
            let (current, rev) = match self.get_with_rev(def, ns, name).await {
                Ok(found) => found,
                Err(e) if e.code == 404 && kind == PatchType::Apply && part == Part::Main => {
                    let mut w = self.apply_create(def, ns, name, patch, force, opts).await?;
                    w.warnings.extend(early_warnings);
                    return Ok((w, true));
                }
                Err(e) => return Err(e),
            };
            let patched = apply_patch(def, &current, kind, patch, force, opts)?;
            let pinned = meta::str_at(patch, &["metadata", "resourceVersion"]).filter(|rv| !rv.is_empty());
            if let Some(rv) = pinned
                && rv != rev.to_string()
            {
                return Err(ApiError::conflict(def.group, def.plural, name));
            }
            let decoded = decode_object(def, patched, opts.field_validation)?;
            let op = if kind == PatchType::Apply { Operation::Apply } else { Operation::Update };
            match self.write_update(def, &current, rev, decoded.object, part, opts, op).await {
                Err(e) if e.reason == "Conflict" && pinned.is_none() && retry.again().await => {
                    continue;
                }
                Err(e) => return Err(e),
                Ok(object) => {
                    let mut warnings = early_warnings;
                    warnings.extend(decoded.warnings);
                    return Ok((Written { object, warnings }, false));
                }
            }
        }
    }

    async fn apply_create(
        &self,
        def: &'static ResourceDef,
        ns: &str,
        name: &str,
        applied: &Value,
        force: bool,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let body_name = meta::name(applied);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let mut obj = server_side_apply(def, None, applied, force, opts)?;
        meta::metadata_mut(&mut obj).insert("name".into(), name.into());
        // managedFields were computed by the apply; create must not record an Update over them.
        let opts = WriteOptions { field_manager: None, ..opts.clone() };
        self.create(def, ns, obj, &opts).await
    }

    /// Record which manager set which fields, as upstream's managedFields do.
    pub(crate) fn record_managed_fields(
        &self,
        def: &ResourceDef,
        old: Option<&Value>,
        obj: &mut Value,
        opts: &WriteOptions,
        operation: Operation,
        part: Part,
    ) {
        let Some(manager) = opts.field_manager.as_deref().filter(|m| !m.is_empty()) else {
            return;
        };
        if operation == Operation::Apply {
            return; // server_side_apply already updated managedFields
        }
        let Some(root) = wasmkube_patch::schema::root_type(def.group, def.version, def.kind) else {
            return;
        };
        let subresource = (part == Part::Status).then_some("status");
        match wasmkube_patch::record_update(old, obj, manager, subresource, root, &meta::now_rfc3339()) {
            Ok(updated) => *obj = updated,
            // As upstream: bookkeeping failures never fail the write itself.
            Err(e) => tracing::debug!(error = %e, "managedFields not updated"),
        }
    }
}

fn server_side_apply(
    def: &ResourceDef,
    live: Option<&Value>,
    applied: &Value,
    force: bool,
    opts: &WriteOptions,
) -> Result<Value, ApiError> {
    let root = wasmkube_patch::schema::root_type(def.group, def.version, def.kind)
        .ok_or_else(|| ApiError::unsupported_media_type("application/apply-patch+yaml"))?;
    let manager = opts.field_manager.as_deref().unwrap_or_default();
    wasmkube_patch::server_side_apply(live, applied, manager, force, root, &meta::now_rfc3339()).map_err(
        |e| match e {
            wasmkube_patch::ApplyError::Conflict(_) => {
                ApiError::conflict_message(def.group, def.plural, meta::name(applied), e.to_string())
            }
            other => ApiError::bad_request(other.to_string()),
        },
    )
}

/// Apply an RFC 6902 JSON patch, or (for any other type) an RFC 7396 merge patch.
pub(crate) fn json_or_merge(current: &Value, kind: PatchType, patch: &Value) -> Result<Value, ApiError> {
    let mut doc = current.clone();
    if kind != PatchType::Json {
        json_patch::merge(&mut doc, patch);
        return Ok(doc);
    }
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| ApiError::bad_request(format!("the JSON patch is malformed: {e}")))?;
    json_patch::patch(&mut doc, &ops).map_err(|e| {
        ApiError::new(
            422,
            "Invalid",
            format!("the server rejected our request due to an error in our request: {e}"),
        )
    })?;
    Ok(doc)
}

fn apply_patch(
    def: &ResourceDef,
    current: &Value,
    kind: PatchType,
    patch: &Value,
    force: bool,
    opts: &WriteOptions,
) -> Result<Value, ApiError> {
    let bad = |e: String| ApiError::bad_request(e);
    match kind {
        PatchType::Json | PatchType::Merge => json_or_merge(current, kind, patch),
        PatchType::Strategic => {
            let root = wasmkube_patch::schema::root_type(def.group, def.version, def.kind)
                .ok_or_else(|| ApiError::unsupported_media_type("application/strategic-merge-patch+json"))?;
            wasmkube_patch::strategic_merge(current, patch, root).map_err(|e| bad(e.to_string()))
        }
        PatchType::Apply => server_side_apply(def, Some(current), patch, force, opts),
    }
}

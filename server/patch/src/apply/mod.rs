//! Server-side apply (`PATCH` with `application/apply-patch+yaml`) and the managedFields
//! bookkeeping of ordinary writes, after upstream structured-merge-diff's `Updater`.
//!
//! Apply, in order:
//! 0. a live object without managedFields first gets them all owned by the Update manager
//!    `before-first-apply`, so the first applier cannot silently overwrite them;
//! 1. merge the applied configuration into the live object;
//! 2. prune what this manager applied last time, no longer applies, and nobody else owns;
//! 3. compare live with the result: a changed field that another manager owns is a
//!    conflict, an error unless `force`, in which case ownership moves to the applier;
//! 4. the applier's Apply entry becomes exactly the set of fields it applied.
//!
//! Fields nobody may own are left out of every set, as upstream does: `apiVersion`, `kind`,
//! the server-managed `metadata` fields, and `status` on the main resource (its changes go
//! through the status subresource).

mod last_applied;
mod managed;
mod merge;
mod update;

pub use managed::{Conflict, ManagedEntry, Operation, decode_managed_fields, store_managed_fields};
pub use update::record_update;

use crate::fieldset::{Comparison, FieldSet, FieldSetError, PathElement, compare, field_set, json_equal};
use crate::schema::TypeRef;
use serde_json::{Value, json};

/// Why an apply (or the bookkeeping of an update) failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// 409 Conflict; the API server lists each as a `FieldManagerConflict` cause.
    #[error("{}", managed::ConflictsMessage(.0))]
    Conflict(Vec<Conflict>),
    /// 400/422: the applied configuration is not an object, or a list item lacks its keys.
    #[error("invalid object: {0}")]
    InvalidObject(String),
    /// The live object's `metadata.managedFields` cannot be decoded.
    #[error("failed to decode managed fields: {0}")]
    ManagedFields(String),
}

impl From<FieldSetError> for ApplyError {
    fn from(err: FieldSetError) -> Self {
        ApplyError::InvalidObject(err.to_string())
    }
}

/// Apply `applied` for `manager` (upstream `fieldManager=` query parameter) to `live`
/// (`None` creates), returning the new object with `metadata.managedFields` updated.
///
/// `now_rfc3339` stamps the applier's entry; a no-op apply keeps the previous stamp so an
/// identical re-apply leaves the object byte-for-byte unchanged.
pub fn server_side_apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    root: TypeRef,
    now_rfc3339: &str,
) -> Result<Value, ApplyError> {
    if !applied.is_object() {
        return Err(ApplyError::InvalidObject("the applied configuration must be an object".into()));
    }
    let live_plain = live.map_or_else(|| json!({}), without_managed_fields);
    let mut entries = match live {
        Some(live) => decode_managed_fields(live)?,
        None => Vec::new(),
    };
    if live.is_some() && entries.is_empty() {
        entries = update::before_first_apply(&live_plain, root, now_rfc3339)?;
    }
    let config = sanitize_applied(applied);
    let mut me = ManagedEntry {
        manager: manager.to_owned(),
        operation: Operation::Apply,
        api_version: api_version(&config, &live_plain),
        time: Some(now_rfc3339.to_owned()),
        subresource: None,
        fields: without_ignored(field_set(&config, root)?, None),
    };
    let last = entries.iter().position(|e| e.same_manager(&me)).map(|i| entries.remove(i));
    let mut result = merge_and_prune(&live_plain, &config, &me, last.as_ref(), &entries, root)?;
    let cmp = compare(&live_plain, &result, root)?;
    let may_take = |conflicts: &[(usize, FieldSet)]| {
        force || last_applied::allows(&live_plain, conflicts, manager, root)
    };
    settle_ownership(&mut entries, &cmp, may_take)?;
    if let Some(last) = last.filter(|_| json_equal(&result, &live_plain)) {
        me.time = last.time;
    }
    entries.push(me);
    last_applied::sync(&mut result, &live_plain, applied, manager);
    store_managed_fields(&mut result, entries);
    Ok(result)
}

/// Steps 1 and 2: the merged object, minus what the applier (`me`, previously `last`)
/// dropped from its configuration and no manager in `others` owns.
fn merge_and_prune(
    live: &Value,
    config: &Value,
    me: &ManagedEntry,
    last: Option<&ManagedEntry>,
    others: &[ManagedEntry],
    root: TypeRef,
) -> Result<Value, ApplyError> {
    let mut result = merge::merge(live, config, root)?;
    if let Some(last) = last {
        let owned = others.iter().fold(me.fields.clone(), |acc, e| acc.union(&e.fields));
        let doomed = last.fields.difference(&owned);
        merge::prune(&mut result, &doomed, Some(&owned), root)?;
    }
    Ok(result)
}

/// Step 3: fail on conflicts unless `may_take` them; then other managers lose the fields
/// taken from them and the fields the apply removed.
fn settle_ownership(
    entries: &mut [ManagedEntry],
    cmp: &Comparison,
    may_take: impl FnOnce(&[(usize, FieldSet)]) -> bool,
) -> Result<(), ApplyError> {
    let changed = without_ignored(cmp.modified.union(&cmp.added), None);
    let conflicts = conflicts(entries, &changed);
    if !conflicts.is_empty() && !may_take(&conflicts) {
        let list = conflicts.iter().flat_map(|(i, set)| {
            let owner = &entries[*i];
            set.paths().into_iter().map(move |p| Conflict::new(owner, &p))
        });
        return Err(ApplyError::Conflict(list.collect()));
    }
    for (i, lost) in &conflicts {
        entries[*i].fields = entries[*i].fields.difference(lost);
    }
    for entry in entries.iter_mut() {
        entry.fields = entry.fields.difference(&cmp.removed);
    }
    Ok(())
}

/// For each other manager, the changed fields it owns.
fn conflicts(entries: &[ManagedEntry], changed: &FieldSet) -> Vec<(usize, FieldSet)> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| (i, e.fields.intersection(changed)))
        .filter(|(_, set)| !set.is_empty())
        .collect()
}

/// The applied body minus what the server owns: `status` (main resource), `managedFields`,
/// and the server-set metadata (`resourceVersion` and `uid` are preconditions the caller
/// checks; they never overwrite the live values).
fn sanitize_applied(applied: &Value) -> Value {
    let mut config = applied.clone();
    if let Value::Object(map) = &mut config {
        map.shift_remove("status");
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            for key in
                ["managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"]
            {
                meta.shift_remove(key);
            }
        }
    }
    config
}

/// `obj` without `metadata.managedFields`, the form that merges and comparisons see.
pub(crate) fn without_managed_fields(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(Value::Object(meta)) = out.get_mut("metadata") {
        meta.shift_remove("managedFields");
    }
    out
}

fn api_version(primary: &Value, fallback: &Value) -> String {
    primary
        .get("apiVersion")
        .or_else(|| fallback.get("apiVersion"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Drop the fields no manager may own (upstream `stripMetaManager` plus the strategy's
/// reset fields). `subresource == Some("status")` keeps only `status`; anything else
/// drops `status`.
pub(crate) fn without_ignored(mut set: FieldSet, subresource: Option<&str>) -> FieldSet {
    let field = |name: &str| PathElement::Field(name.to_owned());
    if subresource == Some("status") {
        return set.only_subtree(&field("status"));
    }
    set.remove_subtree(&[field("status")]);
    for name in ["apiVersion", "kind"] {
        set.remove_subtree(&[field(name)]);
    }
    let meta = [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ];
    for name in meta {
        set.remove_subtree(&[field("metadata"), field(name)]);
    }
    // `metadata` itself, as a member, but not what lies below it.
    let mut only_meta = FieldSet::new();
    only_meta.insert(&[field("metadata")]);
    set.difference(&only_meta)
}

#[cfg(test)]
mod tests;

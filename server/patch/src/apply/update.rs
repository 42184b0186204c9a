//! managedFields bookkeeping for writes that are not applies (create, update, the other
//! patch types), after upstream `Updater.Update` and `managedFieldsUpdater`.

use super::{
    ApplyError, ManagedEntry, Operation, api_version, decode_managed_fields, store_managed_fields,
    without_ignored, without_managed_fields,
};
use crate::fieldset::compare;
use crate::schema::TypeRef;
use serde_json::{Value, json};

/// Record that `manager` wrote `new` over `old` (`None` for a create) with operation
/// `Update`, on `subresource` (`Some("status")`, `Some("scale")`) or the main resource.
///
/// The fields this write changed move to `manager`'s Update entry (stamped `now_rfc3339`);
/// other managers lose them, and everyone loses the fields the write removed. If `new`
/// carries its own non-empty managedFields (a client editing them on purpose) those are the
/// starting point, otherwise the old object's; `[{}]` resets them.
///
/// Upstream logs and ignores failures here (`UpdateNoErrors`); callers may do the same and
/// store `new` unchanged.
pub fn record_update(
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    subresource: Option<&str>,
    root: TypeRef,
    now_rfc3339: &str,
) -> Result<Value, ApplyError> {
    let mut entries = starting_entries(old, new);
    let old_plain = old.map_or_else(|| json!({}), without_managed_fields);
    let new_plain = without_managed_fields(new);
    let cmp = compare(&old_plain, &new_plain, root)?;
    let changed = without_ignored(cmp.modified.union(&cmp.added), subresource);
    let removed = without_ignored(cmp.removed, subresource);
    for entry in &mut entries {
        entry.fields = entry.fields.difference(&changed).difference(&removed);
    }
    let me = ManagedEntry {
        manager: manager.to_owned(),
        operation: Operation::Update,
        api_version: api_version(new, old.unwrap_or(&Value::Null)),
        time: Some(now_rfc3339.to_owned()),
        subresource: subresource.map(str::to_owned),
        fields: changed.clone(),
    };
    match entries.iter_mut().find(|e| e.same_manager(&me)) {
        Some(mine) => {
            mine.fields = mine.fields.union(&changed);
            if !changed.is_empty() {
                mine.time = me.time;
            }
        }
        None => entries.push(me),
    }
    let mut out = new_plain;
    store_managed_fields(&mut out, entries);
    Ok(out)
}

/// Upstream `skipNonAppliedManager`: when an object that never recorded managedFields is
/// first applied to, its existing fields are owned by `before-first-apply`.
pub(super) fn before_first_apply(
    live: &Value,
    root: TypeRef,
    now_rfc3339: &str,
) -> Result<Vec<ManagedEntry>, ApplyError> {
    let fields = without_ignored(compare(&json!({}), live, root)?.added, None);
    Ok(vec![ManagedEntry {
        manager: "before-first-apply".to_owned(),
        operation: Operation::Update,
        api_version: api_version(live, &Value::Null),
        time: Some(now_rfc3339.to_owned()),
        subresource: None,
        fields,
    }])
}

/// Upstream `decodeLiveOrNew`: the request's managedFields if it set any, else the old
/// object's; undecodable ones count as absent.
fn starting_entries(old: Option<&Value>, new: &Value) -> Vec<ManagedEntry> {
    let requested = new.pointer("/metadata/managedFields");
    if requested == Some(&json!([{}])) {
        return Vec::new();
    }
    match decode_managed_fields(new) {
        Ok(entries) if !entries.is_empty() => entries,
        _ => old.and_then(|old| decode_managed_fields(old).ok()).unwrap_or_default(),
    }
}

//! Interplay with client-side apply, for the manager `kubectl` only (as upstream's
//! `lastAppliedManager` and `lastAppliedUpdater`): switching an object from `kubectl apply`
//! to `kubectl apply --server-side` must not conflict on fields whose live value is still
//! what the last client-side apply set, and the `last-applied-configuration` annotation is
//! kept current so switching back also works.

use crate::fieldset::{FieldSet, compare, field_set};
use crate::schema::TypeRef;
use serde_json::Value;

/// The annotation client-side apply diffs against.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The only manager name upstream gives this treatment (kubectl's default for SSA).
const KUBECTL: &str = "kubectl";

/// Whether every conflict is on a field the last client-side apply set and live still has
/// with that value, so the apply may go ahead as if forced.
pub(super) fn allows(live: &Value, conflicts: &[(usize, FieldSet)], manager: &str, root: TypeRef) -> bool {
    if manager != KUBECTL {
        return false;
    }
    let Some(allowed) = unchanged_since_last_applied(live, root) else {
        return false;
    };
    conflicts.iter().all(|(_, set)| set.difference(&allowed).is_empty())
}

fn unchanged_since_last_applied(live: &Value, root: TypeRef) -> Option<FieldSet> {
    let text = live.pointer("/metadata/annotations")?.get(LAST_APPLIED)?.as_str()?;
    let last: Value = serde_json::from_str(text).ok()?;
    let last_set = field_set(&last, root).ok()?;
    let cmp = compare(&last, live, root).ok()?;
    let changed = cmp.modified.union(&cmp.removed);
    Some(last_set.difference(&changed))
}

/// After a `kubectl` apply, rewrite the annotation (if live had one) to the applied
/// configuration minus the annotation itself, encoded as upstream encodes it.
pub(super) fn sync(result: &mut Value, live: &Value, applied: &Value, manager: &str) {
    let had = live.pointer("/metadata/annotations").and_then(|a| a.get(LAST_APPLIED)).is_some();
    if manager != KUBECTL || !had {
        return;
    }
    let mut config = applied.clone();
    if let Some(Value::Object(annotations)) = config.pointer_mut("/metadata/annotations") {
        annotations.shift_remove(LAST_APPLIED);
    }
    let text = format!("{config}\n");
    if let Some(Value::Object(annotations)) = result.pointer_mut("/metadata/annotations") {
        annotations.insert(LAST_APPLIED.into(), Value::String(text));
    }
}

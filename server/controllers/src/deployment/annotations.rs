//! The annotations a Deployment keeps on its ReplicaSets: its own (copied), the revision (with
//! the history of revisions a set had before a rollback), and the size it was scaled for.

use super::util::{
    DESIRED_REPLICAS, MAX_REPLICAS, REVISION, REVISION_HISTORY, annotation, copied_annotation, max_surge,
    spec_replicas,
};
use serde_json::{Value, json};
use wasmkube_api::meta;

/// How long `revision-history` may grow (the controller's `maxRevHistoryLengthInChars`).
const MAX_REVISION_HISTORY_CHARS: usize = 2000;

fn set_annotation(obj: &mut Value, key: &str, value: String) {
    let m = meta::metadata_mut(obj);
    let a = m.entry("annotations").or_insert_with(|| json!({}));
    if !a.is_object() {
        *a = json!({});
    }
    a[key] = json!(value);
}

/// `SetReplicasAnnotations`: the Deployment size (and size plus surge) this set was scaled for.
pub(super) fn set_replicas_annotations(rs: &mut Value, desired: i64, max: i64) -> bool {
    let mut changed = false;
    for (k, v) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        if annotation(rs, k) != Some(v.to_string().as_str()) {
            set_annotation(rs, k, v.to_string());
            changed = true;
        }
    }
    changed
}

/// `SetNewReplicaSetAnnotations`: copy the Deployment's annotations, raise the revision (a
/// set that becomes new again keeps its old revisions in `revision-history`).
pub(super) fn new_rs_annotations(d: &Value, rs: &mut Value, new_revision: i64, exists: bool) -> bool {
    let mut changed = false;
    let own = d.pointer("/metadata/annotations").and_then(Value::as_object).cloned().unwrap_or_default();
    for (k, v) in own.iter().filter(|(k, _)| copied_annotation(k)) {
        if rs.pointer("/metadata/annotations").and_then(|a| a.get(k)) != Some(v) {
            set_annotation(rs, k, v.as_str().unwrap_or_default().to_string());
            changed = true;
        }
    }
    let old = annotation(rs, REVISION).map(str::to_string);
    let old_revision = match old.as_deref().map(str::parse::<i64>) {
        Some(Ok(r)) => r,
        Some(Err(_)) => return changed,
        None => 0,
    };
    if old_revision < new_revision {
        set_annotation(rs, REVISION, new_revision.to_string());
        changed = true;
        if let Some(old) = old {
            let history = annotation(rs, REVISION_HISTORY).unwrap_or_default().to_string();
            let mut entries: Vec<&str> = history.split(',').filter(|s| !s.is_empty()).collect();
            entries.push(&old);
            while entries.join(",").len() > MAX_REVISION_HISTORY_CHARS && entries.len() > 1 {
                entries.remove(0);
            }
            set_annotation(rs, REVISION_HISTORY, entries.join(","));
        }
    }
    if !exists && set_replicas_annotations(rs, spec_replicas(d), spec_replicas(d) + max_surge(d)) {
        changed = true;
    }
    changed
}

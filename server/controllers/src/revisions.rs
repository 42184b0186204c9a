//! ControllerRevisions: the template history of DaemonSets and StatefulSets, which
//! `kubectl rollout history|undo` read (undo applies a revision's `data` as a strategic merge
//! patch, so `data` is `{"spec":{"template":{..., "$patch":"replace"}}}` as upstream stores it).

use crate::cache::Objects;
use crate::client::{Client, Removal};
use crate::hash::compute_hash;
use crate::pods::controller_reference;
use serde_json::{Value, json};
use wasmkube_api::{ApiError, ResourceDef, meta, registry};

pub(crate) const HASH_LABEL: &str = "controller-revision-hash";

/// How the revision's name and hash label are derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `<ds>-<hash of the template>`; pods are labelled with the hash.
    DaemonSet,
    /// `<sts>-<hash of the revision data>`; pods are labelled with the revision's name.
    StatefulSet,
}

pub(crate) fn def() -> &'static ResourceDef {
    registry::by_storage("apps/controllerrevisions").expect("controllerrevisions are served")
}

pub(crate) fn number(rev: &Value) -> i64 {
    rev.get("revision").and_then(Value::as_i64).unwrap_or(0)
}

/// The patch that restores the owner's template.
pub(crate) fn template_patch(owner: &Value) -> Value {
    let mut template = owner.pointer("/spec/template").cloned().unwrap_or_else(|| json!({}));
    template["$patch"] = json!("replace");
    json!({"spec": {"template": template}})
}

/// The label pods of `rev` carry.
pub(crate) fn pod_hash(rev: &Value) -> &str {
    rev.pointer("/metadata/labels").and_then(|l| l.get(HASH_LABEL)).and_then(Value::as_str).unwrap_or("")
}

fn new_revision(owner: &Value, style: Style, number: i64) -> Value {
    let data = template_patch(owner);
    let collisions = owner.pointer("/status/collisionCount").and_then(Value::as_i64);
    let (name, label) = match style {
        Style::DaemonSet => {
            let hash = compute_hash(owner.pointer("/spec/template").unwrap_or(&Value::Null), collisions);
            (format!("{}-{hash}", meta::name(owner)), hash)
        }
        Style::StatefulSet => {
            let name = format!("{}-{}", meta::name(owner), compute_hash(&data, collisions));
            (name.clone(), name)
        }
    };
    let mut labels = owner.pointer("/spec/template/metadata/labels").cloned().unwrap_or_else(|| json!({}));
    labels[HASH_LABEL] = json!(label);
    let mut metadata = json!({"name": name, "namespace": meta::namespace(owner), "labels": labels,
                              "ownerReferences": [controller_reference(owner)]});
    if let Some(a) =
        owner.pointer("/metadata/annotations").filter(|a| a.as_object().is_some_and(|m| !m.is_empty()))
    {
        metadata["annotations"] = a.clone();
    }
    json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": metadata, "data": data, "revision": number})
}

/// The owner's revisions: the one matching its template now (created, or renumbered to the
/// newest after a rollback) and the others, oldest first. A name taken by a different
/// revision is a hash collision: `Err(collision)` asks the caller to bump `collisionCount`.
pub(crate) async fn sync_history(
    client: &Client,
    cache: &mut Objects,
    owner: &Value,
    style: Style,
) -> Result<Result<(Value, Vec<Value>), ApiError>, ApiError> {
    let mut owned: Vec<Value> = cache.owned_by(meta::uid(owner)).map(|r| (**r).clone()).collect();
    owned.sort_by_key(number);
    let max = owned.last().map_or(0, number);
    let data = template_patch(owner);
    let current = match owned.iter().rposition(|r| r.get("data") == Some(&data)) {
        Some(i) => {
            let mut cur = owned.remove(i);
            if number(&cur) < max {
                cur["revision"] = json!(max + 1);
                cur = client.put(def(), cur).await?;
                cache.wrote(cur.clone());
            }
            cur
        }
        None => {
            let rev = new_revision(owner, style, max + 1);
            match client.create(def(), meta::namespace(owner), rev.clone()).await {
                Ok(created) => {
                    cache.wrote(created.clone());
                    created
                }
                Err(e) if e.reason == "AlreadyExists" => {
                    let existing = client.api.get(def(), meta::namespace(owner), meta::name(&rev)).await?;
                    let ours = crate::cache::controller_uid(&existing) == Some(meta::uid(owner));
                    if !(ours && existing.get("data") == Some(&data)) {
                        return Ok(Err(e));
                    }
                    cache.wrote(existing.clone());
                    existing
                }
                Err(e) => return Err(e),
            }
        }
    };
    Ok(Ok((current, owned)))
}

/// Delete the oldest revisions beyond `limit` that no live pod (`in_use` hashes) still runs.
/// DaemonSets count live revisions toward the limit; StatefulSets only count the others.
pub(crate) async fn truncate(
    client: &Client,
    cache: &mut Objects,
    old: &[Value],
    limit: i64,
    in_use: &[&str],
    style: Style,
) -> Result<(), ApiError> {
    let dead: Vec<&Value> = old.iter().filter(|r| !in_use.contains(&pod_hash(r))).collect();
    let counted = if style == Style::DaemonSet { old.len() } else { dead.len() };
    let excess = (counted as i64 - limit).max(0) as usize;
    for rev in dead.into_iter().take(excess) {
        match client.delete(def(), rev, None).await? {
            Removal::Gone(o) => drop(cache.removed(o.as_ref().unwrap_or(rev))),
            Removal::Pending(o) => drop(cache.wrote(o)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_restore_the_template_and_name_themselves_by_style() {
        let owner = json!({"metadata": {"name": "agent", "namespace": "ns", "uid": "u",
                                        "annotations": {"kubernetes.io/change-cause": "v1"}},
                           "spec": {"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": []}}}});
        let ds = new_revision(&owner, Style::DaemonSet, 3);
        let hash = pod_hash(&ds).to_string();
        assert_eq!(ds["metadata"]["name"], format!("agent-{hash}"));
        assert_eq!(ds["metadata"]["labels"]["app"], "a");
        assert_eq!(ds["metadata"]["annotations"]["kubernetes.io/change-cause"], "v1");
        assert_eq!(ds["data"]["spec"]["template"]["$patch"], "replace");
        assert_eq!(ds["revision"], 3);
        let sts = new_revision(&owner, Style::StatefulSet, 1);
        assert_eq!(pod_hash(&sts), sts["metadata"]["name"].as_str().unwrap());
    }
}

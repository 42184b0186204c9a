//! A StatefulSet pod's stable identity: `<set>-<ordinal>` with its hostname, subdomain, index
//! labels, revision label, and a volume per claim template bound to `<template>-<set>-<ordinal>`.

use crate::pods::pod_from_template;
use crate::revisions::HASH_LABEL;
use serde_json::{Value, json};
use wasmkube_api::meta;

pub(crate) const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub(crate) const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// The ordinal of a pod named `<set>-<n>`, if it is one of `set`'s.
pub(crate) fn ordinal(set: &Value, pod: &Value) -> Option<i64> {
    let (parent, n) = meta::name(pod).rsplit_once('-')?;
    if parent != meta::name(set) || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// The template a revision restores (its data without the `$patch` directive).
pub(crate) fn revision_template(rev: &Value) -> Value {
    let mut t = rev.pointer("/data/spec/template").cloned().unwrap_or_else(|| json!({}));
    if let Some(m) = t.as_object_mut() {
        m.remove("$patch");
    }
    t
}

/// The claims of the pod with `ordinal`: (template name, claim object).
pub(crate) fn claims(set: &Value, ordinal: i64) -> Vec<(String, Value)> {
    let templates =
        set.pointer("/spec/volumeClaimTemplates").and_then(Value::as_array).cloned().unwrap_or_default();
    let selector_labels = set.pointer("/spec/selector/matchLabels").cloned().unwrap_or_else(|| json!({}));
    templates
        .into_iter()
        .map(|t| {
            let template_name = meta::name(&t).to_string();
            let mut labels =
                t.pointer("/metadata/labels").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
            for (k, v) in selector_labels.as_object().into_iter().flatten() {
                labels[k] = v.clone();
            }
            let mut metadata = json!({
                "name": format!("{template_name}-{}-{ordinal}", meta::name(set)),
                "namespace": meta::namespace(set),
                "labels": labels,
            });
            if let Some(a) = t.pointer("/metadata/annotations").filter(|a| a.is_object()) {
                metadata["annotations"] = a.clone();
            }
            let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata,
                               "spec": t.get("spec").cloned().unwrap_or_else(|| json!({}))});
            (template_name, claim)
        })
        .collect()
}

/// The pod for `ordinal` from `template` (of revision `revision`).
pub(crate) fn new_pod(set: &Value, template: &Value, revision: &str, ordinal: i64) -> Value {
    let mut pod = pod_from_template(template, set, "");
    let name = format!("{}-{ordinal}", meta::name(set));
    let m = meta::metadata_mut(&mut pod);
    m.remove("generateName");
    m.insert("name".into(), json!(name));
    let labels = m.entry("labels").or_insert_with(|| json!({}));
    labels[POD_NAME_LABEL] = json!(name);
    labels[POD_INDEX_LABEL] = json!(ordinal.to_string());
    labels[HASH_LABEL] = json!(revision);
    pod["spec"]["hostname"] = json!(name);
    if let Some(service) = set.pointer("/spec/serviceName").and_then(Value::as_str).filter(|s| !s.is_empty())
    {
        pod["spec"]["subdomain"] = json!(service);
    }
    let claims = claims(set, ordinal);
    let mut volumes: Vec<Value> = claims
        .iter()
        .map(|(vol, claim)| json!({"name": vol, "persistentVolumeClaim": {"claimName": meta::name(claim)}}))
        .collect();
    let existing = pod["spec"]["volumes"].as_array().cloned().unwrap_or_default();
    volumes.extend(existing.into_iter().filter(|v| !claims.iter().any(|(n, _)| v["name"] == n.as_str())));
    if !volumes.is_empty() {
        pod["spec"]["volumes"] = json!(volumes);
    }
    pod
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": "web", "namespace": "ns", "uid": "u"},
               "spec": {"serviceName": "nginx", "selector": {"matchLabels": {"app": "web"}},
                        "volumeClaimTemplates": [{"metadata": {"name": "www"},
                            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})
    }

    #[test]
    fn ordinals_come_from_names_of_this_set_only() {
        let s = set();
        assert_eq!(ordinal(&s, &json!({"metadata": {"name": "web-12"}})), Some(12));
        assert_eq!(ordinal(&s, &json!({"metadata": {"name": "webby-1"}})), None);
        assert_eq!(ordinal(&s, &json!({"metadata": {"name": "web-x"}})), None);
        assert_eq!(ordinal(&s, &json!({"metadata": {"name": "web-"}})), None);
    }

    #[test]
    fn pods_get_identity_and_their_own_claims() {
        let s = set();
        let template = json!({"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [], "volumes": [{"name": "www", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]}});
        let pod = new_pod(&s, &template, "web-abc", 2);
        assert_eq!(pod["metadata"]["name"], "web-2");
        assert_eq!(pod["metadata"]["labels"][POD_NAME_LABEL], "web-2");
        assert_eq!(pod["metadata"]["labels"][POD_INDEX_LABEL], "2");
        assert_eq!(pod["metadata"]["labels"][HASH_LABEL], "web-abc");
        assert_eq!(pod["spec"]["hostname"], "web-2");
        assert_eq!(pod["spec"]["subdomain"], "nginx");
        assert_eq!(
            pod["spec"]["volumes"],
            json!([{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-2"}},
                                                   {"name": "tmp", "emptyDir": {}}])
        );
        let (_, claim) = &claims(&s, 2)[0];
        assert_eq!(claim["metadata"]["name"], "www-web-2");
        assert_eq!(claim["metadata"]["labels"]["app"], "web");
    }
}

//! Indexed Jobs: completion indexes of pods and the `completedIndexes` text ("1,3-5").

use serde_json::{Value, json};
use std::collections::BTreeSet;

pub(crate) const INDEX_KEY: &str = "batch.kubernetes.io/job-completion-index";

/// The completion index a pod carries (annotation), if valid.
pub(crate) fn index_of(pod: &Value) -> Option<i64> {
    pod.pointer("/metadata/annotations")?.get(INDEX_KEY)?.as_str()?.parse().ok().filter(|i: &i64| *i >= 0)
}

pub(crate) fn is_indexed(job: &Value) -> bool {
    job.pointer("/spec/completionMode").and_then(Value::as_str) == Some("Indexed")
}

/// Parse "1,3-5" (invalid parts are skipped; indexes at or beyond `completions` dropped).
pub(crate) fn parse(text: &str, completions: i64) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.parse::<i64>(), b.parse::<i64>()) {
            out.extend((a..=b.min(completions - 1)).filter(|i| *i >= 0));
        }
    }
    out
}

/// Render indexes as ranges, as upstream's `completedIndexes`.
pub(crate) fn format(indexes: &BTreeSet<i64>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = indexes.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().unwrap_or(end);
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
    }
    parts.join(",")
}

/// The template of the pod for `index`: the annotation and label, a stable hostname, and
/// `JOB_COMPLETION_INDEX` from the annotation through the downward API in every container.
pub(crate) fn indexed_template(template: &Value, job_name: &str, index: i64) -> Value {
    let mut t = template.clone();
    t["metadata"]["annotations"][INDEX_KEY] = json!(index.to_string());
    t["metadata"]["labels"][INDEX_KEY] = json!(index.to_string());
    t["spec"]["hostname"] = json!(format!("{job_name}-{index}"));
    let env = json!({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
        "apiVersion": "v1", "fieldPath": format!("metadata.annotations['{INDEX_KEY}']")}}});
    for key in ["containers", "initContainers"] {
        for c in t["spec"].get_mut(key).and_then(Value::as_array_mut).into_iter().flatten() {
            let has =
                c["env"].as_array().is_some_and(|e| e.iter().any(|v| v["name"] == "JOB_COMPLETION_INDEX"));
            if has {
                continue;
            }
            match c.get_mut("env").and_then(Value::as_array_mut) {
                Some(list) => list.push(env.clone()),
                None => c["env"] = json!([env.clone()]),
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_indexes_round_trip_as_ranges() {
        let set: BTreeSet<i64> = [0, 1, 2, 4, 6, 7].into_iter().collect();
        assert_eq!(format(&set), "0-2,4,6-7");
        assert_eq!(parse("0-2,4,6-7", 10), set);
        assert_eq!(parse("0-2,4,6-7", 7), [0, 1, 2, 4, 6].into_iter().collect());
        assert_eq!(format(&BTreeSet::new()), "");
    }

    #[test]
    fn indexed_pods_get_annotation_label_hostname_and_env() {
        let t = json!({"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}});
        let p = indexed_template(&t, "work", 3);
        assert_eq!(p["metadata"]["annotations"][INDEX_KEY], "3");
        assert_eq!(p["metadata"]["labels"][INDEX_KEY], "3");
        assert_eq!(p["spec"]["hostname"], "work-3");
        assert_eq!(p["spec"]["containers"][0]["env"][0]["name"], "JOB_COMPLETION_INDEX");
        assert_eq!(index_of(&json!({"metadata": {"annotations": {INDEX_KEY: "3"}}})), Some(3));
    }
}

//! Cell helpers shared by the per-kind printers.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::duration;
use crate::field::Field;

/// The NAME cell: `metadata.name`.
pub(crate) fn name(obj: Field<'_>) -> Value {
    text(obj.path(&["metadata", "name"]).string())
}

/// The AGE cell.
pub(crate) fn age(obj: Field<'_>, now: DateTime<Utc>) -> Value {
    text(duration::age(obj, now))
}

/// A string cell.
pub(crate) fn text(value: impl Into<String>) -> Value {
    Value::String(value.into())
}

/// An integer cell; upstream emits these as Go `int64`, which JSON carries as a number.
pub(crate) fn int(value: i64) -> Value {
    Value::from(value)
}

/// An integer cell from a collection size.
pub(crate) fn count(size: usize) -> Value {
    int(i64::try_from(size).unwrap_or(i64::MAX))
}

/// The CONTAINERS and IMAGES cells of a pod spec: names and images joined by commas.
pub(crate) fn containers_and_images(pod_spec: Field<'_>) -> [Value; 2] {
    let containers: Vec<Field<'_>> = pod_spec.get("containers").items().collect();
    let names: Vec<String> = containers.iter().map(|c| c.get("name").string()).collect();
    let images: Vec<String> = containers.iter().map(|c| c.get("image").string()).collect();
    [text(names.join(",")), text(images.join(","))]
}

/// `value`, or `fallback` when it is unset or empty.
pub(crate) fn or_placeholder(value: Option<&str>, fallback: &str) -> String {
    value.filter(|v| !v.is_empty()).unwrap_or(fallback).to_owned()
}

/// `Kind/name`-style references, which upstream lower-cases for events and owners.
pub(crate) fn lower_kind_ref(kind: &str, name: &str) -> String {
    if name.is_empty() { kind.to_lowercase() } else { format!("{}/{name}", kind.to_lowercase()) }
}

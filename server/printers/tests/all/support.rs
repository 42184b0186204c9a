//! Shared helpers: a fixed clock and row/column accessors.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// The instant every test measures ages against.
pub fn now() -> DateTime<Utc> {
    "2024-06-01T12:00:00Z".parse().expect("valid timestamp")
}

/// `now()` minus `seconds`, as an RFC 3339 string for object fixtures.
pub fn ago(seconds: i64) -> String {
    (now() - chrono::Duration::seconds(seconds)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn row(group: &str, kind: &str, obj: &Value) -> Vec<Value> {
    wasmkube_printers::cells(group, kind, obj, now())
}

/// Column names, with `*` marking wide (priority 1) columns.
pub fn column_names(group: &str, kind: &str) -> Vec<String> {
    wasmkube_printers::columns(group, kind)
        .iter()
        .map(|c| {
            let wide = if c.priority > 0 { "*" } else { "" };
            format!("{}{wide}", c.name)
        })
        .collect()
}

/// Builds expected cells from a JSON array literal.
pub fn cells(expected: Value) -> Vec<Value> {
    match expected {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// Metadata with a name and a creation time `seconds` ago.
pub fn meta(name: &str, seconds: i64) -> Value {
    json!({"name": name, "namespace": "default", "creationTimestamp": ago(seconds)})
}

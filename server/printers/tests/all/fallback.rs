//! Kinds without an upstream printer get the API server's default table.

use serde_json::json;

use crate::support::{cells, column_names, row};

#[test]
fn limit_range_uses_name_and_created_at() {
    assert_eq!(column_names("", "LimitRange"), ["Name", "Created At"]);
    let columns = wasmkube_printers::columns("", "LimitRange");
    assert_eq!(columns[1].type_, "date");
    assert_eq!(columns[0].format, "name");
    let limit_range = json!({
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "mem-limits", "creationTimestamp": "2024-05-01T08:30:00Z"},
        "spec": {"limits": [{"type": "Container", "default": {"memory": "512Mi"}}]}
    });
    assert_eq!(row("", "LimitRange", &limit_range), cells(json!(["mem-limits", "2024-05-01T08:30:00Z"])));
}

#[test]
fn unknown_kinds_and_missing_timestamps() {
    assert_eq!(column_names("example.com", "Widget"), ["Name", "Created At"]);
    let widget = json!({"metadata": {"name": "w"}});
    assert_eq!(row("example.com", "Widget", &widget), cells(json!(["w", "0001-01-01T00:00:00Z"])));
    // A kind name in the wrong group is not the kind we know.
    assert_eq!(column_names("example.com", "Pod"), ["Name", "Created At"]);
}

#[test]
fn fractional_and_offset_timestamps_render_in_utc_seconds() {
    let obj = json!({"metadata": {"name": "x", "creationTimestamp": "2024-05-01T10:30:00.123456+02:00"}});
    assert_eq!(row("", "LimitRange", &obj), cells(json!(["x", "2024-05-01T08:30:00Z"])));
}

//! Server-side printing: the columns and cells of the `Table` that `kubectl get` asks for.
//!
//! kubectl requests `application/json;as=Table;v=v1;g=meta.k8s.io` and prints whatever columns
//! the server sends, so the text users see comes from here. We reproduce upstream's per-kind
//! printers (`pkg/printers/internalversion/printers.go`) column for column and cell for cell.
//!
//! # Layout
//! - [`columns`], [`cells`] and [`human_duration`] are the whole public API. The API server
//!   wraps their output into a `Table` (row object metadata, resourceVersion) itself.
//! - `kinds/` holds one printer per kind, grouped by area (`workloads.rs`, `service.rs`, ...), and
//!   the lookup table; `kinds/fallback.rs` is the API server's default NAME / CREATED AT table
//!   for kinds without a printer (LimitRange, and anything unknown).
//! - `field.rs` reads partial or wrongly typed JSON as Go zero values, so no stored object can
//!   make a printer panic; `duration.rs` and `labels.rs` re-implement upstream's text formats for
//!   ages and label selectors, and `quantity.rs` prints resource quantities in canonical form
//!   through `wasmkube_api::quantity`, which validation shares.
//! - `descriptions.rs` is generated API documentation used as column descriptions.
//!
//! **API Boundary:** [`cells`] always returns exactly `columns(group, kind).len()` cells, in
//! column order, including the priority 1 (`-o wide`) ones: upstream servers always render
//! tables wide and leave hiding those columns to the client.
//!
//! **Architecture Invariant:** printers read stored JSON as it is and apply only the API
//! defaults that upstream would already have set on any stored object (a Service's `ClusterIP`
//! type, `spec.replicas: 1`, a pod's `Pending` phase, ...), so a partially defaulted object
//! prints as it would on a real cluster.

mod column;
mod descriptions;
mod duration;
mod field;
mod kinds;
mod labels;
mod quantity;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use column::Column;
pub use duration::human_duration;

/// The table columns for objects of `kind` in API `group` (`""` for the core group).
pub fn columns(group: &str, kind: &str) -> Vec<Column> {
    kinds::lookup(group, kind).columns.to_vec()
}

/// The row cells for `obj`, one per column of [`columns`] and in the same order.
///
/// `now` is the instant ages are measured against. Missing or malformed fields never fail:
/// they print as upstream prints an unset field (`<none>`, `<unknown>`, `0`, ...).
pub fn cells(group: &str, kind: &str, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let printer = kinds::lookup(group, kind);
    let mut row = (printer.cells)(field::Field::new(obj), now);
    // Each printer builds its row to match its columns and tests check that for every kind;
    // this only guards the API boundary should a future printer get it wrong.
    debug_assert_eq!(row.len(), printer.columns.len(), "{group}/{kind} row width");
    row.resize(printer.columns.len(), Value::String(String::new()));
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every printer must produce one cell per column for any input, however malformed.
    #[test]
    fn every_printer_matches_its_column_count_on_odd_input() {
        let now = Utc::now();
        let odd_inputs =
            [json!({}), json!(null), json!([1, 2]), json!({"metadata": "x", "spec": 5, "status": []})];
        for printer in kinds::all() {
            for input in &odd_inputs {
                let row = (printer.cells)(field::Field::new(input), now);
                assert_eq!(row.len(), printer.columns.len(), "{}", printer.kind);
            }
        }
    }
}

//! The API server's default table, for kinds without an upstream printer.
//!
//! Upstream registers no printer for some kinds it serves (LimitRange among them); their storage
//! uses `rest.NewDefaultTableConvertor`, which prints NAME and CREATED AT, the latter as an
//! RFC 3339 UTC timestamp rather than an age. We do the same for every kind we do not know, so
//! `kubectl get limitranges` looks as it does against a real cluster.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::KindPrinter;
use super::common::{name, text};
use crate::column::{Column, NAME};
use crate::descriptions::META_CREATION_TIMESTAMP;
use crate::field::Field;

pub(crate) const DEFAULT_TABLE: KindPrinter = KindPrinter {
    group: "",
    kind: "",
    columns: &[NAME, Column { type_: "date", ..Column::string("Created At", META_CREATION_TIMESTAMP) }],
    cells: default_cells,
};

fn default_cells(obj: Field<'_>, _now: DateTime<Utc>) -> Vec<Value> {
    // Go formats the zero time when the timestamp is unset, so we do too.
    let created = obj
        .path(&["metadata", "creationTimestamp"])
        .time()
        .map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), |t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
    vec![name(obj), text(created)]
}

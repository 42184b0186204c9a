//! Figures in the form the benchmark harness (`tests/bench.sh`) gathers into
//! `docs/BENCHMARKS.md`: with `WASMKUBE_BENCH_RECORDS=FILE` set, each figure is appended to FILE
//! as one JSON line. Without it nothing is written (the benchmarks print their own tables).
//! Shared by every benchmark (the runtime's and the scheduler's include this file by path).

#![allow(dead_code, reason = "each benchmark uses part of it")]

use std::io::Write;

/// One figure: `area` groups the harness's tables, `value` is wasmkube's. `more` may add
/// `min` and `max` (the spread of the samples behind `value`), `peer` and `peer_value` (the
/// same measure of the peer run side by side in this run), `goal` (as text) and
/// `"better": "higher"` (lower is better otherwise).
pub fn record(area: &str, measure: &str, unit: &str, value: f64, more: serde_json::Value) {
    let Ok(path) = std::env::var("WASMKUBE_BENCH_RECORDS") else { return };
    let mut line = serde_json::json!({"area": area, "measure": measure, "unit": unit, "value": value});
    if let (Some(line), Some(more)) = (line.as_object_mut(), more.as_object()) {
        line.extend(more.clone());
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    writeln!(file, "{line}").unwrap_or_else(|e| panic!("{path}: {e}"));
}

/// The spread of sorted samples, for `more`: their min and max.
pub fn spread(sorted: &[f64]) -> serde_json::Value {
    match (sorted.first(), sorted.last()) {
        (Some(min), Some(max)) => serde_json::json!({"min": min, "max": max}),
        _ => serde_json::json!({}),
    }
}

/// The fields of several `more` objects in one.
pub fn merged(parts: &[serde_json::Value]) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for part in parts {
        if let Some(fields) = part.as_object() {
            out.extend(fields.clone());
        }
    }
    serde_json::Value::Object(out)
}

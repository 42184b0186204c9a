//! Printing the server's `meta.k8s.io/v1` Tables as kubectl does: upper-case headers, priority-0
//! columns unless `-o wide`, NAMESPACE first with `-A`, `kind.group/` before names when several
//! types are shown, LABELS last with `--show-labels`, aligned by [`tabwriter`](super::tabwriter).

use super::tabwriter;
use serde_json::Value;

/// How to turn Tables of one resource type into text.
pub struct TableLayout {
    /// Indexes of the server's columns to show.
    columns: Vec<usize>,
    headers: Vec<String>,
    name_column: usize,
    pub namespace: bool,
    pub kind_prefix: Option<String>,
    pub labels: bool,
    /// Column widths remembered from the first print, so watch rows line up under it.
    widths: Vec<usize>,
}

impl TableLayout {
    /// From a Table's `columnDefinitions`.
    pub fn new(table: &Value, wide: bool) -> Self {
        let defs = table["columnDefinitions"].as_array().cloned().unwrap_or_default();
        let columns: Vec<usize> =
            (0..defs.len()).filter(|&i| wide || defs[i]["priority"].as_i64().unwrap_or(0) == 0).collect();
        let headers =
            columns.iter().map(|&i| defs[i]["name"].as_str().unwrap_or("").to_uppercase()).collect();
        let name_column = defs.iter().position(|d| d["format"] == "name").unwrap_or(0);
        TableLayout {
            columns,
            headers,
            name_column,
            namespace: false,
            kind_prefix: None,
            labels: false,
            widths: Vec::new(),
        }
    }

    fn header_cells(&self) -> Vec<String> {
        let mut cells = Vec::new();
        if self.namespace {
            cells.push("NAMESPACE".to_string());
        }
        cells.extend(self.headers.iter().cloned());
        if self.labels {
            cells.push("LABELS".to_string());
        }
        cells
    }

    fn row_cells(&self, row: &Value) -> Vec<String> {
        let meta = &row["object"]["metadata"];
        let mut cells = Vec::new();
        if self.namespace {
            cells.push(meta["namespace"].as_str().unwrap_or("").to_string());
        }
        for &i in &self.columns {
            let mut text = cell_text(&row["cells"][i]);
            if i == self.name_column
                && let Some(prefix) = &self.kind_prefix
            {
                text = format!("{prefix}/{text}");
            }
            cells.push(text);
        }
        if self.labels {
            cells.push(labels(&meta["labels"]));
        }
        cells
    }

    /// The whole table (header unless `no_headers`), remembering its column widths.
    pub fn render(&mut self, rows: &[Value], no_headers: bool) -> String {
        let mut lines: Vec<Vec<String>> = Vec::new();
        if !no_headers {
            lines.push(self.header_cells());
        }
        lines.extend(rows.iter().map(|r| self.row_cells(r)));
        self.widths = vec![0; lines.first().map_or(0, Vec::len)];
        for line in &lines {
            for (w, cell) in self.widths.iter_mut().zip(line) {
                *w = (*w).max(cell.chars().count() + 3).max(6);
            }
        }
        let text: String = lines.iter().map(|l| l.join("\t") + "\n").collect();
        tabwriter::align(&text, 6, 3)
    }

    /// One more row (a watch event) in the remembered widths.
    pub fn render_row(&mut self, row: &Value) -> String {
        let cells = self.row_cells(row);
        if self.widths.len() < cells.len() {
            self.widths.resize(cells.len(), 6);
        }
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                let w = self.widths[i].max(cell.chars().count() + 3);
                out.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
            }
        }
        out.push('\n');
        out
    }
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<none>".to_string(),
        other => other.to_string(),
    }
}

/// `k=v,k2=v2` sorted by key, or `<none>`, as kubectl prints label sets.
pub fn labels(map: &Value) -> String {
    let Some(map) = map.as_object().filter(|m| !m.is_empty()) else {
        return "<none>".to_string();
    };
    let mut pairs: Vec<String> =
        map.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
    pairs.sort();
    pairs.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wide_namespace_prefix_and_labels() {
        let table = json!({"columnDefinitions": [
            {"name": "Name", "format": "name", "priority": 0},
            {"name": "Ready", "priority": 0},
            {"name": "IP", "priority": 1}],
            "rows": [{"cells": ["web", "1/1", "10.0.0.1"],
                "object": {"metadata": {"namespace": "ns", "labels": {"b": "2", "a": "1"}}}}]});
        let mut narrow = TableLayout::new(&table, false);
        narrow.kind_prefix = Some("pod".into());
        assert_eq!(
            narrow.render(table["rows"].as_array().unwrap(), false),
            "NAME      READY\npod/web   1/1\n"
        );
        let mut wide = TableLayout::new(&table, true);
        wide.namespace = true;
        wide.labels = true;
        let text = wide.render(table["rows"].as_array().unwrap(), true);
        assert_eq!(text, "ns    web   1/1   10.0.0.1   a=1,b=2\n");
    }
}

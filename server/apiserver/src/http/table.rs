//! `meta.k8s.io/v1` Table responses: server-side printing with upstream's columns per kind.

use serde_json::{Value, json};
use wasmkube_api::ResourceDef;

/// What each row's `object` carries (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

pub fn columns(def: &ResourceDef) -> Value {
    let cols: Vec<Value> = wasmkube_printers::columns(def.group, def.kind)
        .iter()
        .map(|c| json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority}))
        .collect();
    Value::Array(cols)
}

fn row(def: &ResourceDef, obj: &Value, include: IncludeObject) -> Value {
    let cells = wasmkube_printers::cells(def.group, def.kind, obj, chrono::Utc::now());
    let object = match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Object => obj.clone(),
        IncludeObject::Metadata => {
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({}))})
        }
    };
    json!({"cells": cells, "object": object})
}

/// A Table of `objs`; `with_columns` is false for watch events after the first.
pub fn table(
    def: &ResourceDef,
    objs: &[Value],
    metadata: Value,
    include: IncludeObject,
    with_columns: bool,
) -> Value {
    let rows: Vec<Value> = objs.iter().map(|o| row(def, o, include)).collect();
    let mut t = json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "rows": rows});
    t["columnDefinitions"] = if with_columns { columns(def) } else { Value::Null };
    t
}

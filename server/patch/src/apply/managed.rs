//! `metadata.managedFields`: decoding, encoding, and the conflict report.

use super::ApplyError;
use crate::fieldset::{FieldSet, PathElement, format_path};
use serde_json::{Map, Value, json};
use std::fmt;

/// The operation that recorded a managedFields entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One `metadata.managedFields` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedEntry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub time: Option<String>,
    pub subresource: Option<String>,
    pub fields: FieldSet,
}

impl ManagedEntry {
    /// Upstream `BuildManagerIdentifier`: appliers are one manager whatever version they
    /// applied with; updaters are distinct per API version. Time never distinguishes.
    pub fn same_manager(&self, other: &ManagedEntry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == Operation::Apply || self.api_version == other.api_version)
    }

    /// Upstream `printManager`: `"name"`, `"name" with subresource "s"`, and for updaters
    /// ` using <apiVersion>`.
    pub fn describe(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            out.push_str(&format!(" with subresource {sub:?}"));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    fn decode(value: &Value) -> Result<ManagedEntry, ApplyError> {
        let bad = |what: &str| ApplyError::ManagedFields(format!("{what} in {value}"));
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let operation = match text("operation").as_deref() {
            Some("Apply") => Operation::Apply,
            Some("Update") => Operation::Update,
            _ => return Err(bad("unknown operation")),
        };
        if text("fieldsType").is_some_and(|t| t != "FieldsV1") {
            return Err(bad("unsupported fieldsType"));
        }
        let fields = match value.get("fieldsV1") {
            Some(v) => FieldSet::from_fields_v1(v).map_err(|e| bad(&e.to_string()))?,
            None => FieldSet::new(),
        };
        Ok(ManagedEntry {
            manager: text("manager").unwrap_or_default(),
            operation,
            api_version: text("apiVersion").unwrap_or_default(),
            time: text("time"),
            subresource: text("subresource").filter(|s| !s.is_empty()),
            fields,
        })
    }

    fn encode(&self) -> Value {
        let mut out = Map::new();
        out.insert("manager".into(), json!(self.manager));
        out.insert("operation".into(), json!(self.operation.as_str()));
        out.insert("apiVersion".into(), json!(self.api_version));
        if let Some(time) = &self.time {
            out.insert("time".into(), json!(time));
        }
        out.insert("fieldsType".into(), json!("FieldsV1"));
        out.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if let Some(sub) = &self.subresource {
            out.insert("subresource".into(), json!(sub));
        }
        Value::Object(out)
    }
}

/// The entries of `obj`'s `metadata.managedFields`; entries of the same manager are merged.
pub fn decode_managed_fields(obj: &Value) -> Result<Vec<ManagedEntry>, ApplyError> {
    let items = match obj.pointer("/metadata/managedFields") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(ApplyError::ManagedFields(format!("not a list: {other}"))),
    };
    let mut out: Vec<ManagedEntry> = Vec::new();
    for item in items {
        let entry = ManagedEntry::decode(item)?;
        match out.iter_mut().find(|e| e.same_manager(&entry)) {
            Some(seen) => seen.fields = seen.fields.union(&entry.fields),
            None => out.push(entry),
        }
    }
    Ok(out)
}

/// Store `entries` as `obj.metadata.managedFields`, sorted as upstream sorts them
/// (operation, time, manager, apiVersion, subresource); no entries removes the field.
pub fn store_managed_fields(obj: &mut Value, mut entries: Vec<ManagedEntry>) {
    entries.retain(|e| !e.fields.is_empty());
    entries.sort_by(|a, b| {
        (a.operation, &a.time, &a.manager, &a.api_version, &a.subresource).cmp(&(
            b.operation,
            &b.time,
            &b.manager,
            &b.api_version,
            &b.subresource,
        ))
    });
    let Some(Value::Object(meta)) = obj.get_mut("metadata") else {
        return;
    };
    if entries.is_empty() {
        meta.shift_remove("managedFields");
    } else {
        let list = entries.iter().map(ManagedEntry::encode).collect();
        meta.insert("managedFields".into(), Value::Array(list));
    }
}

/// One field that another manager owns and an apply would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager's name.
    pub manager: String,
    /// How upstream names that manager: `"kubectl-client-side-apply" using apps/v1`.
    pub manager_description: String,
    /// The field, e.g. `.spec.replicas`.
    pub field_path: String,
}

impl Conflict {
    pub(crate) fn new(owner: &ManagedEntry, path: &[PathElement]) -> Self {
        Conflict {
            manager: owner.manager.clone(),
            manager_description: owner.describe(),
            field_path: format_path(path),
        }
    }

    /// The message of the `FieldManagerConflict` status cause (its `field` is
    /// [`Conflict::field_path`]).
    pub fn cause_message(&self) -> String {
        format!("conflict with {}", self.manager_description)
    }
}

impl fmt::Display for Conflict {
    /// Upstream `Conflict.Error()`: `conflict with "m" using apps/v1: .spec.replicas`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.cause_message(), self.field_path)
    }
}

/// Upstream `getConflictMessage`, the 409 Conflict status message.
pub(crate) struct ConflictsMessage<'a>(pub &'a [Conflict]);

impl fmt::Display for ConflictsMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = self.0 {
            return write!(f, "Apply failed with 1 conflict: {only}");
        }
        let mut managers: Vec<&str> = self.0.iter().map(|c| c.manager_description.as_str()).collect();
        managers.sort_unstable();
        managers.dedup();
        let mut lines = Vec::new();
        for manager in managers {
            lines.push(format!("conflicts with {manager}:"));
            for c in self.0.iter().filter(|c| c.manager_description == manager) {
                lines.push(format!("- {}", c.field_path));
            }
        }
        write!(f, "Apply failed with {} conflicts: {}", self.0.len(), lines.join("\n"))
    }
}

//! Sets of field paths, the currency of server-side apply ownership, and their wire form
//! `FieldsV1` (as in `metadata.managedFields[].fieldsV1`).
//!
//! A path is a list of [`PathElement`]s: `f:<name>` for a map key or struct field,
//! `k:{..}` for a list-map item (its key fields, as canonical JSON), `v:<json>` for a set
//! item, `i:<n>` for a positional item. A set is a trie, as upstream structured-merge-diff
//! keeps it: each node has *members* (paths that end here) and *children*. In `FieldsV1`,
//! a member is `{}`, a child is its own object, and a path that is both carries `".": {}`.

mod walk;

pub(crate) use walk::json_equal;
pub use walk::{Comparison, compare, field_set, item_element};

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Why a field set could not be built or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldSetError {
    #[error("invalid fieldsV1: {0}")]
    InvalidFieldsV1(String),
    #[error("{path}: associative list with keys has an element that omits key field {key:?}")]
    MissingKey { path: String, key: String },
    #[error("{0}: expected an object in an associative list")]
    NotAnObject(String),
}

/// One step of a field path. The derived order (fields, then keys, values, indexes) is the
/// order upstream serializes them in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A struct field or map key.
    Field(String),
    /// A list-map item, by the canonical JSON object of its key fields.
    Key(String),
    /// A set item, by its canonical JSON value.
    Value(String),
    /// A list item by position (never produced here; accepted when decoding).
    Index(usize),
}

impl PathElement {
    /// A `Key` element from key fields; `fields` must already be sorted by name.
    pub fn key(fields: Map<String, Value>) -> Self {
        PathElement::Key(Value::Object(fields).to_string())
    }

    /// A `Value` element for a set item.
    pub fn value(item: &Value) -> Self {
        PathElement::Value(canonical(item))
    }

    fn encode(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(json) => format!("k:{json}"),
            PathElement::Value(json) => format!("v:{json}"),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    fn decode(text: &str) -> Result<Self, FieldSetError> {
        let bad = || FieldSetError::InvalidFieldsV1(format!("bad path element {text:?}"));
        let (tag, rest) = text.split_once(':').ok_or_else(bad)?;
        match tag {
            "f" => Ok(PathElement::Field(rest.to_owned())),
            "k" | "v" => {
                let json: Value = serde_json::from_str(rest).map_err(|_| bad())?;
                if tag == "k" && !json.is_object() {
                    return Err(bad());
                }
                let canon = canonical(&json);
                Ok(if tag == "k" { PathElement::Key(canon) } else { PathElement::Value(canon) })
            }
            "i" => rest.parse().map(PathElement::Index).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for PathElement {
    /// Upstream `PathElement.String()`: `.name`, `[k1=v1,k2="v2"]`, `[="v"]`, `[0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(json) => {
                let fields: Map<String, Value> = serde_json::from_str(json).unwrap_or_default();
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(json) => write!(f, "[={json}]"),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path as upstream prints it in conflict messages, e.g. `.spec.containers[name="a"].image`.
pub fn format_path(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// JSON text with object keys sorted, so equal values give equal path elements.
pub fn canonical(value: &Value) -> String {
    fn sort(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), sort(&map[k]))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(value).to_string()
}

/// A set of field paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no path is in the set (empty children are never kept).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    /// Add one path; the empty path is ignored.
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether `path` itself is in the set (not merely a prefix of a path in it).
    pub fn contains(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.contains(rest)),
        }
    }

    /// Whether `element` is a member of this node.
    pub fn has_member(&self, element: &PathElement) -> bool {
        self.members.contains(element)
    }

    /// The subtree under `element`, if any path continues through it.
    pub fn child(&self, element: &PathElement) -> Option<&FieldSet> {
        self.children.get(element)
    }

    pub(crate) fn members(&self) -> impl Iterator<Item = &PathElement> {
        self.members.iter()
    }

    pub(crate) fn children(&self) -> impl Iterator<Item = (&PathElement, &FieldSet)> {
        self.children.iter()
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, child) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.intersection(&other.members).cloned().collect();
        for (pe, child) in &self.children {
            if let Some(theirs) = other.children.get(pe) {
                let both = child.intersection(theirs);
                if !both.is_empty() {
                    out.children.insert(pe.clone(), both);
                }
            }
        }
        out
    }

    /// Paths of `self` that are not paths of `other` (prefixes do not count).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.difference(&other.members).cloned().collect();
        for (pe, child) in &self.children {
            let rest = match other.children.get(pe) {
                Some(theirs) => child.difference(theirs),
                None => child.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(pe.clone(), rest);
            }
        }
        out
    }

    /// Remove `path` and every path below it.
    pub fn remove_subtree(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.remove(last);
                self.children.remove(last);
            }
            [first, rest @ ..] => {
                if let Some(child) = self.children.get_mut(first) {
                    child.remove_subtree(rest);
                    if child.is_empty() {
                        self.children.remove(first);
                    }
                }
            }
        }
    }

    /// Keep only `path` and the paths below it.
    pub fn only_subtree(&self, element: &PathElement) -> FieldSet {
        let mut out = FieldSet::new();
        if self.members.contains(element) {
            out.members.insert(element.clone());
        }
        if let Some(child) = self.children.get(element) {
            out.children.insert(element.clone(), child.clone());
        }
        out
    }

    /// Every path in the set, in serialization order.
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        let keys: BTreeSet<&PathElement> = self.members.iter().chain(self.children.keys()).collect();
        for pe in keys {
            prefix.push(pe.clone());
            if self.members.contains(pe) {
                out.push(prefix.clone());
            }
            if let Some(child) = self.children.get(pe) {
                child.collect_paths(prefix, out);
            }
            prefix.pop();
        }
    }

    /// The `FieldsV1` JSON of this set.
    pub fn to_fields_v1(&self) -> Value {
        let keys: BTreeSet<&PathElement> = self.members.iter().chain(self.children.keys()).collect();
        let mut out = Map::new();
        for pe in keys {
            let mut node = match self.children.get(pe) {
                Some(child) => child.to_fields_v1(),
                None => Value::Object(Map::new()),
            };
            if self.children.contains_key(pe)
                && self.members.contains(pe)
                && let Value::Object(map) = &mut node
            {
                let mut with_dot = Map::new();
                with_dot.insert(".".into(), Value::Object(Map::new()));
                with_dot.extend(std::mem::take(map));
                *map = with_dot;
            }
            out.insert(pe.encode(), node);
        }
        Value::Object(out)
    }

    /// Decode `FieldsV1` JSON.
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, FieldSetError> {
        let Value::Object(map) = value else {
            return Err(FieldSetError::InvalidFieldsV1("expected an object".into()));
        };
        let mut out = FieldSet::new();
        for (key, node) in map {
            if key == "." {
                continue;
            }
            let pe = PathElement::decode(key)?;
            let Value::Object(inner) = node else {
                return Err(FieldSetError::InvalidFieldsV1(format!("{key} is not an object")));
            };
            let child = FieldSet::from_fields_v1(node)?;
            if inner.is_empty() || inner.contains_key(".") {
                out.members.insert(pe.clone());
            }
            if !child.is_empty() {
                out.children.insert(pe, child);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;

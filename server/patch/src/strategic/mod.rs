//! Strategic merge patch (`application/strategic-merge-patch+json`), the server half of
//! upstream `k8s.io/apimachinery/pkg/util/strategicpatch` (`StrategicMergePatch`).
//!
//! kubectl computes these patches for `apply`, `patch`, `set image`, `rollout restart` and
//! `cordon`; the Python client sends one for any dict body. The semantics, per upstream:
//! - `null` deletes a key; maps merge recursively; scalars are replaced.
//! - lists follow the field's strategy from the [schema](crate::schema): merge lists of
//!   objects by their merge key (merging matched items recursively), union merge lists of
//!   scalars, replace every other list.
//! - directives: `$patch: replace|delete|merge` in a map or as a merge-list item,
//!   `$retainKeys`, `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`.
//!
//! Where upstream would let a directive through into the stored object (a `$patch` map in a
//! brand-new list item, say), we process or drop it instead: directives never reach the
//! result. Any other key starting with `$` that the type does not declare is rejected.

mod list;
mod order;

use crate::schema::TypeRef;
use serde_json::{Map, Value};

pub(crate) type Object = Map<String, Value>;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Why a strategic merge patch could not be applied; the API server answers 400 or 422.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("invalid JSON document: the {0} must be a JSON object")]
    NotAnObject(&'static str),
    #[error("unknown patch type: {directive} in map: {map}")]
    BadPatchType { directive: String, map: String },
    #[error("map: {map} does not contain declared merge key: {key}")]
    NoMergeKey { map: String, key: String },
    #[error("cannot merge lists without merge key for {0}")]
    NoMergeKeyDeclared(String),
    #[error("invalid patch format of retainKeys: {0}")]
    BadRetainKeys(String),
    #[error("invalid patch format of setElementOrder list: {0}")]
    BadSetElementOrder(String),
    #[error("invalid patch format of primitive list: {0}")]
    BadPrimitiveList(String),
    #[error("lists of lists are not supported")]
    ListOfLists,
    #[error("list element types are not identical: {0}")]
    MixedList(String),
    #[error("expected a {expected} for {field}, but received a {got}")]
    BadArgType { field: String, expected: &'static str, got: &'static str },
    #[error("unknown directive {0:?}")]
    UnknownDirective(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Apply `patch` to `original` (both JSON objects) with the metadata of `root`.
///
/// Returns the patched object; `original` is untouched so a failed patch changes nothing.
pub fn strategic_merge(original: &Value, patch: &Value, root: TypeRef) -> Result<Value> {
    let original = match original {
        Value::Object(map) => map.clone(),
        Value::Null => Object::new(),
        _ => return Err(Error::NotAnObject("original")),
    };
    let Value::Object(patch) = patch else {
        return Err(Error::NotAnObject("patch"));
    };
    merge_map(original, patch.clone(), root).map(Value::Object)
}

/// Merge one patch map into one original map (upstream `mergeMap`).
pub(crate) fn merge_map(mut original: Object, mut patch: Object, ty: TypeRef) -> Result<Object> {
    if let Some(directive) = patch.shift_remove(DIRECTIVE) {
        match directive.as_str() {
            // A replaced map still gets its nested directives processed, so they never leak.
            Some("replace") => return merge_map(Object::new(), patch, ty),
            Some("delete") => return Ok(Object::new()),
            Some("merge") => {}
            _ => return Err(bad_patch_type(&directive, &patch)),
        }
    }
    apply_retain_keys(&mut original, &mut patch)?;
    order::merge_set_element_order(&mut original, &mut patch, ty)?;
    for (key, value) in patch {
        merge_entry(&mut original, key, value, ty)?;
    }
    Ok(original)
}

fn merge_entry(original: &mut Object, key: String, value: Value, ty: TypeRef) -> Result<()> {
    if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
        return list::delete_from_primitive_list(original, field, value);
    }
    if key.starts_with('$') && !ty.declares(&key) {
        return Err(Error::UnknownDirective(key));
    }
    if value.is_null() {
        original.shift_remove(&key);
        return Ok(());
    }
    let child = ty.child(&key);
    // Replace in place rather than remove + insert, to keep the object's key order.
    let old = original.get_mut(&key).map(std::mem::take);
    let merged = match (old, value) {
        (Some(Value::Object(o)), Value::Object(p)) => Some(Value::Object(merge_map(o, p, child)?)),
        (Some(Value::Array(o)), Value::Array(p)) => Some(Value::Array(list::merge_list(o, p, child)?)),
        (_, value) => fresh(value, child)?,
    };
    match merged {
        Some(value) => {
            original.insert(key, value);
        }
        None => {
            original.shift_remove(&key);
        }
    }
    Ok(())
}

/// A patch value for a key the original lacks (or holds with another JSON type): it is
/// merged into nothing, which drops nulls and consumes directives. `None` means "omit the
/// key", for a `$patch: delete` map (upstream `removeDirectives`).
pub(crate) fn fresh(value: Value, ty: TypeRef) -> Result<Option<Value>> {
    match value {
        Value::Object(map) => {
            if map.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
                return Ok(None);
            }
            Ok(Some(Value::Object(merge_map(Object::new(), map, ty)?)))
        }
        Value::Array(items) => Ok(Some(Value::Array(list::merge_list(Vec::new(), items, ty)?))),
        other => Ok(Some(other)),
    }
}

/// `$retainKeys`: after the merge only the listed keys survive in the original, and the
/// patch may not set a key outside the list (upstream `applyRetainKeysDirective`).
fn apply_retain_keys(original: &mut Object, patch: &mut Object) -> Result<()> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(list) = retain else {
        return Err(Error::BadRetainKeys(format!("{retain} is not a list")));
    };
    let keys: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    if keys.len() != list.len() {
        return Err(Error::BadRetainKeys("keys must be strings".into()));
    }
    for (key, value) in patch.iter() {
        let directive = key.starts_with(SET_ELEMENT_ORDER) || key.starts_with(DELETE_FROM_PRIMITIVE_LIST);
        if !value.is_null() && !directive && !keys.contains(&key.as_str()) {
            return Err(Error::BadRetainKeys(format!("{key} is not in {list:?}")));
        }
    }
    original.retain(|key, _| keys.contains(&key.as_str()));
    Ok(())
}

fn bad_patch_type(directive: &Value, map: &Object) -> Error {
    Error::BadPatchType { directive: directive.to_string(), map: Value::Object(map.clone()).to_string() }
}

/// Go's `==` on decoded JSON scalars: all numbers are float64 there, so `1` equals `1.0`.
///
/// A string also equals a boolean or number with the same text: the API server stores an
/// unquoted YAML 1.1 scalar that reached a string field (`name: Y` arrives from kubectl as
/// `true`) as its text, while kubectl keeps computing patches from its own `true`.
pub(crate) fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::String(s), Value::Bool(_) | Value::Number(_))
        | (Value::Bool(_) | Value::Number(_), Value::String(s)) => {
            let other = if a.is_string() { b } else { a };
            s.as_str() == other.to_string().as_str()
        }
        _ => a == b,
    }
}

/// The JSON type name, for error messages.
pub(crate) fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// The merge-key value of one list item, or the upstream "no merge key" error.
fn merge_key_of<'v>(item: &'v Value, key: &str) -> Result<&'v Value> {
    item.get(key).ok_or_else(|| Error::NoMergeKey { map: item.to_string(), key: key.to_owned() })
}

/// Whether a list item carries a `$patch` directive.
fn has_directive(item: &Value) -> bool {
    item.get(DIRECTIVE).is_some()
}

/// Whether a list item is a `{"$patch": "delete", <key>: ...}` marker.
fn is_delete_item(item: &Value) -> bool {
    item.get(DIRECTIVE).and_then(Value::as_str) == Some("delete")
}

#[cfg(test)]
mod tests;

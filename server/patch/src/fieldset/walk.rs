//! Walk JSON values along the schema: the field set an object sets, and what changed
//! between two objects (upstream structured-merge-diff `ToFieldSet` and `Compare`).

use super::{FieldSet, FieldSetError, PathElement, format_path};
use crate::schema::{ListType, MapKey, TypeRef};
use crate::strategic::scalar_eq;
use serde_json::{Map, Value};

type Path = Vec<PathElement>;

/// The fields `value` sets: every leaf, every list-map or set item, every empty or null
/// value, and every map key that is not a declared struct field (upstream `ToFieldSet`).
pub fn field_set(value: &Value, ty: TypeRef) -> Result<FieldSet, FieldSetError> {
    let mut set = FieldSet::new();
    match value {
        Value::Object(map) => walk_map(map, ty, &mut Vec::new(), &mut set)?,
        _ => return Err(FieldSetError::NotAnObject("the object".into())),
    }
    Ok(set)
}

fn walk_value(value: &Value, ty: TypeRef, path: &mut Path, set: &mut FieldSet) -> Result<(), FieldSetError> {
    match value {
        Value::Object(map) if !ty.is_atomic_object() => walk_map(map, ty, path, set),
        Value::Array(items) => walk_list(items, ty, path, set),
        _ => {
            set.insert(path);
            Ok(())
        }
    }
}

fn walk_map(
    map: &Map<String, Value>,
    ty: TypeRef,
    path: &mut Path,
    set: &mut FieldSet,
) -> Result<(), FieldSetError> {
    for (key, value) in map {
        path.push(PathElement::Field(key.clone()));
        walk_value(value, ty.child(key), path, set)?;
        let empty = value.is_null() || value.as_object().is_some_and(Map::is_empty);
        if empty || !ty.declares(key) {
            set.insert(path);
        }
        path.pop();
    }
    Ok(())
}

fn walk_list(items: &[Value], ty: TypeRef, path: &mut Path, set: &mut FieldSet) -> Result<(), FieldSetError> {
    let list_type = ty.list_type();
    if list_type == ListType::Atomic {
        set.insert(path);
        return Ok(());
    }
    for item in items {
        path.push(item_element(item, list_type, path)?);
        if matches!(list_type, ListType::Map(_)) {
            walk_value(item, ty.item(), path, set)?;
        }
        set.insert(path);
        path.pop();
    }
    Ok(())
}

/// The path element naming `item` in a list of type `list_type` (`path` is for errors).
pub fn item_element(
    item: &Value,
    list_type: ListType,
    path: &[PathElement],
) -> Result<PathElement, FieldSetError> {
    match list_type {
        ListType::Map(keys) => key_element(item, keys, path),
        ListType::Set | ListType::Atomic => Ok(PathElement::value(item)),
    }
}

fn key_element(item: &Value, keys: &[MapKey], path: &[PathElement]) -> Result<PathElement, FieldSetError> {
    let Value::Object(map) = item else {
        return Err(FieldSetError::NotAnObject(format_path(path)));
    };
    let mut sorted: Vec<&MapKey> = keys.iter().collect();
    sorted.sort_by_key(|k| k.name);
    let mut fields = Map::new();
    for key in sorted {
        let value = match (map.get(key.name), key.default) {
            (Some(value), _) => value.clone(),
            (None, Some(default)) => Value::String(default.to_owned()),
            (None, None) => {
                return Err(FieldSetError::MissingKey { path: format_path(path), key: key.name.to_owned() });
            }
        };
        fields.insert(key.name.to_owned(), value);
    }
    Ok(PathElement::key(fields))
}

/// What changed from one object to another, as field sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Leaves (or atomic values) present on both sides with different values.
    pub modified: FieldSet,
    /// Paths only the new object has, with everything below them.
    pub added: FieldSet,
    /// Paths only the old object has, with everything below them.
    pub removed: FieldSet,
}

/// Compare two objects of type `ty` (upstream `TypedValue.Compare`).
pub fn compare(old: &Value, new: &Value, ty: TypeRef) -> Result<Comparison, FieldSetError> {
    let mut out = Comparison::default();
    compare_at(Some(old), Some(new), ty, &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn compare_at(
    old: Option<&Value>,
    new: Option<&Value>,
    ty: TypeRef,
    path: &mut Path,
    out: &mut Comparison,
) -> Result<(), FieldSetError> {
    match (old, new) {
        (None, None) => Ok(()),
        (None, Some(new)) => mark(new, ty, path, &mut out.added),
        (Some(old), None) => mark(old, ty, path, &mut out.removed),
        (Some(Value::Object(o)), Some(Value::Object(n))) if !ty.is_atomic_object() => {
            for key in o.keys().chain(n.keys().filter(|k| !o.contains_key(*k))) {
                path.push(PathElement::Field(key.clone()));
                compare_at(o.get(key), n.get(key), ty.child(key), path, out)?;
                path.pop();
            }
            Ok(())
        }
        (Some(Value::Array(o)), Some(Value::Array(n))) if ty.list_type() != ListType::Atomic => {
            compare_lists(o, n, ty, path, out)
        }
        (Some(old), Some(new)) => {
            if !json_equal(old, new) {
                out.modified.insert(path);
            }
            Ok(())
        }
    }
}

fn compare_lists(
    old: &[Value],
    new: &[Value],
    ty: TypeRef,
    path: &mut Path,
    out: &mut Comparison,
) -> Result<(), FieldSetError> {
    let list_type = ty.list_type();
    let old_items = keyed(old, list_type, path)?;
    let new_items = keyed(new, list_type, path)?;
    for (pe, old_item) in &old_items {
        path.push(pe.clone());
        compare_at(Some(old_item), find(&new_items, pe), ty.item(), path, out)?;
        path.pop();
    }
    for (pe, new_item) in &new_items {
        if find(&old_items, pe).is_none() {
            path.push(pe.clone());
            mark(new_item, ty.item(), path, &mut out.added)?;
            path.pop();
        }
    }
    Ok(())
}

fn find<'v>(items: &[(PathElement, &'v Value)], pe: &PathElement) -> Option<&'v Value> {
    items.iter().find(|(k, _)| k == pe).map(|(_, v)| *v)
}

fn keyed<'v>(
    items: &'v [Value],
    list_type: ListType,
    path: &[PathElement],
) -> Result<Vec<(PathElement, &'v Value)>, FieldSetError> {
    items.iter().map(|item| Ok((item_element(item, list_type, path)?, item))).collect()
}

/// Insert `path` and every path of `value` below it.
fn mark(value: &Value, ty: TypeRef, path: &mut Path, set: &mut FieldSet) -> Result<(), FieldSetError> {
    set.insert(path);
    walk_value(value, ty, path, set)
}

/// Deep JSON equality where numbers compare as Go's float64 would (`1 == 1.0`).
pub(crate) fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_equal(v, w))
        }
        _ => scalar_eq(a, b),
    }
}

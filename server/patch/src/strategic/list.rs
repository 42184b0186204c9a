//! Lists in a strategic merge patch: replace, merge by key, union of scalars, and the
//! list-level directives (`$patch` items, `$deleteFromPrimitiveList`).

use super::{
    DIRECTIVE, Error, Object, Result, fresh, is_delete_item, kind_name, merge_key_of, merge_map, order,
    scalar_eq,
};
use crate::schema::{ListStrategy, TypeRef};
use serde_json::Value;

/// Merge `patch` into `original` for a list whose schema is `ty` (upstream
/// `mergeSliceHandler`): lists without the merge strategy are replaced by the patch.
pub(super) fn merge_list(original: Vec<Value>, patch: Vec<Value>, ty: TypeRef) -> Result<Vec<Value>> {
    match ty.list_strategy() {
        ListStrategy::Replace => replace_list(patch, ty.item()),
        ListStrategy::Merge { key } => merge_slice(original, patch, ty.item(), key),
    }
}

/// The patch's list, each item cleaned of directives like any new value.
fn replace_list(patch: Vec<Value>, elem: TypeRef) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(patch.len());
    for item in patch {
        out.extend(fresh(item, elem)?);
    }
    Ok(out)
}

/// Upstream `mergeSlice`: merge, then restore a stable order (patch order for the items the
/// patch names, live order for the rest, interleaved as in the live list).
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    elem: TypeRef,
    key: Option<&'static str>,
) -> Result<Vec<Value>> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    if !elements_are_objects(&original, &patch)? {
        return merge_scalars(original, patch);
    }
    let key = key.ok_or_else(|| Error::NoMergeKeyDeclared("a list of maps".into()))?;
    let (original, patch) = apply_special_items(original, patch, key, elem)?;
    let server_order = original.clone();
    let merged = merge_by_key(original, &patch, key, elem)?;
    let (in_patch, server_only) = partition(merged, &patch, Some(key))?;
    order::normalize(in_patch, server_only, &patch, &server_order, Some(key))
}

/// A merge list of scalars (e.g. `finalizers`): the union, without duplicates.
fn merge_scalars(original: Vec<Value>, patch: Vec<Value>) -> Result<Vec<Value>> {
    let server_order = original.clone();
    let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
    for item in original.into_iter().chain(patch.iter().cloned()) {
        if !merged.iter().any(|m| scalar_eq(m, &item)) {
            merged.push(item);
        }
    }
    let (in_patch, server_only) = partition(merged, &patch, None)?;
    order::normalize(in_patch, server_only, &patch, &server_order, None)
}

/// Upstream `sliceElementType`: every element of both lists has the same JSON type, and
/// lists of lists are refused. Returns whether the elements are maps.
fn elements_are_objects(original: &[Value], patch: &[Value]) -> Result<bool> {
    let mut first: Option<&'static str> = None;
    for item in original.iter().chain(patch) {
        let kind = kind_name(item);
        if kind == "list" {
            return Err(Error::ListOfLists);
        }
        match first {
            None => first = Some(kind),
            Some(seen) if seen != kind => {
                return Err(Error::MixedList(format!("{original:?} and {patch:?}")));
            }
            Some(_) => {}
        }
    }
    Ok(first == Some("map"))
}

/// Upstream `mergeSliceWithSpecialElements`: `{"$patch":"delete", key: v}` removes the
/// matching live items, `{"$patch":"replace"}` makes the patch's other items the whole list.
/// Returns the (possibly reduced) original and the patch without directive items.
fn apply_special_items(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    elem: TypeRef,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut kept = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Some(directive) = item.get(DIRECTIVE) else {
            kept.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let doomed = merge_key_of(&item, key)?;
                original.retain(|o| !o.get(key).is_some_and(|v| scalar_eq(v, doomed)));
            }
            Some("replace") => replace = true,
            // Merging is what a merge list does anyway; upstream refuses the no-op.
            Some("merge") => {}
            _ => {
                return Err(Error::BadPatchType { directive: directive.to_string(), map: item.to_string() });
            }
        }
    }
    if replace {
        return Ok((replace_list(kept, elem)?, Vec::new()));
    }
    Ok((original, kept))
}

/// Upstream `mergeSliceWithoutSpecialElements`: items with a live twin (same merge-key
/// value) are merged into it, the others are appended.
fn merge_by_key(mut merged: Vec<Value>, patch: &[Value], key: &str, elem: TypeRef) -> Result<Vec<Value>> {
    for item in patch {
        let wanted = merge_key_of(item, key)?;
        let twin = merged.iter().position(|o| o.get(key).is_some_and(|v| scalar_eq(v, wanted)));
        match (twin, item) {
            (Some(i), Value::Object(patch_map)) => {
                let live = match std::mem::take(&mut merged[i]) {
                    Value::Object(map) => map,
                    _ => Object::new(),
                };
                merged[i] = Value::Object(merge_map(live, patch_map.clone(), elem)?);
            }
            _ => merged.extend(fresh(item.clone(), elem)?),
        }
    }
    Ok(merged)
}

/// Split `items` into those `by` names (by merge key, or by value for scalars) and the rest.
pub(super) fn partition(
    items: Vec<Value>,
    by: &[Value],
    key: Option<&str>,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut named = Vec::new();
    let mut rest = Vec::new();
    for item in items {
        let found = match key {
            Some(key) => {
                let wanted = merge_key_of(&item, key)?;
                by.iter().any(|b| b.get(key).is_some_and(|v| scalar_eq(v, wanted)))
            }
            None => by.iter().any(|b| scalar_eq(b, &item)),
        };
        if found { named.push(item) } else { rest.push(item) }
    }
    Ok((named, rest))
}

/// `$deleteFromPrimitiveList/<field>: [..]` removes those values from a scalar list.
pub(super) fn delete_from_primitive_list(original: &mut Object, field: &str, value: Value) -> Result<()> {
    let doomed = match value {
        Value::Array(items) => items,
        // Upstream strips the prefix before looking at the value, so null deletes the field.
        Value::Null => {
            original.shift_remove(field);
            return Ok(());
        }
        other => return Err(Error::BadPrimitiveList(format!("{field}: {other}"))),
    };
    if doomed.iter().any(|d| d.is_object() || d.is_array()) {
        return Err(Error::BadPrimitiveList(format!("{field}: values must be scalars")));
    }
    if let Some(Value::Array(list)) = original.get_mut(field) {
        list.retain(|v| !doomed.iter().any(|d| scalar_eq(v, d)));
    }
    Ok(())
}

/// Split a patch list into ordinary items and `$patch: delete` items (the order check
/// ignores the latter).
pub(super) fn split_deletes(list: &[Value]) -> (Vec<&Value>, Vec<&Value>) {
    list.iter().partition(|item| !is_delete_item(item))
}

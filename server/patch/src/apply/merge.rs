//! Structured merge of an applied configuration into the live object, and the pruning of
//! fields an applier stopped setting (upstream structured-merge-diff `Merge`, `prune`).

use crate::fieldset::{FieldSet, FieldSetError, PathElement, item_element};
use crate::schema::{ListType, TypeRef};
use serde_json::{Map, Value};

/// Merge `config` into `live`: maps merge, list-map items merge by key, sets union, atomic
/// values are replaced. A `null` in the config removes the field (upstream stores null and
/// the typed decode drops it).
pub(super) fn merge(live: &Value, config: &Value, ty: TypeRef) -> Result<Value, FieldSetError> {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) if !ty.is_atomic_object() => {
            let mut out = l.clone();
            for (key, value) in c {
                if value.is_null() {
                    out.shift_remove(key);
                    continue;
                }
                let merged = match l.get(key) {
                    Some(old) => merge(old, value, ty.child(key))?,
                    None => without_nulls(value),
                };
                out.insert(key.clone(), merged);
            }
            Ok(Value::Object(out))
        }
        (Value::Array(l), Value::Array(c)) if ty.list_type() != ListType::Atomic => {
            merge_items(l, c, ty).map(Value::Array)
        }
        _ => Ok(without_nulls(config)),
    }
}

/// Merge two associative lists. Live-only items keep their place; config items come in
/// config order, each merged into its live twin.
fn merge_items(live: &[Value], config: &[Value], ty: TypeRef) -> Result<Vec<Value>, FieldSetError> {
    let list_type = ty.list_type();
    let live_keys = elements(live, list_type)?;
    let config_keys = elements(config, list_type)?;
    let mut used = vec![false; live.len()];
    let mut out = Vec::with_capacity(live.len() + config.len());
    let (mut li, mut ci) = (0, 0);
    while li < live.len() || ci < config.len() {
        if li < live.len() && (used[li] || !config_keys.contains(&live_keys[li])) {
            if !used[li] {
                out.push(live[li].clone());
                used[li] = true;
            }
            li += 1;
            continue;
        }
        if ci < config.len() {
            let twin = (0..live.len()).find(|&j| !used[j] && live_keys[j] == config_keys[ci]);
            out.push(match twin {
                Some(j) => {
                    used[j] = true;
                    merge(&live[j], &config[ci], ty.item())?
                }
                None => without_nulls(&config[ci]),
            });
            ci += 1;
        } else {
            li += 1;
        }
    }
    Ok(out)
}

fn elements(items: &[Value], list_type: ListType) -> Result<Vec<PathElement>, FieldSetError> {
    items.iter().map(|item| item_element(item, list_type, &[])).collect()
}

fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Remove from `value` every path in `doomed`. A map or list left empty by the removal is
/// removed as well unless some manager (`owned`) owns it, so dropping the last field of
/// `rollingUpdate` does not leave `rollingUpdate: {}` behind.
pub(super) fn prune(
    value: &mut Value,
    doomed: &FieldSet,
    owned: Option<&FieldSet>,
    ty: TypeRef,
) -> Result<(), FieldSetError> {
    match value {
        Value::Object(map) => prune_map(map, doomed, owned, ty),
        Value::Array(items) if ty.list_type() != ListType::Atomic => prune_list(items, doomed, owned, ty),
        _ => Ok(()),
    }
}

fn prune_map(
    map: &mut Map<String, Value>,
    doomed: &FieldSet,
    owned: Option<&FieldSet>,
    ty: TypeRef,
) -> Result<(), FieldSetError> {
    for pe in doomed.members() {
        if let PathElement::Field(key) = pe {
            map.shift_remove(key);
        }
    }
    for (pe, below) in doomed.children() {
        let PathElement::Field(key) = pe else {
            continue;
        };
        let Some(child) = map.get_mut(key) else {
            continue;
        };
        let was_empty = is_empty_container(child);
        prune(child, below, owned.and_then(|o| o.child(pe)), ty.child(key))?;
        let kept = owned.is_some_and(|o| o.has_member(pe));
        if !was_empty && is_empty_container(child) && !kept {
            map.shift_remove(key);
        }
    }
    Ok(())
}

fn prune_list(
    items: &mut Vec<Value>,
    doomed: &FieldSet,
    owned: Option<&FieldSet>,
    ty: TypeRef,
) -> Result<(), FieldSetError> {
    let list_type = ty.list_type();
    let mut keep = Vec::with_capacity(items.len());
    for mut item in std::mem::take(items) {
        let pe = item_element(&item, list_type, &[])?;
        if doomed.has_member(&pe) {
            continue;
        }
        if let Some(below) = doomed.child(&pe) {
            prune(&mut item, below, owned.and_then(|o| o.child(&pe)), ty.item())?;
        }
        keep.push(item);
    }
    *items = keep;
    Ok(())
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

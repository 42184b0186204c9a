//! Small accessors over `serde_json::Value` in Kubernetes wire form.
//!
//! Go's zero values matter upstream: an absent string is `""`, an absent list
//! is empty. These helpers encode that so rule code can read like upstream's
//! (`len(spec.Containers) == 0`) without `Option` noise. JSON `null` is
//! treated exactly like an absent field, as Go's decoder does.

use serde_json::{Map, Value};

/// The field's value unless absent or `null`.
pub fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// Whether the field is present and not `null`.
pub fn has(v: &Value, key: &str) -> bool {
    get(v, key).is_some()
}

/// The string field, or `""` (Go's zero value) when absent or not a string.
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The list field, or an empty slice.
pub fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The object field when present.
pub fn obj<'a>(v: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    v.get(key).and_then(Value::as_object)
}

/// The integer field when present (floats with no fraction count as integers).
pub fn int(v: &Value, key: &str) -> Option<i64> {
    let x = get(v, key)?;
    x.as_i64().or_else(|| x.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18).map(|f| f as i64))
}

/// The integer field, or 0 (Go's zero value).
pub fn int0(v: &Value, key: &str) -> i64 {
    int(v, key).unwrap_or(0)
}

/// The boolean field when present.
pub fn boolean(v: &Value, key: &str) -> Option<bool> {
    get(v, key).and_then(Value::as_bool)
}

/// A `[]string` field.
pub fn strings(v: &Value, key: &str) -> Vec<String> {
    arr(v, key).iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()
}

/// The object field, created as `{}` when absent or `null`. `v` must be an
/// object (callers only descend into objects).
pub fn ensure_obj<'a>(v: &'a mut Value, key: &str) -> &'a mut Value {
    let map = as_map(v);
    let slot = map.entry(key.to_owned()).or_insert(Value::Null);
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot
}

/// Sets `key` to `default` when it is absent or `null` (defaulting semantics:
/// a value the user gave, even a zero one, is kept).
pub fn set_default(v: &mut Value, key: &str, default: Value) {
    if let Value::Object(map) = v {
        let slot = map.entry(key.to_owned()).or_insert(Value::Null);
        if slot.is_null() {
            *slot = default;
        }
    }
}

/// Sets `key` to `default` when it is absent, `null` or Go's zero value
/// (`""`, `0`). Upstream's non-pointer fields cannot tell "unset" from zero.
pub fn set_default_nonzero(v: &mut Value, key: &str, default: Value) {
    if let Value::Object(map) = v {
        let slot = map.entry(key.to_owned()).or_insert(Value::Null);
        let zero = match slot {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Number(n) => n.as_f64() == Some(0.0),
            _ => false,
        };
        if zero {
            *slot = default;
        }
    }
}

/// Applies `f` to every element of the list field `key`, if any.
pub fn each_mut(v: &mut Value, key: &str, mut f: impl FnMut(&mut Value)) {
    if let Some(Value::Array(items)) = v.get_mut(key) {
        items.iter_mut().for_each(&mut f);
    }
}

/// The field for in-place editing when it is present and an object.
pub fn child_mut<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    v.get_mut(key).filter(|x| x.is_object())
}

fn as_map(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(map) => map,
        _ => unreachable!("just replaced with an object"),
    }
}

//! Forgiving reads from a JSON object tree.
//!
//! Upstream prints typed Go structs, so a missing field is simply its zero value. Our store holds
//! raw JSON that may be partial or even wrongly typed, and a table request must never fail or panic
//! because of it. [`Field`] gives every printer the same rule: a path that is absent, `null` or of
//! the wrong type reads as the Go zero value (`""`, `0`, `false`, empty list), which is exactly
//! what upstream would have printed for an object that lacked the field.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Seconds from the Unix epoch to Go's zero `time.Time`, 0001-01-01T00:00:00Z.
const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;

/// A possibly-missing position inside a JSON document.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field<'a>(Option<&'a Value>);

impl<'a> Field<'a> {
    pub(crate) fn new(value: &'a Value) -> Self {
        Field(Some(value))
    }

    /// The member `key`; missing when this is not an object.
    pub(crate) fn get(self, key: &str) -> Self {
        Field(self.0.and_then(|v| v.as_object()).and_then(|m| m.get(key)))
    }

    pub(crate) fn path(self, keys: &[&str]) -> Self {
        keys.iter().fold(self, |field, key| field.get(key))
    }

    /// Present and not `null`: the JSON image of a non-nil Go pointer.
    pub(crate) fn is_set(self) -> bool {
        self.0.is_some_and(|v| !v.is_null())
    }

    /// Present as an object: a non-nil pointer to a Go struct.
    pub(crate) fn is_object(self) -> bool {
        self.0.is_some_and(Value::is_object)
    }

    pub(crate) fn str(self) -> Option<&'a str> {
        self.0.and_then(Value::as_str)
    }

    /// The string, or `""` as Go's zero value.
    pub(crate) fn string(self) -> String {
        self.str().unwrap_or_default().to_owned()
    }

    /// A non-empty string, mirroring Go's `if s != ""` checks.
    pub(crate) fn non_empty(self) -> Option<&'a str> {
        self.str().filter(|s| !s.is_empty())
    }

    /// An integer; whole-valued floats are accepted because some clients send `3.0`.
    pub(crate) fn int(self) -> Option<i64> {
        let value = self.0?;
        value.as_i64().or_else(|| {
            let float = value.as_f64()?;
            #[allow(
                clippy::cast_possible_truncation,
                reason = "guarded: only whole floats inside the i64 range get here"
            )]
            let whole = (float.fract() == 0.0 && float.abs() < 9.0e18).then_some(float as i64);
            whole
        })
    }

    pub(crate) fn int_or_zero(self) -> i64 {
        self.int().unwrap_or(0)
    }

    pub(crate) fn bool(self) -> Option<bool> {
        self.0.and_then(Value::as_bool)
    }

    /// Elements of an array; nothing when this is not an array.
    pub(crate) fn items(self) -> impl DoubleEndedIterator<Item = Field<'a>> + ExactSizeIterator {
        let items: &'a [Value] = self.0.and_then(Value::as_array).map_or(&[], Vec::as_slice);
        items.iter().map(Field::new)
    }

    /// Members of an object; nothing when this is not an object.
    pub(crate) fn entries(self) -> impl Iterator<Item = (&'a str, Field<'a>)> {
        let map = self.0.and_then(Value::as_object);
        map.into_iter().flat_map(Map::iter).map(|(k, v)| (k.as_str(), Field::new(v)))
    }

    /// Number of array elements, as Go's `len()` of a slice; 0 when this is not an array.
    pub(crate) fn array_len(self) -> usize {
        self.0.and_then(Value::as_array).map_or(0, Vec::len)
    }

    /// Number of object members, as Go's `len()` of a map; 0 when this is not an object.
    pub(crate) fn map_len(self) -> usize {
        self.0.and_then(Value::as_object).map_or(0, Map::len)
    }

    /// An RFC 3339 timestamp (`metav1.Time` or `MicroTime`). Unparsable text and Go's zero time
    /// (`0001-01-01T00:00:00Z`, which upstream treats as unset) both read as unset.
    pub(crate) fn time(self) -> Option<DateTime<Utc>> {
        let text = self.str()?;
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .filter(|t| t.timestamp() != GO_ZERO_TIME_UNIX)
    }

    /// The raw value, for callers that need to look at numbers and strings alike.
    pub(crate) fn value(self) -> Option<&'a Value> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_read_as_zero_values() {
        let doc = json!({"a": "x", "b": [1, 2], "c": {"d": 3.0}, "e": null});
        let root = Field::new(&doc);
        assert_eq!(root.path(&["a", "b"]).string(), "");
        assert_eq!(root.get("b").array_len(), 2);
        assert_eq!(root.get("c").map_len(), 1);
        assert_eq!(root.get("c").array_len(), 0);
        assert_eq!(root.path(&["c", "d"]).int(), Some(3));
        assert!(!root.get("e").is_set());
        assert_eq!(root.get("a").items().count(), 0);
        assert_eq!(root.get("a").int(), None);
    }
}

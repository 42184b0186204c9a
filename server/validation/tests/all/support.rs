//! Shared helpers: build, default and validate objects; assert on messages.

use serde_json::Value;
use wasmkube_validation::{FieldError, default, validate};

/// Defaults then validates a create.
pub fn create_errors(group: &str, kind: &str, mut obj: Value) -> Vec<FieldError> {
    default(group, kind, &mut obj);
    validate(group, kind, &obj, None)
}

/// Defaults both objects then validates an update of `old` to `new`.
pub fn update_errors(group: &str, kind: &str, mut old: Value, mut new: Value) -> Vec<FieldError> {
    default(group, kind, &mut old);
    default(group, kind, &mut new);
    validate(group, kind, &new, Some(&old))
}

/// Asserts that one of `errs` renders exactly as `message`.
#[track_caller]
pub fn assert_has(errs: &[FieldError], message: &str) {
    let all: Vec<String> = errs.iter().map(FieldError::message).collect();
    assert!(all.iter().any(|m| m == message), "expected\n  {message}\namong\n  {}", all.join("\n  "));
}

/// Asserts that `errs` is empty, printing them otherwise.
#[track_caller]
pub fn assert_valid(errs: &[FieldError]) {
    let all: Vec<String> = errs.iter().map(FieldError::message).collect();
    assert!(all.is_empty(), "unexpected errors:\n  {}", all.join("\n  "));
}

/// Asserts an error on `field` with the given reason exists.
#[track_caller]
pub fn assert_reason(errs: &[FieldError], field: &str, reason: &str) {
    let found = errs.iter().any(|e| e.field == field && e.reason() == reason);
    let all: Vec<String> = errs.iter().map(|e| format!("{} ({})", e.message(), e.reason())).collect();
    assert!(found, "expected {reason} on {field} among\n  {}", all.join("\n  "));
}

/// Sets the value at a JSON pointer; the parent must exist.
pub fn set(obj: &mut Value, pointer: &str, value: Value) {
    if let Some(slot) = obj.pointer_mut(pointer) {
        *slot = value;
        return;
    }
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    let parent = obj.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}"));
    parent.as_object_mut().expect("object").insert(key.to_owned(), value);
}

/// Removes the last segment of a JSON pointer from its parent object.
pub fn remove(obj: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    let parent = obj.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}"));
    parent.as_object_mut().expect("object").remove(key);
}

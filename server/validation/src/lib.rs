//! Defaulting and validation of the Kubernetes built-in kinds, as the
//! upstream kube-apiserver does them, over `serde_json::Value` in wire form.
//!
//! # Layout
//! - [`default`] fills what upstream's defaulters would (`defaults/`).
//! - [`validate`] returns every problem as a [`FieldError`] whose
//!   [`FieldError::message`] is upstream's text (`validate/`).
//! - Building blocks: `names` (DNS names, qualified names, label values,
//!   ports, ...), `meta` (object metadata), `selector` (label selectors),
//!   `path` (field paths), `go_repr` (Go-style rendering of bad values);
//!   resource quantities come from `wasmkube_api::quantity`, which the table
//!   printers share.
//!
//! **API Boundary:** the caller has already decoded the body into the right
//! shapes (k8s-openapi types); this crate checks values and relationships,
//! not JSON types. Metadata immutability on update (name, namespace, uid,
//! creationTimestamp) and `resourceVersion` handling are the caller's job.
//!
//! **Architecture Invariant:** `default` is idempotent and never removes a
//! value the user set (except `stringData` and `sessionAffinityConfig`,
//! which upstream also drops).

mod base64;
mod defaults;
mod error;
mod go_repr;
mod image;
mod json;
mod meta;
mod names;
mod path;
mod selector;
mod validate;

pub use error::{ErrorKind, FieldError};

/// Upstream's `IsNegativeErrorMsg`.
pub(crate) const NEGATIVE_MSG: &str = "must be greater than or equal to 0";

/// Upstream's `FieldImmutableErrorMsg`.
pub(crate) const IMMUTABLE_MSG: &str = "field is immutable";

/// The core group may be given as `""` or `"core"`.
pub(crate) fn normalize_group(group: &str) -> &str {
    if group == "core" { "" } else { group }
}

/// Applies upstream defaults to `obj` in place. Idempotent; unknown kinds are
/// left untouched. For Jobs, call it after assigning `metadata.uid` so the
/// generated selector can be filled in.
pub fn default(group: &str, kind: &str, obj: &mut serde_json::Value) {
    defaults::apply(group, kind, obj);
}

/// Validates a create (`old == None`) or an update (`old == Some`) of
/// `(group, kind)`. Returns every problem found, in upstream's order as far
/// as it is deterministic; an empty list means valid. Kinds this crate does
/// not know (see [`supports`]) are not checked and yield an empty list.
pub fn validate(
    group: &str,
    kind: &str,
    obj: &serde_json::Value,
    old: Option<&serde_json::Value>,
) -> Vec<FieldError> {
    validate::run(normalize_group(group), kind, obj, old)
}

/// Whether this crate has specific rules for `(group, kind)`.
pub fn supports(group: &str, kind: &str) -> bool {
    validate::is_known(normalize_group(group), kind)
}

//! Strategic merge patch and server-side apply for the Kubernetes built-in types, on
//! `serde_json::Value` objects in their JSON wire form.
//!
//! The API server calls this crate for two `PATCH` content types and for the bookkeeping of
//! every write; merge patch and JSON patch are the `json-patch` crate's job.
//!
//! # Layout
//!
//! - [`schema`] holds patch metadata per type and field, generated from upstream by
//!   `tools/gen_schema.py` (`schema/generated.rs`). Entry points: [`schema::root_type`]
//!   (group, version, kind) and [`schema::root_type_for`] (apiVersion, kind); then
//!   [`TypeRef::child`], [`TypeRef::item`], [`TypeRef::field`] walk down.
//! - [`strategic`] handles `application/strategic-merge-patch+json`:
//!   [`strategic_merge`]`(original, patch, root) -> Result<Value, strategic::Error>`.
//!   `list.rs` merges lists and handles `$patch` items, `order.rs` does
//!   `$setElementOrder` and upstream's list-order rule.
//! - [`fieldset`] has [`FieldSet`], the set of field paths an object sets, with its
//!   `FieldsV1` encoding, and the schema walks behind it ([`fieldset::field_set`],
//!   [`fieldset::compare`]).
//! - [`apply`] handles `application/apply-patch+yaml`:
//!   [`server_side_apply`]`(live, applied, manager, force, root, now)`, and
//!   [`record_update`]`(old, new, manager, subresource, root, now)` for the managedFields
//!   of every other write. Conflicts come back as [`ApplyError::Conflict`], whose `Display`
//!   is upstream's 409 message.
//!
//! # API boundary
//!
//! Inputs are whole objects; nothing here does I/O, reads the clock (callers pass `now`),
//! validates, defaults, or checks `resourceVersion` preconditions: the API server does that
//! around these calls. Unknown types and fields are not errors: they get upstream's
//! treatment of fields without metadata (maps merge, lists are replaced / atomic).
//!
//! # Typical use
//!
//! ```
//! use serde_json::json;
//! use wasmkube_patch::{schema, strategic_merge};
//! let ty = schema::root_type("apps", "v1", "Deployment").unwrap();
//! let live = json!({"spec": {"template": {"spec": {"containers": [
//!     {"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}}});
//! let patch = json!({"spec": {"template": {"spec": {"containers": [
//!     {"name": "a", "image": "z"}]}}}});
//! let out = strategic_merge(&live, &patch, ty).unwrap();
//! assert_eq!(out["spec"]["template"]["spec"]["containers"][1]["image"], "y");
//! ```

pub mod apply;
pub mod fieldset;
pub mod schema;
pub mod strategic;

pub use apply::{ApplyError, Conflict, record_update, server_side_apply};
pub use fieldset::FieldSet;
pub use schema::TypeRef;
pub use strategic::strategic_merge;

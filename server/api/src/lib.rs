//! Kubernetes API machinery for wasmkube, with no I/O.
//!
//! # Layout
//! - [`registry`]: every resource the API serves (group, version, names, scope, subresources)
//!   and where it is stored.
//! - [`decode`]: bodies -> normalised JSON through the `k8s-openapi` types, with the strict
//!   unknown-field check that `fieldValidation=Strict` needs (the types themselves drop unknown
//!   fields silently).
//! - [`lenient`]: the deserializer behind [`decode`] that takes unquoted YAML 1.1 scalars in
//!   string fields as text, with a warning.
//! - [`convert`]: between served versions that share one storage form (autoscaling v1/v2,
//!   core and events.k8s.io Events).
//! - [`status`]: the one error type every layer returns, rendered as a Kubernetes `Status`.
//! - [`selector`]: label and field selectors.
//! - [`meta`]: small accessors for object metadata in JSON form.
//! - [`quantity`]: `resource.Quantity`: parsing, comparison and upstream's canonical text.
//! - [`taints`]: taints and tolerations (scheduling, DaemonSets, NoExecute eviction).

pub mod convert;
pub mod decode;
pub mod lenient;
pub mod meta;
pub mod quantity;
pub mod quota;
pub mod registry;
pub mod selector;
pub mod status;
pub mod taints;

pub use registry::{ResourceDef, Subresource};
pub use status::{ApiError, Result};

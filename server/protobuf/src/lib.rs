//! Decodes Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) into the
//! JSON the same object has in the JSON API, so the API server handles them exactly like JSON
//! bodies. kubectl sends protobuf for `create deployment|configmap|secret|namespace|job|...` and
//! `autoscale`, and never retries with JSON.
//!
//! # Layout
//! - `envelope`: the `k8s\0` magic and the `runtime.Unknown` wrapper naming apiVersion/kind.
//! - `message`: walks a message with the schema, producing a JSON object.
//! - `special`: Time, MicroTime, IntOrString, Quantity, RawExtension, FieldsV1.
//! - `schema`: the table's types; `schema/generated/` is written by `gen/k8s_schema.py` from the
//!   Go API types compiled into kubectl v1.33.1.
//! - `wire`: the protobuf wire format; `base64`, `rfc3339`: the two JSON renderings we need.
//!
//! **API Boundary**: [`decode`] is the entry point ([`supported_kinds`] and [`MEDIA_TYPE`]
//! only describe it); the schema is private. Decoding never
//! panics on any input: every malformed body is an [`Error`].
//!
//! Deliberately absent: encoding (responses are JSON; kubectl accepts them), kinds outside the
//! generated packages (see [`supported_kinds`]), and field-level validation, which the API
//! server applies to decoded and JSON bodies alike.

mod base64;
mod envelope;
mod error;
mod message;
mod rfc3339;
mod schema;
mod special;
mod wire;

pub use envelope::MEDIA_TYPE;
pub use error::{Error, Malformed};

/// Decodes a protobuf body (envelope included) into the object as Kubernetes JSON: `apiVersion`
/// and `kind` from the envelope, then every field the body carries, named and shaped as in the
/// JSON API.
///
/// # Errors
/// [`Error::BadMagic`] unless the body starts with `k8s\0`; [`Error::UnknownKind`] for a kind
/// with no schema; [`Error::Malformed`] (with the JSON path) for bytes that break the wire
/// format or the schema.
pub fn decode(body: &[u8]) -> Result<serde_json::Value, Error> {
    envelope::decode(body, 0)
}

/// Every (apiVersion, kind) that [`decode`] accepts.
pub fn supported_kinds() -> impl Iterator<Item = (&'static str, &'static str)> {
    schema::kinds()
}

//! Short constructors for the generated table, so that each field fits on one line there.

pub(crate) use super::Message;
use super::{Field, Kind, Scalar, Shape, Special};

pub(crate) const STRING: Kind = Kind::Scalar(Scalar::String);
pub(crate) const BYTES: Kind = Kind::Scalar(Scalar::Bytes);
pub(crate) const BOOL: Kind = Kind::Scalar(Scalar::Bool);
pub(crate) const INT32: Kind = Kind::Scalar(Scalar::Int32);
pub(crate) const INT64: Kind = Kind::Scalar(Scalar::Int64);
pub(crate) const TIME: Kind = Kind::Special(Special::Time);
pub(crate) const MICRO_TIME: Kind = Kind::Special(Special::MicroTime);
pub(crate) const INT_OR_STRING: Kind = Kind::Special(Special::IntOrString);
pub(crate) const QUANTITY: Kind = Kind::Special(Special::Quantity);
pub(crate) const RAW_EXTENSION: Kind = Kind::Special(Special::RawExtension);
pub(crate) const FIELDS_V1: Kind = Kind::Special(Special::FieldsV1);

pub(crate) const fn msg(message: &'static Message) -> Kind {
    Kind::Message(message)
}

const fn field(number: u32, json_name: &'static str, kind: Kind, shape: Shape) -> Field {
    Field { number, json_name, kind, shape }
}

pub(crate) const fn single(number: u32, json_name: &'static str, kind: Kind) -> Field {
    field(number, json_name, kind, Shape::Single)
}

pub(crate) const fn omitempty(number: u32, json_name: &'static str, kind: Kind) -> Field {
    field(number, json_name, kind, Shape::OmitEmpty)
}

pub(crate) const fn repeated(number: u32, json_name: &'static str, kind: Kind) -> Field {
    field(number, json_name, kind, Shape::Repeated)
}

pub(crate) const fn map(number: u32, json_name: &'static str, kind: Kind) -> Field {
    field(number, json_name, kind, Shape::Map)
}

pub(crate) const fn inline(number: u32, json_name: &'static str, kind: Kind) -> Field {
    field(number, json_name, kind, Shape::Inline)
}

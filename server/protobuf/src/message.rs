//! Schema-driven decoding of one message into a JSON object.
//!
//! The rules mirror what encoding/json would print for the Go struct that gogo-protobuf would
//! have filled from the same bytes, so the API server sees exactly what the JSON API would:
//! - a field absent on the wire is absent from the JSON;
//! - a present message is an object even when empty (`resources: {}`, `status: {}`);
//! - a zero value of a [`Shape::OmitEmpty`] field is dropped, any other zero is kept
//!   (`replicas: 0`, `suspend: false`, `containerPort: 0`);
//! - repeated fields accept packed and unpacked numbers; a repeated singular field follows
//!   protobuf: the last scalar wins, messages merge.

use serde_json::{Map, Value};

use crate::error::{Error, Malformed};
use crate::schema::{Field, Kind, Message, Scalar, Shape};
use crate::special;
use crate::wire::{Reader, WireType};

/// Deepest nesting accepted. The deepest real object (a CronJob's pod template) is about 12
/// levels; the limit only stops hostile input from exhausting the stack.
pub(crate) const MAX_DEPTH: usize = 64;

/// Decodes `bytes` as `message` into a new JSON object.
pub(crate) fn decode(bytes: &[u8], message: &'static Message, depth: usize) -> Result<Value, Error> {
    let mut object = Map::new();
    decode_into(bytes, message, depth, &mut object)?;
    Ok(Value::Object(object))
}

/// Decodes `bytes` as `message`, adding its fields to `object` (which may already hold fields
/// of an enclosing message, for inline fields, or of an earlier record, for merging).
pub(crate) fn decode_into(
    bytes: &[u8],
    message: &'static Message,
    depth: usize,
    object: &mut Map<String, Value>,
) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Err(Malformed::TooDeep(MAX_DEPTH).into());
    }
    let mut reader = Reader::new(bytes);
    while let Some((number, wire_type)) = reader.next_key()? {
        let Some(field) = message.field(number) else {
            reader.skip(wire_type)?;
            continue;
        };
        let mut record = Record { reader: &mut reader, wire_type, message, field, depth };
        record.decode_into(object).map_err(|err| err.within(field.json_name))?;
    }
    Ok(())
}

/// One field record on the wire, with the schema entry it is read against.
struct Record<'r, 'a> {
    reader: &'r mut Reader<'a>,
    wire_type: WireType,
    message: &'static Message,
    field: &'static Field,
    depth: usize,
}

impl<'a> Record<'_, 'a> {
    /// Adds this record's value to `object` as its shape dictates.
    fn decode_into(&mut self, object: &mut Map<String, Value>) -> Result<(), Error> {
        let (name, depth) = (self.field.json_name, self.depth + 1);
        match (self.field.shape, self.field.kind) {
            (Shape::Inline, Kind::Message(inner)) => decode_into(self.len_payload()?, inner, depth, object),
            (Shape::Single | Shape::OmitEmpty, Kind::Message(inner)) => {
                merge_message(object, name, self.len_payload()?, inner, depth)
            }
            // The generator only inlines messages; anything else is read like a single value.
            (Shape::Single | Shape::OmitEmpty | Shape::Inline, kind) => {
                let value = self.value(kind)?;
                if self.field.shape == Shape::OmitEmpty && is_zero(&value) {
                    object.remove(name);
                } else {
                    object.insert(name.to_owned(), value);
                }
                Ok(())
            }
            (Shape::Repeated, kind) => {
                let values = self.repeated(kind)?;
                push_all(object, name, values);
                Ok(())
            }
            (Shape::Map, kind) => {
                let (key, value) = self.map_entry(kind)?;
                insert_entry(object, name, key, value);
                Ok(())
            }
        }
    }

    /// The payload of a length-delimited record, or a wire-type error.
    fn len_payload(&mut self) -> Result<&'a [u8], Error> {
        if self.wire_type != WireType::Len {
            return Err(self.wrong_wire_type(WireType::Len));
        }
        Ok(self.reader.len_delimited()?)
    }

    /// Reads one value of `kind`, checking the wire type first.
    fn value(&mut self, kind: Kind) -> Result<Value, Error> {
        if let Some(scalar) = varint_scalar(kind) {
            if self.wire_type != WireType::Varint {
                return Err(self.wrong_wire_type(WireType::Varint));
            }
            return Ok(varint_value(scalar, self.reader.varint()?));
        }
        len_value(self.len_payload()?, kind, self.depth + 1)
    }

    /// One element, or for numbers a packed run of elements.
    fn repeated(&mut self, kind: Kind) -> Result<Vec<Value>, Error> {
        match varint_scalar(kind) {
            Some(scalar) if self.wire_type == WireType::Len => {
                let mut packed = Reader::new(self.reader.len_delimited()?);
                let mut values = Vec::new();
                while !packed.is_empty() {
                    values.push(varint_value(scalar, packed.varint()?));
                }
                Ok(values)
            }
            _ => Ok(vec![self.value(kind)?]),
        }
    }

    /// A map entry message {1: key, 2: value}; a missing part takes its zero value.
    fn map_entry(&mut self, kind: Kind) -> Result<(String, Value), Error> {
        let mut entry = Reader::new(self.len_payload()?);
        let (mut key, mut value) = (String::new(), None);
        while let Some((number, wire_type)) = entry.next_key()? {
            let mut part = Record { reader: &mut entry, wire_type, ..*self };
            match number {
                1 => key = utf8(part.len_payload()?)?.to_owned(),
                2 => value = Some(part.value(kind)?),
                _ => entry.skip(wire_type)?,
            }
        }
        let value = match (value, varint_scalar(kind)) {
            (Some(value), _) => value,
            (None, Some(scalar)) => varint_value(scalar, 0),
            (None, None) => len_value(&[], kind, self.depth + 1)?,
        };
        Ok((key, value))
    }

    fn wrong_wire_type(&self, expected: WireType) -> Error {
        Malformed::WrongWireType {
            message: self.message.name,
            number: self.field.number,
            expected: expected.name(),
            found: self.wire_type.name(),
        }
        .into()
    }
}

/// A singular message field: a repeated record merges into the object already there.
fn merge_message(
    object: &mut Map<String, Value>,
    name: &str,
    payload: &[u8],
    message: &'static Message,
    depth: usize,
) -> Result<(), Error> {
    match object.entry(name).or_insert_with(|| Value::Object(Map::new())) {
        Value::Object(existing) => decode_into(payload, message, depth, existing),
        other => {
            *other = decode(payload, message, depth)?;
            Ok(())
        }
    }
}

/// The scalar types that travel as varints.
fn varint_scalar(kind: Kind) -> Option<Scalar> {
    match kind {
        Kind::Scalar(scalar @ (Scalar::Bool | Scalar::Int32 | Scalar::Int64)) => Some(scalar),
        _ => None,
    }
}

/// A varint as the JSON value of a scalar type. int32 values arrive sign-extended to 64 bits.
fn varint_value(scalar: Scalar, raw: u64) -> Value {
    match scalar {
        Scalar::Bool => Value::Bool(raw != 0),
        Scalar::Int32 => Value::from(raw as i64 as i32),
        _ => Value::from(raw as i64),
    }
}

/// Interprets the payload of a length-delimited value of `kind`.
fn len_value(payload: &[u8], kind: Kind, depth: usize) -> Result<Value, Error> {
    match kind {
        Kind::Scalar(Scalar::String) => Ok(Value::String(utf8(payload)?.to_owned())),
        Kind::Scalar(Scalar::Bytes) => Ok(Value::String(crate::base64::encode(payload))),
        Kind::Message(inner) => decode(payload, inner, depth),
        Kind::Special(special) => special::decode(special, payload, depth),
        // Varint scalars never reach here (see `varint_scalar`); an empty string is harmless.
        Kind::Scalar(_) => Ok(Value::String(String::new())),
    }
}

pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, Malformed> {
    std::str::from_utf8(bytes).map_err(|_| Malformed::InvalidUtf8)
}

/// The zero values encoding/json's omitempty drops (of the scalar kinds this is used on).
fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    }
}

fn push_all(object: &mut Map<String, Value>, name: &str, values: Vec<Value>) {
    let slot = object.entry(name).or_insert_with(|| Value::Array(Vec::new()));
    match slot {
        Value::Array(items) => items.extend(values),
        other => *other = Value::Array(values),
    }
}

fn insert_entry(object: &mut Map<String, Value>, name: &str, key: String, value: Value) {
    let slot = object.entry(name).or_insert_with(|| Value::Object(Map::new()));
    match slot {
        Value::Object(entries) => {
            entries.insert(key, value);
        }
        other => *other = Value::Object(Map::from_iter([(key, value)])),
    }
}

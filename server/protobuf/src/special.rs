//! The apimachinery types whose protobuf form is a message but whose JSON form is not an object.
//! Each function takes the message payload and returns what the type's Go `MarshalJSON` prints.

use serde_json::Value;

use crate::error::{Error, Malformed};
use crate::message::utf8;
use crate::schema::Special;
use crate::wire::{Reader, WireType};
use crate::{envelope, rfc3339};

pub(crate) fn decode(special: Special, payload: &[u8], depth: usize) -> Result<Value, Error> {
    match special {
        Special::Time => time(payload, false),
        Special::MicroTime => time(payload, true),
        Special::IntOrString => int_or_string(payload),
        Special::Quantity => quantity(payload),
        Special::RawExtension | Special::FieldsV1 => embedded(payload, depth),
    }
}

/// The fields of a small fixed message: varints by number, and length-delimited payloads.
/// Unknown numbers are skipped; a known number with the other wire type is skipped too, since
/// these hand-written readers have no schema entry to report against.
struct Fields<'a> {
    varints: [Option<u64>; 4],
    bytes: [Option<&'a [u8]>; 4],
}

fn fields(payload: &[u8]) -> Result<Fields<'_>, Malformed> {
    let mut out = Fields { varints: [None; 4], bytes: [None; 4] };
    let mut reader = Reader::new(payload);
    while let Some((number, wire_type)) = reader.next_key()? {
        let slot = (number < 4).then_some(number as usize);
        match (slot, wire_type) {
            (Some(n), WireType::Varint) => out.varints[n] = Some(reader.varint()?),
            (Some(n), WireType::Len) => out.bytes[n] = Some(reader.len_delimited()?),
            _ => reader.skip(wire_type)?,
        }
    }
    Ok(out)
}

/// metav1.Time / MicroTime {1: seconds, 2: nanos}. Go marshals the zero time as an empty
/// message and prints it as `null` (kubectl's `creationTimestamp: null`); Time prints whole
/// seconds (RFC 3339), MicroTime six fractional digits.
fn time(payload: &[u8], micro: bool) -> Result<Value, Error> {
    if payload.is_empty() {
        return Ok(Value::Null);
    }
    let fields = fields(payload)?;
    let seconds = fields.varints[1].unwrap_or(0) as i64;
    let nanos = fields.varints[2].unwrap_or(0) as i64 as i32;
    let text = if micro { rfc3339::format_micros(seconds, nanos) } else { rfc3339::format_seconds(seconds) };
    Ok(Value::String(text))
}

/// intstr.IntOrString {1: type, 2: intVal, 3: strVal}: type 0 is an int, 1 a string.
fn int_or_string(payload: &[u8]) -> Result<Value, Error> {
    let fields = fields(payload)?;
    match fields.varints[1].unwrap_or(0) as i64 {
        0 => Ok(Value::from(fields.varints[2].unwrap_or(0) as i64 as i32)),
        1 => Ok(Value::String(utf8(fields.bytes[3].unwrap_or_default())?.to_owned())),
        other => Err(Malformed::InvalidIntOrStringType(other).into()),
    }
}

/// resource.Quantity {1: string}. The string is passed through as a JSON body would carry it,
/// so the API server parses and validates quantities in one place; the zero Quantity is "0".
fn quantity(payload: &[u8]) -> Result<Value, Error> {
    let fields = fields(payload)?;
    match fields.bytes[1] {
        Some(text) if !text.is_empty() => Ok(Value::String(utf8(text)?.to_owned())),
        _ => Ok(Value::String("0".to_owned())),
    }
}

/// runtime.RawExtension {1: raw} and metav1.FieldsV1 {1: Raw}: the embedded object. A raw
/// value is JSON, or a nested protobuf envelope when the client encoded nested objects with
/// the protobuf serializer; absent raw bytes print as `null`, as in Go.
fn embedded(payload: &[u8], depth: usize) -> Result<Value, Error> {
    let raw = fields(payload)?.bytes[1].unwrap_or_default();
    if raw.is_empty() {
        Ok(Value::Null)
    } else if raw.starts_with(&envelope::MAGIC) {
        envelope::decode(raw, depth + 1)
    } else {
        serde_json::from_slice(raw).map_err(|err| Malformed::InvalidEmbeddedJson(err).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zero_time_is_null_and_nanos_only_show_in_micro_time() {
        assert_eq!(time(&[], false).unwrap(), Value::Null);
        // seconds = 1700000000, nanos = 123456789
        let payload = [0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06, 0x10, 0x95, 0x9a, 0xef, 0x3a];
        assert_eq!(time(&payload, false).unwrap(), json!("2023-11-14T22:13:20Z"));
        assert_eq!(time(&payload, true).unwrap(), json!("2023-11-14T22:13:20.123456Z"));
    }

    #[test]
    fn int_or_string_follows_its_type() {
        assert_eq!(int_or_string(&[]).unwrap(), json!(0));
        assert_eq!(int_or_string(&[0x10, 0x50]).unwrap(), json!(80));
        assert_eq!(int_or_string(&[0x08, 0x01, 0x1a, 0x01, b'x']).unwrap(), json!("x"));
        assert!(int_or_string(&[0x08, 0x02]).is_err());
    }

    #[test]
    fn empty_quantity_is_zero() {
        assert_eq!(quantity(&[]).unwrap(), json!("0"));
        assert_eq!(quantity(&[0x0a, 0x02, b'1', b'm']).unwrap(), json!("1m"));
    }

    #[test]
    fn raw_extension_holds_json() {
        assert_eq!(embedded(&[], 0).unwrap(), Value::Null);
        assert_eq!(embedded(&[0x0a, 0x02, b'{', b'}'], 0).unwrap(), json!({}));
        let err = embedded(&[0x0a, 0x01, b'{'], 0).unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }
}

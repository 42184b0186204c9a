//! The envelope every Kubernetes protobuf body is wrapped in: the magic bytes `k8s\0`, then a
//! `runtime.Unknown` message {1: typeMeta {1: apiVersion, 2: kind}, 2: raw (the object's own
//! message), 3: contentEncoding, 4: contentType}.

use serde_json::{Map, Value};

use crate::error::{Error, Malformed};
use crate::message::{self, utf8};
use crate::schema;
use crate::wire::{Reader, WireType};

/// The four bytes that open every Kubernetes protobuf body.
pub(crate) const MAGIC: [u8; 4] = *b"k8s\0";

/// The media type of such bodies; also the `contentType` an envelope may name for its object.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The parts of `runtime.Unknown` the decoder uses, borrowed from the body.
#[derive(Default)]
struct Unknown<'a> {
    api_version: &'a str,
    kind: &'a str,
    raw: &'a [u8],
    content_encoding: &'a str,
    content_type: &'a str,
}

/// Decodes a whole body (magic included) into the object's JSON, apiVersion and kind first.
pub(crate) fn decode(body: &[u8], depth: usize) -> Result<Value, Error> {
    let rest = body.strip_prefix(&MAGIC).ok_or(Error::BadMagic)?;
    let unknown = parse_unknown(rest)?;
    if !unknown.content_encoding.is_empty() {
        return Err(Error::UnsupportedContentEncoding(unknown.content_encoding.to_owned()));
    }
    if !matches!(unknown.content_type, "" | MEDIA_TYPE) {
        return Err(Error::UnsupportedContentType(unknown.content_type.to_owned()));
    }
    if unknown.kind.is_empty() {
        return Err(Error::MissingKind);
    }
    let message = schema::find_kind(unknown.api_version, unknown.kind).ok_or_else(|| Error::UnknownKind {
        api_version: unknown.api_version.to_owned(),
        kind: unknown.kind.to_owned(),
    })?;
    let mut object = Map::new();
    object.insert("apiVersion".to_owned(), Value::from(unknown.api_version));
    object.insert("kind".to_owned(), Value::from(unknown.kind));
    message::decode_into(unknown.raw, message, depth, &mut object)?;
    Ok(Value::Object(object))
}

fn parse_unknown(bytes: &[u8]) -> Result<Unknown<'_>, Error> {
    let mut unknown = Unknown::default();
    let mut reader = Reader::new(bytes);
    while let Some((number, wire_type)) = reader.next_key()? {
        if !(1..=4).contains(&number) {
            reader.skip(wire_type)?;
            continue;
        }
        let payload = len_field(&mut reader, "runtime.Unknown", number, wire_type)?;
        match number {
            1 => parse_type_meta(payload, &mut unknown).map_err(|e| e.within("typeMeta"))?,
            2 => unknown.raw = payload,
            3 => unknown.content_encoding = utf8(payload)?,
            _ => unknown.content_type = utf8(payload)?,
        }
    }
    Ok(unknown)
}

fn parse_type_meta<'a>(bytes: &'a [u8], unknown: &mut Unknown<'a>) -> Result<(), Error> {
    let mut reader = Reader::new(bytes);
    while let Some((number, wire_type)) = reader.next_key()? {
        match number {
            1 => unknown.api_version = utf8(len_field(&mut reader, "TypeMeta", 1, wire_type)?)?,
            2 => unknown.kind = utf8(len_field(&mut reader, "TypeMeta", 2, wire_type)?)?,
            _ => reader.skip(wire_type)?,
        }
    }
    Ok(())
}

fn len_field<'a>(
    reader: &mut Reader<'a>,
    message: &'static str,
    number: u32,
    wire_type: WireType,
) -> Result<&'a [u8], Malformed> {
    if wire_type != WireType::Len {
        return Err(Malformed::WrongWireType {
            message,
            number,
            expected: WireType::Len.name(),
            found: wire_type.name(),
        });
    }
    reader.len_delimited()
}

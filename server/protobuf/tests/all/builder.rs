//! A tiny protobuf writer for hand-built test vectors. Written independently of the decoder
//! so the tests do not share its mistakes.

/// One message under construction; fields are appended in call order.
#[derive(Clone, Default)]
pub struct Msg(Vec<u8>);

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

impl Msg {
    pub fn new() -> Self {
        Msg::default()
    }

    pub fn key(mut self, number: u32, wire_type: u8) -> Self {
        varint(&mut self.0, u64::from(number) << 3 | u64::from(wire_type));
        self
    }

    /// A VARINT field; negative numbers are sign-extended to 10 bytes, as Go writes int32.
    pub fn int(self, number: u32, value: i64) -> Self {
        let mut out = self.key(number, 0);
        varint(&mut out.0, value as u64);
        out
    }

    pub fn bytes(self, number: u32, payload: &[u8]) -> Self {
        let mut out = self.key(number, 2);
        varint(&mut out.0, payload.len() as u64);
        out.0.extend_from_slice(payload);
        out
    }

    pub fn str(self, number: u32, text: &str) -> Self {
        self.bytes(number, text.as_bytes())
    }

    pub fn msg(self, number: u32, inner: Msg) -> Self {
        self.bytes(number, &inner.0)
    }

    /// A map entry {1: key, 2: value}.
    pub fn entry(self, number: u32, key: &str, value: Msg) -> Self {
        self.msg(number, Msg::new().str(1, key).0.into_iter().chain(value.0).collect())
    }

    pub fn raw(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl FromIterator<u8> for Msg {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Self {
        Msg(iter.into_iter().collect())
    }
}

/// A whole request body: magic, then runtime.Unknown {typeMeta, raw}.
pub fn envelope(api_version: &str, kind: &str, object: Msg) -> Vec<u8> {
    let type_meta = Msg::new().str(1, api_version).str(2, kind);
    let unknown = Msg::new().msg(1, type_meta).msg(2, object);
    [b"k8s\0".as_slice(), &unknown.0].concat()
}

/// Packed varints as one LEN payload.
pub fn packed(values: &[i64]) -> Vec<u8> {
    let mut out = Vec::new();
    for value in values {
        varint(&mut out, *value as u64);
    }
    out
}

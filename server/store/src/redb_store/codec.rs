//! On-disk encodings of object records and log events. Little-endian, length-prefixed; versioned
//! by the leading byte so the format can evolve without a migration of old files.

use crate::types::{Event, EventType, Key, Rev};
use bytes::Bytes;

const EVENT_FORMAT: u8 = 1;

/// Object record: `mod_rev` (8 bytes) followed by the value.
pub fn encode_object(mod_rev: Rev, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + value.len());
    out.extend_from_slice(&mod_rev.to_le_bytes());
    out.extend_from_slice(value);
    out
}

pub fn decode_object(raw: &[u8]) -> Option<(Rev, Bytes)> {
    let rev = Rev::from_le_bytes(raw.get(..8)?.try_into().ok()?);
    Some((rev, Bytes::copy_from_slice(&raw[8..])))
}

pub fn encode_event(ev: &Event) -> Vec<u8> {
    let key = ev.key.encode();
    let mut out = Vec::with_capacity(32 + key.len() + ev.value.len());
    out.push(EVENT_FORMAT);
    out.push(match ev.kind {
        EventType::Added => 0,
        EventType::Modified => 1,
        EventType::Deleted => 2,
    });
    put_bytes(&mut out, key.as_bytes());
    put_bytes(&mut out, &ev.value);
    match &ev.prev {
        None => out.push(0),
        Some((rev, prev)) => {
            out.push(1);
            out.extend_from_slice(&rev.to_le_bytes());
            put_bytes(&mut out, prev);
        }
    }
    out
}

pub fn decode_event(rev: Rev, raw: &[u8]) -> Option<Event> {
    let mut r = Reader(raw);
    if r.u8()? != EVENT_FORMAT {
        return None;
    }
    let kind = match r.u8()? {
        0 => EventType::Added,
        1 => EventType::Modified,
        2 => EventType::Deleted,
        _ => return None,
    };
    let key = Key::decode(std::str::from_utf8(r.bytes()?).ok()?)?;
    let value = Bytes::copy_from_slice(r.bytes()?);
    let prev = match r.u8()? {
        0 => None,
        _ => Some((r.u64()?, Bytes::copy_from_slice(r.bytes()?))),
    };
    Some(Event { rev, kind, key, value, prev })
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let len = u32::try_from(b.len()).expect("values are bounded by the API's body limit");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(b);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_round_trips() {
        let ev = Event {
            rev: 7,
            kind: EventType::Modified,
            key: Key::new("apps/deployments", "default", "web"),
            value: Bytes::from_static(b"{\"a\":1}"),
            prev: Some((3, Bytes::from_static(b"{}"))),
        };
        assert_eq!(decode_event(7, &encode_event(&ev)), Some(ev));
    }

    #[test]
    fn truncated_event_is_rejected() {
        let ev = Event {
            rev: 1,
            kind: EventType::Added,
            key: Key::new("pods", "ns", "p"),
            value: Bytes::from_static(b"{}"),
            prev: None,
        };
        let raw = encode_event(&ev);
        for n in 0..raw.len() {
            assert_eq!(decode_event(1, &raw[..n]), None, "prefix of {n} bytes");
        }
    }
}

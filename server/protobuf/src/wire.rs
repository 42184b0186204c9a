//! The protobuf wire format, just enough of it: keys, varints, fixed-width values and
//! length-delimited records, read from a borrowed slice without copying.
//!
//! Every read checks bounds and returns [`Malformed`] rather than panicking: request bodies
//! come from the network.

use crate::error::Malformed;

/// The four wire types Kubernetes messages can contain (groups, 3 and 4, are rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireType {
    Varint,
    Fixed64,
    Len,
    Fixed32,
}

impl WireType {
    fn from_bits(bits: u8) -> Result<Self, Malformed> {
        match bits {
            0 => Ok(WireType::Varint),
            1 => Ok(WireType::Fixed64),
            2 => Ok(WireType::Len),
            5 => Ok(WireType::Fixed32),
            other => Err(Malformed::UnsupportedWireType(other)),
        }
    }

    /// The name used in protobuf documentation, for error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            WireType::Varint => "VARINT",
            WireType::Fixed64 => "I64",
            WireType::Len => "LEN",
            WireType::Fixed32 => "I32",
        }
    }
}

/// A cursor over one message's bytes.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next field's number and wire type, or `None` at the end of the message.
    pub(crate) fn next_key(&mut self) -> Result<Option<(u32, WireType)>, Malformed> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let wire_type = WireType::from_bits((key & 7) as u8)?;
        // Field numbers are at most 2^29 - 1; anything wider cannot be one we know.
        let number = u32::try_from(key >> 3).unwrap_or(u32::MAX);
        if number == 0 {
            return Err(Malformed::FieldNumberZero);
        }
        Ok(Some((number, wire_type)))
    }

    pub(crate) fn varint(&mut self) -> Result<u64, Malformed> {
        let mut value = 0u64;
        for (index, byte) in self.rest.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                self.rest = &self.rest[index + 1..];
                return Ok(value);
            }
        }
        if self.rest.len() >= 10 { Err(Malformed::VarintTooLong) } else { Err(Malformed::TruncatedVarint) }
    }

    /// A length-delimited record's payload.
    pub(crate) fn len_delimited(&mut self) -> Result<&'a [u8], Malformed> {
        let len = self.varint()?;
        let remaining = self.rest.len();
        match usize::try_from(len) {
            Ok(n) if n <= remaining => {
                let (payload, rest) = self.rest.split_at(n);
                self.rest = rest;
                Ok(payload)
            }
            _ => Err(Malformed::TruncatedLength { len, remaining }),
        }
    }

    fn fixed(&mut self, width: usize) -> Result<(), Malformed> {
        if self.rest.len() < width {
            return Err(Malformed::TruncatedFixed(width));
        }
        self.rest = &self.rest[width..];
        Ok(())
    }

    /// Steps over a value of a field the schema does not know.
    pub(crate) fn skip(&mut self, wire_type: WireType) -> Result<(), Malformed> {
        match wire_type {
            WireType::Varint => self.varint().map(drop),
            WireType::Fixed64 => self.fixed(8),
            WireType::Len => self.len_delimited().map(drop),
            WireType::Fixed32 => self.fixed(4),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_multi_byte_and_maximal_varints() {
        let mut r = Reader::new(&[0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(r.varint().unwrap(), 300);
        assert_eq!(r.varint().unwrap(), u64::MAX);
        assert!(r.is_empty());
    }

    #[test]
    fn rejects_truncated_and_overlong_varints() {
        assert!(matches!(Reader::new(&[0x80, 0x80]).varint(), Err(Malformed::TruncatedVarint)));
        assert!(matches!(Reader::new(&[0x80; 11]).varint(), Err(Malformed::VarintTooLong)));
    }

    #[test]
    fn keys_split_number_and_wire_type() {
        let mut r = Reader::new(&[0x0a, 0x00, 0x78, 0x00]);
        assert_eq!(r.next_key().unwrap(), Some((1, WireType::Len)));
        r.skip(WireType::Len).unwrap();
        assert_eq!(r.next_key().unwrap(), Some((15, WireType::Varint)));
        r.skip(WireType::Varint).unwrap();
        assert_eq!(r.next_key().unwrap(), None);
    }

    #[test]
    fn rejects_groups_and_field_zero() {
        assert!(matches!(Reader::new(&[0x0b]).next_key(), Err(Malformed::UnsupportedWireType(3))));
        assert!(matches!(Reader::new(&[0x02]).next_key(), Err(Malformed::FieldNumberZero)));
    }

    #[test]
    fn length_past_the_end_is_an_error_not_a_panic() {
        let err = Reader::new(&[0x05, 1, 2]).len_delimited().unwrap_err();
        assert!(matches!(err, Malformed::TruncatedLength { len: 5, remaining: 2 }));
        let huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert!(Reader::new(&huge).len_delimited().is_err());
    }

    #[test]
    fn skips_fixed_width_values() {
        let mut r = Reader::new(&[0; 12]);
        r.skip(WireType::Fixed64).unwrap();
        r.skip(WireType::Fixed32).unwrap();
        assert!(r.is_empty());
        assert!(matches!(Reader::new(&[0; 3]).skip(WireType::Fixed32), Err(Malformed::TruncatedFixed(4))));
    }
}

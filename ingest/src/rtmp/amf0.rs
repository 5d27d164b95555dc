//! AMF0 (Action Message Format 0, Adobe AMF0 specification) values: decoding with a
//! nesting limit, and encoding.
//!
//! RTMP commands (message type 20) and data messages (type 18) are sequences of AMF0
//! values (RTMP spec §7.1.1, §7.1.2). The reference types (0x07), typed objects and
//! AMF3 switches are not used by publishers and are rejected as unsupported.

use bytes::{BufMut, BytesMut};

/// Markers, AMF0 spec §2.1.
mod marker {
    pub(super) const NUMBER: u8 = 0x00;
    pub(super) const BOOLEAN: u8 = 0x01;
    pub(super) const STRING: u8 = 0x02;
    pub(super) const OBJECT: u8 = 0x03;
    pub(super) const NULL: u8 = 0x05;
    pub(super) const UNDEFINED: u8 = 0x06;
    pub(super) const ECMA_ARRAY: u8 = 0x08;
    pub(super) const OBJECT_END: u8 = 0x09;
    pub(super) const STRICT_ARRAY: u8 = 0x0A;
    pub(super) const DATE: u8 = 0x0B;
    pub(super) const LONG_STRING: u8 = 0x0C;
}

/// One AMF0 value.
#[derive(Debug, Clone, PartialEq)]
pub enum Amf0Value {
    /// §2.2 number (IEEE 754 double).
    Number(f64),
    /// §2.3 boolean.
    Boolean(bool),
    /// §2.4 string (UTF-8, up to 65535 bytes); longer strings are encoded as §2.14.
    String(String),
    /// §2.5 anonymous object: ordered key/value pairs.
    Object(Vec<(String, Amf0Value)>),
    /// §2.7 null.
    Null,
    /// §2.8 undefined.
    Undefined,
    /// §2.10 ECMA array: associative, ordered key/value pairs.
    EcmaArray(Vec<(String, Amf0Value)>),
    /// §2.12 strict array.
    StrictArray(Vec<Amf0Value>),
    /// §2.13 date: milliseconds since the epoch and a (reserved) time zone.
    Date {
        /// Milliseconds since 1970-01-01 UTC.
        millis: f64,
        /// Time zone offset, "reserved, should be 0x0000".
        time_zone: i16,
    },
    /// §2.14 long string.
    LongString(String),
}

impl Amf0Value {
    /// The text of a string or long string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Amf0Value::String(s) | Amf0Value::LongString(s) => Some(s),
            _ => None,
        }
    }

    /// The value of a number.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Amf0Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The properties of an object or ECMA array.
    pub fn properties(&self) -> Option<&[(String, Amf0Value)]> {
        match self {
            Amf0Value::Object(p) | Amf0Value::EcmaArray(p) => Some(p),
            _ => None,
        }
    }

    /// The property `key` of an object or ECMA array.
    pub fn get(&self, key: &str) -> Option<&Amf0Value> {
        self.properties()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Appends the encoding of this value to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            Amf0Value::Number(n) => {
                out.put_u8(marker::NUMBER);
                out.put_f64(*n);
            }
            Amf0Value::Boolean(b) => {
                out.put_u8(marker::BOOLEAN);
                out.put_u8(u8::from(*b));
            }
            Amf0Value::String(s) if s.len() <= usize::from(u16::MAX) => {
                out.put_u8(marker::STRING);
                put_short_string(out, s);
            }
            Amf0Value::String(s) | Amf0Value::LongString(s) => {
                out.put_u8(marker::LONG_STRING);
                out.put_u32(s.len() as u32);
                out.put_slice(s.as_bytes());
            }
            Amf0Value::Object(props) => {
                out.put_u8(marker::OBJECT);
                put_properties(out, props);
            }
            Amf0Value::Null => out.put_u8(marker::NULL),
            Amf0Value::Undefined => out.put_u8(marker::UNDEFINED),
            Amf0Value::EcmaArray(props) => {
                out.put_u8(marker::ECMA_ARRAY);
                out.put_u32(props.len() as u32);
                put_properties(out, props);
            }
            Amf0Value::StrictArray(items) => {
                out.put_u8(marker::STRICT_ARRAY);
                out.put_u32(items.len() as u32);
                for item in items {
                    item.encode(out);
                }
            }
            Amf0Value::Date { millis, time_zone } => {
                out.put_u8(marker::DATE);
                out.put_f64(*millis);
                out.put_i16(*time_zone);
            }
        }
    }
}

fn put_short_string(out: &mut BytesMut, s: &str) {
    // Keys and short strings are at most u16::MAX bytes (§2.4 UTF-8-empty / UTF-8).
    let bytes = &s.as_bytes()[..s.len().min(usize::from(u16::MAX))];
    out.put_u16(bytes.len() as u16);
    out.put_slice(bytes);
}

fn put_properties(out: &mut BytesMut, props: &[(String, Amf0Value)]) {
    for (key, value) in props {
        put_short_string(out, key);
        value.encode(out);
    }
    out.put_u16(0);
    out.put_u8(marker::OBJECT_END);
}

/// Encodes a sequence of values (a command or data message body).
pub fn encode_all(values: &[Amf0Value]) -> BytesMut {
    let mut out = BytesMut::with_capacity(128);
    for v in values {
        v.encode(&mut out);
    }
    out
}

/// Why AMF0 bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmfError {
    /// The input ended inside a value.
    #[error("truncated value")]
    Truncated,
    /// A type marker we do not support (references, typed objects, AMF3 switch…).
    #[error("unsupported type marker 0x{0:02x}")]
    UnsupportedMarker(u8),
    /// Objects / arrays nested deeper than the limit.
    #[error("nesting deeper than {limit}")]
    NestingTooDeep {
        /// Our limit.
        limit: usize,
    },
}

/// Decodes every value in `input` (a whole command or data message body).
pub fn decode_all(input: &[u8], max_depth: usize) -> Result<Vec<Amf0Value>, AmfError> {
    let mut reader = Reader {
        input,
        pos: 0,
        max_depth,
    };
    let mut values = Vec::new();
    while reader.pos < input.len() {
        values.push(reader.value(0)?);
    }
    Ok(values)
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], AmfError> {
        let end = self.pos.checked_add(n).ok_or(AmfError::Truncated)?;
        let s = self.input.get(self.pos..end).ok_or(AmfError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, AmfError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, AmfError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, AmfError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f64(&mut self) -> Result<f64, AmfError> {
        let b = self.take(8)?;
        Ok(f64::from_be_bytes(
            b.try_into().map_err(|_| AmfError::Truncated)?,
        ))
    }

    fn string(&mut self, len: usize) -> Result<String, AmfError> {
        // Be liberal: a few encoders send Latin-1 in metadata.
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    fn value(&mut self, depth: usize) -> Result<Amf0Value, AmfError> {
        let m = self.u8()?;
        Ok(match m {
            marker::NUMBER => Amf0Value::Number(self.f64()?),
            marker::BOOLEAN => Amf0Value::Boolean(self.u8()? != 0),
            marker::STRING => {
                let len = usize::from(self.u16()?);
                Amf0Value::String(self.string(len)?)
            }
            marker::LONG_STRING => {
                let len = self.u32()? as usize;
                Amf0Value::LongString(self.string(len)?)
            }
            marker::NULL => Amf0Value::Null,
            marker::UNDEFINED => Amf0Value::Undefined,
            marker::OBJECT => Amf0Value::Object(self.properties(depth + 1)?),
            marker::ECMA_ARRAY => {
                let _count_hint = self.u32()?; // §2.10: informative; read to the end marker.
                Amf0Value::EcmaArray(self.properties(depth + 1)?)
            }
            marker::STRICT_ARRAY => {
                self.enter(depth + 1)?;
                let count = self.u32()? as usize;
                // Never trust the count for allocation: each value takes >= 1 byte.
                let mut items = Vec::with_capacity(count.min(self.input.len() - self.pos));
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Amf0Value::StrictArray(items)
            }
            marker::DATE => {
                let millis = self.f64()?;
                let time_zone = self.u16()? as i16;
                Amf0Value::Date { millis, time_zone }
            }
            other => return Err(AmfError::UnsupportedMarker(other)),
        })
    }

    fn enter(&self, depth: usize) -> Result<(), AmfError> {
        if depth > self.max_depth {
            return Err(AmfError::NestingTooDeep {
                limit: self.max_depth,
            });
        }
        Ok(())
    }

    /// Key/value pairs up to the empty key + object-end marker (§2.5, §2.11).
    fn properties(&mut self, depth: usize) -> Result<Vec<(String, Amf0Value)>, AmfError> {
        self.enter(depth)?;
        let mut props = Vec::new();
        loop {
            let len = usize::from(self.u16()?);
            if len == 0 && self.input.get(self.pos) == Some(&marker::OBJECT_END) {
                self.pos += 1;
                return Ok(props);
            }
            let key = self.string(len)?;
            let value = self.value(depth)?;
            props.push((key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_value() -> impl Strategy<Value = Amf0Value> {
        let leaf = prop_oneof![
            any::<f64>()
                .prop_filter("NaN != NaN", |f| !f.is_nan())
                .prop_map(Amf0Value::Number),
            any::<bool>().prop_map(Amf0Value::Boolean),
            ".{0,20}".prop_map(Amf0Value::String),
            Just(Amf0Value::Null),
            Just(Amf0Value::Undefined),
            (any::<i64>(), any::<i16>()).prop_map(|(m, tz)| Amf0Value::Date {
                millis: m as f64,
                time_zone: tz
            }),
            ".{0,20}".prop_map(Amf0Value::LongString),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(("[a-z]{1,8}", inner.clone()), 0..6)
                    .prop_map(Amf0Value::Object),
                prop::collection::vec(("[a-z]{1,8}", inner.clone()), 0..6)
                    .prop_map(Amf0Value::EcmaArray),
                prop::collection::vec(inner, 0..6).prop_map(Amf0Value::StrictArray),
            ]
        })
    }

    proptest! {
        #[test]
        fn round_trip(values in prop::collection::vec(arb_value(), 0..5)) {
            let bytes = encode_all(&values);
            prop_assert_eq!(decode_all(&bytes, 16).unwrap(), values);
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_all(&bytes, 16);
        }
    }

    #[test]
    fn connect_command_round_trip() {
        let cmd = vec![
            Amf0Value::String("connect".into()),
            Amf0Value::Number(1.0),
            Amf0Value::Object(vec![
                ("app".into(), Amf0Value::String("live".into())),
                (
                    "tcUrl".into(),
                    Amf0Value::String("rtmp://localhost/live".into()),
                ),
            ]),
        ];
        let bytes = encode_all(&cmd);
        assert_eq!(&bytes[..3], &[0x02, 0x00, 0x07]);
        let back = decode_all(&bytes, 16).unwrap();
        assert_eq!(back[2].get("app").and_then(Amf0Value::as_str), Some("live"));
        assert_eq!(back, cmd);
    }

    #[test]
    fn nesting_limit_is_enforced() {
        let mut v = Amf0Value::Null;
        for _ in 0..5 {
            v = Amf0Value::StrictArray(vec![v]);
        }
        let bytes = encode_all(&[v]);
        assert_eq!(
            decode_all(&bytes, 4),
            Err(AmfError::NestingTooDeep { limit: 4 })
        );
        assert!(decode_all(&bytes, 5).is_ok());
    }

    #[test]
    fn truncated_and_unsupported_are_errors() {
        assert_eq!(decode_all(&[0x00, 0x40], 4), Err(AmfError::Truncated));
        assert_eq!(
            decode_all(&[0x07, 0, 1], 4),
            Err(AmfError::UnsupportedMarker(7))
        );
        // A huge strict-array count with no items must not allocate or panic.
        assert_eq!(
            decode_all(&[0x0A, 0xFF, 0xFF, 0xFF, 0xFF], 4),
            Err(AmfError::Truncated)
        );
    }
}

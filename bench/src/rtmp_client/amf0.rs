//! # AMF0 — the value encoding of RTMP command and data messages
//!
//! Only the subset a publisher meets: Number, Boolean, String, Object,
//! Null, Undefined, ECMA Array, Strict Array and Long String
//! (AMF0 spec, Adobe 2007, §2.2–§2.14). Decoding is bounded by
//! [`MAX_NESTING`] so a hostile server cannot blow the stack.
//!
//! ```
//! use bench::rtmp_client::amf0::{Amf0, decode_all};
//! let mut buf = Vec::new();
//! Amf0::String("connect".into()).encode(&mut buf);
//! Amf0::Number(1.0).encode(&mut buf);
//! assert_eq!(decode_all(&buf).unwrap(), vec![Amf0::String("connect".into()), Amf0::Number(1.0)]);
//! ```

use thiserror::Error;

/// Deepest object/array nesting accepted while decoding.
pub const MAX_NESTING: usize = 32;

const NUMBER: u8 = 0x00;
const BOOLEAN: u8 = 0x01;
const STRING: u8 = 0x02;
const OBJECT: u8 = 0x03;
const NULL: u8 = 0x05;
const UNDEFINED: u8 = 0x06;
const ECMA_ARRAY: u8 = 0x08;
const OBJECT_END: u8 = 0x09;
const STRICT_ARRAY: u8 = 0x0A;
const LONG_STRING: u8 = 0x0C;

/// One AMF0 value.
#[derive(Debug, Clone, PartialEq)]
pub enum Amf0 {
    /// IEEE 754 double (marker 0x00).
    Number(f64),
    /// Boolean (marker 0x01).
    Boolean(bool),
    /// UTF-8 string; encoded as String or Long String by length.
    String(String),
    /// Anonymous object: ordered key/value pairs (marker 0x03).
    Object(Vec<(String, Amf0)>),
    /// Null (marker 0x05).
    Null,
    /// Undefined (marker 0x06).
    Undefined,
    /// Associative array (marker 0x08).
    EcmaArray(Vec<(String, Amf0)>),
    /// Dense array (marker 0x0A).
    StrictArray(Vec<Amf0>),
}

/// Why an AMF0 byte string could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Amf0Error {
    /// The input ended in the middle of a value.
    #[error("AMF0 value truncated")]
    Truncated,
    /// A type marker this decoder does not handle.
    #[error("unsupported AMF0 marker 0x{0:02x}")]
    UnsupportedMarker(u8),
    /// Objects or arrays nested deeper than [`MAX_NESTING`].
    #[error("AMF0 nesting deeper than {MAX_NESTING}")]
    TooDeep,
    /// A string that is not UTF-8.
    #[error("AMF0 string is not UTF-8")]
    BadUtf8,
}

impl Amf0 {
    /// Appends the encoding of `self` to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Amf0::Number(n) => {
                out.push(NUMBER);
                out.extend_from_slice(&n.to_be_bytes());
            }
            Amf0::Boolean(b) => out.extend_from_slice(&[BOOLEAN, u8::from(*b)]),
            Amf0::String(s) if s.len() > 0xFFFF => {
                out.push(LONG_STRING);
                out.extend_from_slice(&(s.len() as u32).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Amf0::String(s) => {
                out.push(STRING);
                encode_utf8(s, out);
            }
            Amf0::Object(props) => {
                out.push(OBJECT);
                encode_props(props, out);
            }
            Amf0::Null => out.push(NULL),
            Amf0::Undefined => out.push(UNDEFINED),
            Amf0::EcmaArray(props) => {
                out.push(ECMA_ARRAY);
                out.extend_from_slice(&(props.len() as u32).to_be_bytes());
                encode_props(props, out);
            }
            Amf0::StrictArray(items) => {
                out.push(STRICT_ARRAY);
                out.extend_from_slice(&(items.len() as u32).to_be_bytes());
                for item in items {
                    item.encode(out);
                }
            }
        }
    }

    /// The string inside a `String` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Amf0::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number inside a `Number` value.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Amf0::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// Looks a key up in an `Object` or `EcmaArray`.
    pub fn get(&self, key: &str) -> Option<&Amf0> {
        match self {
            Amf0::Object(p) | Amf0::EcmaArray(p) => {
                p.iter().find(|(k, _)| k == key).map(|(_, v)| v)
            }
            _ => None,
        }
    }
}

fn encode_utf8(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn encode_props(props: &[(String, Amf0)], out: &mut Vec<u8>) {
    for (k, v) in props {
        encode_utf8(k, out);
        v.encode(out);
    }
    out.extend_from_slice(&[0, 0, OBJECT_END]);
}

/// Decodes every value in `buf` (a command message body is a sequence).
pub fn decode_all(buf: &[u8]) -> Result<Vec<Amf0>, Amf0Error> {
    let mut r = Reader { buf, pos: 0 };
    let mut values = Vec::new();
    while r.pos < buf.len() {
        values.push(r.value(0)?);
    }
    Ok(values)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Amf0Error> {
        let end = self.pos.checked_add(n).ok_or(Amf0Error::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(Amf0Error::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, Amf0Error> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, Amf0Error> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u32(&mut self) -> Result<usize, Amf0Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn utf8(&mut self, len: usize) -> Result<String, Amf0Error> {
        let b = self.take(len)?;
        String::from_utf8(b.to_vec()).map_err(|_| Amf0Error::BadUtf8)
    }

    fn props(&mut self, depth: usize) -> Result<Vec<(String, Amf0)>, Amf0Error> {
        let mut props = Vec::new();
        loop {
            let len = self.u16()?;
            if len == 0 && self.buf.get(self.pos) == Some(&OBJECT_END) {
                self.pos += 1;
                return Ok(props);
            }
            let key = self.utf8(len)?;
            props.push((key, self.value(depth + 1)?));
        }
    }

    fn value(&mut self, depth: usize) -> Result<Amf0, Amf0Error> {
        if depth > MAX_NESTING {
            return Err(Amf0Error::TooDeep);
        }
        Ok(match self.u8()? {
            NUMBER => {
                let b = self.take(8)?;
                Amf0::Number(f64::from_be_bytes(b.try_into().expect("8 bytes")))
            }
            BOOLEAN => Amf0::Boolean(self.u8()? != 0),
            STRING => {
                let len = self.u16()?;
                Amf0::String(self.utf8(len)?)
            }
            LONG_STRING => {
                let len = self.u32()?;
                Amf0::String(self.utf8(len)?)
            }
            OBJECT => Amf0::Object(self.props(depth)?),
            NULL => Amf0::Null,
            UNDEFINED => Amf0::Undefined,
            ECMA_ARRAY => {
                let _count_hint = self.u32()?;
                Amf0::EcmaArray(self.props(depth)?)
            }
            STRICT_ARRAY => {
                let count = self.u32()?;
                let mut items = Vec::with_capacity(count.min(1024));
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Amf0::StrictArray(items)
            }
            m => return Err(Amf0Error::UnsupportedMarker(m)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_bytes_of_connect_name_and_number() {
        let mut out = Vec::new();
        Amf0::String("connect".into()).encode(&mut out);
        Amf0::Number(1.0).encode(&mut out);
        assert_eq!(
            out,
            [
                0x02, 0x00, 0x07, b'c', b'o', b'n', b'n', b'e', b'c', b't', 0x00, 0x3F, 0xF0, 0, 0,
                0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn round_trip_of_every_kind() {
        let values = vec![
            Amf0::Number(-2.5),
            Amf0::Boolean(true),
            Amf0::String("live".into()),
            Amf0::Null,
            Amf0::Undefined,
            Amf0::Object(vec![
                ("app".into(), Amf0::String("live".into())),
                (
                    "nested".into(),
                    Amf0::Object(vec![("x".into(), Amf0::Null)]),
                ),
            ]),
            Amf0::EcmaArray(vec![("width".into(), Amf0::Number(640.0))]),
            Amf0::StrictArray(vec![Amf0::Number(1.0), Amf0::Boolean(false)]),
            Amf0::String("x".repeat(70_000)),
        ];
        let mut buf = Vec::new();
        for v in &values {
            v.encode(&mut buf);
        }
        assert_eq!(decode_all(&buf).unwrap(), values);
    }

    #[test]
    fn truncation_depth_and_markers_are_named_errors() {
        assert_eq!(decode_all(&[0x00, 1, 2]), Err(Amf0Error::Truncated));
        assert_eq!(decode_all(&[0x11]), Err(Amf0Error::UnsupportedMarker(0x11)));
        let deep = [STRICT_ARRAY, 0, 0, 0, 1].repeat(MAX_NESTING + 2);
        assert_eq!(decode_all(&deep), Err(Amf0Error::TooDeep));
    }
}

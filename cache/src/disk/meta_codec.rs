//! Binary encoding of [`ObjectMeta`] inside a record, with named limits so a damaged
//! or hostile store cannot make the decoder allocate without bound.
//!
//! Layout (little-endian): status `u16`; `stored_at_ms`, `fresh_until_ms`,
//! `stale_while_revalidate_ms`, `stale_if_error_ms` as `u64`; header count `u16`;
//! per header: name length `u16`, value length `u32`, name, value. A full decode
//! rejects trailing bytes.

use crate::object::ObjectMeta;

/// Most headers one stored object may carry.
pub const MAX_HEADERS: usize = 256;
/// Longest header name.
pub const MAX_HEADER_NAME_BYTES: usize = 1024;
/// Longest header value.
pub const MAX_HEADER_VALUE_BYTES: usize = 64 * 1024;
/// Largest encoded metadata.
pub const MAX_META_BYTES: usize = 1024 * 1024;

/// Bytes of the fixed part (status and four instants, header count).
const FIXED_BYTES: usize = 2 + 4 * 8 + 2;

/// Why metadata cannot be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MetaError {
    /// The encoded metadata ends before a field.
    #[error("metadata truncated")]
    Truncated,
    /// More than [`MAX_HEADERS`] headers.
    #[error("{0} headers exceed the limit")]
    TooManyHeaders(usize),
    /// A header name longer than [`MAX_HEADER_NAME_BYTES`].
    #[error("header name of {0} bytes exceeds the limit")]
    HeaderNameTooLong(usize),
    /// A header value longer than [`MAX_HEADER_VALUE_BYTES`].
    #[error("header value of {0} bytes exceeds the limit")]
    HeaderValueTooLong(usize),
    /// Metadata (or a body length) larger than the format can hold.
    #[error("{0} bytes exceed the record's limit")]
    TooLarge(usize),
    /// A header name or value is not UTF-8.
    #[error("header not UTF-8")]
    NotUtf8,
    /// Bytes left after the last header.
    #[error("{0} trailing bytes after the metadata")]
    TrailingBytes(usize),
}

/// Appends the encoding of `meta` to `out`.
pub(crate) fn encode(meta: &ObjectMeta, out: &mut Vec<u8>) -> Result<(), MetaError> {
    if meta.headers.len() > MAX_HEADERS {
        return Err(MetaError::TooManyHeaders(meta.headers.len()));
    }
    let start = out.len();
    out.extend_from_slice(&meta.status.to_le_bytes());
    for t in [
        meta.stored_at_ms,
        meta.fresh_until_ms,
        meta.stale_while_revalidate_ms,
        meta.stale_if_error_ms,
    ] {
        out.extend_from_slice(&t.to_le_bytes());
    }
    out.extend_from_slice(&(meta.headers.len() as u16).to_le_bytes());
    for (name, value) in &meta.headers {
        if name.len() > MAX_HEADER_NAME_BYTES {
            return Err(MetaError::HeaderNameTooLong(name.len()));
        }
        if value.len() > MAX_HEADER_VALUE_BYTES {
            return Err(MetaError::HeaderValueTooLong(value.len()));
        }
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    let len = out.len() - start;
    if len > MAX_META_BYTES {
        return Err(MetaError::TooLarge(len));
    }
    Ok(())
}

/// Decodes metadata that fills `bytes` exactly.
pub(crate) fn decode(bytes: &[u8]) -> Result<ObjectMeta, MetaError> {
    if bytes.len() > MAX_META_BYTES {
        return Err(MetaError::TooLarge(bytes.len()));
    }
    if bytes.len() < FIXED_BYTES {
        return Err(MetaError::Truncated);
    }
    let mut r = Reader { bytes, at: 0 };
    let status = u16::from_le_bytes(r.take::<2>()?);
    let stored_at_ms = u64::from_le_bytes(r.take::<8>()?);
    let fresh_until_ms = u64::from_le_bytes(r.take::<8>()?);
    let stale_while_revalidate_ms = u64::from_le_bytes(r.take::<8>()?);
    let stale_if_error_ms = u64::from_le_bytes(r.take::<8>()?);
    let count = usize::from(u16::from_le_bytes(r.take::<2>()?));
    if count > MAX_HEADERS {
        return Err(MetaError::TooManyHeaders(count));
    }
    let mut headers = Vec::with_capacity(count);
    for _ in 0..count {
        let name_len = usize::from(u16::from_le_bytes(r.take::<2>()?));
        let value_len = u32::from_le_bytes(r.take::<4>()?) as usize;
        if name_len > MAX_HEADER_NAME_BYTES {
            return Err(MetaError::HeaderNameTooLong(name_len));
        }
        if value_len > MAX_HEADER_VALUE_BYTES {
            return Err(MetaError::HeaderValueTooLong(value_len));
        }
        let name = r.string(name_len)?;
        let value = r.string(value_len)?;
        headers.push((name, value));
    }
    let rest = bytes.len() - r.at;
    if rest != 0 {
        return Err(MetaError::TrailingBytes(rest));
    }
    Ok(ObjectMeta {
        status,
        headers,
        stored_at_ms,
        fresh_until_ms,
        stale_while_revalidate_ms,
        stale_if_error_ms,
    })
}

/// A bounds-checked cursor over the encoded metadata.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn slice(&mut self, n: usize) -> Result<&[u8], MetaError> {
        let end = self.at.checked_add(n).ok_or(MetaError::Truncated)?;
        let s = self.bytes.get(self.at..end).ok_or(MetaError::Truncated)?;
        self.at = end;
        Ok(s)
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], MetaError> {
        Ok(self.slice(N)?.try_into().expect("slice of N bytes"))
    }

    fn string(&mut self, n: usize) -> Result<String, MetaError> {
        let s = self.slice(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| MetaError::NotUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(headers: Vec<(String, String)>) -> ObjectMeta {
        ObjectMeta {
            status: 404,
            headers,
            stored_at_ms: 10,
            fresh_until_ms: u64::MAX,
            stale_while_revalidate_ms: 0,
            stale_if_error_ms: 12,
        }
    }

    #[test]
    fn round_trips_with_and_without_headers() {
        for m in [
            meta(vec![]),
            meta(vec![
                ("cache-control".into(), "max-age=1".into()),
                ("etag".into(), "\"ü\"".into()),
            ]),
        ] {
            let mut out = Vec::new();
            encode(&m, &mut out).unwrap();
            assert_eq!(decode(&out).unwrap(), m);
            assert_eq!(
                decode(&out[..out.len() - 1]).unwrap_err(),
                MetaError::Truncated
            );
            out.push(0);
            assert_eq!(decode(&out).unwrap_err(), MetaError::TrailingBytes(1));
        }
    }

    #[test]
    fn limits_are_enforced_both_ways() {
        let many = meta(vec![("a".into(), "b".into()); MAX_HEADERS + 1]);
        assert_eq!(
            encode(&many, &mut Vec::new()).unwrap_err(),
            MetaError::TooManyHeaders(MAX_HEADERS + 1)
        );
        let long = meta(vec![("a".into(), "v".repeat(MAX_HEADER_VALUE_BYTES + 1))]);
        assert!(matches!(
            encode(&long, &mut Vec::new()),
            Err(MetaError::HeaderValueTooLong(_))
        ));
        // A stored header count above the limit is refused before allocating.
        let mut out = Vec::new();
        encode(&meta(vec![]), &mut out).unwrap();
        let n = out.len();
        out[n - 2..].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(
            decode(&out).unwrap_err(),
            MetaError::TooManyHeaders(usize::from(u16::MAX))
        );
        assert_eq!(FIXED_BYTES, n);
    }
}

//! The record codec: one object or tombstone as it lies in a segment.
//!
//! The layout is documented in the [module guide](super). Encoding is split in two
//! so the writer never copies a body: `RecordHead::encode` builds the header, key
//! and metadata; `RecordHead::seal` stamps the segment epoch and the xxh3-64
//! checksum over head and body. `decode` verifies a complete copy of a record and
//! borrows key, metadata and body out of it.

use xxhash_rust::xxh3::Xxh3;

use super::meta_codec::{self, MetaError};
use crate::object::ObjectMeta;

/// Bytes of the fixed record header.
pub const RECORD_HEADER_BYTES: usize = 32;
/// Records start on multiples of this many bytes.
pub const RECORD_ALIGN: usize = 8;
/// Longest key a record may carry (also the limit [`DiskTier::put`](super::DiskTier::put) enforces).
pub const MAX_KEY_BYTES: usize = 4096;
/// `FCR1`: first bytes of every record.
pub const RECORD_MAGIC: [u8; 4] = *b"FCR1";
/// The record layout version this code writes and reads.
pub const RECORD_VERSION: u8 = 1;

/// What a record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordKind {
    /// A cached object: key, metadata, body.
    Object = 1,
    /// A purge of one key (tombstone).
    RemoveKey = 2,
    /// A purge of every key starting with the record's key (tombstone).
    RemovePrefix = 3,
}

impl RecordKind {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(RecordKind::Object),
            2 => Some(RecordKind::RemoveKey),
            3 => Some(RecordKind::RemovePrefix),
            _ => None,
        }
    }
}

/// Why bytes are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RecordError {
    /// Fewer bytes than the header or than the lengths it announces.
    #[error("record truncated")]
    Truncated,
    /// The first four bytes are not `FCR1`.
    #[error("bad record magic")]
    BadMagic,
    /// A version this code does not read.
    #[error("unsupported record version {0}")]
    UnsupportedVersion(u8),
    /// A kind byte this code does not know.
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
    /// The key is longer than [`MAX_KEY_BYTES`].
    #[error("record key of {0} bytes exceeds the limit")]
    KeyTooLong(usize),
    /// The key is not UTF-8.
    #[error("record key is not UTF-8")]
    KeyNotUtf8,
    /// A tombstone carries metadata or a body.
    #[error("tombstone with metadata or body")]
    TombstoneWithPayload,
    /// The stored checksum does not match the bytes.
    #[error("record checksum mismatch")]
    ChecksumMismatch,
    /// The metadata does not decode.
    #[error("record metadata: {0}")]
    Meta(#[from] MetaError),
}

/// The fixed header of a record, parsed but not yet checksum-verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub(crate) kind: RecordKind,
    pub(crate) checksum: u64,
    pub(crate) epoch: u64,
    pub(crate) key_len: usize,
    pub(crate) meta_len: usize,
    pub(crate) body_len: usize,
}

impl RecordHeader {
    /// Parses the first [`RECORD_HEADER_BYTES`] of `bytes`.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, RecordError> {
        let h = bytes
            .get(..RECORD_HEADER_BYTES)
            .ok_or(RecordError::Truncated)?;
        if h[0..4] != RECORD_MAGIC {
            return Err(RecordError::BadMagic);
        }
        if h[4] != RECORD_VERSION {
            return Err(RecordError::UnsupportedVersion(h[4]));
        }
        let kind = RecordKind::from_byte(h[5]).ok_or(RecordError::UnknownKind(h[5]))?;
        let key_len = usize::from(u16::from_le_bytes([h[6], h[7]]));
        if key_len > MAX_KEY_BYTES {
            return Err(RecordError::KeyTooLong(key_len));
        }
        let meta_len = u32_at(h, 24) as usize;
        let body_len = u32_at(h, 28) as usize;
        if kind != RecordKind::Object && (meta_len != 0 || body_len != 0) {
            return Err(RecordError::TombstoneWithPayload);
        }
        Ok(RecordHeader {
            kind,
            checksum: u64_at(h, 8),
            epoch: u64_at(h, 16),
            key_len,
            meta_len,
            body_len,
        })
    }

    /// Bytes from the header's start to the end of the body (no padding).
    pub(crate) fn unpadded_len(&self) -> usize {
        RECORD_HEADER_BYTES + self.key_len + self.meta_len + self.body_len
    }

    /// Bytes the record occupies in a segment, padding included.
    pub(crate) fn stored_len(&self) -> usize {
        padded(self.unpadded_len())
    }
}

/// A record verified by [`decode`], borrowing from the copy it was decoded from.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    pub(crate) header: RecordHeader,
    pub(crate) key: &'a str,
    /// Present for [`RecordKind::Object`].
    pub(crate) meta: Option<ObjectMeta>,
    /// Where the body lies in the decoded bytes.
    pub(crate) body: std::ops::Range<usize>,
}

/// Verifies and decodes one complete record at the start of `bytes` (trailing bytes,
/// e.g. padding, are ignored).
pub(crate) fn decode(bytes: &[u8]) -> Result<Record<'_>, RecordError> {
    decode_with(bytes, None)
}

/// [`decode`] for a copy whose checksum was computed while it was made:
/// `checksum_of_bytes` is [`RecordHasher`]'s digest of exactly `bytes`, which must
/// hold the unpadded record and nothing more.
pub(crate) fn decode_hashed(
    bytes: &[u8],
    checksum_of_bytes: u64,
) -> Result<Record<'_>, RecordError> {
    decode_with(bytes, Some(checksum_of_bytes))
}

fn decode_with(bytes: &[u8], precomputed: Option<u64>) -> Result<Record<'_>, RecordError> {
    let header = RecordHeader::parse(bytes)?;
    let end = header.unpadded_len();
    let rec = bytes.get(..end).ok_or(RecordError::Truncated)?;
    let sum = match precomputed {
        Some(sum) if end == bytes.len() => sum,
        Some(_) => return Err(RecordError::Truncated),
        None => checksum(rec),
    };
    if sum != header.checksum {
        return Err(RecordError::ChecksumMismatch);
    }
    let key_end = RECORD_HEADER_BYTES + header.key_len;
    let key = std::str::from_utf8(&rec[RECORD_HEADER_BYTES..key_end])
        .map_err(|_| RecordError::KeyNotUtf8)?;
    let meta_end = key_end + header.meta_len;
    let meta = match header.kind {
        RecordKind::Object => Some(meta_codec::decode(&rec[key_end..meta_end])?),
        RecordKind::RemoveKey | RecordKind::RemovePrefix => None,
    };
    Ok(Record {
        header,
        key,
        meta,
        body: meta_end..end,
    })
}

/// Header, key and metadata of a record about to be written.
#[derive(Debug)]
pub(crate) struct RecordHead {
    bytes: Vec<u8>,
    body_len: usize,
}

impl RecordHead {
    /// Encodes everything but the body. Fails if the key or metadata exceed the limits
    /// or the body's length does not fit the header field.
    pub(crate) fn encode(
        kind: RecordKind,
        key: &str,
        meta: Option<&ObjectMeta>,
        body_len: usize,
    ) -> Result<Self, RecordError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(RecordError::KeyTooLong(key.len()));
        }
        let mut bytes = Vec::with_capacity(RECORD_HEADER_BYTES + key.len() + 256);
        bytes.extend_from_slice(&RECORD_MAGIC);
        bytes.push(RECORD_VERSION);
        bytes.push(kind as u8);
        bytes.extend_from_slice(&(key.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&[0; 16]); // checksum and epoch, stamped by `seal`
        bytes.extend_from_slice(&[0; 8]); // lengths, filled below
        bytes.extend_from_slice(key.as_bytes());
        let meta_start = bytes.len();
        if let Some(meta) = meta {
            meta_codec::encode(meta, &mut bytes)?;
        }
        let meta_len = bytes.len() - meta_start;
        let body_len32 = u32::try_from(body_len).map_err(|_| MetaError::TooLarge(body_len))?;
        bytes[24..28].copy_from_slice(&(meta_len as u32).to_le_bytes());
        bytes[28..32].copy_from_slice(&body_len32.to_le_bytes());
        Ok(RecordHead { bytes, body_len })
    }

    /// Bytes the record will occupy in a segment, padding included.
    pub(crate) fn stored_len(&self) -> usize {
        padded(self.bytes.len() + self.body_len)
    }

    /// Stamps the epoch and the checksum over head and `body`; returns the head bytes
    /// and the zero padding to write after the body.
    pub(crate) fn seal(&mut self, epoch: u64, body: &[u8]) -> (&[u8], &'static [u8]) {
        debug_assert_eq!(body.len(), self.body_len);
        self.bytes[16..24].copy_from_slice(&epoch.to_le_bytes());
        let mut h = RecordHasher::new();
        h.update(&self.bytes);
        h.update(body);
        let sum = h.digest();
        self.bytes[8..16].copy_from_slice(&sum.to_le_bytes());
        const ZEROS: [u8; RECORD_ALIGN] = [0; RECORD_ALIGN];
        let pad = self.stored_len() - self.bytes.len() - body.len();
        (&self.bytes, &ZEROS[..pad])
    }
}

/// The checksum of an unpadded record: xxh3-64 of everything but the checksum field
/// itself (header bytes 8..16).
fn checksum(record: &[u8]) -> u64 {
    let mut h = RecordHasher::new();
    h.update(record);
    h.digest()
}

/// Computes a record's checksum over its bytes fed in order, in pieces of any size
/// (a reader hashes each piece it copies while it is still in cache).
pub(crate) struct RecordHasher {
    h: Xxh3,
    pos: usize,
}

/// Where the checksum field lies in a record; it is not part of its own input.
const CHECKSUM_FIELD: std::ops::Range<usize> = 8..16;

impl RecordHasher {
    pub(crate) fn new() -> Self {
        Self {
            h: Xxh3::new(),
            pos: 0,
        }
    }

    /// Feeds the next `piece` of the record.
    pub(crate) fn update(&mut self, piece: &[u8]) {
        let start = self.pos;
        self.pos += piece.len();
        if self.pos <= CHECKSUM_FIELD.start || start >= CHECKSUM_FIELD.end {
            self.h.update(piece);
            return;
        }
        let before = CHECKSUM_FIELD.start.saturating_sub(start).min(piece.len());
        let after = (CHECKSUM_FIELD.end - start).min(piece.len());
        self.h.update(&piece[..before]);
        self.h.update(&piece[after..]);
    }

    pub(crate) fn digest(&self) -> u64 {
        self.h.digest()
    }
}

/// `len` rounded up to [`RECORD_ALIGN`].
pub(crate) fn padded(len: usize) -> usize {
    len.div_ceil(RECORD_ALIGN) * RECORD_ALIGN
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_in_pieces_of_any_size_gives_the_whole_record_checksum() {
        let record: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        let whole = checksum(&record);
        for piece in [1, 3, 7, 8, 9, 15, 16, 17, 31, 64, 299, 300] {
            let mut h = RecordHasher::new();
            for chunk in record.chunks(piece) {
                h.update(chunk);
            }
            assert_eq!(h.digest(), whole, "pieces of {piece}");
        }
        let mut flipped = record.clone();
        flipped[12] ^= 1; // inside the checksum field: not covered
        assert_eq!(checksum(&flipped), whole);
        flipped[16] ^= 1;
        assert_ne!(checksum(&flipped), whole);
    }

    fn sample_meta() -> ObjectMeta {
        ObjectMeta {
            status: 200,
            headers: vec![("content-type".into(), "video/mp4".into())],
            stored_at_ms: 1,
            fresh_until_ms: 2,
            stale_while_revalidate_ms: 3,
            stale_if_error_ms: 4,
        }
    }

    fn build(kind: RecordKind, key: &str, meta: Option<&ObjectMeta>, body: &[u8]) -> Vec<u8> {
        let mut head = RecordHead::encode(kind, key, meta, body.len()).unwrap();
        let len = head.stored_len();
        let (h, pad) = head.seal(7, body);
        let out = [h, body, pad].concat();
        assert_eq!(out.len(), len);
        assert_eq!(out.len() % RECORD_ALIGN, 0);
        out
    }

    #[test]
    fn object_round_trips() {
        let meta = sample_meta();
        let bytes = build(
            RecordKind::Object,
            "/live/a/seg1.m4s",
            Some(&meta),
            b"body!",
        );
        let rec = decode(&bytes).unwrap();
        assert_eq!(rec.header.kind, RecordKind::Object);
        assert_eq!(rec.header.epoch, 7);
        assert_eq!(rec.key, "/live/a/seg1.m4s");
        assert_eq!(rec.meta.as_ref(), Some(&meta));
        assert_eq!(&bytes[rec.body.clone()], b"body!");
        assert_eq!(rec.header.stored_len(), bytes.len());
    }

    #[test]
    fn tombstone_round_trips() {
        let bytes = build(RecordKind::RemovePrefix, "/live/a/", None, b"");
        let rec = decode(&bytes).unwrap();
        assert_eq!(rec.header.kind, RecordKind::RemovePrefix);
        assert_eq!(rec.key, "/live/a/");
        assert!(rec.meta.is_none());
    }

    #[test]
    fn any_flipped_byte_is_caught() {
        let meta = sample_meta();
        let bytes = build(RecordKind::Object, "k", Some(&meta), b"0123456789");
        let unpadded = RecordHeader::parse(&bytes).unwrap().unpadded_len();
        for i in 0..unpadded {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(decode(&bad).is_err(), "flip at byte {i} went unnoticed");
        }
    }

    #[test]
    fn short_copies_and_long_keys_are_refused() {
        let bytes = build(RecordKind::Object, "k", Some(&sample_meta()), b"abc");
        assert_eq!(decode(&bytes[..10]).unwrap_err(), RecordError::Truncated);
        assert_eq!(decode(&bytes[..40]).unwrap_err(), RecordError::Truncated);
        let long = "x".repeat(MAX_KEY_BYTES + 1);
        assert_eq!(
            RecordHead::encode(RecordKind::RemoveKey, &long, None, 0).unwrap_err(),
            RecordError::KeyTooLong(MAX_KEY_BYTES + 1)
        );
    }
}

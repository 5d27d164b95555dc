//! A zero-copy byte cursor over a configuration record: fixed-width big-endian reads
//! and `Bytes` sub-slices (parameter sets, OBUs) that share the record's allocation.

use bytes::Bytes;

use super::CodecError;

/// Reads big-endian fields from a [`Bytes`] without copying.
#[derive(Debug, Clone)]
pub(crate) struct ByteReader {
    buf: Bytes,
    pos: usize,
    codec: &'static str,
}

#[allow(dead_code)] // Not every parser needs every reader.
impl ByteReader {
    /// A cursor at the start of `buf`; errors name `codec`.
    pub(crate) fn new(codec: &'static str, buf: Bytes) -> Self {
        Self { buf, pos: 0, codec }
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next `n` bytes as a slice of the underlying buffer.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<Bytes, CodecError> {
        if self.remaining() < n {
            return Err(CodecError::Truncated {
                codec: self.codec,
                what,
            });
        }
        let out = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(out)
    }

    /// Everything not yet read.
    pub(crate) fn rest(&mut self) -> Bytes {
        let out = self.buf.slice(self.pos..);
        self.pos = self.buf.len();
        out
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CodecError> {
        let s = self
            .buf
            .get(self.pos..self.pos + N)
            .ok_or(CodecError::Truncated {
                codec: self.codec,
                what,
            })?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        self.pos += N;
        Ok(a)
    }

    /// One byte.
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, CodecError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Big-endian u16.
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, CodecError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// Big-endian u32.
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, CodecError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// A u16-length-prefixed unit (parameter set in `avcC`/`hvcC`).
    pub(crate) fn u16_prefixed(&mut self, what: &'static str) -> Result<Bytes, CodecError> {
        let len = usize::from(self.u16(what)?);
        self.take(len, what)
    }
}

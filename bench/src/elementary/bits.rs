//! # Bit reader for codec headers
//!
//! MSB-first reads (`u(n)` in H.26x and `f(n)` in AV1), Exp-Golomb
//! `ue(v)` (H.265 §9.2), AV1 `leb128()` on byte-aligned input, and removal
//! of H.26x emulation prevention bytes (`00 00 03` → `00 00`, §7.4.2).

use super::EsError;

/// Reads bits MSB first from a byte slice.
pub struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> BitReader<'a> {
    /// A reader over `data`; `what` names the structure in errors.
    pub fn new(data: &'a [u8], what: &'static str) -> Self {
        BitReader { data, pos: 0, what }
    }

    /// Bits consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// One bit.
    pub fn bit(&mut self) -> Result<bool, EsError> {
        let byte = self
            .data
            .get(self.pos / 8)
            .ok_or(EsError::Truncated(self.what))?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(b == 1)
    }

    /// `n` bits (n ≤ 64) as an unsigned number.
    pub fn bits(&mut self, n: u32) -> Result<u64, EsError> {
        let mut v = 0u64;
        for _ in 0..n {
            v = v << 1 | u64::from(self.bit()?);
        }
        Ok(v)
    }

    /// Skips `n` bits.
    pub fn skip(&mut self, n: usize) -> Result<(), EsError> {
        if self.pos + n > self.data.len() * 8 {
            return Err(EsError::Truncated(self.what));
        }
        self.pos += n;
        Ok(())
    }

    /// Exp-Golomb unsigned `ue(v)`.
    pub fn ue(&mut self) -> Result<u64, EsError> {
        let mut zeros = 0;
        while !self.bit()? {
            zeros += 1;
            if zeros > 32 {
                return Err(EsError::Invalid(self.what));
            }
        }
        Ok((1u64 << zeros) - 1 + self.bits(zeros)?)
    }

    /// AV1 `uvlc()` (§4.10.3).
    pub fn uvlc(&mut self) -> Result<u64, EsError> {
        let mut zeros = 0;
        while !self.bit()? {
            zeros += 1;
            if zeros >= 32 {
                return Ok(u64::from(u32::MAX));
            }
        }
        Ok(self.bits(zeros)? + (1u64 << zeros) - 1)
    }
}

/// Reads an AV1 `leb128()` from the start of `data`: (value, bytes used).
pub fn leb128(data: &[u8]) -> Result<(u64, usize), EsError> {
    let mut v = 0u64;
    for (i, b) in data.iter().take(8).enumerate() {
        v |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((v, i + 1));
        }
    }
    Err(EsError::Truncated("leb128"))
}

/// Writes an AV1 `leb128()`.
pub fn write_leb128(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Removes H.26x emulation prevention bytes from a NAL unit.
pub fn unescape_rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_bits_and_leb128() {
        // 1 | 010 | 011 | 00100 → ue 0, 1, 2, 3
        let data = [0b1010_0110, 0b0100_0000];
        let mut r = BitReader::new(&data, "t");
        assert_eq!(
            [
                r.ue().unwrap(),
                r.ue().unwrap(),
                r.ue().unwrap(),
                r.ue().unwrap()
            ],
            [0, 1, 2, 3]
        );
        assert_eq!(r.position(), 12);
        let mut v = Vec::new();
        write_leb128(300, &mut v);
        assert_eq!(v, [0xAC, 0x02]);
        assert_eq!(leb128(&v).unwrap(), (300, 2));
        assert_eq!(unescape_rbsp(&[0, 0, 3, 1, 0, 0, 3]), [0, 0, 1, 0, 0]);
        assert!(BitReader::new(&[], "t").bit().is_err());
    }
}

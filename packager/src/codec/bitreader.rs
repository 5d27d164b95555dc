//! An MSB-first bit reader with Exp-Golomb support (ITU-T H.264 §9.1), shared by the
//! SPS and sequence-header parsers, plus the emulation-prevention removal that turns a
//! NAL unit's payload into its RBSP (ITU-T H.264 §7.4.1, H.265 §7.4.2).
//!
//! Every read is bounds-checked and returns [`BitError`] instead of panicking, so the
//! codec parsers can feed it hostile bytes.

/// Reading ran past the end of the data, or an Exp-Golomb code was too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitError {
    /// The data ended inside a field.
    Eof,
    /// An Exp-Golomb code had more than 31 leading zero bits (value would exceed u32).
    ExpGolombTooLong,
}

/// Reads bits most-significant first from a byte slice.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits from the start of `data`.
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader positioned at the first bit of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Bits not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len() * 8 - self.pos
    }

    /// Bits read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// `u(1)`: one bit.
    pub fn bit(&mut self) -> Result<bool, BitError> {
        let byte = *self.data.get(self.pos / 8).ok_or(BitError::Eof)?;
        let bit = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos += 1;
        Ok(bit == 1)
    }

    /// `u(n)` for `n <= 64`.
    pub fn bits(&mut self, n: u32) -> Result<u64, BitError> {
        debug_assert!(n <= 64);
        if self.remaining() < n as usize {
            return Err(BitError::Eof);
        }
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        Ok(v)
    }

    /// `u(n)` for `n <= 32`, as `u32`.
    pub fn bits32(&mut self, n: u32) -> Result<u32, BitError> {
        debug_assert!(n <= 32);
        // n <= 32 so the value fits.
        Ok(self.bits(n)? as u32)
    }

    /// Skips `n` bits.
    pub fn skip(&mut self, n: usize) -> Result<(), BitError> {
        if self.remaining() < n {
            return Err(BitError::Eof);
        }
        self.pos += n;
        Ok(())
    }

    /// `ue(v)`: unsigned Exp-Golomb (H.264 §9.1): `2^lz - 1 + u(lz)`.
    pub fn ue(&mut self) -> Result<u32, BitError> {
        let mut leading_zeros = 0u32;
        while !self.bit()? {
            leading_zeros += 1;
            if leading_zeros > 31 {
                return Err(BitError::ExpGolombTooLong);
            }
        }
        let suffix = self.bits(leading_zeros)?;
        let v = (1u64 << leading_zeros) - 1 + suffix;
        u32::try_from(v).map_err(|_| BitError::ExpGolombTooLong)
    }

    /// `se(v)`: signed Exp-Golomb (H.264 §9.1.1): k maps to (-1)^(k+1) * ceil(k/2).
    pub fn se(&mut self) -> Result<i32, BitError> {
        let k = i64::from(self.ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        // |v| <= 2^31, and -2^31 fits while +2^31 cannot occur (k odd < 2^32 - 1).
        i32::try_from(v).map_err(|_| BitError::ExpGolombTooLong)
    }
}

/// Removes emulation-prevention bytes: every `00 00 03` becomes `00 00`
/// (H.264 §7.4.1 `emulation_prevention_three_byte`, same rule in H.265 §7.4.2).
///
/// Returns the RBSP. Copies, because the result is only used for header parsing.
pub fn nal_to_rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0usize;
    for &b in nal {
        if zeros >= 2 && b == 0x03 {
            zeros = 0;
            continue;
        }
        if b == 0 {
            zeros += 1;
        } else {
            zeros = 0;
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exp_golomb_values() {
        // 1 | 010 | 011 | 00100 | 00101 -> ue 0,1,2,3,4
        let data = [0b1010_0110, 0b0100_0010, 0b1000_0000];
        let mut r = BitReader::new(&data);
        assert_eq!(r.ue(), Ok(0));
        assert_eq!(r.ue(), Ok(1));
        assert_eq!(r.ue(), Ok(2));
        assert_eq!(r.ue(), Ok(3));
        assert_eq!(r.ue(), Ok(4));
        let data = [0b1010_0110, 0b0100_0010, 0b1000_0000];
        let mut r = BitReader::new(&data);
        assert_eq!(r.se(), Ok(0));
        assert_eq!(r.se(), Ok(1));
        assert_eq!(r.se(), Ok(-1));
        assert_eq!(r.se(), Ok(2));
        assert_eq!(r.se(), Ok(-2));
    }

    #[test]
    fn fixed_bits_and_eof() {
        let mut r = BitReader::new(&[0xA5, 0xFF]);
        assert_eq!(r.bits(4), Ok(0xA));
        assert_eq!(r.bits32(8), Ok(0x5F));
        assert_eq!(r.remaining(), 4);
        assert_eq!(r.bits(5), Err(BitError::Eof));
        assert_eq!(r.skip(4), Ok(()));
        assert_eq!(r.bit(), Err(BitError::Eof));
    }

    #[test]
    fn ue_max_and_too_long() {
        // 31 zeros, a one, 31 ones -> 2^32 - 2.
        let mut bits = vec![0u8; 3];
        bits.push(0b0000_0001);
        bits.extend([0xFF; 4]);
        let mut r = BitReader::new(&bits);
        assert_eq!(r.ue(), Ok(u32::MAX - 1));
        let zeros = [0u8; 8];
        assert_eq!(BitReader::new(&zeros).ue(), Err(BitError::ExpGolombTooLong));
    }

    #[test]
    fn emulation_prevention_removed() {
        assert_eq!(
            nal_to_rbsp(&[0, 0, 3, 1, 0, 0, 3, 0, 0, 3]),
            vec![0, 0, 1, 0, 0, 0, 0]
        );
        assert_eq!(nal_to_rbsp(&[0, 3, 0, 0, 0, 3]), vec![0, 3, 0, 0, 0]);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut r = BitReader::new(&data);
            while r.ue().is_ok() && r.se().is_ok() && r.bits(13).is_ok() {}
            let _ = nal_to_rbsp(&data);
        }
    }
}

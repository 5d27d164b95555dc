//! The server side of the RTMP handshake: simple (RTMP spec §5.2) and digest
//! ("complex", the Flash Player 9 scheme some encoders still send).
//!
//! Simple: C0 = version 3, C1 = time + zero + 1528 random bytes; we answer S0, S1
//! (our random) and S2 (an echo of C1), then wait for C2 (§5.2.2–§5.2.4).
//!
//! Digest: C1 carries a non-zero version at bytes 4..8 and an HMAC-SHA256 digest
//! inside one of two 764-byte blocks. The digest position is
//! `(b0 + b1 + b2 + b3) % 728 + base + 4`, where `b0..b3` are the four bytes at
//! `base` and `base` is 8 (scheme 0: digest block first) or 772 (scheme 1: key block
//! first). The digest is HMAC-SHA256 over C1 without its 32 digest bytes, keyed
//! with the first 30 bytes of the Flash Player key. A server that recognises it
//! answers with S1 digested the same way with the first 36 bytes of the Media
//! Server key, and S2 = 1504 random bytes + HMAC(HMAC(full server key, C1 digest),
//! those bytes). If no scheme verifies, we fall back to the simple answer.

use bytes::{Buf, Bytes, BytesMut};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::RtmpError;

/// Size of C1/S1/C2/S2 (§5.2.3).
pub const HANDSHAKE_SIZE: usize = 1536;
/// The only RTMP version we speak (§5.2.2).
pub const RTMP_VERSION: u8 = 3;
const DIGEST_LEN: usize = 32;

/// "Genuine Adobe Flash Media Server 001" followed by 32 constant bytes.
pub const SERVER_KEY: [u8; 68] = concat_key(b"Genuine Adobe Flash Media Server 001");
/// "Genuine Adobe Flash Player 001" followed by the same 32 constant bytes.
pub const CLIENT_KEY: [u8; 62] = concat_key(b"Genuine Adobe Flash Player 001");
/// Bytes of [`SERVER_KEY`] used for the S1 digest.
pub const SERVER_KEY_PUBLIC_LEN: usize = 36;
/// Bytes of [`CLIENT_KEY`] used for the C1 digest.
pub const CLIENT_KEY_PUBLIC_LEN: usize = 30;
/// The version we announce in a digest S1 (an FMS-like version).
const SERVER_VERSION: [u8; 4] = [0x0d, 0x0e, 0x0a, 0x0d];

const KEY_TAIL: [u8; 32] = [
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
    0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
];

const fn concat_key<const N: usize>(text: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < text.len() {
        out[i] = text[i];
        i += 1;
    }
    let mut j = 0;
    while j < KEY_TAIL.len() {
        out[i + j] = KEY_TAIL[j];
        j += 1;
    }
    out
}

/// Which 764-byte block holds the digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestScheme {
    /// Digest block at offset 8 (FP9 "scheme 0").
    DigestFirst,
    /// Digest block at offset 772 (FP9 "scheme 1").
    KeyFirst,
}

/// Where the 32 digest bytes sit in a 1536-byte C1/S1 under `scheme`.
pub fn digest_offset(packet: &[u8], scheme: DigestScheme) -> usize {
    let base = match scheme {
        DigestScheme::DigestFirst => 8,
        DigestScheme::KeyFirst => 772,
    };
    let sum: usize = packet[base..base + 4].iter().map(|b| usize::from(*b)).sum();
    sum % 728 + base + 4
}

/// HMAC-SHA256 of `parts` concatenated, keyed with `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// The digest of `packet` excluding the 32 bytes at `offset`.
pub fn packet_digest(packet: &[u8], offset: usize, key: &[u8]) -> [u8; DIGEST_LEN] {
    hmac_sha256(key, &[&packet[..offset], &packet[offset + DIGEST_LEN..]])
}

/// Finds the scheme under which `c1` carries a valid client digest.
pub fn find_client_digest(c1: &[u8]) -> Option<(DigestScheme, [u8; DIGEST_LEN])> {
    [DigestScheme::DigestFirst, DigestScheme::KeyFirst]
        .into_iter()
        .find_map(|scheme| {
            let off = digest_offset(c1, scheme);
            let expected = packet_digest(c1, off, &CLIENT_KEY[..CLIENT_KEY_PUBLIC_LEN]);
            (expected[..] == c1[off..off + DIGEST_LEN]).then(|| {
                let mut d = [0u8; DIGEST_LEN];
                d.copy_from_slice(&c1[off..off + DIGEST_LEN]);
                (scheme, d)
            })
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitC0C1,
    AwaitC2,
    Done,
}

/// Server handshake state machine. Consumes from the session's input buffer and
/// queues S0+S1+S2 as one transmit.
#[derive(Debug)]
pub struct Handshake {
    state: State,
    digest: Option<DigestScheme>,
}

impl Default for Handshake {
    fn default() -> Self {
        Self::new()
    }
}

impl Handshake {
    /// A handshake waiting for C0+C1.
    pub fn new() -> Self {
        Self {
            state: State::AwaitC0C1,
            digest: None,
        }
    }

    /// Whether C2 has been received.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The digest scheme the client used, if it sent a verifiable digest C1.
    pub fn digest_scheme(&self) -> Option<DigestScheme> {
        self.digest
    }

    /// Consumes what it can from `input`; returns bytes to send, if any. Returns
    /// `Ok(None)` while waiting for more bytes.
    pub fn advance(&mut self, input: &mut BytesMut) -> Result<Option<Bytes>, RtmpError> {
        match self.state {
            State::AwaitC0C1 => {
                if let Some(&version) = input.first() {
                    if version != RTMP_VERSION {
                        return Err(RtmpError::UnsupportedVersion(version));
                    }
                }
                if input.len() < 1 + HANDSHAKE_SIZE {
                    return Ok(None);
                }
                input.advance(1);
                let c1 = input.split_to(HANDSHAKE_SIZE);
                self.state = State::AwaitC2;
                Ok(Some(self.respond(&c1)))
            }
            State::AwaitC2 => {
                if input.len() >= HANDSHAKE_SIZE {
                    // §5.2.4: C2 echoes S1; nothing in it changes what we do.
                    input.advance(HANDSHAKE_SIZE);
                    self.state = State::Done;
                }
                Ok(None)
            }
            State::Done => Ok(None),
        }
    }

    fn respond(&mut self, c1: &[u8]) -> Bytes {
        let mut rng = rand::thread_rng();
        let mut out = BytesMut::zeroed(1 + 2 * HANDSHAKE_SIZE);
        out[0] = RTMP_VERSION;
        let client_version_nonzero = c1[4..8] != [0, 0, 0, 0];
        let found = if client_version_nonzero {
            find_client_digest(c1)
        } else {
            None
        };
        let (s1, s2) = out[1..].split_at_mut(HANDSHAKE_SIZE);
        rng.fill_bytes(&mut s1[8..]);
        match found {
            Some((scheme, c1_digest)) => {
                self.digest = Some(scheme);
                s1[4..8].copy_from_slice(&SERVER_VERSION);
                let off = digest_offset(s1, scheme);
                let d = packet_digest(s1, off, &SERVER_KEY[..SERVER_KEY_PUBLIC_LEN]);
                s1[off..off + DIGEST_LEN].copy_from_slice(&d);
                rng.fill_bytes(&mut s2[..HANDSHAKE_SIZE - DIGEST_LEN]);
                let key = hmac_sha256(&SERVER_KEY, &[&c1_digest]);
                let d2 = hmac_sha256(&key, &[&s2[..HANDSHAKE_SIZE - DIGEST_LEN]]);
                s2[HANDSHAKE_SIZE - DIGEST_LEN..].copy_from_slice(&d2);
            }
            None => s2.copy_from_slice(c1),
        }
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simple_c0c1() -> BytesMut {
        let mut b = BytesMut::zeroed(1 + HANDSHAKE_SIZE);
        b[0] = 3;
        for (i, x) in b[9..].iter_mut().enumerate() {
            *x = (i * 7 + 3) as u8;
        }
        b
    }

    /// Builds a digest C1 the way a Flash-Player-style client does.
    fn digest_c0c1(scheme: DigestScheme) -> BytesMut {
        let mut b = simple_c0c1();
        let c1 = &mut b[1..];
        c1[4..8].copy_from_slice(&[0x80, 0x00, 0x07, 0x02]);
        let off = digest_offset(c1, scheme);
        let d = packet_digest(c1, off, &CLIENT_KEY[..CLIENT_KEY_PUBLIC_LEN]);
        c1[off..off + 32].copy_from_slice(&d);
        b
    }

    #[test]
    fn keys_are_the_published_constants() {
        assert_eq!(&SERVER_KEY[..36], b"Genuine Adobe Flash Media Server 001");
        assert_eq!(&CLIENT_KEY[..30], b"Genuine Adobe Flash Player 001");
        assert_eq!(SERVER_KEY[36..], CLIENT_KEY[30..]);
    }

    #[test]
    fn simple_handshake_echoes_c1_and_waits_for_c2() {
        let mut hs = Handshake::new();
        let mut input = BytesMut::from(&simple_c0c1()[..100]);
        assert_eq!(hs.advance(&mut input).unwrap(), None);
        input.extend_from_slice(&simple_c0c1()[100..]);
        let reply = hs.advance(&mut input).unwrap().unwrap();
        assert_eq!(reply.len(), 1 + 2 * HANDSHAKE_SIZE);
        assert_eq!(reply[0], 3);
        assert_eq!(&reply[1 + HANDSHAKE_SIZE..], &simple_c0c1()[1..]);
        assert_eq!(hs.digest_scheme(), None);
        // C2 followed by the first chunk: only C2 is consumed.
        input.extend_from_slice(&[0u8; HANDSHAKE_SIZE]);
        input.extend_from_slice(&[0x02]);
        assert_eq!(hs.advance(&mut input).unwrap(), None);
        assert!(hs.is_done());
        assert_eq!(&input[..], &[0x02]);
    }

    #[test]
    fn digest_handshake_both_schemes() {
        for scheme in [DigestScheme::DigestFirst, DigestScheme::KeyFirst] {
            let mut input = digest_c0c1(scheme);
            let c1 = input[1..].to_vec();
            let (_, c1_digest) = find_client_digest(&c1).unwrap();
            let mut hs = Handshake::new();
            let reply = hs.advance(&mut input).unwrap().unwrap();
            assert_eq!(hs.digest_scheme(), Some(scheme));
            let s1 = &reply[1..1 + HANDSHAKE_SIZE];
            let s2 = &reply[1 + HANDSHAKE_SIZE..];
            // The client verifies S1 with the server's public key part…
            let off = digest_offset(s1, scheme);
            let expect = packet_digest(s1, off, &SERVER_KEY[..SERVER_KEY_PUBLIC_LEN]);
            assert_eq!(&s1[off..off + 32], &expect);
            // …and S2 with a key derived from its own C1 digest.
            let key = hmac_sha256(&SERVER_KEY, &[&c1_digest]);
            let d2 = hmac_sha256(&key, &[&s2[..HANDSHAKE_SIZE - 32]]);
            assert_eq!(&s2[HANDSHAKE_SIZE - 32..], &d2);
        }
    }

    #[test]
    fn bad_digest_falls_back_to_simple() {
        let mut input = digest_c0c1(DigestScheme::DigestFirst);
        input[100] ^= 0xFF; // corrupt a byte covered by the digest
        let c1 = input[1..].to_vec();
        let reply = Handshake::new().advance(&mut input).unwrap().unwrap();
        assert_eq!(&reply[1 + HANDSHAKE_SIZE..], &c1[..]);
    }

    #[test]
    fn wrong_version_is_rejected_at_once() {
        let mut input = BytesMut::from(&[6u8][..]);
        assert_eq!(
            Handshake::new().advance(&mut input),
            Err(RtmpError::UnsupportedVersion(6))
        );
    }
}

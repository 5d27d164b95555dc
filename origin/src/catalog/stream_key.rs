//! Stream keys: generated here, shown once, stored only as a SHA-256 digest.
//!
//! A stream key is a bearer secret (whoever holds it may publish), so the catalog keeps
//! `hex(SHA-256(key))` and looks publishers up by that digest. A key is 32 random
//! characters of `[A-Za-z0-9]` (about 190 bits), so a fast unsalted hash is enough:
//! there is nothing to brute-force the way there would be with a password.

use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};

/// Characters of a generated key.
pub const GENERATED_KEY_LEN: usize = 32;
/// Shortest key accepted from `[[channels]]` (the config check enforces the same).
pub const MIN_KEY_LEN: usize = 8;

/// A fresh random stream key.
pub fn generate() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(GENERATED_KEY_LEN)
        .map(char::from)
        .collect()
}

/// The digest stored for `key`: lower-case hex SHA-256.
pub fn digest(key: &str) -> String {
    let sum = Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(64);
    for b in sum {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Compares two digests in time independent of where they differ.
pub fn digests_equal(a: &str, b: &str) -> bool {
    edge::admin_keys::constant_time_eq(a.as_bytes(), b.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_long_random_and_alphanumeric() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), GENERATED_KEY_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn digest_is_sha256_hex() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(digests_equal(&digest("k1"), &digest("k1")));
        assert!(!digests_equal(&digest("k1"), &digest("k2")));
        assert!(!digests_equal("ab", "abc"));
    }
}

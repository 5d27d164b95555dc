//! The `Ferrocast-Signature` header of a webhook delivery.
//!
//! `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the receiver
//! recomputes the MAC over the timestamp and the raw body with the webhook's secret,
//! compares in constant time, and may refuse old timestamps to stop replays (the
//! scheme Stripe and others use).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "ferrocast-signature";

/// Lower-case hex HMAC-SHA256 of `message` under `key` (RFC 2104).
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The header value for `body` sent at `timestamp_s`.
pub fn signature_header(secret: &str, timestamp_s: u64, body: &[u8]) -> String {
    let mut message = format!("{timestamp_s}.").into_bytes();
    message.extend_from_slice(body);
    format!(
        "t={timestamp_s},v1={}",
        hmac_sha256_hex(secret.as_bytes(), &message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_header_signs_timestamp_and_body() {
        let h = signature_header("s3cret", 1_700_000_000, b"{}");
        assert_eq!(
            h,
            format!(
                "t=1700000000,v1={}",
                hmac_sha256_hex(b"s3cret", b"1700000000.{}")
            )
        );
        assert_ne!(h, signature_header("s3cret", 1_700_000_001, b"{}"));
    }
}

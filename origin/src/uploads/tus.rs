//! The tus 1.0.0 protocol's header fields, parsed and built without I/O.
//!
//! Clauses cited are from the tus resumable upload protocol 1.0.x
//! (<https://tus.io/protocols/resumable-upload>): "Headers" for the core fields,
//! "Creation" for `Upload-Length` / `Upload-Metadata`, "Expiration" for
//! `Upload-Expires`.

use std::collections::BTreeMap;

use base64::Engine;

/// The protocol version spoken (`Tus-Resumable`, `Tus-Version`).
pub const TUS_VERSION: &str = "1.0.0";
/// Extensions supported (`Tus-Extension`).
pub const TUS_EXTENSIONS: &str = "creation,termination,expiration";
/// The only content type a PATCH may carry (core protocol, "PATCH").
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// Most `Upload-Metadata` bytes accepted.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Most metadata pairs accepted.
pub const MAX_METADATA_PAIRS: usize = 32;

/// Response fields a browser client on another origin must be able to read.
pub const EXPOSE_HEADERS: &str = "Location, Upload-Offset, Upload-Length, Upload-Metadata, \
     Upload-Expires, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Ferrocast-Asset";
/// Request fields a browser client sends (CORS preflight).
pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, Upload-Offset, Upload-Length, \
     Upload-Metadata, Upload-Defer-Length, Upload-Concat, Tus-Resumable, \
     X-HTTP-Method-Override, X-Requested-With";
/// Methods of the upload routes.
pub const ALLOW_METHODS: &str = "POST, HEAD, PATCH, DELETE, OPTIONS";

/// Why request fields are unacceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TusFieldError {
    /// `Tus-Resumable` is missing or not [`TUS_VERSION`] (412).
    #[error("Tus-Resumable must be {TUS_VERSION}")]
    UnsupportedVersion,
    /// A numeric field is missing or not a non-negative integer (400).
    #[error("{0} must be a non-negative integer")]
    BadNumber(&'static str),
    /// `Upload-Metadata` is not `key base64,…` with unique keys (400).
    #[error("Upload-Metadata: {0}")]
    BadMetadata(String),
}

/// Checks `Tus-Resumable` ("Tus-Resumable": every request except OPTIONS MUST
/// include it; a version the server does not support gets 412).
pub fn check_version(value: Option<&str>) -> Result<(), TusFieldError> {
    match value.map(str::trim) {
        Some(TUS_VERSION) => Ok(()),
        _ => Err(TusFieldError::UnsupportedVersion),
    }
}

/// Parses `Upload-Offset` / `Upload-Length`: "a non-negative integer".
pub fn parse_number(name: &'static str, value: Option<&str>) -> Result<u64, TusFieldError> {
    let v = value.map(str::trim).ok_or(TusFieldError::BadNumber(name))?;
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TusFieldError::BadNumber(name));
    }
    v.parse().map_err(|_| TusFieldError::BadNumber(name))
}

/// Parses `Upload-Metadata` ("Creation"): comma-separated pairs of a key (ASCII, no
/// spaces or commas, unique) and an optional Base64-encoded value, separated by a
/// space. Values must be UTF-8 here (they become titles and tags).
pub fn parse_metadata(value: Option<&str>) -> Result<BTreeMap<String, String>, TusFieldError> {
    let mut out = BTreeMap::new();
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(out);
    };
    if value.len() > MAX_METADATA_BYTES {
        return Err(TusFieldError::BadMetadata(format!(
            "longer than {MAX_METADATA_BYTES} bytes"
        )));
    }
    for pair in value.split(',') {
        let pair = pair.trim();
        let (key, encoded) = match pair.split_once(' ') {
            Some((k, v)) => (k, v.trim()),
            None => (pair, ""),
        };
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Err(TusFieldError::BadMetadata(format!("bad key {key:?}")));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| TusFieldError::BadMetadata(format!("value of {key:?} is not Base64")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| TusFieldError::BadMetadata(format!("value of {key:?} is not UTF-8")))?;
        if out.insert(key.to_owned(), text).is_some() {
            return Err(TusFieldError::BadMetadata(format!("key {key:?} repeated")));
        }
        if out.len() > MAX_METADATA_PAIRS {
            return Err(TusFieldError::BadMetadata(format!(
                "more than {MAX_METADATA_PAIRS} pairs"
            )));
        }
    }
    Ok(out)
}

/// `Upload-Metadata` for a HEAD answer: the pairs as received, re-encoded.
pub fn encode_metadata(metadata: &BTreeMap<String, String>) -> String {
    metadata
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!(
                    "{k} {}",
                    base64::engine::general_purpose::STANDARD.encode(v.as_bytes())
                )
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `Upload-Expires` ("Expiration"): an RFC 9110 HTTP-date (IMF-fixdate).
pub fn http_date(unix_ms: u64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_millis(unix_ms))
}

/// Whether `content_type` is [`OFFSET_OCTET_STREAM`] (parameters ignored,
/// case-insensitive, RFC 9110 §8.3.1).
pub fn is_offset_octet_stream(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(OFFSET_OCTET_STREAM))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_must_be_1_0_0() {
        assert!(check_version(Some("1.0.0")).is_ok());
        assert_eq!(
            check_version(Some("0.2.2")),
            Err(TusFieldError::UnsupportedVersion)
        );
        assert_eq!(check_version(None), Err(TusFieldError::UnsupportedVersion));
    }

    #[test]
    fn numbers_are_plain_non_negative_integers() {
        assert_eq!(parse_number("Upload-Offset", Some("0")), Ok(0));
        assert_eq!(
            parse_number("Upload-Offset", Some(" 1048576 ")),
            Ok(1_048_576)
        );
        for bad in [
            None,
            Some(""),
            Some("-1"),
            Some("+5"),
            Some("1e3"),
            Some("99999999999999999999"),
        ] {
            assert_eq!(
                parse_number("Upload-Offset", bad),
                Err(TusFieldError::BadNumber("Upload-Offset")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn metadata_round_trips_and_rejects_malformed_pairs() {
        // The example of the "Creation" section: filename world_domination_plan.pdf, is_confidential.
        let m = parse_metadata(Some(
            "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential",
        ))
        .unwrap();
        assert_eq!(m["filename"], "world_domination_plan.pdf");
        assert_eq!(m["is_confidential"], "");
        assert_eq!(parse_metadata(Some(&encode_metadata(&m))).unwrap(), m);
        assert!(parse_metadata(None).unwrap().is_empty());
        for bad in ["title !!!", "a YQ==,a Yg==", ",title YQ==", "title /w=="] {
            assert!(parse_metadata(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn patch_content_type_ignores_parameters_and_case() {
        assert!(is_offset_octet_stream(Some(
            "application/offset+octet-stream"
        )));
        assert!(is_offset_octet_stream(Some(
            "Application/Offset+Octet-Stream; x=y"
        )));
        assert!(!is_offset_octet_stream(Some("application/octet-stream")));
        assert!(!is_offset_octet_stream(None));
    }

    #[test]
    fn expiry_is_an_imf_fixdate() {
        assert_eq!(http_date(784_111_777_000), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}

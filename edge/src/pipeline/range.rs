//! Single byte ranges on complete bodies (RFC 9110 §14).
//!
//! Only one `bytes=` range is honoured. A multi-range request is served as a plain
//! 200, which §14.2 allows ("A server MAY ignore the Range header field"), so no
//! `multipart/byteranges` is ever produced. Streaming bodies (length unknown) ignore
//! `Range` too.
//!
//! `If-Range` (§13.1.5) is honoured with an entity-tag: the range applies only when
//! it strongly matches the current ETag; a date or a weak tag means "send it all".

/// A satisfiable range, inclusive `first..=last`, within a body of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte offset.
    pub first: u64,
    /// Last byte offset (inclusive).
    pub last: u64,
}

impl ByteRange {
    /// Number of bytes in the range.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never true for a [`ByteRange`] (ranges hold at least one byte).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// `Content-Range` value for a 206 (§14.4): `bytes first-last/complete`.
    pub fn content_range(&self, complete: u64) -> String {
        format!("bytes {}-{}/{}", self.first, self.last, complete)
    }
}

/// What to do with a `Range` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeDecision {
    /// Send the whole representation (no Range, an ignored or unparsable one).
    Full,
    /// Send 206 with this range.
    Partial(ByteRange),
    /// Send 416 with `Content-Range: bytes */len` (§15.5.17).
    Unsatisfiable,
}

/// Decide on `range` (the field value) for a body of `len` bytes.
///
/// Syntax per §14.1.1: `bytes=first-last`, `bytes=first-`, `bytes=-suffix`, with
/// optional whitespace. An invalid range-spec is ignored (§14.2: a server "MUST
/// ignore a Range header field received with … a range unit it does not understand",
/// and may ignore an invalid one).
pub fn decide(range: &str, len: u64) -> RangeDecision {
    let Some(spec) = range.trim().strip_prefix("bytes=") else {
        return RangeDecision::Full;
    };
    if spec.contains(',') {
        return RangeDecision::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeDecision::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let parse = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    if first.is_empty() {
        // suffix-range: the last N bytes (§14.1.3).
        return match parse(last) {
            None => RangeDecision::Full,
            Some(0) => RangeDecision::Unsatisfiable,
            Some(_) if len == 0 => RangeDecision::Unsatisfiable,
            Some(n) => RangeDecision::Partial(ByteRange {
                first: len.saturating_sub(n),
                last: len - 1,
            }),
        };
    }
    let Some(first) = parse(first) else {
        return RangeDecision::Full;
    };
    let last = if last.is_empty() {
        None
    } else {
        match parse(last) {
            Some(l) if l >= first => Some(l),
            // last < first is an invalid range-spec: ignore it (§14.1.1).
            _ => return RangeDecision::Full,
        }
    };
    if first >= len {
        return RangeDecision::Unsatisfiable;
    }
    let last = last.map_or(len - 1, |l| l.min(len - 1));
    RangeDecision::Partial(ByteRange { first, last })
}

/// Whether `If-Range: value` allows the range, given the current strong `etag`
/// (§13.1.5: strong comparison; an HTTP-date never matches since we send no
/// `Last-Modified`).
pub fn if_range_matches(value: &str, etag: &str) -> bool {
    let v = value.trim();
    !v.starts_with("W/") && v == etag
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partial(first: u64, last: u64) -> RangeDecision {
        RangeDecision::Partial(ByteRange { first, last })
    }

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(decide("bytes=0-9", 100), partial(0, 9));
        assert_eq!(decide("bytes=90-", 100), partial(90, 99));
        assert_eq!(decide("bytes=-10", 100), partial(90, 99));
        assert_eq!(decide(" bytes= 5 - 6 ", 100), partial(5, 6));
    }

    #[test]
    fn clamps_and_rejects() {
        assert_eq!(decide("bytes=50-500", 100), partial(50, 99));
        assert_eq!(decide("bytes=-500", 100), partial(0, 99));
        assert_eq!(decide("bytes=100-", 100), RangeDecision::Unsatisfiable);
        assert_eq!(decide("bytes=-0", 100), RangeDecision::Unsatisfiable);
        assert_eq!(decide("bytes=0-", 0), RangeDecision::Unsatisfiable);
    }

    #[test]
    fn ignores_what_it_does_not_serve() {
        for r in [
            "items=0-1",
            "bytes=0-1,5-6",
            "bytes=9-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=+1-2",
        ] {
            assert_eq!(decide(r, 100), RangeDecision::Full, "{r}");
        }
    }

    #[test]
    fn content_range_and_if_range() {
        let r = ByteRange { first: 0, last: 9 };
        assert_eq!(r.len(), 10);
        assert_eq!(r.content_range(100), "bytes 0-9/100");
        assert!(if_range_matches("\"abc\"", "\"abc\""));
        assert!(!if_range_matches("W/\"abc\"", "\"abc\""));
        assert!(!if_range_matches(
            "Tue, 15 Nov 1994 08:12:31 GMT",
            "\"abc\""
        ));
    }
}

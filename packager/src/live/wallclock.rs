//! Wall-clock formatting: ISO 8601 / xs:dateTime in UTC with milliseconds, as
//! `EXT-X-PROGRAM-DATE-TIME` (rfc8216bis §4.4.4.6) and DASH `availabilityStartTime`
//! / `publishTime` (ISO/IEC 23009-1 §5.3.1.2) want it, and xs:duration.
//!
//! No clock is read here: callers pass milliseconds since the Unix epoch.

/// `2024-05-01T12:34:56.789Z` for `ms` milliseconds since the Unix epoch.
pub fn iso8601_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// `PT1.500S`: an xs:duration of `seconds` (non-negative), millisecond precision.
pub fn xs_duration(seconds: f64) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!("PT{}.{:03}S", ms / 1000, ms % 1000)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso8601_ms(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(iso8601_ms(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }

    #[test]
    fn formats_durations() {
        assert_eq!(xs_duration(2.0), "PT2.000S");
        assert_eq!(xs_duration(0.3334), "PT0.333S");
        assert_eq!(xs_duration(-1.0), "PT0.000S");
    }
}

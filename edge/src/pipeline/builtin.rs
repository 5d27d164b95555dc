//! Phase 2: routes the pipeline answers itself, before any upstream.
//!
//! | path | answer |
//! |---|---|
//! | `/healthz` | 200 `ok` while the process serves HTTP (liveness) |
//! | `/readyz` | 200 `ready` when the [`Readiness`](super::Readiness) closure says so, else 503 |
//! | `/time` | the current UTC time, ISO 8601 with milliseconds, for DASH `UTCTiming` with scheme `urn:mpeg:dash:utc:http-iso:2014` (ISO/IEC 23009-1 §5.8.5.7) |
//! | `/metrics` | the whole Prometheus registry, text format 0.0.4 |
//!
//! All are `Cache-Control: no-store`: a cached clock or health answer is a wrong one.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::StatusCode;

use super::{Pipeline, RequestCtx};
use crate::metrics::HttpMetrics;
use crate::upstream::{ObjectKind, UpstreamBody, UpstreamResponse};

/// Liveness probe path.
pub const HEALTHZ: &str = "/healthz";
/// Readiness probe path.
pub const READYZ: &str = "/readyz";
/// DASH UTCTiming (`urn:mpeg:dash:utc:http-iso:2014`) path.
pub const TIME: &str = "/time";
/// Prometheus scrape path.
pub const METRICS: &str = "/metrics";

const TEXT: &str = "text/plain; charset=utf-8";

impl Pipeline {
    /// Phase 2: answer a built-in route, or `None` to go on to the upstream.
    pub fn builtin(&self, ctx: &RequestCtx) -> Option<UpstreamResponse> {
        if ctx.path == METRICS {
            if let Some(refresh) = &self.before_metrics {
                refresh();
            }
        }
        let (status, content_type, body) = match ctx.path.as_str() {
            HEALTHZ => (StatusCode::OK, TEXT, Bytes::from_static(b"ok\n")),
            READYZ if (self.readiness)() => (StatusCode::OK, TEXT, Bytes::from_static(b"ready\n")),
            READYZ => (
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                Bytes::from_static(b"not ready\n"),
            ),
            TIME => (
                StatusCode::OK,
                TEXT,
                Bytes::from(iso8601_millis(SystemTime::now())),
            ),
            METRICS => (
                StatusCode::OK,
                HttpMetrics::content_type(),
                Bytes::from(self.metrics.render()),
            ),
            _ => return None,
        };
        Some(UpstreamResponse {
            status,
            kind: ObjectKind::Other,
            content_type,
            cache_control: "no-store".into(),
            headers: http::HeaderMap::new(),
            body: UpstreamBody::Full(body),
        })
    }
}

/// `t` as `YYYY-MM-DDThh:mm:ss.sssZ` (ISO 8601 extended format, UTC, milliseconds),
/// which dash.js, Shaka and `xs:dateTime` parse. Times before 1970 print as the epoch.
pub fn iso8601_millis(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let sod = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 → proleptic Gregorian (year, month, day), after Howard
/// Hinnant's `civil_from_days` (eras of 400 years, years starting in March).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of (March-based) year
    let mp = (5 * doy + 2) / 153; // March = 0
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, millis: u64) -> String {
        iso8601_millis(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis))
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_700_000_000, 123), "2023-11-14T22:13:20.123Z");
        assert_eq!(at(4_107_542_399, 999), "2100-02-28T23:59:59.999Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000Z");
    }

    #[test]
    fn day_walk_is_continuous() {
        // Every day of 1970..2400 advances the date by exactly one day.
        let mut prev = civil_from_days(0);
        for d in 1..157_000 {
            let cur = civil_from_days(d);
            let next_expected = cur.2 == 1 && (cur.1 == prev.1 + 1 || (cur.1 == 1 && prev.1 == 12));
            assert!(
                next_expected || (cur.2 == prev.2 + 1 && cur.1 == prev.1),
                "{prev:?} → {cur:?}"
            );
            prev = cur;
        }
        assert_eq!(prev.0, 2399);
    }
}

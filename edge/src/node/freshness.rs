//! Whether and for how long an upstream response may be stored (RFC 9111).
//!
//! A shared cache honours, from the response's `Cache-Control` (§5.2.2):
//! `no-store` and `private` (never stored), `no-cache` (stored as stale: we do not
//! revalidate, so it is simply not stored), `s-maxage` over `max-age` (§4.2.1),
//! `immutable` (RFC 8246: no revalidation while fresh, which is what every fresh hit
//! already is), `stale-while-revalidate` and `stale-if-error` (RFC 5861 §3, §4).
//! The parent's `Age` (§5.1) is subtracted from the freshness lifetime. Without an
//! explicit lifetime nothing is stored (no heuristic freshness, §4.2.2): the origin
//! labels everything it wants cached.

use cache::ObjectMeta;

/// What `Cache-Control` allows for one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Storability {
    /// Freshness lifetime left, in milliseconds; `None`: do not store.
    pub fresh_ms: Option<u64>,
    /// `stale-while-revalidate`, in milliseconds.
    pub stale_while_revalidate_ms: u64,
    /// `stale-if-error`, in milliseconds.
    pub stale_if_error_ms: u64,
}

/// Statuses a shared cache may store with an explicit lifetime (RFC 9110 §15.1
/// "heuristically cacheable" plus 206 is excluded: we store whole objects only).
pub fn status_is_storable(status: u16) -> bool {
    matches!(
        status,
        200 | 203 | 204 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

/// Reads `cache_control` (all field lines joined with `,`) and `age_s`.
pub fn storability(cache_control: &str, age_s: u64) -> Storability {
    let mut max_age = None;
    let mut s_maxage = None;
    let mut out = Storability::default();
    let mut forbidden = false;
    for directive in cache_control.split(',') {
        let directive = directive.trim();
        let (name, value) = match directive.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (directive, None),
        };
        let seconds = value.and_then(|v| v.parse::<u64>().ok());
        match name.to_ascii_lowercase().as_str() {
            "no-store" | "private" | "no-cache" => forbidden = true,
            "max-age" => max_age = seconds,
            "s-maxage" => s_maxage = seconds,
            "stale-while-revalidate" => {
                out.stale_while_revalidate_ms = seconds.unwrap_or(0).saturating_mul(1000)
            }
            "stale-if-error" => out.stale_if_error_ms = seconds.unwrap_or(0).saturating_mul(1000),
            _ => {}
        }
    }
    if forbidden {
        return Storability::default();
    }
    out.fresh_ms = s_maxage
        .or(max_age)
        .map(|s| s.saturating_sub(age_s).saturating_mul(1000));
    out
}

/// The metadata to store for a response received at `now_ms`, or `None` when it
/// must not be stored.
pub fn meta_for(status: u16, headers: Vec<(String, String)>, now_ms: u64) -> Option<ObjectMeta> {
    if !status_is_storable(status) {
        return None;
    }
    let joined = |name: &str| {
        headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let age_s = joined("age").trim().parse().unwrap_or(0);
    let s = storability(&joined("cache-control"), age_s);
    let fresh_ms = s.fresh_ms?;
    if fresh_ms == 0 && s.stale_if_error_ms == 0 && s.stale_while_revalidate_ms == 0 {
        return None;
    }
    Some(ObjectMeta {
        status,
        headers,
        stored_at_ms: now_ms,
        fresh_until_ms: now_ms + fresh_ms,
        stale_while_revalidate_ms: s.stale_while_revalidate_ms,
        stale_if_error_ms: s.stale_if_error_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_directives_a_shared_cache_honours() {
        let s = storability("public, max-age=86400, immutable", 0);
        assert_eq!(s.fresh_ms, Some(86_400_000));
        let s = storability("max-age=10, s-maxage=60, stale-while-revalidate=5", 0);
        assert_eq!(s.fresh_ms, Some(60_000));
        assert_eq!(s.stale_while_revalidate_ms, 5_000);
        let s = storability("max-age=10, stale-if-error=\"300\"", 4);
        assert_eq!(s.fresh_ms, Some(6_000));
        assert_eq!(s.stale_if_error_ms, 300_000);
        assert_eq!(storability("no-store", 0).fresh_ms, None);
        assert_eq!(storability("private, max-age=60", 0).fresh_ms, None);
        assert_eq!(storability("", 0).fresh_ms, None);
        assert_eq!(storability("max-age=5", 9).fresh_ms, Some(0));
    }

    #[test]
    fn meta_only_for_storable_responses() {
        let h = |cc: &str| vec![("cache-control".to_string(), cc.to_string())];
        assert!(meta_for(200, h("max-age=1"), 0).is_some());
        assert!(meta_for(404, h("max-age=1"), 0).is_some());
        assert!(meta_for(503, h("max-age=1"), 0).is_none());
        assert!(meta_for(200, h("no-store"), 0).is_none());
        assert!(meta_for(200, h("max-age=0"), 0).is_none());
        let m = meta_for(200, h("max-age=2, stale-if-error=60"), 1_000).unwrap();
        assert_eq!(m.fresh_until_ms, 3_000);
        assert_eq!(m.stale_if_error_ms, 60_000);
    }
}

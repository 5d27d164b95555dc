//! Phase 2 of the edge pipeline: the cache key.
//!
//! ARCHITECTURE.md's caching rules: the token is not part of the key (the pipeline
//! strips `/t/{token}` before this phase); for LL-HLS playlists the key keeps
//! `_HLS_msn`, `_HLS_part` and `_HLS_skip` (draft-pantos-hls-rfc8216bis §6.2.5.1,
//! §6.2.5.2: the delivery directives) and nothing else of the query; every other
//! object is keyed by its path alone. The key doubles as the path-and-query sent
//! upstream, so identical keys make identical upstream requests and one request per
//! (msn, part) reaches the parent however many players wait.

/// The LL-HLS delivery directives a playlist key keeps, in key order.
pub const PLAYLIST_DIRECTIVES: [&str; 3] = ["_HLS_msn", "_HLS_part", "_HLS_skip"];

/// Most bytes a directive value may have (`_HLS_msn` is a decimal integer).
pub const MAX_DIRECTIVE_VALUE_LEN: usize = 20;

/// The cache key of `path` + `query`; also the path-and-query to fetch upstream.
///
/// ```
/// use edge::node::cache_key::cache_key;
/// assert_eq!(
///     cache_key("/live/a/video0/index.m3u8", Some("_HLS_part=2&foo=1&_HLS_msn=7")),
///     "/live/a/video0/index.m3u8?_HLS_msn=7&_HLS_part=2"
/// );
/// assert_eq!(cache_key("/live/a/video0/seg7.m4s", Some("x=1")), "/live/a/video0/seg7.m4s");
/// ```
pub fn cache_key(path: &str, query: Option<&str>) -> String {
    let Some(query) = query.filter(|_| is_playlist(path)) else {
        return path.to_owned();
    };
    let mut key = String::with_capacity(path.len() + 40);
    key.push_str(path);
    let mut separator = '?';
    for directive in PLAYLIST_DIRECTIVES {
        let value = query.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (name == directive).then_some(value)
        });
        let Some(value) = value.filter(|v| is_directive_value(v)) else {
            continue;
        };
        key.push(separator);
        key.push_str(directive);
        key.push('=');
        key.push_str(value);
        separator = '&';
    }
    key
}

/// Whether `path` is an HLS playlist (the only objects whose key keeps a query).
pub fn is_playlist(path: &str) -> bool {
    path.ends_with(".m3u8")
}

/// Whether the key carries a blocking-reload directive (`_HLS_msn`).
pub fn is_blocking(key: &str) -> bool {
    key.contains("?_HLS_msn=")
}

/// Directive values are short tokens of `[A-Za-z0-9]` (integers, `YES`, `v2`).
fn is_directive_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_DIRECTIVE_VALUE_LEN
        && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlist_keys_keep_only_the_directives_in_a_fixed_order() {
        let p = "/live/c/video0/index.m3u8";
        assert_eq!(cache_key(p, None), p);
        assert_eq!(cache_key(p, Some("utm=1")), p);
        assert_eq!(
            cache_key(p, Some("_HLS_skip=YES&_HLS_msn=10")),
            format!("{p}?_HLS_msn=10&_HLS_skip=YES")
        );
        assert_eq!(
            cache_key(p, Some("_HLS_msn=10&_HLS_part=3")),
            cache_key(p, Some("_HLS_part=3&session=abc&_HLS_msn=10"))
        );
        assert!(is_blocking(&cache_key(p, Some("_HLS_msn=1"))));
        assert!(!is_blocking(p));
    }

    #[test]
    fn odd_directive_values_are_dropped_not_forwarded() {
        let p = "/live/c/video0/index.m3u8";
        assert_eq!(cache_key(p, Some("_HLS_msn=1%20OR")), p);
        assert_eq!(cache_key(p, Some("_HLS_msn=")), p);
        assert_eq!(
            cache_key(p, Some(&format!("_HLS_msn={}", "9".repeat(21)))),
            p
        );
    }

    #[test]
    fn other_objects_ignore_the_query() {
        assert_eq!(
            cache_key("/live/c/manifest.mpd", Some("t=1")),
            "/live/c/manifest.mpd"
        );
        assert_eq!(cache_key("/vod/a/seg1.m4s", Some("a=b")), "/vod/a/seg1.m4s");
    }
}

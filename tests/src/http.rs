//! # A small blocking HTTP/1.1 client for assertions
//!
//! [`get`] returns the status (4xx/5xx included, never as an error), the headers,
//! the whole body, and timing: when the response head arrived and when each read
//! of the body returned, so a test can tell a body that streamed (LL-DASH chunked
//! transfer) from one that arrived at once.

use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Default read timeout: longer than any blocking reload the tests provoke.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// One HTTP response with timing.
#[derive(Debug, Clone)]
pub struct Response {
    /// The requested URL.
    pub url: String,
    /// Status code.
    pub status: u16,
    /// Header `(lower-case name, value)` pairs, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// From sending the request to the response head.
    pub head_after: Duration,
    /// From sending the request to the end of the body.
    pub elapsed: Duration,
    /// `(time since the request, bytes)` of each body read that returned data.
    pub reads: Vec<(Duration, usize)>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `Cache-Control` directives, lower-cased, e.g. `["public", "max-age=1"]`.
    pub fn cache_control(&self) -> Vec<String> {
        self.header("cache-control")
            .unwrap_or("")
            .split(',')
            .map(|d| d.trim().to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect()
    }

    /// The `max-age` of `Cache-Control`, if any.
    pub fn max_age(&self) -> Option<u64> {
        self.cache_control()
            .iter()
            .find_map(|d| d.strip_prefix("max-age=").and_then(|v| v.parse().ok()))
    }

    /// Whether `Cache-Control` has directive `d` (e.g. `"no-store"`).
    pub fn has_directive(&self, d: &str) -> bool {
        self.cache_control().iter().any(|x| x == d)
    }

    /// The `Content-Type` without parameters, lower-cased.
    pub fn content_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// Time from the request until the first body bytes arrived.
    pub fn first_body_after(&self) -> Option<Duration> {
        self.reads.first().map(|(t, _)| *t)
    }

    /// A one-line summary for messages.
    pub fn summary(&self) -> String {
        format!(
            "GET {} -> {} in {:?} (cache-control {:?}, content-type {:?}, {} bytes)",
            self.url,
            self.status,
            self.elapsed,
            self.header("cache-control").unwrap_or("-"),
            self.header("content-type").unwrap_or("-"),
            self.body.len()
        )
    }
}

/// `GET url` with [`DEFAULT_TIMEOUT`].
pub fn get(url: &str) -> Result<Response> {
    get_with_timeout(url, DEFAULT_TIMEOUT)
}

/// `GET url`; `timeout` bounds connecting and each read.
pub fn get_with_timeout(url: &str, timeout: Duration) -> Result<Response> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout_read(timeout)
        .timeout_write(Duration::from_secs(5))
        .build();
    let start = Instant::now();
    let resp = match agent.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e).with_context(|| format!("GET {url}")),
    };
    let head_after = start.elapsed();
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .flat_map(|n| {
            resp.all(&n)
                .into_iter()
                .map(|v| (n.to_ascii_lowercase(), v.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut reader = resp.into_reader();
    let mut body = Vec::new();
    let mut reads = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .with_context(|| format!("reading body of {url}"))?;
        if n == 0 {
            break;
        }
        reads.push((start.elapsed(), n));
        body.extend_from_slice(&buf[..n]);
    }
    Ok(Response {
        url: url.to_owned(),
        status,
        headers,
        body,
        head_after,
        elapsed: start.elapsed(),
        reads,
    })
}

/// Resolves a playlist URI against the URL of the playlist that holds it
/// (RFC 8216 §4.1: relative URIs are relative to the playlist's URI).
pub fn resolve(base: &str, uri: &str) -> String {
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return uri.to_owned();
    }
    let base = base.split(['?', '#']).next().unwrap_or(base);
    if let Some(rest) = uri.strip_prefix("//") {
        // A network-path reference (RFC 3986 §4.2): the base's scheme only.
        let scheme = base.split("://").next().unwrap_or("http");
        return format!("{scheme}://{rest}");
    }
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[after_scheme..]
        .find('/')
        .map(|i| i + after_scheme)
        .unwrap_or(base.len());
    let (authority, path) = base.split_at(path_start);
    if uri.starts_with('/') {
        return format!("{authority}{uri}");
    }
    // The base's directory, then the URI's segments applied to it.
    let mut segs: Vec<&str> = path.split('/').collect();
    segs.pop();
    let (uri_path, query) = match uri.find('?') {
        Some(i) => (&uri[..i], &uri[i..]),
        None => (uri, ""),
    };
    for seg in uri_path.split('/') {
        match seg {
            "." => {}
            ".." => {
                if segs.len() > 1 {
                    segs.pop();
                }
            }
            s => segs.push(s),
        }
    }
    format!("{authority}{}{query}", segs.join("/"))
}

/// One JSON API call: `method` on `url`, with `key` as a Bearer token and `body` as
/// JSON when given. Returns the status (errors included) and the JSON body (`Null`
/// when empty); a non-empty body that is not JSON is an error.
pub fn api_call(
    method: &str,
    url: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> Result<(u16, serde_json::Value)> {
    let mut req = ureq::request(method, url).timeout(Duration::from_secs(10));
    if let Some(k) = key {
        req = req.set("Authorization", &format!("Bearer {k}"));
    }
    let result = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => anyhow::bail!("{method} {url}: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string()?;
    let value = if text.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).with_context(|| format!("{method} {url}: not JSON: {text}"))?
    };
    Ok((status, value))
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn resolves_relative_uris() {
        let b = "http://h:1/live/c/video0/index.m3u8?_HLS_msn=3";
        assert_eq!(resolve(b, "seg3.m4s"), "http://h:1/live/c/video0/seg3.m4s");
        assert_eq!(
            resolve(b, "../audio0/index.m3u8"),
            "http://h:1/live/c/audio0/index.m3u8"
        );
        assert_eq!(resolve(b, "/time"), "http://h:1/time");
        assert_eq!(resolve(b, "//h:2/time"), "http://h:2/time");
        assert_eq!(resolve(b, "http://x/y"), "http://x/y");
        assert_eq!(
            resolve("http://h:1/live/c/master.m3u8", "video0/index.m3u8"),
            "http://h:1/live/c/video0/index.m3u8"
        );
    }
}

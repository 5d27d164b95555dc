//! Phase 1: decide whether a request may proceed, and normalise its path.
//!
//! - Methods: delivery is read-only. GET and HEAD are served; OPTIONS is a CORS
//!   preflight (or a capability probe) answered here; anything else is 405 with an
//!   `Allow` field (RFC 9110 §15.5.6).
//! - Paths: only origin-form (`/…`, RFC 9112 §3.2.1) or `*` with OPTIONS
//!   (asterisk-form, §3.2.4). Repeated slashes collapse and `.` segments go; a `..`
//!   segment — literal or percent-encoded — is rejected rather than resolved
//!   (RFC 3986 §5.2.4 would resolve it; an upstream mapping paths to files must never
//!   see one). Encoded `/`, `\` and NUL are rejected for the same reason.
//!
//! Every rejection is a [`RequestError`]: request-fatal, never connection-fatal.

use http::{Method, StatusCode};

use super::{Pipeline, RequestCtx};

/// Longest accepted request path, in bytes (414 beyond).
pub const MAX_PATH_BYTES: usize = 2048;

/// Methods the pipeline accepts, as sent in `Allow` and preflight answers.
pub const ALLOWED_METHODS: &str = "GET, HEAD, OPTIONS";

/// Why a request was refused before reaching any route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The method is not GET, HEAD or OPTIONS.
    #[error("method {0} not allowed")]
    MethodNotAllowed(Method),
    /// The request target is not origin-form (`/…`).
    #[error("request target must start with '/'")]
    NotOriginForm,
    /// The path is longer than [`MAX_PATH_BYTES`].
    #[error("path of {0} bytes is longer than {MAX_PATH_BYTES}")]
    PathTooLong(usize),
    /// A `..` segment (possibly percent-encoded).
    #[error("path must not contain '..' segments")]
    DotDotSegment,
    /// A percent-encoded `/`, `\` or NUL, or a literal `\`.
    #[error("path contains a forbidden (encoded) character")]
    ForbiddenCharacter,
}

impl RequestError {
    /// The status code this rejection is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            RequestError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            RequestError::PathTooLong(_) => StatusCode::URI_TOO_LONG,
            RequestError::NotOriginForm
            | RequestError::DotDotSegment
            | RequestError::ForbiddenCharacter => StatusCode::BAD_REQUEST,
        }
    }
}

/// What `request_filter` decided for an acceptable request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filtered {
    /// OPTIONS: answer the preflight (204) without routing.
    Preflight,
    /// GET/HEAD with a normalised path: go on to routing.
    Continue,
}

impl Pipeline {
    /// Phase 1. On success `ctx.path` holds the normalised path.
    pub fn request_filter(&self, ctx: &mut RequestCtx) -> Result<Filtered, RequestError> {
        let preflight = match ctx.method {
            Method::GET | Method::HEAD => false,
            Method::OPTIONS => true,
            ref other => return Err(RequestError::MethodNotAllowed(other.clone())),
        };
        if preflight && ctx.path == "*" {
            return Ok(Filtered::Preflight);
        }
        ctx.path = normalise_path(&ctx.path)?;
        Ok(if preflight {
            Filtered::Preflight
        } else {
            Filtered::Continue
        })
    }
}

/// Normalise an origin-form path: collapse `//`, drop `.` segments, keep a trailing
/// slash, reject `..` and encoded separators. The result starts with `/`.
///
/// Percent-encoding is otherwise left as sent: upstreams receive the same octets.
pub fn normalise_path(raw: &str) -> Result<String, RequestError> {
    if raw.len() > MAX_PATH_BYTES {
        return Err(RequestError::PathTooLong(raw.len()));
    }
    let rest = raw.strip_prefix('/').ok_or(RequestError::NotOriginForm)?;
    if raw.contains('\\') {
        return Err(RequestError::ForbiddenCharacter);
    }
    let mut out = String::with_capacity(raw.len());
    for segment in rest.split('/') {
        if segment.is_empty() || is_dot(segment) {
            continue;
        }
        if is_dot_dot(segment) {
            return Err(RequestError::DotDotSegment);
        }
        if has_forbidden_escape(segment) {
            return Err(RequestError::ForbiddenCharacter);
        }
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() || (raw.ends_with('/') && !out.ends_with('/')) {
        out.push('/');
    }
    Ok(out)
}

/// `.` or `%2e` (RFC 3986 §2.3: `.` is unreserved, so its encoding is equivalent).
fn is_dot(segment: &str) -> bool {
    segment == "." || segment.eq_ignore_ascii_case("%2e")
}

/// `..` in any mix of literal and encoded dots.
fn is_dot_dot(segment: &str) -> bool {
    let s = segment.to_ascii_lowercase();
    matches!(s.as_str(), ".." | "%2e." | ".%2e" | "%2e%2e")
}

/// `%2f` (`/`), `%5c` (`\`) or `%00`, which a file-backed upstream could decode into
/// a separator or a string terminator.
fn has_forbidden_escape(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    bytes.windows(3).any(|w| {
        w[0] == b'%'
            && matches!(
                (w[1].to_ascii_lowercase(), w[2].to_ascii_lowercase()),
                (b'2', b'f') | (b'5', b'c') | (b'0', b'0')
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_ordinary_paths() {
        assert_eq!(
            normalise_path("/live/ch/video0/seg3.m4s").unwrap(),
            "/live/ch/video0/seg3.m4s"
        );
        assert_eq!(normalise_path("/").unwrap(), "/");
        assert_eq!(normalise_path("/watch/a%20b").unwrap(), "/watch/a%20b");
    }

    #[test]
    fn collapses_slashes_and_dots() {
        assert_eq!(normalise_path("//live///ch/./x").unwrap(), "/live/ch/x");
        assert_eq!(normalise_path("/live/%2E/x/").unwrap(), "/live/x/");
        assert_eq!(normalise_path("/./").unwrap(), "/");
    }

    #[test]
    fn rejects_traversal() {
        for p in [
            "/../etc/passwd",
            "/a/..",
            "/a/%2e%2E/b",
            "/a/.%2e/b",
            "/a/%2E./b",
        ] {
            assert_eq!(normalise_path(p), Err(RequestError::DotDotSegment), "{p}");
        }
        // `...` and `..x` are ordinary names.
        assert_eq!(normalise_path("/a/.../..x").unwrap(), "/a/.../..x");
    }

    #[test]
    fn rejects_encoded_separators_and_bad_forms() {
        for p in ["/a%2f..%2fb", "/a%5Cb", "/a%00", "/a\\b"] {
            assert_eq!(
                normalise_path(p),
                Err(RequestError::ForbiddenCharacter),
                "{p}"
            );
        }
        assert_eq!(normalise_path("live"), Err(RequestError::NotOriginForm));
        let long = format!("/{}", "a".repeat(MAX_PATH_BYTES));
        assert_eq!(
            normalise_path(&long),
            Err(RequestError::PathTooLong(MAX_PATH_BYTES + 1))
        );
        assert_eq!(
            RequestError::PathTooLong(1).status(),
            StatusCode::URI_TOO_LONG
        );
    }
}

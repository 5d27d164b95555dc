//! Phase 6: account for the request once its response head is ready.
//!
//! - one `tracing` event at DEBUG with method, path, status, kind, version, peer,
//!   body shape and time to response head;
//! - `ferrocast_http_requests_total{kind,status}` and the duration histogram;
//! - a [`BodyGuard`](crate::body::BodyGuard) on the body that counts the bytes sent
//!   and keeps the request "in flight" until the body is finished or dropped.
//!
//! Playback tokens never reach logs: a `/t/{token}/` prefix is written `/t/…/`
//! ([`redact_token`]), whatever the upstream phase did with it.

use std::borrow::Cow;

use http::Response;

use super::{Pipeline, RequestCtx};
use crate::body::{InFlight, ResponseBody};

impl Pipeline {
    /// Phase 6: log, count, and attach the bytes counter and `in_flight` (taken at
    /// request arrival) to the body.
    pub fn logging(
        &self,
        ctx: &RequestCtx,
        in_flight: InFlight,
        response: Response<ResponseBody>,
    ) -> Response<ResponseBody> {
        let elapsed = ctx.started.elapsed();
        let status = response.status();
        self.metrics.observe(ctx.kind, status, elapsed);
        tracing::debug!(
            method = %ctx.method,
            path = %redact_token(&ctx.path),
            status = status.as_u16(),
            kind = ctx.kind.label(),
            version = ?ctx.version,
            peer = ?ctx.peer,
            streaming = response.body().is_streaming(),
            head_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
        let guard = self.metrics.body_guard(ctx.kind, in_flight);
        response.map(|body| body.with_guard(guard))
    }
}

/// `path` with the token of a leading `/t/{token}/` replaced by `…`.
pub fn redact_token(path: &str) -> Cow<'_, str> {
    match path.strip_prefix("/t/") {
        Some(rest) => match rest.find('/') {
            Some(i) => Cow::Owned(format!("/t/…{}", &rest[i..])),
            None => Cow::Borrowed("/t/…"),
        },
        None => Cow::Borrowed(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_the_token_segment() {
        assert_eq!(
            redact_token("/t/abc.def/live/ch/master.m3u8"),
            "/t/…/live/ch/master.m3u8"
        );
        assert_eq!(redact_token("/t/secret"), "/t/…");
        assert_eq!(redact_token("/live/t/x"), "/live/t/x");
        assert_eq!(redact_token("/time"), "/time");
    }
}

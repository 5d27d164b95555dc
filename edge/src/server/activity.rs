//! Per-connection header and idle timeouts, decided without I/O.
//!
//! One [`ConnActivity`] per connection is fed three events — bytes read from the
//! client, a request started, a response finished (or abandoned) — and answers
//! [`ConnActivity::verdict`]: keep going until some instant, or close now and why.
//!
//! The rules (nginx's `client_header_timeout` / `keepalive_timeout` split):
//!
//! - **In flight**: while a request is being answered the connection never times out
//!   here; long responses are bounded by the upstream's own timeouts.
//! - **Header** (HTTP/1.1 only): once the first byte after the last response has
//!   arrived, a request head must start within `header_timeout`. Bytes that never
//!   form a request (slowloris headers sent a byte at a time) close the connection
//!   after that long. (A request body the edge does not read cannot hold a
//!   connection either: hyper closes it after the response rather than drain it.)
//!   HTTP/2 connections skip this rule: PING, SETTINGS and WINDOW_UPDATE frames are
//!   reads that legitimately start no request.
//! - **Idle**: no request for `idle_timeout` after the last response (or after
//!   accept) closes the connection — the keep-alive timeout.
//!
//! hyper's own HTTP/1.1 `header_read_timeout` is switched off in favour of this: it
//! starts while a keep-alive connection is idle, so it cannot be shorter than the
//! idle timeout without closing idle players early.
//!
//! Times are milliseconds since the connection started, in atomics, so the hot path
//! (every read) costs one clock read and one relaxed load. A read that starts a
//! header clock says so, so the watchdog (asleep until the idle deadline) can be
//! woken to look again.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `first_byte_ms` value meaning "no byte since the last response".
const NONE: u64 = u64::MAX;

/// The two timeouts a connection is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnTimeouts {
    /// HTTP/1.1: first byte of a request → its complete head.
    pub header: Duration,
    /// No request in flight and none arriving for this long closes the connection.
    pub idle: Duration,
}

/// Why a connection is closed by [`ConnActivity::verdict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutReason {
    /// Bytes arrived but no request head completed within the header timeout.
    Header,
    /// No request for the idle timeout.
    Idle,
}

impl TimeoutReason {
    /// The `reason` label of `ferrocast_http_connections_timed_out_total`.
    pub fn label(self) -> &'static str {
        match self {
            TimeoutReason::Header => "header",
            TimeoutReason::Idle => "idle",
        }
    }
}

/// What the connection's watchdog should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing expired; look again at this instant.
    CheckAt(Instant),
    /// Close the connection.
    Expired(TimeoutReason),
}

/// Activity of one connection; shared by its I/O wrapper, its service and its
/// watchdog. See the module docs.
#[derive(Debug)]
pub(crate) struct ConnActivity {
    started: Instant,
    timeouts: ConnTimeouts,
    in_flight: AtomicU32,
    idle_since_ms: AtomicU64,
    first_byte_ms: AtomicU64,
    http2: AtomicBool,
}

impl ConnActivity {
    /// A connection accepted at `now`: idle, nothing read yet.
    pub(crate) fn new(now: Instant, timeouts: ConnTimeouts) -> Self {
        Self {
            started: now,
            timeouts,
            in_flight: AtomicU32::new(0),
            idle_since_ms: AtomicU64::new(0),
            first_byte_ms: AtomicU64::new(NONE),
            http2: AtomicBool::new(false),
        }
    }

    fn ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.started).as_millis() as u64
    }

    fn instant(&self, ms: u64) -> Instant {
        self.started + Duration::from_millis(ms)
    }

    /// Bytes arrived from the client. Returns true when they start a header clock,
    /// i.e. the deadline may now be earlier than the watchdog's last answer.
    pub(crate) fn bytes_read(&self, now: Instant) -> bool {
        if self.first_byte_ms.load(Ordering::Relaxed) == NONE
            && self.in_flight.load(Ordering::Relaxed) == 0
        {
            self.first_byte_ms.store(self.ms(now), Ordering::Relaxed);
            return true;
        }
        false
    }

    /// A request head was parsed; `http2` says which protocol carries it.
    pub(crate) fn request_started(&self, http2: bool) {
        if http2 {
            self.http2.store(true, Ordering::Relaxed);
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.first_byte_ms.store(NONE, Ordering::Relaxed);
    }

    /// A response body finished or was dropped.
    pub(crate) fn request_finished(&self, now: Instant) {
        self.idle_since_ms.store(self.ms(now), Ordering::Relaxed);
        self.first_byte_ms.store(NONE, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether a timeout has expired at `now`, or when to look again.
    pub(crate) fn verdict(&self, now: Instant) -> Verdict {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return Verdict::CheckAt(now + self.timeouts.idle);
        }
        let idle_deadline =
            self.instant(self.idle_since_ms.load(Ordering::Relaxed)) + self.timeouts.idle;
        let first_byte = self.first_byte_ms.load(Ordering::Relaxed);
        let header_deadline = (first_byte != NONE && !self.http2.load(Ordering::Relaxed))
            .then(|| self.instant(first_byte) + self.timeouts.header);
        match header_deadline {
            Some(deadline) if now >= deadline => Verdict::Expired(TimeoutReason::Header),
            _ if now >= idle_deadline => Verdict::Expired(TimeoutReason::Idle),
            Some(deadline) => Verdict::CheckAt(deadline.min(idle_deadline)),
            None => Verdict::CheckAt(idle_deadline),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn conn(t0: Instant) -> ConnActivity {
        ConnActivity::new(
            t0,
            ConnTimeouts {
                header: 10 * S,
                idle: 60 * S,
            },
        )
    }

    #[test]
    fn a_silent_connection_expires_when_idle() {
        let t0 = Instant::now();
        let c = conn(t0);
        assert_eq!(c.verdict(t0), Verdict::CheckAt(t0 + 60 * S));
        assert_eq!(c.verdict(t0 + 59 * S), Verdict::CheckAt(t0 + 60 * S));
        assert_eq!(
            c.verdict(t0 + 60 * S),
            Verdict::Expired(TimeoutReason::Idle)
        );
    }

    #[test]
    fn a_trickled_head_expires_after_the_header_timeout() {
        let t0 = Instant::now();
        let c = conn(t0);
        assert!(c.bytes_read(t0 + 5 * S), "the header clock starts");
        assert_eq!(c.verdict(t0 + 6 * S), Verdict::CheckAt(t0 + 15 * S));
        // More bytes do not extend the deadline.
        assert!(!c.bytes_read(t0 + 14 * S));
        assert_eq!(
            c.verdict(t0 + 15 * S),
            Verdict::Expired(TimeoutReason::Header)
        );
    }

    #[test]
    fn a_request_in_flight_never_expires_and_its_end_restarts_the_idle_clock() {
        let t0 = Instant::now();
        let c = conn(t0);
        c.bytes_read(t0);
        c.request_started(false);
        assert!(matches!(c.verdict(t0 + 300 * S), Verdict::CheckAt(_)));
        c.request_finished(t0 + 300 * S);
        assert_eq!(c.verdict(t0 + 301 * S), Verdict::CheckAt(t0 + 360 * S));
        assert_eq!(
            c.verdict(t0 + 360 * S),
            Verdict::Expired(TimeoutReason::Idle)
        );
    }

    #[test]
    fn bytes_after_a_response_that_start_no_request_hit_the_header_timeout() {
        // A request body the edge never reads, trickled after the response.
        let t0 = Instant::now();
        let c = conn(t0);
        c.request_started(false);
        c.bytes_read(t0 + S); // read while in flight: not a new head
        c.request_finished(t0 + 2 * S);
        c.bytes_read(t0 + 3 * S);
        assert_eq!(
            c.verdict(t0 + 13 * S),
            Verdict::Expired(TimeoutReason::Header)
        );
    }

    #[test]
    fn http2_control_frames_only_count_as_idle() {
        let t0 = Instant::now();
        let c = conn(t0);
        c.request_started(true);
        c.request_finished(t0 + S);
        c.bytes_read(t0 + 2 * S); // a PING
        assert_eq!(c.verdict(t0 + 30 * S), Verdict::CheckAt(t0 + 61 * S));
        assert_eq!(
            c.verdict(t0 + 61 * S),
            Verdict::Expired(TimeoutReason::Idle)
        );
    }

    #[test]
    fn the_earlier_deadline_wins() {
        let t0 = Instant::now();
        let c = conn(t0);
        c.bytes_read(t0 + 55 * S);
        assert_eq!(c.verdict(t0 + 56 * S), Verdict::CheckAt(t0 + 60 * S));
        assert_eq!(
            c.verdict(t0 + 60 * S),
            Verdict::Expired(TimeoutReason::Idle)
        );
    }
}

//! Damaged input on a live SRT connection: counted, logged, and survived.
//!
//! The TS demuxer and the frame converter keep running totals of what they had to
//! skip or repair ([`TsStats`], [`FrameStats`]). After each batch of input the
//! connection hands both to an [`InputErrorReport`], which passes the growth of each
//! counter to [`PublishHandler::input_errors`] (the origin's
//! `ferrocast_ingest_input_errors_total{protocol,kind}`) and writes a warning per
//! kind at most every [`LOG_INTERVAL`], so a publisher on a lossy link cannot flood
//! the log. [`DatagramErrorReport`] does the same for datagrams on the listener's
//! port that are not SRT at all.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tracing::warn;

use crate::publish::PublishHandler;
use crate::ts::demuxer::TsStats;
use crate::ts::frames::FrameStats;

/// Shortest time between two warnings of the same kind on one connection.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The counters reported, by their metric label.
fn counters(ts: &TsStats, frames: &FrameStats) -> [(&'static str, u64); 9] {
    [
        ("sync_loss", ts.sync_losses),
        ("continuity_error", ts.continuity_errors),
        ("transport_error", ts.transport_errors),
        ("psi_error", ts.psi_errors),
        ("pes_dropped", ts.pes_dropped),
        ("pmt_change", ts.pmt_changes),
        ("malformed_frame", frames.malformed),
        (
            "waiting_for_parameter_sets",
            frames.waiting_for_parameter_sets,
        ),
        ("unsupported_stream", frames.unsupported),
    ]
}

/// What one connection has reported so far.
#[derive(Debug, Default)]
pub struct InputErrorReport {
    reported: [u64; 9],
    last_log: [Option<Instant>; 9],
}

impl InputErrorReport {
    /// Reports the growth since the last call. `now` is passed in for tests.
    pub fn update(
        &mut self,
        ts: &TsStats,
        frames: &FrameStats,
        handler: &dyn PublishHandler,
        peer: SocketAddr,
        channel: &str,
        now: Instant,
    ) {
        for (i, (kind, total)) in counters(ts, frames).into_iter().enumerate() {
            let new = total.saturating_sub(self.reported[i]);
            if new == 0 {
                continue;
            }
            self.reported[i] = total;
            handler.input_errors("srt", kind, new);
            let due = self.last_log[i].is_none_or(|t| now.duration_since(t) >= LOG_INTERVAL);
            if due {
                self.last_log[i] = Some(now);
                warn!(%peer, channel, kind, total, "srt: {kind} in the MPEG-TS from {peer} ({total} so far); continuing");
            }
        }
    }
}

/// Datagrams on the listener's port that do not parse as SRT packets (random
/// bytes, another protocol): srt-tokio drops them and counts them in its listener
/// statistics; this passes the growth on as `kind = "unparsable_datagram"` and
/// logs at most every [`LOG_INTERVAL`].
#[derive(Debug, Default)]
pub struct DatagramErrorReport {
    reported: u64,
    last_log: Option<Instant>,
}

impl DatagramErrorReport {
    /// Reports `total` parse errors seen so far on the listener at `addr`.
    pub fn update(
        &mut self,
        total: u64,
        handler: &dyn PublishHandler,
        addr: SocketAddr,
        now: Instant,
    ) {
        let new = total.saturating_sub(self.reported);
        if new == 0 {
            return;
        }
        self.reported = total;
        handler.input_errors("srt", "unparsable_datagram", new);
        if self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= LOG_INTERVAL)
        {
            self.last_log = Some(now);
            warn!(%addr, total, "srt: datagrams that are not SRT packets arrived on {addr} ({total} so far); ignored");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::publish::{PublishFuture, PublishRequest};

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(&'static str, u64)>>);

    impl PublishHandler for Recorder {
        fn publish(&self, _: PublishRequest) -> PublishFuture {
            unreachable!("not used")
        }
        fn input_errors(&self, protocol: &'static str, kind: &'static str, count: u64) {
            assert_eq!(protocol, "srt");
            self.0.lock().unwrap().push((kind, count));
        }
    }

    #[test]
    fn reports_only_growth_once() {
        let handler = Recorder::default();
        let mut report = InputErrorReport::default();
        let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let now = Instant::now();
        let mut ts = TsStats {
            continuity_errors: 3,
            ..TsStats::default()
        };
        let frames = FrameStats::default();
        report.update(&ts, &frames, &handler, peer, "c", now);
        report.update(&ts, &frames, &handler, peer, "c", now);
        ts.continuity_errors = 5;
        ts.pmt_changes = 1;
        report.update(&ts, &frames, &handler, peer, "c", now);
        assert_eq!(
            *handler.0.lock().unwrap(),
            vec![
                ("continuity_error", 3),
                ("continuity_error", 2),
                ("pmt_change", 1)
            ]
        );
    }
}

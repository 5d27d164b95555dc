//! A WHEP viewer: what it has been sent, and when it is too slow to keep.
//!
//! - **Start.** Video starts with a key frame. On connecting, the viewer gets the
//!   channel's current group of pictures from its last key frame (the loop keeps
//!   it), so the first picture shows without waiting for the publisher's next key
//!   frame; then it follows live.
//! - **Key frame requests** (PLI, RFC 4585 §6.3.1; FIR, RFC 5104 §4.3.1) are passed
//!   up by the loop: to a WHIP publisher or the B-frame re-encoder. A passthrough
//!   RTMP/SRT source cannot be asked; the viewer then recovers at the publisher's
//!   next key frame (NACK/RTX, RFC 4588, repairs most loss before it comes to that).
//! - **Slow viewers.** RTCP receiver reports give the fraction of packets lost
//!   (RFC 3550 §6.4.1). A viewer above `slow_viewer_loss` for the whole window is
//!   dropped: its retransmissions cost the loop, and the loop sends to everyone.

use std::time::{Duration, Instant};

use str0m::media::{Frequency, MediaTime};
use str0m::{Rtc, RtcError};

use super::offer::Negotiated;
use super::sample::{RtcSample, SampleKind};

/// One viewer's sending state.
#[derive(Debug)]
pub struct Viewer {
    /// The video line (H.264), if negotiated.
    pub video: Option<Negotiated>,
    /// The audio line (Opus), if negotiated.
    pub audio: Option<Negotiated>,
    /// ICE and DTLS are up: media can be written.
    pub connected: bool,
    /// A key frame has been sent: later video frames can be decoded.
    started: bool,
    /// Since when the reported loss has been above the limit.
    lossy_since: Option<Instant>,
}

/// What [`Viewer::observe_loss`] concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Keep it.
    Fine,
    /// Drop it: lossy for the whole window.
    Slow,
}

impl Viewer {
    /// A viewer of the negotiated lines.
    pub fn new(video: Option<Negotiated>, audio: Option<Negotiated>) -> Self {
        Self {
            video,
            audio,
            connected: false,
            started: false,
            lossy_since: None,
        }
    }

    /// Writes one sample, if this viewer can use it now. Video waits for a key
    /// frame; nothing is written before the connection is up (str0m would drop it).
    pub fn write(&mut self, rtc: &mut Rtc, sample: &RtcSample) -> Result<(), RtcError> {
        if !self.connected {
            return Ok(());
        }
        let (line, time) = match sample.kind {
            SampleKind::Video => {
                if !self.started && !sample.keyframe {
                    return Ok(());
                }
                let Some(line) = self.video else {
                    return Ok(());
                };
                self.started = true;
                (line, MediaTime::from_90khz(sample.rtp_time))
            }
            SampleKind::Audio => {
                let Some(line) = self.audio else {
                    return Ok(());
                };
                (
                    line,
                    MediaTime::new(sample.rtp_time, Frequency::FORTY_EIGHT_KHZ),
                )
            }
        };
        let Some(writer) = rtc.writer(line.mid) else {
            return Ok(());
        };
        writer.write(line.pt, sample.wallclock, time, sample.data.clone())
    }

    /// Whether a key frame is still awaited.
    pub fn waiting_for_keyframe(&self) -> bool {
        !self.started
    }

    /// A receiver report's loss fraction at `now`; `limit` and `window` from
    /// `[webrtc] slow_viewer_loss` and `slow_viewer_window_s`.
    pub fn observe_loss(
        &mut self,
        loss: f32,
        limit: f32,
        window: Duration,
        now: Instant,
    ) -> Health {
        if loss <= limit {
            self.lossy_since = None;
            return Health::Fine;
        }
        let since = *self.lossy_since.get_or_insert(now);
        if now.duration_since(since) >= window {
            Health::Slow
        } else {
            Health::Fine
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sustained_loss_makes_a_viewer_slow() {
        let mut v = Viewer::new(None, None);
        let t0 = Instant::now();
        let w = Duration::from_secs(5);
        let s = Duration::from_secs(1);
        assert_eq!(v.observe_loss(0.5, 0.2, w, t0), Health::Fine);
        assert_eq!(v.observe_loss(0.5, 0.2, w, t0 + 4 * s), Health::Fine);
        // One good report resets the window.
        assert_eq!(v.observe_loss(0.0, 0.2, w, t0 + 5 * s), Health::Fine);
        assert_eq!(v.observe_loss(0.5, 0.2, w, t0 + 6 * s), Health::Fine);
        assert_eq!(v.observe_loss(0.5, 0.2, w, t0 + 11 * s), Health::Slow);
    }
}

//! One WebRTC session in the media loop: its str0m [`Rtc`], its role, and the
//! loop's bookkeeping (next timer, why it ended).

use std::sync::Arc;
use std::time::Instant;

use str0m::Rtc;

use super::loop_input::{Role, SessionId};
use super::publisher::Publisher;
use super::viewer::Viewer;

/// Viewer or publisher state.
pub enum RoleState {
    /// WHEP.
    Viewer(Viewer),
    /// WHIP.
    Publisher(Box<Publisher>),
}

/// One session.
pub struct Session {
    /// Its id (the `Location`'s last segment).
    pub id: SessionId,
    /// The channel it views or publishes.
    pub channel: Arc<str>,
    /// Our ICE ufrag, for the demultiplexer.
    pub ufrag: String,
    /// The sans-IO WebRTC state.
    pub rtc: Rtc,
    /// Viewer or publisher.
    pub role: RoleState,
    /// When str0m next wants `Input::Timeout`.
    pub next_timeout: Instant,
    /// Why it is ending, once the loop decided (the metrics label).
    pub end_reason: Option<&'static str>,
    /// When the offer was answered.
    pub created: Instant,
    /// ICE and DTLS came up at some point.
    pub connected: bool,
}

impl Session {
    /// Viewer or publisher.
    pub fn role(&self) -> Role {
        match self.role {
            RoleState::Viewer(_) => Role::Viewer,
            RoleState::Publisher(_) => Role::Publisher,
        }
    }

    /// Ends the session for `reason` (the first reason given sticks).
    pub fn close(&mut self, reason: &'static str) {
        self.end_reason.get_or_insert(reason);
        self.rtc.disconnect();
    }
}

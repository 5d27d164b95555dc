//! Delivering chat events to every chatter of a channel.
//!
//! [`FanOut`] is the seam for running several origins: today [`InProcess`] (a
//! tokio broadcast channel per chat room); a pub/sub implementation can replace it
//! without touching the sockets.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::message::ChatEvent;

/// A chat event as the JSON text frame every chatter receives, serialised once per
/// event (not once per chatter) and shared by reference count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatFrame(pub Utf8Bytes);

impl ChatFrame {
    /// Serialises `event`.
    pub fn of(event: &ChatEvent) -> Self {
        Self(serde_json::to_string(event).unwrap_or_default().into())
    }
}

/// Events a slow chatter may fall behind before it skips some (and is told so).
pub const SUBSCRIBER_BACKLOG: usize = 256;

/// Carries chat events to the subscribers of a channel.
pub trait FanOut: Send + Sync + 'static {
    /// Sends `event` to every subscriber of `channel`.
    fn publish(&self, channel: &str, event: &ChatEvent);
    /// A receiver of `channel`'s events (as frames) from now on.
    fn subscribe(&self, channel: &str) -> broadcast::Receiver<ChatFrame>;
}

/// One process: a broadcast channel per room.
#[derive(Debug, Default)]
pub struct InProcess {
    rooms: Mutex<HashMap<String, broadcast::Sender<ChatFrame>>>,
}

impl InProcess {
    fn sender(&self, channel: &str) -> broadcast::Sender<ChatFrame> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        // Rooms nobody listens to any more are dropped on the way.
        if rooms.len() > 1_000 {
            rooms.retain(|_, s| s.receiver_count() > 0);
        }
        rooms
            .entry(channel.to_owned())
            .or_insert_with(|| broadcast::channel(SUBSCRIBER_BACKLOG).0)
            .clone()
    }
}

impl FanOut for InProcess {
    fn publish(&self, channel: &str, event: &ChatEvent) {
        // No receiver is not an error: nobody is in the room.
        let _ = self.sender(channel).send(ChatFrame::of(event));
    }

    fn subscribe(&self, channel: &str) -> broadcast::Receiver<ChatFrame> {
        self.sender(channel).subscribe()
    }
}

//! Chat beside the stream: a WebSocket at `/chat/{channel}`.
//!
//! - Anyone may connect and read; on join a chatter gets the last
//!   [`HISTORY_LEN`] messages, then every new one.
//! - Posting needs a chat token (`POST /api/v1/channels/{c}/chat-token` with a
//!   nickname; [`token`]), given as `?token=` on the WebSocket URL.
//! - Messages are plain text of at most [`message::MAX_MESSAGE_CHARS`]
//!   characters; each user may post [`POST_BURST`] at once and
//!   [`POSTS_PER_SECOND`] on average; refusals are error frames ([`message`]).
//! - Moderators (admin key) delete messages and ban users through the API.
//! - Fan-out is behind [`fanout::FanOut`] (in-process today).
//! - [`socket`] does the HTTP upgrade (RFC 6455 §4.2) and runs each connection.
//!
//! History and bans live in memory: they end with the process.

pub mod fanout;
pub mod message;
pub mod rate;
pub mod socket;
pub mod token;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

use fanout::FanOut;
use message::{ChatEvent, Message, Reject};
use rate::RateLimiter;
use token::{ChatIdentity, ChatTokens};

use crate::clock::now_ms;

/// Messages kept per channel and sent on join.
pub const HISTORY_LEN: usize = 50;
/// Messages a user may post at once.
pub const POST_BURST: u32 = 5;
/// Messages a user may post per second on average.
pub const POSTS_PER_SECOND: f64 = 1.0;

/// Chat metrics.
#[derive(Debug, Clone)]
pub struct ChatMetrics {
    /// `ferrocast_chat_connected{channel}`.
    pub connected: IntGaugeVec,
    /// `ferrocast_chat_messages_in_total{channel}`.
    pub messages_in: IntCounterVec,
    /// `ferrocast_chat_messages_out_total{channel}` (frames sent to chatters).
    pub messages_out: IntCounterVec,
    /// `ferrocast_chat_rejects_total{channel, reason}`.
    pub rejects: IntCounterVec,
}

impl ChatMetrics {
    /// Registers the chat metrics.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let connected = IntGaugeVec::new(
            Opts::new(
                "ferrocast_chat_connected",
                "Chat WebSocket connections open",
            ),
            &["channel"],
        )?;
        let messages_in = IntCounterVec::new(
            Opts::new("ferrocast_chat_messages_in_total", "Chat messages accepted"),
            &["channel"],
        )?;
        let messages_out = IntCounterVec::new(
            Opts::new(
                "ferrocast_chat_messages_out_total",
                "Chat events sent to chatters",
            ),
            &["channel"],
        )?;
        let rejects = IntCounterVec::new(
            Opts::new(
                "ferrocast_chat_rejects_total",
                "Chat posts refused, by reason",
            ),
            &["channel", "reason"],
        )?;
        registry.register(Box::new(connected.clone()))?;
        registry.register(Box::new(messages_in.clone()))?;
        registry.register(Box::new(messages_out.clone()))?;
        registry.register(Box::new(rejects.clone()))?;
        Ok(Self {
            connected,
            messages_in,
            messages_out,
            rejects,
        })
    }
}

#[derive(Debug, Default)]
struct Room {
    history: VecDeque<Message>,
    banned: HashSet<String>,
}

/// The chat of every channel.
pub struct Chat {
    rooms: Mutex<HashMap<String, Room>>,
    posts: Mutex<RateLimiter<String>>,
    fanout: Arc<dyn FanOut>,
    /// Issues and checks chat tokens.
    pub tokens: ChatTokens,
    /// Metrics.
    pub metrics: ChatMetrics,
    next_id: AtomicU64,
}

impl Chat {
    /// Chat over `fanout`.
    pub fn new(fanout: Arc<dyn FanOut>, metrics: ChatMetrics) -> Self {
        Self {
            rooms: Mutex::default(),
            posts: Mutex::new(RateLimiter::new(POST_BURST, POSTS_PER_SECOND)),
            fanout,
            tokens: ChatTokens::default(),
            metrics,
            next_id: AtomicU64::new(1),
        }
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<String, Room>> {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Chat connections open on `channel`: every watch page holds one, so this is
    /// the channel's viewer count on this origin's pages.
    pub fn connected(&self, channel: &str) -> u64 {
        self.metrics
            .connected
            .with_label_values(&[channel])
            .get()
            .max(0) as u64
    }

    /// The last messages of `channel`, oldest first.
    pub fn history(&self, channel: &str) -> Vec<Message> {
        self.rooms()
            .get(channel)
            .map(|r| r.history.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The fan-out (sockets subscribe through it).
    pub fn fanout(&self) -> &dyn FanOut {
        &*self.fanout
    }

    /// Posts `text` as `who` in `channel`, or says why not.
    pub fn post(
        &self,
        channel: &str,
        who: Option<&ChatIdentity>,
        text: &str,
    ) -> Result<Message, Reject> {
        let result = self.try_post(channel, who, text);
        match &result {
            Ok(_) => self.metrics.messages_in.with_label_values(&[channel]).inc(),
            Err(r) => self
                .metrics
                .rejects
                .with_label_values(&[channel, r.code()])
                .inc(),
        }
        result
    }

    fn try_post(
        &self,
        channel: &str,
        who: Option<&ChatIdentity>,
        text: &str,
    ) -> Result<Message, Reject> {
        let who = who.ok_or(Reject::LoginRequired)?;
        if self
            .rooms()
            .get(channel)
            .is_some_and(|r| r.banned.contains(&who.user))
        {
            return Err(Reject::Banned);
        }
        message::check_text(text)?;
        let allowed = self
            .posts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .allow(&who.user, Instant::now());
        if !allowed {
            return Err(Reject::RateLimited);
        }
        let message = Message {
            id: format!("m{}", self.next_id.fetch_add(1, Ordering::Relaxed)),
            user: who.user.clone(),
            nickname: who.nickname.clone(),
            text: text.to_owned(),
            at_ms: now_ms(),
        };
        {
            let mut rooms = self.rooms();
            let room = rooms.entry(channel.to_owned()).or_default();
            room.history.push_back(message.clone());
            while room.history.len() > HISTORY_LEN {
                room.history.pop_front();
            }
        }
        self.fanout
            .publish(channel, &ChatEvent::Message(message.clone()));
        Ok(message)
    }

    /// Deletes message `id` of `channel` (moderation); whether it was there.
    pub fn delete(&self, channel: &str, id: &str) -> bool {
        let removed = {
            let mut rooms = self.rooms();
            let Some(room) = rooms.get_mut(channel) else {
                return false;
            };
            let before = room.history.len();
            room.history.retain(|m| m.id != id);
            room.history.len() != before
        };
        if removed {
            self.fanout
                .publish(channel, &ChatEvent::Deleted { id: id.to_owned() });
        }
        removed
    }

    /// Bans `user` from posting in `channel`.
    pub fn ban(&self, channel: &str, user: &str) {
        self.rooms()
            .entry(channel.to_owned())
            .or_default()
            .banned
            .insert(user.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat() -> Chat {
        Chat::new(
            Arc::new(fanout::InProcess::default()),
            ChatMetrics::register(&Registry::new()).unwrap(),
        )
    }

    fn who(user: &str) -> ChatIdentity {
        ChatIdentity {
            channel: "c".into(),
            user: user.into(),
            nickname: user.into(),
            expires_at_s: u64::MAX,
        }
    }

    #[test]
    fn posting_rules() {
        let chat = chat();
        let mut rx = chat.fanout().subscribe("c");
        assert_eq!(chat.post("c", None, "hi"), Err(Reject::LoginRequired));
        assert_eq!(chat.post("c", Some(&who("a")), "  "), Err(Reject::Empty));
        let long = "x".repeat(message::MAX_MESSAGE_CHARS + 1);
        assert_eq!(chat.post("c", Some(&who("a")), &long), Err(Reject::TooLong));
        let m = chat
            .post("c", Some(&who("a")), "<script>alert(1)</script>")
            .unwrap();
        assert_eq!(
            m.text, "<script>alert(1)</script>",
            "stored as text, unchanged"
        );
        assert_eq!(
            rx.try_recv().unwrap(),
            fanout::ChatFrame::of(&ChatEvent::Message(m.clone()))
        );
        for _ in 1..POST_BURST {
            chat.post("c", Some(&who("a")), "more").unwrap();
        }
        assert_eq!(
            chat.post("c", Some(&who("a")), "flood"),
            Err(Reject::RateLimited)
        );
        assert!(chat.post("c", Some(&who("b")), "other user").is_ok());
        chat.ban("c", "b");
        assert_eq!(
            chat.post("c", Some(&who("b")), "again"),
            Err(Reject::Banned)
        );
        assert!(chat.delete("c", &m.id));
        assert!(!chat.delete("c", &m.id));
        assert!(chat.history("c").iter().all(|x| x.id != m.id));
    }

    #[test]
    fn history_is_bounded() {
        let chat = chat();
        for i in 0..(HISTORY_LEN + 10) {
            chat.post("c", Some(&who(&format!("u{i}"))), &format!("m{i}"))
                .unwrap();
        }
        let h = chat.history("c");
        assert_eq!(h.len(), HISTORY_LEN);
        assert_eq!(h.last().unwrap().text, format!("m{}", HISTORY_LEN + 9));
    }
}

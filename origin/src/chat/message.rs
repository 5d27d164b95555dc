//! What travels over a chat WebSocket (JSON text frames).
//!
//! Client → server: `{"type": "post", "text": "…"}`.
//! Server → client:
//! - `{"type": "history", "messages": [Message…]}` once, on join;
//! - `{"type": "message", …Message}` for each new message;
//! - `{"type": "deleted", "id": "…"}` when a moderator removes one;
//! - `{"type": "error", "code": "…", "message": "…"}` when a post is refused
//!   (codes: `login_required`, `banned`, `rate_limited`, `empty`, `too_long`,
//!   `bad_frame`).
//!
//! Message text is plain text; clients must render it as text, never as HTML.

use serde::{Deserialize, Serialize};

/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Unique within the origin's run.
    pub id: String,
    /// The poster's user id (from their chat token).
    pub user: String,
    /// The poster's nickname.
    pub nickname: String,
    /// Plain text.
    pub text: String,
    /// ms since the Unix epoch.
    pub at_ms: u64,
}

/// Something every chatter of a channel hears about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ChatEvent {
    /// A new message.
    Message(Message),
    /// A moderator deleted message `id`.
    Deleted {
        /// The message.
        id: String,
    },
}

/// A frame a client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClientFrame {
    /// Post a message.
    Post {
        /// Plain text.
        text: String,
    },
}

/// Why a post was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// No (valid) chat token on this connection.
    LoginRequired,
    /// The user is banned from this channel.
    Banned,
    /// Too many messages too fast.
    RateLimited,
    /// Empty or whitespace only.
    Empty,
    /// Longer than [`MAX_MESSAGE_CHARS`].
    TooLong,
    /// Not a frame this server understands.
    BadFrame,
}

impl Reject {
    /// The `code` of the error frame, also the metrics label.
    pub fn code(self) -> &'static str {
        match self {
            Reject::LoginRequired => "login_required",
            Reject::Banned => "banned",
            Reject::RateLimited => "rate_limited",
            Reject::Empty => "empty",
            Reject::TooLong => "too_long",
            Reject::BadFrame => "bad_frame",
        }
    }

    /// The human message of the error frame.
    pub fn message(self) -> String {
        match self {
            Reject::LoginRequired => {
                "posting needs a chat token (POST /api/v1/channels/{channel}/chat-token)".into()
            }
            Reject::Banned => "you are banned from this chat".into(),
            Reject::RateLimited => "slow down: too many messages".into(),
            Reject::Empty => "empty message".into(),
            Reject::TooLong => format!("messages are at most {MAX_MESSAGE_CHARS} characters"),
            Reject::BadFrame => "expected {\"type\":\"post\",\"text\":\"…\"}".into(),
        }
    }

    /// The error frame.
    pub fn frame(self) -> String {
        serde_json::json!({ "type": "error", "code": self.code(), "message": self.message() })
            .to_string()
    }
}

/// Checks a message's text.
pub fn check_text(text: &str) -> Result<(), Reject> {
    if text.trim().is_empty() {
        return Err(Reject::Empty);
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(Reject::TooLong);
    }
    Ok(())
}

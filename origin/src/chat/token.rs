//! Chat tokens: who may post, as whom, in which channel, until when.
//!
//! `base64url(payload) "." base64url(HMAC-SHA256(key, payload))`, payload JSON
//! `{"c": channel, "u": user id, "n": nickname, "e": expiry (Unix s)}`. The key is
//! random per origin run, so tokens end with a restart (clients ask for a new one).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How long a chat token is valid.
pub const CHAT_TOKEN_LIFETIME_S: u64 = 24 * 3_600;

/// What a chat token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatIdentity {
    /// Channel.
    #[serde(rename = "c")]
    pub channel: String,
    /// Stable user id (random, per token).
    #[serde(rename = "u")]
    pub user: String,
    /// Display name.
    #[serde(rename = "n")]
    pub nickname: String,
    /// Expiry, Unix seconds.
    #[serde(rename = "e")]
    pub expires_at_s: u64,
}

/// Issues and checks chat tokens.
#[derive(Clone)]
pub struct ChatTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for ChatTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChatTokens")
    }
}

impl Default for ChatTokens {
    fn default() -> Self {
        let mut key = [0; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self { key }
    }
}

impl ChatTokens {
    fn mac(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(payload);
        mac.finalize().into_bytes().to_vec()
    }

    /// A token for `identity`.
    pub fn issue(&self, identity: &ChatIdentity) -> String {
        let payload = serde_json::to_vec(identity).unwrap_or_default();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(self.mac(&payload))
        )
    }

    /// The identity in `token` if it is ours, for `channel`, and not expired.
    pub fn verify(&self, token: &str, channel: &str, now_s: u64) -> Option<ChatIdentity> {
        let (payload, mac) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let mut check = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        check.update(&payload);
        check.verify_slice(&mac).ok()?;
        let identity: ChatIdentity = serde_json::from_slice(&payload).ok()?;
        (identity.channel == channel && now_s < identity.expires_at_s).then_some(identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(channel: &str, expires_at_s: u64) -> ChatIdentity {
        ChatIdentity {
            channel: channel.into(),
            user: "u1".into(),
            nickname: "ann".into(),
            expires_at_s,
        }
    }

    #[test]
    fn a_token_verifies_for_its_channel_until_it_expires() {
        let t = ChatTokens::default();
        let token = t.issue(&id("news", 100));
        assert_eq!(t.verify(&token, "news", 99), Some(id("news", 100)));
        assert_eq!(t.verify(&token, "news", 100), None, "expired");
        assert_eq!(t.verify(&token, "sport", 99), None, "another channel");
        assert_eq!(
            ChatTokens::default().verify(&token, "news", 99),
            None,
            "another key"
        );
        let (payload, mac) = token.split_once('.').unwrap();
        let forged = format!(
            "{}.{mac}",
            URL_SAFE_NO_PAD.encode(br#"{"c":"news","u":"admin","n":"x","e":100}"#)
        );
        assert_eq!(t.verify(&forged, "news", 99), None, "changed payload");
        assert!(t.verify(&format!("{payload}."), "news", 99).is_none());
    }
}

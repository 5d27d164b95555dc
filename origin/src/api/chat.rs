//! Chat through the API:
//!
//! | method and path | who | does |
//! |---|---|---|
//! | `POST /channels/{name}/chat-token` `{"nickname"?}` | anyone (rate-limited per address) | 201 `{"token", "user", "nickname", "expires_at_s"}` |
//! | `DELETE /channels/{name}/chat/messages/{id}` | admin | 204 / 404 |
//! | `POST /channels/{name}/chat/bans` `{"user"}` | admin | 204: the user's next post is refused |

use std::net::SocketAddr;
use std::time::Instant;

use edge::pipeline::RequestBody;
use edge::upstream::UpstreamResponse;
use http::StatusCode;
use serde::Deserialize;

use super::json::{error, json, no_content, parse_body, parse_body_or_default};
use super::ControlApi;
use crate::chat::token::{ChatIdentity, CHAT_TOKEN_LIFETIME_S};
use crate::clock::now_ms;

/// Longest nickname, in characters.
pub const MAX_NICKNAME_CHARS: usize = 32;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    nickname: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BanRequest {
    user: String,
}

fn nickname_ok(n: &str) -> bool {
    let n = n.trim();
    !n.is_empty()
        && n.chars().count() <= MAX_NICKNAME_CHARS
        && n.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == ' ' || c == '.')
}

/// `POST /channels/{name}/chat-token`.
pub(crate) async fn issue_token(
    api: &ControlApi,
    channel: &str,
    peer: Option<SocketAddr>,
    body: Option<RequestBody>,
) -> UpstreamResponse {
    if let Some(peer) = peer {
        let allowed = api
            .chat_token_rate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .allow(&peer.ip(), Instant::now());
        if !allowed {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "too many chat tokens from this address; try later",
            );
        }
    }
    // An empty body asks for an anonymous nickname.
    let req: TokenRequest = match parse_body_or_default(body).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    match api.catalog.channel(channel).await {
        Ok(Some(record)) if !record.chat_anonymous && req.nickname.is_none() => {
            return error(
                StatusCode::FORBIDDEN,
                "this channel's chat needs a nickname",
            );
        }
        Ok(Some(_)) => {}
        Ok(None) => return error(StatusCode::NOT_FOUND, &format!("no channel {channel:?}")),
        Err(e) => {
            tracing::error!(error = %e, "catalog error issuing a chat token");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the catalog is unavailable",
            );
        }
    }
    let user = crate::catalog::stream_key::generate()[..12].to_owned();
    let nickname = match req.nickname {
        Some(n) if nickname_ok(&n) => n.trim().to_owned(),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "nickname: 1-{MAX_NICKNAME_CHARS} letters, digits, spaces, '.', '-' or '_'"
                ),
            )
        }
        None => format!("anon-{}", &user[..4]),
    };
    let identity = ChatIdentity {
        channel: channel.to_owned(),
        user,
        nickname,
        expires_at_s: now_ms() / 1000 + CHAT_TOKEN_LIFETIME_S,
    };
    let token = api.chat.tokens.issue(&identity);
    json(
        StatusCode::CREATED,
        &serde_json::json!({
            "token": token,
            "user": identity.user,
            "nickname": identity.nickname,
            "expires_at_s": identity.expires_at_s,
        }),
    )
}

/// `DELETE /channels/{name}/chat/messages/{id}`.
pub(crate) fn delete_message(api: &ControlApi, channel: &str, id: &str) -> UpstreamResponse {
    if api.chat.delete(channel, id) {
        tracing::info!(channel, id, "chat message deleted by a moderator");
        no_content()
    } else {
        error(
            StatusCode::NOT_FOUND,
            "no such message in this chat's history",
        )
    }
}

/// `POST /channels/{name}/chat/bans`.
pub(crate) async fn ban(
    api: &ControlApi,
    channel: &str,
    body: Option<RequestBody>,
) -> UpstreamResponse {
    let req: BanRequest = match parse_body(body).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    api.chat.ban(channel, &req.user);
    tracing::info!(channel, user = %req.user, "chat user banned");
    no_content()
}

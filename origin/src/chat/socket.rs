//! `GET /chat/{channel}`: the WebSocket handshake (RFC 6455 §4.2) as a local route,
//! then one task per connection.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use edge::pipeline::{LocalRoutes, RequestCtx};
use edge::upstream::{ObjectKind, UpstreamBody, UpstreamFuture, UpstreamResponse};
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

use super::fanout::ChatFrame;
use super::message::{ClientFrame, Reject};
use super::token::ChatIdentity;
use super::Chat;
use crate::api::json::error;
use crate::catalog::Catalog;
use crate::clock::now_ms;
use crate::config::is_valid_channel_name;

/// Path prefix of chat sockets.
pub const CHAT_PREFIX: &str = "/chat/";
/// Largest frame or message a client may send.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 8 * 1024;
/// Frames written with one flush at most.
pub const MAX_FRAMES_PER_FLUSH: u64 = 64;
/// A connection that sends nothing (not even a pong) for this long is closed.
pub const READ_IDLE: Duration = Duration::from_secs(120);

/// The chat sockets as local routes.
pub struct ChatRoutes {
    chat: Arc<Chat>,
    catalog: Catalog,
}

impl ChatRoutes {
    /// Chat sockets for the channels of `catalog`.
    pub fn new(chat: Arc<Chat>, catalog: Catalog) -> Self {
        Self { chat, catalog }
    }
}

fn header_has(headers: &HeaderMap, name: http::header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

fn answer(response: UpstreamResponse) -> Option<UpstreamFuture> {
    Some(Box::pin(async move { response }))
}

impl LocalRoutes for ChatRoutes {
    fn route(&self, ctx: &RequestCtx) -> Option<UpstreamFuture> {
        let channel = ctx.path.strip_prefix(CHAT_PREFIX)?.to_owned();
        if !is_valid_channel_name(&channel) {
            return answer(error(StatusCode::NOT_FOUND, "no such chat"));
        }
        if ctx.method != Method::GET {
            return answer(error(
                StatusCode::METHOD_NOT_ALLOWED,
                "chat is a WebSocket: GET with Upgrade",
            ));
        }
        // RFC 6455 §4.2.1: what a client's opening handshake must carry.
        let key = ctx.headers.get("sec-websocket-key").cloned();
        let is_ws = header_has(&ctx.headers, http::header::UPGRADE, "websocket")
            && header_has(&ctx.headers, http::header::CONNECTION, "upgrade");
        let (Some(key), true) = (key, is_ws) else {
            let mut r = error(
                StatusCode::UPGRADE_REQUIRED,
                "chat is a WebSocket: use Upgrade: websocket",
            );
            r.headers
                .insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
            return answer(r);
        };
        if ctx
            .headers
            .get("sec-websocket-version")
            .and_then(|v| v.to_str().ok())
            != Some("13")
        {
            let mut r = error(StatusCode::UPGRADE_REQUIRED, "WebSocket version 13 only");
            r.headers
                .insert("sec-websocket-version", HeaderValue::from_static("13"));
            return answer(r);
        }
        let identity = match query_param(ctx.query.as_deref(), "token") {
            None => None,
            Some(token) => match self.chat.tokens.verify(&token, &channel, now_ms() / 1000) {
                Some(identity) => Some(identity),
                None => {
                    return answer(error(
                        StatusCode::UNAUTHORIZED,
                        "chat token not valid for this channel",
                    ))
                }
            },
        };
        let Some(upgrade) = ctx.take_upgrade() else {
            return answer(error(
                StatusCode::BAD_REQUEST,
                "chat WebSockets need HTTP/1.1",
            ));
        };
        let accept = derive_accept_key(key.as_bytes());
        let chat = self.chat.clone();
        let catalog = self.catalog.clone();
        Some(Box::pin(async move {
            match catalog.channel(&channel).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return error(StatusCode::NOT_FOUND, &format!("no channel {channel:?}"))
                }
                Err(e) => {
                    tracing::error!(error = %e, "catalog error opening a chat");
                    return error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the catalog is unavailable",
                    );
                }
            }
            tokio::spawn(async move {
                match upgrade.await {
                    Ok(upgraded) => run(chat, channel, identity, TokioIo::new(upgraded)).await,
                    Err(e) => tracing::debug!(error = %e, "chat upgrade failed"),
                }
            });
            let mut headers = HeaderMap::new();
            headers.insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(
                http::header::CONNECTION,
                HeaderValue::from_static("upgrade"),
            );
            if let Ok(v) = HeaderValue::from_str(&accept) {
                headers.insert("sec-websocket-accept", v);
            }
            UpstreamResponse {
                status: StatusCode::SWITCHING_PROTOCOLS,
                kind: ObjectKind::Other,
                content_type: "application/octet-stream",
                cache_control: "no-store".into(),
                headers,
                body: UpstreamBody::Full(Bytes::new()),
            }
        }))
    }
}

/// Decrements the connected gauge when the connection ends.
struct Connected(prometheus::IntGauge);

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.dec();
    }
}

async fn run<S>(chat: Arc<Chat>, channel: String, identity: Option<ChatIdentity>, io: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(MAX_CLIENT_MESSAGE_BYTES);
    config.max_frame_size = Some(MAX_CLIENT_MESSAGE_BYTES);
    let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let gauge = chat.metrics.connected.with_label_values(&[&channel]);
    gauge.inc();
    let _connected = Connected(gauge);
    let out = chat.metrics.messages_out.with_label_values(&[&channel]);
    // Subscribe before reading the history: a message posted in between is sent
    // twice rather than lost (clients drop duplicate ids).
    let mut events = chat.fanout().subscribe(&channel);
    let history = serde_json::json!({ "type": "history", "messages": chat.history(&channel) });
    if ws.send(WsMessage::text(history.to_string())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            incoming = tokio::time::timeout(READ_IDLE, ws.next()) => {
                let text = match incoming {
                    Ok(Some(Ok(WsMessage::Text(t)))) => t.to_string(),
                    Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_)))) => continue,
                    Ok(Some(Ok(WsMessage::Binary(_)))) => {
                        if ws.send(WsMessage::text(Reject::BadFrame.frame())).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    // Close, error, end of stream, or idle too long.
                    _ => return,
                };
                let result = match serde_json::from_str::<ClientFrame>(&text) {
                    Ok(ClientFrame::Post { text }) => chat.post(&channel, identity.as_ref(), &text).map(|_| ()),
                    Err(_) => Err(Reject::BadFrame),
                };
                if let Err(reject) = result {
                    if ws.send(WsMessage::text(reject.frame())).await.is_err() {
                        return;
                    }
                }
            }
            event = events.recv() => {
                // Queue this event and whatever else is already waiting, then write
                // them with one flush (one system call for a burst, not one each).
                let mut next = Some(event);
                let mut queued = 0u64;
                while let Some(event) = next.take() {
                    let frame = match event {
                        Ok(ChatFrame(text)) => WsMessage::Text(text),
                        Err(RecvError::Lagged(skipped)) => WsMessage::text(
                            serde_json::json!({ "type": "notice", "skipped": skipped }).to_string(),
                        ),
                        Err(RecvError::Closed) => return,
                    };
                    if ws.feed(frame).await.is_err() {
                        return;
                    }
                    queued += 1;
                    if queued < MAX_FRAMES_PER_FLUSH {
                        next = match events.try_recv() {
                            Ok(frame) => Some(Ok(frame)),
                            Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
                            Err(TryRecvError::Empty | TryRecvError::Closed) => None,
                        };
                    }
                }
                if ws.flush().await.is_err() {
                    return;
                }
                out.inc_by(queued);
            }
        }
    }
}

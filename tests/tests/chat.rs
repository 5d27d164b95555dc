//! # Chat over WebSocket against a real origin
//!
//! A blocking WebSocket client (tungstenite) plays several chatters:
//!
//! - a joiner gets the history, then each new message within a second;
//! - `<script>` arrives as the literal text it was sent as;
//! - a reader without a chat token cannot post (`login_required`); a banned user's
//!   next post is refused (`banned`); a flood is cut (`rate_limited`); an
//!   over-long message is refused (`too_long`);
//! - a moderator's delete reaches every chatter and leaves the history;
//! - a channel that forbids anonymous chatters refuses tokens without a nickname;
//! - bad handshakes: a forged token 401, an unknown channel 404, a plain GET 426;
//! - the connected gauge and the channel's `viewers` show the chatters.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};
use tests::http;
use tests::origin::{Origin, OriginConfig};
use tungstenite::{Message, WebSocket};

const ADMIN_KEY: &str = "chat-test-admin-key";

type Ws = WebSocket<TcpStream>;

use tests::http::api_call as call;

fn token(origin: &Origin, nickname: &str) -> Result<(String, String)> {
    let (s, v) = call(
        "POST",
        &origin.url("/api/v1/channels/test/chat-token"),
        None,
        Some(&json!({ "nickname": nickname }).to_string()),
    )?;
    ensure!(s == 201, "chat token: {s} {v}");
    Ok((
        v["token"].as_str().context("token")?.to_owned(),
        v["user"].as_str().context("user")?.to_owned(),
    ))
}

/// Connects to `/chat/test` (with `token`), returning the socket and the history.
fn join(origin: &Origin, token: Option<&str>) -> Result<(Ws, Value)> {
    let stream = TcpStream::connect(origin.http)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
    let url = format!("ws://{}/chat/test{query}", origin.http);
    let (mut ws, _) = tungstenite::client(url.as_str(), stream).context("WebSocket handshake")?;
    let history = next(&mut ws)?;
    ensure!(
        history["type"] == "history",
        "first frame is the history: {history}"
    );
    Ok((ws, history))
}

/// The next JSON frame (pings skipped).
fn next(ws: &mut Ws) -> Result<Value> {
    loop {
        match ws.read()? {
            Message::Text(t) => return Ok(serde_json::from_str(t.as_str())?),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => bail!("unexpected frame {other:?}"),
        }
    }
}

fn post(ws: &mut Ws, text: &str) -> Result<()> {
    ws.send(Message::text(
        json!({ "type": "post", "text": text }).to_string(),
    ))?;
    Ok(())
}

fn handshake_status(origin: &Origin, path: &str) -> Result<u16> {
    let stream = TcpStream::connect(origin.http)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let url = format!("ws://{}{path}", origin.http);
    match tungstenite::client(url.as_str(), stream) {
        Ok(_) => Ok(101),
        Err(tungstenite::handshake::HandshakeError::Failure(tungstenite::Error::Http(r))) => {
            Ok(r.status().as_u16())
        }
        Err(e) => bail!("handshake to {path}: {e}"),
    }
}

#[test]
fn chat_end_to_end() {
    run().unwrap();
}

fn run() -> Result<()> {
    let origin = Origin::start(OriginConfig {
        extra_toml: format!("[api]\nadmin_keys = [{ADMIN_KEY:?}]\n"),
        ..OriginConfig::default()
    })?;
    let (alice_token, _alice) = token(&origin, "alice")?;
    let (bob_token, bob) = token(&origin, "bob")?;

    let (mut reader, history) = join(&origin, None)?;
    ensure!(
        history["messages"].as_array().is_some_and(Vec::is_empty),
        "{history}"
    );
    let (mut alice, _) = join(&origin, Some(&alice_token))?;
    let (mut bob_ws, _) = join(&origin, Some(&bob_token))?;

    // A message reaches the others quickly, as text.
    let sent = Instant::now();
    let script = "<script>alert('x')</script>";
    post(&mut alice, script)?;
    let got = next(&mut reader)?;
    let latency = sent.elapsed();
    ensure!(
        got["type"] == "message" && got["text"] == script && got["nickname"] == "alice",
        "{got}"
    );
    ensure!(latency < Duration::from_secs(1), "delivered in {latency:?}");
    let mine = next(&mut alice)?;
    ensure!(
        mine["id"] == got["id"],
        "the poster hears its own message too"
    );
    ensure!(next(&mut bob_ws)?["id"] == got["id"], "bob hears it");
    let id = got["id"].as_str().context("id")?.to_owned();

    // Refusals.
    post(&mut reader, "hello")?;
    let e = next(&mut reader)?;
    ensure!(e["type"] == "error" && e["code"] == "login_required", "{e}");
    post(&mut alice, &"x".repeat(501))?;
    ensure!(next(&mut alice)?["code"] == "too_long", "too long");
    let (s, _) = call(
        "POST",
        &origin.url("/api/v1/channels/test/chat/bans"),
        Some(ADMIN_KEY),
        Some(&json!({ "user": bob }).to_string()),
    )?;
    ensure!(s == 204, "ban: {s}");
    post(&mut bob_ws, "am I still here?")?;
    let e = next(&mut bob_ws)?;
    ensure!(
        e["code"] == "banned",
        "a banned user's next post is refused: {e}"
    );

    // Flood: the burst is 5, alice used 1.
    let mut codes = Vec::new();
    for i in 0..6 {
        post(&mut alice, &format!("flood {i}"))?;
    }
    for _ in 0..6 {
        let f = next(&mut alice)?;
        codes.push(
            f["code"]
                .as_str()
                .unwrap_or(f["type"].as_str().unwrap_or(""))
                .to_owned(),
        );
    }
    ensure!(
        codes.iter().any(|c| c == "rate_limited"),
        "a flood is cut: {codes:?}"
    );

    // Moderation: a delete reaches everyone and leaves the history.
    let (s, _) = call(
        "DELETE",
        &origin.url(&format!("/api/v1/channels/test/chat/messages/{id}")),
        Some(ADMIN_KEY),
        None,
    )?;
    ensure!(s == 204, "delete: {s}");
    let (s, _) = call(
        "DELETE",
        &origin.url(&format!("/api/v1/channels/test/chat/messages/{id}")),
        None,
        None,
    )?;
    ensure!(s == 401, "delete needs the admin key: {s}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let f = next(&mut reader)?;
        if f["type"] == "deleted" {
            ensure!(f["id"] == id.as_str(), "{f}");
            break;
        }
        ensure!(Instant::now() < deadline, "no deleted event");
    }
    let (_late, history) = join(&origin, None)?;
    let ids: Vec<_> = history["messages"]
        .as_array()
        .context("messages")?
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    ensure!(
        !ids.contains(&json!(id)) && !ids.is_empty(),
        "history after the delete: {history}"
    );

    // Handshakes that must fail.
    ensure!(
        handshake_status(&origin, "/chat/test?token=forged.token")? == 401,
        "forged token"
    );
    ensure!(
        handshake_status(&origin, "/chat/no-such-channel")? == 404,
        "unknown channel"
    );
    let plain = http::get(&origin.url("/chat/test"))?;
    ensure!(plain.status == 426, "a plain GET: {}", plain.status);

    // A channel that forbids anonymous chatters wants a nickname.
    let (s, _) = call(
        "POST",
        &origin.url("/api/v1/channels/test/chat-token"),
        None,
        None,
    )?;
    ensure!(s == 201, "anonymous allowed by default: {s}");
    let (s, _) = call(
        "PATCH",
        &origin.url("/api/v1/channels/test"),
        Some(ADMIN_KEY),
        Some(r#"{"chat_anonymous":false}"#),
    )?;
    ensure!(s == 200, "forbid anonymous: {s}");
    let (s, _) = call(
        "POST",
        &origin.url("/api/v1/channels/test/chat-token"),
        None,
        None,
    )?;
    ensure!(s == 403, "anonymous refused: {s}");
    token(&origin, "named")?;

    let (_, channel) = call("GET", &origin.url("/api/v1/channels/test"), None, None)?;
    ensure!(
        channel["viewers"].as_u64().unwrap_or(0) >= 4,
        "viewers = chat connections: {channel}"
    );
    let metrics = http::get(&origin.url("/metrics"))?.text();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("ferrocast_chat_connected{channel=\"test\"}"))
        .context("connected gauge")?;
    let connected: f64 = line.rsplit(' ').next().unwrap_or("0").parse()?;
    ensure!(connected >= 4.0, "{line}");
    Ok(())
}

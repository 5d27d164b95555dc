//! # Webhooks from a real origin
//!
//! A receiver written here (plain TCP, HTTP/1.1) subscribes to `stream.started` and
//! `stream.ended`; a second receiver accepts connections and never answers. While
//! ffmpeg publishes and then stops:
//!
//! - the good receiver gets both events for the channel, each with a valid
//!   `ferrocast-signature` (HMAC-SHA256 over `"<t>.<body>"` with the secret the API
//!   returned once);
//! - the hanging receiver delays nothing: the stream is packaged and the good
//!   receiver is served as if it were not there;
//! - bad subscriptions get 400, and listing without the admin key 401.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tests::http;
use tests::origin::{Origin, OriginConfig};
use tests::publisher::{PublishOptions, Publisher};

const ADMIN_KEY: &str = "webhook-test-admin-key";

/// One received delivery.
struct Delivery {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    at: Instant,
}

impl Delivery {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Serves HTTP/1.1 POSTs on a thread, answering 200, and sends each to the channel.
fn good_receiver() -> Result<(String, mpsc::Receiver<Delivery>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut headers = Vec::new();
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((n, v)) = h.split_once(':') {
                            headers.push((n.trim().to_owned(), v.trim().to_owned()));
                        }
                    }
                    let len = headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0usize);
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let _ = reader
                        .get_mut()
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
                    let _ = tx.send(Delivery {
                        headers,
                        body,
                        at: Instant::now(),
                    });
                }
            });
        }
    });
    Ok((url, rx))
}

/// Accepts connections and never answers (kept open until the test ends).
fn hanging_receiver() -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/hang", listener.local_addr()?);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    Ok(url)
}

use tests::http::api_call as call;

fn check_signature(d: &Delivery, secret: &str) -> Result<()> {
    let sig = d
        .header("ferrocast-signature")
        .context("signature header")?;
    let (t, v1) = sig
        .split_once(',')
        .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v.strip_prefix("v1=")?)))
        .with_context(|| format!("signature format: {sig}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())?;
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&d.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    ensure!(expected == v1, "signature does not verify");
    Ok(())
}

fn next_event(rx: &mpsc::Receiver<Delivery>, timeout: Duration) -> Result<(Delivery, Value)> {
    let d = rx
        .recv_timeout(timeout)
        .context("no webhook delivery in time")?;
    let v: Value = serde_json::from_slice(&d.body).context("delivery body is JSON")?;
    Ok((d, v))
}

#[test]
fn stream_events_reach_a_receiver_signed_and_a_hanging_one_delays_nothing() {
    run().unwrap();
}

fn run() -> Result<()> {
    let origin = Origin::start(OriginConfig {
        reconnect_grace_s: 1.0,
        extra_toml: format!("[api]\nadmin_keys = [{ADMIN_KEY:?}]\n"),
        ..OriginConfig::default()
    })?;
    let api = origin.url("/api/v1/webhooks");
    let events = r#"["stream.started", "stream.ended"]"#;

    let (s, _) = call(
        "POST",
        &api,
        Some(ADMIN_KEY),
        Some(r#"{"url":"ftp://x","events":["stream.started"]}"#),
    )?;
    ensure!(s == 400, "bad url: {s}");
    let (s, _) = call(
        "POST",
        &api,
        Some(ADMIN_KEY),
        Some(r#"{"url":"http://127.0.0.1:1/","events":["nope"]}"#),
    )?;
    ensure!(s == 400, "bad event: {s}");
    let (s, _) = call("GET", &api, None, None)?;
    ensure!(s == 401, "list without key: {s}");

    let hang = hanging_receiver()?;
    let (s, _) = call(
        "POST",
        &api,
        Some(ADMIN_KEY),
        Some(&format!(r#"{{"url":"{hang}","events":{events}}}"#)),
    )?;
    ensure!(s == 201, "subscribe the hanging receiver: {s}");
    let (url, rx) = good_receiver()?;
    let (s, created) = call(
        "POST",
        &api,
        Some(ADMIN_KEY),
        Some(&format!(r#"{{"url":"{url}","events":{events}}}"#)),
    )?;
    ensure!(s == 201, "subscribe: {s} {created}");
    let secret = created["secret"]
        .as_str()
        .context("secret shown once")?
        .to_owned();
    let (s, listed) = call("GET", &api, Some(ADMIN_KEY), None)?;
    ensure!(
        s == 200 && listed["webhooks"].as_array().map_or(0, Vec::len) == 2,
        "{listed}"
    );
    ensure!(
        !listed.to_string().contains(&secret),
        "a listing must not show secrets"
    );

    let channel = "test";
    let opts = PublishOptions::default().with_gop_s(1.0);
    let started = Instant::now();
    let mut publisher = Publisher::start(
        &origin.rtmp_url(origin.config.key_of(channel)),
        &opts,
        origin.dir(),
        "pub",
    )?;
    let (d, v) = next_event(&rx, Duration::from_secs(15))?;
    ensure!(
        v["event"] == "stream.started" && v["channel"] == channel,
        "{v}"
    );
    ensure!(
        d.header("ferrocast-event") == Some("stream.started"),
        "event header"
    );
    check_signature(&d, &secret)?;
    let latency = d.at.duration_since(started);
    ensure!(
        latency < Duration::from_secs(10),
        "stream.started after {latency:?}"
    );
    let master = origin.live_url(channel, "master.m3u8");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !http::get(&master).is_ok_and(|r| r.status == 200) {
        ensure!(
            Instant::now() < deadline,
            "the stream is packaged despite the hanging receiver"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    publisher.kill()?;
    let (d, v) = next_event(&rx, Duration::from_secs(20))?;
    ensure!(
        v["event"] == "stream.ended" && v["channel"] == channel,
        "{v}"
    );
    check_signature(&d, &secret)?;
    ensure!(rx.try_recv().is_err(), "one delivery per event");
    Ok(())
}

//! chat-load — issue 4's chat fan-out bench: one channel, many WebSocket readers,
//! messages posted at a fixed rate; reports delivery latency percentiles and the
//! origin's CPU, for a small baseline room and the full room in the same run.
//!
//! ```text
//! chat-load --url http://127.0.0.1:8080 --channel demo --origin-pid PID \
//!           [--clients 5000] [--baseline-clients 10] [--rate 50] [--duration-s 20]
//! ```
//!
//! Posting is limited per user (5 at once, then 1/s) and chat tokens per address
//! (10 at once), so posts come from `2 × rate` users (each posting every 2 s) whose
//! tokens are requested from distinct loopback addresses (127.0.0.11, .12, …).
//! Each message carries its send time (µs since the bench started); every reader
//! records now − sent. Loopback only; everything is bounded by `--duration-s`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    addr: SocketAddr,
    channel: String,
    origin_pid: Option<u32>,
    clients: usize,
    baseline_clients: usize,
    rate: u32,
    duration: Duration,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        addr: "127.0.0.1:8080".parse()?,
        channel: "demo".into(),
        origin_pid: None,
        clients: 5_000,
        baseline_clients: 10,
        rate: 50,
        duration: Duration::from_secs(20),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().context("missing value");
        match flag.as_str() {
            "--url" => {
                let v = value()?;
                a.addr = v
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .parse()?;
            }
            "--channel" => a.channel = value()?,
            "--origin-pid" => a.origin_pid = Some(value()?.parse()?),
            "--clients" => a.clients = value()?.parse()?,
            "--baseline-clients" => a.baseline_clients = value()?.parse()?,
            "--rate" => a.rate = value()?.parse()?,
            "--duration-s" => a.duration = Duration::from_secs(value()?.parse()?),
            other => bail!("unknown flag {other}"),
        }
    }
    if a.clients == 0 || a.clients > 20_000 || a.rate == 0 || a.rate > 1_000 {
        bail!("--clients must be 1..=20000 and --rate 1..=1000");
    }
    Ok(a)
}

/// A raw HTTP/1.1 POST from source address `from`; returns the body.
async fn post_from(from: IpAddr, to: SocketAddr, path: &str, body: &str) -> Result<String> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    let mut s = socket.connect(to).await?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: {to}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    let (head, body) = out.split_once("\r\n\r\n").context("HTTP response")?;
    if !head.starts_with("HTTP/1.1 201") {
        bail!("{path}: {}", head.lines().next().unwrap_or(""));
    }
    Ok(body.to_owned())
}

async fn chat_tokens(a: &Args, n: usize) -> Result<Vec<String>> {
    let mut tokens = Vec::with_capacity(n);
    for i in 0..n {
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 11 + (i / 10) as u8));
        let body = post_from(
            from,
            a.addr,
            &format!("/api/v1/channels/{}/chat-token", a.channel),
            &format!("{{\"nickname\":\"bench{i}\"}}"),
        )
        .await?;
        // Chunked or not, the JSON object is in there.
        let start = body.find('{').context("JSON")?;
        let end = body.rfind('}').context("JSON")?;
        let v: serde_json::Value = serde_json::from_str(&body[start..=end])?;
        tokens.push(v["token"].as_str().context("token")?.to_owned());
    }
    Ok(tokens)
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn connect(a: &Args, token: Option<&str>) -> Result<Ws> {
    let stream = TcpStream::connect(a.addr).await?;
    let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
    let url = format!("ws://{}/chat/{}{query}", a.addr, a.channel);
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await?;
    Ok(ws)
}

/// Runs one phase with `clients` readers; returns (latencies µs, messages sent, cpu s).
async fn phase(
    a: &Args,
    clients: usize,
    posters: &[String],
    epoch: Instant,
) -> Result<(Vec<u32>, u64, f64)> {
    let mut readers = Vec::with_capacity(clients);
    // Connect in waves so the listen backlog is never the bottleneck.
    for wave in (0..clients).collect::<Vec<_>>().chunks(200) {
        let conns = futures_util::future::join_all(wave.iter().map(|_| connect(a, None))).await;
        for c in conns {
            readers.push(c?);
        }
    }
    let latencies = Arc::new(Mutex::new(Vec::<u32>::new()));
    let stop_at = Instant::now() + a.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for mut ws in readers {
        let latencies = latencies.clone();
        tasks.spawn(async move {
            let mut mine = Vec::new();
            // Drain until the phase ends (plus a grace for the last messages).
            let deadline = tokio::time::Instant::from_std(stop_at + Duration::from_secs(2));
            while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await {
                // Only live messages: the history sent on join holds old ones.
                if let Message::Text(t) = msg {
                    if !t.as_str().starts_with("{\"type\":\"message\"") {
                        continue;
                    }
                    if let Some(i) = t.as_str().find("\"text\":\"t=") {
                        let rest = &t.as_str()[i + 10..];
                        let digits: String =
                            rest.chars().take_while(char::is_ascii_digit).collect();
                        if let Ok(sent_us) = digits.parse::<u64>() {
                            let now_us = epoch.elapsed().as_micros() as u64;
                            mine.push(now_us.saturating_sub(sent_us) as u32);
                        }
                    }
                }
            }
            let _ = ws.close(None).await;
            latencies.lock().await.extend(mine);
        });
    }
    let mut poster_ws = Vec::new();
    for t in posters {
        poster_ws.push(connect(a, Some(t)).await?);
    }
    let ticks = bench::proc_cpu::clock_ticks();
    let cpu0 = a
        .origin_pid
        .and_then(|p| bench::proc_cpu::tree_cpu_seconds(p, ticks));
    let interval = Duration::from_secs_f64(1.0 / f64::from(a.rate));
    let mut tick = tokio::time::interval(interval);
    let mut sent = 0u64;
    let n = poster_ws.len();
    while Instant::now() < stop_at {
        tick.tick().await;
        let ws = &mut poster_ws[(sent as usize) % n];
        let text = format!("t={}", epoch.elapsed().as_micros());
        ws.send(Message::text(
            serde_json::json!({"type": "post", "text": text}).to_string(),
        ))
        .await?;
        sent += 1;
    }
    let cpu1 = a
        .origin_pid
        .and_then(|p| bench::proc_cpu::tree_cpu_seconds(p, ticks));
    while tasks.join_next().await.is_some() {}
    for mut ws in poster_ws {
        let _ = ws.close(None).await;
    }
    let cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };
    let mut l = std::mem::take(&mut *latencies.lock().await);
    l.sort_unstable();
    Ok((l, sent, cpu))
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = parse_args()?;
    let epoch = Instant::now();
    let users = (2 * a.rate as usize).max(1);
    eprintln!("chat-load: {users} posting users, tokens from 127.0.0.11..");
    let posters = chat_tokens(&a, users).await?;
    let secs = a.duration.as_secs_f64();
    let mut results = Vec::new();
    for clients in [a.baseline_clients, a.clients] {
        eprintln!(
            "chat-load: {clients} readers, {} msg/s for {secs} s",
            a.rate
        );
        let (l, sent, cpu) = phase(&a, clients, &posters, epoch).await?;
        let expected = sent * clients as u64;
        println!(
            "chat-load clients={clients} sent={sent} delivered={} ({:.2} %) p50={:.1} ms p99={:.1} ms max={:.1} ms origin_cpu={:.1} % of one core",
            l.len(),
            l.len() as f64 / expected.max(1) as f64 * 100.0,
            pct(&l, 0.50),
            pct(&l, 0.99),
            pct(&l, 1.0),
            cpu / secs * 100.0
        );
        results.push((pct(&l, 0.99), cpu / secs * 100.0));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let (base, full) = (results[0], results[1]);
    println!(
        "RATIO p99 {} readers / {} readers = {:.2}; origin CPU {:.1} % vs {:.1} % of one core",
        a.clients,
        a.baseline_clients,
        full.0 / base.0,
        full.1,
        base.1
    );
    Ok(())
}

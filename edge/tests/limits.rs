//! Hostile or broken clients end only their own connection: a request head that
//! never completes (slowloris) times out, a trickled request body too, garbage gets
//! 400, an oversized head 431, idle keep-alive connections are closed, connections
//! beyond `max_connections` are turned away — and a healthy client on another
//! connection is served throughout.

mod common;

use std::time::Duration;

use common::{options, Client, TestServer};
use http::{Method, StatusCode, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Read until EOF (or 5 s), returning what the server sent.
async fn read_to_close(tcp: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "server did not close the connection");
    out
}

#[tokio::test]
async fn incomplete_head_times_out_without_disturbing_others() {
    let mut opts = options(Duration::from_secs(5));
    opts.header_read_timeout = Duration::from_millis(300);
    let server = TestServer::start_with(None, opts).await;
    let mut healthy = Client::connect(server.addr, Version::HTTP_2).await;

    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (parts, _) = healthy.fetch(Method::GET, "/healthz", &[]).await;
    assert_eq!(parts.status, StatusCode::OK);

    let started = std::time::Instant::now();
    read_to_close(&mut slow).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    let (parts, _) = healthy.fetch(Method::GET, "/healthz", &[]).await;
    assert_eq!(parts.status, StatusCode::OK, "other connection unaffected");
}

#[tokio::test]
async fn garbage_gets_400_and_a_close() {
    let server = TestServer::start().await;
    let mut healthy = Client::connect(server.addr, Version::HTTP_11).await;

    let mut bad = TcpStream::connect(server.addr).await.unwrap();
    bad.write_all(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut bad).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    // An oversized request head is refused too.
    let mut huge = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    let _ = huge.write_all(head.as_bytes()).await;
    let answer = read_to_close(&mut huge).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 431"),
        "{:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(64)])
    );

    let (parts, _) = healthy.fetch(Method::GET, "/healthz", &[]).await;
    assert_eq!(parts.status, StatusCode::OK);
}

fn metric(server: &TestServer, name: &str) -> f64 {
    let text = String::from_utf8(server.pipeline.metrics().render()).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_busy_ones_kept() {
    let mut opts = options(Duration::from_secs(5));
    opts.idle_timeout = Duration::from_millis(400);
    let server = TestServer::start_with(None, opts).await;

    // HTTP/1.1: one request, then silence → closed after ~idle.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let answer = read_to_close(&mut idle).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    assert!(started.elapsed() >= Duration::from_millis(300));

    // HTTP/2: a connection that keeps asking more often than idle stays open.
    let mut busy = Client::connect(server.addr, Version::HTTP_2).await;
    for _ in 0..8 {
        let (parts, _) = busy.fetch(Method::GET, "/healthz", &[]).await;
        assert_eq!(parts.status, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        metric(
            &server,
            "ferrocast_http_connections_timed_out_total{reason=\"idle\"}"
        ),
        1.0
    );
}

#[tokio::test]
/// The edge never reads request bodies; hyper then closes the connection after the
/// response instead of draining, so a trickled body cannot hold it open.
async fn a_trickled_request_body_does_not_hold_the_connection() {
    let mut opts = options(Duration::from_secs(5));
    opts.header_read_timeout = Duration::from_millis(300);
    let server = TestServer::start_with(None, opts).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nab")
        .await
        .unwrap();
    let trickle = async {
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if slow.write_all(b"x").await.is_err() {
                break;
            }
        }
    };
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(5), trickle)
        .await
        .unwrap();
    let _ = read_to_close(&mut slow).await;
    assert!(
        started.elapsed() < Duration::from_millis(2400),
        "the trickle should have been cut off after ~300 ms, took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_at_once() {
    let mut opts = options(Duration::from_secs(5));
    opts.max_connections = 2;
    let server = TestServer::start_with(None, opts).await;
    let mut first = Client::connect(server.addr, Version::HTTP_11).await;
    let _second = TcpStream::connect(server.addr).await.unwrap();
    // Let the listener accept both before the third arrives.
    let (parts, _) = first.fetch(Method::GET, "/healthz", &[]).await;
    assert_eq!(parts.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut third = TcpStream::connect(server.addr).await.unwrap();
    let _ = third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let answer = read_to_close(&mut third).await;
    assert!(answer.is_empty(), "turned away without a response");
    assert_eq!(
        metric(&server, "ferrocast_http_connections_rejected_total"),
        1.0
    );
    assert_eq!(metric(&server, "ferrocast_http_connections_open"), 2.0);

    // The first connection still works, and a freed slot is usable again.
    let (parts, _) = first.fetch(Method::GET, "/healthz", &[]).await;
    assert_eq!(parts.status, StatusCode::OK);
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fourth = Client::connect(server.addr, Version::HTTP_11).await;
    let (parts, _) = fourth.fetch(Method::GET, "/healthz", &[]).await;
    assert_eq!(parts.status, StatusCode::OK);
}

#[tokio::test]
async fn a_head_over_the_configured_size_gets_431() {
    let mut opts = options(Duration::from_secs(5));
    opts.max_header_bytes = 8192;
    let server = TestServer::start_with(None, opts).await;
    let mut ok = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(6000)
    );
    ok.write_all(head.as_bytes()).await.unwrap();
    assert!(read_to_close(&mut ok).await.starts_with(b"HTTP/1.1 200"));

    let mut big = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(12_000)
    );
    let _ = big.write_all(head.as_bytes()).await;
    let answer = read_to_close(&mut big).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 431"),
        "{:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(64)])
    );
}

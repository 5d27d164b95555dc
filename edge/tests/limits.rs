//! Hostile or broken clients end only their own connection: a request head that
//! never completes (slowloris) times out, garbage gets 400, and a healthy client on
//! another connection is served throughout.

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

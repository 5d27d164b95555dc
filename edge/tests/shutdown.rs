//! Graceful shutdown: stop accepting, let in-flight (streaming) responses finish,
//! and give up after the grace period.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{next_data, options, Client, TestServer, VERSIONS};
use http::{Method, StatusCode};
use http_body_util::BodyExt;

#[tokio::test]
async fn in_flight_stream_finishes_after_shutdown() {
    for version in VERSIONS {
        let mut server = TestServer::start_with(None, options(Duration::from_secs(10))).await;
        let tx = server.upstream.stream_sender();
        let mut client = Client::connect(server.addr, version).await;
        tx.send(Bytes::from_static(b"part-1")).unwrap();
        let (parts, mut body) = client.send(Method::GET, "/stream", &[]).await.into_parts();
        assert_eq!(parts.status, StatusCode::OK);
        assert_eq!(&next_data(&mut body).await.unwrap()[..], b"part-1");

        server.shutdown();
        // The listener closes: new connections are refused…
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::net::TcpStream::connect(server.addr).await {
                Err(_) => break,
                Ok(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                Ok(_) => panic!("listener still accepting after shutdown"),
            }
        }
        // …while the in-flight response goes on to its end.
        tx.send(Bytes::from_static(b"part-2")).unwrap();
        assert_eq!(
            &next_data(&mut body).await.unwrap()[..],
            b"part-2",
            "{version:?}"
        );
        drop(tx);
        let end = next_data(&mut body).await;
        assert!(end.is_none(), "{version:?}: {end:?}");

        tokio::time::timeout(Duration::from_secs(5), &mut server.task)
            .await
            .expect("serve returns once in-flight requests are done")
            .unwrap();
    }
}

#[tokio::test]
async fn idle_connections_do_not_delay_shutdown() {
    let mut server = TestServer::start_with(None, options(Duration::from_secs(30))).await;
    let mut h1 = Client::connect(server.addr, http::Version::HTTP_11).await;
    let mut h2 = Client::connect(server.addr, http::Version::HTTP_2).await;
    h1.fetch(Method::GET, "/healthz", &[]).await;
    h2.fetch(Method::GET, "/healthz", &[]).await;
    let started = Instant::now();
    server.shutdown();
    tokio::time::timeout(Duration::from_secs(5), &mut server.task)
        .await
        .expect("idle keep-alive connections close at once")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn grace_period_bounds_a_stream_that_never_ends() {
    let grace = Duration::from_millis(300);
    let mut server = TestServer::start_with(None, options(grace)).await;
    let tx = server.upstream.stream_sender();
    let mut client = Client::connect(server.addr, http::Version::HTTP_11).await;
    tx.send(Bytes::from_static(b"forever")).unwrap();
    let (_, mut body) = client.send(Method::GET, "/stream", &[]).await.into_parts();
    next_data(&mut body).await.unwrap();

    let started = Instant::now();
    server.shutdown();
    tokio::time::timeout(Duration::from_secs(5), &mut server.task)
        .await
        .expect("serve returns after the grace period")
        .unwrap();
    let took = started.elapsed();
    assert!(took >= grace, "returned before the grace period: {took:?}");
    // The client sees the body cut short, not a clean end.
    let rest = tokio::time::timeout(Duration::from_secs(5), body.collect()).await;
    assert!(
        matches!(rest, Ok(Err(_))),
        "truncated body must be an error"
    );
    drop(tx);
}

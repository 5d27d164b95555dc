//! Streaming bodies are sent as they are produced (read-while-write): the client
//! reads chunk 1 before the upstream has even produced chunk 2.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{header, next_data, Client, TestServer, VERSIONS};
use http::{Method, StatusCode, Version};

#[tokio::test]
async fn first_chunk_arrives_before_the_last_is_produced() {
    let server = TestServer::start().await;
    for version in VERSIONS {
        let tx = server.upstream.stream_sender();
        let mut client = Client::connect(server.addr, version).await;
        tx.send(Bytes::from_static(b"moof-1 mdat-1")).unwrap();
        let response = client.send(Method::GET, "/stream", &[]).await;
        let (parts, mut body) = response.into_parts();
        assert_eq!(parts.status, StatusCode::OK);
        assert!(parts.headers.get("content-length").is_none(), "{version:?}");
        assert!(
            parts.headers.get("etag").is_none(),
            "no validator while producing"
        );
        if version == Version::HTTP_11 {
            // RFC 9112 §7.1: chunked transfer coding when the length is unknown.
            assert_eq!(header(&parts, "transfer-encoding"), "chunked");
        }

        // Chunk 2 does not exist yet: the upstream only makes it after we saw chunk 1.
        let first = next_data(&mut body).await.unwrap();
        assert_eq!(&first[..], b"moof-1 mdat-1", "{version:?}");
        tx.send(Bytes::from_static(b"moof-2 mdat-2")).unwrap();
        let second = next_data(&mut body).await.unwrap();
        assert_eq!(&second[..], b"moof-2 mdat-2");
        drop(tx);
        assert!(
            next_data(&mut body).await.is_none(),
            "body ends with the stream"
        );
    }
}

#[tokio::test]
async fn head_on_a_stream_sends_headers_only() {
    let server = TestServer::start().await;
    for version in VERSIONS {
        let _tx = server.upstream.stream_sender(); // never sends: HEAD must not wait for it
        let mut client = Client::connect(server.addr, version).await;
        let (parts, body) = tokio::time::timeout(
            Duration::from_secs(5),
            client.fetch(Method::HEAD, "/stream", &[]),
        )
        .await
        .expect("HEAD on a stream must not wait for the body");
        assert_eq!(parts.status, StatusCode::OK);
        assert!(body.is_empty());
    }
}

#[tokio::test]
async fn client_going_away_releases_the_request() {
    let server = TestServer::start().await;
    let tx = server.upstream.stream_sender();
    let mut client = Client::connect(server.addr, Version::HTTP_2).await;
    tx.send(Bytes::from_static(b"chunk")).unwrap();
    let (_, mut body) = client.send(Method::GET, "/stream", &[]).await.into_parts();
    next_data(&mut body).await.unwrap();
    assert_eq!(server.pipeline.metrics().in_flight(), 1);
    drop(body);
    drop(client);
    let metrics = server.pipeline.metrics();
    for _ in 0..200 {
        if metrics.in_flight() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        metrics.in_flight(),
        0,
        "abandoned stream is no longer in flight"
    );
    // The stream's consumer is gone: the upstream notices on its next send.
    for _ in 0..200 {
        if tx.send(Bytes::from_static(b"more")).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("upstream stream was never dropped");
}

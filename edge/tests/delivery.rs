//! Full-body delivery over HTTP/1.1 and h2c: status, Content-Length, Cache-Control
//! passthrough, ETag + conditional GET, HEAD, ranges, CORS, and request rejection.

mod common;

use common::{assert_cors, header, Client, TestServer, IMMUTABLE, SEGMENT, VERSIONS};
use http::{Method, StatusCode, Version};

const SEG: &str = "/live/ch/video0/seg1.m4s";

#[tokio::test]
async fn get_full_body_with_length_and_cache_control() {
    let server = TestServer::start().await;
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let (parts, body) = client.fetch(Method::GET, SEG, &[]).await;
        assert_eq!(parts.status, StatusCode::OK, "{version:?}");
        assert_eq!(parts.version, version);
        assert_eq!(&body[..], SEGMENT);
        assert_eq!(header(&parts, "content-length"), SEGMENT.len().to_string());
        assert_eq!(header(&parts, "content-type"), "video/mp4");
        assert_eq!(header(&parts, "cache-control"), IMMUTABLE);
        assert_eq!(header(&parts, "accept-ranges"), "bytes");
        assert_cors(&parts);

        let (parts, _) = client
            .fetch(Method::GET, "/live/ch/video0/index.m3u8", &[])
            .await;
        assert_eq!(header(&parts, "cache-control"), "public, max-age=1");
        assert_eq!(
            header(&parts, "content-type"),
            "application/vnd.apple.mpegurl"
        );
    }
}

#[tokio::test]
async fn upstream_errors_keep_their_cache_control() {
    let server = TestServer::start().await;
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let (parts, body) = client
            .fetch(Method::GET, "/live/ch/video0/part9.0.m4s", &[])
            .await;
        assert_eq!(parts.status, StatusCode::NOT_FOUND);
        assert_eq!(header(&parts, "cache-control"), "max-age=1");
        assert!(
            parts.headers.get("etag").is_none(),
            "no validator on errors"
        );
        assert_eq!(&body[..], b"part not yet hinted");
        let (parts, _) = client.fetch(Method::GET, "/nothing/here", &[]).await;
        assert_eq!(parts.status, StatusCode::NOT_FOUND);
        assert_eq!(header(&parts, "cache-control"), "no-store");
        assert_cors(&parts);
    }
}

#[tokio::test]
async fn etag_and_if_none_match_give_304() {
    let server = TestServer::start().await;
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let (parts, _) = client.fetch(Method::GET, SEG, &[]).await;
        let etag = header(&parts, "etag").to_owned();
        assert!(
            etag.starts_with('"') && etag.ends_with('"'),
            "strong etag: {etag}"
        );

        let (parts, body) = client
            .fetch(Method::GET, SEG, &[("if-none-match", &etag)])
            .await;
        assert_eq!(parts.status, StatusCode::NOT_MODIFIED, "{version:?}");
        assert!(body.is_empty());
        assert_eq!(header(&parts, "etag"), etag);
        assert_eq!(header(&parts, "cache-control"), IMMUTABLE);

        let weak_in_list = format!("\"other\", W/{etag}");
        let (parts, _) = client
            .fetch(Method::HEAD, SEG, &[("if-none-match", &weak_in_list)])
            .await;
        assert_eq!(parts.status, StatusCode::NOT_MODIFIED);

        let (parts, body) = client
            .fetch(Method::GET, SEG, &[("if-none-match", "\"stale\"")])
            .await;
        assert_eq!(parts.status, StatusCode::OK);
        assert_eq!(&body[..], SEGMENT);
    }
}

#[tokio::test]
async fn head_has_get_headers_and_no_body() {
    let server = TestServer::start().await;
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let (get, _) = client.fetch(Method::GET, SEG, &[]).await;
        let (head, body) = client.fetch(Method::HEAD, SEG, &[]).await;
        assert_eq!(head.status, StatusCode::OK);
        assert!(body.is_empty(), "{version:?}: HEAD body {body:?}");
        for name in ["content-length", "content-type", "cache-control", "etag"] {
            assert_eq!(
                header(&head, name),
                header(&get, name),
                "{version:?} {name}"
            );
        }
        // The connection is still usable afterwards (no stray body bytes on h1).
        let (parts, body) = client.fetch(Method::GET, SEG, &[]).await;
        assert_eq!(parts.status, StatusCode::OK);
        assert_eq!(&body[..], SEGMENT);
    }
}

#[tokio::test]
async fn single_ranges_and_unsatisfiable() {
    let server = TestServer::start().await;
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let (parts, body) = client
            .fetch(Method::GET, SEG, &[("range", "bytes=2-5")])
            .await;
        assert_eq!(parts.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(&body[..], &SEGMENT[2..=5]);
        assert_eq!(
            header(&parts, "content-range"),
            format!("bytes 2-5/{}", SEGMENT.len())
        );
        assert_eq!(header(&parts, "content-length"), "4");

        let (parts, body) = client
            .fetch(Method::GET, SEG, &[("range", "bytes=-3")])
            .await;
        assert_eq!(parts.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(&body[..], &SEGMENT[SEGMENT.len() - 3..]);

        let (parts, _) = client
            .fetch(Method::GET, SEG, &[("range", "bytes=1000-")])
            .await;
        assert_eq!(parts.status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(
            header(&parts, "content-range"),
            format!("bytes */{}", SEGMENT.len())
        );
        assert_eq!(header(&parts, "cache-control"), "no-store");

        // If-Range with a different tag: the whole object.
        let (parts, body) = client
            .fetch(
                Method::GET,
                SEG,
                &[("range", "bytes=0-1"), ("if-range", "\"old\"")],
            )
            .await;
        assert_eq!(parts.status, StatusCode::OK);
        assert_eq!(&body[..], SEGMENT);
    }
}

#[tokio::test]
async fn cors_preflight_and_options() {
    let server = TestServer::start().await;
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let (parts, body) = client
            .fetch(
                Method::OPTIONS,
                SEG,
                &[
                    ("origin", "https://player.example"),
                    ("access-control-request-method", "GET"),
                    ("access-control-request-headers", "range"),
                ],
            )
            .await;
        assert_eq!(parts.status, StatusCode::NO_CONTENT, "{version:?}");
        assert!(body.is_empty());
        assert_eq!(header(&parts, "access-control-allow-origin"), "*");
        assert_eq!(
            header(&parts, "access-control-allow-methods"),
            "GET, HEAD, OPTIONS"
        );
        assert_eq!(header(&parts, "access-control-allow-headers"), "range");
        assert!(header(&parts, "access-control-max-age")
            .parse::<u32>()
            .is_ok());
        assert_eq!(header(&parts, "allow"), "GET, HEAD, OPTIONS");
    }
    // Preflights never reach the upstream.
    assert!(server.upstream.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn rejects_methods_and_traversal_per_request() {
    let server = TestServer::start().await;
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let (parts, _) = client.fetch(Method::POST, SEG, &[]).await;
        assert_eq!(parts.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(header(&parts, "allow"), "GET, HEAD, OPTIONS");
        assert_eq!(header(&parts, "cache-control"), "no-store");
        assert!(header(&parts, "content-type").starts_with("text/plain"));

        let (parts, body) = client
            .fetch(Method::GET, "/live/../../etc/passwd", &[])
            .await;
        assert_eq!(parts.status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&body).contains(".."));
        let (parts, _) = client.fetch(Method::GET, "/live/%2e%2e/x", &[]).await;
        assert_eq!(parts.status, StatusCode::BAD_REQUEST);

        // The same connection goes on serving.
        let (parts, body) = client
            .fetch(Method::GET, "//live/./ch/video0//seg1.m4s", &[])
            .await;
        assert_eq!(parts.status, StatusCode::OK, "normalised path");
        assert_eq!(&body[..], SEGMENT);
    }
    let seen = server.upstream.seen.lock().unwrap();
    assert!(seen.iter().all(|r| r.path == SEG), "{seen:?}");
}

#[tokio::test]
async fn query_reaches_the_upstream() {
    let server = TestServer::start().await;
    let mut client = Client::connect(server.addr, Version::HTTP_2).await;
    client
        .fetch(
            Method::GET,
            "/live/ch/video0/index.m3u8?_HLS_msn=4&_HLS_part=1",
            &[],
        )
        .await;
    let seen = server.upstream.seen.lock().unwrap();
    assert_eq!(seen[0].path, "/live/ch/video0/index.m3u8");
    assert_eq!(seen[0].query.as_deref(), Some("_HLS_msn=4&_HLS_part=1"));
}

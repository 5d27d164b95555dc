//! `/healthz`, `/readyz`, `/time` and `/metrics` over HTTP/1.1 and h2c.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{assert_cors, header, Client, TestServer, VERSIONS};
use http::{Method, StatusCode};

#[tokio::test]
async fn healthz_and_readyz_follow_the_flag() {
    let server = TestServer::start().await;
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let (parts, body) = client.fetch(Method::GET, "/healthz", &[]).await;
        assert_eq!(parts.status, StatusCode::OK);
        assert_eq!(body.trim_ascii(), b"ok");
        assert_eq!(header(&parts, "cache-control"), "no-store");
        assert_cors(&parts);

        server.ready.store(false, Ordering::SeqCst);
        let (parts, _) = client.fetch(Method::GET, "/readyz", &[]).await;
        assert_eq!(parts.status, StatusCode::SERVICE_UNAVAILABLE, "{version:?}");
        server.ready.store(true, Ordering::SeqCst);
        let (parts, _) = client.fetch(Method::GET, "/readyz", &[]).await;
        assert_eq!(parts.status, StatusCode::OK);

        let (parts, body) = client.fetch(Method::HEAD, "/healthz", &[]).await;
        assert_eq!(parts.status, StatusCode::OK);
        assert!(body.is_empty());
        assert_eq!(header(&parts, "content-length"), "3");
    }
    assert!(
        server.upstream.seen.lock().unwrap().is_empty(),
        "built-in routes never reach the upstream"
    );
}

/// Days since the epoch of a proleptic Gregorian date (Hinnant's `days_from_civil`),
/// written independently of the server's formatter.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parse `YYYY-MM-DDThh:mm:ss.sssZ` strictly.
fn parse_iso(s: &str) -> SystemTime {
    let b = s.as_bytes();
    assert_eq!(b.len(), 24, "{s}");
    for (i, c) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (23, b'Z'),
    ] {
        assert_eq!(b[i], c, "{s}");
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let days = days_from_civil(n(0..4), n(5..7), n(8..10));
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    UNIX_EPOCH + Duration::from_secs(secs as u64) + Duration::from_millis(n(20..23) as u64)
}

#[tokio::test]
async fn time_is_iso8601_utc_with_millis() {
    let server = TestServer::start().await;
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        let before = SystemTime::now() - Duration::from_millis(1);
        let (parts, body) = client.fetch(Method::GET, "/time", &[]).await;
        let after = SystemTime::now();
        assert_eq!(parts.status, StatusCode::OK);
        assert!(header(&parts, "content-type").starts_with("text/plain"));
        assert_eq!(header(&parts, "cache-control"), "no-store");
        let text = std::str::from_utf8(&body).unwrap();
        let t = parse_iso(text);
        assert!(t >= before && t <= after, "{text} not within the request");
    }
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
}

#[tokio::test]
async fn metrics_count_requests_by_kind_and_status() {
    let server = TestServer::start().await;
    for version in VERSIONS {
        let mut client = Client::connect(server.addr, version).await;
        client
            .fetch(Method::GET, "/live/ch/video0/seg1.m4s", &[])
            .await;
        client.fetch(Method::GET, "/missing", &[]).await;
    }
    let mut client = Client::connect(server.addr, http::Version::HTTP_11).await;
    let (parts, body) = client.fetch(Method::GET, "/metrics", &[]).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert!(header(&parts, "content-type").starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        text.contains(r#"ferrocast_http_requests_total{kind="segment",status="200"} 2"#),
        "{text}"
    );
    assert!(text.contains(r#"ferrocast_http_requests_total{kind="other",status="404"} 2"#));
    assert!(text.contains(r#"ferrocast_http_request_duration_seconds_count{kind="segment"} 2"#));
    let seg_bytes = 2 * common::SEGMENT.len();
    assert!(text.contains(&format!(
        r#"ferrocast_http_response_body_bytes_total{{kind="segment"}} {seg_bytes}"#
    )));
    // The /metrics request itself is still in flight while it renders.
    assert!(
        text.contains("ferrocast_http_requests_in_flight 1"),
        "{text}"
    );
    // …and leaves once its body is done.
    let metrics = server.pipeline.metrics();
    for _ in 0..100 {
        if metrics.in_flight() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metrics.in_flight(), 0);
}

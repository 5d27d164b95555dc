//! Tests of [`Parents`] against real parents on 127.0.0.1 ([`servers`]), with
//! short timeouts so the suite stays fast.

mod servers;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue, StatusCode};
use prometheus::proto::MetricType;
use prometheus::Registry;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::{ParentConfig, ParentError, ParentResponse, Parents};
use servers::{closed_port, EchoServer, Proto, SilentServer};

/// Connect, first-byte and idle timeout in these tests.
const TIMEOUT: Duration = Duration::from_millis(300);
/// First-byte timeout of blocking requests in these tests.
const BLOCKING_TIMEOUT: Duration = Duration::from_millis(1500);
/// Longest wait for the health checker to flip a parent.
const HEALTH_WAIT: Duration = Duration::from_secs(3);

fn config(parents: Vec<String>) -> ParentConfig {
    ParentConfig {
        parents,
        connect_timeout: TIMEOUT,
        first_byte_timeout: TIMEOUT,
        blocking_first_byte_timeout: BLOCKING_TIMEOUT,
        idle_timeout: TIMEOUT,
        health_interval: Duration::from_millis(50),
        health_timeout: Duration::from_millis(200),
        ..ParentConfig::default()
    }
}

fn start(parents: Vec<String>) -> (Arc<Parents>, Registry) {
    let registry = Registry::new();
    let parents = Parents::new(config(parents), &registry).unwrap();
    (parents, registry)
}

/// A segment path whose first choice is the parent `name`.
fn homed_at(parents: &Parents, name: &str) -> String {
    (0..10_000)
        .map(|i| format!("/live/ch/v0/seg{i}.m4s"))
        .find(|p| parents.order(p)[0] == name)
        .expect("some path hashes to every parent")
}

/// The whole body as text; panics on a body error.
async fn text(response: ParentResponse) -> String {
    let mut body = Vec::new();
    let mut chunks = response.body;
    while let Some(chunk) = chunks.next().await {
        body.extend_from_slice(&chunk.unwrap());
    }
    String::from_utf8(body).unwrap()
}

/// A metric's value (counter, gauge, or histogram sample count) for `labels`.
fn metric(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> f64 {
    let families = registry.gather();
    let Some(family) = families.iter().find(|f| f.get_name() == name) else {
        return 0.0;
    };
    family
        .get_metric()
        .iter()
        .find(|m| {
            labels.iter().all(|(k, v)| {
                m.get_label()
                    .iter()
                    .any(|l| l.get_name() == *k && l.get_value() == *v)
            })
        })
        .map_or(0.0, |m| match family.get_field_type() {
            MetricType::HISTOGRAM => m.get_histogram().get_sample_count() as f64,
            MetricType::GAUGE => m.get_gauge().get_value(),
            _ => m.get_counter().get_value(),
        })
}

async fn wait_for_health(parents: &Parents, name: &str, healthy: bool) {
    let deadline = Instant::now() + HEALTH_WAIT;
    while parents
        .healthy()
        .iter()
        .any(|(n, h)| n == name && *h != healthy)
    {
        assert!(
            Instant::now() < deadline,
            "{name} never became healthy={healthy}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn fetch_goes_to_the_hashed_parent() {
    let servers = [
        EchoServer::start(Proto::Http1).await,
        EchoServer::start(Proto::Http1).await,
        EchoServer::start(Proto::Http1).await,
    ];
    let (parents, registry) = start(servers.iter().map(|s| s.url("http")).collect());
    let mut answered_by = std::collections::HashSet::new();
    for i in 0..30 {
        let path = format!("/vod/asset{i}/seg1.m4s");
        let home = parents.order(&path)[0].clone();
        let response = parents.fetch(&path, HeaderMap::new()).await.unwrap();
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.parent, home);
        let body = text(response).await;
        assert!(body.starts_with(&format!("{home} ")), "{body}");
        answered_by.insert(home);
    }
    assert_eq!(
        answered_by.len(),
        3,
        "30 paths should reach all three parents"
    );
    assert_eq!(
        metric(&registry, "ferrocast_edge_upstream_failovers_total", &[]),
        0.0
    );
}

#[tokio::test]
async fn fails_over_when_the_first_parent_is_closed() {
    let closed = closed_port().await;
    let live = EchoServer::start(Proto::Http1).await;
    let (parents, registry) = start(vec![format!("http://{closed}"), live.url("http")]);
    let path = homed_at(&parents, &closed.to_string());
    let response = parents.fetch(&path, HeaderMap::new()).await.unwrap();
    assert_eq!(response.parent, live.addr.to_string());
    assert_eq!(
        metric(&registry, "ferrocast_edge_upstream_failovers_total", &[]),
        1.0
    );
    let labels = [("parent", &*closed.to_string()), ("error", "connect")];
    assert_eq!(
        metric(&registry, "ferrocast_edge_upstream_errors_total", &labels),
        1.0
    );
    // A parent that refused a connection is marked down at once.
    assert!(parents.healthy().contains(&(closed.to_string(), false)));

    let (only_closed, _) = start(vec![format!("http://{closed}")]);
    let error = only_closed.fetch("/x", HeaderMap::new()).await.unwrap_err();
    assert!(error.is_connect(), "{error}");
    assert!(matches!(
        error,
        ParentError::AllParentsFailed { tried: 1, .. }
    ));
}

#[tokio::test]
async fn gateway_errors_fail_over_but_404_is_an_answer() {
    let failing = EchoServer::start(Proto::Http1).await;
    let live = EchoServer::start(Proto::Http1).await;
    let (parents, registry) = start(vec![failing.url("http"), live.url("http")]);
    let path = homed_at(&parents, &failing.addr.to_string());

    failing.switches.status.store(503, Ordering::SeqCst);
    let response = parents.fetch(&path, HeaderMap::new()).await.unwrap();
    assert_eq!(response.parent, live.addr.to_string());
    let labels = [
        ("parent", &*failing.addr.to_string()),
        ("error", "gateway_status"),
    ];
    assert_eq!(
        metric(&registry, "ferrocast_edge_upstream_errors_total", &labels),
        1.0
    );

    failing.switches.status.store(404, Ordering::SeqCst);
    let response = parents.fetch(&path, HeaderMap::new()).await.unwrap();
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.parent, failing.addr.to_string());
}

#[tokio::test]
async fn unhealthy_parent_is_skipped_until_it_recovers() {
    let a = EchoServer::start(Proto::Http1).await;
    let b = EchoServer::start(Proto::Http1).await;
    let (parents, registry) = start(vec![a.url("http"), b.url("http")]);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let checker = tokio::spawn(parents.clone().run_health_checks(shutdown));
    let (a_name, b_name) = (a.addr.to_string(), b.addr.to_string());
    let path = homed_at(&parents, &a_name);
    let gauge = |name: &str| {
        metric(
            &registry,
            "ferrocast_edge_upstream_parent_healthy",
            &[("parent", name)],
        )
    };

    a.switches.sick.store(true, Ordering::SeqCst);
    wait_for_health(&parents, &a_name, false).await;
    assert_eq!(gauge(&a_name), 0.0);
    assert_eq!(gauge(&b_name), 1.0);
    let response = parents.fetch(&path, HeaderMap::new()).await.unwrap();
    assert_eq!(response.parent, b_name, "an unhealthy parent is skipped");
    let served_by_a = a.accepted.load(Ordering::SeqCst);

    a.switches.sick.store(false, Ordering::SeqCst);
    wait_for_health(&parents, &a_name, true).await;
    assert_eq!(gauge(&a_name), 1.0);
    let response = parents.fetch(&path, HeaderMap::new()).await.unwrap();
    assert_eq!(
        response.parent, a_name,
        "a recovered parent gets its paths back"
    );
    assert!(served_by_a >= 1, "health checks reached a");

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(1), checker)
        .await
        .expect("the checker stops on shutdown")
        .unwrap();
}

#[tokio::test]
async fn first_byte_timeout_moves_to_the_next_parent() {
    let silent = SilentServer::start().await;
    let live = EchoServer::start(Proto::Http1).await;
    let (parents, registry) = start(vec![format!("http://{}", silent.addr), live.url("http")]);
    let path = homed_at(&parents, &silent.addr.to_string());
    let started = Instant::now();
    let response = parents.fetch(&path, HeaderMap::new()).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(response.parent, live.addr.to_string());
    assert!(waited >= TIMEOUT && waited < TIMEOUT * 3, "{waited:?}");
    let labels = [
        ("parent", &*silent.addr.to_string()),
        ("error", "first_byte_timeout"),
    ];
    assert_eq!(
        metric(&registry, "ferrocast_edge_upstream_errors_total", &labels),
        1.0
    );
}

#[tokio::test]
async fn blocking_playlist_requests_get_the_longer_timeout() {
    let slow = EchoServer::start(Proto::Http1).await;
    slow.switches.delay_ms.store(600, Ordering::SeqCst);
    let (parents, registry) = start(vec![slow.url("http")]);
    let error = parents
        .fetch("/live/ch/v0/index.m3u8", HeaderMap::new())
        .await
        .unwrap_err();
    match error {
        ParentError::AllParentsFailed { last, .. } => {
            assert_eq!(
                *last,
                ParentError::FirstByteTimeout {
                    parent: slow.addr.to_string(),
                    after: TIMEOUT
                }
            );
        }
        other => panic!("{other}"),
    }
    let target = "/live/ch/v0/index.m3u8?_HLS_msn=7&_HLS_part=2";
    let response = parents.fetch(target, HeaderMap::new()).await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    let labels = [("request", "blocking")];
    assert_eq!(
        metric(
            &registry,
            "ferrocast_edge_upstream_first_byte_seconds",
            &labels
        ),
        1.0
    );
}

#[tokio::test]
async fn idle_body_ends_the_stream_with_an_error() {
    let server = EchoServer::start(Proto::Http1).await;
    let (parents, registry) = start(vec![server.url("http")]);
    let mut response = parents
        .fetch("/stall/seg1.m4s", HeaderMap::new())
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(&response.body.next().await.unwrap().unwrap()[..], b"first");
    let started = Instant::now();
    let error = response.body.next().await.unwrap().unwrap_err();
    assert!(started.elapsed() >= TIMEOUT);
    assert!(matches!(error, ParentError::BodyIdleTimeout { after, .. } if after == TIMEOUT));
    assert!(
        response.body.next().await.is_none(),
        "the error is the last item"
    );
    let labels = [("error", "body_idle_timeout")];
    assert_eq!(
        metric(&registry, "ferrocast_edge_upstream_errors_total", &labels),
        1.0
    );
}

#[tokio::test]
async fn query_and_end_to_end_headers_are_forwarded() {
    let server = EchoServer::start(Proto::Http1).await;
    let (parents, _registry) = start(vec![server.url("http")]);
    let mut headers = HeaderMap::new();
    headers.insert("x-test", HeaderValue::from_static("abc"));
    headers.insert("connection", HeaderValue::from_static("x-secret"));
    headers.insert("x-secret", HeaderValue::from_static("hop"));
    let target = "/live/ch/v0/index.m3u8?_HLS_msn=12&_HLS_part=3&_HLS_skip=YES";
    let body = text(parents.fetch(target, headers).await.unwrap()).await;
    assert_eq!(
        body,
        format!("{} HTTP/1.1 {target} x-test=abc x-secret=-", server.addr)
    );
    assert!(matches!(
        parents.fetch("no-slash", HeaderMap::new()).await,
        Err(ParentError::InvalidTarget { .. })
    ));
}

#[tokio::test]
async fn h2c_parent_multiplexes_on_one_connection() {
    let server = EchoServer::start(Proto::Http2).await;
    let (parents, _registry) = start(vec![server.url("h2c")]);
    let fetches = (0..10).map(|i| {
        let parents = parents.clone();
        async move {
            let response = parents
                .fetch(&format!("/part{i}.m4s"), HeaderMap::new())
                .await;
            text(response.unwrap()).await
        }
    });
    for body in futures_util::future::join_all(fetches).await {
        assert!(body.contains(" HTTP/2.0 /part"), "{body}");
    }
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn http1_connections_are_reused() {
    let server = EchoServer::start(Proto::Http1).await;
    let (parents, _registry) = start(vec![server.url("http")]);
    for i in 0..10 {
        let response = parents
            .fetch(&format!("/seg{i}.m4s"), HeaderMap::new())
            .await;
        assert!(text(response.unwrap()).await.contains(" HTTP/1.1 "));
    }
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn https_parent_negotiates_h2_by_alpn() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    let tls = crate::tls::server_config_from_der(vec![cert.clone()], key).unwrap();
    let server = EchoServer::start_tls(tls).await;

    let mut with_root = config(vec![server.url("https")]);
    with_root.extra_root_certs = vec![cert];
    let parents = Parents::new(with_root, &Registry::new()).unwrap();
    let body = text(parents.fetch("/seg1.m4s", HeaderMap::new()).await.unwrap()).await;
    assert!(body.contains(" HTTP/2.0 /seg1.m4s"), "{body}");

    // Without the private root the certificate is refused: a connect error.
    let untrusted = Parents::new(config(vec![server.url("https")]), &Registry::new()).unwrap();
    let error = untrusted
        .fetch("/seg1.m4s", HeaderMap::new())
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error}");
}

#[test]
fn blocking_requests_are_recognised_by_their_query() {
    assert!(super::is_blocking_request("/a/index.m3u8?_HLS_msn=3"));
    assert!(super::is_blocking_request(
        "/a/index.m3u8?x=1&_HLS_msn=3&_HLS_part=0"
    ));
    assert!(!super::is_blocking_request("/a/index.m3u8"));
    assert!(!super::is_blocking_request("/a/index.m3u8?_HLS_msnx=3"));
    assert!(!super::is_blocking_request("/a/_HLS_msn=3/index.m3u8"));
}

#[test]
fn metrics_register_once_per_registry() {
    let registry = Registry::new();
    let urls = vec!["http://127.0.0.1:1".to_owned()];
    Parents::new(config(urls.clone()), &registry).unwrap();
    assert!(matches!(
        Parents::new(config(urls), &registry),
        Err(super::ParentConfigError::Metrics(_))
    ));
}

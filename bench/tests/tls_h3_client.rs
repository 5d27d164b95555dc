//! `edge-load` over TLS 1.3 (HTTP/1.1 and HTTP/2 on TCP) and HTTP/3 (QUIC),
//! against tiny servers started here: hyper over tokio-rustls, and quinn + h3.
//! Both trust a self-signed certificate made by rcgen. Checks whole bodies, new
//! connections per request and that TLS handshakes resume only when tickets are
//! kept.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use bench::edge_load::cli::{self, Args};
use bench::edge_load::run;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio::net::TcpListener;

const BODY_LEN: usize = 2_000_000;

struct Certs {
    ca: PathBuf,
    tls: ServerConfig,
}

fn certs(alpn: &[&[u8]]) -> Certs {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = std::env::temp_dir().join(format!("bench-tls-h3-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    static N: AtomicUsize = AtomicUsize::new(0);
    let ca = dir.join(format!("cert-{}.pem", N.fetch_add(1, Relaxed)));
    std::fs::write(&ca, ck.cert.pem()).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    tls.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    Certs { ca, tls }
}

fn body() -> Bytes {
    Bytes::from((0..BODY_LEN).map(|i| (i % 251) as u8).collect::<Vec<u8>>())
}

/// hyper (HTTP/1.1 + HTTP/2 by ALPN) over tokio-rustls; every response is `body`.
async fn tcp_server(tls: ServerConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let body = body();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, body) = (acceptor.clone(), body.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(move |_req| {
                    let body = body.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            Response::builder()
                                .header("x-cache", "hit-memory")
                                .body(Full::new(body))
                                .unwrap(),
                        )
                    }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

/// quinn + h3; every response is `body`.
async fn h3_server(tls: ServerConfig) -> SocketAddr {
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls).unwrap();
    let config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let endpoint = quinn::Endpoint::server(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = endpoint.local_addr().unwrap();
    let body = body();
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let Ok(quic) = incoming.await else { return };
                let Ok(mut conn) =
                    h3::server::Connection::<_, Bytes>::new(h3_quinn::Connection::new(quic)).await
                else {
                    return;
                };
                while let Ok(Some(resolver)) = conn.accept().await {
                    let body = body.clone();
                    tokio::spawn(async move {
                        let Ok((_req, mut stream)) = resolver.resolve_request().await else {
                            return;
                        };
                        let head = Response::builder()
                            .header("x-cache", "hit-memory")
                            .body(())
                            .unwrap();
                        if stream.send_response(head).await.is_ok()
                            && stream.send_data(body).await.is_ok()
                        {
                            let _ = stream.finish().await;
                        }
                    });
                }
            });
        }
    });
    addr
}

fn args(line: String) -> Args {
    cli::parse(line.split_whitespace().map(String::from)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_h1_h2_with_and_without_resumption() {
    let certs = certs(&[b"h2", b"http/1.1"]);
    let addr = tcp_server(certs.tls).await;
    let ca = certs.ca.display();
    for http in [1, 2] {
        let line = format!(
            "--url https://{addr} --ca {ca} --server-name localhost --path /seg.m4s \
             --http {http} --connections 4 --requests 40 --timeout-s 20"
        );
        let r = run::run(&args(line)).await.unwrap();
        assert_eq!((r.requests, r.errors), (40, 0), "h{http}");
        assert_eq!(r.bytes, 40 * BODY_LEN as u64);
        assert_eq!(r.status[&200], 40);
        assert_eq!(r.connections, 4, "one connection per task");
    }
    // A new connection per request: resumed with tickets, full without.
    let line = format!(
        "--url https://{addr} --ca {ca} --server-name localhost --path /seg.m4s \
         --connections 2 --requests 30 --requests-per-connection 1 --timeout-s 20 \
         --server-pid {}",
        std::process::id()
    );
    let r = run::run(&args(line.clone())).await.unwrap();
    assert_eq!((r.requests, r.errors), (30, 0));
    assert!(r.connections >= 30, "{}", r.connections);
    assert!(
        r.resumed >= 20,
        "resumed {} of {}",
        r.resumed,
        r.connections
    );
    assert!(r.server_cpu_share().is_some());
    let r = run::run(&args(format!("{line} --no-resumption")))
        .await
        .unwrap();
    assert_eq!((r.requests, r.errors), (30, 0));
    assert_eq!(r.resumed, 0);
    assert!(r.full_handshakes.unwrap() + 2 >= r.connections);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_whole_bodies_and_new_connections() {
    let certs = certs(&[b"h3"]);
    let addr = h3_server(certs.tls).await;
    let ca = certs.ca.display();
    let base = format!(
        "--url https://{addr} --ca {ca} --server-name localhost --path /seg.m4s --http 3 \
         --timeout-s 20"
    );
    let r = run::run(&args(format!("{base} --connections 4 --requests 40")))
        .await
        .unwrap();
    assert_eq!((r.requests, r.errors), (40, 0));
    assert_eq!(r.bytes, 40 * BODY_LEN as u64);
    assert_eq!(r.x_cache["hit-memory"], 40);
    assert_eq!(r.connections, 4);
    let r = run::run(&args(format!(
        "{base} --connections 2 --requests 20 --requests-per-connection 1"
    )))
    .await
    .unwrap();
    assert_eq!((r.requests, r.errors), (20, 0));
    assert!(r.connections >= 20, "{}", r.connections);
    // quinn + rustls resume with the tickets kept: few certificates verified.
    let full = r.full_handshakes.unwrap();
    assert!(full <= 4, "{full} full handshakes of {}", r.connections);
    let r = run::run(&args(format!(
        "{base} --connections 2 --requests 20 --requests-per-connection 1 --no-resumption"
    )))
    .await
    .unwrap();
    assert!(r.full_handshakes.unwrap() + 2 >= r.connections);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let certs = certs(&[b"h2", b"http/1.1"]);
    let addr = tcp_server(certs.tls).await;
    let line = format!(
        "--url https://{addr} --ca {} --server-name other.example --path /a \
         --connections 1 --duration-s 0.3 --timeout-s 2",
        certs.ca.display()
    );
    let r = run::run(&args(line)).await.unwrap();
    assert_eq!(r.requests, 0);
    assert!(r.errors > 0);
}

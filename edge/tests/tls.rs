//! HTTPS with a self-signed certificate: ALPN picks h2 or http/1.1 on the same port.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{header, options, Client, TestServer, SEGMENT};
use http::{Method, StatusCode, Version};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio_rustls::TlsConnector;

struct Pki {
    server: Arc<rustls::ServerConfig>,
    cert: CertificateDer<'static>,
}

fn pki() -> Pki {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    let server = edge::tls::server_config_from_der(vec![cert.clone()], key).unwrap();
    Pki { server, cert }
}

/// A TLS client trusting only `cert`, offering `alpn`; returns the negotiated ALPN.
async fn connect(
    server: &TestServer,
    cert: &CertificateDer<'static>,
    alpn: &[&[u8]],
) -> (
    tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    Option<Vec<u8>>,
) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let negotiated = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    (tls, negotiated)
}

#[tokio::test]
async fn alpn_negotiates_h2_and_serves() {
    let pki = pki();
    let server =
        TestServer::start_with(Some(pki.server.clone()), options(Duration::from_secs(5))).await;
    let (tls, alpn) = connect(&server, &pki.cert, &[b"h2", b"http/1.1"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    let mut client = Client::handshake(TokioIo::new(tls), Version::HTTP_2).await;
    let (parts, body) = client
        .fetch(Method::GET, "/live/ch/video0/seg1.m4s", &[])
        .await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(parts.version, Version::HTTP_2);
    assert_eq!(&body[..], SEGMENT);
    assert!(header(&parts, "etag").starts_with('"'));
}

#[tokio::test]
async fn alpn_falls_back_to_http11() {
    let pki = pki();
    let server =
        TestServer::start_with(Some(pki.server.clone()), options(Duration::from_secs(5))).await;
    let (tls, alpn) = connect(&server, &pki.cert, &[b"http/1.1"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    let mut client = Client::handshake(TokioIo::new(tls), Version::HTTP_11).await;
    let (parts, body) = client.fetch(Method::GET, "/healthz", &[]).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(parts.version, Version::HTTP_11);
    assert_eq!(body.trim_ascii(), b"ok");
}

#[tokio::test]
async fn a_failed_handshake_does_not_disturb_the_listener() {
    let pki = pki();
    let server =
        TestServer::start_with(Some(pki.server.clone()), options(Duration::from_secs(5))).await;
    // Plain-text HTTP on the TLS port: that connection fails, nothing else does.
    let mut plain = Client::connect(server.addr, Version::HTTP_11).await;
    let response = tokio::time::timeout(Duration::from_secs(5), plain_request(&mut plain))
        .await
        .expect("server closes a non-TLS connection promptly");
    assert!(response.is_err());
    let (tls, _) = connect(&server, &pki.cert, &[b"h2"]).await;
    let mut client = Client::handshake(TokioIo::new(tls), Version::HTTP_2).await;
    let (parts, _) = client.fetch(Method::GET, "/healthz", &[]).await;
    assert_eq!(parts.status, StatusCode::OK);
}

async fn plain_request(client: &mut Client) -> Result<(), hyper::Error> {
    let Client::H1(send) = client else {
        unreachable!("connected as HTTP/1.1")
    };
    let req = http::Request::get("/healthz")
        .header("host", "localhost")
        .body(http_body_util::Empty::new())
        .unwrap();
    send.send_request(req).await.map(drop)
}

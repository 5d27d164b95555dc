//! HTTPS with self-signed certificates: ALPN picks h2 or http/1.1 on the same port,
//! and SNI picks the certificate among several loaded from PEM files.

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
    connect_as(server, std::slice::from_ref(cert), "localhost", alpn).await
}

/// A TLS client trusting `certs`, asking for `name` by SNI.
async fn connect_as(
    server: &TestServer,
    certs: &[CertificateDer<'static>],
    name: &str,
    alpn: &[&[u8]],
) -> (
    tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    Option<Vec<u8>>,
) {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots.add(cert.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from(name.to_owned()).unwrap();
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

/// A self-signed certificate for `names`, written as PEM into `dir`.
fn pem_pair(
    dir: &std::path::Path,
    stem: &str,
    names: &[&str],
) -> (CertificateDer<'static>, edge::tls::SniCertificate) {
    let ck =
        rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    let cert = dir.join(format!("{stem}.crt"));
    let key = dir.join(format!("{stem}.key"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let entry = edge::tls::SniCertificate {
        names: names.iter().map(|n| n.to_string()).collect(),
        cert,
        key,
        ocsp: None,
    };
    (ck.cert.der().clone(), entry)
}

#[tokio::test]
async fn sni_picks_the_certificate_for_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let (default_der, default) = pem_pair(dir.path(), "default", &["localhost"]);
    let (a_der, a) = pem_pair(dir.path(), "a", &["a.example.net"]);
    let (wild_der, wild) = pem_pair(dir.path(), "wild", &["*.cdn.example.net"]);
    let config =
        edge::tls::server_config_with_sni((&default.cert, &default.key), &[a, wild]).unwrap();
    let server = TestServer::start_with(Some(config), options(Duration::from_secs(5))).await;
    let all = [default_der.clone(), a_der.clone(), wild_der.clone()];
    for (name, expected) in [
        ("a.example.net", &a_der),
        ("x.cdn.example.net", &wild_der),
        ("localhost", &default_der),
        ("other.example.net", &default_der),
    ] {
        let (tls, _) = connect_as_lenient(&server, name).await;
        let presented = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
        assert_eq!(&presented, expected, "certificate for {name}");
    }
    // And a real request over the SNI-selected certificate.
    let (tls, _) = connect_as(&server, &all, "a.example.net", &[b"h2"]).await;
    let mut client = Client::handshake(TokioIo::new(tls), Version::HTTP_2).await;
    let (parts, _) = client.fetch(Method::GET, "/healthz", &[]).await;
    assert_eq!(parts.status, StatusCode::OK);
}

/// Like [`connect_as`] but accepting any certificate, so a default certificate
/// served for an unknown name can be inspected.
async fn connect_as_lenient(
    server: &TestServer,
    name: &str,
) -> (
    tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    Option<Vec<u8>>,
) {
    #[derive(Debug)]
    struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);
    impl rustls::client::danger::ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    (tls, None)
}

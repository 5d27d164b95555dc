//! Session resumption, OCSP stapling and the TLS-ALPN-01 answer of
//! [`edge::tls::Certificates`], with rustls client and server connections joined in
//! memory (no sockets, no clock).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use edge::tls::{Certificates, TlsSection};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, ServerConfig,
    ServerConnection, SignatureScheme,
};

fn write_pair(dir: &Path) -> (PathBuf, PathBuf, CertificateDer<'static>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (dir.join("c.pem"), dir.join("k.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    (cert, key, ck.cert.der().clone())
}

/// Runs a handshake between `client` and `server` to completion, then has the
/// client read what the server sent after it (TLS 1.3 tickets).
fn handshake(client: Arc<ClientConfig>, server: Arc<ServerConfig>) -> ClientConnection {
    try_handshake(client, server, "localhost").unwrap()
}

/// [`handshake`] with SNI `name`; the first error of either side.
fn try_handshake(
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    name: &str,
) -> Result<ClientConnection, rustls::Error> {
    let mut c = ClientConnection::new(client, ServerName::try_from(name.to_owned()).unwrap())?;
    let mut s = ServerConnection::new(server)?;
    for _ in 0..20 {
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            s.read_tls(&mut rd).unwrap();
        }
        s.process_new_packets()?;
        let mut buf = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            c.read_tls(&mut rd).unwrap();
        }
        c.process_new_packets()?;
        if !c.is_handshaking() && !s.is_handshaking() && !s.wants_write() && !c.wants_write() {
            break;
        }
    }
    assert!(!c.is_handshaking(), "handshake did not finish");
    Ok(c)
}

fn client(
    roots: &[CertificateDer<'static>],
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> Arc<ClientConfig> {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store.add(r.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    config.resumption = Resumption::store(Arc::new(ClientSessionMemoryCache::new(8)));
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

fn section(dir: &Path, tickets: bool) -> (TlsSection, CertificateDer<'static>) {
    let (cert, key, der) = write_pair(dir);
    let section = TlsSection {
        cert: Some(cert),
        key: Some(key),
        tickets,
        ..TlsSection::default()
    };
    (section, der)
}

#[test]
fn tls13_tickets_resume_across_the_tcp_and_quic_configurations() {
    let dir = tempfile::tempdir().unwrap();
    let (section, der) = section(dir.path(), true);
    let certs = Certificates::load(&section).unwrap().unwrap();
    let (tcp, quic) = (
        certs.tcp_config().unwrap(),
        certs.quic_config(false).unwrap(),
    );
    assert!(tcp.ticketer.enabled() && quic.ticketer.enabled());

    let tls13 = client(
        std::slice::from_ref(&der),
        &[&rustls::version::TLS13],
        &[b"h2"],
    );
    assert_eq!(
        handshake(tls13.clone(), tcp.clone()).handshake_kind(),
        Some(HandshakeKind::Full)
    );
    assert_eq!(
        handshake(tls13.clone(), tcp.clone()).handshake_kind(),
        Some(HandshakeKind::Resumed)
    );

    // A ticket from the TCP listener (ALPN h2) resumes on the QUIC configuration
    // (ALPN h3): one ticketer.
    let h3 = client(
        std::slice::from_ref(&der),
        &[&rustls::version::TLS13],
        &[b"h3", b"h2"],
    );
    assert_eq!(
        handshake(h3.clone(), tcp.clone()).handshake_kind(),
        Some(HandshakeKind::Full)
    );
    assert_eq!(
        handshake(h3, quic).handshake_kind(),
        Some(HandshakeKind::Resumed)
    );

    // Another process (another Certificates) cannot open this one's tickets.
    let other = Certificates::load(&section)
        .unwrap()
        .unwrap()
        .tcp_config()
        .unwrap();
    assert_eq!(
        handshake(tls13, other).handshake_kind(),
        Some(HandshakeKind::Full)
    );
}

#[test]
fn tls12_resumes_by_ticket_and_by_session_id() {
    for tickets in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (section, der) = section(dir.path(), tickets);
        let certs = Certificates::load(&section).unwrap().unwrap();
        let tcp = certs.tcp_config().unwrap();
        assert_eq!(tcp.ticketer.enabled(), tickets);
        let tls12 = client(&[der], &[&rustls::version::TLS12], &[b"http/1.1"]);
        assert_eq!(
            handshake(tls12.clone(), tcp.clone()).handshake_kind(),
            Some(HandshakeKind::Full)
        );
        assert_eq!(
            handshake(tls12, tcp).handshake_kind(),
            Some(HandshakeKind::Resumed),
            "tickets = {tickets}"
        );
    }
}

/// Accepts any certificate, and records the OCSP response the server stapled.
#[derive(Debug, Default)]
struct StapleRecorder(Mutex<Vec<Vec<u8>>>);

impl ServerCertVerifier for StapleRecorder {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.0.lock().unwrap().push(ocsp_response.to_vec());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[test]
fn the_ocsp_staple_reaches_the_client_over_tls12_and_tls13() {
    let dir = tempfile::tempdir().unwrap();
    let (mut section, _) = section(dir.path(), true);
    let staple = dir.path().join("ocsp.der");
    // Any bytes: rustls staples them as given; the client's verifier judges them.
    let response = b"\x30\x0b\x0a\x01\x00\xa0\x06ferrocast".to_vec();
    std::fs::write(&staple, &response).unwrap();
    section.ocsp = Some(staple);
    let certs = Certificates::load(&section).unwrap().unwrap();
    let tcp = certs.tcp_config().unwrap();
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let recorder = Arc::new(StapleRecorder::default());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[version])
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_no_client_auth();
        handshake(Arc::new(config), tcp.clone());
        assert_eq!(
            *recorder.0.lock().unwrap(),
            vec![response.clone()],
            "{version:?}"
        );
    }
}

#[test]
fn acme_tls_1_is_answered_only_with_a_pending_challenge_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (mut section, der) = section(dir.path(), true);
    assert!(!certs_alpn(&section).contains(&b"acme-tls/1".to_vec()));
    section.acme.names = vec!["a.example.net".into()];
    assert!(certs_alpn(&section).contains(&b"acme-tls/1".to_vec()));
    let certs = Certificates::load(&section).unwrap().unwrap();
    let tcp = certs.tcp_config().unwrap();
    let resolver = certs.resolver().unwrap();

    let recorder = Arc::new(StapleRecorder::default());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut validator = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    validator.alpn_protocols = vec![b"acme-tls/1".to_vec()];
    let validator = Arc::new(validator);

    // No pending challenge: no certificate at all (RFC 8737 §3), not the default.
    assert!(try_handshake(validator.clone(), tcp.clone(), "a.example.net").is_err());

    let challenge =
        edge::tls::acme::challenge::tls_alpn_certificate("a.example.net", &[9; 32]).unwrap();
    let challenge_der = challenge.cert[0].clone();
    resolver.set_challenge("a.example.net", Arc::new(challenge));
    let c = try_handshake(validator.clone(), tcp.clone(), "a.example.net").unwrap();
    assert_eq!(c.alpn_protocol(), Some(&b"acme-tls/1"[..]));
    assert_eq!(c.peer_certificates().unwrap()[0], challenge_der);

    // Clients not offering acme-tls/1 get the ordinary certificate meanwhile.
    let browser = client(
        std::slice::from_ref(&der),
        &[&rustls::version::TLS13],
        &[b"h2"],
    );
    let c = handshake(browser, tcp.clone());
    assert_eq!(c.peer_certificates().unwrap()[0], der);

    resolver.remove_challenge("a.example.net");
    assert!(try_handshake(validator, tcp, "a.example.net").is_err());
}

fn certs_alpn(section: &TlsSection) -> Vec<Vec<u8>> {
    Certificates::load(section)
        .unwrap()
        .unwrap()
        .tcp_config()
        .unwrap()
        .alpn_protocols
        .clone()
}

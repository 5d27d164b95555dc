//! # Certificate hot reload
//!
//! A `ferrocast-edge` with `[tls]` serves a 32 MiB object from a parent (a plain
//! HTTP server in this test). Connection A starts downloading it and stalls after
//! 1 MiB (the client reads nothing more; TCP flow control holds the rest in the
//! edge). Then the certificate and key files are replaced:
//!
//! - with `reload_check_s = 0`, nothing changes until SIGHUP; after it, a new
//!   connection gets the new certificate;
//! - with `reload_check_s = 1`, the file change alone is enough;
//! - garbage in the certificate file is refused: new connections still get the
//!   previous certificate and `ferrocast_tls_reloads_total{result="error"}` counts it;
//!
//! and connection A still finishes with every byte correct, on the old certificate.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{ensure, Result};
use rustls::pki_types::CertificateDer;
use tests::checks::wait_until;
use tests::edge::sum_samples;
use tests::origin::free_ports;
use tests::process::Supervised;
use tests::tls_client::{read_to_end, split_response, status_of, TlsClient};

const BIG: usize = 32 << 20;
const BIG_PATH: &str = "/vod/reload/big.bin";

fn byte_at(i: usize) -> u8 {
    ((i ^ (i >> 11)) % 251) as u8
}

/// A parent answering [`BIG_PATH`] with the 32 MiB pattern and anything else with
/// a short 200.
fn start_parent() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if conn.read(&mut byte).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head);
                let body: Vec<u8> = if head.contains(BIG_PATH) {
                    (0..BIG).map(byte_at).collect()
                } else {
                    b"ok\n".to_vec()
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\
                     Cache-Control: public, max-age=600\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(&body);
            });
        }
    });
    Ok(addr)
}

/// Writes a fresh self-signed certificate for `localhost` over `cert`/`key`
/// (through a rename, as certificate tools do); its DER.
fn write_pair(cert: &Path, key: &Path) -> Result<CertificateDer<'static>> {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    let replace = |path: &Path, text: String| -> Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    };
    replace(key, ck.key_pair.serialize_pem())?;
    replace(cert, ck.cert.pem())?;
    Ok(ck.cert.der().clone())
}

struct Node {
    proc: Supervised,
    addr: SocketAddr,
    cert: PathBuf,
    key: PathBuf,
    _dir: tempfile::TempDir,
}

fn start_edge(reload_check_s: u64) -> Result<(Node, CertificateDer<'static>)> {
    let parent = start_parent()?;
    let dir = tempfile::Builder::new()
        .prefix("ferrocast-e2e-tls-")
        .tempdir()?;
    let (cert, key) = (dir.path().join("edge.crt"), dir.path().join("edge.key"));
    let first = write_pair(&cert, &key)?;
    let ports = free_ports(2)?;
    let config = format!(
        "[http]\nlisten = \"127.0.0.1:{http}\"\n[http3]\nlisten = \"127.0.0.1:{h3}\"\n\
         [upstream]\nparents = [\"http://{parent}\"]\n[cache.memory]\nbytes = {mem}\n\
         [tls]\ncert = {cert:?}\nkey = {key:?}\nreload_check_s = {reload_check_s}\n",
        http = ports[0],
        h3 = ports[1],
        mem = 128u64 << 20,
        cert = cert.display().to_string(),
        key = key.display().to_string(),
    );
    let cfg = dir.path().join("edge.toml");
    std::fs::write(&cfg, config)?;
    let bin = tests::origin::locate_or_build("FERROCAST_EDGE_BIN", "edge", "ferrocast-edge")
        .map_err(anyhow::Error::msg)?;
    let proc = Supervised::spawn(
        "ferrocast-edge",
        &bin,
        &["--config".into(), cfg.display().to_string()],
        &[
            ("RUST_LOG".into(), "info".into()),
            ("NO_COLOR".into(), "1".into()),
        ],
        &dir.path().join("edge.stdout.log"),
        &dir.path().join("edge.stderr.log"),
    )?;
    let addr: SocketAddr = format!("127.0.0.1:{}", ports[0]).parse()?;
    let node = Node {
        proc,
        addr,
        cert,
        key,
        _dir: dir,
    };
    let client = TlsClient::new(std::slice::from_ref(&first), "localhost")?;
    wait_until(
        "HTTPS /healthz",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || Ok(client.get(addr, "/healthz").is_ok_and(|r| r.status == 200)),
    )?;
    Ok((node, first))
}

/// The leaf a new connection gets, trusting any of `known`.
fn served(node: &Node, known: &[CertificateDer<'static>]) -> Result<CertificateDer<'static>> {
    Ok(TlsClient::new(known, "localhost")?.connect(node.addr)?.1)
}

fn reloads(node: &Node, known: &[CertificateDer<'static>], result: &str) -> Result<f64> {
    let r = TlsClient::new(known, "localhost")?.get(node.addr, "/metrics")?;
    Ok(sum_samples(
        &String::from_utf8_lossy(&r.body),
        "ferrocast_tls_reloads_total",
        &[("result", result)],
    ))
}

/// Starts the download on connection A and reads its first MiB.
fn stall_download(
    node: &Node,
    first: &CertificateDer<'static>,
) -> Result<(tests::tls_client::TlsStream, Vec<u8>)> {
    let (mut a, leaf) =
        TlsClient::new(std::slice::from_ref(first), "localhost")?.open_get(node.addr, BIG_PATH)?;
    ensure!(leaf == *first);
    let mut got = vec![0u8; 1 << 20];
    a.read_exact(&mut got)?;
    Ok((a, got))
}

/// Reads connection A to its end and checks every byte.
fn finish_download(mut a: tests::tls_client::TlsStream, mut got: Vec<u8>) -> Result<()> {
    read_to_end(&mut a, &mut got)?;
    let (head, body) = split_response(&got)?;
    ensure!(status_of(&head)? == 200, "{head}");
    ensure!(
        body.len() == BIG,
        "connection A got {} of {BIG} bytes",
        body.len()
    );
    let bad = body.iter().enumerate().position(|(i, b)| *b != byte_at(i));
    ensure!(bad.is_none(), "connection A: wrong byte at {bad:?}");
    Ok(())
}

#[test]
fn sighup_swaps_the_certificate_for_new_connections_and_keeps_open_downloads() {
    let (node, first) = start_edge(0).unwrap();
    let (a, got) = stall_download(&node, &first).unwrap();

    let second = write_pair(&node.cert, &node.key).unwrap();
    let known = [first.clone(), second.clone()];
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        served(&node, &known).unwrap() == first,
        "with reload_check_s = 0 only SIGHUP reloads"
    );
    node.proc.signal("HUP").unwrap();
    wait_until(
        "the new certificate after SIGHUP",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || Ok(served(&node, &known)? == second),
    )
    .unwrap();
    assert_eq!(reloads(&node, &known, "ok").unwrap(), 1.0);

    // Garbage is refused: the second certificate keeps serving.
    std::fs::write(
        &node.cert,
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    node.proc.signal("HUP").unwrap();
    wait_until(
        "the failed reload to be counted",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || Ok(reloads(&node, &known, "error")? == 1.0),
    )
    .unwrap();
    assert!(served(&node, &known).unwrap() == second);
    assert!(node
        .proc
        .stderr()
        .contains("still serving the previous certificates"));

    finish_download(a, got).unwrap();
}

#[test]
fn a_changed_file_is_picked_up_without_a_signal() {
    let (node, first) = start_edge(1).unwrap();
    let (a, got) = stall_download(&node, &first).unwrap();
    let second = write_pair(&node.cert, &node.key).unwrap();
    let known = [first.clone(), second.clone()];
    wait_until(
        "the new certificate after the file changed",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || Ok(served(&node, &known)? == second),
    )
    .unwrap();
    assert!(reloads(&node, &known, "ok").unwrap() >= 1.0);
    finish_download(a, got).unwrap();
}

//! # ACME against a local Pebble
//!
//! A `ferrocast-edge` with `[tls.acme]` for `acme.ferrocast.test` and no `[tls]`
//! files, in front of Debian's Pebble (and its DNS, which resolves every name to
//! 127.0.0.1). Pebble validates TLS-ALPN-01 (RFC 8737) by connecting to the
//! edge's HTTPS port, so the edge must answer `acme-tls/1` with the challenge
//! certificate; then the edge serves the issued certificate, which a rustls client
//! trusting only Pebble's issuing root (`/roots/0`) accepts for the name.
//!
//! HTTP-01: the same through `[tls.acme] http01_listen`; a restarted edge then
//! serves the stored certificate without ordering again.
//!
//! Renewal: Pebble issues certificates valid for 60 s, and the edge renews 45 s
//! before expiry, so a second order must run and a new certificate be served —
//! while the first one is still valid — and the account is reused.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use rustls::pki_types::CertificateDer;
use tests::checks::wait_for;
use tests::edge::sum_samples;
use tests::origin::{free_ports, locate_or_build};
use tests::pebble::{Pebble, PebbleConfig};
use tests::process::Supervised;
use tests::tls_client::TlsClient;

const NAME: &str = "acme.ferrocast.test";
/// How often the served certificate is checked while waiting.
const POLL: Duration = Duration::from_millis(250);

/// An edge whose only certificate comes from ACME; `acme` are more `[tls.acme]`
/// lines (the challenge, its listener).
fn start_edge(
    dir: &Path,
    http: u16,
    h3: u16,
    pebble: &Pebble,
    renew_before_s: f64,
    acme: &str,
) -> Result<Supervised> {
    let config = format!(
        "[http]\nlisten = \"127.0.0.1:{http}\"\n[http3]\nlisten = \"127.0.0.1:{h3}\"\n\
         [upstream]\nparents = [\"http://127.0.0.1:9\"]\n\
         [tls.acme]\nnames = [{NAME:?}]\ndirectory = {directory:?}\nemail = \"ops@ferrocast.test\"\n\
         renew_before_days = {renew}\ncheck_interval_s = 1\n\
         dir = {state:?}\nca_root = {root:?}\n{acme}",
        directory = pebble.directory,
        renew = renew_before_s / 86_400.0,
        state = dir.join("acme").display().to_string(),
        root = pebble.api_root.display().to_string(),
    );
    let cfg = dir.join("edge.toml");
    std::fs::write(&cfg, config)?;
    let bin = locate_or_build("FERROCAST_EDGE_BIN", "edge", "ferrocast-edge")
        .map_err(anyhow::Error::msg)?;
    Supervised::spawn(
        "ferrocast-edge",
        &bin,
        &["--config".into(), cfg.display().to_string()],
        &[
            ("RUST_LOG".into(), "info,edge::tls=debug".into()),
            ("NO_COLOR".into(), "1".into()),
        ],
        &dir.join("edge.stdout.log"),
        &dir.join("edge.stderr.log"),
    )
}

#[test]
fn tls_alpn_01_issues_a_certificate_the_edge_serves_and_renews() {
    with_logs(run);
}

#[test]
fn http_01_is_answered_on_the_challenge_listener() {
    with_logs(run_http01);
}

/// Runs `test` in a fresh dir, printing the logs' tails when it fails.
fn with_logs(test: fn(&Path) -> Result<()>) {
    if !tests::tools::require("acme", &["pebble", "pebble-challtestsrv"]) {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("ferrocast-e2e-acme-")
        .tempdir()
        .unwrap();
    let result = test(dir.path());
    if result.is_err() {
        for log in ["edge.stderr.log", "pebble.out", "pebble.err"] {
            let text = std::fs::read_to_string(dir.path().join(log)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            eprintln!("--- {log} (last {} lines)", tail.len());
            for l in tail.iter().rev() {
                eprintln!("  | {l}");
            }
        }
    }
    result.unwrap();
}

fn run(dir: &Path) -> Result<()> {
    let ports = free_ports(2)?;
    let edge_addr: SocketAddr = format!("127.0.0.1:{}", ports[0]).parse()?;
    let pebble = Pebble::start(
        dir,
        &PebbleConfig {
            tls_port: ports[0],
            http_port: 9,
            validity_s: Some(60),
        },
    )?;
    let _edge = start_edge(
        dir,
        ports[0],
        ports[1],
        &pebble,
        45.0,
        "challenge = \"tls-alpn-01\"\n",
    )?;
    let root = pebble.issuing_root()?;
    let client = TlsClient::new(std::slice::from_ref(&root), NAME)?;

    // The first certificate: chain to Pebble's root, valid for NAME (rustls
    // verifies both during the handshake).
    let first: CertificateDer<'static> = wait_for(
        "the ACME certificate to be served",
        Duration::from_secs(60),
        POLL,
        || Ok(client.connect(edge_addr).ok().map(|(_, leaf)| leaf)),
    )?;
    let r = client.get(edge_addr, "/metrics")?;
    let metrics = String::from_utf8_lossy(&r.body).into_owned();
    ensure!(
        sum_samples(&metrics, "ferrocast_acme_orders_total", &[("result", "ok")]) >= 1.0,
        "{metrics}"
    );
    let expiry = sum_samples(
        &metrics,
        "ferrocast_acme_certificate_expiry_seconds",
        &[("name", NAME)],
    );
    ensure!(
        (0.0..=60.0).contains(&expiry),
        "expiry gauge {expiry} for a 60 s certificate"
    );
    let state = dir.join("acme");
    for file in ["account.json", "certificate.pem", "certificate.key"] {
        ensure!(state.join(file).is_file(), "{file} not stored");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.join("certificate.key"))?
            .permissions()
            .mode();
        ensure!(mode & 0o777 == 0o600, "key mode {mode:o}");
    }
    let stored = std::fs::read(state.join("certificate.pem"))?;
    let stored_leaf = rustls_pemfile::certs(&mut &stored[..])
        .next()
        .context("stored chain")??;
    ensure!(
        stored_leaf == first,
        "the stored certificate is the served one"
    );
    let account = std::fs::read(state.join("account.json"))?;

    // Renewal: within 45 s of expiry a new order runs and its certificate serves.
    let second = wait_for(
        "the renewed certificate",
        Duration::from_secs(40),
        POLL,
        || {
            Ok(client
                .connect(edge_addr)
                .ok()
                .map(|(_, leaf)| leaf)
                .filter(|leaf| *leaf != first))
        },
    )?;
    ensure!(second != first);
    let r = client.get(edge_addr, "/metrics")?;
    let metrics = String::from_utf8_lossy(&r.body).into_owned();
    ensure!(sum_samples(&metrics, "ferrocast_acme_orders_total", &[("result", "ok")]) >= 2.0);
    ensure!(
        std::fs::read(state.join("account.json"))? == account,
        "the renewal reused the stored account"
    );
    let edge_log = std::fs::read_to_string(dir.join("edge.stderr.log"))?;
    ensure!(
        edge_log.matches("ACME certificate issued").count() >= 2,
        "two orders in the edge's log:\n{edge_log}"
    );
    // Pebble's own record of the validations it made.
    let pebble_log = std::fs::read_to_string(dir.join("pebble.out"))?
        + &std::fs::read_to_string(dir.join("pebble.err")).unwrap_or_default();
    ensure!(
        pebble_log
            .matches("set VALID by completed challenge")
            .count()
            >= 2,
        "pebble validated both orders:\n{pebble_log}"
    );
    Ok(())
}

/// HTTP-01 (RFC 8555 §8.3): the edge's `[http] listen` speaks TLS, so Pebble
/// fetches the token from `[tls.acme] http01_listen`.
fn run_http01(dir: &Path) -> Result<()> {
    let ports = free_ports(3)?;
    let edge_addr: SocketAddr = format!("127.0.0.1:{}", ports[0]).parse()?;
    let pebble = Pebble::start(
        dir,
        &PebbleConfig {
            tls_port: 9,
            http_port: ports[2],
            validity_s: None,
        },
    )?;
    let acme = format!(
        "challenge = \"http-01\"\nhttp01_listen = \"127.0.0.1:{}\"\n",
        ports[2]
    );
    let edge = start_edge(dir, ports[0], ports[1], &pebble, 30.0 * 86_400.0, &acme)?;
    let root = pebble.issuing_root()?;
    let client = TlsClient::new(std::slice::from_ref(&root), NAME)?;
    let first = wait_for(
        "the ACME certificate to be served",
        Duration::from_secs(60),
        POLL,
        || Ok(client.connect(edge_addr).ok().map(|(_, leaf)| leaf)),
    )?;
    let edge_log = std::fs::read_to_string(dir.join("edge.stderr.log"))?;
    ensure!(
        edge_log.contains("challenge=Http01"),
        "an HTTP-01 answer was published:\n{edge_log}"
    );
    let pebble_log = std::fs::read_to_string(dir.join("pebble.out"))?;
    ensure!(
        pebble_log.contains("set VALID by completed challenge"),
        "pebble validated:\n{pebble_log}"
    );

    // A restart serves the stored certificate, without a new order.
    drop(edge);
    std::fs::rename(
        dir.join("edge.stderr.log"),
        dir.join("edge.first.stderr.log"),
    )?;
    let _edge = start_edge(dir, ports[0], ports[1], &pebble, 30.0 * 86_400.0, &acme)?;
    let again = wait_for(
        "the restarted edge to serve",
        Duration::from_secs(30),
        POLL,
        || Ok(client.connect(edge_addr).ok().map(|(_, leaf)| leaf)),
    )?;
    ensure!(
        again == first,
        "the stored certificate is served after a restart"
    );
    let r = client.get(edge_addr, "/metrics")?;
    let metrics = String::from_utf8_lossy(&r.body).into_owned();
    ensure!(
        sum_samples(&metrics, "ferrocast_acme_orders_total", &[("result", "ok")]) == 0.0,
        "no order after the restart:\n{metrics}"
    );
    let pebble_log = std::fs::read_to_string(dir.join("pebble.out"))?;
    ensure!(
        pebble_log.matches("Issued certificate serial").count() == 1,
        "one issuance in all:\n{pebble_log}"
    );
    Ok(())
}

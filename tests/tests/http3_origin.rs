//! # HTTP/3 on the origin: the API with request bodies, and 0-RTT (issue 6)
//!
//! An origin with a self-signed certificate serves HTTP/3 on `[http3] listen`:
//!
//! - the control plane API takes a JSON request body over HTTP/3: `POST
//!   /api/v1/channels` → 201, and the channel is then listed over HTTPS/TCP too;
//! - with `[http3] early_data` off (the default), a resumed client gets no 0-RTT;
//! - with it on, a resumed client's GET in 0-RTT is answered
//!   (`ferrocast_http3_early_requests_total{result="served"}`), and a POST sent in
//!   0-RTT is held until the handshake completes (`result="delayed"`), then
//!   answered.

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use tests::checks::{wait_for, Checks};
use tests::edge::sum_samples;
use tests::h3::{self, H3Client, TlsFiles};
use tests::origin::{free_ports, origin_binary};
use tests::process::Supervised;

const ADMIN_KEY: &str = "h3-origin-admin-key-0001";
/// Resumptions tried until an early GET and an early POST have both been seen.
const ZERO_RTT_ATTEMPTS: usize = 10;

struct TlsOrigin {
    _proc: Supervised,
    /// `https://localhost:PORT` (the certificate's name).
    https: String,
    /// The certificate to trust.
    ca: std::path::PathBuf,
    udp: std::net::SocketAddr,
}

fn start_origin(dir: &Path, tls: &TlsFiles, early_data: bool) -> Result<TlsOrigin> {
    let ports = free_ports(5)?;
    let data = dir.join(format!("data-{}", ports[0]));
    let config = format!(
        "[http]\nlisten = \"127.0.0.1:{http}\"\n\
         [http3]\nlisten = \"127.0.0.1:{h3}\"\nearly_data = {early_data}\n\
         [rtmp]\nlisten = \"127.0.0.1:{rtmp}\"\n[srt]\nlisten = \"127.0.0.1:{srt}\"\n\
         [webrtc]\nudp_listen = \"127.0.0.1:{rtc}\"\n\
         [tls]\ncert = {cert:?}\nkey = {key:?}\n[storage]\ndata_dir = {data:?}\n\
         [api]\nadmin_keys = [{ADMIN_KEY:?}]\n",
        http = ports[0],
        h3 = ports[1],
        rtmp = ports[2],
        srt = ports[3],
        rtc = ports[4],
        cert = tls.cert.display().to_string(),
        key = tls.key.display().to_string(),
        data = data.display().to_string(),
    );
    let cfg = dir.join(format!("origin-{}.toml", ports[0]));
    std::fs::write(&cfg, config)?;
    let proc = Supervised::spawn(
        "ferrocast-origin",
        &origin_binary()?,
        &["--config".into(), cfg.display().to_string()],
        &[
            ("RUST_LOG".into(), "info".into()),
            ("NO_COLOR".into(), "1".into()),
        ],
        &dir.join(format!("origin-{}.stdout.log", ports[0])),
        &dir.join(format!("origin-{}.stderr.log", ports[0])),
    )?;
    let origin = TlsOrigin {
        _proc: proc,
        https: format!("https://localhost:{}", ports[0]),
        ca: tls.cert.clone(),
        udp: format!("127.0.0.1:{}", ports[1]).parse()?,
    };
    wait_for(
        "HTTPS /healthz",
        Duration::from_secs(30),
        Duration::from_millis(200),
        || Ok(Some(()).filter(|_| https_get(&origin, "/healthz").is_ok_and(|b| b.trim() == "ok"))),
    )?;
    Ok(origin)
}

/// `GET path` over HTTPS/TCP: the body as text.
fn https_get(origin: &TlsOrigin, path: &str) -> Result<String> {
    let (_, body) = h3::curl_fetch(&format!("{}{path}", origin.https), false, &origin.ca)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn metric(origin: &TlsOrigin, name: &str, result: &str) -> Result<f64> {
    let text = https_get(origin, "/metrics")?;
    Ok(sum_samples(&text, name, &[("result", result)]))
}

fn bearer() -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("Bearer {ADMIN_KEY}")),
        ("content-type", "application/json".into()),
    ]
}

#[test]
fn api_bodies_and_zero_rtt_over_http3() {
    if !tests::tools::require("http3_origin", &["curl"]) {
        return;
    }
    run().unwrap();
}

fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let tls = TlsFiles::self_signed(dir.path())?;
    let origin = start_origin(dir.path(), &tls, false)?;
    let mut checks = Checks::new();

    checks.run("POST /api/v1/channels with a JSON body over HTTP/3", || {
        let mut client = H3Client::new("127.0.0.1:0".parse()?, &tls.cert, origin.udp)?;
        let body = br#"{"name":"made-over-h3","title":"HTTP/3 body"}"#.to_vec();
        let r = client.request("POST", "/api/v1/channels", &bearer(), Some(body))?;
        let text = String::from_utf8_lossy(&r.body).into_owned();
        ensure!(r.status == 201, "status {}: {text}", r.status);
        ensure!(text.contains("stream_key"), "{text}");
        let listed = https_get(&origin, "/api/v1/channels")?;
        ensure!(
            listed.contains("made-over-h3"),
            "not listed over TCP: {listed}"
        );
        Ok(())
    });
    checks.run("0-RTT refused while [http3] early_data is off", || {
        let mut client = H3Client::new("127.0.0.1:0".parse()?, &tls.cert, origin.udp)?;
        ensure!(client.get("/healthz", &[])?.status == 200);
        // Let the session ticket arrive, then resume.
        std::thread::sleep(Duration::from_millis(300));
        client.disconnect();
        let early = client.connect_early()?;
        ensure!(!early, "the client could send 0-RTT data");
        ensure!(client.get("/healthz", &[])?.status == 200);
        Ok(())
    });
    let early_origin = start_origin(dir.path(), &tls, true)?;
    checks.run(
        "0-RTT: GET served early, POST held for the handshake",
        || {
            let mut client = H3Client::new("127.0.0.1:0".parse()?, &tls.cert, early_origin.udp)?;
            ensure!(client.get("/healthz", &[])?.status == 200);
            std::thread::sleep(Duration::from_millis(300));
            // Whether a request sent in 0-RTT is still early when the server reads it
            // depends on timing (on loopback the handshake completes within a
            // millisecond), so resume a few times until both paths have been seen.
            let counted =
                |label| metric(&early_origin, "ferrocast_http3_early_requests_total", label);
            for attempt in 0..ZERO_RTT_ATTEMPTS {
                client.disconnect();
                ensure!(
                    client.connect_early()?,
                    "resumption {attempt} without 0-RTT"
                );
                // The first request after resuming goes out in 0-RTT; the second
                // waits for the first's answer, by when the handshake has usually
                // completed. So alternate which one goes first.
                let get = |client: &mut H3Client| -> Result<()> {
                    let r = client.get("/healthz", &[]).context("early GET")?;
                    ensure!(r.status == 200, "early GET: {}", r.status);
                    Ok(())
                };
                let post = |client: &mut H3Client| -> Result<()> {
                    let body = format!(r#"{{"name":"made-in-0rtt-{attempt}","title":"early"}}"#);
                    let r = client
                        .request(
                            "POST",
                            "/api/v1/channels",
                            &bearer(),
                            Some(body.into_bytes()),
                        )
                        .context("early POST")?;
                    ensure!(r.status == 201, "POST after the handshake: {}", r.status);
                    Ok(())
                };
                if attempt % 2 == 0 {
                    get(&mut client)?;
                    post(&mut client)?;
                } else {
                    post(&mut client)?;
                    get(&mut client)?;
                }
                if counted("served")? >= 1.0 && counted("delayed")? >= 1.0 {
                    return Ok(());
                }
            }
            anyhow::bail!(
                "after {ZERO_RTT_ATTEMPTS} resumptions: {} early GETs served, {} early POSTs held",
                counted("served")?,
                counted("delayed")?
            )
        },
    );
    checks.finish();
    Ok(())
}

//! An independent client: Debian's `curl` speaks HTTP/1.1 and h2c (prior knowledge)
//! to the server. Skipped with a note when `curl` is not installed.

mod common;

use std::process::Output;

use common::{TestServer, SEGMENT};

/// Run curl with `args` on a blocking thread (the server lives on this runtime).
async fn curl(args: Vec<String>) -> Option<Output> {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "10"])
            .args(&args)
            .output()
            .ok()
    })
    .await
    .unwrap()
}

/// Fetch `url` with `flag`; returns (status line version, headers text, body).
async fn fetch(flag: &str, url: &str, extra: &[&str]) -> Option<(String, String, Vec<u8>)> {
    let mut args = vec![flag.to_owned()];
    if !extra.contains(&"--head") {
        // `--head` already prints the header block; `--dump-header -` would repeat it.
        args.extend(["--dump-header".to_owned(), "-".to_owned()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(url.to_owned());
    let out = curl(args).await?;
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let split = out
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header/body separator");
    let head = String::from_utf8(out.stdout[..split].to_vec()).unwrap();
    let body = out.stdout[split + 4..].to_vec();
    let status_line = head.lines().next().unwrap().to_owned();
    Some((status_line, head.to_ascii_lowercase(), body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_http11_and_h2c_prior_knowledge() {
    let server = TestServer::start().await;
    let base = format!("http://{}", server.addr);
    let seg = format!("{base}/live/ch/video0/seg1.m4s");

    let Some((status, head, body)) = fetch("--http1.1", &seg, &[]).await else {
        eprintln!("curl not installed: skipping the independent-client check");
        return;
    };
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, SEGMENT);
    assert!(head.contains(&format!("content-length: {}", SEGMENT.len())));
    assert!(head.contains("access-control-allow-origin: *"));
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("etag")
        .trim()
        .to_owned();

    let (status, head, body) = fetch("--http2-prior-knowledge", &seg, &[]).await.unwrap();
    assert_eq!(status.trim(), "HTTP/2 200");
    assert_eq!(body, SEGMENT);
    assert!(head.contains(&format!("etag: {etag}")), "same ETag over h2");
    assert!(head.contains("cache-control: public, max-age=86400, immutable"));

    let inm = format!("If-None-Match: {etag}");
    let (status, _, body) = fetch("--http2-prior-knowledge", &seg, &["-H", &inm])
        .await
        .unwrap();
    assert_eq!(status.trim(), "HTTP/2 304");
    assert!(body.is_empty());

    let (status, head, body) = fetch("--http1.1", &seg, &["--head"]).await.unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(head.contains(&format!("content-length: {}", SEGMENT.len())));
    assert!(body.is_empty());

    let (status, _, body) = fetch("--http2-prior-knowledge", &format!("{base}/healthz"), &[])
        .await
        .unwrap();
    assert_eq!(status.trim(), "HTTP/2 200");
    assert_eq!(body, b"ok\n");
}

//! The start-up banner: how to publish and watch. Printed on stdout once, by design
//! the only place a stream key is ever shown (never through logs).

use std::net::SocketAddr;

use crate::config::Config;

/// Renders the banner for `config` (whose channels are all shown).
pub fn render(config: &Config, generated_demo_key: bool) -> String {
    let http_host = display_host(config.http.listen);
    let rtmp_host = display_host(config.rtmp.listen);
    let scheme = if config.tls.cert.is_some() {
        "https"
    } else {
        "http"
    };
    let mut out = String::new();
    out.push_str("\nFerrocast origin is running.\n\n");
    for channel in &config.channels {
        out.push_str(&format!("Channel {:?}\n", channel.name));
        out.push_str(&format!(
            "  Publish (OBS: Settings > Stream > Service \"Custom\"):\n    Server:     rtmp://{rtmp_host}/live\n    Stream Key: {}\n",
            channel.stream_key
        ));
        out.push_str(&format!(
            "  Publish with ffmpeg:\n    ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 \\\n      -c:v libx264 -preset veryfast -g 60 -c:a aac -f flv rtmp://{rtmp_host}/live/{}\n",
            channel.stream_key
        ));
        out.push_str(&format!(
            "  Watch:\n    LL-HLS: {scheme}://{http_host}/live/{name}/master.m3u8\n    DASH:   {scheme}://{http_host}/live/{name}/manifest.mpd\n\n",
            name = channel.name
        ));
    }
    if generated_demo_key {
        out.push_str("(No [[channels]] configured: the demo channel's key above was generated for this run.)\n");
    }
    out.push_str(&format!(
        "Metrics: {scheme}://{http_host}/metrics   Health: {scheme}://{http_host}/healthz\n"
    ));
    out
}

/// `0.0.0.0:8080` is not something a user can type into a player: show localhost.
fn display_host(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}

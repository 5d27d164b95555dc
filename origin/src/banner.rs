//! The start-up banner: how to publish and watch. Printed on stdout once, by design
//! the only place a stream key is ever shown (never through logs).

use std::net::SocketAddr;

use crate::config::Config;

/// A channel as the banner shows it.
#[derive(Debug, Clone)]
pub struct BannerChannel {
    /// URL name.
    pub name: String,
    /// The key, when this run knows a working one (configured or just generated).
    pub stream_key: Option<String>,
}

/// Renders the banner for `channels` served with `config`; `generated_demo_key` adds
/// a note that the demo key was made up for this catalog.
pub fn render(config: &Config, channels: &[BannerChannel], generated_demo_key: bool) -> String {
    let http_host = display_host(config.http.listen);
    let rtmp_host = display_host(config.rtmp.listen);
    let scheme = if config.tls.enabled() {
        "https"
    } else {
        "http"
    };
    let mut out = String::new();
    out.push_str("\nFerrocast origin is running.\n\n");
    for channel in channels {
        out.push_str(&format!("Channel {:?}\n", channel.name));
        let Some(stream_key) = &channel.stream_key else {
            out.push_str(&format!(
                "  Publish: rtmp://{rtmp_host}/live/<stream key> (the key was shown when the channel was created;\n    rotate it with POST /api/v1/channels/{}/rotate-key)\n",
                channel.name
            ));
            out.push_str(&format!(
                "  Watch:\n    LL-HLS: {scheme}://{http_host}/live/{name}/master.m3u8\n\n",
                name = channel.name
            ));
            continue;
        };
        out.push_str(&format!(
            "  Publish (OBS: Settings > Stream > Service \"Custom\"):\n    Server:     rtmp://{rtmp_host}/live\n    Stream Key: {stream_key}\n"
        ));
        out.push_str(&format!(
            "  Publish over SRT: ffmpeg … -f mpegts 'srt://{}?streamid=publish/live/{stream_key}'\n",
            display_host(config.srt.listen)
        ));
        if config.webrtc.enabled {
            out.push_str(&format!(
                "  Publish over WHIP (OBS 30+: Service \"WHIP\"): {scheme}://{http_host}/whip/{name} with Bearer Token {stream_key}\n",
                name = channel.name
            ));
        }
        if let Some(tls) = config.rtmp.tls_listen {
            out.push_str(&format!(
                "  Publish over RTMPS: rtmps://{}/live with the same key\n",
                display_host(tls)
            ));
        }
        out.push_str(&format!(
            "  Publish with ffmpeg:\n    ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 \\\n      -c:v libx264 -preset veryfast -g 60 -c:a aac -f flv rtmp://{rtmp_host}/live/{stream_key}\n"
        ));
        out.push_str(&format!(
            "  Watch:\n    LL-HLS: {scheme}://{http_host}/live/{name}/master.m3u8\n    DASH:   {scheme}://{http_host}/live/{name}/manifest.mpd\n",
            name = channel.name
        ));
        if config.webrtc.enabled {
            out.push_str(&format!(
                "    WebRTC: {scheme}://{http_host}/watch/{name}?mode=realtime (WHEP: POST {scheme}://{http_host}/whep/{name})\n",
                name = channel.name
            ));
        }
        out.push('\n');
    }
    if generated_demo_key {
        out.push_str("(No [[channels]] configured and an empty catalog: the demo channel above was created with a generated key.\n It is kept in the catalog, and in demo-stream-key in the data dir so later runs can show it.)\n");
    }
    out.push_str(&format!(
        "Pages: {scheme}://{http_host}/ (live channels, videos at /vod/<id>), {scheme}://{http_host}/admin\n"
    ));
    out.push_str(&format!(
        "Upload videos: /admin, or any tus 1.0 client at {scheme}://{http_host}/api/v1/uploads (both need a key from [api] admin_keys)\n"
    ));
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

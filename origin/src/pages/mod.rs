//! The web pages the origin serves, working offline (nothing from a CDN):
//!
//! | path | page |
//! |---|---|
//! | `/` | channels live now (title cards), then every channel |
//! | `/watch/{channel}` | player (hls.js, or Safari's native HLS) with live badge, latency and chat; `?token=` for token channels; a real-time mode (toggle, or `?mode=realtime`) that plays over WebRTC (WHEP) and falls back to LL-HLS when that fails |
//! | `/admin` | channels, create and rotate keys (shown once, with OBS settings for RTMP and WHIP), publish the camera from the page over WHIP, mint playback tokens; upload videos (tus-js-client, resumable) and list them with their status and progress |
//! | `/vod/{asset}` | a VOD asset: player (hls.js or native HLS) with quality selector and thumbnail previews on the seek bar, processing progress or failure reason, title, description, tags, views |
//! | `/assets/{file}` | the pages' CSS and scripts (`webrtc.js`: the WHEP/WHIP client), hls.js and tus-js-client (vendored from npm, see `scripts/vendor-hls.sh`, `scripts/vendor-tus.sh`) |
//!
//! The pages are static HTML whose scripts talk to the REST API; the only server-side
//! substitution is the channel name or asset id (validated, then HTML-escaped) and the
//! RTMP port. `/vod/{asset}/…` (the asset's media files) is not a page.
//! Chat text is only ever inserted with `textContent`.

use bytes::Bytes;
use edge::pipeline::{LocalRoutes, RequestCtx};
use edge::upstream::{ObjectKind, UpstreamBody, UpstreamFuture, UpstreamResponse};
use http::{HeaderMap, Method, StatusCode};

use crate::api::json::error;
use crate::config::is_valid_channel_name;

const INDEX_HTML: &str = include_str!("../../assets/index.html");
const WATCH_HTML: &str = include_str!("../../assets/watch.html");
const ADMIN_HTML: &str = include_str!("../../assets/admin.html");
const VOD_HTML: &str = include_str!("../../assets/vod.html");

/// Longest asset id the VOD page accepts.
const MAX_ASSET_ID_LEN: usize = 64;

/// `(file, content type, bytes)` served under `/assets/`.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    ),
    (
        "index.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/index.js"),
    ),
    (
        "watch.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/watch.js"),
    ),
    (
        "admin.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/admin.js"),
    ),
    // WHEP (play) and WHIP (publish) client for the watch and admin pages.
    (
        "webrtc.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/webrtc.js"),
    ),
    (
        "vod.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vod.js"),
    ),
    (
        "vod.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/vod.css"),
    ),
    (
        "hls.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/hls.min.js"),
    ),
    // tus-js-client for the admin page's uploads (scripts/vendor-tus.sh).
    (
        "tus.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/tus.min.js"),
    ),
];

/// The pages as local routes.
#[derive(Debug, Clone)]
pub struct PageRoutes {
    rtmp_port: u16,
}

impl PageRoutes {
    /// Pages that tell publishers to use RTMP port `rtmp_port`.
    pub fn new(rtmp_port: u16) -> Self {
        Self { rtmp_port }
    }

    fn page(&self, path: &str) -> Option<UpstreamResponse> {
        if path == "/" {
            return Some(html(INDEX_HTML.to_owned()));
        }
        if path == "/admin" {
            return Some(html(
                ADMIN_HTML.replace("{{RTMP_PORT}}", &self.rtmp_port.to_string()),
            ));
        }
        if let Some(channel) = path.strip_prefix("/watch/") {
            if !is_valid_channel_name(channel) {
                return Some(error(StatusCode::NOT_FOUND, "no such channel"));
            }
            return Some(html(
                WATCH_HTML.replace("{{CHANNEL}}", &escape_html(channel)),
            ));
        }
        if let Some(asset) = path.strip_prefix("/vod/") {
            // `/vod/{asset}/…` are the asset's files, served by the VOD routes.
            if asset.is_empty() || asset.contains('/') {
                return None;
            }
            if !is_page_asset_id(asset) {
                return Some(error(StatusCode::NOT_FOUND, "no such asset"));
            }
            return Some(html(VOD_HTML.replace("{{ASSET}}", &escape_html(asset))));
        }
        let file = path.strip_prefix("/assets/")?;
        Some(match ASSETS.iter().find(|(name, _, _)| *name == file) {
            Some((_, content_type, bytes)) => UpstreamResponse {
                status: StatusCode::OK,
                kind: ObjectKind::Other,
                content_type,
                // Short: assets change with the binary and carry no version in the URL.
                cache_control: "public, max-age=300".into(),
                headers: HeaderMap::new(),
                body: UpstreamBody::Full(Bytes::from_static(bytes)),
            },
            None => error(StatusCode::NOT_FOUND, "no such asset"),
        })
    }
}

impl LocalRoutes for PageRoutes {
    fn route(&self, ctx: &RequestCtx) -> Option<UpstreamFuture> {
        let response = self.page(&ctx.path)?;
        let response = if ctx.method == Method::GET || ctx.method == Method::HEAD {
            response
        } else {
            error(StatusCode::METHOD_NOT_ALLOWED, "pages answer GET and HEAD")
        };
        Some(Box::pin(async move { response }))
    }
}

fn html(body: String) -> UpstreamResponse {
    let mut headers = HeaderMap::new();
    // The pages load only their own scripts, styles, media and sockets.
    headers.insert(
        "content-security-policy",
        http::HeaderValue::from_static(
            "default-src 'self'; media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self' ws: wss:; img-src 'self' data:",
        ),
    );
    UpstreamResponse {
        status: StatusCode::OK,
        kind: ObjectKind::Other,
        content_type: "text/html; charset=utf-8",
        cache_control: "no-cache".into(),
        headers,
        body: UpstreamBody::Full(Bytes::from(body)),
    }
}

/// Asset ids are lowercase letters and digits (the catalog makes 16 of them); the
/// page checks only the shape, the API says whether it exists.
fn is_page_asset_id(id: &str) -> bool {
    (1..=MAX_ASSET_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Escapes text for HTML content and attribute values.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &UpstreamResponse) -> String {
        match &r.body {
            UpstreamBody::Full(b) => String::from_utf8(b.to_vec()).unwrap(),
            _ => panic!("full body expected"),
        }
    }

    #[test]
    fn pages_and_assets_are_found_and_bad_names_are_not() {
        let p = PageRoutes::new(1935);
        let watch = p.page("/watch/news").unwrap();
        assert_eq!(watch.status, StatusCode::OK);
        assert!(body(&watch).contains("data-channel=\"news\""));
        assert!(body(&p.page("/admin").unwrap()).contains("data-rtmp-port=\"1935\""));
        assert_eq!(
            p.page("/watch/<script>").unwrap().status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(p.page("/assets/hls.min.js").unwrap().status, StatusCode::OK);
        assert_eq!(
            p.page("/assets/../Cargo.toml").unwrap().status,
            StatusCode::NOT_FOUND
        );
        assert!(p.page("/live/news/master.m3u8").is_none());
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn the_vod_page_is_its_asset_only_and_leaves_media_files_alone() {
        let p = PageRoutes::new(1935);
        let page = p.page("/vod/abc123def456ghi7").unwrap();
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.content_type, "text/html; charset=utf-8");
        let html = body(&page);
        assert!(html.contains("data-asset=\"abc123def456ghi7\""), "{html}");
        assert!(html.contains("/assets/vod.js") && html.contains("/assets/hls.min.js"));
        assert!(!html.contains("{{ASSET}}"));
        for bad in [
            "/vod/<script>",
            "/vod/ABC",
            "/vod/a%2Fb",
            "/vod/a.b",
            &format!("/vod/{}", "a".repeat(65)),
        ] {
            assert_eq!(p.page(bad).unwrap().status, StatusCode::NOT_FOUND, "{bad}");
        }
        // The asset's files and the bare prefix belong to the VOD file routes.
        for media in [
            "/vod/abc123/master.m3u8",
            "/vod/abc123/720p/seg1.m4s",
            "/vod/abc123/",
            "/vod/",
        ] {
            assert!(p.page(media).is_none(), "{media}");
        }
        for asset in ["/assets/vod.js", "/assets/vod.css"] {
            assert_eq!(p.page(asset).unwrap().status, StatusCode::OK, "{asset}");
        }
    }

    #[test]
    fn the_watch_and_admin_pages_load_the_webrtc_client() {
        let p = PageRoutes::new(1935);
        let js = p.page("/assets/webrtc.js").unwrap();
        assert_eq!(js.status, StatusCode::OK);
        assert_eq!(js.content_type, "text/javascript; charset=utf-8");
        let js = body(&js);
        assert!(js.contains("whepPlay") && js.contains("whipPublish"));
        let watch = body(&p.page("/watch/news").unwrap());
        assert!(watch.contains("/assets/webrtc.js") && watch.contains("id=\"mode-toggle\""));
        let admin = body(&p.page("/admin").unwrap());
        assert!(admin.contains("/assets/webrtc.js") && admin.contains("id=\"whip-section\""));
        // The page scripts fetch /whep and /whip on their own origin: `connect-src 'self'`.
        let csp = &p.page("/watch/news").unwrap().headers["content-security-policy"];
        assert!(csp.to_str().unwrap().contains("connect-src 'self'"));
    }

    #[test]
    fn the_vod_script_sets_text_only_with_text_content() {
        let js = std::str::from_utf8(
            ASSETS
                .iter()
                .find(|(name, _, _)| *name == "vod.js")
                .unwrap()
                .2,
        )
        .unwrap();
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!js.contains(sink), "vod.js uses {sink}");
        }
        assert!(js.contains("window.__ferrocastVod"));
    }
}

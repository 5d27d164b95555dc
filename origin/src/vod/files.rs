//! Serving a VOD asset's files from disk through the delivery pipeline (so tokens,
//! ranges, HEAD, caching at edges and HTTP/3 need no VOD code).
//!
//! Cache-Control (ARCHITECTURE.md caching rules): init segments, segments and
//! thumbnails are immutable (a re-made asset gets a new id); playlists and the MPD
//! never change once written either, but an asset can be deleted, so they get a
//! short max-age.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use edge::upstream::{ObjectKind, UpstreamBody, UpstreamRequest, UpstreamResponse};
use http::{HeaderMap, StatusCode};

use super::paths::{self, VodPath};
use crate::live_upstream::{CACHE_IMMUTABLE, CONTENT_TYPE_M3U8, CONTENT_TYPE_MPD};

/// `Cache-Control` of VOD playlists and the MPD.
pub const CACHE_VOD_MANIFEST: &str = "public, max-age=60";

/// Answers `/vod/…` file requests from `{data_dir}/vod`.
#[derive(Debug, Clone)]
pub struct VodFiles {
    root: Arc<PathBuf>,
}

impl VodFiles {
    /// Files under `data_dir/vod`.
    pub fn new(data_dir: &std::path::Path) -> Self {
        Self {
            root: Arc::new(paths::vod_root(data_dir)),
        }
    }

    /// Whether this upstream answers `path`.
    pub fn handles(path: &str) -> bool {
        path.starts_with("/vod/")
    }

    /// The response to `request` (a path under `/vod/`).
    pub async fn respond(&self, request: &UpstreamRequest) -> UpstreamResponse {
        let Some(path) = paths::parse(&request.path) else {
            return UpstreamResponse::error(StatusCode::NOT_FOUND, "not found\n");
        };
        let file = self.root.join(path.asset).join(path.relative());
        match tokio::fs::read(&file).await {
            Ok(bytes) => ok(&path, Bytes::from(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                UpstreamResponse::error(StatusCode::NOT_FOUND, "no such file in this asset\n")
            }
            Err(e) => {
                tracing::error!(file = %file.display(), error = %e, "reading a VOD file failed");
                UpstreamResponse::error(StatusCode::INTERNAL_SERVER_ERROR, "read error\n")
            }
        }
    }
}

fn ok(path: &VodPath<'_>, body: Bytes) -> UpstreamResponse {
    let (kind, content_type, cache) = describe(path.file);
    UpstreamResponse {
        status: StatusCode::OK,
        kind,
        content_type,
        cache_control: cache.into(),
        headers: HeaderMap::new(),
        body: UpstreamBody::Full(body),
    }
}

/// Object kind, `Content-Type` and `Cache-Control` of a served file name.
fn describe(file: &str) -> (ObjectKind, &'static str, &'static str) {
    match file.rsplit('.').next() {
        Some("m3u8") if file == "master.m3u8" => (
            ObjectKind::MultivariantPlaylist,
            CONTENT_TYPE_M3U8,
            CACHE_VOD_MANIFEST,
        ),
        Some("m3u8") => (
            ObjectKind::MediaPlaylist,
            CONTENT_TYPE_M3U8,
            CACHE_VOD_MANIFEST,
        ),
        Some("mpd") => (ObjectKind::Mpd, CONTENT_TYPE_MPD, CACHE_VOD_MANIFEST),
        Some("mp4") if file.starts_with("init") => (ObjectKind::Init, "video/mp4", CACHE_IMMUTABLE),
        Some("m4s") => (ObjectKind::Segment, "video/iso.segment", CACHE_IMMUTABLE),
        Some("jpg") => (ObjectKind::Other, "image/jpeg", CACHE_IMMUTABLE),
        Some("vtt") => (
            ObjectKind::Other,
            "text/vtt; charset=utf-8",
            CACHE_VOD_MANIFEST,
        ),
        _ => (
            ObjectKind::Other,
            "application/octet-stream",
            CACHE_VOD_MANIFEST,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str) -> UpstreamRequest {
        UpstreamRequest {
            path: path.into(),
            query: None,
            authority: None,
            token: None,
        }
    }

    #[tokio::test]
    async fn serves_packaged_files_and_never_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let asset = paths::asset_dir(dir.path(), "a1");
        std::fs::create_dir_all(asset.join("720p")).unwrap();
        std::fs::write(asset.join("master.m3u8"), "#EXTM3U\n").unwrap();
        std::fs::write(asset.join("720p/seg1.m4s"), b"moof").unwrap();
        std::fs::write(asset.join("source"), b"original").unwrap();
        let files = VodFiles::new(dir.path());

        let r = files.respond(&request("/vod/a1/master.m3u8")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.content_type, CONTENT_TYPE_M3U8);
        assert_eq!(r.cache_control, CACHE_VOD_MANIFEST);
        let r = files.respond(&request("/vod/a1/720p/seg1.m4s")).await;
        assert_eq!((r.status, r.kind), (StatusCode::OK, ObjectKind::Segment));
        assert_eq!(r.cache_control, CACHE_IMMUTABLE);
        assert!(matches!(r.body, UpstreamBody::Full(ref b) if &b[..] == b"moof"));
        for missing in [
            "/vod/a1/source",
            "/vod/a1/720p/seg2.m4s",
            "/vod/zz/master.m3u8",
        ] {
            assert_eq!(
                files.respond(&request(missing)).await.status,
                StatusCode::NOT_FOUND,
                "{missing}"
            );
        }
    }
}

//! VOD URLs (ARCHITECTURE.md: `/vod/{asset}/master.m3u8`, `/vod/{asset}/manifest.mpd`)
//! and where their files live: `{data_dir}/vod/{asset}/…` with the same relative
//! names (see `packager::vod` for the layout).
//!
//! Only names the packager and the thumbnailer write are accepted, so a request
//! can never reach `source` (the uploaded original) or leave the asset directory.

use std::path::{Path, PathBuf};

/// Longest asset id accepted.
pub const MAX_ASSET_ID: usize = 64;
/// Longest rendition name accepted.
pub const MAX_RENDITION_NAME: usize = 32;

/// The uploaded original inside an asset directory (never served).
pub const SOURCE_FILE: &str = "source";

/// Files at the top of an asset directory that are served.
pub const TOP_FILES: &[&str] = &[
    "master.m3u8",
    "manifest.mpd",
    "poster.jpg",
    "sprite.jpg",
    "thumbs.vtt",
];

/// A parsed `/vod/{asset}/{file}` or `/vod/{asset}/{rendition}/{file}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VodPath<'a> {
    /// The asset id.
    pub asset: &'a str,
    /// The rendition directory, for per-rendition files.
    pub rendition: Option<&'a str>,
    /// The file name.
    pub file: &'a str,
}

impl VodPath<'_> {
    /// The path relative to the asset directory.
    pub fn relative(&self) -> String {
        match self.rendition {
            Some(r) => format!("{r}/{}", self.file),
            None => self.file.to_owned(),
        }
    }
}

/// Asset ids are lowercase letters and digits (see the catalog).
pub fn is_valid_asset_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ASSET_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn is_valid_rendition(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_RENDITION_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `index.m3u8`, `init.mp4`, `init-v{n}.mp4`, `seg{n}.m4s`.
fn is_rendition_file(file: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit());
    file == "index.m3u8"
        || file == "init.mp4"
        || file
            .strip_prefix("init-v")
            .and_then(|s| s.strip_suffix(".mp4"))
            .is_some_and(digits)
        || file
            .strip_prefix("seg")
            .and_then(|s| s.strip_suffix(".m4s"))
            .is_some_and(digits)
}

/// Parses a request path; `None` for anything that is not a served VOD file.
pub fn parse(path: &str) -> Option<VodPath<'_>> {
    let rest = path.strip_prefix("/vod/")?;
    let mut parts = rest.split('/');
    let asset = parts.next()?;
    let (a, b, c) = (parts.next(), parts.next(), parts.next());
    if !is_valid_asset_id(asset) || c.is_some() {
        return None;
    }
    match (a, b) {
        (Some(file), None) if TOP_FILES.contains(&file) => Some(VodPath {
            asset,
            rendition: None,
            file,
        }),
        (Some(rendition), Some(file))
            if is_valid_rendition(rendition) && is_rendition_file(file) =>
        {
            Some(VodPath {
                asset,
                rendition: Some(rendition),
                file,
            })
        }
        _ => None,
    }
}

/// `{data_dir}/vod`.
pub fn vod_root(data_dir: &Path) -> PathBuf {
    data_dir.join("vod")
}

/// `{data_dir}/vod/{asset}`.
pub fn asset_dir(data_dir: &Path, asset: &str) -> PathBuf {
    vod_root(data_dir).join(asset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_names_parse_and_nothing_else_does() {
        let p = parse("/vod/abc123/master.m3u8").unwrap();
        assert_eq!(
            (p.asset, p.rendition, p.file),
            ("abc123", None, "master.m3u8")
        );
        let p = parse("/vod/abc123/720p/seg12.m4s").unwrap();
        assert_eq!(p.relative(), "720p/seg12.m4s");
        assert!(parse("/vod/abc123/video0/init-v2.mp4").is_some());
        assert!(parse("/vod/abc123/audio0/index.m3u8").is_some());
        for bad in [
            "/vod/abc123/source",
            "/vod/abc123",
            "/vod/abc123/",
            "/vod/ABC/master.m3u8",
            "/vod/abc123/../x/master.m3u8",
            "/vod/abc123/720p/../../source",
            "/vod/abc123/720p/seg.m4s",
            "/vod/abc123/720p/seg1.m4s/x",
            "/vod/abc123/.hidden/index.m3u8",
            "/vod/abc123/720p/source",
            "/live/abc/master.m3u8",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}

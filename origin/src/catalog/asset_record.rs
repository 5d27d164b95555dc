//! What the catalog stores about a VOD asset: its status and origin, the record,
//! what creating, updating and listing take, ids and tags.

use serde::{Deserialize, Serialize};

/// Where an asset is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetStatus {
    /// The source file is stored; a job is queued.
    Uploaded,
    /// A job is transcoding and packaging it.
    Processing,
    /// Playable.
    Ready,
    /// Processing failed; see the reason.
    Failed,
}

impl AssetStatus {
    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetStatus::Uploaded => "uploaded",
            AssetStatus::Processing => "processing",
            AssetStatus::Ready => "ready",
            AssetStatus::Failed => "failed",
        }
    }

    /// The status called `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "uploaded" => AssetStatus::Uploaded,
            "processing" => AssetStatus::Processing,
            "ready" => AssetStatus::Ready,
            "failed" => AssetStatus::Failed,
            _ => return None,
        })
    }
}

/// Where an asset came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetOrigin {
    /// A tus upload.
    Upload,
    /// A recorded live stream (live-to-VOD).
    Live,
}

impl AssetOrigin {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetOrigin::Upload => "upload",
            AssetOrigin::Live => "live",
        }
    }
}

/// An asset as the catalog stores it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetRecord {
    /// 16 characters of `[a-z0-9]`; also the directory `{data_dir}/vod/{id}`.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Free text.
    pub description: String,
    /// Tags (see [`normalise_tags`]).
    pub tags: Vec<String>,
    /// Where it is in its life.
    pub status: AssetStatus,
    /// Why it failed.
    pub reason: Option<String>,
    /// The uploaded file's name (display only).
    pub source_name: String,
    /// Size of the source file in bytes.
    pub size_bytes: i64,
    /// Duration once probed.
    pub duration_s: Option<f64>,
    /// Width of the tallest rendition (the source's), once probed.
    pub width: Option<i64>,
    /// Height, likewise.
    pub height: Option<i64>,
    /// RFC 6381 codec strings.
    pub codecs: Option<String>,
    /// The renditions as JSON text (written by the job runner).
    #[serde(skip)]
    pub renditions_json: Option<String>,
    /// Views counted by the player page.
    pub views: i64,
    /// Upload or live-to-VOD.
    pub origin: AssetOrigin,
    /// The live channel it was recorded from.
    pub channel: Option<String>,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last change, ms since the Unix epoch.
    pub updated_ms: i64,
}

/// An asset to create.
#[derive(Debug, Clone)]
pub struct NewAsset {
    /// The id, made with [`new_asset_id`] (the caller needs it first, for the
    /// directory the source is moved into).
    pub id: String,
    /// Display title.
    pub title: String,
    /// Free text.
    pub description: String,
    /// Tags, normalised with [`normalise_tags`].
    pub tags: Vec<String>,
    /// The source file's name.
    pub source_name: String,
    /// Its size.
    pub size_bytes: i64,
    /// Upload or live.
    pub origin: AssetOrigin,
    /// The channel, for live-to-VOD.
    pub channel: Option<String>,
    /// Initial status: [`AssetStatus::Uploaded`] for uploads.
    pub status: AssetStatus,
}

/// What the job runner learnt about the media.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssetMedia {
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Width of the source / tallest rendition.
    pub width: Option<i64>,
    /// Height, likewise.
    pub height: Option<i64>,
    /// RFC 6381 codec strings, comma-separated.
    pub codecs: Option<String>,
    /// JSON array of the renditions.
    pub renditions_json: Option<String>,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AssetUpdate {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New tags (normalised).
    pub tags: Option<Vec<String>>,
}

/// A listing or search.
#[derive(Debug, Clone, Default)]
pub struct AssetQuery {
    /// Full-text search words (all must match); `None` or no words: no search.
    pub q: Option<String>,
    /// Only assets with this tag.
    pub tag: Option<String>,
    /// Only assets with this status.
    pub status: Option<AssetStatus>,
    /// At most this many ([`MAX_LIST_LIMIT`] at most).
    pub limit: u32,
    /// Skip this many.
    pub offset: u32,
}

/// Most assets one listing returns.
pub const MAX_LIST_LIMIT: u32 = 200;
/// Most tags per asset.
pub const MAX_TAGS: usize = 16;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 40;
/// Length of a generated asset id.
pub const ASSET_ID_LEN: usize = 16;

/// A fresh random asset id: [`ASSET_ID_LEN`] characters of `[a-z0-9]`.
pub fn new_asset_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..ASSET_ID_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Whether `id` can be an asset id (checked before it becomes a path).
pub fn is_asset_id(id: &str) -> bool {
    (12..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Tags as stored: trimmed, lower-case, duplicates dropped, order kept. A tag is 1 to
/// [`MAX_TAG_CHARS`] letters, digits, `-`, `.` or spaces; anything else (commas,
/// `%`, `_`) is refused so a tag can never act as a LIKE pattern.
pub fn normalise_tags(raw: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for t in raw {
        let t = t.trim().to_lowercase();
        if t.is_empty() {
            continue;
        }
        if t.chars().count() > MAX_TAG_CHARS
            || !t
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.' || c == ' ')
        {
            return Err(format!(
                "tag {t:?}: 1-{MAX_TAG_CHARS} letters, digits, '-', '.' or spaces"
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags"));
    }
    Ok(out)
}

pub(crate) fn tags_column(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!(",{},", tags.join(","))
    }
}

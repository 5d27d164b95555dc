//! `/api/v1/assets`: the VOD catalog (issue 7).
//!
//! | method and path | does | answers |
//! |---|---|---|
//! | `GET /assets?q=&tag=&status=&limit=&offset=` | list or search (public: `ready` only; with the admin key: all) | 200 `{"assets": [...]}` |
//! | `GET /assets/{id}` | one asset, with its job's progress and its URLs | 200 / 404 |
//! | `PATCH /assets/{id}` `{"title"?, "description"?, "tags"?}` | edit (admin) | 200 / 404 |
//! | `DELETE /assets/{id}` | delete it and its files (admin) | 204 / 404 |
//! | `POST /assets/{id}/views` | count one view (public; one per client address and asset per [`VIEW_INTERVAL_S`]) | 200 `{"views"}` / 429 / 404 |
//!
//! Without the admin key an asset that is not `ready` is a 404, as if it did not
//! exist. While a job runs, `job` has `progress_percent` and `eta_s`. URLs follow the
//! VOD layout (`/vod/{id}/master.m3u8`, `manifest.mpd`, `poster.jpg`, `sprite.jpg`,
//! `thumbs.vtt`, and the page `/vod/{id}`) and are listed once the asset is ready.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use edge::pipeline::RequestBody;
use edge::upstream::UpstreamResponse;
use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::json::{error, json, no_content, parse_body};
use super::ControlApi;
use crate::catalog::asset_store::{is_asset_id, normalise_tags};
use crate::catalog::{AssetQuery, AssetRecord, AssetStatus, AssetUpdate, CatalogError, JobRecord};
use crate::chat::rate::RateLimiter;

/// Listing size when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;
/// One counted view per client address and asset per this many seconds.
pub const VIEW_INTERVAL_S: f64 = 60.0;
/// Longest title accepted.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description accepted.
pub const MAX_DESCRIPTION_CHARS: usize = 5000;

/// What the assets routes need besides the catalog.
pub struct AssetsState {
    /// `[storage] data_dir` (asset files are in `{data_dir}/vod/{id}`); `None`: files
    /// are not deleted with the asset.
    pub(crate) data_dir: Option<PathBuf>,
    /// Counted views per (client address, asset).
    pub(crate) views: Mutex<RateLimiter<(IpAddr, String)>>,
}

impl Default for AssetsState {
    fn default() -> Self {
        Self {
            data_dir: None,
            views: Mutex::new(RateLimiter::new(1, 1.0 / VIEW_INTERVAL_S)),
        }
    }
}

/// The latest job of an asset, as shown.
#[derive(Debug, Serialize)]
struct JobView {
    id: String,
    state: crate::catalog::JobState,
    progress_percent: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    eta_s: Option<f64>,
    attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// Where a ready asset is played.
#[derive(Debug, Serialize)]
struct Urls {
    page: String,
    hls: String,
    dash: String,
    poster: String,
    sprite: String,
    thumbnails: String,
}

/// An asset as the API shows it.
#[derive(Debug, Serialize)]
struct AssetView {
    #[serde(flatten)]
    record: AssetRecord,
    /// The renditions (JSON written by the job runner).
    renditions: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    job: Option<JobView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    urls: Option<Urls>,
}

fn view(record: AssetRecord, job: Option<JobRecord>) -> AssetView {
    let renditions = record
        .renditions_json
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or(serde_json::Value::Array(Vec::new()));
    let urls = (record.status == AssetStatus::Ready).then(|| {
        let base = format!("/vod/{}", record.id);
        Urls {
            page: base.clone(),
            hls: format!("{base}/master.m3u8"),
            dash: format!("{base}/manifest.mpd"),
            poster: format!("{base}/poster.jpg"),
            sprite: format!("{base}/sprite.jpg"),
            thumbnails: format!("{base}/thumbs.vtt"),
        }
    });
    AssetView {
        record,
        renditions,
        job: job.map(|j| JobView {
            id: j.id,
            state: j.state,
            progress_percent: j.progress_percent,
            eta_s: j.eta_s,
            attempts: j.attempts,
            reason: j.reason,
        }),
        urls,
    }
}

fn unavailable(e: CatalogError) -> UpstreamResponse {
    tracing::error!(error = %e, "catalog error in the assets API");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the catalog is unavailable",
    )
}

fn not_found(id: &str) -> UpstreamResponse {
    error(StatusCode::NOT_FOUND, &format!("no asset {id:?}"))
}

/// The query string's parameters, percent-decoded.
fn query_params(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `GET /assets`.
pub(crate) async fn list(api: &ControlApi, query: Option<&str>, admin: bool) -> UpstreamResponse {
    let mut q = AssetQuery {
        limit: DEFAULT_LIMIT,
        ..AssetQuery::default()
    };
    for (k, v) in query_params(query) {
        match k.as_str() {
            "q" => q.q = Some(v),
            "tag" => q.tag = Some(v).filter(|t| !t.is_empty()),
            "status" if v.is_empty() => {}
            "status" => match AssetStatus::parse(&v) {
                Some(s) => q.status = Some(s),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "status must be uploaded, processing, ready or failed",
                    )
                }
            },
            "limit" | "offset" => match v.parse::<u32>() {
                Ok(n) if k == "limit" => {
                    q.limit = n.clamp(1, crate::catalog::asset_store::MAX_LIST_LIMIT)
                }
                Ok(n) => q.offset = n,
                Err(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        &format!("{k} must be a non-negative integer"),
                    )
                }
            },
            _ => {}
        }
    }
    if !admin {
        match q.status {
            None => q.status = Some(AssetStatus::Ready),
            Some(AssetStatus::Ready) => {}
            Some(_) => return json(StatusCode::OK, &serde_json::json!({ "assets": [] })),
        }
    }
    match api.catalog.list_assets(q).await {
        Ok(assets) => {
            let views: Vec<AssetView> = assets.into_iter().map(|a| view(a, None)).collect();
            json(StatusCode::OK, &serde_json::json!({ "assets": views }))
        }
        Err(e) => unavailable(e),
    }
}

/// The asset `id` if this caller may see it.
async fn visible(api: &ControlApi, id: &str, admin: bool) -> Result<AssetRecord, UpstreamResponse> {
    if !is_asset_id(id) {
        return Err(not_found(id));
    }
    match api.catalog.asset(id).await {
        Ok(Some(a)) if admin || a.status == AssetStatus::Ready => Ok(a),
        Ok(_) => Err(not_found(id)),
        Err(e) => Err(unavailable(e)),
    }
}

/// `GET /assets/{id}`.
pub(crate) async fn get(api: &ControlApi, id: &str, admin: bool) -> UpstreamResponse {
    let asset = match visible(api, id, admin).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let job = match api.catalog.jobs_for_asset(id).await {
        Ok(jobs) => jobs.into_iter().last(),
        Err(e) => return unavailable(e),
    };
    json(StatusCode::OK, &view(asset, job))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditAsset {
    title: Option<String>,
    description: Option<String>,
    tags: Option<Vec<String>>,
}

/// `PATCH /assets/{id}` (admin).
pub(crate) async fn edit(
    api: &ControlApi,
    id: &str,
    body: Option<RequestBody>,
) -> UpstreamResponse {
    let req: EditAsset = match parse_body(body).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let title = req.title.map(|t| t.trim().to_owned());
    if title
        .as_ref()
        .is_some_and(|t| t.is_empty() || t.chars().count() > MAX_TITLE_CHARS)
    {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("title must be 1-{MAX_TITLE_CHARS} characters"),
        );
    }
    if req
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("description must be at most {MAX_DESCRIPTION_CHARS} characters"),
        );
    }
    let tags = match req.tags.as_deref().map(normalise_tags).transpose() {
        Ok(t) => t,
        Err(why) => return error(StatusCode::BAD_REQUEST, &why),
    };
    if !is_asset_id(id) {
        return not_found(id);
    }
    let update = AssetUpdate {
        title,
        description: req.description,
        tags,
    };
    match api.catalog.update_asset(id, update).await {
        Ok(Some(a)) => json(StatusCode::OK, &view(a, None)),
        Ok(None) => not_found(id),
        Err(e) => unavailable(e),
    }
}

/// `DELETE /assets/{id}` (admin): the catalog row, its jobs, then its files.
pub(crate) async fn delete(api: &ControlApi, id: &str) -> UpstreamResponse {
    if !is_asset_id(id) {
        return not_found(id);
    }
    match api.catalog.delete_asset(id).await {
        Ok(true) => {}
        Ok(false) => return not_found(id),
        Err(e) => return unavailable(e),
    }
    if let Some(data_dir) = &api.assets.data_dir {
        let dir = crate::vod::paths::asset_dir(data_dir, id);
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::error!(asset = %id, error = %e, "cannot delete the asset's files");
            }
        }
    }
    tracing::info!(asset = %id, "asset deleted");
    no_content()
}

/// `POST /assets/{id}/views` (public, rate-limited per address and asset).
pub(crate) async fn count_view(
    api: &ControlApi,
    id: &str,
    peer: Option<SocketAddr>,
) -> UpstreamResponse {
    if let Err(r) = visible(api, id, false).await {
        return r;
    }
    let ip = peer.map_or(IpAddr::from([0, 0, 0, 0]), |p| p.ip());
    let allowed = api
        .assets
        .views
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .allow(&(ip, id.to_owned()), Instant::now());
    if !allowed {
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "this view was counted already; one per minute",
        );
        r.headers.insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from(VIEW_INTERVAL_S as u64),
        );
        return r;
    }
    match api.catalog.count_view(id).await {
        Ok(Some(views)) => json(StatusCode::OK, &serde_json::json!({ "views": views })),
        Ok(None) => not_found(id),
        Err(e) => unavailable(e),
    }
}

#[cfg(test)]
#[path = "assets_tests.rs"]
mod tests;

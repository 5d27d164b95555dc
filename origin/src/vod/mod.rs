//! VOD on the origin: asset files on disk and how they are served.
//!
//! - [`paths`]: `/vod/{asset}/…` URLs and the asset directory layout;
//! - [`files`]: serving those files through the delivery pipeline;
//! - [`store`]: writing them (temporary name, then rename);
//! - [`live_recording`]: live to VOD, recording a channel while it is live;
//!   [`live_to_vod`] turns each recording into an asset;
//! - [`runner`]: the job runner (queued uploads → [`job`] on threads of its own);
//! - [`thumbnail_files`]: poster, sprite and WebVTT;
//! - [`metrics`]: job and recording metrics.

pub mod files;
pub mod job;
pub mod live_recording;
pub mod live_to_vod;
pub mod metrics;
pub mod paths;
pub mod runner;
pub mod store;
pub mod thumbnail_files;

use packager::vod::VodSummary;

use crate::catalog::Catalog;
use crate::webhooks::{Event, Webhooks};

/// Sends `vod.ready` (no `failure`) or `vod.failed` for asset `id`, with the
/// asset's catalog record.
pub async fn emit_vod_event(
    catalog: &Catalog,
    webhooks: &Webhooks,
    id: &str,
    failure: Option<&str>,
) {
    let record = match catalog.asset(id).await {
        Ok(Some(record)) => record,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(asset = %id, error = %e, "no webhook: the asset could not be read");
            return;
        }
    };
    let now = crate::clock::now_ms();
    webhooks.emit(match failure {
        None => Event::vod_ready(&record, now),
        Some(reason) => Event::vod_failed(&record, reason, now),
    });
}

/// The renditions of `summary` as the catalog stores them (JSON array):
/// name, kind, codec, width/height, bandwidth, duration and segment count.
pub fn renditions_json(summary: &VodSummary) -> String {
    let list: Vec<serde_json::Value> = summary
        .renditions
        .iter()
        .map(|r| {
            let video = r.track.codec.video_info();
            serde_json::json!({
                "name": r.name,
                "kind": match r.kind() {
                    packager::media::MediaKind::Video => "video",
                    packager::media::MediaKind::Audio => "audio",
                },
                "codec": r.track.codec.codec_string(),
                "width": video.map(|v| v.width),
                "height": video.map(|v| v.height),
                "bandwidth": r.peak_bandwidth(),
                "average_bandwidth": r.average_bandwidth(),
                "duration_s": r.duration_s(),
                "segments": r.segments.len(),
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

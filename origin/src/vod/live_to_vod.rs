//! Live to VOD for channels with `record` on: an asset per live stream, created
//! when the stream starts (status `processing`, origin `live`), filled by
//! [`live_recording::record`] while it runs, and made `ready` (with thumbnails
//! from the recorded top video rendition) when the stream ends. No re-encoding.
//!
//! A recording the origin could not finish (it stopped mid-stream) is marked
//! `failed` at the next start ([`fail_interrupted`]): its playlists were never
//! written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use packager::media::MediaKind;
use packager::transcode::thumbnails::ThumbnailSpec;
use packager::vod::VodSummary;

use super::live_recording::{self, Recorded};
use super::metrics::VodMetrics;
use super::paths::asset_dir;
use super::thumbnail_files::write_thumbnails;
use crate::catalog::{
    asset_store::new_asset_id, AssetMedia, AssetOrigin, AssetQuery, AssetStatus, Catalog, NewAsset,
};
use crate::channels::Channel;
use crate::webhooks::Webhooks;

/// Reason stored on recordings a restart interrupted.
pub const INTERRUPTED: &str = "the origin stopped while this live stream was being recorded";

/// What a recording needs besides the channel.
#[derive(Clone)]
pub struct LiveToVod {
    /// The catalog.
    pub catalog: Catalog,
    /// `[storage] data_dir`.
    pub data_dir: PathBuf,
    /// `vod.ready` / `vod.failed`.
    pub webhooks: Webhooks,
    /// Recording metrics.
    pub metrics: VodMetrics,
    /// Thumbnail settings.
    pub thumbnails: Arc<ThumbnailSpec>,
}

impl LiveToVod {
    /// Starts recording `channel`'s new stream (call when a fresh stream starts).
    pub fn start(&self, channel: Arc<Channel>, started_ms: u64) {
        let this = self.clone();
        tokio::spawn(async move { this.record(channel, started_ms).await });
    }

    async fn record(self, channel: Arc<Channel>, started_ms: u64) {
        let id = new_asset_id();
        let title = format!(
            "{} (live, {})",
            channel.name,
            packager::live::wallclock::iso8601_ms(started_ms)
        );
        let created = self
            .catalog
            .create_asset(NewAsset {
                id: id.clone(),
                title,
                description: String::new(),
                tags: vec!["live".to_owned()],
                source_name: String::new(),
                size_bytes: 0,
                origin: AssetOrigin::Live,
                channel: Some(channel.name.clone()),
                status: AssetStatus::Processing,
            })
            .await;
        if let Err(e) = created {
            tracing::error!(channel = %channel.name, error = %e, "cannot create the live-to-VOD asset; not recording");
            return;
        }
        let dir = asset_dir(&self.data_dir, &id);
        tracing::info!(channel = %channel.name, asset = %id, "recording the live stream");
        match live_recording::record(channel.clone(), dir.clone()).await {
            Ok(recorded) => self.finished(&channel.name, &id, &dir, recorded).await,
            Err(e) => self.failed(&channel.name, &id, &e.to_string()).await,
        }
    }

    async fn finished(&self, channel: &str, id: &str, dir: &Path, recorded: Recorded) {
        let summary = recorded.summary;
        if recorded.missed_segments > 0 {
            tracing::warn!(%channel, asset = %id, missed = recorded.missed_segments, "segments left the live window before they were recorded");
        }
        let thumbs = {
            let (dir, summary, spec) =
                (dir.to_path_buf(), summary.clone(), self.thumbnails.clone());
            tokio::task::spawn_blocking(move || recorded_thumbnails(&dir, &summary, &spec))
                .await
                .unwrap_or(false)
        };
        let media = AssetMedia {
            duration_s: Some(summary.duration_s),
            width: summary.resolution().map(|(w, _)| i64::from(w)),
            height: summary.resolution().map(|(_, h)| i64::from(h)),
            codecs: Some(summary.codecs().join(",")),
            renditions_json: Some(super::renditions_json(&summary)),
        };
        let stored = async {
            self.catalog.update_asset_media(id, media).await?;
            self.catalog
                .set_asset_status(id, AssetStatus::Ready, None)
                .await
        }
        .await;
        if let Err(e) = stored {
            tracing::error!(asset = %id, error = %e, "recording the finished live-to-VOD asset failed");
            return;
        }
        self.metrics.recordings.with_label_values(&["ready"]).inc();
        tracing::info!(%channel, asset = %id, duration_s = summary.duration_s, thumbnails = thumbs, "live stream recorded as VOD");
        super::emit_vod_event(&self.catalog, &self.webhooks, id, None).await;
    }

    async fn failed(&self, channel: &str, id: &str, reason: &str) {
        tracing::warn!(%channel, asset = %id, %reason, "live-to-VOD recording failed");
        if let Err(e) = self
            .catalog
            .set_asset_status(id, AssetStatus::Failed, Some(reason))
            .await
        {
            tracing::error!(asset = %id, error = %e, "marking the recording failed");
        }
        self.metrics.recordings.with_label_values(&["failed"]).inc();
        super::emit_vod_event(&self.catalog, &self.webhooks, id, Some(reason)).await;
    }
}

/// Marks live recordings left `processing` by a previous process as failed.
pub async fn fail_interrupted(catalog: &Catalog) {
    let query = AssetQuery {
        status: Some(AssetStatus::Processing),
        limit: crate::catalog::asset_store::MAX_LIST_LIMIT,
        ..AssetQuery::default()
    };
    let Ok(stuck) = catalog.list_assets(query).await else {
        return;
    };
    for a in stuck.iter().filter(|a| a.origin == AssetOrigin::Live) {
        tracing::warn!(asset = %a.id, "{INTERRUPTED}");
        let _ = catalog
            .set_asset_status(&a.id, AssetStatus::Failed, Some(INTERRUPTED))
            .await;
    }
}

/// Poster, sprite and WebVTT from the tallest recorded video rendition: its init
/// segment and media segments back to back are one fragmented MP4 that FFmpeg
/// reads like any file.
fn recorded_thumbnails(dir: &Path, summary: &VodSummary, spec: &ThumbnailSpec) -> bool {
    let Some(top) = summary
        .renditions
        .iter()
        .filter(|r| r.kind() == MediaKind::Video)
        .max_by_key(|r| r.track.codec.video_info().map_or(0, |v| v.height))
    else {
        return false;
    };
    let joined = dir.join(".thumbnail-source.mp4");
    let result = (|| -> anyhow::Result<()> {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&joined)?);
        let first = top.segments.first().map_or(0, |s| s.init_version);
        let init = packager::live::Rendition::init_uri(first);
        out.write_all(&std::fs::read(dir.join(&top.name).join(init))?)?;
        for s in top.segments.iter().filter(|s| s.init_version == first) {
            let seg = dir.join(&top.name).join(packager::vod::segment_file(s.msn));
            out.write_all(&std::fs::read(seg)?)?;
        }
        out.flush()?;
        drop(out);
        if !write_thumbnails(
            &joined,
            dir,
            spec,
            &std::sync::atomic::AtomicBool::new(false),
        ) {
            anyhow::bail!("no thumbnails");
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&joined);
    match result {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "thumbnails of the recording failed");
            false
        }
    }
}

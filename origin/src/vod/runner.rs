//! The VOD job runner: takes queued jobs from the catalog, runs each on a thread
//! of its own ([`job::run`]: FFmpeg never runs on the async workers), writes
//! progress back, and moves the asset to `ready` or `failed` with a webhook.
//!
//! - At start, jobs a previous process left `running` (it crashed or was stopped
//!   mid-transcode) are queued again, and run from the start.
//! - `[vod] job_concurrency` jobs run at once. Workers wake when an upload
//!   completes (the upload routes' [`Notify`]) and otherwise look every
//!   [`POLL_EVERY`].
//! - Shutdown cancels running transcodes; their jobs stay `running` in the
//!   database and so run again after the restart.
//! - Progress (percent and ETA) is written at most every [`PROGRESS_EVERY`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use packager::transcode::thumbnails::ThumbnailSpec;
use packager::transcode::LadderSpec;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::job::{self, JobError, JobOutput};
use super::metrics::VodMetrics;
use super::paths::asset_dir;
use crate::catalog::{AssetMedia, AssetStatus, Catalog, JobRecord};
use crate::webhooks::Webhooks;

/// Idle workers look for queued jobs this often even without a wake-up.
pub const POLL_EVERY: Duration = Duration::from_secs(5);
/// Progress is written to the database at most this often.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// What every worker needs.
#[derive(Clone)]
pub struct JobRunner {
    /// The catalog (jobs and assets).
    pub catalog: Catalog,
    /// `[storage] data_dir`.
    pub data_dir: PathBuf,
    /// The ladder VOD assets are encoded with.
    pub ladder: Arc<LadderSpec>,
    /// Thumbnail settings.
    pub thumbnails: Arc<ThumbnailSpec>,
    /// `vod.ready` / `vod.failed`.
    pub webhooks: Webhooks,
    /// Job metrics.
    pub metrics: VodMetrics,
    /// Woken when an upload completes.
    pub wake: Arc<Notify>,
    /// `[vod] job_concurrency`.
    pub concurrency: usize,
}

impl JobRunner {
    /// Requeues interrupted jobs, then starts the workers; they stop when `stop`
    /// turns true.
    pub async fn start(self, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        match self.catalog.requeue_running_jobs().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                jobs = n,
                "VOD jobs interrupted by the last shutdown queued again"
            ),
            Err(e) => tracing::error!(error = %e, "requeueing interrupted VOD jobs failed"),
        }
        (0..self.concurrency.max(1))
            .map(|worker| {
                let runner = self.clone();
                let stop = stop.clone();
                tokio::spawn(async move { runner.work(worker, stop).await })
            })
            .collect()
    }

    async fn work(self, worker: usize, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            match self.catalog.claim_job().await {
                Ok(Some(record)) => {
                    self.run_job(worker, record, stop.clone()).await;
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "claiming a VOD job failed"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL_EVERY) => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn run_job(&self, worker: usize, record: JobRecord, mut stop: watch::Receiver<bool>) {
        let asset = record.asset_id.clone();
        tracing::info!(worker, job = %record.id, %asset, attempt = record.attempts, "VOD job started");
        if let Err(e) = self
            .catalog
            .set_asset_status(&asset, AssetStatus::Processing, None)
            .await
        {
            tracing::error!(%asset, error = %e, "marking the asset processing failed");
        }
        let _running = crate::metrics::GaugeGuard::new(&self.metrics.jobs_running);
        let started = Instant::now();
        let cancel = Arc::new(AtomicBool::new(false));
        let (progress_tx, mut progress_rx) = watch::channel((0.0f64, None::<f64>));
        let thread = {
            let dir = asset_dir(&self.data_dir, &asset);
            let (ladder, thumbs, cancel) =
                (self.ladder.clone(), self.thumbnails.clone(), cancel.clone());
            let (done_tx, done_rx) = tokio::sync::oneshot::channel();
            let spawned = std::thread::Builder::new()
                .name(format!("vod-job-{worker}"))
                .spawn(move || {
                    let mut progress = |p: f64, eta: Option<f64>| {
                        let _ = progress_tx.send((p, eta));
                    };
                    let result = job::run(&dir, &ladder, &thumbs, &mut progress, &cancel);
                    let _ = done_tx.send(result);
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a VOD job thread");
                return;
            }
            done_rx
        };
        tokio::pin!(thread);
        let mut last_write = Instant::now() - PROGRESS_EVERY;
        let result = loop {
            tokio::select! {
                done = &mut thread => break done,
                changed = progress_rx.changed() => {
                    if changed.is_ok() && last_write.elapsed() >= PROGRESS_EVERY {
                        last_write = Instant::now();
                        let (percent, eta) = *progress_rx.borrow_and_update();
                        if let Err(e) = self.catalog.job_progress(&record.id, percent, eta).await {
                            tracing::warn!(job = %record.id, error = %e, "writing job progress failed");
                        }
                    }
                }
                _ = stop.changed() => {
                    // Shutdown: the transcode stops at its next frame.
                    cancel.store(true, Ordering::Relaxed);
                }
            }
        };
        let result = result.unwrap_or_else(|_| {
            Err(JobError::Write(std::io::Error::other(
                "the job thread panicked",
            )))
        });
        let elapsed = started.elapsed().as_secs_f64();
        match result {
            Ok(output) => self.succeeded(&record, output, elapsed).await,
            Err(e) if e.is_cancelled() => {
                tracing::info!(job = %record.id, %asset, "VOD job interrupted by shutdown; it runs again after the restart");
            }
            Err(e) => self.failed(&record, &e.to_string(), elapsed).await,
        }
    }

    async fn succeeded(&self, record: &JobRecord, output: JobOutput, elapsed: f64) {
        let asset = &record.asset_id;
        let summary = &output.summary;
        let media = AssetMedia {
            duration_s: Some(summary.duration_s),
            width: summary.resolution().map(|(w, _)| i64::from(w)),
            height: summary.resolution().map(|(_, h)| i64::from(h)),
            codecs: Some(summary.codecs().join(",")),
            renditions_json: Some(super::renditions_json(summary)),
        };
        let stored = async {
            self.catalog.update_asset_media(asset, media).await?;
            self.catalog
                .set_asset_status(asset, AssetStatus::Ready, None)
                .await?;
            self.catalog.finish_job(&record.id, true, None).await
        }
        .await;
        if let Err(e) = stored {
            tracing::error!(%asset, error = %e, "recording a finished VOD job failed");
            return;
        }
        self.metrics.jobs.with_label_values(&["ready"]).inc();
        self.metrics.transcode_seconds.observe(output.transcode_s);
        tracing::info!(
            job = %record.id, %asset, elapsed_s = elapsed, duration_s = summary.duration_s,
            renditions = summary.renditions.len(), thumbnails = output.thumbnails,
            "VOD asset ready"
        );
        super::emit_vod_event(&self.catalog, &self.webhooks, asset, None).await;
    }

    async fn failed(&self, record: &JobRecord, reason: &str, elapsed: f64) {
        let asset = &record.asset_id;
        tracing::warn!(job = %record.id, %asset, elapsed_s = elapsed, %reason, "VOD job failed");
        let stored = async {
            self.catalog
                .set_asset_status(asset, AssetStatus::Failed, Some(reason))
                .await?;
            self.catalog
                .finish_job(&record.id, false, Some(reason))
                .await
        }
        .await;
        if let Err(e) = stored {
            tracing::error!(%asset, error = %e, "recording a failed VOD job failed");
        }
        self.metrics.jobs.with_label_values(&["failed"]).inc();
        super::emit_vod_event(&self.catalog, &self.webhooks, asset, Some(reason)).await;
    }
}

//! Many viewers of one URL, and the one-call [`watch`] for tests.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use super::error::WhepError;
use super::options::{ReadMode, WhepOptions};
use super::stats::ViewerStats;
use super::viewer::WhepViewer;

/// WHEP POSTs in flight at once while a [`Viewers`] set starts.
pub const DEFAULT_CONCURRENT_POSTS: usize = 16;

/// Watches `url` for `duration` with default options (video + audio) and
/// returns the counters; the session is DELETEd at the end. Fails if the POST
/// is refused or ICE + DTLS do not complete within the connect timeout.
pub async fn watch(url: &str, duration: Duration) -> Result<ViewerStats, WhepError> {
    watch_with(url, duration, &WhepOptions::default()).await
}

/// [`watch`] with options.
pub async fn watch_with(
    url: &str,
    duration: Duration,
    opts: &WhepOptions,
) -> Result<ViewerStats, WhepError> {
    let viewer = WhepViewer::connect(url, opts).await?;
    viewer.wait_connected(opts.connect_timeout).await?;
    tokio::time::sleep(duration).await;
    let (stats, _) = viewer.close().await;
    Ok(stats)
}

/// A set of viewers of one URL.
#[derive(Debug, Default)]
pub struct Viewers {
    viewers: Vec<WhepViewer>,
    failures: Vec<WhepError>,
}

impl Viewers {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` viewers of `url`, with at most `concurrent` POSTs in flight.
    /// Returns how many started; the others' errors are in
    /// [`Viewers::failures`].
    pub async fn add(
        &mut self,
        url: &str,
        n: usize,
        opts: &WhepOptions,
        concurrent: usize,
    ) -> usize {
        let results: Vec<Result<WhepViewer, WhepError>> = stream::iter(0..n)
            .map(|_| WhepViewer::connect(url, opts))
            .buffer_unordered(concurrent.max(1))
            .collect()
            .await;
        let mut ok = 0;
        for r in results {
            match r {
                Ok(v) => {
                    self.viewers.push(v);
                    ok += 1;
                }
                Err(e) => self.failures.push(e),
            }
        }
        ok
    }

    /// Starts `n` viewers of `url` ([`Viewers::add`] with
    /// [`DEFAULT_CONCURRENT_POSTS`]).
    pub async fn start(url: &str, n: usize, opts: &WhepOptions) -> Self {
        let mut v = Viewers::new();
        v.add(url, n, opts, DEFAULT_CONCURRENT_POSTS).await;
        v
    }

    /// Waits up to `limit` for every viewer to connect; returns how many did.
    pub async fn wait_connected(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        let mut n = 0;
        for v in &self.viewers {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if v.wait_connected(left).await.is_ok() {
                n += 1;
            }
        }
        n
    }

    /// The viewers.
    pub fn viewers(&self) -> &[WhepViewer] {
        &self.viewers
    }

    /// Viewers that are running.
    pub fn len(&self) -> usize {
        self.viewers.len()
    }

    /// Whether no viewer runs.
    pub fn is_empty(&self) -> bool {
        self.viewers.is_empty()
    }

    /// Why viewers could not start.
    pub fn failures(&self) -> &[WhepError] {
        &self.failures
    }

    /// Every viewer's counters now.
    pub fn stats(&self) -> Vec<ViewerStats> {
        self.viewers.iter().map(WhepViewer::stats).collect()
    }

    /// Sets every viewer's read mode.
    pub fn set_mode(&self, mode: ReadMode) {
        for v in &self.viewers {
            v.set_mode(mode);
        }
    }

    /// DELETEs every session (at most `concurrent` at once) and stops every
    /// viewer; returns the final counters.
    pub async fn close(self, concurrent: usize) -> Vec<ViewerStats> {
        stream::iter(self.viewers)
            .map(|v| async move { v.close().await.0 })
            .buffered(concurrent.max(1))
            .collect()
            .await
    }
}

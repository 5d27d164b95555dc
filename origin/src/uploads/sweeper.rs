//! Deletes expired uploads ("Expiration"): unfinished ones with their partial file,
//! completed ones' records (their asset stays), and orphaned partial files without
//! a record (a crash between the two writes of a creation).
//!
//! It runs every [`sweep_interval`] and never waits for an upload in use: a busy
//! upload is looked at again next time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::Uploads;
use crate::clock::now_ms;

/// Longest time between two sweeps.
pub const MAX_SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// Shortest time between two sweeps.
pub const MIN_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// How often to sweep for uploads that expire `expire` after their last write: a
/// quarter of that, within [`MIN_SWEEP_INTERVAL`]..=[`MAX_SWEEP_INTERVAL`].
pub fn sweep_interval(expire: Duration) -> Duration {
    (expire / 4).clamp(MIN_SWEEP_INTERVAL, MAX_SWEEP_INTERVAL)
}

impl Uploads {
    /// Starts the sweeper; it ends when `stop` turns true.
    pub fn start_sweeper(
        self: &Arc<Self>,
        mut stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let uploads = self.clone();
        tokio::spawn(async move {
            let every = sweep_interval(uploads.expire);
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                match uploads.sweep(now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "expired uploads deleted"),
                    Err(e) => tracing::warn!(error = %e, "cannot sweep the uploads directory"),
                }
            }
        })
    }

    /// One sweep at `now_ms`; how many uploads were deleted.
    pub async fn sweep(&self, now_ms: u64) -> std::io::Result<usize> {
        let mut removed = 0;
        for id in self.store.list().await? {
            let Some(guard) = self.store.try_lock(&id) else {
                continue;
            };
            let gone = match self.store.read(&guard).await {
                Ok(Some((info, _))) => {
                    let due = info.expires_ms <= now_ms;
                    if due && info.asset.is_none() {
                        self.metrics.failed.with_label_values(&["expired"]).inc();
                    }
                    due
                }
                // No record (or an unreadable one): by the partial file's age.
                Ok(None) | Err(_) => self
                    .store
                    .part_age(&id)
                    .await
                    .is_none_or(|age| age >= self.expire),
            };
            if gone {
                self.store.remove(&guard).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_a_quarter_of_the_expiry_within_bounds() {
        assert_eq!(
            sweep_interval(Duration::from_secs(86_400)),
            MAX_SWEEP_INTERVAL
        );
        assert_eq!(
            sweep_interval(Duration::from_secs(20)),
            Duration::from_secs(5)
        );
        assert_eq!(sweep_interval(Duration::from_secs(1)), MIN_SWEEP_INTERVAL);
    }
}

//! Reloading the `[tls]` files: on SIGHUP, and when a file changes on disk.
//!
//! [`Reloader::reload`] reads every file again and swaps the new certificates into
//! the shared [`ReloadableResolver`] only when all of them loaded (see
//! [`super::files`]); a failure is logged with the file and the reason, counted as
//! `ferrocast_tls_reloads_total{result="error"}`, and the node keeps serving what it
//! had. [`Reloader::run`] is the task: it waits for SIGHUP or the next check of the
//! files' stamps, whichever comes first, until `stop`. A reload that failed after a
//! change is tried once more at the next check (a file caught mid-write), then not
//! again until the files change: a broken file is not re-reported every few
//! seconds.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::files::{load_resolver, watched_paths, FileStamps};
use super::{ReloadableResolver, TlsError, TlsMetrics, TlsSection};

/// Reloads one node's certificate files; see the module docs.
#[derive(Debug)]
pub struct Reloader {
    section: TlsSection,
    paths: Vec<PathBuf>,
    resolver: Arc<ReloadableResolver>,
    metrics: TlsMetrics,
}

impl Reloader {
    /// A reloader for the files of `section`, swapping into `resolver`.
    pub fn new(
        section: TlsSection,
        resolver: Arc<ReloadableResolver>,
        metrics: TlsMetrics,
    ) -> Self {
        let paths = watched_paths(&section);
        Self {
            section,
            paths,
            resolver,
            metrics,
        }
    }

    /// Reads the files again; on success the new certificates serve every new
    /// handshake, on failure nothing changes.
    pub fn reload(&self, why: &str) -> Result<(), TlsError> {
        let result = load_resolver(&self.section).and_then(|r| {
            r.map(|r| self.resolver.replace_files(r))
                .ok_or(TlsError::NothingToReload)
        });
        self.metrics.reload(result.is_ok());
        match &result {
            Ok(()) => tracing::info!("[tls] certificates reloaded ({why})"),
            Err(e) => tracing::error!(
                "[tls] reload ({why}) failed, still serving the previous certificates: {e}"
            ),
        }
        result
    }

    /// Runs until `stop` turns true: SIGHUP reloads at once; every
    /// `[tls] reload_check_s` (0: never) the files' sizes and modification times are
    /// compared with the last look, and a difference reloads.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut hangup = hangup_signal();
        let every = Duration::from_secs(self.section.reload_check_s.max(1));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stamps = FileStamps::read(&self.paths);
        let mut settle = false;
        loop {
            tokio::select! {
                _ = stop.changed() => if *stop.borrow() { return },
                Some(()) = recv(&mut hangup) => {
                    stamps = FileStamps::read(&self.paths);
                    let _ = self.reload("SIGHUP");
                }
                _ = ticks.tick(), if self.section.reload_check_s > 0 => {
                    let now = FileStamps::read(&self.paths);
                    if now != stamps {
                        stamps = now;
                        // A failure may be a file caught mid-write whose last write
                        // kept its size and mtime: look once more at the next tick.
                        settle = self.reload("a file changed").is_err();
                    } else if std::mem::take(&mut settle) {
                        let _ = self.reload("retry after a failed reload");
                    }
                }
            }
        }
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("cannot listen for SIGHUP ({e}); [tls] reloads on file changes only");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangup_signal() -> Hangup {
    None
}

/// The next SIGHUP; never resolves without a handler.
async fn recv(hangup: &mut Hangup) -> Option<()> {
    #[cfg(unix)]
    if let Some(s) = hangup {
        return s.recv().await;
    }
    let _ = hangup;
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn write_pair(cert: &Path, key: &Path, name: &str) {
        let ck = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
        std::fs::write(cert, ck.cert.pem()).unwrap();
        std::fs::write(key, ck.key_pair.serialize_pem()).unwrap();
    }

    #[test]
    fn a_bad_reload_keeps_the_previous_certificate_and_counts_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        write_pair(&cert, &key, "one.test");
        let section = TlsSection {
            cert: Some(cert.clone()),
            key: Some(key.clone()),
            ..TlsSection::default()
        };
        let resolver = Arc::new(ReloadableResolver::new(load_resolver(&section).unwrap()));
        let first = resolver.pick(None, false).unwrap();
        let metrics = TlsMetrics::unregistered();
        let reloader = Reloader::new(section, resolver.clone(), metrics.clone());

        write_pair(&cert, &key, "two.test");
        reloader.reload("test").unwrap();
        let second = resolver.pick(None, false).unwrap();
        assert_ne!(first.cert, second.cert);

        std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\ngarbage\n").unwrap();
        assert!(reloader.reload("test").is_err());
        assert_eq!(resolver.pick(None, false).unwrap().cert, second.cert);

        // A key that belongs to another certificate is refused as well.
        let other = rcgen::generate_simple_self_signed(vec!["x.test".into()]).unwrap();
        write_pair(&cert, &dir.path().join("unused.pem"), "three.test");
        std::fs::write(&key, other.key_pair.serialize_pem()).unwrap();
        assert!(reloader.reload("test").is_err());
        assert_eq!(resolver.pick(None, false).unwrap().cert, second.cert);
        assert_eq!((metrics.reloads(true), metrics.reloads(false)), (1, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_changed_file_is_reloaded_at_the_next_check() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        write_pair(&cert, &key, "one.test");
        let section = TlsSection {
            cert: Some(cert.clone()),
            key: Some(key.clone()),
            reload_check_s: 5,
            ..TlsSection::default()
        };
        let resolver = Arc::new(ReloadableResolver::new(load_resolver(&section).unwrap()));
        let first = resolver.pick(None, false).unwrap();
        let metrics = TlsMetrics::unregistered();
        let (stop_tx, stop_rx) = watch::channel(false);
        let task =
            tokio::spawn(Reloader::new(section, resolver.clone(), metrics.clone()).run(stop_rx));
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert_eq!(metrics.reloads(true), 0, "unchanged files are not reloaded");
        write_pair(&cert, &key, "two.test");
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(metrics.reloads(true), 1);
        assert_ne!(resolver.pick(None, false).unwrap().cert, first.cert);

        // A broken file: one error at the change, one retry, then quiet.
        std::fs::write(&cert, "garbage").unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(metrics.reloads(false), 1);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(metrics.reloads(false), 2, "retried once");
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(metrics.reloads(false), 2, "not re-reported while unchanged");
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }
}

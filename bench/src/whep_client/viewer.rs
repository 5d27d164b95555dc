//! One viewer on tokio: its own UDP socket, the WHEP POST, and a task that
//! moves datagrams and timers between the socket and its [`Session`].
//!
//! The task publishes a copy of the [`ViewerStats`] on a `watch` channel at
//! most every [`PUBLISH_EVERY`] and at once on a milestone (connected, first
//! frame, first key frame, end), so [`WhepViewer::stats`] costs the reader a
//! clone and the task no locking per datagram. A per-viewer task (not one task
//! polling every socket) lets tokio wake only the viewers that have input; on a
//! `current_thread` runtime they all share one thread.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, Instant};

use super::error::WhepError;
use super::http::{self, HttpUrl};
use super::options::{ReadMode, WhepOptions};
use super::session::Session;
use super::stats::ViewerStats;

/// Longest gap between two stats copies while media flows.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(50);

/// Largest datagram read (str0m's MTU is 1150–1500; leave room).
const DATAGRAM_MAX: usize = 2048;

/// Datagrams read back to back before polling timers again.
const READ_BURST: usize = 64;

/// What the handle tells the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Run(ReadMode),
    /// Close cleanly (RTCP BYE, DTLS close_notify) and stop.
    Close,
    /// Stop at once, sending nothing.
    Abort,
}

/// A running WHEP viewer. Dropping it aborts its task without a DELETE.
#[derive(Debug)]
pub struct WhepViewer {
    session_url: String,
    bearer: Option<String>,
    stats: watch::Receiver<ViewerStats>,
    control: watch::Sender<Control>,
    task: Option<JoinHandle<()>>,
}

impl WhepViewer {
    /// Binds a socket, POSTs the offer to `url` (`http://host:port/whep/{channel}`,
    /// optionally with a `/t/{token}` prefix), applies the answer and starts the
    /// task. Returns once the answer is applied; ICE and DTLS continue in the
    /// background ([`WhepViewer::wait_connected`]).
    pub async fn connect(url: &str, opts: &WhepOptions) -> Result<Self, WhepError> {
        let url = HttpUrl::parse(url)?;
        let socket = UdpSocket::bind(SocketAddr::new(opts.bind, 0)).await?;
        if let Some(bytes) = opts.recv_buffer {
            rustix::net::sockopt::set_socket_recv_buffer_size(&socket, bytes)
                .map_err(std::io::Error::from)?;
        }
        let local = socket.local_addr()?;
        let (mut session, offer) = Session::new(opts, local, Instant::now().into_std())?;
        let (answer, session_url) = timeout(
            opts.connect_timeout,
            http::post_offer(&url, opts.bearer.as_deref(), offer),
        )
        .await
        .map_err(|_| WhepError::Timeout(opts.connect_timeout, "the WHEP answer"))??;
        session.accept_answer(&answer, Instant::now().into_std())?;
        let (stats_tx, stats) = watch::channel(session.stats().clone());
        let (control, control_rx) = watch::channel(Control::Run(opts.mode));
        let task = tokio::spawn(drive(socket, session, stats_tx, control_rx));
        Ok(WhepViewer {
            session_url,
            bearer: opts.bearer.clone(),
            stats,
            control,
            task: Some(task),
        })
    }

    /// The session URL (the answer's `Location`, made absolute).
    pub fn session_url(&self) -> &str {
        &self.session_url
    }

    /// A copy of the counters (at most [`PUBLISH_EVERY`] old).
    pub fn stats(&self) -> ViewerStats {
        self.stats.borrow().clone()
    }

    /// Switches between normal, slow and vanished reading.
    pub fn set_mode(&self, mode: ReadMode) {
        self.control.send_replace(Control::Run(mode));
    }

    /// Waits until ICE and DTLS completed; returns the time it took.
    pub async fn wait_connected(&self, limit: Duration) -> Result<Duration, WhepError> {
        self.wait_for(limit, "ICE + DTLS", |s| s.connected_after)
            .await
    }

    /// Waits for the first H.264 key frame; returns the time to it.
    pub async fn wait_key_frame(&self, limit: Duration) -> Result<Duration, WhepError> {
        self.wait_for(limit, "a key frame", |s| s.first_key_frame_after)
            .await
    }

    /// Waits until the session ended (e.g. the server reaped or closed it);
    /// returns why.
    pub async fn wait_ended(&self, limit: Duration) -> Result<String, WhepError> {
        let mut rx = self.stats.clone();
        let r = timeout(limit, rx.wait_for(|s| s.ended.is_some())).await;
        match r {
            Ok(Ok(s)) => Ok(s.ended.clone().unwrap_or_default()),
            Ok(Err(_)) => Ok("task stopped".into()),
            Err(_) => Err(WhepError::Timeout(limit, "the session to end")),
        }
    }

    async fn wait_for(
        &self,
        limit: Duration,
        what: &'static str,
        f: impl Fn(&ViewerStats) -> Option<Duration>,
    ) -> Result<Duration, WhepError> {
        let mut rx = self.stats.clone();
        let r = timeout(limit, rx.wait_for(|s| f(s).is_some() || s.ended.is_some())).await;
        match r {
            Ok(Ok(s)) => match (f(&s), &s.ended) {
                (Some(d), _) => Ok(d),
                (None, Some(why)) => Err(WhepError::Ended(why.clone())),
                (None, None) => Err(WhepError::Ended("task stopped".into())),
            },
            Ok(Err(_)) => Err(WhepError::Ended("task stopped".into())),
            Err(_) => Err(WhepError::Timeout(limit, what)),
        }
    }

    /// `DELETE`s the session URL; returns the status (200, or 404 when the
    /// server no longer knows it). The media task keeps running.
    pub async fn delete(&self) -> Result<u16, WhepError> {
        http::delete(&self.session_url, self.bearer.as_deref()).await
    }

    /// Closes the WebRTC session cleanly (RTCP BYE, DTLS close_notify) without
    /// a DELETE, stops the task and returns the final counters.
    pub async fn stop(mut self) -> ViewerStats {
        self.control.send_replace(Control::Close);
        self.join().await
    }

    /// Stops the task at once, sending nothing more (the server only learns by
    /// consent checks failing); returns the final counters.
    pub async fn abort(mut self) -> ViewerStats {
        self.control.send_replace(Control::Abort);
        self.join().await
    }

    /// `DELETE`s the session, then [`WhepViewer::stop`]s; returns the counters
    /// and the DELETE's status.
    pub async fn close(self) -> (ViewerStats, Result<u16, WhepError>) {
        let status = self.delete().await;
        (self.stop().await, status)
    }

    async fn join(&mut self) -> ViewerStats {
        if let Some(task) = self.task.take() {
            if timeout(Duration::from_secs(2), task).await.is_err() {
                // The abort in Drop ends it.
            }
        }
        self.stats()
    }
}

impl Drop for WhepViewer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Token bucket for [`ReadMode::Slow`].
struct Pace {
    next: Instant,
}

async fn drive(
    socket: UdpSocket,
    mut session: Session,
    stats: watch::Sender<ViewerStats>,
    mut control: watch::Receiver<Control>,
) {
    let mut buf = vec![0u8; DATAGRAM_MAX];
    let mut published = Instant::now();
    let mut pace = Pace {
        next: Instant::now(),
    };
    let mut closing = false;
    loop {
        let deadline = session.poll(|dst, data| {
            // A full send buffer or an unroutable candidate pair: the datagram
            // is lost, as it would be on a network.
            let _ = socket.try_send_to(data, dst);
        });
        let now = Instant::now();
        if session.take_milestones().changed || now - published >= PUBLISH_EVERY {
            stats.send_replace(session.stats().clone());
            published = now;
        }
        if !session.is_alive() {
            break;
        }
        let mode = match *control.borrow_and_update() {
            Control::Run(m) => m,
            Control::Close if !closing => {
                closing = true;
                session.close();
                continue;
            }
            Control::Close => ReadMode::Normal,
            Control::Abort => break,
        };
        let deadline = Instant::from_std(deadline);
        match mode {
            ReadMode::Vanished => {
                // No reads, no timers: wait for another mode.
                if control.changed().await.is_err() {
                    break;
                }
                // Restart the slow-read pacing from now.
                pace.next = Instant::now();
            }
            ReadMode::Normal | ReadMode::Slow { .. } => {
                let wait_read = match mode {
                    ReadMode::Slow { .. } => pace.next > Instant::now(),
                    _ => false,
                };
                tokio::select! {
                    r = socket.recv_from(&mut buf), if !wait_read => {
                        if let Ok((n, src)) = r {
                            let now = Instant::now().into_std();
                            session.handle_datagram(now, src, &buf[..n]);
                            let mut budget = match mode {
                                ReadMode::Slow { per_s } => {
                                    pace.next += Duration::from_secs(1) / per_s.max(1);
                                    pace.next = pace.next.max(Instant::now() - Duration::from_millis(100));
                                    0
                                }
                                _ => READ_BURST,
                            };
                            while budget > 0 {
                                budget -= 1;
                                match socket.try_recv_from(&mut buf) {
                                    Ok((n, src)) => {
                                        let now = Instant::now().into_std();
                                        session.handle_datagram(now, src, &buf[..n]);
                                        // Drain what this datagram produced
                                        // (NACKs, STUN answers) before the next.
                                        let _ = session.poll(|dst, data| {
                                            let _ = socket.try_send_to(data, dst);
                                        });
                                    }
                                    Err(_) => break,
                                }
                            }
                        }
                    }
                    _ = sleep_until(pace.next), if wait_read => {}
                    _ = sleep_until(deadline) => {
                        session.handle_timeout(Instant::now().into_std());
                    }
                    r = control.changed() => {
                        if r.is_err() {
                            break;
                        }
                    }
                }
            }
        }
    }
    stats.send_replace(session.stats().clone());
}

//! The SRT listener's own thread and single-threaded runtime.
//!
//! Each SRT message crosses three tasks (srt-tokio's listener task, its
//! per-connection task, and ours, see [`super::listener`]). On the origin's
//! work-stealing runtime every hop may wake another worker thread; on one
//! thread it is a queue push. Measured with 20 publishers (docs/benchmarks.md
//! §11): about a quarter less origin CPU per SRT stream. One thread carries a few
//! hundred 4 Mbit/s publishers (about 0.5 % of a core each).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::watch;

use super::listener::{serve_srt, SrtOptions};
use crate::publish::PublishHandler;

/// Starts [`serve_srt`] on a new thread named `srt-ingest`, with its own
/// single-threaded runtime; the thread ends when `shutdown` becomes `true` or
/// when the first bind fails (logged here, with the address).
pub fn spawn_srt_thread(
    addr: SocketAddr,
    options: SrtOptions,
    handler: Arc<dyn PublishHandler>,
    shutdown: watch::Receiver<bool>,
) -> io::Result<JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("srt-ingest".into())
        .spawn(move || {
            if let Err(e) = runtime.block_on(serve_srt(addr, options, handler, shutdown)) {
                tracing::error!(%addr, "srt: cannot listen on [srt] listen = {addr}: {e}");
            }
        })
}

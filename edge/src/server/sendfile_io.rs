//! `sendfile(2)` for disk-tier hits on plain-TCP connections.
//!
//! With `[cache.disk] zero_copy = true` a disk hit's body is a [`bytes::Bytes`] that
//! borrows the store file's read-only mapping ([`cache::disk::mapped`]); with
//! `[cache.disk] sendfile = true` too ([`ServerOptions::sendfile`](super::ServerOptions::sendfile)),
//! plain-TCP connections go through this layer. hyper's
//! HTTP/1.1 encoder, over an I/O that reports `is_write_vectored()`, queues a
//! content-length body's `Bytes` as it is and hands it to `poll_write_vectored`
//! behind the response head; [`super::corked_io`] passes writes of
//! [`CORK_BYTES`](super::corked_io::CORK_BYTES) or more straight through. So this
//! layer, directly around the [`TcpStream`], sees the mapped slice itself.
//!
//! For each vectored write it looks for a slice of at least [`MIN_SENDFILE_BYTES`]
//! that lies inside a store mapping ([`cache::disk::mapped::store_slice`]: an
//! address comparison, no dereference). If there is one, the slices before it (the
//! head) go out with `sendmsg(…, MSG_MORE)` and the slice itself with
//! `sendfile(socket, store_fd, &offset, len)`, which moves page-cache pages into
//! the socket without a user-space copy (sendfile(2): "copying is done within the
//! kernel"). Slices after it wait for the next call. Otherwise the write is an
//! ordinary `writev`. The return value counts the bytes consumed across the
//! slices, as `poll_write_vectored` must; a short `sendmsg` or `sendfile` is a
//! short write, and `EAGAIN` goes through tokio's readiness (`try_io`).
//!
//! Never used under TLS: the kernel would send plaintext (no kTLS here). HTTP/2
//! frames are smaller than the cork and never reach this layer as mapped slices.

use std::io::{self, IoSlice};
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use cache::disk::mapped::{store_slice, StoreSlice};
use prometheus::IntCounter;
use rustix::net::{SendAncillaryBuffer, SendFlags};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// Mapped slices shorter than this are written (copied) with the rest: `sendfile`
/// costs a second system call after the head's `sendmsg`.
pub(crate) const MIN_SENDFILE_BYTES: usize = 64 * 1024;

/// Linux transfers at most this many bytes per `sendfile` call (sendfile(2), NOTES).
const MAX_SENDFILE_BYTES: usize = 0x7fff_f000;

/// How one vectored write goes out.
#[derive(Debug)]
pub(crate) enum Plan {
    /// No mapped slice worth sending from the file: `writev` everything.
    Writev,
    /// `sendmsg` the first `head` slices, then `sendfile` `len` bytes from `at`.
    Sendfile {
        head: usize,
        at: StoreSlice,
        len: usize,
    },
}

/// The plan for `bufs`: the first slice of at least [`MIN_SENDFILE_BYTES`] that lies
/// in a store mapping is sent from the file.
pub(crate) fn plan(bufs: &[IoSlice<'_>]) -> Plan {
    for (head, buf) in bufs.iter().enumerate() {
        if buf.len() < MIN_SENDFILE_BYTES {
            continue;
        }
        if let Some(at) = store_slice(buf) {
            return Plan::Sendfile {
                head,
                at,
                len: buf.len(),
            };
        }
    }
    Plan::Writev
}

/// A plain TCP stream whose writes of mapped store slices use `sendfile(2)`.
pub(crate) struct SendfileIo {
    tcp: TcpStream,
    /// `ferrocast_http_sendfile_bytes_total`.
    sent: IntCounter,
}

impl SendfileIo {
    pub(crate) fn new(tcp: TcpStream, sent: IntCounter) -> Self {
        Self { tcp, sent }
    }
}

/// One attempt: the head with `MSG_MORE` (the body follows at once), then the file
/// range. Returns the bytes consumed; `WouldBlock` only if nothing was.
fn send_head_then_file(
    tcp: &TcpStream,
    head: &[IoSlice<'_>],
    at: &StoreSlice,
    len: usize,
) -> io::Result<usize> {
    let head_len: usize = head.iter().map(|b| b.len()).sum();
    let mut sent = 0;
    if head_len > 0 {
        sent = rustix::net::sendmsg(
            tcp.as_fd(),
            head,
            &mut SendAncillaryBuffer::default(),
            SendFlags::MORE | SendFlags::NOSIGNAL,
        )?;
        if sent < head_len {
            return Ok(sent);
        }
    }
    let mut offset = at.offset;
    match rustix::fs::sendfile(
        tcp.as_fd(),
        &*at.file,
        Some(&mut offset),
        len.min(MAX_SENDFILE_BYTES),
    ) {
        Ok(n) => Ok(sent + n),
        // The head is out: report it; the error (or EAGAIN) recurs on the next call.
        Err(_) if sent > 0 => Ok(sent),
        Err(e) => Err(e.into()),
    }
}

impl AsyncRead for SendfileIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let Plan::Sendfile { head, at, len } = plan(bufs) else {
            return Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        };
        let head_len: usize = bufs[..head].iter().map(|b| b.len()).sum();
        loop {
            ready!(self.tcp.poll_write_ready(cx))?;
            let tcp = &self.tcp;
            match tcp.try_io(Interest::WRITABLE, || {
                send_head_then_file(tcp, &bufs[..head], &at, len)
            }) {
                Ok(n) => {
                    self.sent.inc_by(n.saturating_sub(head_len) as u64);
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use cache::disk::{DiskConfig, DiskTier};
    use cache::{CachedObject, ObjectMeta};

    use super::*;

    fn tier(dir: &std::path::Path, zero_copy: bool) -> DiskTier {
        DiskTier::open(&DiskConfig {
            zero_copy,
            ..DiskConfig::new(dir, 64 << 20)
        })
        .unwrap()
    }

    fn object(len: usize) -> CachedObject {
        CachedObject {
            meta: Arc::new(ObjectMeta {
                status: 200,
                headers: vec![],
                stored_at_ms: 0,
                fresh_until_ms: u64::MAX / 2,
                stale_while_revalidate_ms: 0,
                stale_if_error_ms: 0,
            }),
            body: (0..len)
                .map(|i| (i % 251) as u8)
                .collect::<Vec<u8>>()
                .into(),
        }
    }

    #[test]
    fn a_mapped_body_is_sent_from_its_file_offset_and_heap_bytes_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let disk = tier(dir.path(), true);
        let original = object(300_000);
        assert!(disk.put("k", &original).unwrap());
        let hit = disk.get("k", 1).unwrap().unwrap();
        assert_eq!(hit.body, original.body);

        let head = b"HTTP/1.1 200 OK\r\n\r\n";
        let heap = Bytes::from(vec![7u8; 300_000]);
        let bufs = [IoSlice::new(head), IoSlice::new(&hit.body)];
        let Plan::Sendfile { head: n, at, len } = plan(&bufs) else {
            panic!("the mapped body was not recognised");
        };
        assert_eq!((n, len), (1, hit.body.len()));
        // The offset names the body's bytes in the store file.
        let mut from_file = vec![0u8; len];
        std::os::unix::fs::FileExt::read_exact_at(&*at.file, &mut from_file, at.offset).unwrap();
        assert_eq!(from_file, hit.body);

        // A slice in the middle of the body maps to the matching offset.
        let tail = hit.body.slice(100_000..);
        let Plan::Sendfile {
            head: 0, at: at2, ..
        } = plan(&[IoSlice::new(&tail)])
        else {
            panic!("a sub-slice of the mapping was not recognised");
        };
        assert_eq!(at2.offset, at.offset + 100_000);

        // Heap bytes, short mapped slices and empty writes are plain writes.
        assert!(matches!(
            plan(&[IoSlice::new(head), IoSlice::new(&heap)]),
            Plan::Writev
        ));
        let short = hit.body.slice(..MIN_SENDFILE_BYTES - 1);
        assert!(matches!(plan(&[IoSlice::new(&short)]), Plan::Writev));
        assert!(matches!(plan(&[]), Plan::Writev));
    }

    #[test]
    fn copied_hits_are_never_sent_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let disk = tier(dir.path(), false);
        assert!(disk.put("k", &object(300_000)).unwrap());
        let hit = disk.get("k", 1).unwrap().unwrap();
        assert!(matches!(plan(&[IoSlice::new(&hit.body)]), Plan::Writev));
    }
}

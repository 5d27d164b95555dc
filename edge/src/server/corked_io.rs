//! Write coalescing ("corking") between hyper and the socket.
//!
//! The h2 crate writes one DATA frame per `writev` and flushes after each: its
//! encoder holds at most one chained payload (`FramedWrite::has_capacity`), and the
//! peer's `SETTINGS_MAX_FRAME_SIZE` is 16 KiB unless the client raises it (RFC 9113
//! §4.2, §6.5.2; browsers and h2load do not). A 2 MB segment over HTTP/2 thus took
//! ~122 system calls, each paying the TCP send path and a wake-up of the reader.
//!
//! [`CorkedIo`] sits under hyper and collects small writes in a buffer of up to
//! [`CORK_BYTES`]; hyper's `poll_flush` leaves them there. [`Corked`], the future that
//! drives the hyper connection, writes the buffer out every time the connection
//! yields — so bytes wait at most until the end of the poll that produced them, and
//! a response goes out in a few large writes. The cost is one user-space copy of the
//! corked bytes; a write that is large on its own (an HTTP/1.1 head plus a whole
//! cached body, one `writev`) bypasses the buffer when it is empty.
//!
//! The buffer is released whenever a drain empties it, so idle connections hold none.
//! When the driver is dropped while the I/O lives on (an HTTP/1.1 upgrade hands it to
//! a WebSocket), the wrapper stops corking: writes pass through, flushes drain.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// At most this many bytes are held back. Eight 16 KiB DATA frames and their headers.
pub(crate) const CORK_BYTES: usize = 128 * 1024 + 8 * 9;

struct Shared<I> {
    io: I,
    buf: Vec<u8>,
    /// Bytes of `buf` already written.
    written: usize,
    /// A drain failed: every later write reports it, so hyper ends the connection.
    failed: Option<io::ErrorKind>,
    /// [`Corked`] is gone (the connection was upgraded, e.g. to a WebSocket, and
    /// its new owner writes directly): writes pass through and flushes drain.
    uncorked: bool,
}

impl<I: AsyncWrite + Unpin> Shared<I> {
    fn pending(&self) -> usize {
        self.buf.len() - self.written
    }

    /// Writes the buffer out; `Ready(Ok)` once it is empty (and released).
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(kind) = self.failed {
            return Poll::Ready(Err(kind.into()));
        }
        while self.pending() > 0 {
            match ready!(Pin::new(&mut self.io).poll_write(cx, &self.buf[self.written..])) {
                Ok(0) => return Poll::Ready(Err(self.fail(io::ErrorKind::WriteZero))),
                Ok(n) => self.written += n,
                Err(e) => return Poll::Ready(Err(self.fail(e.kind()))),
            }
        }
        self.buf = Vec::new();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    fn fail(&mut self, kind: io::ErrorKind) -> io::Error {
        self.failed = Some(kind);
        self.buf = Vec::new();
        self.written = 0;
        kind.into()
    }
}

/// The I/O half hyper owns; see the module docs.
pub(crate) struct CorkedIo<I> {
    shared: Arc<Mutex<Shared<I>>>,
}

/// The drain half [`Corked`] owns.
pub(crate) struct Cork<I> {
    shared: Arc<Mutex<Shared<I>>>,
}

/// Splits `io` into the corked I/O for hyper and the handle that drains it.
pub(crate) fn cork<I>(io: I) -> (CorkedIo<I>, Cork<I>) {
    let shared = Arc::new(Mutex::new(Shared {
        io,
        buf: Vec::new(),
        written: 0,
        failed: None,
        uncorked: false,
    }));
    (
        CorkedIo {
            shared: shared.clone(),
        },
        Cork { shared },
    )
}

fn lock<I>(shared: &Mutex<Shared<I>>) -> MutexGuard<'_, Shared<I>> {
    // Nothing panics while holding the lock with the state half-updated.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<I: AsyncRead + Unpin> AsyncRead for CorkedIo<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut lock(&self.shared).io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for CorkedIo<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut shared = lock(&self.shared);
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if shared.uncorked {
            ready!(shared.poll_drain(cx))?;
            return Pin::new(&mut shared.io).poll_write_vectored(cx, bufs);
        }
        if shared.pending() + total > CORK_BYTES {
            // Full: make room first. A write this large on its own goes straight out.
            ready!(shared.poll_drain(cx))?;
            if total >= CORK_BYTES {
                return Pin::new(&mut shared.io).poll_write_vectored(cx, bufs);
            }
        } else if let Some(kind) = shared.failed {
            return Poll::Ready(Err(kind.into()));
        }
        if shared.buf.is_empty() && total >= 4096 {
            // Frames of a large body follow: one allocation for the whole batch.
            shared.buf.reserve(CORK_BYTES);
        }
        for b in bufs {
            shared.buf.extend_from_slice(b);
        }
        Poll::Ready(Ok(total))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Leaves the corked bytes for [`Corked`] to write when the connection yields.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut shared = lock(&self.shared);
        if let Some(kind) = shared.failed {
            return Poll::Ready(Err(kind.into()));
        }
        if shared.pending() > 0 && !shared.uncorked {
            return Poll::Ready(Ok(()));
        }
        ready!(shared.poll_drain(cx))?;
        Pin::new(&mut shared.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut shared = lock(&self.shared);
        ready!(shared.poll_drain(cx))?;
        Pin::new(&mut shared.io).poll_shutdown(cx)
    }
}

/// Drives `conn` (the hyper connection over a [`CorkedIo`]) and writes out what it
/// corked each time it yields. Resolves with `conn`'s result once that is out too.
pub(crate) struct Corked<F: Future, I> {
    conn: Pin<Box<F>>,
    cork: Cork<I>,
    done: Option<F::Output>,
}

impl<F: Future, I> Corked<F, I> {
    pub(crate) fn new(conn: F, cork: Cork<I>) -> Self {
        Self {
            conn: Box::pin(conn),
            cork,
            done: None,
        }
    }

    /// The hyper connection, e.g. to ask it for a graceful shutdown.
    pub(crate) fn conn(&mut self) -> Pin<&mut F> {
        self.conn.as_mut()
    }
}

impl<F: Future, I> Drop for Corked<F, I> {
    fn drop(&mut self) {
        // Whoever still holds the I/O (an upgraded connection) writes on its own.
        lock(&self.cork.shared).uncorked = true;
    }
}

impl<F, I> Future for Corked<F, I>
where
    F: Future,
    F::Output: Unpin,
    I: AsyncWrite + Unpin,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        if this.done.is_none() {
            if let Poll::Ready(out) = this.conn.as_mut().poll(cx) {
                this.done = Some(out);
            }
        }
        // A failed drain is remembered in `Shared` and ends the connection through
        // hyper's next write; a finished connection's leftovers are dropped.
        let drained = lock(&this.cork.shared).poll_drain(cx);
        match (this.done.take(), drained) {
            (Some(out), Poll::Ready(_)) => Poll::Ready(out),
            (Some(out), Poll::Pending) => {
                this.done = Some(out);
                Poll::Pending
            }
            (None, _) => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::task::noop_waker_ref;

    /// Records each write; refuses writes (`Pending`) while `blocked`, fails if `broken`.
    #[derive(Default)]
    struct Sink {
        writes: Vec<usize>,
        data: Vec<u8>,
        blocked: bool,
        broken: bool,
        shut: bool,
    }

    impl AsyncRead for Sink {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Pending
        }
    }

    impl AsyncWrite for Sink {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            if self.broken {
                return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
            }
            if self.blocked {
                return Poll::Pending;
            }
            self.writes.push(buf.len());
            self.data.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.shut = true;
            Poll::Ready(Ok(()))
        }
    }

    fn cx() -> Context<'static> {
        Context::from_waker(noop_waker_ref())
    }

    fn write(io: &mut CorkedIo<Sink>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(io).poll_write(&mut cx(), bytes)
    }

    fn sink(cork: &Cork<Sink>) -> MutexGuard<'_, Shared<Sink>> {
        lock(&cork.shared)
    }

    #[test]
    fn small_writes_and_flushes_wait_for_the_drain_and_go_out_in_one_write() {
        let (mut io, cork) = cork(Sink::default());
        for i in 0..8u8 {
            let frame = vec![i; 16 * 1024 + 9];
            assert!(matches!(write(&mut io, &frame), Poll::Ready(Ok(16393))));
            assert!(matches!(
                Pin::new(&mut io).poll_flush(&mut cx()),
                Poll::Ready(Ok(()))
            ));
        }
        assert!(sink(&cork).io.writes.is_empty(), "flush must not write");
        assert!(matches!(
            sink(&cork).poll_drain(&mut cx()),
            Poll::Ready(Ok(()))
        ));
        let s = sink(&cork);
        assert_eq!(s.io.writes, vec![8 * 16393]);
        assert_eq!(s.io.data[16393 * 3], 3);
        assert_eq!(s.buf.capacity(), 0, "a drained buffer is released");
    }

    #[test]
    fn a_large_write_bypasses_an_empty_buffer() {
        let (mut io, cork) = cork(Sink::default());
        let body = vec![7u8; 2_000_000];
        assert!(matches!(write(&mut io, &body), Poll::Ready(Ok(2_000_000))));
        let s = sink(&cork);
        assert_eq!(s.io.writes, vec![2_000_000]);
        assert_eq!(s.buf.capacity(), 0, "nothing was copied");
    }

    #[test]
    fn overflow_drains_what_is_corked_first_and_keeps_order() {
        let (mut io, cork) = cork(Sink::default());
        assert!(matches!(write(&mut io, b"head"), Poll::Ready(Ok(4))));
        let body = vec![1u8; CORK_BYTES];
        assert!(matches!(write(&mut io, &body), Poll::Ready(Ok(n)) if n == CORK_BYTES));
        let s = sink(&cork);
        assert_eq!(s.io.writes, vec![4, CORK_BYTES]);
        assert_eq!(&s.io.data[..4], b"head");
    }

    #[test]
    fn a_full_buffer_on_a_blocked_socket_makes_the_writer_wait() {
        let (mut io, cork) = cork(Sink {
            blocked: true,
            ..Sink::default()
        });
        let frame = vec![0u8; 16 * 1024];
        while let Poll::Ready(Ok(_)) = write(&mut io, &frame) {
            assert!(sink(&cork).pending() <= CORK_BYTES, "the buffer is bounded");
        }
        sink(&cork).io.blocked = false;
        assert!(matches!(write(&mut io, &frame), Poll::Ready(Ok(_))));
    }

    #[test]
    fn shutdown_writes_the_corked_bytes_first() {
        let (mut io, cork) = cork(Sink::default());
        assert!(matches!(write(&mut io, b"last frame"), Poll::Ready(Ok(10))));
        assert!(matches!(
            Pin::new(&mut io).poll_shutdown(&mut cx()),
            Poll::Ready(Ok(()))
        ));
        let s = sink(&cork);
        assert_eq!(s.io.data, b"last frame");
        assert!(s.io.shut);
    }

    #[test]
    fn a_failed_drain_fails_every_later_write_and_flush() {
        let (mut io, cork) = cork(Sink {
            broken: true,
            ..Sink::default()
        });
        assert!(matches!(write(&mut io, b"frame"), Poll::Ready(Ok(5))));
        assert!(matches!(
            sink(&cork).poll_drain(&mut cx()),
            Poll::Ready(Err(_))
        ));
        assert!(matches!(write(&mut io, b"more"), Poll::Ready(Err(_))));
        assert!(matches!(
            Pin::new(&mut io).poll_flush(&mut cx()),
            Poll::Ready(Err(_))
        ));
    }

    /// A stand-in for a hyper connection: writes `frames` small frames, flushing after
    /// each like h2 does, then finishes.
    struct FakeConn {
        io: CorkedIo<Sink>,
        frames: usize,
    }

    impl Future for FakeConn {
        type Output = usize;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            for _ in 0..self.frames {
                let frame = [9u8; 1000];
                assert!(matches!(
                    Pin::new(&mut self.io).poll_write(cx, &frame),
                    Poll::Ready(Ok(1000))
                ));
                assert!(matches!(
                    Pin::new(&mut self.io).poll_flush(cx),
                    Poll::Ready(Ok(()))
                ));
            }
            Poll::Ready(self.frames)
        }
    }

    #[test]
    fn without_its_driver_the_wrapper_writes_through() {
        let (mut io, cork) = cork(Sink::default());
        let shared = cork.shared.clone();
        let driver = Corked::new(std::future::pending::<()>(), cork);
        assert!(matches!(write(&mut io, b"corked"), Poll::Ready(Ok(6))));
        drop(driver);
        assert!(matches!(
            Pin::new(&mut io).poll_flush(&mut cx()),
            Poll::Ready(Ok(()))
        ));
        assert_eq!(lock(&shared).io.data, b"corked", "a flush drains");
        assert!(matches!(write(&mut io, b"frame"), Poll::Ready(Ok(5))));
        assert_eq!(
            lock(&shared).io.writes,
            vec![6, 5],
            "and writes pass through"
        );
    }

    #[test]
    fn the_driver_writes_out_what_the_connection_corked_before_it_resolves() {
        let (io, cork) = cork(Sink {
            blocked: true,
            ..Sink::default()
        });
        let shared = cork.shared.clone();
        let mut driver = Corked::new(FakeConn { io, frames: 20 }, cork);
        assert!(
            Pin::new(&mut driver).poll(&mut cx()).is_pending(),
            "not done while the socket holds the bytes back"
        );
        lock(&shared).io.blocked = false;
        assert!(matches!(
            Pin::new(&mut driver).poll(&mut cx()),
            Poll::Ready(20)
        ));
        let s = lock(&shared);
        assert_eq!(s.io.writes, vec![20_000]);
    }
}

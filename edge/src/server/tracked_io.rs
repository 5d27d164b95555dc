//! A transparent I/O wrapper that tells a connection's [`ConnActivity`] when client
//! bytes arrive, and wakes its watchdog when they start a header clock. Writes pass straight through, vectored writes included (hyper writes
//! a response head and body with one `writev`).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use super::activity::ConnActivity;

/// `I` with reads reported to a [`ConnActivity`].
pub(crate) struct TrackedIo<I> {
    inner: I,
    activity: Arc<ConnActivity>,
    header_clock: Arc<Notify>,
}

impl<I> TrackedIo<I> {
    /// Wraps `inner`; `header_clock` is notified when a read starts a header clock.
    pub(crate) fn new(inner: I, activity: Arc<ConnActivity>, header_clock: Arc<Notify>) -> Self {
        Self {
            inner,
            activity,
            header_clock,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for TrackedIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(())))
            && buf.filled().len() > before
            && self.activity.bytes_read(Instant::now())
        {
            self.header_clock.notify_one();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for TrackedIo<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

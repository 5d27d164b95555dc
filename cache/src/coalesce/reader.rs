//! A waiter's async view of a fetch: the metadata, then the body chunk by chunk.
//!
//! A thin adapter over [`InFlight`](super::inflight::InFlight): each poll asks the
//! state for the metadata or the chunk at the reader's index and parks the task's
//! waker when the answer is "not yet". Dropping a reader unparks it and touches
//! nothing else, so a client that goes away mid-body affects neither the other
//! readers nor the leader.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream};

use super::inflight::{Next, ReaderId};
use super::{FetchError, Shared};
use crate::ObjectMeta;

/// One waiter's reader of a coalesced fetch. `Send + 'static`.
///
/// Also a [`Stream`] of body chunks: every chunk from the first, as it arrives,
/// then the end; or one error if the fetch fails, then the end.
#[derive(Debug)]
pub struct BodyReader {
    fetch: Shared,
    id: ReaderId,
    /// Index of the next chunk to yield.
    next: usize,
    /// The stream ended (end of body or error yielded).
    done: bool,
}

impl BodyReader {
    pub(super) fn new(fetch: Shared, id: ReaderId) -> Self {
        BodyReader {
            fetch,
            id,
            next: 0,
            done: false,
        }
    }

    /// Waits for the metadata (status, headers) or the fetch's error.
    pub async fn meta(&mut self) -> Result<Arc<ObjectMeta>, FetchError> {
        std::future::poll_fn(|cx| self.poll_meta(cx)).await
    }

    /// Polls for the metadata; parks the task while it is not known.
    pub fn poll_meta(&mut self, cx: &mut Context<'_>) -> Poll<Result<Arc<ObjectMeta>, FetchError>> {
        let mut state = self.fetch.lock();
        match state.meta() {
            Some(result) => Poll::Ready(result),
            None => {
                state.park(self.id, cx.waker());
                Poll::Pending
            }
        }
    }

    /// Polls for the next body chunk: `Some(Ok(chunk))`, `Some(Err(_))` once if the
    /// fetch fails, `None` at the end.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, FetchError>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let mut state = self.fetch.lock();
        match state.next_chunk(self.next) {
            Next::Chunk(chunk) => {
                self.next += 1;
                Poll::Ready(Some(Ok(chunk)))
            }
            Next::End => {
                self.done = true;
                Poll::Ready(None)
            }
            Next::Failed(error) => {
                self.done = true;
                Poll::Ready(Some(Err(error)))
            }
            Next::Pending => {
                state.park(self.id, cx.waker());
                Poll::Pending
            }
        }
    }

    /// Every chunk from the first, as it arrives, then `None` at the end; an error
    /// if the fetch fails midway.
    pub fn into_stream(self) -> BoxStream<'static, Result<Bytes, FetchError>> {
        Box::pin(self)
    }
}

impl Stream for BodyReader {
    type Item = Result<Bytes, FetchError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        self.fetch.lock().unpark(self.id);
    }
}

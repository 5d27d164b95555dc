//! An HTTP/3 request stream's receive half as an [`http_body::Body`], so local
//! routes read API request bodies through the same bounded
//! [`RequestBody`](crate::pipeline::RequestBody) as on HTTP/1.1 and HTTP/2.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame};

/// The client's half of one request stream.
pub(crate) type RecvHalf = h3::server::RequestStream<h3_quinn::RecvStream, Bytes>;

/// DATA frames of a request (RFC 9114 §4.1) as body frames; trailers are ignored.
pub(crate) struct H3RequestBody {
    recv: RecvHalf,
    done: bool,
}

impl H3RequestBody {
    /// Reads from `recv`.
    pub(crate) fn new(recv: RecvHalf) -> Self {
        Self { recv, done: false }
    }
}

impl Body for H3RequestBody {
    type Data = Bytes;
    type Error = h3::error::StreamError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.recv.poll_recv_data(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Some(mut buf))) => {
                let data = buf.copy_to_bytes(buf.remaining());
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Poll::Ready(Ok(None)) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Err(e)) => {
                self.done = true;
                Poll::Ready(Some(Err(e)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

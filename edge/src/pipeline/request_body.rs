//! Request bodies for local routes (the origin's control plane API).
//!
//! Delivery never reads a request body. The transport still hands the body over, in
//! the request's extensions as a [`RequestBody`], so that a [`LocalRoutes`]
//! (super::LocalRoutes) answer can take it once and read it with
//! [`RequestBody::read_to_limit`]: bounded in size (413) and in time (408), so a
//! client that trickles a body cannot hold a task. An unread body is dropped with the
//! request, as before (hyper then closes an HTTP/1.1 connection after the response).
//!
//! A route that stores large bodies (tus uploads) takes the body with
//! [`RequestBody::take_stream`] instead and reads it frame by frame, bounding size and
//! time itself, so the whole body is never in memory.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::Body;
use http_body_util::BodyExt;

type DynBody =
    http_body_util::combinators::UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// A request body read frame by frame ([`RequestBody::take_stream`]).
pub type StreamedBody = DynBody;

/// A request body that can be taken once. Cloning shares the same body.
#[derive(Clone)]
pub struct RequestBody(Arc<Mutex<Option<DynBody>>>);

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestBody")
    }
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyReadError {
    /// More than the route's limit (413).
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    /// Not complete within the route's time (408).
    #[error("request body not received in time")]
    TimedOut,
    /// The transport failed (400).
    #[error("request body could not be read: {0}")]
    Transport(String),
    /// Already taken by an earlier read.
    #[error("request body already read")]
    Taken,
}

impl RequestBody {
    /// Wraps any body whose errors can be boxed.
    pub fn new<B>(body: B) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        Self(Arc::new(Mutex::new(Some(
            body.map_err(Into::into).boxed_unsync(),
        ))))
    }

    /// An empty body (tests, transports without bodies).
    pub fn empty() -> Self {
        Self::new(http_body_util::Empty::<Bytes>::new())
    }

    /// Takes the body to read it frame by frame (`http_body_util::BodyExt::frame`);
    /// the caller bounds its size and the time between frames.
    pub fn take_stream(&self) -> Result<StreamedBody, BodyReadError> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or(BodyReadError::Taken)
    }

    /// Reads the whole body, at most `limit` bytes, within `timeout`.
    pub async fn read_to_limit(
        &self,
        limit: usize,
        timeout: Duration,
    ) -> Result<Bytes, BodyReadError> {
        let body = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or(BodyReadError::Taken)?;
        if body.size_hint().lower() > limit as u64 {
            return Err(BodyReadError::TooLarge(limit));
        }
        tokio::time::timeout(timeout, collect(body, limit))
            .await
            .map_err(|_| BodyReadError::TimedOut)?
    }
}

async fn collect(mut body: DynBody, limit: usize) -> Result<Bytes, BodyReadError> {
    let mut out = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyReadError::Transport(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(BodyReadError::TooLarge(limit));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    #[tokio::test]
    async fn reads_once_within_the_limit() {
        let body = RequestBody::new(Full::new(Bytes::from_static(b"{\"a\":1}")));
        let again = body.clone();
        assert_eq!(
            body.read_to_limit(64, Duration::from_secs(1))
                .await
                .unwrap(),
            Bytes::from_static(b"{\"a\":1}")
        );
        assert_eq!(
            again.read_to_limit(64, Duration::from_secs(1)).await,
            Err(BodyReadError::Taken)
        );
    }

    #[tokio::test]
    async fn too_large_is_refused_by_length_or_by_counting() {
        let body = RequestBody::new(Full::new(Bytes::from(vec![0u8; 100])));
        assert_eq!(
            body.read_to_limit(10, Duration::from_secs(1)).await,
            Err(BodyReadError::TooLarge(10))
        );
        let chunks =
            futures_util::stream::iter((0..5).map(|_| {
                Ok::<_, std::io::Error>(http_body::Frame::data(Bytes::from(vec![1u8; 4])))
            }));
        let body = RequestBody::new(StreamBody::new(chunks));
        assert_eq!(
            body.read_to_limit(10, Duration::from_secs(1)).await,
            Err(BodyReadError::TooLarge(10))
        );
    }

    #[tokio::test]
    async fn a_body_that_never_ends_times_out() {
        let never =
            futures_util::stream::pending::<Result<http_body::Frame<Bytes>, std::io::Error>>();
        let body = RequestBody::new(StreamBody::new(never));
        assert_eq!(
            body.read_to_limit(10, Duration::from_millis(50)).await,
            Err(BodyReadError::TimedOut)
        );
    }
}

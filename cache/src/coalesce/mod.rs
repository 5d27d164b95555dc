//! Request coalescing with read-while-write: one upstream fetch per key, its body
//! streamed to every waiter as it arrives.
//!
//! A request that misses every tier calls [`Coalescer::join`] with its cache key:
//!
//! - the first caller becomes the [`Joined::Leader`]: it fetches from upstream and
//!   pushes what it receives into its [`Filler`] (metadata once, then chunks);
//! - every caller that joins while that fetch is in flight becomes a
//!   [`Joined::Follower`] and reads along.
//!
//! Everyone, the leader included, reads through a [`BodyReader`]: the metadata as
//! soon as the leader has it, then each chunk as soon as the leader pushes it (not
//! when the fetch completes). This is what a low-latency DASH segment served with
//! chunked transfer while being produced, or an LL-HLS part whose length is unknown
//! until its end, needs: viewers receive bytes at the pace the origin produces
//! them. A reader that joins late first gets the chunks already received.
//!
//! When the fetch fails ([`Filler::fail`], or the leader drops the filler without
//! finishing), every reader gets the [`FetchError`] and the key is released, so the
//! next request becomes a new leader and retries.
//!
//! ## Closing the miss/insert race
//!
//! The key stays registered until the leader has handed the object over: use
//! [`Filler::finish_with`] to insert into the memory tier *before* the key is
//! released, and after becoming a leader look into the memory tier once more.
//! Then a request that missed memory just before the insert either joins the
//! fetch or finds the object, and never starts a second fetch.
//!
//! ## Layout
//!
//! | file | concept |
//! |---|---|
//! | `inflight.rs` | sans-IO state of one fetch: chunks, metadata, outcome, parked readers |
//! | `filler.rs` | [`Filler`], the leader's handle that feeds the state |
//! | `reader.rs` | [`BodyReader`], a waiter's async view of the state |

mod filler;
mod inflight;
mod reader;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

pub use filler::Filler;
pub use reader::BodyReader;

use inflight::InFlight;

/// Largest body held for coalescing (64 MiB). A fetch whose body grows past it
/// fails for every reader with a [`FetchError`] saying so; the edge should then
/// pass such objects through uncached.
pub const MAX_COALESCED_OBJECT_BYTES: usize = 64 << 20;

/// Why a coalesced fetch failed: the leader's failure text, shared by every reader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub Arc<str>);

impl FetchError {
    /// The text of the error a dropped, unfinished [`Filler`] leaves.
    pub const ABANDONED: &'static str = "fetch abandoned";
    /// The text of the error for a leader that finished without metadata.
    pub const NO_METADATA: &'static str = "fetch finished without metadata";

    /// An error with this text.
    pub fn new(message: impl Into<Arc<str>>) -> Self {
        FetchError(message.into())
    }

    /// The error of a body that grew past `limit` bytes.
    pub fn too_large(limit: usize) -> Self {
        FetchError::new(format!(
            "object body exceeds the coalescing limit of {limit} bytes"
        ))
    }

    /// The failure text.
    pub fn message(&self) -> &str {
        &self.0
    }
}

/// The state of one fetch, shared by its filler, its readers and the coalescer.
type Shared = Arc<Mutex<InFlight>>;

/// The keys being fetched now.
#[derive(Debug)]
struct Registry {
    fetches: Mutex<HashMap<String, Shared>>,
    max_object_bytes: usize,
}

impl Registry {
    /// Unregisters `key` if it still maps to `fetch` (never a newer fetch).
    fn release(&self, key: &str, fetch: &Shared) {
        let mut fetches = self.fetches.lock();
        if fetches.get(key).is_some_and(|f| Arc::ptr_eq(f, fetch)) {
            fetches.remove(key);
        }
    }
}

/// One upstream fetch per key at a time. `Send + Sync`; cloning shares the registry.
#[derive(Debug, Clone)]
pub struct Coalescer {
    registry: Arc<Registry>,
}

/// What [`Coalescer::join`] made of the caller.
#[derive(Debug)]
pub enum Joined {
    /// This caller must fetch: push into the filler; it also reads via `reader`.
    Leader {
        /// Feeds the fetch's metadata and body to every reader.
        filler: Filler,
        /// The leader's own view of the body (like any follower's).
        reader: BodyReader,
    },
    /// Someone else is fetching; read along.
    Follower {
        /// This follower's view of the body.
        reader: BodyReader,
    },
}

impl Default for Coalescer {
    fn default() -> Self {
        Self::new()
    }
}

impl Coalescer {
    /// A coalescer holding bodies up to [`MAX_COALESCED_OBJECT_BYTES`].
    pub fn new() -> Self {
        Self::with_max_object_bytes(MAX_COALESCED_OBJECT_BYTES)
    }

    /// A coalescer failing fetches whose body exceeds `max_object_bytes`.
    pub fn with_max_object_bytes(max_object_bytes: usize) -> Self {
        Coalescer {
            registry: Arc::new(Registry {
                fetches: Mutex::new(HashMap::new()),
                max_object_bytes,
            }),
        }
    }

    /// Joins the fetch of `key`: the leader if none is in flight, else a follower.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use bytes::Bytes;
    /// use cache::{Coalescer, Joined, ObjectMeta};
    /// use futures_util::StreamExt;
    ///
    /// let coalescer = Coalescer::new();
    /// let Joined::Leader { mut filler, reader: _ } = coalescer.join("seg1") else {
    ///     unreachable!("nobody else fetches seg1")
    /// };
    /// let Joined::Follower { reader } = coalescer.join("seg1") else {
    ///     unreachable!("seg1 is in flight")
    /// };
    /// let mut body = reader.into_stream();
    /// filler.set_meta(ObjectMeta {
    ///     status: 200,
    ///     headers: vec![],
    ///     stored_at_ms: 0,
    ///     fresh_until_ms: 86_400_000,
    ///     stale_while_revalidate_ms: 0,
    ///     stale_if_error_ms: 0,
    /// });
    /// filler.push(Bytes::from_static(b"moof+mdat #1")).unwrap();
    /// // The follower has the first chunk while the fetch is still going on.
    /// assert_eq!(body.next().await.unwrap().unwrap(), "moof+mdat #1");
    /// let object = filler.finish().unwrap();
    /// assert!(body.next().await.is_none());
    /// assert_eq!(object.body, "moof+mdat #1");
    /// # });
    /// ```
    pub fn join(&self, key: &str) -> Joined {
        let mut fetches = self.registry.fetches.lock();
        if let Some(fetch) = fetches.get(key) {
            let id = fetch.lock().add_reader(true);
            return Joined::Follower {
                reader: BodyReader::new(Arc::clone(fetch), id),
            };
        }
        let mut state = InFlight::new(self.registry.max_object_bytes);
        let id = state.add_reader(false);
        let fetch: Shared = Arc::new(Mutex::new(state));
        fetches.insert(key.to_owned(), Arc::clone(&fetch));
        drop(fetches);
        Joined::Leader {
            filler: Filler::new(key, Arc::clone(&fetch), Arc::clone(&self.registry)),
            reader: BodyReader::new(fetch, id),
        }
    }

    /// Keys being fetched now.
    pub fn in_flight(&self) -> usize {
        self.registry.fetches.lock().len()
    }

    /// Followers joined so far to the fetch of `key` (0 if none is in flight).
    pub fn waiters(&self, key: &str) -> usize {
        let fetch = self.registry.fetches.lock().get(key).cloned();
        fetch.map_or(0, |fetch| fetch.lock().followers())
    }
}

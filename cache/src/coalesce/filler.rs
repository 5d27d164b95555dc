//! The leader's handle: feeds metadata and chunks to every reader of a fetch.
//!
//! Each call locks the fetch's [`InFlight`] state briefly, applies the input, and
//! wakes the readers it unparked after releasing the lock. The key is released
//! from the coalescer when the fetch ends (finished, failed, or abandoned by a
//! drop), so the next request for it starts a new fetch.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::{FetchError, Registry, Shared};
use crate::{CachedObject, ObjectMeta};

/// Feeds one fetch. Owned by the leader task; dropping it unfinished fails the
/// fetch with [`FetchError::ABANDONED`].
#[derive(Debug)]
pub struct Filler {
    key: String,
    fetch: Shared,
    registry: Arc<Registry>,
    /// Set once the fetch ended through this handle (finish or fail).
    ended: bool,
}

impl Filler {
    pub(super) fn new(key: &str, fetch: Shared, registry: Arc<Registry>) -> Self {
        Filler {
            key: key.to_owned(),
            fetch,
            registry,
            ended: false,
        }
    }

    /// The key being fetched.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Sets the response's metadata (status, headers). Call it once, before or with
    /// the first chunk; later calls are ignored (readers may already have it).
    pub fn set_meta(&mut self, meta: ObjectMeta) {
        let wakeups = self.fetch.lock().handle_meta(meta);
        wakeups.wake();
    }

    /// Appends a body chunk; readers get it at once.
    ///
    /// Fails when the body grows past the coalescer's limit
    /// ([`MAX_COALESCED_OBJECT_BYTES`](super::MAX_COALESCED_OBJECT_BYTES) by
    /// default) or the fetch already failed: every reader has the error then, the
    /// key is released, and the leader should stop fetching.
    pub fn push(&mut self, chunk: Bytes) -> Result<(), FetchError> {
        let (wakeups, failure) = {
            let mut state = self.fetch.lock();
            let wakeups = state.handle_chunk(chunk);
            (wakeups, state.failure())
        };
        wakeups.wake();
        match failure {
            Some(error) => {
                self.ended = true;
                self.registry.release(&self.key, &self.fetch);
                Err(error)
            }
            None => Ok(()),
        }
    }

    /// Completes the fetch: releases the key and returns the whole object (chunks
    /// concatenated once, for the memory tier).
    ///
    /// Fails if the fetch had failed (see [`push`](Self::push)) or no metadata was
    /// set; readers then get the same error.
    pub fn finish(self) -> Result<CachedObject, FetchError> {
        self.finish_with(|_| ())
    }

    /// Like [`finish`](Self::finish), but calls `before_release` with the object
    /// while the key is still registered (insert into the memory tier there, so a
    /// request arriving meanwhile joins this fetch instead of starting another).
    pub fn finish_with(
        mut self,
        before_release: impl FnOnce(&CachedObject),
    ) -> Result<CachedObject, FetchError> {
        self.ended = true;
        let (result, wakeups) = self.fetch.lock().handle_finish();
        wakeups.wake();
        let object = result.map(|(meta, chunks)| CachedObject {
            meta,
            body: concat(chunks),
        });
        if let Ok(object) = &object {
            before_release(object);
        }
        self.registry.release(&self.key, &self.fetch);
        object
    }

    /// Fails the fetch: wakes every reader with `error` and releases the key.
    pub fn fail(mut self, error: FetchError) {
        self.fail_now(error);
    }

    fn fail_now(&mut self, error: FetchError) {
        self.ended = true;
        // Release first: a request arriving from now on starts a new fetch rather
        // than joining this failed one.
        self.registry.release(&self.key, &self.fetch);
        let wakeups = self.fetch.lock().handle_fail(error);
        wakeups.wake();
    }
}

impl Drop for Filler {
    fn drop(&mut self) {
        if !self.ended {
            self.fail_now(FetchError::new(FetchError::ABANDONED));
        }
        // Idempotent; covers a `finish_with` hook that panicked before the release.
        self.registry.release(&self.key, &self.fetch);
    }
}

/// The body as one `Bytes`: the only chunk itself (no copy), or one copy of all.
fn concat(chunks: Vec<Bytes>) -> Bytes {
    match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.into_iter().next().unwrap_or_default(),
        _ => {
            let total = chunks.iter().map(Bytes::len).sum();
            let mut body = BytesMut::with_capacity(total);
            for chunk in &chunks {
                body.extend_from_slice(chunk);
            }
            body.freeze()
        }
    }
}

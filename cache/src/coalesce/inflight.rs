//! The sans-IO state of one in-flight fetch: what arrived so far and who waits.
//!
//! [`InFlight`] never blocks, spawns or reads a clock. The leader's inputs are
//! `handle_meta`, `handle_chunk`, `handle_finish` and `handle_fail`; each returns the
//! [`Wakeups`] of the readers parked until then, which the caller wakes *after*
//! releasing the lock around the state. A reader asks `meta` and `next_chunk(index)`
//! and, when the answer is "not yet", parks its `Waker` under its reader id.
//!
//! Chunks are kept as received (`Vec<Bytes>`, never concatenated per chunk); each
//! reader keeps its own index into them, so a late joiner starts from chunk 0 and
//! a slow reader never holds others back. Memory is bounded by the object, and the
//! object by `max_body_bytes`.

use std::sync::Arc;
use std::task::Waker;

use bytes::Bytes;

use super::FetchError;
use crate::ObjectMeta;

/// Identifies one reader of a fetch (for parking and unparking its waker).
pub(crate) type ReaderId = u64;

/// Where the fetch is.
#[derive(Debug)]
enum Phase {
    /// Chunks may still arrive.
    Filling,
    /// The body is complete.
    Finished,
    /// The fetch failed; the chunks were dropped.
    Failed(FetchError),
}

/// What a reader at a given chunk index gets now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// The chunk at the index.
    Chunk(Bytes),
    /// The body ended before the index.
    End,
    /// The fetch failed.
    Failed(FetchError),
    /// Not yet: park and wait.
    Pending,
}

/// Wakers to wake once the state's lock is released.
#[must_use = "parked readers hang unless woken"]
#[derive(Debug, Default)]
pub(crate) struct Wakeups(Vec<Waker>);

impl Wakeups {
    /// Wakes every collected reader.
    pub(crate) fn wake(self) {
        self.0.into_iter().for_each(Waker::wake);
    }

    /// How many readers would be woken.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// One fetch's metadata, received chunks, outcome and parked readers.
#[derive(Debug)]
pub(crate) struct InFlight {
    meta: Option<Arc<ObjectMeta>>,
    chunks: Vec<Bytes>,
    body_bytes: usize,
    max_body_bytes: usize,
    phase: Phase,
    followers: usize,
    next_reader: ReaderId,
    parked: Vec<(ReaderId, Waker)>,
}

impl InFlight {
    /// A fresh fetch whose body may not exceed `max_body_bytes`.
    pub(crate) fn new(max_body_bytes: usize) -> Self {
        InFlight {
            meta: None,
            chunks: Vec::new(),
            body_bytes: 0,
            max_body_bytes,
            phase: Phase::Filling,
            followers: 0,
            next_reader: 0,
            parked: Vec::new(),
        }
    }

    /// A new reader id; `follower` counts it among the followers.
    pub(crate) fn add_reader(&mut self, follower: bool) -> ReaderId {
        self.followers += usize::from(follower);
        self.next_reader += 1;
        self.next_reader
    }

    /// Followers joined so far.
    pub(crate) fn followers(&self) -> usize {
        self.followers
    }

    fn wakeups(&mut self) -> Wakeups {
        Wakeups(self.parked.drain(..).map(|(_, waker)| waker).collect())
    }

    /// The leader's metadata. Only the first call counts (readers may have it).
    pub(crate) fn handle_meta(&mut self, meta: ObjectMeta) -> Wakeups {
        if self.meta.is_some() || !matches!(self.phase, Phase::Filling) {
            return Wakeups::default();
        }
        self.meta = Some(Arc::new(meta));
        self.wakeups()
    }

    /// The next body chunk. Past `max_body_bytes` the fetch fails instead (see
    /// [`failure`](Self::failure)); after the end it is ignored.
    pub(crate) fn handle_chunk(&mut self, chunk: Bytes) -> Wakeups {
        if !matches!(self.phase, Phase::Filling) || chunk.is_empty() {
            return Wakeups::default();
        }
        let body_bytes = self.body_bytes.saturating_add(chunk.len());
        if body_bytes > self.max_body_bytes {
            return self.handle_fail(FetchError::too_large(self.max_body_bytes));
        }
        self.body_bytes = body_bytes;
        self.chunks.push(chunk);
        self.wakeups()
    }

    /// The body is complete. Returns the metadata and the chunks for the leader to
    /// assemble (outside the lock), or the failure: an earlier one, or the lack of
    /// metadata (which fails the fetch now).
    #[allow(clippy::type_complexity)]
    pub(crate) fn handle_finish(
        &mut self,
    ) -> (Result<(Arc<ObjectMeta>, Vec<Bytes>), FetchError>, Wakeups) {
        if let Phase::Failed(error) = &self.phase {
            return (Err(error.clone()), Wakeups::default());
        }
        let Some(meta) = self.meta.clone() else {
            let error = FetchError::new(FetchError::NO_METADATA);
            let wakeups = self.handle_fail(error.clone());
            return (Err(error), wakeups);
        };
        self.phase = Phase::Finished;
        (Ok((meta, self.chunks.clone())), self.wakeups())
    }

    /// The fetch failed: every reader gets `error`; the chunks are dropped. A fetch
    /// that already ended stays as it was.
    pub(crate) fn handle_fail(&mut self, error: FetchError) -> Wakeups {
        if !matches!(self.phase, Phase::Filling) {
            return Wakeups::default();
        }
        self.phase = Phase::Failed(error);
        self.chunks = Vec::new();
        self.wakeups()
    }

    /// The failure, if the fetch failed.
    pub(crate) fn failure(&self) -> Option<FetchError> {
        match &self.phase {
            Phase::Failed(error) => Some(error.clone()),
            _ => None,
        }
    }

    /// The metadata, the failure, or `None` while neither is known.
    pub(crate) fn meta(&self) -> Option<Result<Arc<ObjectMeta>, FetchError>> {
        match (&self.meta, &self.phase) {
            (Some(meta), _) => Some(Ok(Arc::clone(meta))),
            (None, Phase::Failed(error)) => Some(Err(error.clone())),
            (None, _) => None,
        }
    }

    /// What a reader whose next chunk is `index` gets now.
    pub(crate) fn next_chunk(&self, index: usize) -> Next {
        match &self.phase {
            Phase::Failed(error) => Next::Failed(error.clone()),
            _ if index < self.chunks.len() => Next::Chunk(self.chunks[index].clone()),
            Phase::Finished => Next::End,
            Phase::Filling => Next::Pending,
        }
    }

    /// Parks `reader` until the next change (replacing its previous waker).
    pub(crate) fn park(&mut self, reader: ReaderId, waker: &Waker) {
        match self.parked.iter_mut().find(|(id, _)| *id == reader) {
            Some((_, parked)) => parked.clone_from(waker),
            None => self.parked.push((reader, waker.clone())),
        }
    }

    /// Forgets `reader`'s waker (the reader was dropped).
    pub(crate) fn unpark(&mut self, reader: ReaderId) {
        self.parked.retain(|(id, _)| *id != reader);
    }

    /// Readers parked now.
    #[cfg(test)]
    pub(crate) fn parked(&self) -> usize {
        self.parked.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A waker that counts its wakes, so the state is tested without a runtime.
    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        (Arc::clone(&counter), Waker::from(counter))
    }

    fn meta() -> ObjectMeta {
        ObjectMeta {
            status: 200,
            headers: vec![("content-type".into(), "video/mp4".into())],
            stored_at_ms: 0,
            fresh_until_ms: 0,
            stale_while_revalidate_ms: 0,
            stale_if_error_ms: 0,
        }
    }

    #[test]
    fn every_input_wakes_the_parked_readers_once() {
        let mut state = InFlight::new(1 << 20);
        let (a_count, a) = waker();
        let (b_count, b) = waker();
        let (ra, rb) = (state.add_reader(false), state.add_reader(true));
        state.park(ra, &a);
        state.park(ra, &a); // parking twice keeps one entry
        state.park(rb, &b);
        assert_eq!(state.parked(), 2);
        state.handle_meta(meta()).wake();
        assert_eq!(a_count.0.load(Ordering::SeqCst), 1);
        assert_eq!(b_count.0.load(Ordering::SeqCst), 1);
        assert_eq!(state.parked(), 0);
        // Nobody parked: nothing to wake.
        assert_eq!(state.handle_chunk(Bytes::from_static(b"x")).len(), 0);
        state.park(rb, &b);
        state.handle_chunk(Bytes::from_static(b"y")).wake();
        assert_eq!(a_count.0.load(Ordering::SeqCst), 1);
        assert_eq!(b_count.0.load(Ordering::SeqCst), 2);
        assert_eq!(state.followers(), 1);
    }

    #[test]
    fn readers_walk_the_chunks_at_their_own_pace() {
        let mut state = InFlight::new(1 << 20);
        assert_eq!(state.next_chunk(0), Next::Pending);
        assert_eq!(state.meta(), None);
        let _ = state.handle_meta(meta());
        for chunk in [&b"a"[..], b"bb", b"ccc"] {
            let _ = state.handle_chunk(Bytes::copy_from_slice(chunk));
        }
        assert_eq!(state.next_chunk(0), Next::Chunk(Bytes::from_static(b"a")));
        assert_eq!(state.next_chunk(2), Next::Chunk(Bytes::from_static(b"ccc")));
        assert_eq!(state.next_chunk(3), Next::Pending);
        let (result, _) = state.handle_finish();
        let (got_meta, chunks) = result.unwrap();
        assert_eq!(*got_meta, meta());
        assert_eq!(chunks.len(), 3);
        assert_eq!(state.next_chunk(1), Next::Chunk(Bytes::from_static(b"bb")));
        assert_eq!(state.next_chunk(3), Next::End);
        // Late inputs are ignored.
        let _ = state.handle_chunk(Bytes::from_static(b"late"));
        let _ = state.handle_fail(FetchError::new("late"));
        assert_eq!(state.next_chunk(3), Next::End);
    }

    #[test]
    fn failure_reaches_every_reader_and_drops_the_chunks() {
        let mut state = InFlight::new(1 << 20);
        let (count, w) = waker();
        let reader = state.add_reader(true);
        let _ = state.handle_chunk(Bytes::from_static(b"a"));
        state.park(reader, &w);
        state.handle_fail(FetchError::new("upstream 503")).wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        let expected = FetchError::new("upstream 503");
        assert_eq!(state.next_chunk(0), Next::Failed(expected.clone()));
        assert_eq!(state.meta(), Some(Err(expected.clone())));
        assert_eq!(state.failure(), Some(expected.clone()));
        assert_eq!(state.handle_finish().0, Err(expected));
    }

    #[test]
    fn a_body_past_the_limit_fails_the_fetch() {
        let mut state = InFlight::new(10);
        let _ = state.handle_chunk(Bytes::from_static(b"0123456789"));
        assert_eq!(state.failure(), None);
        let _ = state.handle_chunk(Bytes::from_static(b"!"));
        let error = state.failure().expect("failed");
        assert!(error.to_string().contains("10 bytes"), "{error}");
    }

    #[test]
    fn finishing_without_metadata_is_a_failure() {
        let mut state = InFlight::new(10);
        let (result, _) = state.handle_finish();
        assert_eq!(result, Err(FetchError::new(FetchError::NO_METADATA)));
        assert!(matches!(state.next_chunk(0), Next::Failed(_)));
    }

    #[test]
    fn an_unparked_reader_is_not_woken() {
        let mut state = InFlight::new(10);
        let (count, w) = waker();
        let reader = state.add_reader(true);
        state.park(reader, &w);
        state.unpark(reader);
        state.handle_chunk(Bytes::from_static(b"a")).wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
    }
}

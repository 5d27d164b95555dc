//! The edge's [`Upstream`]: cache lookup (memory, then disk), then one coalesced
//! fetch from the parents per key, streamed to every waiter as it arrives.
//!
//! Phases per request (after pingora's `CachePhase`, reported as `x-cache` and in
//! `ferrocast_edge_cache_lookups_total`):
//!
//! 1. key ([`cache_key`]) and an admission count;
//! 2. memory tier: fresh → hit; inside `stale-while-revalidate` → served, and one
//!    background fetch refreshes it; inside `stale-if-error` → kept as the fallback;
//! 3. disk tier (blocking read on the blocking pool; checksum-verified by the tier),
//!    a fresh hit is promoted to memory;
//! 4. miss: [`Coalescer::join`]. The leader spawns the fetch — detached from its
//!    client, so waiters keep receiving if that client leaves — and every request,
//!    leader included, streams the body from a [`cache::coalesce::BodyReader`];
//! 5. the fetch ends: a storable object (see [`super::freshness`]) enters the memory
//!    tier before the key is released, so no request falls between the two.
//!
//! Objects leave memory through moka's eviction; those admission finds worth it
//! (seen at least twice recently) are written to the disk tier by one background
//! writer thread with a bounded queue.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cache::coalesce::{Coalescer, FetchError, Joined};
use cache::{Admission, CachedObject, DiskTier, Freshness, MemoryTier, ObjectMeta};
use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::cache_key::cache_key;
use super::freshness::meta_for;
use super::metrics::{CacheMetrics, CachePhase};
use crate::body::BodyError;
use crate::parent::Parents;
use crate::upstream::{
    ObjectKind, Upstream, UpstreamBody, UpstreamFuture, UpstreamRequest, UpstreamResponse,
};

/// Response fields stored with an object and replayed on hits; everything else of
/// the parent's response (hop-by-hop fields, `Date`, `Age`, CORS) is the edge's own.
pub const STORED_FIELDS: [&str; 6] = [
    "content-type",
    "cache-control",
    "etag",
    "last-modified",
    "content-encoding",
    "content-language",
];

/// Objects queued for the disk writer at most; beyond, promotions are dropped.
pub const DISK_QUEUE: usize = 256;

/// The caching upstream. Share it behind an `Arc`.
pub struct CachingUpstream {
    inner: Arc<Inner>,
}

struct Inner {
    memory: Arc<MemoryTier>,
    disk: Option<Arc<DiskTier>>,
    admission: Arc<Admission>,
    coalescer: Coalescer,
    parents: Arc<Parents>,
    metrics: CacheMetrics,
    disk_queue: Option<DiskQueue>,
}

/// Milliseconds since the Unix epoch (the cache's clock input).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl CachingUpstream {
    /// A caching upstream over `parents` with a memory tier of `memory_bytes` and an
    /// optional disk tier.
    pub fn new(
        parents: Arc<Parents>,
        memory_bytes: u64,
        disk: Option<Arc<DiskTier>>,
        metrics: CacheMetrics,
    ) -> Self {
        let admission = Arc::new(Admission::new(100_000));
        let disk_queue = disk.clone().map(|d| DiskQueue::start(d, metrics.clone()));
        let on_evict = disk_queue
            .clone()
            .map(|q| promotion_listener(q, admission.clone(), metrics.clone()));
        let memory = Arc::new(MemoryTier::new(memory_bytes, on_evict));
        Self {
            inner: Arc::new(Inner {
                memory,
                disk,
                admission,
                coalescer: Coalescer::new(),
                parents,
                metrics,
                disk_queue,
            }),
        }
    }

    /// The memory tier (purge, metrics, tests).
    pub fn memory(&self) -> &MemoryTier {
        &self.inner.memory
    }

    /// The disk tier, when configured.
    pub fn disk(&self) -> Option<&Arc<DiskTier>> {
        self.inner.disk.as_ref()
    }

    /// Removes `key` from both tiers; returns how many copies were removed.
    pub fn purge(&self, key: &str) -> usize {
        let mut n = usize::from(self.inner.memory.remove(key));
        if let Some(d) = &self.inner.disk {
            n += usize::from(d.remove(key).unwrap_or(false));
        }
        self.inner.metrics.purged.inc_by(n as u64);
        n
    }

    /// Removes every key starting with `prefix` from both tiers.
    pub fn purge_prefix(&self, prefix: &str) -> usize {
        let mut n = self.inner.memory.remove_prefix(prefix);
        if let Some(d) = &self.inner.disk {
            n += d.remove_prefix(prefix).unwrap_or(0);
        }
        self.inner.metrics.purged.inc_by(n as u64);
        n
    }

    /// Refreshes the fill gauges (called before `/metrics` renders, or periodically).
    pub fn update_gauges(&self) {
        let m = &self.inner.metrics;
        m.memory_bytes
            .set(self.inner.memory.weighted_bytes() as i64);
        if let Some(d) = &self.inner.disk {
            let s = d.stats();
            m.disk_used_bytes.set(s.used_bytes as i64);
            m.disk_capacity_bytes.set(s.capacity_bytes as i64);
            m.disk_evictions.set(s.evictions as i64);
            m.disk_corrupt.set(s.corrupt_dropped as i64);
        }
    }
}

impl Upstream for CachingUpstream {
    fn fetch(&self, request: UpstreamRequest) -> UpstreamFuture {
        let inner = self.inner.clone();
        Box::pin(async move {
            let key = cache_key(&request.path, request.query.as_deref());
            let kind = kind_of(&request.path);
            inner.lookup_or_fetch(key, kind, request.token).await
        })
    }
}

impl Inner {
    /// `token`: the verified playback token of the request, forwarded to the parent
    /// on a miss (the first waiter's token serves every coalesced waiter, each of
    /// which passed its own check in the pipeline).
    async fn lookup_or_fetch(
        self: Arc<Self>,
        key: String,
        kind: ObjectKind,
        token: Option<String>,
    ) -> UpstreamResponse {
        let now = now_ms();
        self.admission.record_access(&key);
        let mut fallback = None;
        if let Some(object) = self.memory.get(&key) {
            match self
                .clone()
                .consider(&key, object, CachePhase::MemoryHit, kind, now)
            {
                Ok(hit) => return hit,
                Err(stale) => fallback = stale,
            }
        }
        if fallback.is_none() {
            if let Some(object) = self.disk_get(&key, now).await {
                match self
                    .clone()
                    .consider(&key, object, CachePhase::DiskHit, kind, now)
                {
                    Ok(hit) => return hit,
                    Err(stale) => fallback = stale,
                }
            }
        }
        let (phase, mut reader) = match self.coalescer.join(&key) {
            Joined::Leader { mut filler, reader } => {
                // A fetch that finished between our lookup and the join inserted its
                // object before releasing the key: serve that instead of refetching.
                if let Some(object) = self.memory.get(&key) {
                    if object.meta.freshness(now) == Freshness::Fresh {
                        filler.set_meta((*object.meta).clone());
                        let _ = filler.push(object.body.clone());
                        let _ = filler.finish();
                        return self.hit(object, CachePhase::MemoryHit, kind, now);
                    }
                }
                tokio::spawn(self.clone().fill(key.clone(), filler, token));
                (CachePhase::Miss, reader)
            }
            Joined::Follower { reader } => (CachePhase::Coalesced, reader),
        };
        let meta = reader.meta().await;
        let meta = match (meta, fallback) {
            (Ok(meta), Some(stale)) if meta.status >= 500 => {
                drop(meta);
                return self.hit(stale, CachePhase::StaleIfError, kind, now);
            }
            (Ok(meta), _) => meta,
            (Err(_), Some(stale)) => return self.hit(stale, CachePhase::StaleIfError, kind, now),
            (Err(e), None) => {
                self.metrics.lookup(phase);
                return upstream_failed(&e);
            }
        };
        self.metrics.lookup(phase);
        let body = reader
            .into_stream()
            .map(|r| r.map_err(|e| BodyError(e.0)))
            .boxed();
        respond(&meta, phase, kind, UpstreamBody::Fallible(body))
    }

    /// A found object by its freshness: served (`Ok`), kept as the stale-if-error
    /// fallback (`Err(Some)`), or useless (`Err(None)`). A fresh disk hit is
    /// promoted to memory.
    fn consider(
        self: Arc<Self>,
        key: &str,
        object: CachedObject,
        fresh_phase: CachePhase,
        kind: ObjectKind,
        now: u64,
    ) -> Result<UpstreamResponse, Option<CachedObject>> {
        match object.meta.freshness(now) {
            Freshness::Fresh => {
                if fresh_phase == CachePhase::DiskHit {
                    self.memory.insert(key, promoted(&object, &self.memory));
                }
                Ok(self.hit(object, fresh_phase, kind, now))
            }
            Freshness::StaleWhileRevalidate => {
                self.clone().revalidate(key);
                Ok(self.hit(object, CachePhase::StaleWhileRevalidate, kind, now))
            }
            Freshness::StaleIfError => Err(Some(object)),
            Freshness::Expired => Err(None),
        }
    }

    async fn disk_get(&self, key: &str, now: u64) -> Option<CachedObject> {
        let disk = self.disk.clone()?;
        let key = key.to_owned();
        match tokio::task::spawn_blocking(move || disk.get(&key, now)).await {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => {
                tracing::warn!("disk tier read failed: {e}");
                None
            }
            Err(_) => None,
        }
    }

    /// Starts a background refresh of `key` unless one is running.
    fn revalidate(self: Arc<Self>, key: &str) {
        if let Joined::Leader { filler, reader } = self.coalescer.join(key) {
            drop(reader);
            tokio::spawn(self.clone().fill(key.to_owned(), filler, None));
        }
    }

    /// The leader's fetch: parent response → filler → memory tier.
    async fn fill(
        self: Arc<Self>,
        key: String,
        mut filler: cache::coalesce::Filler,
        token: Option<String>,
    ) {
        let mut headers = HeaderMap::new();
        if let Some(value) = token.and_then(|t| HeaderValue::from_str(&t).ok()) {
            headers.insert(crate::upstream::TOKEN_HEADER, value);
        }
        let response = match self.parents.fetch(&key, headers).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(key, "upstream fetch failed: {e}");
                filler.fail(FetchError::new(e.to_string()));
                return;
            }
        };
        let now = now_ms();
        let stored = stored_fields(&response.headers);
        let status = response.status.as_u16();
        let storable = meta_for(status, stored.clone(), now);
        let meta = storable.clone().unwrap_or(ObjectMeta {
            status,
            headers: stored,
            stored_at_ms: now,
            fresh_until_ms: now,
            stale_while_revalidate_ms: 0,
            stale_if_error_ms: 0,
        });
        filler.set_meta(meta);
        let mut body = response.body;
        while let Some(chunk) = body.next().await {
            let pushed = match chunk {
                Ok(bytes) => filler.push(bytes),
                Err(e) => {
                    filler.fail(FetchError::new(e.to_string()));
                    return;
                }
            };
            if pushed.is_err() {
                return;
            }
        }
        let memory = self.memory.clone();
        let _ = filler.finish_with(|object| {
            if storable.is_none() {
                return;
            }
            let object = with_etag(object);
            // A refetch of an object already asked for before (an expired or purged
            // popular object, or one the disk lost) goes to disk at once as well.
            if let Some(queue) = &self.disk_queue {
                if self.admission.admit(&key) {
                    queue.offer(Arc::from(key.as_str()), object.clone());
                }
            }
            memory.insert(&key, object);
        });
    }

    fn hit(
        &self,
        object: CachedObject,
        phase: CachePhase,
        kind: ObjectKind,
        now: u64,
    ) -> UpstreamResponse {
        self.metrics.lookup(phase);
        let mut response = respond(&object.meta, phase, kind, UpstreamBody::Full(object.body));
        // RFC 9111 §5.1: how long the object has been in this cache.
        let age = now.saturating_sub(object.meta.stored_at_ms) / 1000;
        response
            .headers
            .insert(http::header::AGE, HeaderValue::from(age));
        response
    }
}

/// A response replaying `meta`'s stored fields, tagged with `x-cache: phase`.
fn respond(
    meta: &ObjectMeta,
    phase: CachePhase,
    kind: ObjectKind,
    body: UpstreamBody,
) -> UpstreamResponse {
    let mut headers = replay_headers(meta);
    headers.insert(x_cache(), HeaderValue::from_static(phase.label()));
    UpstreamResponse {
        status: StatusCode::from_u16(meta.status).unwrap_or(StatusCode::BAD_GATEWAY),
        kind,
        content_type: "application/octet-stream",
        cache_control: field(meta, "cache-control")
            .unwrap_or("no-store")
            .to_owned(),
        headers,
        body,
    }
}

/// A stored object keeps the parent's ETag, or gets the pipeline's strong ETag
/// computed once here, so hits never hash the body.
fn with_etag(object: &CachedObject) -> CachedObject {
    if object.meta.status != 200 || field(&object.meta, "etag").is_some() {
        return object.clone();
    }
    let mut meta = (*object.meta).clone();
    meta.headers.push((
        "etag".into(),
        crate::pipeline::response_filter::etag_of(&object.body),
    ));
    CachedObject {
        meta: Arc::new(meta),
        body: object.body.clone(),
    }
}

fn field<'m>(meta: &'m ObjectMeta, name: &str) -> Option<&'m str> {
    meta.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn stored_fields(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in STORED_FIELDS {
        for value in headers.get_all(name) {
            if let Ok(v) = value.to_str() {
                out.push((name.to_owned(), v.to_owned()));
            }
        }
    }
    // The parent's Age counts towards freshness (RFC 9111 §4.2.3); not replayed.
    if let Some(age) = headers.get(http::header::AGE).and_then(|v| v.to_str().ok()) {
        out.push(("age".into(), age.to_owned()));
    }
    out
}

fn replay_headers(meta: &ObjectMeta) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in &meta.headers {
        if name == "age" {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(n, v);
        }
    }
    headers
}

fn x_cache() -> HeaderName {
    HeaderName::from_static("x-cache")
}

/// No parent answered: 503, never stored, so a player retries soon.
fn upstream_failed(error: &FetchError) -> UpstreamResponse {
    let mut r = UpstreamResponse::error(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("upstream unavailable: {error}\n"),
    );
    r.headers.insert(
        x_cache(),
        HeaderValue::from_static(CachePhase::Miss.label()),
    );
    r
}

/// The object kind from the URL scheme in ARCHITECTURE.md (for metrics labels).
pub fn kind_of(path: &str) -> ObjectKind {
    let name = path.rsplit('/').next().unwrap_or("");
    if name == "master.m3u8" {
        ObjectKind::MultivariantPlaylist
    } else if name.ends_with(".m3u8") {
        ObjectKind::MediaPlaylist
    } else if name.ends_with(".mpd") {
        ObjectKind::Mpd
    } else if name.starts_with("init") && name.ends_with(".mp4") {
        ObjectKind::Init
    } else if name.starts_with("part") {
        ObjectKind::Part
    } else if name.starts_with("seg") || name.ends_with(".m4s") {
        ObjectKind::Segment
    } else {
        ObjectKind::Other
    }
}

/// What a fresh disk hit puts into the memory tier: the object itself, or, for a
/// zero-copy body that borrows the store mapping (`[cache.disk] zero_copy`), a heap
/// copy when the memory tier will keep it — a body held in memory would pin its
/// disk segment against reuse for as long as it stays there.
fn promoted(object: &CachedObject, memory: &MemoryTier) -> CachedObject {
    if object.weight() as u64 > memory.max_object_bytes()
        || cache::disk::mapped::store_slice(&object.body).is_none()
    {
        return object.clone();
    }
    CachedObject {
        meta: object.meta.clone(),
        body: Bytes::copy_from_slice(&object.body),
    }
}

/// The bounded queue of the one disk writer thread.
#[derive(Clone)]
struct DiskQueue {
    tx: std::sync::mpsc::SyncSender<(Arc<str>, CachedObject)>,
    metrics: CacheMetrics,
}

impl DiskQueue {
    fn start(disk: Arc<DiskTier>, metrics: CacheMetrics) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(Arc<str>, CachedObject)>(DISK_QUEUE);
        let writer_metrics = metrics.clone();
        std::thread::Builder::new()
            .name("edge-disk-writer".into())
            .spawn(move || {
                for (key, object) in rx {
                    if disk_holds_this_version(&disk, &key, &object) {
                        // Promoted from disk earlier, now evicted from memory again:
                        // rewriting it would only churn the ring.
                        continue;
                    }
                    match disk.put(&key, &object) {
                        Ok(true) => writer_metrics.disk_writes.inc(),
                        Ok(false) => {}
                        Err(e) => tracing::warn!("disk tier write failed: {e}"),
                    }
                }
            })
            .expect("spawn the disk writer thread");
        Self { tx, metrics }
    }

    /// Queues a write unless the object is already useless or the queue is full.
    fn offer(&self, key: Arc<str>, object: CachedObject) {
        if object.meta.useful_until_ms() <= now_ms() {
            return;
        }
        if self.tx.try_send((key, object)).is_err() {
            self.metrics.disk_writes_dropped.inc();
        }
    }
}

/// Whether the disk tier already holds `object` or a newer version: one useful at
/// least as long (a refetched version's freshness ends later). Index only, no read.
fn disk_holds_this_version(disk: &DiskTier, key: &str, object: &CachedObject) -> bool {
    disk.useful_until_ms(key)
        .is_some_and(|until| until >= object.meta.useful_until_ms())
}

/// The memory tier's eviction listener: capacity evictions that admission finds
/// worth it (seen at least twice recently) go to the disk writer.
fn promotion_listener(
    queue: DiskQueue,
    admission: Arc<Admission>,
    metrics: CacheMetrics,
) -> cache::memory::EvictionListener {
    Box::new(move |key, object, cause| {
        if cause != cache::memory::EvictionCause::Capacity {
            return;
        }
        if !admission.admit(&key) {
            metrics.admission_rejected.inc();
            return;
        }
        queue.offer(key, object);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn kinds_follow_the_url_scheme() {
        assert_eq!(
            kind_of("/live/a/master.m3u8"),
            ObjectKind::MultivariantPlaylist
        );
        assert_eq!(
            kind_of("/live/a/video0/index.m3u8"),
            ObjectKind::MediaPlaylist
        );
        assert_eq!(kind_of("/live/a/manifest.mpd"), ObjectKind::Mpd);
        assert_eq!(kind_of("/live/a/video0/init-v2.mp4"), ObjectKind::Init);
        assert_eq!(kind_of("/live/a/video0/part3.1.m4s"), ObjectKind::Part);
        assert_eq!(kind_of("/live/a/video0/seg3.m4s"), ObjectKind::Segment);
        assert_eq!(kind_of("/favicon.ico"), ObjectKind::Other);
    }

    #[test]
    fn stored_objects_get_one_etag() {
        let object = CachedObject {
            meta: Arc::new(ObjectMeta {
                status: 200,
                headers: vec![("content-type".into(), "video/mp4".into())],
                stored_at_ms: 0,
                fresh_until_ms: 1,
                stale_while_revalidate_ms: 0,
                stale_if_error_ms: 0,
            }),
            body: Bytes::from_static(b"abc"),
        };
        let tagged = with_etag(&object);
        let etag = field(&tagged.meta, "etag").unwrap().to_owned();
        assert!(etag.starts_with("\"3-"));
        assert_eq!(field(&with_etag(&tagged).meta, "etag"), Some(etag.as_str()));
    }
}

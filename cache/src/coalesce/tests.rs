//! Coalescer tests through the async adapters (the sans-IO state has its own
//! tests in `inflight.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{mpsc, Barrier};

use super::*;
use crate::ObjectMeta;

/// How long a test waits for something that should happen at once.
const PROMPTLY: Duration = Duration::from_secs(2);

/// Awaits `future`, panicking if it is not done within [`PROMPTLY`]. The deadline
/// is polled first, so a future that misses a wake-up and would only complete when
/// re-polled by the timer fails the test (`tokio::time::timeout` polls the inner
/// future first and would hide that bug).
async fn promptly<F: std::future::Future>(future: F) -> F::Output {
    tokio::select! {
        biased;
        _ = tokio::time::sleep(PROMPTLY) => panic!("stalled: a reader was not woken"),
        output = future => output,
    }
}

fn meta() -> ObjectMeta {
    ObjectMeta {
        status: 200,
        headers: vec![("content-type".into(), "video/iso.segment".into())],
        stored_at_ms: 1,
        fresh_until_ms: 2,
        stale_while_revalidate_ms: 0,
        stale_if_error_ms: 0,
    }
}

fn chunk(i: usize) -> Bytes {
    Bytes::from(format!("chunk{i};"))
}

fn leader(joined: Joined) -> (Filler, BodyReader) {
    match joined {
        Joined::Leader { filler, reader } => (filler, reader),
        Joined::Follower { .. } => panic!("expected the leader"),
    }
}

fn follower(joined: Joined) -> BodyReader {
    match joined {
        Joined::Follower { reader } => reader,
        Joined::Leader { .. } => panic!("expected a follower"),
    }
}

async fn read_all(reader: BodyReader) -> Result<Vec<u8>, FetchError> {
    let mut stream = reader.into_stream();
    let mut body = Vec::new();
    while let Some(chunk) = promptly(stream.next()).await {
        body.extend_from_slice(&chunk?);
    }
    Ok(body)
}

#[test]
fn one_leader_for_many_joins_of_a_key() {
    let coalescer = Coalescer::new();
    let joined: Vec<Joined> = (0..10).map(|_| coalescer.join("k")).collect();
    let leaders = joined
        .iter()
        .filter(|j| matches!(j, Joined::Leader { .. }))
        .count();
    assert_eq!(leaders, 1);
    assert!(matches!(joined[0], Joined::Leader { .. }));
    assert_eq!(coalescer.in_flight(), 1);
    assert_eq!(coalescer.waiters("k"), 9);
    assert_eq!(coalescer.waiters("other"), 0);
}

#[test]
fn different_keys_are_independent() {
    let coalescer = Coalescer::new();
    let (a, _a_reader) = leader(coalescer.join("a"));
    let (b, _b_reader) = leader(coalescer.join("b"));
    assert_eq!(coalescer.in_flight(), 2);
    a.fail(FetchError::new("a broke"));
    assert_eq!(coalescer.in_flight(), 1);
    let _follower = follower(coalescer.join("b"));
    assert_eq!(coalescer.waiters("b"), 1);
    drop(b);
}

#[tokio::test]
async fn a_late_follower_gets_the_received_chunks_then_the_rest() {
    let coalescer = Coalescer::new();
    let (mut filler, reader) = leader(coalescer.join("seg1"));
    filler.set_meta(meta());
    for i in 0..3 {
        filler.push(chunk(i)).unwrap();
    }
    let mut late = follower(coalescer.join("seg1"));
    assert_eq!(*late.meta().await.unwrap(), meta());
    let mut late = late.into_stream();
    for i in 0..3 {
        assert_eq!(late.next().await.unwrap().unwrap(), chunk(i));
    }
    filler.push(chunk(3)).unwrap();
    filler.push(chunk(4)).unwrap();
    let object = filler.finish().unwrap();
    let rest: Vec<Bytes> = late.map(Result::unwrap).collect().await;
    assert_eq!(rest, vec![chunk(3), chunk(4)]);
    assert_eq!(
        object.body,
        Bytes::from("chunk0;chunk1;chunk2;chunk3;chunk4;")
    );
    assert_eq!(read_all(reader).await.unwrap(), object.body.to_vec());
    assert_eq!(coalescer.in_flight(), 0);
}

/// Read-while-write: the leader task pushes chunk k only when the test says so,
/// and the test receives chunk k from a follower before allowing chunk k + 1.
/// The body's length is never announced (as for an LL-HLS part).
#[tokio::test]
async fn followers_get_each_chunk_before_the_next_is_pushed() {
    let coalescer = Coalescer::new();
    let (mut filler, _reader) = leader(coalescer.join("part7.2"));
    let mut readers: Vec<_> = (0..3)
        .map(|_| follower(coalescer.join("part7.2")).into_stream())
        .collect();
    let (step, mut steps) = mpsc::channel::<usize>(1);
    let pushed = Arc::new(AtomicUsize::new(0));
    let pushed_by_leader = Arc::clone(&pushed);
    let leader_task = tokio::spawn(async move {
        filler.set_meta(meta());
        while let Some(k) = steps.recv().await {
            filler.push(chunk(k)).unwrap();
            pushed_by_leader.store(k + 1, Ordering::SeqCst);
        }
        filler.finish().unwrap()
    });
    for k in 0..5 {
        step.send(k).await.unwrap();
        for reader in &mut readers {
            let got = promptly(reader.next()).await;
            assert_eq!(got.unwrap().unwrap(), chunk(k));
            assert_eq!(pushed.load(Ordering::SeqCst), k + 1, "no chunk past k yet");
        }
    }
    drop(step);
    let object = leader_task.await.unwrap();
    for reader in &mut readers {
        assert!(promptly(reader.next()).await.is_none());
    }
    assert_eq!(
        object.body.len(),
        (0..5).map(|k| chunk(k).len()).sum::<usize>()
    );
}

#[tokio::test]
async fn failure_wakes_every_reader_and_the_next_join_leads() {
    let coalescer = Coalescer::new();
    let (mut filler, reader) = leader(coalescer.join("k"));
    filler.push(chunk(0)).unwrap();
    let mut waiting_for_meta = follower(coalescer.join("k"));
    let waiters: Vec<_> = (0..4)
        .map(|_| tokio::spawn(read_all(follower(coalescer.join("k")))))
        .collect();
    let meta_waiter = tokio::spawn(async move { waiting_for_meta.meta().await });
    tokio::task::yield_now().await; // let the readers park
    filler.fail(FetchError::new("upstream returned 503"));
    let error = FetchError::new("upstream returned 503");
    let expected = Err(error.clone());
    for waiter in waiters {
        assert_eq!(promptly(waiter).await.unwrap(), expected);
    }
    assert_eq!(meta_waiter.await.unwrap(), Err(error));
    assert_eq!(read_all(reader).await, expected);
    assert_eq!(coalescer.in_flight(), 0);
    let (retry, _) = leader(coalescer.join("k"));
    drop(retry);
}

#[tokio::test]
async fn a_dropped_filler_fails_the_fetch() {
    let coalescer = Coalescer::new();
    let (filler, reader) = leader(coalescer.join("k"));
    let follower_reader = follower(coalescer.join("k"));
    let pending = tokio::spawn(read_all(follower_reader));
    drop(filler);
    let abandoned = Err(FetchError::new(FetchError::ABANDONED));
    assert_eq!(pending.await.unwrap(), abandoned);
    assert_eq!(read_all(reader).await, abandoned);
    assert!(matches!(coalescer.join("k"), Joined::Leader { .. }));
}

#[tokio::test]
async fn a_reader_dropped_mid_body_affects_nobody() {
    let coalescer = Coalescer::new();
    let (mut filler, reader) = leader(coalescer.join("k"));
    let mut quitter = follower(coalescer.join("k")).into_stream();
    let stayer = follower(coalescer.join("k"));
    filler.set_meta(meta());
    filler.push(chunk(0)).unwrap();
    assert_eq!(quitter.next().await.unwrap().unwrap(), chunk(0));
    let parked = tokio::spawn(async move { quitter.next().await.map(|r| r.is_ok()) });
    tokio::task::yield_now().await;
    parked.abort(); // the client went away while parked
    assert!(parked.await.unwrap_err().is_cancelled());
    filler.push(chunk(1)).unwrap();
    let object = filler.finish().unwrap();
    assert_eq!(read_all(stayer).await.unwrap(), object.body.to_vec());
    assert_eq!(read_all(reader).await.unwrap(), object.body.to_vec());
}

#[tokio::test]
async fn a_body_past_the_limit_fails_everyone_and_releases_the_key() {
    let coalescer = Coalescer::with_max_object_bytes(16);
    let (mut filler, reader) = leader(coalescer.join("big"));
    filler.set_meta(meta());
    filler.push(Bytes::from_static(&[0; 16])).unwrap();
    let error = filler.push(Bytes::from_static(b"!")).unwrap_err();
    assert_eq!(error, FetchError::too_large(16));
    assert_eq!(coalescer.in_flight(), 0);
    assert_eq!(read_all(reader).await, Err(error.clone()));
    assert_eq!(filler.finish(), Err(error));
}

#[tokio::test]
async fn finish_with_runs_while_the_key_is_still_registered() {
    let coalescer = Coalescer::new();
    let (mut filler, _reader) = leader(coalescer.join("k"));
    filler.set_meta(meta());
    let only = chunk(0);
    filler.push(only.clone()).unwrap();
    let mut in_flight_during_hook = None;
    let object = filler
        .finish_with(|object| {
            assert_eq!(object.body, chunk(0));
            in_flight_during_hook = Some(coalescer.in_flight());
        })
        .unwrap();
    assert_eq!(in_flight_during_hook, Some(1));
    assert_eq!(coalescer.in_flight(), 0);
    assert_eq!(object.body.as_ptr(), only.as_ptr(), "one chunk: no copy");
}

#[test]
fn a_panicking_finish_hook_still_releases_the_key() {
    let coalescer = Coalescer::new();
    let (mut filler, _reader) = leader(coalescer.join("k"));
    filler.set_meta(meta());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        filler.finish_with(|_| panic!("memory insert blew up"))
    }));
    assert!(outcome.is_err());
    assert_eq!(coalescer.in_flight(), 0);
    assert!(matches!(coalescer.join("k"), Joined::Leader { .. }));
}

#[tokio::test]
async fn finishing_without_metadata_fails_the_readers() {
    let coalescer = Coalescer::new();
    let (mut filler, reader) = leader(coalescer.join("k"));
    filler.push(chunk(0)).unwrap();
    let error = FetchError::new(FetchError::NO_METADATA);
    assert_eq!(filler.finish(), Err(error.clone()));
    assert_eq!(read_all(reader).await, Err(error));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_concurrent_joiners_make_one_fetch() {
    const JOINERS: usize = 500;
    let coalescer = Coalescer::new();
    let all_joined = Arc::new(Barrier::new(JOINERS));
    let upstream_fetches = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..JOINERS)
        .map(|_| {
            let (coalescer, all_joined) = (coalescer.clone(), Arc::clone(&all_joined));
            let upstream_fetches = Arc::clone(&upstream_fetches);
            tokio::spawn(async move {
                match coalescer.join("live/a/720p/seg42.m4s") {
                    Joined::Leader { mut filler, reader } => {
                        all_joined.wait().await;
                        upstream_fetches.fetch_add(1, Ordering::SeqCst);
                        assert_eq!(coalescer.waiters(filler.key()), JOINERS - 1);
                        filler.set_meta(meta());
                        for i in 0..50 {
                            filler.push(chunk(i)).unwrap();
                            tokio::task::yield_now().await;
                        }
                        let object = filler.finish().unwrap();
                        let body = read_all(reader).await.unwrap();
                        assert_eq!(body, object.body.to_vec());
                        body
                    }
                    Joined::Follower { mut reader } => {
                        all_joined.wait().await;
                        assert_eq!(*reader.meta().await.unwrap(), meta());
                        read_all(reader).await.unwrap()
                    }
                }
            })
        })
        .collect();
    let expected: Vec<u8> = (0..50).flat_map(|i| chunk(i).to_vec()).collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), expected);
    }
    assert_eq!(upstream_fetches.load(Ordering::SeqCst), 1);
    assert_eq!(coalescer.in_flight(), 0);
}

//! [`ReadMode::IoUring`](super::ReadMode::IoUring): reads submitted to an io_uring
//! owned by one dedicated thread (one of the two places in this crate with `unsafe`).
//!
//! Callers (blocking threads, e.g. tokio's `spawn_blocking`) send a request down a
//! channel and block on a reply channel. The thread batches whatever requests are
//! waiting (up to [`QUEUE_DEPTH`]) into the submission queue, waits for at least one
//! completion, answers the completed ones and resubmits short reads for the rest.
//! Every buffer lives in the thread's in-flight table from submission until its
//! completion is reaped; the thread leaves only when nothing is in flight.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use io_uring::{opcode, types, IoUring};

use super::reader::StoreRead;
use super::DiskError;

/// Submission queue entries of the ring, and the most reads in flight at once.
pub(crate) const QUEUE_DEPTH: u32 = 64;

/// One read the thread owes an answer.
struct Request {
    file: usize,
    offset: u64,
    buf: Vec<u8>,
    /// Bytes already read into `buf` (short reads are resubmitted for the rest).
    done: usize,
    reply: mpsc::SyncSender<std::io::Result<Vec<u8>>>,
}

/// The handle callers share; dropping it stops and joins the thread.
pub(crate) struct UringReader {
    tx: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
    paths: Vec<PathBuf>,
}

impl UringReader {
    /// Starts the ring thread over `files`; fails if the kernel refuses a ring.
    pub(crate) fn start(files: Vec<Arc<File>>, paths: Vec<PathBuf>) -> Result<Self, DiskError> {
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("ferrocast-disk-uring".into())
            .spawn(move || match IoUring::new(QUEUE_DEPTH) {
                Ok(ring) => {
                    let _ = ready_tx.send(Ok(()));
                    run(ring, &files, &rx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(DiskError::IoUringUnavailable)?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(UringReader {
                tx: Some(tx),
                thread: Some(thread),
                paths,
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(DiskError::IoUringUnavailable(e))
            }
            Err(_) => Err(DiskError::ReaderStopped),
        }
    }
}

impl StoreRead for UringReader {
    fn read(&self, file: usize, offset: u64, len: usize) -> Result<Vec<u8>, DiskError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let req = Request {
            file,
            offset,
            buf: vec![0; len],
            done: 0,
            reply,
        };
        let tx = self.tx.as_ref().ok_or(DiskError::ReaderStopped)?;
        tx.send(req).map_err(|_| DiskError::ReaderStopped)?;
        match answer.recv() {
            Ok(Ok(buf)) => Ok(buf),
            Ok(Err(e)) => Err(DiskError::io(&self.paths[file], e)),
            Err(_) => Err(DiskError::ReaderStopped),
        }
    }
}

impl Drop for UringReader {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The ring thread's loop (see the module guide).
fn run(mut ring: IoUring, files: &[Arc<File>], rx: &mpsc::Receiver<Request>) {
    let mut slots: Vec<Option<Request>> = (0..QUEUE_DEPTH).map(|_| None).collect();
    let mut in_flight = 0usize;
    let mut retry: Vec<usize> = Vec::new();
    let mut open = true;
    loop {
        // Resubmit short reads, then take new requests into free slots.
        for slot in retry.drain(..) {
            submit(
                &mut ring,
                files,
                slot,
                slots[slot].as_mut().expect("retried slot"),
            );
        }
        while open && in_flight < QUEUE_DEPTH as usize {
            let next = if in_flight == 0 {
                rx.recv().map_err(|_| mpsc::TryRecvError::Disconnected)
            } else {
                rx.try_recv()
            };
            match next {
                Ok(req) => {
                    let slot = slots.iter().position(Option::is_none).expect("free slot");
                    let req = slots[slot].insert(req);
                    submit(&mut ring, files, slot, req);
                    in_flight += 1;
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => open = false,
            }
        }
        if in_flight == 0 {
            return; // the channel closed and nothing is in flight
        }
        if let Err(e) = ring.submit_and_wait(1) {
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            // The ring is unusable; but the kernel may still own buffers, so they
            // are leaked rather than freed, and every waiter is told.
            for req in slots.iter_mut().filter_map(Option::take) {
                let _ = req
                    .reply
                    .send(Err(std::io::Error::new(e.kind(), e.to_string())));
                std::mem::forget(req.buf);
            }
            return;
        }
        let done: Vec<(usize, i32)> = ring
            .completion()
            .map(|c| (c.user_data() as usize, c.result()))
            .collect();
        for (slot, res) in done {
            let req = slots[slot].as_mut().expect("completed slot");
            if res == -libc_errno::EINTR || res == -libc_errno::EAGAIN {
                retry.push(slot);
                continue;
            }
            let outcome = if res < 0 {
                Err(std::io::Error::from_raw_os_error(-res))
            } else if res == 0 {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            } else {
                req.done += res as usize;
                if req.done < req.buf.len() {
                    retry.push(slot);
                    continue;
                }
                Ok(())
            };
            let req = slots[slot].take().expect("completed slot");
            in_flight -= 1;
            let _ = req.reply.send(outcome.map(|()| req.buf));
        }
    }
}

/// Errno values the loop retries on (Linux numbering, as io_uring reports them).
mod libc_errno {
    pub(super) const EINTR: i32 = 4;
    pub(super) const EAGAIN: i32 = 11;
}

/// Pushes the read for the unread rest of `req` (tagged with its `slot`).
#[allow(unsafe_code)]
fn submit(ring: &mut IoUring, files: &[Arc<File>], slot: usize, req: &mut Request) {
    let rest = &mut req.buf[req.done..];
    let entry = opcode::Read::new(
        types::Fd(files[req.file].as_raw_fd()),
        rest.as_mut_ptr(),
        rest.len() as u32,
    )
    .offset(req.offset + req.done as u64)
    .build()
    .user_data(slot as u64);
    // SAFETY: the kernel writes up to `rest.len()` bytes into `rest`, which belongs to
    // `req.buf`, a heap buffer owned by the in-flight slot `slot`; `run` neither drops
    // nor reallocates it until this read's completion has been reaped (on a ring
    // failure it leaks it). The fd stays open because `run` borrows the `Arc<File>`s
    // for as long as it runs. At most QUEUE_DEPTH reads are in flight, one per slot,
    // so the queue (QUEUE_DEPTH entries, flushed by each submit_and_wait) has room.
    let pushed = unsafe { ring.submission().push(&entry) };
    pushed.expect("submission queue has room for every slot");
}

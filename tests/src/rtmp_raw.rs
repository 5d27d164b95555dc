//! # Hand-made RTMP bytes for hostile-input tests
//!
//! Just enough of the RTMP wire format (Adobe RTMP spec 1.0, §5.2 handshake, §5.3
//! chunking, §5.4.1 Set Chunk Size) to send what a real encoder never would: a
//! truncated handshake, a huge chunk size, a message longer than any limit. And a
//! way to watch the server close the connection.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

/// RTMP handshake packet size (C1/S1/C2/S2), §5.2.
pub const HANDSHAKE_SIZE: usize = 1536;

/// Deterministic pseudo-random bytes (xorshift64*), so a failing run can be replayed.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

/// Connects to `addr` with short write timeouts.
pub fn connect(addr: SocketAddr) -> Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("connect {addr}"))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// Performs the simple handshake (§5.2.2–5.2.4): C0+C1, read S0+S1+S2, send C2
/// (an echo of S1). C1's zero field marks it as a simple, not a digest, handshake.
pub fn handshake(s: &mut TcpStream) -> Result<()> {
    let mut c0c1 = vec![3u8];
    c0c1.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
    c0c1.extend_from_slice(&pseudo_random(HANDSHAKE_SIZE - 8, 7));
    s.write_all(&c0c1)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut s0s1s2 = vec![0u8; 1 + 2 * HANDSHAKE_SIZE];
    s.read_exact(&mut s0s1s2)
        .context("reading S0+S1+S2 from the server")?;
    ensure!(s0s1s2[0] == 3, "S0 version {} (expected 3)", s0s1s2[0]);
    s.write_all(&s0s1s2[1..=HANDSHAKE_SIZE])?;
    Ok(())
}

/// One message as a single chunk with a type-0 header (§5.3.1.1–5.3.1.2), without
/// splitting `payload` (so `payload` must fit in the current chunk size, or the
/// caller wants it not to). `declared_len` lets a test lie about the length.
pub fn type0_chunk(
    csid: u8,
    type_id: u8,
    stream_id: u32,
    declared_len: u32,
    payload: &[u8],
) -> Vec<u8> {
    assert!((2..64).contains(&csid), "one-byte basic header only");
    let mut v = vec![csid]; // fmt 0
    v.extend_from_slice(&[0, 0, 0]); // timestamp
    v.extend_from_slice(&declared_len.to_be_bytes()[1..]); // 24-bit length
    v.push(type_id);
    v.extend_from_slice(&stream_id.to_le_bytes());
    v.extend_from_slice(payload);
    v
}

/// Set Chunk Size (§5.4.1: message type 1 on chunk stream 2, stream 0).
pub fn set_chunk_size(size: u32) -> Vec<u8> {
    type0_chunk(2, 1, 0, 4, &size.to_be_bytes())
}

/// How a connection ended.
#[derive(Debug)]
pub struct Closed {
    /// Time until the server closed (EOF or reset) — `None` if it stayed open.
    pub after: Option<Duration>,
    /// Bytes the server sent meanwhile.
    pub received: usize,
}

/// Reads (and discards) until the server closes the connection or `timeout`.
pub fn wait_closed(s: &mut TcpStream, timeout: Duration) -> Result<Closed> {
    let start = Instant::now();
    let mut received = 0;
    let mut buf = [0u8; 8192];
    loop {
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Ok(Closed {
                after: None,
                received,
            });
        }
        s.set_read_timeout(Some(left.min(Duration::from_millis(500))))?;
        match s.read(&mut buf) {
            Ok(0) => {
                return Ok(Closed {
                    after: Some(start.elapsed()),
                    received,
                })
            }
            Ok(n) => received += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset
                        | ErrorKind::ConnectionAborted
                        | ErrorKind::BrokenPipe
                ) =>
            {
                return Ok(Closed {
                    after: Some(start.elapsed()),
                    received,
                })
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writes `data`, ignoring errors caused by the server having closed already.
pub fn write_lenient(s: &mut TcpStream, data: &[u8]) {
    let _ = s.write_all(data);
    let _ = s.flush();
}

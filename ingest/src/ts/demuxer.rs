//! The sans-IO transport stream demuxer: bytes in ([`TsDemuxer::handle_input`]),
//! events out ([`TsDemuxer::poll_event`]).
//!
//! - Packets are found by their sync byte; after garbage the demuxer resynchronises
//!   on two sync bytes 188 apart and counts a sync loss.
//! - The PAT names the PMT; a PMT (first or a new version) announces the elementary
//!   streams ([`TsEvent::Streams`]). A stream dropped by a new PMT has its pending
//!   PES flushed; a stream whose codec changes restarts.
//! - PES packets are reassembled per PID and emitted when the next one starts (or
//!   when a bounded `PES_packet_length` is reached), with 33-bit PTS/DTS unwrapped.
//! - Continuity-counter gaps are counted and the PES in progress continues (players
//!   prefer a damaged frame to a gap); a discontinuity is flagged only when the
//!   timestamps jump ([`timestamps::JUMP_TICKS`]) or the adaptation field says so.
//! - Everything is bounded: [`MAX_PES_BYTES`] per PES, [`MAX_STREAMS`] streams,
//!   [`MAX_QUEUED_EVENTS`] events waiting.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use bytes::{Bytes, BytesMut};

use super::packet::{self, PACKET_LEN, SYNC_BYTE};
use super::pes;
use super::psi::{self, stream_type, SectionAssembler};
use super::timestamps::Unwrapper;

/// Largest PES packet reassembled; larger ones are dropped and counted.
pub const MAX_PES_BYTES: usize = 16 * 1024 * 1024;
/// Elementary streams followed at most.
pub const MAX_STREAMS: usize = 32;
/// Events queued at most; the caller polls after each input.
pub const MAX_QUEUED_EVENTS: usize = 4096;

/// The codec of an elementary stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EsCodec {
    /// H.264 Annex B.
    H264,
    /// H.265 Annex B.
    H265,
    /// AAC in ADTS.
    Aac,
    /// Opus (private PES with registration "Opus"; see [`super::opus_descriptor`]).
    Opus,
}

impl EsCodec {
    fn of(s: &psi::PmtStream) -> Option<Self> {
        match s.stream_type {
            stream_type::H264 => Some(EsCodec::H264),
            stream_type::H265 => Some(EsCodec::H265),
            stream_type::AAC_ADTS => Some(EsCodec::Aac),
            stream_type::PRIVATE_PES if s.registration == Some(*b"Opus") => Some(EsCodec::Opus),
            _ => None,
        }
    }
}

/// An elementary stream the demuxer follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsInfo {
    /// Its PID.
    pub pid: u16,
    /// Its codec.
    pub codec: EsCodec,
    /// ISO 639 language from the PMT.
    pub language: Option<String>,
    /// For Opus, the PMT's Opus audio descriptor body (`channel_config_code` on),
    /// when present ([`super::psi::PmtStream::opus_audio`]).
    pub opus_audio: Option<Vec<u8>>,
}

/// One reassembled PES payload (an access unit or several audio frames).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PesPacket {
    /// The stream's PID.
    pub pid: u16,
    /// The stream's codec.
    pub codec: EsCodec,
    /// Presentation time, 90 kHz, unwrapped.
    pub pts: Option<u64>,
    /// Decoding time, 90 kHz, unwrapped (`None`: same as `pts`).
    pub dts: Option<u64>,
    /// The elementary stream bytes.
    pub data: Bytes,
    /// The packet that started it had `random_access_indicator` set.
    pub random_access: bool,
    /// The timeline jumped here (or the adaptation field said so).
    pub discontinuity: bool,
}

/// What the demuxer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsEvent {
    /// The set of followed streams (first PMT, or a changed one).
    Streams(Vec<EsInfo>),
    /// A PES payload.
    Pes(PesPacket),
}

/// Counters for logs and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TsStats {
    /// Packets read.
    pub packets: u64,
    /// Times the demuxer had to search for the sync byte.
    pub sync_losses: u64,
    /// Continuity-counter gaps.
    pub continuity_errors: u64,
    /// Packets with `transport_error_indicator`.
    pub transport_errors: u64,
    /// PSI sections with a bad CRC or layout.
    pub psi_errors: u64,
    /// PES packets dropped (bad header, too large, queue full).
    pub pes_dropped: u64,
    /// PMT versions seen after the first.
    pub pmt_changes: u64,
}

#[derive(Debug)]
struct EsState {
    info: EsInfo,
    last_cc: Option<u8>,
    pes: Option<Assembling>,
    pts: Unwrapper,
    dts: Unwrapper,
    /// Size of the previous PES: the next one's buffer is allocated at this size
    /// once, instead of growing by doubling (video PES are unbounded, §2.4.3.7).
    last_pes_len: usize,
}

/// Maps keyed by PID, looked up once or more per TS packet. A PID is 13 bits, so it
/// is its own hash: SipHash per packet showed up in SRT ingest profiles.
type PidMap<V> = HashMap<u16, V, BuildHasherDefault<PidHasher>>;

/// The identity hash of a PID (see [`PidMap`]).
#[derive(Debug, Default)]
struct PidHasher(u64);

impl Hasher for PidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u16(&mut self, pid: u16) {
        self.0 = u64::from(pid);
    }
}

#[derive(Debug)]
struct Assembling {
    buf: BytesMut,
    /// Total expected (header + payload), when `PES_packet_length` is set.
    expected: Option<usize>,
    random_access: bool,
    discontinuity: bool,
    oversized: bool,
}

/// The demuxer; see the module docs.
#[derive(Debug, Default)]
pub struct TsDemuxer {
    partial: Vec<u8>,
    pmt_pid: Option<u16>,
    pmt_version: Option<u8>,
    sections: PidMap<SectionAssembler>,
    streams: PidMap<EsState>,
    events: VecDeque<TsEvent>,
    stats: TsStats,
}

impl TsDemuxer {
    /// A demuxer waiting for a PAT.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counters so far.
    pub fn stats(&self) -> TsStats {
        self.stats
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<TsEvent> {
        self.events.pop_front()
    }

    /// Feeds bytes (any split: whole SRT payloads of 7 packets, single bytes…).
    pub fn handle_input(&mut self, mut input: &[u8]) {
        if !self.partial.is_empty() {
            let need = PACKET_LEN - self.partial.len();
            let take = need.min(input.len());
            self.partial.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.partial.len() < PACKET_LEN {
                return;
            }
            let packet = std::mem::take(&mut self.partial);
            if packet[0] == SYNC_BYTE {
                self.packet(packet[..].try_into().expect("one packet"));
            } else {
                // A partial that turned out not to be a packet: rescan it with the input.
                self.stats.sync_losses += 1;
                let mut joined = packet;
                joined.extend_from_slice(input);
                return self.scan(&joined);
            }
        }
        self.scan(input);
    }

    fn scan(&mut self, mut input: &[u8]) {
        while !input.is_empty() {
            if input[0] != SYNC_BYTE {
                self.stats.sync_losses += 1;
                match find_sync(input) {
                    Some(at) => input = &input[at..],
                    None => return,
                }
                continue;
            }
            if input.len() < PACKET_LEN {
                self.partial.extend_from_slice(input);
                return;
            }
            let (packet, rest) = input.split_at(PACKET_LEN);
            self.packet(packet.try_into().expect("one packet"));
            input = rest;
        }
    }

    /// Flushes every PES in progress (end of stream).
    pub fn finish(&mut self) {
        let pids: Vec<u16> = self.streams.keys().copied().collect();
        for pid in pids {
            self.flush(pid);
        }
    }

    fn packet(&mut self, bytes: &[u8; PACKET_LEN]) {
        let Ok(p) = packet::parse(bytes) else {
            self.stats.sync_losses += 1;
            return;
        };
        self.stats.packets += 1;
        if p.transport_error {
            self.stats.transport_errors += 1;
            return;
        }
        if p.pid == packet::NULL_PID || !p.has_payload {
            if let Some(es) = self.streams.get_mut(&p.pid) {
                es.last_cc = Some(p.continuity);
            }
            return;
        }
        if p.pid == 0 || Some(p.pid) == self.pmt_pid {
            let sections = self
                .sections
                .entry(p.pid)
                .or_default()
                .push(p.unit_start, p.payload);
            for s in sections {
                self.section(p.pid, &s);
            }
            return;
        }
        let Some(es) = self.streams.get_mut(&p.pid) else {
            return;
        };
        // §2.4.3.3: the counter grows by one per packet with payload; one repeat is
        // allowed (a duplicate packet, dropped here).
        if let Some(last) = es.last_cc {
            if p.continuity == last && !p.discontinuity {
                return;
            }
            if p.continuity != (last + 1) & 0x0f && !p.discontinuity {
                self.stats.continuity_errors += 1;
            }
        }
        es.last_cc = Some(p.continuity);
        if p.unit_start {
            self.flush(p.pid);
            let es = self.streams.get_mut(&p.pid).expect("present");
            let mut buf =
                BytesMut::with_capacity(es.last_pes_len.clamp(p.payload.len(), MAX_PES_BYTES));
            buf.extend_from_slice(p.payload);
            es.pes = Some(Assembling {
                buf,
                expected: None,
                random_access: p.random_access,
                discontinuity: p.discontinuity,
                oversized: false,
            });
        } else if let Some(a) = es.pes.as_mut() {
            if a.buf.len() + p.payload.len() > MAX_PES_BYTES {
                a.oversized = true;
            } else {
                a.buf.extend_from_slice(p.payload);
            }
        }
        // A bounded PES is complete once its announced length has arrived.
        let es = self.streams.get_mut(&p.pid).expect("present");
        if let Some(a) = es.pes.as_mut() {
            if a.expected.is_none() && a.buf.len() >= 6 {
                let len = usize::from(u16::from_be_bytes([a.buf[4], a.buf[5]]));
                a.expected = Some(if len == 0 { usize::MAX } else { 6 + len });
            }
            if a.expected.is_some_and(|e| a.buf.len() >= e) {
                self.flush(p.pid);
            }
        }
    }

    fn flush(&mut self, pid: u16) {
        let Some(es) = self.streams.get_mut(&pid) else {
            return;
        };
        let Some(a) = es.pes.take() else {
            return;
        };
        es.last_pes_len = a.buf.len();
        if a.oversized {
            self.stats.pes_dropped += 1;
            return;
        }
        let header = match pes::parse_header(&a.buf) {
            Ok(h) => h,
            Err(_) => {
                self.stats.pes_dropped += 1;
                return;
            }
        };
        let end = match a.expected {
            Some(e) if e != usize::MAX => e.min(a.buf.len()),
            _ => a.buf.len(),
        };
        let mut discontinuity = a.discontinuity;
        let pts = header.pts.map(|t| {
            let (v, jumped) = es.pts.unwrap(t);
            discontinuity |= jumped;
            v
        });
        let dts = header.dts.map(|t| es.dts.unwrap(t).0);
        let data = a.buf.freeze().slice(header.header_len.min(end)..end);
        if self.events.len() >= MAX_QUEUED_EVENTS {
            self.stats.pes_dropped += 1;
            return;
        }
        self.events.push_back(TsEvent::Pes(PesPacket {
            pid,
            codec: es.info.codec,
            pts,
            dts,
            data,
            random_access: a.random_access,
            discontinuity,
        }));
    }

    fn section(&mut self, pid: u16, section: &[u8]) {
        match (pid, section.first()) {
            (0, Some(0x00)) => match psi::parse_pat(section) {
                Ok(Some(pmt_pid)) => {
                    if self.pmt_pid != Some(pmt_pid) {
                        self.pmt_pid = Some(pmt_pid);
                        self.pmt_version = None;
                    }
                }
                Ok(None) => {}
                Err(_) => self.stats.psi_errors += 1,
            },
            (_, Some(0x02)) if Some(pid) == self.pmt_pid => match psi::parse_pmt(section) {
                Ok(pmt) => self.pmt(pmt),
                Err(_) => self.stats.psi_errors += 1,
            },
            _ => {}
        }
    }

    fn pmt(&mut self, pmt: psi::Pmt) {
        if self.pmt_version == Some(pmt.version) {
            return;
        }
        if self.pmt_version.is_some() {
            self.stats.pmt_changes += 1;
        }
        self.pmt_version = Some(pmt.version);
        let wanted: Vec<EsInfo> = pmt
            .streams
            .iter()
            .filter_map(|s| {
                EsCodec::of(s).map(|codec| EsInfo {
                    pid: s.pid,
                    codec,
                    language: s.language.clone(),
                    opus_audio: s.opus_audio.clone().filter(|_| codec == EsCodec::Opus),
                })
            })
            .take(MAX_STREAMS)
            .collect();
        // Streams gone or changed: flush what they had, then forget them.
        let stale: Vec<u16> = self
            .streams
            .iter()
            .filter(|(pid, es)| {
                !wanted
                    .iter()
                    .any(|w| w.pid == **pid && w.codec == es.info.codec)
            })
            .map(|(pid, _)| *pid)
            .collect();
        for pid in stale {
            self.flush(pid);
            self.streams.remove(&pid);
        }
        for info in &wanted {
            self.streams.entry(info.pid).or_insert_with(|| EsState {
                info: info.clone(),
                last_cc: None,
                pes: None,
                pts: Unwrapper::default(),
                dts: Unwrapper::default(),
                last_pes_len: 0,
            });
        }
        self.events.push_back(TsEvent::Streams(wanted));
    }
}

/// The first offset where a sync byte is followed by another one packet later (or
/// the input ends before that can be checked).
fn find_sync(input: &[u8]) -> Option<usize> {
    (1..input.len()).find(|&i| {
        input[i] == SYNC_BYTE && input.get(i + PACKET_LEN).is_none_or(|&b| b == SYNC_BYTE)
    })
}

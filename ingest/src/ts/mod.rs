//! MPEG-2 transport stream demultiplexing (ISO/IEC 13818-1), sans-IO, for SRT ingest.
//!
//! - [`packet`]: the 188-byte packet and its adaptation field (PCR, flags);
//! - [`psi`]: section reassembly, PAT and PMT, CRC-32;
//! - [`pes`]: PES headers and 33-bit PTS/DTS;
//! - [`opus_descriptor`], [`opus_pes`]: Opus in TS (the PMT's channel layout, the
//!   control headers in the PES payload, packet durations);
//! - [`timestamps`]: unwrapping the 33-bit clock and spotting jumps;
//! - [`demuxer`]: [`TsDemuxer`], bytes in, [`TsEvent`]s out;
//! - [`frames`]: [`TsFrames`], PES packets to the packager's tracks and frames.

pub mod demuxer;
pub mod frames;
pub mod opus_descriptor;
pub mod opus_pes;
pub mod packet;
pub mod pes;
pub mod psi;
pub mod timestamps;

pub use demuxer::{EsCodec, EsInfo, PesPacket, TsDemuxer, TsEvent, TsStats};
pub use frames::{FrameEvent, FrameStats, TsFrames};

//! x264's packets in the packager's media model.
//!
//! x264 writes Annex B (start codes). The encoder is opened *without*
//! `AV_CODEC_FLAG_GLOBAL_HEADER`, so x264 repeats its SPS and PPS in front of every
//! IDR frame (`b_repeat_headers`) and we never need `extradata`, which ffmpeg-next
//! exposes only through `unsafe` (this crate forbids it; see docs/decisions.md).
//! Each packet is split with [`crate::codec::annex_b::nal_units`] (the splitter
//! MPEG-TS ingest uses), its parameter sets become the `avcC` record through
//! [`AvcConfig::from_parameter_sets`], and the rest of its NAL units are written
//! with 4-byte length prefixes (ISO/IEC 14496-15 §5.3.2 sample format). AUDs are
//! dropped; SEI (x264's version string, A/53 captions) is kept.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::TranscodeError;
use super::sink::LadderSink;
use crate::codec::annex_b::nal_units;
use crate::codec::avc::{nal_unit_type, AvcConfig};
use crate::fmp4::VIDEO_TIMESCALE;
use crate::media::{CodecConfig, Frame, MediaKind, Track, TrackId};

/// NAL unit types (ITU-T H.264 Table 7-1).
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_AUD: u8 = 9;

/// Turns one rendition's Annex B packets into [`Track`]s and [`Frame`]s.
#[derive(Debug)]
pub(crate) struct AvcOutput {
    track: TrackId,
    name: String,
    announced: Option<AvcConfig>,
}

impl AvcOutput {
    /// Output for video track `track`, named `name`.
    pub(crate) fn new(track: TrackId, name: &str) -> Self {
        Self {
            track,
            name: name.to_owned(),
            announced: None,
        }
    }

    /// The configuration announced so far, if any.
    pub(crate) fn config(&self) -> Option<&AvcConfig> {
        self.announced.as_ref()
    }

    /// Converts one packet (times in [`VIDEO_TIMESCALE`] ticks) and hands it to
    /// `sink`, announcing the track first when its parameter sets are new.
    pub(crate) fn packet(
        &mut self,
        data: &[u8],
        pts: i64,
        dts: i64,
        sink: &mut dyn LadderSink,
    ) -> Result<(), TranscodeError> {
        let mut body = BytesMut::with_capacity(data.len() + 16);
        let (mut sps, mut pps) = (None, None);
        let mut idr = false;
        for unit in nal_units(data) {
            match nal_unit_type(unit[0]) {
                NAL_SPS => sps = Some(unit),
                NAL_PPS => pps = Some(unit),
                NAL_AUD => {}
                t => {
                    idr |= t == NAL_IDR;
                    body.put_u32(unit.len() as u32);
                    body.put_slice(unit);
                }
            }
        }
        if let (Some(sps), Some(pps)) = (sps, pps) {
            self.announce(sps, pps, sink)?;
        }
        if self.announced.is_none() {
            return Err(bitstream("a frame before any SPS/PPS"));
        }
        if body.is_empty() {
            return Err(bitstream("a packet without a picture"));
        }
        sink.frame(Frame {
            kind: MediaKind::Video,
            track: self.track,
            dts,
            pts,
            keyframe: idr,
            data: body.freeze(),
        })?;
        Ok(())
    }

    fn announce(
        &mut self,
        sps: &[u8],
        pps: &[u8],
        sink: &mut dyn LadderSink,
    ) -> Result<(), TranscodeError> {
        if let Some(known) = &self.announced {
            if known.sps.first().map(|s| &s[..]) == Some(sps)
                && known.pps.first().map(|p| &p[..]) == Some(pps)
            {
                return Ok(());
            }
        }
        let config = AvcConfig::from_parameter_sets(
            &[Bytes::copy_from_slice(sps)],
            &[Bytes::copy_from_slice(pps)],
        )
        .map_err(|e| bitstream(&e.to_string()))?;
        sink.track(Track {
            id: self.track,
            codec: CodecConfig::H264(config.clone()),
            timescale: VIDEO_TIMESCALE,
            language: None,
            name: Some(self.name.clone()),
        })?;
        self.announced = Some(config);
        Ok(())
    }
}

fn bitstream(reason: &str) -> TranscodeError {
    TranscodeError::Bitstream {
        encoder: "libx264",
        reason: reason.to_owned(),
    }
}

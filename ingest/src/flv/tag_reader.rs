//! A byte cursor over a tag body, and the Enhanced RTMP header parts that audio and
//! video share: the ModEx loop and the multitrack layout (Enhanced RTMP v2,
//! "ExAudioTagHeader" / "ExVideoTagHeader" and their tag body sections).
//!
//! ModEx (packet type 7): `modExDataSize = UI8 + 1` (if 256: `UI16 + 1`), then that
//! many bytes, then one byte whose high nibble is the ModEx type and low nibble the
//! next packet type. The only defined ModEx is a nanosecond timestamp offset; our
//! timescale is milliseconds, so it is skipped.
//!
//! Multitrack: one byte, high nibble `AvMultitrackType` (0 OneTrack, 1 ManyTracks,
//! 2 ManyTracksManyCodecs), low nibble the real packet type; then a FourCC unless
//! ManyTracksManyCodecs. Each track in the body is `[FourCC if many codecs]
//! trackId:UI8 [sizeOfTrack:UI24 unless OneTrack] data`.

use bytes::Bytes;

use super::{FlvError, FourCc};

/// `AvMultitrackType` values.
pub mod multitrack_type {
    /// One track, with a track id.
    pub const ONE_TRACK: u8 = 0;
    /// Several tracks of one codec.
    pub const MANY_TRACKS: u8 = 1;
    /// Several tracks, each with its own codec.
    pub const MANY_TRACKS_MANY_CODECS: u8 = 2;
}

/// A cursor that hands out zero-copy slices of the tag body.
#[derive(Debug)]
pub struct TagReader {
    body: Bytes,
    pos: usize,
}

impl TagReader {
    /// Starts at the beginning of `body`.
    pub fn new(body: Bytes) -> Self {
        Self { body, pos: 0 }
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.body.len() - self.pos
    }

    /// The next `n` bytes as a slice of the body.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<Bytes, FlvError> {
        if self.remaining() < n {
            return Err(FlvError::Truncated(what));
        }
        self.pos += n;
        Ok(self.body.slice(self.pos - n..self.pos))
    }

    /// Everything left.
    pub fn rest(&mut self) -> Bytes {
        let b = self.body.slice(self.pos..);
        self.pos = self.body.len();
        b
    }

    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, FlvError> {
        Ok(self.bytes(1, what)?[0])
    }

    /// Unsigned 16-bit big-endian.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, FlvError> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Unsigned 24-bit big-endian.
    pub fn u24(&mut self, what: &'static str) -> Result<u32, FlvError> {
        let b = self.bytes(3, what)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// Signed 24-bit big-endian (FLV `SI24`, composition time offsets).
    pub fn si24(&mut self, what: &'static str) -> Result<i32, FlvError> {
        let v = self.u24(what)?;
        Ok(((v << 8) as i32) >> 8)
    }

    /// A FourCC.
    pub fn fourcc(&mut self, what: &'static str) -> Result<FourCc, FlvError> {
        let b = self.bytes(4, what)?;
        Ok([b[0], b[1], b[2], b[3]])
    }
}

/// The Enhanced RTMP header after ModEx and multitrack bytes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExHeader {
    /// The real packet type (never ModEx nor Multitrack).
    pub packet_type: u8,
    /// The multitrack type, if the tag is multitrack.
    pub multitrack: Option<u8>,
    /// The codec of every track, unless ManyTracksManyCodecs.
    pub fourcc: Option<FourCc>,
}

/// Reads ModEx entries and the multitrack byte that follow the first byte.
/// `modex` and `multitrack` are the packet type values for this media kind.
pub fn read_ex_header(
    r: &mut TagReader,
    mut packet_type: u8,
    modex: u8,
    multitrack: u8,
) -> Result<ExHeader, FlvError> {
    while packet_type == modex {
        let mut size = usize::from(r.u8("ModEx size")?) + 1;
        if size == 256 {
            size = usize::from(r.u16("ModEx size")?) + 1;
        }
        r.bytes(size, "ModEx data")?; // TimestampOffsetNano: below our 1 ms timescale
        packet_type = r.u8("ModEx type")? & 0x0F;
    }
    if packet_type == multitrack {
        let b = r.u8("multitrack type")?;
        let (mt, pt) = (b >> 4, b & 0x0F);
        let fourcc = if mt == multitrack_type::MANY_TRACKS_MANY_CODECS {
            None
        } else {
            Some(r.fourcc("FourCC")?)
        };
        return Ok(ExHeader {
            packet_type: pt,
            multitrack: Some(mt),
            fourcc,
        });
    }
    Ok(ExHeader {
        packet_type,
        multitrack: None,
        fourcc: Some(r.fourcc("FourCC")?),
    })
}

/// One track's share of a (possibly multitrack) enhanced tag body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackBody {
    /// The multitrack track id, 0 when not multitrack.
    pub track_id: u8,
    /// The track's codec.
    pub fourcc: FourCc,
    /// Its bytes.
    pub data: Bytes,
}

/// Splits the rest of the body into per-track bodies according to `header`.
pub fn split_tracks(r: &mut TagReader, header: &ExHeader) -> Result<Vec<TrackBody>, FlvError> {
    let Some(mt) = header.multitrack else {
        let fourcc = header.fourcc.unwrap_or(*b"\0\0\0\0");
        return Ok(vec![TrackBody {
            track_id: 0,
            fourcc,
            data: r.rest(),
        }]);
    };
    let mut tracks = Vec::new();
    loop {
        let fourcc = match header.fourcc {
            Some(f) => f,
            None => r.fourcc("track FourCC")?,
        };
        let track_id = r.u8("track id")?;
        if mt == multitrack_type::ONE_TRACK {
            tracks.push(TrackBody {
                track_id,
                fourcc,
                data: r.rest(),
            });
            return Ok(tracks);
        }
        let size = r.u24("track size")? as usize;
        if size > r.remaining() {
            return Err(FlvError::TrackSizeOverrun {
                size,
                left: r.remaining(),
            });
        }
        tracks.push(TrackBody {
            track_id,
            fourcc,
            data: r.bytes(size, "track data")?,
        });
        if r.remaining() == 0 {
            return Ok(tracks);
        }
    }
}

//! # Reading the tags of an FLV file (FLV spec v10.1, Annex E.2–E.4)
//!
//! The load bench replays an ffmpeg-made `.flv` clip: a 9-byte header,
//! then `PreviousTagSize0` and a list of tags, each `TagType(8) DataSize(24)
//! Timestamp(24) TimestampExtended(8) StreamID(24)` + body +
//! `PreviousTagSize(32)`. Bodies are sliced out of one `Bytes`, not copied.

use bytes::Bytes;
use thiserror::Error;

/// FLV tag type of audio.
pub const TAG_AUDIO: u8 = 8;
/// FLV tag type of video.
pub const TAG_VIDEO: u8 = 9;
/// FLV tag type of script data (onMetaData).
pub const TAG_SCRIPT: u8 = 18;

/// Why an FLV file could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FlvFileError {
    /// The file does not start with `FLV`.
    #[error("not an FLV file")]
    NotFlv,
    /// A tag runs past the end of the file.
    #[error("FLV tag at byte {0} is truncated")]
    Truncated(usize),
}

/// One tag of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlvTag {
    /// [`TAG_AUDIO`], [`TAG_VIDEO`] or [`TAG_SCRIPT`].
    pub tag_type: u8,
    /// Timestamp (DTS) in ms.
    pub timestamp: u32,
    /// The tag body (what an RTMP message carries).
    pub body: Bytes,
}

impl FlvTag {
    /// True for an AVC/HEVC sequence header or an AAC AudioSpecificConfig.
    pub fn is_sequence_header(&self) -> bool {
        let b = &self.body;
        match self.tag_type {
            TAG_VIDEO if b.len() >= 2 && b[0] & 0x80 != 0 => b[0] & 0x0F == 0,
            TAG_VIDEO if b.len() >= 2 => b[0] & 0x0F == 7 && b[1] == 0,
            TAG_AUDIO if b.len() >= 2 => b[0] >> 4 == 10 && b[1] == 0,
            _ => false,
        }
    }

    /// True for a video key frame.
    pub fn is_keyframe(&self) -> bool {
        self.tag_type == TAG_VIDEO && self.body.first().is_some_and(|b| (b >> 4) & 0x07 == 1)
    }
}

/// Splits a whole FLV file into its tags.
pub fn read_tags(file: Bytes) -> Result<Vec<FlvTag>, FlvFileError> {
    if file.len() < 9 || &file[..3] != b"FLV" {
        return Err(FlvFileError::NotFlv);
    }
    let header_len = u32::from_be_bytes([file[5], file[6], file[7], file[8]]) as usize;
    let mut pos = header_len + 4;
    let mut tags = Vec::new();
    while pos + 11 <= file.len() {
        let h = &file[pos..pos + 11];
        let size = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
        let timestamp = u32::from_be_bytes([h[7], h[4], h[5], h[6]]);
        let start = pos + 11;
        let end = start + size;
        if end > file.len() {
            return Err(FlvFileError::Truncated(pos));
        }
        tags.push(FlvTag {
            tag_type: h[0] & 0x1F,
            timestamp,
            body: file.slice(start..end),
        });
        pos = end + 4;
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(t: u8, ts: u32, body: &[u8]) -> Vec<u8> {
        let mut v = vec![t];
        v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        v.extend_from_slice(&ts.to_be_bytes()[1..]);
        v.push((ts >> 24) as u8);
        v.extend_from_slice(&[0, 0, 0]);
        v.extend_from_slice(body);
        v.extend_from_slice(&(11 + body.len() as u32).to_be_bytes());
        v
    }

    #[test]
    fn reads_tags_with_extended_timestamps() {
        let mut f = b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00".to_vec();
        f.extend(tag(9, 0, &[0x17, 0, 0, 0, 0, 1]));
        f.extend(tag(8, 0x0123_4567, &[0xAF, 1, 5]));
        let tags = read_tags(Bytes::from(f.clone())).unwrap();
        assert_eq!(tags.len(), 2);
        assert!(tags[0].is_sequence_header() && tags[0].is_keyframe());
        assert_eq!(tags[1].timestamp, 0x0123_4567);
        assert_eq!(&tags[1].body[..], [0xAF, 1, 5]);
        assert!(!tags[1].is_sequence_header());
        f.truncate(f.len() - 6);
        assert_eq!(read_tags(Bytes::from(f)), Err(FlvFileError::Truncated(34)));
        assert_eq!(
            read_tags(Bytes::from_static(b"GIF89a...")),
            Err(FlvFileError::NotFlv)
        );
    }
}

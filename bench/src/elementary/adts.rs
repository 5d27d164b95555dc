//! # AAC ADTS → AudioSpecificConfig + raw frames
//!
//! ADTS header (ISO/IEC 13818-7 §6.2.1 / 14496-3 §1.A.2): syncword 0xFFF,
//! protection_absent, profile (object type − 1), sampling_frequency_index,
//! channel_configuration, frame_length (13 bits, header included). The
//! header is 7 bytes, 9 with CRC. The AudioSpecificConfig (14496-3 §1.6.2.1)
//! is `audioObjectType(5) samplingFrequencyIndex(4) channelConfiguration(4)`
//! and three zero bits. Each frame is 1024 samples.

use super::EsError;

const SAMPLE_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// AAC frames with their configuration.
#[derive(Debug, Clone)]
pub struct AacStream {
    /// The 2-byte AudioSpecificConfig.
    pub asc: [u8; 2],
    /// Sampling rate in Hz.
    pub sample_rate: u32,
    /// Channel configuration.
    pub channels: u8,
    /// (timestamp ms, raw frame) in order.
    pub frames: Vec<(u64, Vec<u8>)>,
}

/// Reads a whole ADTS file.
pub fn read_adts(data: &[u8]) -> Result<AacStream, EsError> {
    let mut pos = 0;
    let mut config: Option<(u8, u8, u8)> = None;
    let mut frames = Vec::new();
    while pos + 7 <= data.len() {
        let h = &data[pos..pos + 7];
        if h[0] != 0xFF || h[1] & 0xF0 != 0xF0 {
            return Err(EsError::Invalid("ADTS syncword"));
        }
        let header_len = if h[1] & 0x01 == 1 { 7 } else { 9 };
        let profile = h[2] >> 6;
        let freq = (h[2] >> 2) & 0x0F;
        let channels = (h[2] & 0x01) << 2 | h[3] >> 6;
        let len = usize::from(h[3] & 0x03) << 11 | usize::from(h[4]) << 3 | usize::from(h[5] >> 5);
        if usize::from(freq) >= SAMPLE_RATES.len() {
            return Err(EsError::Invalid("ADTS sampling frequency index"));
        }
        if len < header_len {
            return Err(EsError::Invalid("ADTS frame length"));
        }
        let raw = data
            .get(pos + header_len..pos + len)
            .ok_or(EsError::Truncated("ADTS frame"))?;
        config.get_or_insert((profile, freq, channels));
        frames.push(raw.to_vec());
        pos += len;
    }
    let (profile, freq, channels) = config.ok_or(EsError::Missing("ADTS frame"))?;
    let sample_rate = SAMPLE_RATES[usize::from(freq)];
    let object_type = profile + 1;
    let asc = [
        object_type << 3 | freq >> 1,
        (freq & 1) << 7 | channels << 3,
    ];
    let frames = frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| (i as u64 * 1024 * 1000 / u64::from(sample_rate), f))
        .collect();
    Ok(AacStream {
        asc,
        sample_rate,
        channels,
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lc_48k_stereo() {
        // Header of ffmpeg's AAC-LC 48 kHz stereo: FF F1 4C 80 ..; frame_length 9.
        let mut frame = vec![0xFF, 0xF1, 0x4C, 0x80, 0x01, 0x20, 0x00];
        frame.extend_from_slice(&[0xDE, 0xAD]);
        let mut file = frame.clone();
        file.extend_from_slice(&frame);
        let s = read_adts(&file).unwrap();
        assert_eq!(s.asc, [0x11, 0x90]);
        assert_eq!((s.sample_rate, s.channels), (48000, 2));
        assert_eq!(s.frames.len(), 2);
        assert_eq!(s.frames[1], (21, vec![0xDE, 0xAD]));
        assert!(read_adts(&[0xFF, 0xF1, 0x4C, 0x80, 0x02, 0x00, 0x00]).is_err());
    }
}

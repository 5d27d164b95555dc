//! # A stream with real CEA-608 captions
//!
//! ffmpeg (libx264) encodes a test pattern to an H.264 elementary stream (Annex B);
//! [`insert_cc_data`] then puts one SEI NAL unit before the first slice of every
//! picture, carrying ATSC A/53 `cc_data` the way broadcast encoders do
//! (`user_data_registered_itu_t_t35`, country 0xB5, provider 0x0031, "GA94",
//! `user_data_type_code` 3; H.264 D.1.6, ATSC A/53 Part 4 §6.2.3), one CEA-608
//! byte pair per frame on field 1 and a null pair on field 2.
//!
//! [`roll_up_script`] is what a live captioner's encoder sends on CC1: every two
//! seconds a roll-up line (RU2 twice, carriage return twice, the text, carriage
//! return twice: CEA-608 miscellaneous control codes; every byte with odd parity),
//! null pairs between lines. [`padding_script`] is what an encoder sends when
//! nobody is captioning: null pairs only, which must not be announced as captions.
//!
//! The result is published with `ffmpeg -re -f h264 -i FILE -c copy`, so the SEI
//! reach the origin byte for byte.

use std::path::Path;
use std::process::Command;

use anyhow::{ensure, Context, Result};

/// Frames per second of the fixture.
pub const FPS: u32 = 30;
/// Every caption line starts with this text.
pub const CAPTION_TEXT: &str = "FERROCAST CC";

/// Encodes `seconds` of `testsrc2` at 320x180, [`FPS`], one-second GOPs, no
/// B-frames, to an Annex B H.264 elementary stream at `out`.
pub fn encode_h264(out: &Path, seconds: u32) -> Result<()> {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(["-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size=320x180:rate={FPS}"))
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-bf", "0"])
        .args(["-g", &FPS.to_string(), "-pix_fmt", "yuv420p", "-f", "h264"])
        .arg(out)
        .status()
        .context("running ffmpeg")?;
    ensure!(status.success(), "ffmpeg could not encode the fixture");
    Ok(())
}

/// A CEA-608 byte with odd parity in bit 7.
fn parity(b: u8) -> u8 {
    if b.count_ones().is_multiple_of(2) {
        b | 0x80
    } else {
        b
    }
}

/// The null pair: padding.
const NULL_PAIR: [u8; 2] = [0x80, 0x80];

/// CC1 byte pairs for `frames` frames: line `n` (`"FERROCAST CC n"`) starts at
/// frame `2 * FPS * n`.
pub fn roll_up_script(frames: usize) -> Vec<[u8; 2]> {
    let ctrl = |b2: u8| [parity(0x14), parity(b2)];
    let (ru2, cr) = (ctrl(0x25), ctrl(0x2D));
    let mut pairs = Vec::with_capacity(frames);
    let mut line = 0;
    while pairs.len() < frames {
        let mut text = format!("{CAPTION_TEXT} {line}").into_bytes();
        if text.len() % 2 == 1 {
            text.push(b' ');
        }
        pairs.extend([ru2, ru2, cr, cr]);
        pairs.extend(text.chunks(2).map(|c| [parity(c[0]), parity(c[1])]));
        pairs.extend([cr, cr]);
        let next = 2 * FPS as usize * (line + 1);
        pairs.resize(next.max(pairs.len()), NULL_PAIR);
        line += 1;
    }
    pairs.truncate(frames);
    pairs
}

/// Null pairs only (`cc_data` present, no captions).
pub fn padding_script(frames: usize) -> Vec<[u8; 2]> {
    vec![NULL_PAIR; frames]
}

/// An SEI NAL unit (with its header, emulation prevention applied) carrying
/// `cc_data()` with `field1` on CC1/CC2's field and a null pair on field 2.
pub fn cc_data_sei(field1: [u8; 2]) -> Vec<u8> {
    let mut payload = vec![0xB5, 0x00, 0x31, b'G', b'A', b'9', b'4', 0x03];
    // process_cc_data_flag = 1, cc_count = 2; em_data; two triples; marker bits.
    payload.extend([0x40 | 2, 0xFF]);
    payload.extend([0xFC, field1[0], field1[1]]);
    payload.extend([0xFD, NULL_PAIR[0], NULL_PAIR[1]]);
    payload.push(0xFF);
    // sei_message(): payloadType 4, payloadSize (< 255), payload; rbsp_trailing_bits.
    let mut rbsp = vec![4, payload.len() as u8];
    rbsp.extend(payload);
    rbsp.push(0x80);
    let mut nal = vec![0x06];
    let mut zeros = 0;
    for b in rbsp {
        if zeros >= 2 && b <= 3 {
            nal.push(0x03); // emulation_prevention_three_byte (H.264 §7.4.1)
            zeros = 0;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        nal.push(b);
    }
    nal
}

/// The NAL units of an Annex B byte stream (start codes and trailing zero bytes
/// removed).
pub fn annex_b_nal_units(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            let end = starts.get(k + 1).map_or(stream.len(), |&n| n - 3);
            let mut nal = &stream[s..end];
            while let [rest @ .., 0] = nal {
                nal = rest;
            }
            nal
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// `stream` with an SEI from [`cc_data_sei`] before the first slice of every
/// picture (H.264 §7.4.1.2.3: SEI precede the primary coded picture), picture `k`
/// carrying `pairs[k]` (null pairs after the script ends). Returns the new stream
/// and the number of pictures.
pub fn insert_cc_data(stream: &[u8], pairs: &[[u8; 2]]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(stream.len() + stream.len() / 50);
    let mut picture = 0;
    for nal in annex_b_nal_units(stream) {
        let nal_type = nal[0] & 0x1F;
        // A slice (1 non-IDR, 5 IDR) with first_mb_in_slice = 0 (ue(v) '1').
        let first_slice = matches!(nal_type, 1 | 5) && nal.get(1).is_some_and(|b| b & 0x80 != 0);
        if first_slice {
            let pair = pairs.get(picture).copied().unwrap_or(NULL_PAIR);
            out.extend([0, 0, 0, 1]);
            out.extend(cc_data_sei(pair));
            picture += 1;
        }
        out.extend([0, 0, 0, 1]);
        out.extend_from_slice(nal);
    }
    (out, picture)
}

/// Writes `captioned.h264` (CC1 roll-up) and `padding.h264` (null pairs only),
/// `seconds` long, into `dir`.
pub fn write_streams(dir: &Path, seconds: u32) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    let plain = dir.join("plain.h264");
    encode_h264(&plain, seconds)?;
    let es = std::fs::read(&plain)?;
    let frames = (seconds * FPS) as usize;
    let (captioned, pictures) = insert_cc_data(&es, &roll_up_script(frames));
    ensure!(
        pictures == frames,
        "found {pictures} pictures in the fixture, expected {frames}"
    );
    let (padding, _) = insert_cc_data(&es, &padding_script(frames));
    let (a, b) = (dir.join("captioned.h264"), dir.join("padding.h264"));
    std::fs::write(&a, captioned)?;
    std::fs::write(&b, padding)?;
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_lines_have_commands_text_and_parity() {
        let pairs = roll_up_script(200);
        assert_eq!(pairs.len(), 200);
        assert_eq!(pairs[0], [0x94, 0x25], "RU2 with parity");
        assert_eq!(pairs[2], [0x94, 0xAD], "CR with parity");
        assert_eq!(pairs[4], [parity(b'F'), parity(b'E')]);
        assert!(pairs.iter().flatten().all(|b| b.count_ones() % 2 == 1));
        assert_eq!(pairs[2 * FPS as usize], [0x94, 0x25], "line 1");
    }

    #[test]
    fn sei_is_escaped_and_nal_units_split() {
        let sei = cc_data_sei([0x80, 0x80]);
        assert_eq!(sei[..3], [0x06, 0x04, 17]);
        // A start code inside a payload would be escaped; none here, but the
        // splitter must find every unit of a stream made of them.
        let stream: Vec<u8> = [&[0, 0, 0, 1][..], &sei, &[0, 0, 1], &[0x65, 0x88, 0]].concat();
        let nals = annex_b_nal_units(&stream);
        assert_eq!(nals, [&sei[..], &[0x65, 0x88][..]]);
        let (out, pictures) = insert_cc_data(&stream, &[[0x94, 0x25]]);
        assert_eq!(pictures, 1);
        assert_eq!(annex_b_nal_units(&out).len(), 3);
    }
}

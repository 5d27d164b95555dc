//! The realtime transcoders (issue 8) on real FFmpeg: AAC ⇄ Opus frame by frame,
//! and H.264 with B-frames re-encoded without them.
//!
//! Sources are made in process (a synthetic picture sequence through libx264 with
//! three B-frames, a sine through [`AudioEncoder`]) and timestamped as RTMP ingest
//! hands them over (milliseconds); the Opus source comes from the ffmpeg CLI.
//! Outputs are checked by an independent decoder: the ffmpeg CLI for H.264 (Annex B)
//! and AAC (ADTS), libopus (not the `opus` decoder the transcoder uses) for Opus.
//! Timing figures are printed (`--nocapture`); `--ignored` runs the 720p/1080p
//! encode-time measurement.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::format::sample::{Sample, Type as SampleType};
use ffmpeg_next::format::Pixel;
use ffmpeg_next::util::mathematics::rescale::Rescale;
use ffmpeg_next::{codec, decoder, encoder, frame, ChannelLayout, Dictionary, Packet, Rational};

use super::audio_transcoder::{opus_decoder_options, AdtsHeader, AudioTarget, AudioTranscoder};
use super::h264_input::annex_b_access_unit;
use super::h264_output::AvcOutput;
use super::realtime_video::{
    reorders, EncodedVideo, H264Profile, NoBFramesEncoder, NoBFramesOptions,
};
use super::test_support::{clip, TestSink};
use super::AudioEncoder;
use crate::codec::aac::AacConfig;
use crate::codec::opus::OpusConfig;
use crate::media::{CodecConfig, Frame, MediaKind, Track};

// ---------------------------------------------------------------- sources

/// `count` pictures of `width`×`height` at 25 fps from `start_ms` (timescale 1000),
/// libx264 veryfast with 3 B-frames (b-pyramid) and a key frame every `gop`.
fn bframes_source(
    width: u32,
    height: u32,
    count: i64,
    gop: u32,
    start_ms: i64,
) -> (Track, Vec<Frame>) {
    super::init();
    let codec = encoder::find_by_name("libx264").expect("libx264");
    let mut video = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .unwrap();
    video.set_width(width);
    video.set_height(height);
    video.set_format(Pixel::YUV420P);
    video.set_time_base(Rational::new(1, 1000));
    video.set_frame_rate(Some(Rational::new(25, 1)));
    let mut options = Dictionary::new();
    for (k, v) in [
        ("preset", "veryfast"),
        ("bf", "3"),
        ("sc_threshold", "0"),
        ("threads", "1"),
    ] {
        options.set(k, v);
    }
    options.set("g", &gop.to_string());
    let mut x264 = video.open_as_with(codec, options).unwrap();
    let mut output = AvcOutput::new(0, "source");
    let mut sink = TestSink::default();
    let mut packet = Packet::empty();
    for i in 0..=count {
        if i < count {
            x264.send_frame(&test_picture(width, height, i, start_ms + 40 * i))
                .unwrap();
        } else {
            x264.send_eof().unwrap();
        }
        while x264.receive_packet(&mut packet).is_ok() {
            let (pts, dts) = (packet.pts().unwrap(), packet.dts().unwrap());
            output
                .packet(packet.data().unwrap(), pts, dts, &mut sink)
                .unwrap();
        }
    }
    let (track, frames) = sink.video(0);
    let track = Track {
        timescale: 1000,
        ..track.clone()
    };
    (track, frames.to_vec())
}

/// A moving pattern (so that x264 predicts, and picks B-frames).
fn test_picture(width: u32, height: u32, i: i64, pts: i64) -> frame::Video {
    let mut picture = frame::Video::new(Pixel::YUV420P, width, height);
    for plane in 0..3 {
        let stride = picture.stride(plane);
        let (w, h) = if plane == 0 {
            (width, height)
        } else {
            (width / 2, height / 2)
        };
        let data = picture.data_mut(plane);
        for y in 0..h as usize {
            for x in 0..w as usize {
                let v = (x as i64 + 3 * i) ^ (y as i64 + i + plane as i64 * 40);
                data[y * stride + x] = v as u8;
            }
        }
    }
    picture.set_pts(Some(pts));
    picture
}

/// `seconds` of a 440 Hz sine at `rate` Hz, `channels` channels, as AAC-LC frames
/// timestamped in milliseconds from `start_ms` (as RTMP ingest hands them over).
fn aac_source(rate: u32, channels: u16, seconds: u32, start_ms: i64) -> (Track, Vec<Frame>) {
    let mut aac = AudioEncoder::new(rate, channels, 128_000, None).unwrap();
    let mut sink = TestSink::default();
    let layout = ChannelLayout::default(i32::from(channels));
    let total = (rate * seconds) as usize;
    for start in (0..total).step_by(1024) {
        let n = 1024.min(total - start);
        let mut input = frame::Audio::new(Sample::F32(SampleType::Planar), n, layout);
        input.set_rate(rate);
        input.set_pts(Some(start as i64));
        for ch in 0..usize::from(channels) {
            for (j, s) in input.plane_mut::<f32>(ch)[..n].iter_mut().enumerate() {
                let t = (start + j) as f32 / rate as f32;
                *s = 0.5 * (2.0 * std::f32::consts::PI * 440.0 * t).sin();
            }
        }
        aac.push(&input, Rational::new(1, rate as i32), &mut sink)
            .unwrap();
    }
    aac.flush(&mut sink).unwrap();
    let track = sink.tracks[&(false, 0)].clone();
    let first = sink.frames[&(false, 0)][0].pts;
    let frames = sink.frames[&(false, 0)]
        .iter()
        .map(|f| {
            let ms = start_ms + ((f.pts - first) * 1000 + i64::from(rate) / 2) / i64::from(rate);
            Frame {
                pts: ms,
                dts: ms,
                ..f.clone()
            }
        })
        .collect();
    (
        Track {
            timescale: 1000,
            ..track
        },
        frames,
    )
}

/// 2 s of stereo Opus from the ffmpeg CLI (Ogg), demuxed: pts at 48 kHz.
fn opus_source(dir: &Path) -> Option<(Track, Vec<Frame>)> {
    let path = clip(
        dir,
        "tone.ogg",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "2",
            "-ac",
            "2",
            "-c:a",
            "libopus",
            "-b:a",
            "64k",
        ],
    )?;
    super::init();
    let mut input = ffmpeg::format::input(&path).unwrap();
    let mut frames = Vec::new();
    for (stream, packet) in input.packets() {
        let pts = packet
            .pts()
            .unwrap()
            .rescale(stream.time_base(), Rational::new(1, 48_000));
        frames.push(Frame {
            kind: MediaKind::Audio,
            track: 0,
            dts: pts,
            pts,
            keyframe: true,
            data: Bytes::copy_from_slice(packet.data().unwrap()),
        });
    }
    let config = OpusConfig::from_channel_layout(2, 312, 0, &[]).unwrap();
    let track = Track {
        id: 0,
        codec: CodecConfig::Opus(config),
        timescale: 48_000,
        language: None,
        name: None,
    };
    Some((track, frames))
}

// ---------------------------------------------------------------- audio

/// Runs `frames` through a transcoder; returns the output and the largest number
/// of output-timescale samples that were in the input but not yet out after a push.
fn transcode_audio(
    transcoder: &mut AudioTranscoder,
    source: &Track,
    frames: &[Frame],
) -> (Vec<Frame>, i64) {
    let out_rate = i64::from(transcoder.track().timescale);
    let mut out = Vec::new();
    let mut lag = 0;
    let first_in = frames[0].pts;
    for f in frames {
        transcoder.push(f, &mut |o| out.push(o)).unwrap();
        // Input covered so far, in output samples, vs the end of the output so far.
        let spf = i64::from(source.codec.audio_info().unwrap().samples_per_frame);
        let in_rate = i64::from(source.codec.audio_info().unwrap().sample_rate);
        let in_end =
            (f.pts - first_in) * out_rate / i64::from(source.timescale) + spf * out_rate / in_rate;
        let out_end = out.last().map_or(0, |o: &Frame| o.pts - out[0].pts + 960);
        lag = lag.max(in_end - out_end);
    }
    transcoder.flush(&mut |o| out.push(o)).unwrap();
    (out, lag)
}

/// Decodes Opus packets with libopus; (samples per channel, RMS).
fn decode_with_libopus(track: &Track, frames: &[Frame]) -> (usize, f64) {
    let CodecConfig::Opus(config) = &track.codec else {
        panic!("not opus")
    };
    let codec = decoder::find_by_name("libopus").expect("libopus decoder");
    let mut opus = codec::context::Context::new_with_codec(codec)
        .decoder()
        .open_as_with(codec, opus_decoder_options(config))
        .and_then(|d| d.audio())
        .unwrap();
    let (mut samples, mut energy, mut count) = (0, 0.0, 0usize);
    let mut decoded = frame::Audio::empty();
    for f in frames {
        opus.send_packet(&Packet::copy(&f.data))
            .expect("libopus takes every packet");
        while opus.receive_frame(&mut decoded).is_ok() {
            // libopus gives interleaved s16.
            assert_eq!(decoded.format(), Sample::I16(SampleType::Packed));
            samples += decoded.samples();
            let bytes = decoded.samples() * usize::from(config.channels) * 2;
            for chunk in decoded.data(0)[..bytes].chunks_exact(2) {
                let s = f64::from(i16::from_ne_bytes([chunk[0], chunk[1]])) / 32_768.0;
                energy += s * s;
                count += 1;
            }
        }
    }
    (samples, (energy / count.max(1) as f64).sqrt())
}

fn assert_steps(frames: &[Frame], step: i64) {
    for pair in frames.windows(2) {
        assert_eq!(pair[1].pts - pair[0].pts, step, "at pts {}", pair[0].pts);
        assert_eq!(pair[1].dts, pair[1].pts);
    }
}

#[test]
fn aac_becomes_20ms_opus_on_the_source_timeline_and_decodes_back() {
    let (source, frames) = aac_source(48_000, 2, 2, 5_000);
    let mut transcoder =
        AudioTranscoder::new(&source, AudioTarget::Opus { bitrate: 64_000 }).unwrap();
    let CodecConfig::Opus(config) = transcoder.track().codec.clone() else {
        panic!("not opus")
    };
    let pre_skip = i64::from(config.pre_skip);
    assert_eq!(config.channels, 2);
    assert!((1..960).contains(&pre_skip), "pre-skip {pre_skip}");
    assert_eq!(transcoder.track().timescale, 48_000);
    let started = Instant::now();
    let (out, lag) = transcode_audio(&mut transcoder, &source, &frames);
    let cpu = started.elapsed();

    assert_steps(&out, 960);
    assert_eq!(out[0].pts, frames[0].pts * 48 - pre_skip, "first pts");
    let input = frames.len() as i64 * 1024;
    let want = (input + pre_skip + 959) / 960;
    assert!(
        (out.len() as i64 - want).abs() <= 1,
        "{} packets for {input} samples",
        out.len()
    );
    assert!(
        lag < 960 + pre_skip,
        "{lag} samples waited in the transcoder"
    );
    let (samples, rms) = decode_with_libopus(transcoder.track(), &out);
    assert_eq!(samples, out.len() * 960);
    assert!(rms > 0.2, "a 0.5 sine decodes with RMS {rms}");
    assert_eq!(transcoder.skipped(), 0);
    let audio_s = input as f64 / 48_000.0;
    println!(
        "AAC→Opus: pre-skip {pre_skip}, most samples held {lag}, {:.1} ms per second of audio",
        cpu.as_secs_f64() * 1000.0 / audio_s
    );
}

#[test]
fn mono_44k_aac_is_resampled_to_mono_opus() {
    let (source, frames) = aac_source(44_100, 1, 1, 0);
    let mut transcoder =
        AudioTranscoder::new(&source, AudioTarget::Opus { bitrate: 32_000 }).unwrap();
    let (out, lag) = transcode_audio(&mut transcoder, &source, &frames);
    let CodecConfig::Opus(config) = &transcoder.track().codec else {
        panic!("not opus")
    };
    assert_eq!(config.channels, 1);
    assert_steps(&out, 960);
    let input = frames.len() as i64 * 1024 * 48_000 / 44_100;
    let packets = out.len() as i64 * 960;
    assert!(
        (packets - input - i64::from(config.pre_skip)).abs() < 2 * 960,
        "{packets} vs {input}"
    );
    // One frame plus the resampler's filter delay.
    assert!(lag < 960 + i64::from(config.pre_skip) + 64, "{lag}");
    let (_, rms) = decode_with_libopus(transcoder.track(), &out);
    assert!(rms > 0.2, "{rms}");
}

#[test]
fn opus_becomes_aac_that_the_ffmpeg_cli_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let Some((source, frames)) = opus_source(dir.path()) else {
        return;
    };
    let mut transcoder =
        AudioTranscoder::new(&source, AudioTarget::Aac { bitrate: 128_000 }).unwrap();
    let started = Instant::now();
    let (out, _) = transcode_audio(&mut transcoder, &source, &frames);
    let cpu = started.elapsed();
    let track = transcoder.track();
    let CodecConfig::Aac(config) = &track.codec else {
        panic!("not aac")
    };
    assert_eq!(
        (track.timescale, config.channels, config.object_type),
        (48_000, 2, 2)
    );
    assert_steps(&out, 1024);
    // AAC's priming: the first frame starts 1,024 samples before the source.
    assert_eq!(out[0].pts, frames[0].pts - 1024);
    let input = frames.len() as i64 * 960;
    assert!(
        (out.len() as i64 * 1024 - input).abs() <= 2 * 1024,
        "{} frames for {input} samples",
        out.len()
    );

    let mut adts = BytesMut::new();
    let header = AdtsHeader::new(config).unwrap();
    for f in &out {
        adts.put_slice(&header.wrap(&f.data));
    }
    let path = dir.path().join("out.aac");
    std::fs::write(&path, &adts).unwrap();
    let (decoded, complaints) = ffmpeg_cli_decode(&path, "a:0");
    assert!(complaints.is_empty(), "ffmpeg complained: {complaints}");
    assert_eq!(decoded, out.len());
    println!(
        "Opus→AAC: {:.1} ms per second of audio",
        cpu.as_secs_f64() * 1000.0 / (input as f64 / 48_000.0)
    );
}

#[test]
fn the_adts_header_reads_back_as_the_config() {
    let (source, _) = aac_source(44_100, 1, 1, 0);
    let CodecConfig::Aac(config) = &source.codec else {
        panic!()
    };
    let framed = AdtsHeader::new(config).unwrap().wrap(&[1, 2, 3]);
    assert_eq!(framed.len(), 10);
    assert_eq!(&framed[7..], &[1, 2, 3]);
    // aac_frame_length counts the header.
    assert_eq!(
        ((u32::from(framed[3]) & 3) << 11)
            | (u32::from(framed[4]) << 3)
            | (u32::from(framed[5]) >> 5),
        10
    );
    let back = AacConfig::from_adts_header(&framed).unwrap();
    assert_eq!(back.audio_info(), config.audio_info());
    assert_eq!(back.object_type, 2);
}

#[test]
fn a_jump_in_the_input_rebases_the_output_instead_of_stalling() {
    let (source, mut frames) = aac_source(48_000, 2, 3, 1_000);
    // 1 s in, jump forward 5 s; 2 s in, jump back 4 s.
    for (i, f) in frames.iter_mut().enumerate() {
        let shift = match i {
            i if i < 47 => 0,
            i if i < 94 => 5_000,
            _ => 1_000,
        };
        f.pts += shift;
        f.dts += shift;
    }
    let mut transcoder =
        AudioTranscoder::new(&source, AudioTarget::Opus { bitrate: 64_000 }).unwrap();
    let CodecConfig::Opus(config) = transcoder.track().codec.clone() else {
        panic!()
    };
    let pre_skip = i64::from(config.pre_skip);
    let (out, _) = transcode_audio(&mut transcoder, &source, &frames);
    let breaks: Vec<usize> = (1..out.len())
        .filter(|&i| out[i].pts - out[i - 1].pts != 960)
        .collect();
    assert_eq!(breaks.len(), 2, "two re-bases: {breaks:?}");
    // Each new timeline starts where its input does, less the encoder's pre-skip.
    for (&b, src) in breaks.iter().zip([47, 94]) {
        assert_eq!(
            out[b].pts,
            frames[src].pts * 48 - pre_skip,
            "after break at {b}"
        );
    }
    // Nothing lost: each stretch is (nearly) as long as its input.
    let total_in = frames.len() as i64 * 1024;
    assert!(out.len() as i64 * 960 >= total_in, "{} packets", out.len());
}

#[test]
fn a_corrupt_aac_frame_is_skipped_and_later_frames_still_come_out() {
    let (source, mut frames) = aac_source(48_000, 2, 2, 0);
    for i in [10, 11, 40] {
        let junk: Vec<u8> = (0..frames[i].data.len())
            .map(|j| (j * 151 + 7) as u8)
            .collect();
        frames[i].data = junk.into();
    }
    frames[60].data = Bytes::new();
    let mut transcoder =
        AudioTranscoder::new(&source, AudioTarget::Opus { bitrate: 64_000 }).unwrap();
    let (out, _) = transcode_audio(&mut transcoder, &source, &frames);
    assert!(transcoder.skipped() >= 1, "FFmpeg accepted junk as AAC");
    // Everything but the bad frames came through, on a monotonic timeline.
    let good = (frames.len() as i64 - transcoder.skipped() as i64) * 1024;
    assert!(
        out.len() as i64 * 960 >= good,
        "{} packets for {good} good samples",
        out.len()
    );
    assert!(out.windows(2).all(|w| w[1].pts > w[0].pts));
}

// ---------------------------------------------------------------- video

struct VideoRun {
    tracks: Vec<Track>,
    frames: Vec<Frame>,
    /// Most pictures pushed but not yet out (after the first output).
    latency: usize,
    /// How many pictures were out when the key frame was requested.
    out_at_request: Option<usize>,
}

fn run_video(
    encoder: &mut NoBFramesEncoder,
    frames: &[Frame],
    keyframe_request_at: Option<usize>,
) -> VideoRun {
    let mut run = VideoRun {
        tracks: Vec::new(),
        frames: Vec::new(),
        latency: 0,
        out_at_request: None,
    };
    let collect = |e: EncodedVideo, run: &mut VideoRun| match e {
        EncodedVideo::Track(t) => run.tracks.push(t),
        EncodedVideo::Frame(f) => run.frames.push(f),
    };
    for (i, f) in frames.iter().enumerate() {
        if keyframe_request_at == Some(i) {
            encoder.request_keyframe();
            run.out_at_request = Some(run.frames.len());
        }
        encoder.push(f, &mut |e| collect(e, &mut run)).unwrap();
        if !run.frames.is_empty() || i >= 8 {
            run.latency = run.latency.max(i + 1 - run.frames.len());
        }
    }
    encoder.flush(&mut |e| collect(e, &mut run)).unwrap();
    run
}

/// Writes `frames` as an Annex B stream and decodes it with the ffmpeg CLI:
/// (pictures, stderr).
fn decode_h264_with_ffmpeg(dir: &Path, track: &Track, frames: &[Frame]) -> (usize, String) {
    let CodecConfig::H264(config) = &track.codec else {
        panic!("not h264")
    };
    let mut stream = Vec::new();
    for f in frames {
        stream.extend(annex_b_access_unit(config, f));
    }
    let path = dir.join("out.h264");
    std::fs::write(&path, stream).unwrap();
    ffmpeg_cli_decode(&path, "v:0")
}

/// Decodes `path` with the ffmpeg CLI; (frames ffprobe counts, what ffmpeg said).
fn ffmpeg_cli_decode(path: &Path, stream: &str) -> (usize, String) {
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg CLI");
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", stream])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    let count = String::from_utf8_lossy(&probe.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    (count, String::from_utf8_lossy(&decode.stderr).into_owned())
}

fn options() -> NoBFramesOptions {
    NoBFramesOptions {
        preset: "ultrafast".into(),
        bitrate_kbps: 500,
        threads: 1,
        ..NoBFramesOptions::default()
    }
}

#[test]
fn b_frames_are_re_encoded_one_picture_each_keyed_at_the_source_keys() {
    let (source, frames) = bframes_source(320, 180, 75, 25, 10_000);
    assert!(
        frames.iter().any(reorders),
        "the source has composition offsets"
    );
    assert!(
        frames.windows(2).any(|w| w[1].pts < w[0].pts),
        "the source really reorders (B-frames)"
    );
    let mut encoder = NoBFramesEncoder::new(&source, options()).unwrap();
    let run = run_video(&mut encoder, &frames, None);

    assert_eq!(run.tracks.len(), 1);
    let track = &run.tracks[0];
    let info = track.codec.video_info().unwrap();
    assert_eq!((info.width, info.height, track.timescale), (320, 180, 1000));
    assert_eq!(
        run.frames.len(),
        frames.len(),
        "one picture out per picture in"
    );
    assert!(!run.frames.iter().any(reorders), "no composition offsets");
    let mut source_pts: Vec<i64> = frames.iter().map(|f| f.pts).collect();
    source_pts.sort_unstable();
    let out_pts: Vec<i64> = run.frames.iter().map(|f| f.pts).collect();
    assert_eq!(
        out_pts, source_pts,
        "the source's presentation times, in order"
    );
    let source_keys: Vec<i64> = frames
        .iter()
        .filter(|f| f.keyframe)
        .map(|f| f.pts)
        .collect();
    let out_keys: Vec<i64> = run
        .frames
        .iter()
        .filter(|f| f.keyframe)
        .map(|f| f.pts)
        .collect();
    assert_eq!(source_keys.len(), 3);
    assert_eq!(
        out_keys, source_keys,
        "IDRs exactly at the source's key frames"
    );
    assert!(run.latency <= 2, "{} pictures of latency", run.latency);
    println!(
        "NoBFramesEncoder: {} pictures of latency (the source's reorder depth)",
        run.latency
    );

    let dir = tempfile::tempdir().unwrap();
    let (decoded, complaints) = decode_h264_with_ffmpeg(dir.path(), track, &run.frames);
    assert!(complaints.is_empty(), "ffmpeg complained: {complaints}");
    assert_eq!(decoded, frames.len());
}

#[test]
fn a_keyframe_request_makes_the_next_output_picture_an_idr() {
    let (source, frames) = bframes_source(320, 180, 50, 50, 0);
    let mut encoder = NoBFramesEncoder::new(&source, options()).unwrap();
    let run = run_video(&mut encoder, &frames, Some(20));
    let keys: Vec<usize> = run
        .frames
        .iter()
        .enumerate()
        .filter(|(_, f)| f.keyframe)
        .map(|(i, _)| i)
        .collect();
    // The source keys only picture 0; the request is honoured by the very next
    // picture out (an earlier source picture: the decoder holds its reorder depth).
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(Some(keys[1]), run.out_at_request, "{keys:?}");
    assert!(keys[1] <= 20 && keys[1] + run.latency >= 20, "{keys:?}");
    assert_eq!(run.frames.len(), frames.len());
}

#[test]
fn a_corrupt_picture_does_not_stop_the_encoder() {
    let (source, mut frames) = bframes_source(320, 180, 75, 25, 0);
    // A slice NAL unit of junk, and one whose length runs past the sample.
    let mut junk = BytesMut::new();
    junk.put_u32(200);
    junk.put_u8(0x41);
    junk.extend((0..199).map(|j| (j * 97 + 13) as u8));
    frames[10].data = junk.freeze();
    frames[40].data = Bytes::from_static(&[0, 0, 9, 9, 0x41, 1, 2]);
    let mut encoder = NoBFramesEncoder::new(&source, options()).unwrap();
    let run = run_video(&mut encoder, &frames, None);
    assert!(
        run.frames.len() >= frames.len() - 4,
        "{} of {} out",
        run.frames.len(),
        frames.len()
    );
    assert!(run.frames.windows(2).all(|w| w[1].pts > w[0].pts));
    let keys = run.frames.iter().filter(|f| f.keyframe).count();
    assert_eq!(keys, 3, "the later key frames still come out as IDRs");
}

#[test]
fn a_new_source_resolution_reopens_and_announces_the_new_track() {
    let (first, a) = bframes_source(320, 180, 30, 15, 0);
    let (second, b) = bframes_source(256, 144, 30, 15, 1_200);
    let mut encoder = NoBFramesEncoder::new(&first, options()).unwrap();
    let mut run = run_video(&mut encoder, &a, None);
    let mut collect = |e| match e {
        EncodedVideo::Track(t) => run.tracks.push(t),
        EncodedVideo::Frame(f) => run.frames.push(f),
    };
    encoder.update_source(&second, &mut collect).unwrap();
    for f in &b {
        encoder.push(f, &mut collect).unwrap();
    }
    encoder.flush(&mut collect).unwrap();
    let sizes: Vec<(u32, u32)> = run
        .tracks
        .iter()
        .map(|t| t.codec.video_info().map(|v| (v.width, v.height)).unwrap())
        .collect();
    assert_eq!(sizes, [(320, 180), (256, 144)]);
    assert_eq!(run.frames.len(), a.len() + b.len());
    assert!(run.frames.windows(2).all(|w| w[1].pts > w[0].pts));
}

#[test]
fn the_profile_option_reaches_the_sps() {
    let (source, frames) = bframes_source(320, 180, 10, 10, 0);
    for (profile, idc) in [
        (H264Profile::ConstrainedBaseline, 66),
        (H264Profile::Main, 77),
        (H264Profile::High, 100),
    ] {
        // The profile is a ceiling: x264 signals what its tools need, and
        // ultrafast (no CABAC) fits Baseline whatever was asked for.
        let options = NoBFramesOptions {
            profile,
            preset: "veryfast".into(),
            ..options()
        };
        let mut encoder = NoBFramesEncoder::new(&source, options).unwrap();
        let run = run_video(&mut encoder, &frames, None);
        let CodecConfig::H264(config) = &run.tracks[0].codec else {
            panic!()
        };
        assert_eq!(config.profile, idc, "{profile:?}");
        if profile == H264Profile::ConstrainedBaseline {
            assert_ne!(config.constraints & 0x40, 0, "constraint_set1_flag");
        }
    }
}

#[test]
fn reorders_is_a_composition_offset_on_video() {
    let frame = |kind, dts, pts| Frame {
        kind,
        track: 0,
        dts,
        pts,
        keyframe: false,
        data: Bytes::new(),
    };
    assert!(reorders(&frame(MediaKind::Video, 0, 80)));
    assert!(!reorders(&frame(MediaKind::Video, 40, 40)));
    assert!(!reorders(&frame(MediaKind::Audio, 0, 80)));
}

/// Encode time per picture at 720p and 1080p with the default options (veryfast,
/// x264's own thread count). `cargo test --release -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_encode_time_per_picture() {
    for (w, h, kbps) in [(1280, 720, 2_500), (1920, 1080, 4_500)] {
        let (source, frames) = bframes_source(w, h, 100, 50, 0);
        for preset in ["veryfast", "ultrafast"] {
            let options = NoBFramesOptions {
                bitrate_kbps: kbps,
                preset: preset.into(),
                ..NoBFramesOptions::default()
            };
            let mut encoder = NoBFramesEncoder::new(&source, options).unwrap();
            let started = Instant::now();
            let run = run_video(&mut encoder, &frames, None);
            let per = started.elapsed().as_secs_f64() * 1000.0 / frames.len() as f64;
            println!(
                "{w}x{h} {preset}: {per:.1} ms per picture (decode + encode), latency {} pictures",
                run.latency
            );
        }
    }
}

//! Packager throughput: frames per second through the live segmenter and the CMAF
//! muxer for a 30 fps, 2.5 Mbit/s H.264 stream with 48 kHz AAC, against a named
//! baseline measured in the same run: copying the same payload bytes once
//! (`memcpy`), the least any packager must do.
//!
//! Run: `cargo bench -p packager --bench packager -- --warm-up-time 1 --measurement-time 3`.
//! Prints `RATIO segmenter/memcpy` (how many times slower than a copy) and the
//! segmenter's frames per second on one core.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use packager::codec::aac::AacConfig;
use packager::codec::avc::AvcConfig;
use packager::live::{LiveConfig, LiveStream};
use packager::media::{CodecConfig, Frame, MediaKind, Track};

/// Seconds of media per iteration.
const MEDIA_S: i64 = 10;
const AVC_RECORD_HEX: &str =
    "0164001effe1001a6764001eacd940a02ff970110000030001000003003c0f162d9601000668ebe3cb22c0fdf8f800";
const AAC_ASC_HEX: &str = "1190";

fn hex(s: &str) -> Bytes {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect::<Vec<u8>>()
        .into()
}

fn tracks() -> (Track, Track) {
    let video = Track {
        id: 0,
        codec: CodecConfig::H264(AvcConfig::parse(hex(AVC_RECORD_HEX)).unwrap()),
        timescale: 1000,
        language: None,
        name: None,
    };
    let audio = Track {
        id: 0,
        codec: CodecConfig::Aac(AacConfig::parse(hex(AAC_ASC_HEX)).unwrap()),
        timescale: 1000,
        language: None,
        name: None,
    };
    (video, audio)
}

/// `MEDIA_S` seconds of interleaved frames: 2.5 Mbit/s video (key frame every 2 s,
/// four times a P frame), 128 kbit/s audio; ms timestamps, B-frame offsets.
fn frames() -> Vec<(Frame, u64)> {
    let p_bytes = 2_500_000 / 8 * 2 / 63; // 59 P + one 4× key frame per 2 s
    let mut out = Vec::new();
    let (mut v, mut a) = (0i64, 0i64);
    loop {
        let vms = v * 1000 / 30;
        let ams = a * 1024 * 1000 / 48_000;
        if vms.min(ams) >= MEDIA_S * 1000 {
            break;
        }
        let frame = if vms <= ams {
            let key = v % 60 == 0;
            let size = if key { 4 * p_bytes } else { p_bytes } as usize;
            let mut b = BytesMut::with_capacity(size);
            b.put_u32(size as u32 - 4);
            b.put_u8(if key { 0x65 } else { 0x41 });
            b.resize(size, 0x5a);
            v += 1;
            Frame {
                kind: MediaKind::Video,
                track: 0,
                dts: vms,
                pts: vms + [67, 0, 33][v as usize % 3],
                keyframe: key,
                data: b.freeze(),
            }
        } else {
            a += 1;
            Frame {
                kind: MediaKind::Audio,
                track: 0,
                dts: ams,
                pts: ams,
                keyframe: true,
                data: Bytes::from(vec![0x21; 340]),
            }
        };
        let now = 1_700_000_000_000 + frame.dts as u64;
        out.push((frame, now));
    }
    out
}

fn segment(input: &[(Frame, u64)]) -> u64 {
    let (video, audio) = tracks();
    let mut s = LiveStream::new(LiveConfig {
        segment_target_ms: 2000,
        part_target_ms: 334,
        window_ms: 30_000,
    });
    s.handle_track(video, 0);
    s.handle_track(audio, 0);
    for (f, now) in input {
        s.handle_frame(f.clone(), *now);
    }
    s.handle_end(0);
    s.parts_produced()
}

fn copy(input: &[(Frame, u64)], scratch: &mut Vec<u8>) -> usize {
    scratch.clear();
    for (f, _) in input {
        scratch.extend_from_slice(&f.data);
    }
    scratch.len()
}

/// Mean time per iteration of `f` over about `budget`.
fn time_per_iter(budget: Duration, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < budget || n < 3 {
        f();
        n += 1;
    }
    start.elapsed() / n
}

fn bench(c: &mut Criterion) {
    let input = frames();
    let n = input.len() as u64;
    let bytes: usize = input.iter().map(|(f, _)| f.data.len()).sum();
    let mut group = c.benchmark_group("packager");
    group.throughput(Throughput::Elements(n));
    let mut scratch = Vec::with_capacity(bytes);
    group.bench_function(BenchmarkId::new("baseline_memcpy", n), |b| {
        b.iter(|| copy(&input, &mut scratch))
    });
    group.bench_function(BenchmarkId::new("segmenter_fmp4", n), |b| {
        b.iter(|| segment(&input))
    });
    group.finish();

    // The ratio, measured side by side in this run.
    let budget = Duration::from_millis(500);
    let base = time_per_iter(budget, || {
        std::hint::black_box(copy(&input, &mut scratch));
    });
    let seg = time_per_iter(budget, || {
        std::hint::black_box(segment(&input));
    });
    println!(
        "RATIO segmenter/memcpy = {:.1} (segmenter {:.0} frames/s on one core = {:.0}x real time for one stream; \
         memcpy {:.0} frames/s; {n} frames, {bytes} bytes per {MEDIA_S} s)",
        seg.as_secs_f64() / base.as_secs_f64(),
        n as f64 / seg.as_secs_f64(),
        MEDIA_S as f64 / seg.as_secs_f64(),
        n as f64 / base.as_secs_f64(),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Issue 5: MPEG-TS demuxer throughput, MB/s on one core.
//!
//! The input is 10 s of ffmpeg `mpegts` output (720p H.264 at 4 Mbit/s + AAC),
//! made at start (ffmpeg on PATH), fed in 1,316-byte chunks (7 packets, one SRT
//! payload). Baseline in the same run: copying the same chunks into a buffer, the
//! least any demuxer must do. Run: `cargo bench -p ingest --bench ts_demux`.

use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, Criterion, Throughput};
use ingest::ts::{TsDemuxer, TsEvent};

fn fixture() -> Vec<u8> {
    let out = std::env::temp_dir().join(format!("ferrocast-ts-bench-{}.ts", std::process::id()));
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "10",
        ])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "4M",
            "-maxrate",
            "4M",
            "-bufsize",
            "8M",
        ])
        .args(["-c:a", "aac", "-f", "mpegts"])
        .arg(&out)
        .status()
        .expect("ffmpeg on PATH");
    assert!(status.success());
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    bytes
}

fn demux_all(ts: &[u8]) -> usize {
    let mut d = TsDemuxer::new();
    let mut n = 0;
    for chunk in ts.chunks(1316) {
        d.handle_input(chunk);
        while let Some(e) = d.poll_event() {
            if let TsEvent::Pes(p) = e {
                n += p.data.len();
            }
        }
    }
    d.finish();
    n
}

fn copy_all(ts: &[u8], buf: &mut Vec<u8>) -> usize {
    buf.clear();
    for chunk in ts.chunks(1316) {
        buf.extend_from_slice(chunk);
    }
    buf.len()
}

fn benches(c: &mut Criterion) {
    let ts = fixture();
    let mut g = c.benchmark_group("ts");
    g.throughput(Throughput::Bytes(ts.len() as u64));
    g.bench_function("demux", |b| b.iter(|| black_box(demux_all(black_box(&ts)))));
    let mut buf = Vec::with_capacity(ts.len());
    g.bench_function("copy_baseline", |b| {
        b.iter(|| black_box(copy_all(black_box(&ts), &mut buf)))
    });
    g.finish();
}

fn ratio() {
    let ts = fixture();
    let mut buf = Vec::with_capacity(ts.len());
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < Duration::from_secs(3) {
            f();
            n += 1;
        }
        start.elapsed() / n
    };
    let demux = time(&mut || {
        black_box(demux_all(&ts));
    });
    let copy = time(&mut || {
        black_box(copy_all(&ts, &mut buf));
    });
    let mb = ts.len() as f64 / 1e6;
    println!(
        "RATIO ts demux {:.0} MB/s on one core ({:.0}x real time for a 4 Mbit/s stream), copy baseline {:.0} MB/s: demux costs {:.1}x a copy",
        mb / demux.as_secs_f64(),
        10.0 / demux.as_secs_f64(),
        mb / copy.as_secs_f64(),
        demux.as_secs_f64() / copy.as_secs_f64()
    );
}

criterion_group!(group, benches);

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    ratio();
}

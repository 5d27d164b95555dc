//! # Our hvcC / av1C / ASC against the packager's independent parsers
//!
//! `bench::elementary` and `packager::codec` were written separately. Here
//! ffmpeg makes real HEVC (libx265), AV1 (libsvtav1) and AAC streams, bench
//! builds the records, and the packager must parse them back to the same
//! geometry and sensible RFC 6381 codec strings. Skips when ffmpeg or an
//! encoder is missing.

use bench::elementary::{adts, av1, hevc};
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn encode(dir: &Path, name: &str, args: &[&str]) -> Option<PathBuf> {
    let out = dir.join(name);
    let ok = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
        .args(args)
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIP: ffmpeg could not make {name}");
    }
    ok.then_some(out)
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ferrocast-bench-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

const SRC: &str = "testsrc2=size=640x360:rate=30";

#[test]
fn hevc_record_parses_in_packager() {
    let dir = temp_dir("hevc");
    let args = [
        "-i",
        SRC,
        "-t",
        "2.5",
        "-c:v",
        "libx265",
        "-x265-params",
        "keyint=30:log-level=error",
        "-bf",
        "0",
    ];
    let Some(path) = encode(&dir, "x.h265", &args) else {
        return;
    };
    let s = hevc::read_annex_b(&std::fs::read(&path).unwrap(), 30.0).unwrap();
    assert_eq!(s.units.len(), 75);
    assert_eq!(s.units.iter().filter(|u| u.key).count(), 3);
    assert!(s.units[0].key);
    let cfg = packager::codec::hevc::HevcConfig::parse(Bytes::from(s.record)).unwrap();
    assert_eq!((cfg.width, cfg.height), (640, 360));
    assert_eq!(cfg.nal_length_size, 4);
    let codec = cfg.codec_string();
    assert!(codec.starts_with("hvc1.1."), "{codec}");
    // Every sample is well-formed 4-byte length-prefixed NAL units, none a parameter set.
    for u in &s.units {
        let mut d = &u.data[..];
        while !d.is_empty() {
            let len = u32::from_be_bytes(d[..4].try_into().unwrap()) as usize;
            assert!(!(32..=35).contains(&((d[4] >> 1) & 0x3F)));
            d = &d[4 + len..];
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn av1_record_parses_in_packager() {
    let dir = temp_dir("av1");
    let Some(path) = encode(
        &dir,
        "x.ivf",
        &["-i", SRC, "-t", "2.5", "-c:v", "libsvtav1", "-g", "30"],
    ) else {
        return;
    };
    let s = av1::read_ivf(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(s.units.len(), 75);
    assert!(s.units[0].key);
    assert_eq!(s.units[33].dts_ms, 1100);
    let cfg = packager::codec::av1::Av1Config::parse(Bytes::from(s.record)).unwrap();
    assert_eq!(
        (cfg.profile, cfg.bit_depth, cfg.chroma.0, cfg.chroma.1),
        (0, 8, 1, 1)
    );
    assert!(cfg.sequence_header.is_some());
    let info = cfg.video_info();
    assert_eq!((info.width, info.height), (640, 360));
    let codec = cfg.codec_string();
    assert!(codec.starts_with("av01.0."), "{codec}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn aac_asc_parses_in_packager() {
    let dir = temp_dir("aac");
    let args = [
        "-i",
        "sine=sample_rate=44100",
        "-t",
        "1",
        "-ac",
        "2",
        "-c:a",
        "aac",
        "-f",
        "adts",
    ];
    let Some(path) = encode(&dir, "x.aac", &args) else {
        return;
    };
    let s = adts::read_adts(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!((s.sample_rate, s.channels), (44100, 2));
    let cfg = packager::codec::aac::AacConfig::parse(Bytes::copy_from_slice(&s.asc)).unwrap();
    assert_eq!(cfg.codec_string(), "mp4a.40.2");
    let _ = std::fs::remove_dir_all(dir);
}

//! End-to-end checks on clips made by the ffmpeg CLI; outputs are checked with
//! ffprobe (JPEG, size) and by decoding the pictures back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use super::frames::FrameReader;
use super::*;
use crate::transcode::test_support::{clip, junk_file, tone_clip};

/// An H.264 clip of `source` (a lavfi video graph) lasting `seconds`, key frame
/// every `gop` frames and only there (no scene-cut key frames), with B-frames (so
/// decode order is not presentation order).
fn h264(dir: &Path, name: &str, source: &str, seconds: &str, gop: &str) -> Option<PathBuf> {
    clip(
        dir,
        name,
        &[
            "-f",
            "lavfi",
            "-i",
            source,
            "-t",
            seconds,
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "12",
            "-g",
            gop,
            "-sc_threshold",
            "0",
            "-bf",
            "2",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

/// A clip whose luma is `16 + 3 t` (t in seconds), so a picture tells its time.
fn ramp(dir: &Path, seconds: &str, gop: &str) -> Option<PathBuf> {
    h264(
        dir,
        "ramp.mp4",
        "color=c=gray:s=160x90:r=25,format=yuv420p,geq=lum='16+3*T':cb=128:cr=128",
        seconds,
        gop,
    )
}

/// ffprobe's `codec_name,width,height` of a picture.
fn ffprobe_picture(bytes: &[u8], dir: &Path) -> String {
    let path = dir.join("picture.jpg");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
        ])
        .args(["-of", "csv=p=0"])
        .arg(&path)
        .output()
        .expect("ffprobe runs (ffmpeg made the clip)");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Mean full-range luma of each `tile` x `tile_h` cell of a JPEG, decoded back.
fn tile_lumas(jpeg: &[u8], dir: &Path, tile: (u32, u32), count: u32, columns: u32) -> Vec<f64> {
    let path = dir.join("sprite.jpg");
    std::fs::write(&path, jpeg).unwrap();
    let mut input = ffmpeg_next::format::input(&path).unwrap();
    let params = input.streams().next().unwrap().parameters();
    let mut decoder = ffmpeg_next::codec::context::Context::from_parameters(params)
        .unwrap()
        .decoder()
        .video()
        .unwrap();
    let (_, packet) = input.packets().next().unwrap();
    decoder.send_packet(&packet).unwrap();
    decoder.send_eof().unwrap();
    let mut picture = ffmpeg_next::util::frame::Video::empty();
    decoder.receive_frame(&mut picture).unwrap();
    let (stride, luma) = (picture.stride(0), picture.data(0));
    (0..count)
        .map(|i| {
            let (x0, y0) = (
                (i % columns * tile.0) as usize,
                (i / columns * tile.1) as usize,
            );
            let mut sum = 0u64;
            for y in y0 + 2..y0 + tile.1 as usize - 2 {
                for x in x0 + 2..x0 + tile.0 as usize - 2 {
                    sum += u64::from(luma[y * stride + x]);
                }
            }
            sum as f64 / f64::from((tile.0 - 4) * (tile.1 - 4))
        })
        .collect()
}

/// One parsed cue: start and end seconds, and the payload's `xywh`.
#[derive(Debug)]
struct Cue {
    start: f64,
    end: f64,
    xywh: [u32; 4],
}

fn seconds(timestamp: &str) -> f64 {
    let (hms, ms) = timestamp.split_once('.').unwrap();
    let parts: Vec<f64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    assert_eq!(parts.len(), 3, "{timestamp}");
    parts[0] * 3600.0 + parts[1] * 60.0 + parts[2] + ms.parse::<f64>().unwrap() / 1000.0
}

/// Parses the index as a WebVTT reader would: signature, blank-line separated cues
/// of a timing line and one payload line `{uri}#xywh=x,y,w,h`.
fn parse_vtt(vtt: &str, uri: &str) -> Vec<Cue> {
    let mut blocks = vtt.split("\n\n");
    assert_eq!(blocks.next(), Some("WEBVTT"));
    blocks
        .map(|block| {
            let mut lines = block.lines();
            let (start, end) = lines.next().unwrap().split_once(" --> ").unwrap();
            let payload = lines.next().unwrap();
            assert_eq!(lines.next(), None, "{block}");
            let xywh = payload
                .strip_prefix(uri)
                .and_then(|p| p.strip_prefix("#xywh="))
                .unwrap_or_else(|| panic!("{payload}"));
            let n: Vec<u32> = xywh.split(',').map(|v| v.parse().unwrap()).collect();
            Cue {
                start: seconds(start),
                end: seconds(end),
                xywh: n.try_into().unwrap(),
            }
        })
        .collect()
}

#[test]
fn a_landscape_clip_gets_a_poster_a_sprite_and_an_index_covering_it() {
    let dir = tempfile::tempdir().unwrap();
    let Some(path) = h264(
        dir.path(),
        "wide.mp4",
        "testsrc2=size=640x360:rate=25",
        "12",
        "50",
    ) else {
        return;
    };
    let spec = ThumbnailSpec {
        interval_s: 2.0,
        columns: 4,
        ..ThumbnailSpec::default()
    };
    let out = thumbnails(&path, &spec, "sprite.jpg", &AtomicBool::new(false)).unwrap();
    assert_eq!(
        ffprobe_picture(&out.poster_jpeg, dir.path()),
        "mjpeg,640,360"
    );
    // 6 tiles of 160x90, 4 per row.
    assert_eq!(
        ffprobe_picture(&out.sprite_jpeg, dir.path()),
        "mjpeg,640,180"
    );
    let cues = parse_vtt(&out.vtt, "sprite.jpg");
    assert_eq!(cues.len(), 6, "{}", out.vtt);
    assert_eq!(cues[0].start, 0.0);
    for pair in cues.windows(2) {
        assert_eq!(pair[0].end, pair[1].start);
    }
    assert!((cues[5].end - 12.0).abs() < 0.05, "{:?}", cues[5]);
    for (i, cue) in cues.iter().enumerate() {
        assert!(cue.start < cue.end);
        let [x, y, w, h] = cue.xywh;
        assert_eq!((w, h), (160, 90));
        assert_eq!((x, y), (i as u32 % 4 * 160, i as u32 / 4 * 90));
        assert!(x + w <= 640 && y + h <= 180);
    }
}

#[test]
fn a_portrait_clip_keeps_its_aspect_and_a_tall_poster_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let Some(path) = h264(
        dir.path(),
        "tall.mp4",
        "testsrc2=size=720x1280:rate=25",
        "3",
        "25",
    ) else {
        return;
    };
    let out = thumbnails(
        &path,
        &ThumbnailSpec::default(),
        "s.jpg",
        &AtomicBool::new(false),
    )
    .unwrap();
    // 720x1280 scaled to 720 tall is 405 wide, rounded to even.
    assert_eq!(
        ffprobe_picture(&out.poster_jpeg, dir.path()),
        "mjpeg,406,720"
    );
    // 160 wide keeps 9:16 (284.4 -> 284); one tile per 5 s.
    assert_eq!(
        ffprobe_picture(&out.sprite_jpeg, dir.path()),
        "mjpeg,160,284"
    );
    let cues = parse_vtt(&out.vtt, "s.jpg");
    assert_eq!(cues.len(), 1);
    assert_eq!(cues[0].xywh, [0, 0, 160, 284]);
    assert!((cues[0].end - 3.0).abs() < 0.05, "{:?}", cues[0]);
}

#[test]
fn each_tile_shows_the_frame_at_its_time_whether_seeking_or_decoding_through() {
    let dir = tempfile::tempdir().unwrap();
    // Key frames every 5 s: landing on one instead of the target would be 15 off.
    let Some(path) = ramp(dir.path(), "60", "125") else {
        return;
    };
    let expected = |t: f64| 3.0 * t * 255.0 / 219.0;
    // 10 s apart (seeks), and 4 s apart (decodes through); 8 tiles max at 4 s
    // widens to 8 s.
    for (interval_s, max_tiles, step) in [(10.0, 100, 10.0), (4.0, 8, 8.0)] {
        let spec = ThumbnailSpec {
            interval_s,
            tile_width: 32,
            columns: 3,
            max_tiles,
            poster_at_s: Some(30.0),
        };
        let out = thumbnails(&path, &spec, "sprite.jpg", &AtomicBool::new(false)).unwrap();
        let count = parse_vtt(&out.vtt, "sprite.jpg").len() as u32;
        assert_eq!(count, (60.0_f64 / step).ceil() as u32);
        let lumas = tile_lumas(&out.sprite_jpeg, dir.path(), (32, 18), count, 3);
        for (i, luma) in lumas.iter().enumerate() {
            let want = expected(i as f64 * step);
            assert!((luma - want).abs() < 3.0, "tile {i}: {luma} vs {want}");
        }
        let poster = tile_lumas(&out.poster_jpeg, dir.path(), (160, 90), 1, 1);
        assert!((poster[0] - expected(30.0)).abs() < 3.0, "{poster:?}");
    }
}

#[test]
fn the_reader_seeks_far_targets_and_decodes_near_ones() {
    let dir = tempfile::tempdir().unwrap();
    let Some(path) = ramp(dir.path(), "30", "50") else {
        return;
    };
    crate::transcode::init();
    let cancel = AtomicBool::new(false);
    let mut reader = FrameReader::open(&path).unwrap();
    assert!((reader.duration_s() - 30.0).abs() < 0.1);
    for (target, seeks) in [(0.0, 0), (1.0, 0), (2.4, 0), (20.0, 1), (21.0, 1), (3.0, 2)] {
        let (at, _) = reader.frame_at(target, &cancel).unwrap().unwrap();
        assert!((at - target).abs() < 0.001, "{at} for {target}");
        assert_eq!(reader.seeks, seeks, "at {target}");
    }
    // Past the end: the last frame.
    let (at, _) = reader.frame_at(99.0, &cancel).unwrap().unwrap();
    assert!((at - 29.96).abs() < 0.001, "{at}");
}

#[test]
fn a_black_poster_frame_gives_way_to_a_later_bright_one() {
    let dir = tempfile::tempdir().unwrap();
    let Some(path) = h264(
        dir.path(),
        "fade.mp4",
        "color=c=black:s=160x90:r=25,format=yuv420p,geq=lum='if(lt(T,3),16,180)':cb=128:cr=128",
        "10",
        "25",
    ) else {
        return;
    };
    let out = thumbnails(
        &path,
        &ThumbnailSpec::default(),
        "s.jpg",
        &AtomicBool::new(false),
    )
    .unwrap();
    // 10 % of 10 s is black; 2 s is black; 3 s is bright.
    let poster = tile_lumas(&out.poster_jpeg, dir.path(), (160, 90), 1, 1);
    assert!(poster[0] > 150.0, "{poster:?}");
}

#[test]
fn audio_only_has_no_video_and_junk_is_not_media() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = AtomicBool::new(false);
    let spec = ThumbnailSpec::default();
    if let Some(tone) = tone_clip(dir.path(), "1") {
        assert_eq!(
            thumbnails(&tone, &spec, "s.jpg", &cancel),
            Err(ThumbnailError::NoVideo)
        );
    }
    let junk = junk_file(dir.path(), 64 * 1024);
    let err = thumbnails(&junk, &spec, "s.jpg", &cancel).unwrap_err();
    assert!(matches!(err, ThumbnailError::NotMedia(_)), "{err:?}");
    let missing = thumbnails(&dir.path().join("none.mp4"), &spec, "s.jpg", &cancel);
    assert!(
        matches!(missing, Err(ThumbnailError::NotMedia(_))),
        "{missing:?}"
    );
}

#[test]
fn cancel_and_bad_specs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let Some(path) = ramp(dir.path(), "2", "25") else {
        return;
    };
    let spec = ThumbnailSpec::default();
    let cancelled = thumbnails(&path, &spec, "s.jpg", &AtomicBool::new(true));
    assert_eq!(cancelled, Err(ThumbnailError::Cancelled));
    let go = AtomicBool::new(false);
    for (bad, field) in [
        (
            ThumbnailSpec {
                interval_s: 0.0,
                ..spec.clone()
            },
            "interval_s",
        ),
        (
            ThumbnailSpec {
                tile_width: 161,
                ..spec.clone()
            },
            "tile_width",
        ),
        (
            ThumbnailSpec {
                columns: 0,
                ..spec.clone()
            },
            "columns",
        ),
        (
            ThumbnailSpec {
                max_tiles: 0,
                ..spec.clone()
            },
            "max_tiles",
        ),
        (
            ThumbnailSpec {
                poster_at_s: Some(f64::NAN),
                ..spec.clone()
            },
            "poster_at_s",
        ),
    ] {
        assert_eq!(
            thumbnails(&path, &bad, "s.jpg", &go),
            Err(ThumbnailError::InvalidSpec(field))
        );
    }
}

#[test]
fn a_sprite_that_would_be_too_tall_gets_fewer_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let Some(path) = ramp(dir.path(), "2", "25") else {
        return;
    };
    // 1280x720 tiles in one column: at most 11 rows fit MAX_SPRITE_SIDE (8192),
    // so 20 tiles at 0.1 s become whole-second tiles.
    let spec = ThumbnailSpec {
        interval_s: 0.1,
        tile_width: 1280,
        columns: 1,
        ..ThumbnailSpec::default()
    };
    let out = thumbnails(&path, &spec, "s.jpg", &AtomicBool::new(false)).unwrap();
    assert_eq!(
        ffprobe_picture(&out.sprite_jpeg, dir.path()),
        "mjpeg,1280,1440"
    );
    let cues = parse_vtt(&out.vtt, "s.jpg");
    assert_eq!(cues.len(), 2, "{}", out.vtt);
    assert_eq!(cues[1].xywh, [0, 720, 1280, 720]);
}

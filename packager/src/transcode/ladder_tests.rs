//! [`VideoLadder`] as the live ladder uses it: frames that went through the media
//! model decode again via [`annex_b_access_unit`], and a shed rendition ends while
//! the others keep every frame and their key frames.

use super::test_support::{av_clip, run, small_ladder, TestSink};
use super::*;
use crate::media::CodecConfig;

#[test]
fn our_frames_decode_again_through_annex_b_access_units() {
    // The live ladder's input path: media-model frames back into FFmpeg's decoder,
    // with no extradata, only the parameter sets `annex_b_access_unit` prepends.
    let dir = tempfile::tempdir().unwrap();
    let Some(input) = av_clip(dir.path()) else {
        return;
    };
    let (result, sink) = run(&input, &small_ladder());
    result.unwrap();
    let (track, frames) = sink.video(2);
    let CodecConfig::H264(avc) = &track.codec else {
        panic!("{:?}", track.codec)
    };
    let codec = ffmpeg_next::decoder::find(ffmpeg_next::codec::Id::H264).unwrap();
    let mut decoder = ffmpeg_next::codec::context::Context::new_with_codec(codec)
        .decoder()
        .video()
        .unwrap();
    let mut decoded = Vec::new();
    let mut picture = ffmpeg_next::frame::Video::empty();
    let mut drain = |decoder: &mut ffmpeg_next::decoder::Video, decoded: &mut Vec<(u32, u32)>| {
        while decoder.receive_frame(&mut picture).is_ok() {
            decoded.push((picture.width(), picture.height()));
        }
    };
    for frame in frames {
        let mut packet = ffmpeg_next::Packet::copy(&annex_b_access_unit(avc, frame));
        packet.set_pts(Some(frame.pts));
        packet.set_dts(Some(frame.dts));
        decoder.send_packet(&packet).unwrap();
        drain(&mut decoder, &mut decoded);
    }
    decoder.send_eof().unwrap();
    drain(&mut decoder, &mut decoded);
    assert_eq!(decoded.len(), frames.len());
    assert!(decoded.iter().all(|&size| size == (256, 144)));
}

#[test]
fn a_dropped_rendition_ends_and_the_others_keep_their_key_frames() {
    // The live ladder's shedding, on synthetic frames: 320×240 at 30 fps, key frames
    // every 0.5 s (15 frames), rendition 1 dropped after frame 40.
    let source = VideoSource {
        width: 320,
        height: 240,
        sample_aspect: ffmpeg_next::Rational::new(1, 1),
        time_base: ffmpeg_next::Rational::new(1, 30),
        frame_rate: ffmpeg_next::Rational::new(30, 1),
    };
    let spec = LadderSpec {
        renditions: vec![
            RenditionSpec::new("240p", 240, 300_000),
            RenditionSpec::new("180p", 180, 200_000),
            RenditionSpec::new("120p", 120, 100_000),
        ],
        keyframe_interval_s: 0.5,
        threads: 1,
        ..small_ladder()
    };
    let mut ladder = VideoLadder::new(&source, &spec).unwrap();
    let mut sink = TestSink::default();
    for n in 0..60i64 {
        let mut frame = ffmpeg_next::frame::Video::new(OUTPUT_PIXEL_FORMAT, 320, 240);
        for plane in 0..3 {
            for (i, b) in frame.data_mut(plane).iter_mut().enumerate() {
                *b = (i as i64 * 7 + n * 5) as u8;
            }
        }
        frame.set_pts(Some(n));
        let key = ladder.push(&mut frame, &mut sink).unwrap();
        assert_eq!(key, n % 15 == 0, "frame {n}");
        // The frame was taken; the caller's is empty, ready for the decoder.
        assert_eq!(frame.width(), 0);
        assert_eq!(ladder.last_pts(), Some(n * 3000));
        if n == 40 {
            assert!(ladder.drop_rendition(1));
            assert!(!ladder.drop_rendition(1));
        }
    }
    ladder.flush(&mut sink).unwrap();
    assert_eq!(ladder.active(), 2);
    assert!(!ladder.renditions()[1].active);
    let keys = |id: u32| -> Vec<i64> {
        sink.video(id)
            .1
            .iter()
            .filter(|f| f.keyframe)
            .map(|f| f.pts)
            .collect()
    };
    for id in [0, 2] {
        assert_eq!(sink.video(id).1.len(), 60, "rendition {id}");
        assert_eq!(keys(id), vec![0, 45_000, 90_000, 135_000], "rendition {id}");
    }
    // It ends: only frames up to the drop, minus what x264 still held back.
    let dropped = sink.video(1).1;
    assert!((1..=41).contains(&dropped.len()), "{}", dropped.len());
    assert_eq!(keys(1)[0], 0);
    assert!(keys(1).iter().all(|pts| [0, 45_000, 90_000].contains(pts)));
    let sizes: Vec<(u32, u32)> = (0..3)
        .map(|id| {
            let info = sink.video(id).0.codec.video_info().unwrap();
            (info.width, info.height)
        })
        .collect();
    assert_eq!(sizes, vec![(320, 240), (240, 180), (160, 120)]);
}

#[test]
fn the_ladder_and_the_audio_encoder_can_move_to_their_own_thread() {
    fn send<T: Send>() {}
    send::<VideoLadder>();
    send::<AudioEncoder>();
}

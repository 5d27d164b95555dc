//! Playlist tests: every tag and attribute of the media and multivariant
//! playlists, delta updates, discontinuities and the end of a stream.

use super::*;
use crate::live::test_support::*;
use crate::live::wallclock::iso8601_ms;
use crate::live::LiveConfig;

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

fn count(text: &str, prefix: &str) -> usize {
    text.lines().filter(|l| l.starts_with(prefix)).count()
}

#[test]
fn media_playlist_has_every_header_tag() {
    let mut p = Publisher::av();
    let s = stream_with(&mut p, config(), 9_000);
    let text = media_playlist(&s, "video0", false).unwrap();
    let l = lines(&text);
    assert_eq!(
        &l[..8],
        [
            "#EXTM3U",
            "#EXT-X-VERSION:9",
            "#EXT-X-TARGETDURATION:2",
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.0,PART-HOLD-BACK=1.002",
            "#EXT-X-PART-INF:PART-TARGET=0.334",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-DISCONTINUITY-SEQUENCE:0",
            "#EXT-X-MAP:URI=\"init.mp4\"",
        ]
    );
    assert_eq!(
        l[8],
        format!("#EXT-X-PROGRAM-DATE-TIME:{}", iso8601_ms(T0_MS))
    );
    assert_eq!(l[8], "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z");
    assert!(media_playlist(&s, "video9", false).is_none());
}

#[test]
fn media_playlist_lists_segments_parts_hint_and_reports() {
    let mut p = Publisher::av();
    let s = stream_with(&mut p, config(), 9_000);
    let v = s.rendition("video0").unwrap();
    let text = media_playlist(&s, "video0", false).unwrap();
    for msn in 0..4 {
        assert!(
            text.contains(&format!("#EXTINF:2.00000,\nseg{msn}.m4s\n")),
            "{text}"
        );
    }
    assert_eq!(
        count(&text, "#EXT-X-PROGRAM-DATE-TIME:"),
        5,
        "4 complete + 1 in progress"
    );
    assert_eq!(count(&text, "#EXT-X-MAP:"), 1);
    // Parts: segments ending within 3 target durations (6 s) of the end, and the open one.
    assert!(
        !text.contains("part0.0.m4s"),
        "segment 0 ends 7 s before the end"
    );
    let open = v.in_progress().unwrap();
    // Ten 33/34 ms frames per part (RTMP millisecond timestamps).
    assert!(
        text.contains("#EXT-X-PART:DURATION=0.33300,URI=\"part1.0.m4s\",INDEPENDENT=YES\n"),
        "{text}"
    );
    assert!(text.contains("#EXT-X-PART:DURATION=0.33400,URI=\"part1.1.m4s\"\n"));
    let listed_parts = count(&text, "#EXT-X-PART:");
    let expected: usize = v
        .segments
        .iter()
        .filter(|seg| seg.msn >= 1)
        .map(|seg| seg.parts.len())
        .sum();
    assert_eq!(listed_parts, expected);
    assert_eq!(
        text.lines()
            .filter(|l| l.ends_with("INDEPENDENT=YES"))
            .count(),
        4,
        "first part of segments 1, 2, 3 and 4"
    );
    let hint = format!(
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part4.{}.m4s\"",
        open.parts.len()
    );
    assert!(text.contains(&hint), "{text}");
    let (am, ap) = s.rendition("audio0").unwrap().last_part().unwrap();
    assert!(text.ends_with(&format!(
        "#EXT-X-RENDITION-REPORT:URI=\"../audio0/index.m3u8\",LAST-MSN={am},LAST-PART={ap}\n"
    )));
    assert!(!text.contains("#EXT-X-ENDLIST"));
    // Every part duration is within PART-TARGET.
    for line in text
        .lines()
        .filter(|l| l.starts_with("#EXT-X-PART:DURATION="))
    {
        let d: f64 = line["#EXT-X-PART:DURATION=".len()..]
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(d <= 0.334, "{line}");
    }
    let audio = media_playlist(&s, "audio0", false).unwrap();
    assert!(audio.contains("#EXT-X-RENDITION-REPORT:URI=\"../video0/index.m3u8\",LAST-MSN=4,"));
}

#[test]
fn delta_updates_skip_segments_older_than_the_skip_boundary() {
    let cfg = LiveConfig {
        window_ms: 30_000,
        ..config()
    };
    let mut p = Publisher::av();
    let s = stream_with(&mut p, cfg, 41_000);
    let full = media_playlist(&s, "video0", false).unwrap();
    let delta = media_playlist(&s, "video0", true).unwrap();
    let seq = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("#EXT-X-MEDIA-SEQUENCE:"))
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        seq(&full),
        seq(&delta),
        "MEDIA-SEQUENCE names the first (skipped) segment"
    );
    assert_eq!(seq(&full), "#EXT-X-MEDIA-SEQUENCE:5");
    // 15 complete segments (10..40 s) + 0.67 s in progress; skippable: those ending
    // at least 12 s before the end (at 28.67 s or earlier): segments 5..=13.
    let skipped = 9;
    assert!(
        delta.contains(&format!("#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}\n")),
        "{delta}"
    );
    assert_eq!(
        count(&full, "#EXTINF:") - count(&delta, "#EXTINF:"),
        skipped
    );
    assert!(!delta.contains("seg13.m4s") && delta.contains("seg14.m4s"));
    assert!(delta.contains("#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-PROGRAM-DATE-TIME"));
    assert!(!full.contains("#EXT-X-SKIP"));
    // Nothing old enough: no EXT-X-SKIP at all.
    let mut p = Publisher::av();
    let short = stream_with(&mut p, config(), 9_000);
    assert!(!media_playlist(&short, "video0", true)
        .unwrap()
        .contains("#EXT-X-SKIP"));
}

#[test]
fn discontinuities_are_tagged_and_counted_when_they_leave() {
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 4_000);
    s.handle_publisher_gone(T0_MS + 4_000);
    let mut p2 = Publisher {
        t0_ms: T0_MS + 6_000,
        ..Publisher::av()
    };
    p2.announce(&mut s);
    p2.run(&mut s, 5_000);
    let text = media_playlist(&s, "video0", false).unwrap();
    assert!(text.contains(&format!(
        "seg1.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:{}\n",
        iso8601_ms(T0_MS + 6_000)
    )));
    assert!(text.contains("#EXT-X-DISCONTINUITY-SEQUENCE:0\n"));
    // Long after, the discontinuity left the playlist and is counted.
    p2.run(&mut s, 40_000);
    let text = media_playlist(&s, "video0", false).unwrap();
    assert!(text.contains("#EXT-X-DISCONTINUITY-SEQUENCE:1\n"), "{text}");
    assert!(!text.contains("#EXT-X-DISCONTINUITY\n"));
}

#[test]
fn an_ended_stream_has_endlist_and_no_hint() {
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 5_000);
    s.handle_end(T0_MS + 5_000);
    let text = media_playlist(&s, "video0", false).unwrap();
    assert!(text.ends_with("#EXT-X-ENDLIST\n"));
    assert!(!text.contains("#EXT-X-PRELOAD-HINT"));
    // 4..5 s, the last sample lasting as long as the one before it (34 ms).
    assert!(text.contains("#EXTINF:1.00100,\nseg2.m4s\n"), "{text}");
}

#[test]
fn multivariant_playlist_describes_variants_and_audio() {
    let mut p = Publisher::av();
    let s = stream_with(&mut p, config(), 9_000);
    let text = multivariant_playlist(&s);
    let (v, a) = (
        s.rendition("video0").unwrap(),
        s.rendition("audio0").unwrap(),
    );
    let expected = format!(
        "#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n\
         #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"English\",LANGUAGE=\"en\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"audio0/index.m3u8\"\n\
         #EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO=\"aud\"\n\
         video0/index.m3u8\n",
        v.peak_bandwidth + a.peak_bandwidth,
        v.average_bandwidth() + a.average_bandwidth()
    );
    assert_eq!(text, expected);
    assert!(v.peak_bandwidth > 2_000_000);
}

#[test]
fn cea608_captions_are_a_closed_captions_group() {
    let mut p = Publisher {
        sei: vec![CC1_SEI_HEX],
        ..Publisher::av()
    };
    let s = stream_with(&mut p, config(), 5_000);
    let text = multivariant_playlist(&s);
    let l = lines(&text);
    assert_eq!(l[..2], ["#EXTM3U", "#EXT-X-INDEPENDENT-SEGMENTS"]);
    assert_eq!(
        l[3],
        "#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"CC1\",INSTREAM-ID=\"CC1\",DEFAULT=YES,AUTOSELECT=YES"
    );
    assert!(l[2].starts_with("#EXT-X-MEDIA:TYPE=AUDIO,"), "{text}");
    assert!(
        l[4].starts_with("#EXT-X-STREAM-INF:")
            && l[4].ends_with(",AUDIO=\"aud\",CLOSED-CAPTIONS=\"cc\""),
        "{text}"
    );
    assert_eq!(count(&text, "#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS"), 1);
}

#[test]
fn cea608_and_708_services_are_listed_in_order_with_one_default() {
    let mut p = Publisher {
        sei: vec![SERVICE1_SEI_HEX, CC3_SEI_HEX, CC1_SEI_HEX],
        ..Publisher::av()
    };
    let s = stream_with(&mut p, config(), 5_000);
    let text = multivariant_playlist(&s);
    let media: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS"))
        .collect();
    assert_eq!(
        media,
        [
            "#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"CC1\",INSTREAM-ID=\"CC1\",DEFAULT=YES,AUTOSELECT=YES",
            "#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"CC3\",INSTREAM-ID=\"CC3\",DEFAULT=NO,AUTOSELECT=YES",
            "#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"SERVICE1\",INSTREAM-ID=\"SERVICE1\",DEFAULT=NO,AUTOSELECT=YES",
        ]
    );
    // INSTREAM-ID="SERVICEn" needs protocol version 7 (rfc8216bis §7).
    assert!(text.starts_with("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"));
}

#[test]
fn without_captions_there_is_no_closed_captions_attribute_not_even_none() {
    let mut p = Publisher::av();
    let s = stream_with(&mut p, config(), 5_000);
    let text = multivariant_playlist(&s);
    assert!(!text.contains("CLOSED-CAPTIONS"), "{text}");
    assert!(!text.contains("EXT-X-VERSION"), "{text}");
}

#[test]
fn audio_only_multivariant_points_at_the_audio_playlist() {
    let mut p = Publisher {
        video: false,
        ..Publisher::av()
    };
    let s = stream_with(&mut p, config(), 5_000);
    let text = multivariant_playlist(&s);
    assert!(
        text.contains("CODECS=\"mp4a.40.2\"\naudio0/index.m3u8\n"),
        "{text}"
    );
    assert!(!text.contains("#EXT-X-MEDIA"));
}

#[test]
fn advance_part_limit_follows_the_spec() {
    assert_eq!(advance_part_limit(334), 9);
    assert_eq!(advance_part_limit(250), 12);
    assert_eq!(advance_part_limit(1000), 3);
    assert_eq!(decimal_floor(0.333_339, 5), "0.33333");
    assert_eq!(decimal_floor(0.334, 3), "0.334");
}

#[test]
fn audio_languages_are_bcp47_tags_with_unique_english_names() {
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 3_000);
    for (id, lang) in [(1, "eng"), (2, "fre")] {
        let mut track = audio_track(id);
        track.language = Some(lang.into());
        track.name = None;
        s.handle_track(track, p.t0_ms);
    }
    let text = multivariant_playlist(&s);
    let media: Vec<&str> = lines(&text)
        .into_iter()
        .filter(|l| l.starts_with("#EXT-X-MEDIA:TYPE=AUDIO"))
        .collect();
    assert_eq!(media.len(), 3, "{text}");
    assert!(media[0].contains("NAME=\"English (audio0)\",LANGUAGE=\"en\""));
    assert!(media[1].contains("NAME=\"English (audio1)\",LANGUAGE=\"en\""));
    assert!(media[2].contains("NAME=\"French\",LANGUAGE=\"fr\""));
}

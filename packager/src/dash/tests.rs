//! MPD tests: the document is parsed back (roxmltree) and its attributes checked;
//! the SegmentTimeline must describe exactly the retained segments; a reconnect
//! makes a second Period. Plus an ffprobe check of init + segments.

use roxmltree::{Document, Node};

use super::*;
use crate::live::test_support::*;
use crate::live::wallclock::iso8601_ms;
use crate::live::{LiveStream, Rendition};

const NOW: u64 = T0_MS + 9_100;

fn options() -> MpdOptions {
    MpdOptions {
        utc_timing_url: "/time".into(),
        now_ms: NOW,
    }
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Node<'a, 'i> {
    n.children()
        .find(|c| c.has_tag_name(name))
        .unwrap_or_else(|| panic!("no <{name}>"))
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(move |c| c.has_tag_name(name))
}

/// Expands a SegmentTimeline into (t, d) pairs.
fn timeline(tpl: Node) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut t = 0;
    for s in children(child(tpl, "SegmentTimeline"), "S") {
        if let Some(v) = s.attribute("t") {
            t = v.parse().unwrap();
        }
        let d: u64 = s.attribute("d").unwrap().parse().unwrap();
        let r: u64 = s.attribute("r").map_or(0, |v| v.parse().unwrap());
        for _ in 0..=r {
            out.push((t, d));
            t += d;
        }
    }
    out
}

#[test]
fn mpd_has_the_low_latency_attributes() {
    let mut p = Publisher::av();
    let s = stream_with(&mut p, config(), 9_000);
    let xml = live_mpd(&s, &options());
    let doc = Document::parse(&xml).expect("well-formed XML");
    let mpd = doc.root_element();
    assert_eq!(mpd.tag_name().name(), "MPD");
    assert_eq!(
        mpd.tag_name().namespace(),
        Some("urn:mpeg:dash:schema:mpd:2011")
    );
    assert_eq!(mpd.attribute("type"), Some("dynamic"));
    assert!(mpd
        .attribute("profiles")
        .unwrap()
        .contains("urn:mpeg:dash:profile:isoff-live:2011"));
    assert_eq!(
        mpd.attribute("availabilityStartTime"),
        Some(iso8601_ms(T0_MS).as_str())
    );
    assert_eq!(mpd.attribute("publishTime"), Some(iso8601_ms(NOW).as_str()));
    assert_eq!(mpd.attribute("minimumUpdatePeriod"), Some("PT0.500S"));
    assert_eq!(mpd.attribute("timeShiftBufferDepth"), Some("PT10.000S"));
    assert_eq!(mpd.attribute("maxSegmentDuration"), Some("PT2.000S"));
    assert!(mpd.attribute("minBufferTime").is_some());

    let sd = child(mpd, "ServiceDescription");
    let lat = child(sd, "Latency");
    assert_eq!(
        (
            lat.attribute("target"),
            lat.attribute("min"),
            lat.attribute("max")
        ),
        (Some("1336"), Some("668"), Some("3336"))
    );
    assert!(child(sd, "PlaybackRate").attribute("max").is_some());

    let utc = child(mpd, "UTCTiming");
    assert_eq!(
        utc.attribute("schemeIdUri"),
        Some("urn:mpeg:dash:utc:http-iso:2014")
    );
    assert_eq!(utc.attribute("value"), Some("/time"));

    let periods: Vec<Node> = children(mpd, "Period").collect();
    assert_eq!(periods.len(), 1);
    assert_eq!(periods[0].attribute("start"), Some("PT0.000S"));
    let sets: Vec<Node> = children(periods[0], "AdaptationSet").collect();
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[0].attribute("contentType"), Some("video"));
    assert_eq!(sets[0].attribute("segmentAlignment"), Some("true"));
    assert_eq!(sets[1].attribute("contentType"), Some("audio"));
    assert_eq!(sets[1].attribute("lang"), Some("en"));

    let video = child(sets[0], "Representation");
    assert_eq!(video.attribute("id"), Some("video0"));
    assert_eq!(video.attribute("codecs"), Some("avc1.64001e"));
    assert_eq!(
        (video.attribute("width"), video.attribute("height")),
        (Some("640"), Some("360"))
    );
    assert_eq!(video.attribute("frameRate"), Some("30"));
    let bw: u64 = video.attribute("bandwidth").unwrap().parse().unwrap();
    assert_eq!(bw, s.rendition("video0").unwrap().peak_bandwidth);
    let audio = child(sets[1], "Representation");
    assert_eq!(
        (audio.attribute("id"), audio.attribute("audioSamplingRate")),
        (Some("audio0"), Some("48000"))
    );
    assert_eq!(
        child(audio, "AudioChannelConfiguration").attribute("value"),
        Some("2")
    );

    let tpl = child(video, "SegmentTemplate");
    assert_eq!(tpl.attribute("timescale"), Some("90000"));
    assert_eq!(
        tpl.attribute("initialization"),
        Some("$RepresentationID$/init.mp4")
    );
    assert_eq!(
        tpl.attribute("media"),
        Some("$RepresentationID$/seg$Number$.m4s")
    );
    assert_eq!(tpl.attribute("startNumber"), Some("0"));
    assert_eq!(tpl.attribute("presentationTimeOffset"), Some("0"));
    assert_eq!(tpl.attribute("availabilityTimeOffset"), Some("1.666"));
    assert_eq!(tpl.attribute("availabilityTimeComplete"), Some("false"));
}

fn assert_timeline_matches(tpl: Node, r: &Rendition) {
    let listed: Vec<(u64, u64)> = r
        .playlist_segments()
        .map(|s| {
            (
                s.start_dts,
                if s.complete {
                    s.duration_ticks
                } else {
                    s.duration_ticks.max(2 * u64::from(r.timescale))
                },
            )
        })
        .collect();
    assert_eq!(timeline(tpl), listed, "{}", r.name);
    assert_eq!(
        tpl.attribute("startNumber").unwrap(),
        r.playlist_segments().next().unwrap().msn.to_string()
    );
}

#[test]
fn segment_timeline_lists_the_window_and_the_segment_in_progress() {
    let mut p = Publisher::av();
    let s = stream_with(&mut p, config(), 21_000);
    let xml = live_mpd(&s, &options());
    let doc = Document::parse(&xml).unwrap();
    let period = child(doc.root_element(), "Period");
    for set in children(period, "AdaptationSet") {
        let rep = child(set, "Representation");
        let r = s.rendition(rep.attribute("id").unwrap()).unwrap();
        assert_timeline_matches(child(rep, "SegmentTemplate"), r);
    }
    // Video: 5 equal complete segments compress into one S with r=4, then the open one.
    let video_tpl = child(
        child(child(period, "AdaptationSet"), "Representation"),
        "SegmentTemplate",
    );
    let first_s = child(child(video_tpl, "SegmentTimeline"), "S");
    assert_eq!(
        (first_s.attribute("d"), first_s.attribute("r")),
        (Some("180000"), Some("5"))
    );
}

#[test]
fn a_reconnect_starts_a_new_period() {
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 5_000);
    s.handle_publisher_gone(T0_MS + 5_000);
    let mut p2 = Publisher {
        t0_ms: T0_MS + 8_000,
        ..Publisher::av()
    };
    p2.announce(&mut s);
    p2.run(&mut s, 3_000);
    let xml = live_mpd(
        &s,
        &MpdOptions {
            utc_timing_url: "https://o/time?a&b".into(),
            now_ms: T0_MS + 11_000,
        },
    );
    let doc = Document::parse(&xml).unwrap();
    let periods: Vec<Node> = children(doc.root_element(), "Period").collect();
    assert_eq!(periods.len(), 2);
    assert_eq!(
        (periods[0].attribute("id"), periods[0].attribute("start")),
        (Some("p0"), Some("PT0.000S"))
    );
    assert_eq!(
        (periods[1].attribute("id"), periods[1].attribute("start")),
        (Some("p3"), Some("PT8.000S"))
    );
    let tpl = child(
        child(child(periods[1], "AdaptationSet"), "Representation"),
        "SegmentTemplate",
    );
    assert_eq!(tpl.attribute("startNumber"), Some("3"));
    let start = s.rendition("video0").unwrap().segment(3).unwrap().start_dts;
    assert_eq!(
        tpl.attribute("presentationTimeOffset"),
        Some(start.to_string().as_str())
    );
    assert_eq!(timeline(tpl)[0].0, start);
    assert_eq!(
        child(doc.root_element(), "UTCTiming").attribute("value"),
        Some("https://o/time?a&b")
    );
}

#[test]
fn captions_are_accessibility_descriptors_of_the_video_adaptation_set() {
    let mut p = Publisher {
        sei: vec![CC3_SEI_HEX, CC1_SEI_HEX, SERVICE1_SEI_HEX],
        ..Publisher::av()
    };
    let mut s = stream_with(&mut p, config(), 4_000);
    s.handle_publisher_gone(T0_MS + 4_000);
    let mut p2 = Publisher {
        t0_ms: T0_MS + 6_000,
        ..Publisher::av()
    };
    p2.announce(&mut s);
    p2.run(&mut s, 3_000);
    let xml = live_mpd(&s, &options());
    let doc = Document::parse(&xml).unwrap();
    let periods: Vec<Node> = children(doc.root_element(), "Period").collect();
    assert_eq!(periods.len(), 2);
    for period in periods {
        let sets: Vec<Node> = children(period, "AdaptationSet").collect();
        let acc: Vec<(&str, &str)> = children(sets[0], "Accessibility")
            .map(|a| {
                (
                    a.attribute("schemeIdUri").unwrap(),
                    a.attribute("value").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            acc,
            [
                ("urn:scte:dash:cc:cea-608:2015", "CC1=und;CC3=und"),
                ("urn:scte:dash:cc:cea-708:2015", "1=lang:und"),
            ],
            "the rendition keeps its captions across the reconnect"
        );
        // Schema order: Accessibility before Representation.
        let first = sets[0].children().find(|c| c.is_element()).unwrap();
        assert!(first.has_tag_name("Accessibility"));
        assert_eq!(children(sets[1], "Accessibility").count(), 0, "audio");
    }
    // No captions, no descriptor.
    let s = stream_with(&mut Publisher::av(), config(), 4_000);
    assert!(!live_mpd(&s, &options()).contains("Accessibility"));
}

#[test]
fn an_empty_stream_still_renders_a_valid_document() {
    let mut s = LiveStream::new(config());
    s.handle_track(video_track(0), T0_MS);
    let xml = live_mpd(&s, &options());
    let doc = Document::parse(&xml).unwrap();
    assert_eq!(children(doc.root_element(), "Period").count(), 0);
}

/// ffprobe reads init + the segments the segmenter made, with every frame and
/// increasing decode times across segments and a reconnect.
#[test]
fn ffprobe_reads_concatenated_segments() {
    if std::process::Command::new("ffprobe")
        .arg("-version")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        eprintln!("SKIPPED: ffprobe is not installed (apt-get install ffmpeg)");
        return;
    }
    let mut p = Publisher::av();
    let mut s = stream_with(&mut p, config(), 4_000);
    s.handle_publisher_gone(T0_MS + 4_000);
    let mut p2 = Publisher {
        t0_ms: T0_MS + 6_000,
        ..Publisher::av()
    };
    p2.announce(&mut s);
    p2.run(&mut s, 4_000);
    s.handle_end(T0_MS + 10_000);
    let dir = std::env::temp_dir().join(format!("ferrocast-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for r in s.renditions() {
        let mut file = r.init.to_vec();
        for seg in &r.segments {
            for part in &seg.parts {
                file.extend_from_slice(&part.data);
            }
        }
        let frames = r.samples_muxed;
        let path = dir.join(format!("{}.mp4", r.name));
        std::fs::write(&path, &file).unwrap();
        let out = std::process::Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "packet=dts",
                "-of",
                "csv=p=0",
            ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dts: Vec<i64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.trim().parse().unwrap())
            .collect();
        assert_eq!(dts.len() as u64, frames, "{}", r.name);
        assert!(
            dts.windows(2).all(|w| w[0] < w[1]),
            "{}: decode times increase",
            r.name
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

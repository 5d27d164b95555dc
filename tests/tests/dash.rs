//! # Low-latency DASH: the MPD, `/time`, and a segment streamed while produced
//!
//! One origin (2 s segments, 0.25 s parts) with ffmpeg publishing. Checks:
//!
//! - the MPD is a dynamic presentation (ISO/IEC 23009-1 §5.3.1.2 `@type`) with
//!   `UTCTiming` pointing at the origin's own `/time` (§5.8.4.11, DASH-IF IOP
//!   4.7), `ServiceDescription`/`Latency` (ISO/IEC 23009-1 Annex K), and a
//!   `SegmentTemplate` with `$Number$`, `availabilityTimeOffset` and
//!   `availabilityTimeComplete="false"` (§5.3.9.5.3; DASH-IF LL-DASH, "chunked
//!   low-latency mode");
//! - `/time` answers an ISO 8601 date close to our clock;
//! - the segment being produced is delivered with chunked transfer: its first
//!   bytes arrive well before it is complete, and the whole body equals the
//!   concatenation of that segment's LL-HLS parts (one packaging, two protocols).

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use roxmltree::{Document, Node};
use tests::checks::Checks;
use tests::fixture::LiveFixture;
use tests::http;
use tests::live::{fetch_media, wait_msn};
use tests::m3u8;
use tests::origin::OriginConfig;
use tests::publisher::PublishOptions;
use tests::tools;

const SEGMENT_TARGET: f64 = 2.0;
const PART_TARGET: f64 = 0.25;

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i: 'a>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// The video representation's segment addressing, resolved to URLs.
struct VideoAddressing {
    /// `(template-with-$Number$ resolved against BaseURLs, representation id)`.
    media: String,
    rep_id: String,
    /// The element (SegmentTemplate or BaseURL) that carries availabilityTimeOffset.
    ato: Option<f64>,
    atc: Option<String>,
}

/// Finds the video AdaptationSet's SegmentTemplate (on the AdaptationSet or the
/// Representation) and resolves `media` against the MPD URL and any BaseURL.
fn video_addressing(doc: &Document, mpd_url: &str) -> Result<VideoAddressing> {
    let mpd = doc.root_element();
    let mut base = mpd_url.to_owned();
    if let Some(b) = child(mpd, "BaseURL").and_then(|b| b.text()) {
        base = http::resolve(&base, b.trim());
    }
    let period = children(mpd, "Period").last().context("no Period")?;
    if let Some(b) = child(period, "BaseURL").and_then(|b| b.text()) {
        base = http::resolve(&base, b.trim());
    }
    for aset in children(period, "AdaptationSet") {
        let is_video = aset.attribute("contentType") == Some("video")
            || aset
                .attribute("mimeType")
                .is_some_and(|m| m.starts_with("video/"));
        if !is_video {
            continue;
        }
        let rep =
            child(aset, "Representation").context("video AdaptationSet without Representation")?;
        let tmpl = child(rep, "SegmentTemplate")
            .or_else(|| child(aset, "SegmentTemplate"))
            .context("no SegmentTemplate for video")?;
        let media = tmpl.attribute("media").context("SegmentTemplate@media")?;
        ensure!(
            media.contains("$Number$"),
            "SegmentTemplate@media {media:?} lacks $Number$"
        );
        let mut b = base.clone();
        for n in [aset, rep] {
            if let Some(u) = child(n, "BaseURL").and_then(|u| u.text()) {
                b = http::resolve(&b, u.trim());
            }
        }
        let ato_node = [tmpl, aset, rep]
            .into_iter()
            .find(|n| n.attribute("availabilityTimeOffset").is_some())
            .or_else(|| {
                [aset, rep, period, mpd]
                    .into_iter()
                    .filter_map(|n| child(n, "BaseURL"))
                    .find(|n| n.attribute("availabilityTimeOffset").is_some())
            });
        let ato = ato_node
            .and_then(|n| n.attribute("availabilityTimeOffset"))
            .map(|v| v.parse::<f64>())
            .transpose()?;
        let atc = ato_node
            .and_then(|n| n.attribute("availabilityTimeComplete"))
            .or_else(|| tmpl.attribute("availabilityTimeComplete"))
            .map(str::to_owned);
        return Ok(VideoAddressing {
            media: http::resolve(&b, media),
            rep_id: rep.attribute("id").context("Representation@id")?.to_owned(),
            ato,
            atc,
        });
    }
    bail!("no video AdaptationSet")
}

impl VideoAddressing {
    /// ISO/IEC 23009-1 §5.3.9.4.4: `$RepresentationID$` and `$Number$`.
    fn url(&self, number: u64) -> Result<String> {
        let u = self
            .media
            .replace("$RepresentationID$", &self.rep_id)
            .replace("$Number$", &number.to_string());
        ensure!(
            !u.contains('$'),
            "unsupported template identifier in {}",
            self.media
        );
        Ok(u)
    }
}

#[test]
fn low_latency_dash_mpd_time_and_chunked_segments() {
    if !tools::require("dash", &["ffmpeg"]) {
        return;
    }
    let cfg = OriginConfig {
        segment_target_s: SEGMENT_TARGET,
        part_target_s: PART_TARGET,
        ..OriginConfig::default()
    };
    let opts = PublishOptions::default().with_gop_s(SEGMENT_TARGET);
    let mut fx = LiveFixture::start(cfg, &opts).expect("origin + publisher start");
    fx.wait_segments("video0", 2).expect("2 video segments");
    fx.wait_segments("audio0", 2).expect("2 audio segments");
    let mpd_url = fx.url("manifest.mpd");
    let mut checks = Checks::new();

    checks.run(
        "MPD: dynamic, UTCTiming → /time, ServiceDescription, LL template",
        || {
            let r = http::get(&mpd_url)?;
            ensure!(r.status == 200, "{}", r.summary());
            ensure!(
                r.content_type() == "application/dash+xml",
                "content-type {:?} (ISO/IEC 23009-1 Annex C)",
                r.content_type()
            );
            // ARCHITECTURE.md: MPD gets a short max-age (≈ one segment target).
            let ma = r.max_age().context("MPD without max-age")?;
            ensure!(
                ma >= 1 && ma <= 2 * SEGMENT_TARGET.ceil() as u64,
                "{}: MPD max-age should be about one segment target",
                r.summary()
            );
            let text = r.text();
            let doc = Document::parse(&text).context("MPD is not well-formed XML")?;
            let mpd = doc.root_element();
            ensure!(
                mpd.tag_name().name() == "MPD",
                "root element {:?}",
                mpd.tag_name()
            );
            // §5.3.1.2: a live presentation is type="dynamic" with availabilityStartTime.
            ensure!(
                mpd.attribute("type") == Some("dynamic"),
                "MPD@type {:?}",
                mpd.attribute("type")
            );
            let ast = mpd
                .attribute("availabilityStartTime")
                .context("MPD@availabilityStartTime required for dynamic")?;
            m3u8::parse_date(ast).context("availabilityStartTime")?;
            ensure!(mpd.attribute("profiles").is_some(), "MPD@profiles missing");
            // §5.8.4.11 / DASH-IF IOP: UTCTiming with an HTTP scheme at our /time.
            let timing = child(mpd, "UTCTiming").context("no UTCTiming")?;
            let scheme = timing.attribute("schemeIdUri").unwrap_or("");
            ensure!(
                scheme == "urn:mpeg:dash:utc:http-iso:2014"
                    || scheme == "urn:mpeg:dash:utc:http-xsdate:2014",
                "UTCTiming@schemeIdUri {scheme:?}"
            );
            let time_url = http::resolve(
                &mpd_url,
                timing.attribute("value").context("UTCTiming@value")?,
            );
            ensure!(
                time_url == fx.origin.url("/time"),
                "UTCTiming points at {time_url}, not the origin's /time"
            );
            // ISO/IEC 23009-1 Annex K: ServiceDescription/Latency@target (ms).
            let sd = child(mpd, "ServiceDescription").context("no ServiceDescription")?;
            let lat = child(sd, "Latency").context("no ServiceDescription/Latency")?;
            let target: f64 = lat.attribute("target").context("Latency@target")?.parse()?;
            ensure!(
                target > 0.0 && target <= 6000.0,
                "Latency@target {target} ms is not low latency"
            );
            // §5.3.9.5.3 + LL-DASH: chunks available before the segment completes.
            let va = video_addressing(&doc, &mpd_url)?;
            let ato = va.ato.context("no availabilityTimeOffset")?;
            ensure!(
                ato > 0.0 && ato <= SEGMENT_TARGET * 1.5,
                "availabilityTimeOffset {ato} (expected (0, segment duration])"
            );
            ensure!(
                va.atc.as_deref() == Some("false"),
                "availabilityTimeComplete {:?}, expected \"false\"",
                va.atc
            );
            // Both media types are there, with the codecs the HLS side advertises.
            let period = children(mpd, "Period").last().context("no Period")?;
            let mut codecs = Vec::new();
            for a in children(period, "AdaptationSet") {
                for rep in children(a, "Representation") {
                    if let Some(c) = rep.attribute("codecs").or(a.attribute("codecs")) {
                        codecs.push(c.to_owned());
                    }
                }
            }
            ensure!(
                codecs.iter().any(|c| c.starts_with("avc1."))
                    && codecs.iter().any(|c| c == "mp4a.40.2"),
                "Representation codecs {codecs:?}"
            );
            Ok(())
        },
    );

    checks.run("/time is ISO 8601 and close to our clock", || {
        let r = http::get(&fx.origin.url("/time"))?;
        ensure!(r.status == 200, "{}", r.summary());
        let t = m3u8::parse_date(r.text().trim())?;
        let off = (chrono::Utc::now().fixed_offset() - t)
            .num_milliseconds()
            .abs();
        ensure!(off < 2000, "/time is {off} ms off the local clock");
        ensure!(
            r.has_directive("no-store") || r.max_age().is_some_and(|m| m <= 1),
            "{}: a clock must not be cached",
            r.summary()
        );
        Ok(())
    });

    checks.run(
        "the segment in progress streams, and equals its LL-HLS parts",
        || {
            let doc_text = http::get(&mpd_url)?.text();
            let doc = Document::parse(&doc_text)?;
            let va = video_addressing(&doc, &mpd_url)?;
            let hls = fx.media_url("video0");
            let (_, m) = fetch_media(&hls)?;
            // Wait (blocking reload) for part 0 of the next segment, then ask DASH for
            // that segment at once: most of it is still to be produced.
            let n = m.next_msn() + 1;
            let r = http::get(&format!("{hls}?_HLS_msn={n}&_HLS_part=0"))?;
            ensure!(r.status == 200, "{}", r.summary());
            let seg = http::get(&va.url(n)?)?;
            ensure!(seg.status == 200, "{}", seg.summary());
            let first = seg.first_body_after().context("empty segment body")?;
            eprintln!(
                "  DASH seg {n}: head {:?}, first bytes {:?}, complete {:?}, {} reads, {} bytes, \
             transfer-encoding {:?}",
                seg.head_after,
                first,
                seg.elapsed,
                seg.reads.len(),
                seg.body.len(),
                seg.header("transfer-encoding")
            );
            let (_, done) = fetch_media(&hls)?;
            let done = match done.segment(n) {
                Some(_) => done,
                None => wait_msn(&hls, n, Duration::from_secs(10))?,
            };
            let s = done.segment(n).context("segment not listed")?;
            ensure!(
                seg.elapsed - first >= Duration::from_secs_f64(0.4 * s.duration),
                "first bytes after {first:?}, complete after {:?}: the body did not stream \
             while the {:.2} s segment was produced",
                seg.elapsed,
                s.duration
            );
            ensure!(seg.reads.len() >= 2, "body arrived in one read");
            ensure!(
                seg.header("content-length").is_none(),
                "an in-progress segment cannot have a Content-Length"
            );
            // The full body is the segment: the concatenation of its parts.
            let mut concat = Vec::new();
            for p in &s.parts {
                let b = http::get(&http::resolve(&hls, &p.uri))?;
                ensure!(b.status == 200, "{}", b.summary());
                concat.extend_from_slice(&b.body);
            }
            ensure!(!s.parts.is_empty(), "segment {n} lists no parts");
            ensure!(
                seg.body == concat,
                "DASH segment {n} ({} bytes) differs from its {} LL-HLS parts ({} bytes)",
                seg.body.len(),
                s.parts.len(),
                concat.len()
            );
            let whole = http::get(&http::resolve(&hls, &s.uri))?;
            ensure!(
                whole.body == seg.body,
                "HLS seg{n} differs from the DASH segment {n}"
            );
            Ok(())
        },
    );

    checks.run("a complete segment is served whole and immutable", || {
        let doc_text = http::get(&mpd_url)?.text();
        let va = video_addressing(&Document::parse(&doc_text)?, &mpd_url)?;
        let (_, m) = fetch_media(&fx.media_url("video0"))?;
        let last = m.last_msn().context("no segment")?;
        let r = http::get(&va.url(last)?)?;
        ensure!(r.status == 200, "{}", r.summary());
        ensure!(
            r.has_directive("immutable") && r.max_age() == Some(86400),
            "{}",
            r.summary()
        );
        Ok(())
    });

    checks.run("publisher still running", || {
        ensure!(
            fx.publisher.is_running(),
            "ffmpeg exited: {}",
            fx.publisher.stderr()
        );
        Ok(())
    });
    checks.finish();
}

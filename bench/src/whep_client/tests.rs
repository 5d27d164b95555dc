//! A [`Session`] against an in-memory ice-lite str0m sender on a virtual
//! clock: the offer/answer, ICE, DTLS, SRTP and the counters, with no socket
//! and no sleeping.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::format::Codec;
use str0m::media::{MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

use super::options::WhepOptions;
use super::session::Session;
use super::stats::ViewerStats;

const CLIENT: &str = "127.0.0.1:40000";
const SERVER: &str = "127.0.0.1:50000";

/// An ice-lite sender of one H.264 track, like the origin's WHEP sessions.
struct Sender {
    rtc: Rtc,
    video: Option<Mid>,
    connected: bool,
    deadline: Instant,
}

impl Sender {
    fn answer(offer: &str, now: Instant) -> (Sender, String) {
        let mut cfg = RtcConfig::new().clear_codecs().set_ice_lite(true);
        cfg.codec_config().add_h264(
            Pt::new_with_value(96),
            Some(Pt::new_with_value(97)),
            true,
            0x42e01f,
        );
        let mut rtc = cfg.build(now);
        let server: SocketAddr = SERVER.parse().unwrap();
        rtc.add_local_candidate(Candidate::host(server, "udp").unwrap());
        let offer = SdpOffer::from_sdp_string(offer).unwrap();
        let answer = rtc.sdp_api().accept_offer(offer).unwrap();
        let s = Sender {
            rtc,
            video: None,
            connected: false,
            deadline: now,
        };
        (s, answer.to_sdp_string())
    }

    /// Drains output; datagrams for the client go to `out`.
    fn poll(&mut self, out: &mut Vec<Vec<u8>>) {
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(t) => {
                    self.deadline = t;
                    return;
                }
                Output::Transmit(t) => out.push(t.contents.to_vec()),
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::MediaAdded(m)) if m.kind == MediaKind::Video => {
                    self.video = Some(m.mid)
                }
                Output::Event(_) => {}
            }
        }
    }

    fn send_frame(&mut self, n: u64, now: Instant) {
        let (Some(mid), true) = (self.video, self.connected) else {
            return;
        };
        let Some(w) = self.rtc.writer(mid) else {
            return;
        };
        let pt = w
            .payload_params()
            .find(|p| p.spec().codec == Codec::H264)
            .map(|p| p.pt())
            .unwrap();
        // A 4 KB access unit: SPS + PPS + IDR every 30 frames, else a P slice.
        let mut au = Vec::new();
        if n.is_multiple_of(30) {
            au.extend_from_slice(&[0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0xda]);
            au.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]);
            au.extend_from_slice(&[0, 0, 0, 1, 0x65]);
        } else {
            au.extend_from_slice(&[0, 0, 0, 1, 0x41]);
        }
        au.resize(4000, 0x5a);
        w.write(pt, now, MediaTime::from_90khz(n * 3000), au)
            .unwrap();
    }
}

/// Runs a client session with `opts` against a sender for `secs` of virtual
/// time at 30 fps; returns the client's counters.
fn run(opts: &WhepOptions, secs: u64) -> ViewerStats {
    super::install_crypto();
    let client_addr: SocketAddr = CLIENT.parse().unwrap();
    let server_addr: SocketAddr = SERVER.parse().unwrap();
    let t0 = Instant::now();
    let mut now = t0;
    let (mut client, offer) = Session::new(opts, client_addr, now).unwrap();
    let (mut server, answer) = Sender::answer(&offer, now);
    client.accept_answer(&answer, now).unwrap();
    let frame = Duration::from_nanos(1_000_000_000 / 30);
    let mut n = 0u64;
    let end = t0 + Duration::from_secs(secs);
    while now < end {
        // Move datagrams until both sides are quiet.
        let mut client_deadline;
        loop {
            let mut to_server = Vec::new();
            client_deadline = client.poll(|_, d| to_server.push(d.to_vec()));
            let mut to_client = Vec::new();
            for d in &to_server {
                let input = Input::Receive(
                    now,
                    Receive {
                        proto: Protocol::Udp,
                        source: client_addr,
                        destination: server_addr,
                        contents: d.as_slice().try_into().unwrap(),
                    },
                );
                server.rtc.handle_input(input).unwrap();
                server.poll(&mut to_client);
            }
            server.poll(&mut to_client);
            for d in &to_client {
                client.handle_datagram(now, server_addr, d);
            }
            if to_server.is_empty() && to_client.is_empty() {
                break;
            }
        }
        let next_frame = t0 + frame * n as u32;
        now = client_deadline
            .min(server.deadline)
            .min(next_frame)
            .max(now);
        if now >= next_frame {
            server.send_frame(n, now);
            n += 1;
        }
        client.handle_timeout(now);
        server.rtc.handle_input(Input::Timeout(now)).unwrap();
    }
    client.stats().clone()
}

#[test]
fn receives_frames_and_key_frames_from_an_ice_lite_sender() {
    let opts = WhepOptions {
        audio: false,
        ..WhepOptions::default()
    };
    let s = run(&opts, 3);
    assert!(s.connected(), "{s:?}");
    assert!(s.answer_after.is_some());
    // ~90 frames sent; the first ones go out before DTLS completes.
    assert!(s.video_frames >= 70, "{s:?}");
    assert!(s.key_frames >= 2, "{s:?}");
    assert!(s.first_key_frame_after.unwrap() >= s.connected_after.unwrap());
    assert_eq!(s.packets_lost, 0, "{s:?}");
    assert_eq!(s.audio_frames, 0);
    assert!(s.ended.is_none());
}

#[test]
fn dropped_datagrams_are_nacked_and_repaired() {
    let opts = WhepOptions {
        audio: false,
        drop_every: 7,
        ..WhepOptions::default()
    };
    let s = run(&opts, 4);
    assert!(s.datagrams_dropped > 20, "{s:?}");
    assert!(s.nacks_sent > 0, "{s:?}");
    assert!(s.video_frames >= 90, "{s:?}");
}

//! Session tests: a scripted client drives the whole publish flow bytes → events →
//! replies, each limit hits its own error, and random bytes never panic.

use bytes::BytesMut;
use proptest::prelude::*;

use super::*;
use crate::flv::demuxer::RTMP_TIMESCALE;
use crate::publish::PublishRejection;
use crate::rtmp::amf0::encode_all;
use crate::rtmp::chunk_writer::ChunkWriter;
use crate::rtmp::handshake::HANDSHAKE_SIZE;

const AVCC: &str =
    "0164000dffe100196764000dacd94141fb0110000003001000000303c0f142996001000668ebe3cb22c0fdf8f800";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn s(v: &str) -> Amf0Value {
    Amf0Value::String(v.into())
}

fn n(v: f64) -> Amf0Value {
    Amf0Value::Number(v)
}

/// The client half: writes chunks, and decodes what the server sends.
struct Client {
    session: RtmpSession,
    writer: ChunkWriter,
    reader: ChunkReader,
    now: u64,
}

impl Client {
    fn new(limits: RtmpLimits) -> Self {
        let mut c = Self {
            session: RtmpSession::new(limits, 0),
            writer: ChunkWriter::new(),
            reader: ChunkReader::new(1 << 24, 64),
            now: 0,
        };
        let mut c0c1 = vec![3u8];
        c0c1.extend_from_slice(&[0u8; HANDSHAKE_SIZE]);
        c.session.handle_input(&c0c1, 0).unwrap();
        let s0s1s2 = c.session.poll_transmit().unwrap();
        assert_eq!(s0s1s2.len(), 1 + 2 * HANDSHAKE_SIZE);
        c.session.handle_input(&[0u8; HANDSHAKE_SIZE], 0).unwrap();
        assert_eq!(c.session.poll_transmit(), None);
        c
    }

    fn send(
        &mut self,
        csid: u32,
        ts: u32,
        type_id: u8,
        stream_id: u32,
        body: &[u8],
    ) -> Result<(), RtmpError> {
        let mut b = BytesMut::new();
        self.writer
            .write(&mut b, csid, ts, type_id, stream_id, body);
        self.now += 1;
        self.session.handle_input(&b, self.now)
    }

    fn command(&mut self, stream_id: u32, values: &[Amf0Value]) -> Result<(), RtmpError> {
        self.send(3, 0, type_id::COMMAND_AMF0, stream_id, &encode_all(values))
    }

    /// Everything the server sent since the last call, decoded.
    fn replies(&mut self) -> Vec<RtmpMessage> {
        let mut input = BytesMut::new();
        while let Some(b) = self.session.poll_transmit() {
            input.extend_from_slice(&b);
        }
        let mut out = Vec::new();
        while let Some(m) = self.reader.read_message(&mut input).unwrap() {
            if m.type_id == type_id::SET_CHUNK_SIZE {
                self.reader
                    .set_chunk_size(u32::from_be_bytes(m.payload[..4].try_into().unwrap()));
            }
            out.push(m);
        }
        assert!(input.is_empty());
        out
    }

    fn events(&mut self) -> Vec<SessionEvent> {
        std::iter::from_fn(|| self.session.poll_event()).collect()
    }

    fn connect_and_create_stream(&mut self) {
        let obj = Amf0Value::Object(vec![
            ("app".into(), s("live")),
            ("type".into(), s("nonprivate")),
            ("tcUrl".into(), s("rtmp://127.0.0.1:1935/live")),
        ]);
        self.command(0, &[s("connect"), n(1.0), obj]).unwrap();
        self.replies();
        self.command(0, &[s("createStream"), n(2.0), Amf0Value::Null])
            .unwrap();
        self.replies();
    }
}

fn command_of(m: &RtmpMessage) -> Vec<Amf0Value> {
    assert_eq!(m.type_id, type_id::COMMAND_AMF0);
    decode_all(&m.payload, 16).unwrap()
}

fn code_of(values: &[Amf0Value]) -> Option<&str> {
    values.get(3)?.get("code")?.as_str()
}

#[test]
fn full_publish_flow_like_obs() {
    let mut c = Client::new(RtmpLimits::default());
    c.send(2, 0, type_id::SET_CHUNK_SIZE, 0, &4096u32.to_be_bytes())
        .unwrap();
    c.writer.set_chunk_size(4096);
    let obj = Amf0Value::Object(vec![
        ("app".into(), s("live")),
        ("tcUrl".into(), s("rtmp://127.0.0.1:1935/live")),
        ("objectEncoding".into(), n(0.0)),
    ]);
    c.command(0, &[s("connect"), n(1.0), obj]).unwrap();
    let r = c.replies();
    let types: Vec<u8> = r.iter().map(|m| m.type_id).collect();
    assert_eq!(types, [5, 6, 1, 20], "WAS, SPB, chunk size, then _result");
    assert_eq!(&r[2].payload[..], &4096u32.to_be_bytes());
    let result = command_of(&r[3]);
    assert_eq!(
        (result[0].as_str(), result[1].as_number()),
        (Some("_result"), Some(1.0))
    );
    assert_eq!(
        result[2].get("fmsVer").and_then(Amf0Value::as_str),
        Some("FMS/3,0,1,123")
    );
    assert_eq!(code_of(&result), Some("NetConnection.Connect.Success"));

    c.command(0, &[s("releaseStream"), n(2.0), Amf0Value::Null, s("key")])
        .unwrap();
    c.command(0, &[s("FCPublish"), n(3.0), Amf0Value::Null, s("key")])
        .unwrap();
    c.command(0, &[s("createStream"), n(4.0), Amf0Value::Null])
        .unwrap();
    let names: Vec<(String, f64)> = c
        .replies()
        .iter()
        .map(command_of)
        .map(|v| (v[0].as_str().unwrap().to_owned(), v[1].as_number().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("_result".into(), 2.0),
            ("onFCPublish".into(), 0.0),
            ("_result".into(), 3.0),
            ("_result".into(), 4.0)
        ]
    );

    // publish, immediately followed by media in the same read: media waits for the decision.
    let mut b = BytesMut::new();
    let publish = encode_all(&[
        s("publish"),
        n(5.0),
        Amf0Value::Null,
        s("key?token=abc"),
        s("live"),
    ]);
    c.writer
        .write(&mut b, 8, 0, type_id::COMMAND_AMF0, 1, &publish);
    let meta = encode_all(&[
        s("@setDataFrame"),
        s("onMetaData"),
        Amf0Value::EcmaArray(vec![
            ("width".into(), n(320.0)),
            ("height".into(), n(240.0)),
        ]),
    ]);
    c.writer.write(&mut b, 4, 0, type_id::DATA_AMF0, 1, &meta);
    let seq = [&[0x17, 0, 0, 0, 0][..], &hex(AVCC)].concat();
    c.writer.write(&mut b, 6, 0, type_id::VIDEO, 1, &seq);
    c.writer.write(
        &mut b,
        6,
        0,
        type_id::VIDEO,
        1,
        &[0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65],
    );
    c.session.handle_input(&b, 10).unwrap();
    assert!(c.replies().is_empty(), "no onStatus before the decision");
    let ev = c.events();
    assert_eq!(
        ev,
        [SessionEvent::PublishRequested {
            app: "live".into(),
            stream_key: "key".into(),
            stream_id: 1
        }]
    );
    assert!(
        !format!("{ev:?}").contains("key\""),
        "Debug must redact the key"
    );

    c.session.accept_publish().unwrap();
    let r = c.replies();
    assert_eq!(
        (r[0].type_id, &r[0].payload[..]),
        (4, &[0, 0, 0, 0, 0, 1][..]),
        "Stream Begin 1"
    );
    let status = command_of(&r[1]);
    assert_eq!(
        (r[1].stream_id, code_of(&status)),
        (1, Some("NetStream.Publish.Start"))
    );
    let ev = c.events();
    assert!(matches!(&ev[0], SessionEvent::Metadata(m) if m.width == Some(320.0)));
    assert!(matches!(&ev[1], SessionEvent::Track(t) if t.timescale == RTMP_TIMESCALE));
    assert!(matches!(&ev[2], SessionEvent::Frame(f) if f.keyframe && f.data.len() == 5));
    assert!(c.session.is_publishing());

    // Ping → pong; unknown command → _error; FCUnpublish ends the publish.
    c.send(2, 0, type_id::USER_CONTROL, 0, &[0, 6, 0, 0, 0x30, 0x39])
        .unwrap();
    c.command(0, &[s("fooBar"), n(6.0), Amf0Value::Null])
        .unwrap();
    let r = c.replies();
    assert_eq!(
        (r[0].type_id, &r[0].payload[..]),
        (4, &[0, 7, 0, 0, 0x30, 0x39][..])
    );
    let err = command_of(&r[1]);
    assert_eq!(
        (err[0].as_str(), err[1].as_number()),
        (Some("_error"), Some(6.0))
    );
    c.command(0, &[s("FCUnpublish"), n(7.0), Amf0Value::Null, s("key")])
        .unwrap();
    c.command(0, &[s("deleteStream"), n(8.0), Amf0Value::Null, n(1.0)])
        .unwrap();
    assert_eq!(c.events(), [SessionEvent::Unpublished]);
    assert!(!c.session.is_publishing());
}

#[test]
fn rejected_publish_gets_an_error_status_and_closes() {
    let mut c = Client::new(RtmpLimits::default());
    c.connect_and_create_stream();
    c.command(
        1,
        &[s("publish"), n(0.0), Amf0Value::Null, s("nope"), s("live")],
    )
    .unwrap();
    assert_eq!(c.events().len(), 1);
    c.session.reject_publish(&PublishRejection::UnknownKey);
    let status = command_of(&c.replies()[0]);
    assert_eq!(
        status[3].get("level").and_then(Amf0Value::as_str),
        Some("error")
    );
    assert_eq!(code_of(&status), Some("NetStream.Publish.BadName"));
    assert_eq!(
        status[3].get("description").and_then(Amf0Value::as_str),
        Some("unknown stream key")
    );
    assert!(c.session.is_closing());
    assert_eq!(c.session.poll_timeout(), None);
}

#[test]
fn acknowledgements_follow_the_peer_window() {
    let mut c = Client::new(RtmpLimits::default());
    c.send(2, 0, type_id::WINDOW_ACK_SIZE, 0, &5000u32.to_be_bytes())
        .unwrap();
    c.connect_and_create_stream();
    for _ in 0..20 {
        c.send(4, 0, type_id::DATA_AMF0, 0, &encode_all(&[s("onTextData")]))
            .unwrap();
    }
    c.send(4, 0, type_id::DATA_AMF0, 0, &[0x05; 4000]).unwrap();
    let acks: Vec<u32> = c
        .replies()
        .iter()
        .filter(|m| m.type_id == type_id::ACKNOWLEDGEMENT)
        .map(|m| u32::from_be_bytes(m.payload[..4].try_into().unwrap()))
        .collect();
    assert_eq!(acks, [c.session.bytes_received() as u32]);
    assert!(acks[0] >= 5000);
}

#[test]
fn each_limit_hits_its_own_error() {
    let mut c = Client::new(RtmpLimits::default());
    assert_eq!(
        c.send(
            2,
            0,
            type_id::SET_CHUNK_SIZE,
            0,
            &(16u32 << 20).to_be_bytes()
        ),
        Err(RtmpError::ChunkSizeTooLarge {
            requested: 16 << 20,
            limit: 1 << 20
        })
    );
    let mut c = Client::new(RtmpLimits::default());
    assert_eq!(
        c.send(2, 0, type_id::SET_CHUNK_SIZE, 0, &0u32.to_be_bytes()),
        Err(RtmpError::InvalidChunkSize(0))
    );

    let mut c = Client::new(RtmpLimits {
        max_message_size: 1000,
        ..RtmpLimits::default()
    });
    assert_eq!(
        c.send(6, 0, type_id::VIDEO, 1, &[0; 1001]),
        Err(RtmpError::MessageTooLarge {
            size: 1001,
            limit: 1000
        })
    );

    let mut c = Client::new(RtmpLimits {
        max_streams: 2,
        ..RtmpLimits::default()
    });
    c.connect_and_create_stream();
    c.command(0, &[s("createStream"), n(3.0), Amf0Value::Null])
        .unwrap();
    assert_eq!(
        c.command(0, &[s("createStream"), n(4.0), Amf0Value::Null]),
        Err(RtmpError::TooManyStreams { limit: 2 })
    );

    let mut c = Client::new(RtmpLimits {
        max_amf_depth: 3,
        ..RtmpLimits::default()
    });
    let mut deep = Amf0Value::Null;
    for _ in 0..4 {
        deep = Amf0Value::Object(vec![("a".into(), deep)]);
    }
    assert!(matches!(
        c.command(0, &[s("connect"), n(1.0), deep]),
        Err(RtmpError::Amf {
            source: crate::rtmp::amf0::AmfError::NestingTooDeep { limit: 3 },
            ..
        })
    ));

    let mut c = Client::new(RtmpLimits::default());
    assert!(matches!(
        c.command(0, &[s("publish"), n(0.0)]),
        Err(RtmpError::UnexpectedCommand { .. })
    ));
    let mut c = Client::new(RtmpLimits::default());
    c.connect_and_create_stream();
    assert_eq!(
        c.command(7, &[s("publish"), n(0.0), Amf0Value::Null, s("k")]),
        Err(RtmpError::UnknownStream(7))
    );
}

#[test]
fn handshake_and_idle_timeouts() {
    let limits = RtmpLimits {
        handshake_timeout_ms: 10_000,
        idle_timeout_ms: 30_000,
        ..RtmpLimits::default()
    };
    let mut s = RtmpSession::new(limits, 1_000);
    s.handle_input(&[3, 0, 0], 2_000).unwrap(); // truncated handshake
    assert_eq!(s.poll_timeout(), Some(11_000));
    assert_eq!(s.handle_timeout(10_999), Ok(()));
    assert_eq!(
        s.handle_timeout(11_000),
        Err(RtmpError::HandshakeTimeout { limit_ms: 10_000 })
    );

    let mut c = Client::new(limits);
    c.connect_and_create_stream();
    let last = c.now;
    assert_eq!(c.session.poll_timeout(), Some(last + 30_000));
    assert_eq!(
        c.session.handle_timeout(last + 30_000),
        Err(RtmpError::IdleTimeout { limit_ms: 30_000 })
    );
    assert_eq!(
        RtmpSession::new(limits, 0).handle_input(&[0x16, 0x03, 0x01], 0),
        Err(RtmpError::UnsupportedVersion(0x16))
    );
}

proptest! {
    #[test]
    fn random_bytes_never_panic_before_or_after_handshake(
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
        split in 0usize..4096,
    ) {
        let mut fresh = RtmpSession::new(RtmpLimits::default(), 0);
        let _ = fresh.handle_input(&bytes, 0);
        let mut c = Client::new(RtmpLimits::default());
        let (a, b) = bytes.split_at(split.min(bytes.len()));
        if c.session.handle_input(a, 1).is_ok() {
            let _ = c.session.handle_input(b, 2);
        }
        while c.session.poll_transmit().is_some() {}
        while c.session.poll_event().is_some() {}
    }

    #[test]
    fn random_media_after_publish_never_panics(
        bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..16),
    ) {
        let mut c = Client::new(RtmpLimits::default());
        c.connect_and_create_stream();
        c.command(1, &[s("publish"), n(0.0), Amf0Value::Null, s("k")]).unwrap();
        c.session.accept_publish().unwrap();
        for (i, body) in bodies.iter().enumerate() {
            let t = if i % 2 == 0 { type_id::VIDEO } else { type_id::AUDIO };
            if c.send(6, i as u32, t, 1, body).is_err() {
                break;
            }
        }
    }
}

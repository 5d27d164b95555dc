//! Chunk reader tests: every header type, extended timestamps, interleaving,
//! chunk size changes, aborts and the limits.

use super::*;
use crate::rtmp::chunk_writer::ChunkWriter;

fn reader() -> ChunkReader {
    ChunkReader::new(1 << 20, 8)
}

fn read_all(r: &mut ChunkReader, bytes: &[u8]) -> Vec<RtmpMessage> {
    let mut input = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(m) = r.read_message(&mut input).unwrap() {
        out.push(m);
    }
    assert!(input.is_empty(), "left over: {input:?}");
    out
}

#[test]
fn writer_output_round_trips_byte_by_byte() {
    let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let mut w = ChunkWriter::new();
    w.set_chunk_size(100);
    let mut bytes = BytesMut::new();
    w.write(&mut bytes, 6, 1234, 9, 1, &payload);
    w.write(&mut bytes, 400, 0x0100_0000, 8, 1, &payload[..300]); // 3-byte csid, ext ts
    let mut r = reader();
    r.set_chunk_size(100);
    // Feed one byte at a time: the reader must never lose state.
    let mut input = BytesMut::new();
    let mut got = Vec::new();
    for b in bytes.iter() {
        input.extend_from_slice(&[*b]);
        while let Some(m) = r.read_message(&mut input).unwrap() {
            got.push(m);
        }
    }
    assert_eq!(got.len(), 2);
    assert_eq!(
        (
            got[0].csid,
            got[0].timestamp,
            got[0].type_id,
            got[0].stream_id
        ),
        (6, 1234, 9, 1)
    );
    assert_eq!(&got[0].payload[..], &payload[..]);
    assert_eq!(
        (got[1].csid, got[1].timestamp, got[1].type_id),
        (400, 0x0100_0000, 8)
    );
    assert_eq!(&got[1].payload[..], &payload[..300]);
}

/// §5.3.2.1 example 1: type 0, then type 2, then two type 3 new messages.
#[test]
fn header_types_0_2_3_apply_deltas() {
    let mut b = vec![0x03, 0, 0x03, 0xE8, 0, 0, 4, 8, 1, 0, 0, 0];
    b.extend_from_slice(b"aaaa");
    b.extend_from_slice(&[0x83, 0, 0, 0x14]); // fmt 2, delta 20
    b.extend_from_slice(b"bbbb");
    b.extend_from_slice(&[0xC3]);
    b.extend_from_slice(b"cccc");
    b.extend_from_slice(&[0xC3]);
    b.extend_from_slice(b"dddd");
    let m = read_all(&mut reader(), &b);
    let ts: Vec<u32> = m.iter().map(|m| m.timestamp).collect();
    assert_eq!(ts, [1000, 1020, 1040, 1060]);
    assert!(m
        .iter()
        .all(|m| m.type_id == 8 && m.stream_id == 1 && m.payload.len() == 4));
}

#[test]
fn header_type_1_changes_length_and_type() {
    let mut b = vec![0x04, 0, 0, 10, 0, 0, 2, 9, 1, 0, 0, 0, 0xAA, 0xBB];
    b.extend_from_slice(&[0x44, 0, 0, 5, 0, 0, 3, 8, 1, 2, 3]); // fmt 1: delta 5, len 3, type 8
    b.extend_from_slice(&[0xC4, 4, 5, 6]); // fmt 3: same delta, length, type
    let m = read_all(&mut reader(), &b);
    assert_eq!(m.len(), 3);
    assert_eq!(
        (m[1].timestamp, m[1].type_id, &m[1].payload[..]),
        (15, 8, &[1u8, 2, 3][..])
    );
    assert_eq!(
        (m[2].timestamp, m[2].stream_id, &m[2].payload[..]),
        (20, 1, &[4u8, 5, 6][..])
    );
}

#[test]
fn type_3_after_type_0_reuses_its_timestamp_as_delta() {
    let mut b = vec![0x04, 0, 0, 40, 0, 0, 1, 8, 1, 0, 0, 0, 0xAA];
    b.extend_from_slice(&[0xC4, 0xBB]);
    let m = read_all(&mut reader(), &b);
    assert_eq!((m[0].timestamp, m[1].timestamp), (40, 80));
}

#[test]
fn extended_timestamp_on_type_3_chunks_with_and_without_repeat() {
    // Message of 6 bytes at chunk size 4: type 0 with extended ts + one type 3.
    let mut with = vec![
        0x04, 0xFF, 0xFF, 0xFF, 0, 0, 6, 9, 1, 0, 0, 0, 0x01, 0x00, 0x00, 0x00,
    ];
    with.extend_from_slice(&[1, 2, 3, 4]);
    with.extend_from_slice(&[0xC4, 0x01, 0x00, 0x00, 0x00, 5, 6]);
    // Some encoders omit the repeat on continuation chunks.
    let mut without = with.clone();
    without.drain(21..25);
    for bytes in [with, without] {
        let mut r = reader();
        r.set_chunk_size(4);
        let m = read_all(&mut r, &bytes);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].timestamp, 0x0100_0000);
        assert_eq!(&m[0].payload[..], &[1, 2, 3, 4, 5, 6]);
    }
}

#[test]
fn extended_delta_on_type_2_and_new_message_type_3() {
    let mut b = vec![0x04, 0, 0, 0, 0, 0, 1, 8, 1, 0, 0, 0, 0xAA];
    b.extend_from_slice(&[0x84, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x00, 0x00, 0xBB]); // fmt 2 ext delta
    b.extend_from_slice(&[0xC4, 0x01, 0x00, 0x00, 0x00, 0xCC]); // new message, ext delta repeated
    let m = read_all(&mut reader(), &b);
    assert_eq!(
        m.iter().map(|m| m.timestamp).collect::<Vec<_>>(),
        [0, 0x0100_0000, 0x0200_0000]
    );
}

#[test]
fn interleaved_chunk_streams() {
    let mut w = ChunkWriter::new();
    w.set_chunk_size(4);
    let (mut a, mut v) = (BytesMut::new(), BytesMut::new());
    w.write(&mut a, 4, 10, 8, 1, b"audio-audio");
    w.write(&mut v, 6, 10, 9, 1, b"video-video-video");
    // Interleave chunks: a's first chunk (12+4), v's first (12+4), then the rest.
    let mut b = Vec::new();
    b.extend_from_slice(&a[..16]);
    b.extend_from_slice(&v[..16]);
    b.extend_from_slice(&a[16..]);
    b.extend_from_slice(&v[16..]);
    let mut r = reader();
    r.set_chunk_size(4);
    let m = read_all(&mut r, &b);
    assert_eq!(&m[0].payload[..], b"audio-audio");
    assert_eq!(&m[1].payload[..], b"video-video-video");
}

#[test]
fn abort_drops_the_partial_message() {
    let mut b = vec![0x04, 0, 0, 1, 0, 0, 8, 9, 1, 0, 0, 0, 1, 2, 3, 4];
    let mut r = reader();
    r.set_chunk_size(4);
    let mut input = BytesMut::from(&b[..]);
    assert_eq!(r.read_message(&mut input).unwrap(), None);
    r.abort(4);
    // A fresh message may now start on the same chunk stream with a type 1 header.
    b = vec![0x44, 0, 0, 1, 0, 0, 2, 9, 9, 9];
    assert_eq!(read_all(&mut r, &b)[0].payload.len(), 2);
}

#[test]
fn limits_and_protocol_faults() {
    let big = [0x04, 0, 0, 0, 0x20, 0, 0, 9, 1, 0, 0, 0];
    let mut r = ChunkReader::new(1 << 20, 8);
    assert_eq!(
        r.read_message(&mut BytesMut::from(&big[..])),
        Err(RtmpError::MessageTooLarge {
            size: 0x20_0000,
            limit: 1 << 20
        })
    );
    assert_eq!(
        reader().read_message(&mut BytesMut::from(&[0xC5u8][..])),
        Err(RtmpError::MissingChunkHeader { fmt: 3, csid: 5 })
    );
    let mut many = Vec::new();
    for csid in 3..12u8 {
        many.extend_from_slice(&[csid, 0, 0, 0, 0, 0, 0, 8, 1, 0, 0, 0]);
    }
    let mut r = reader();
    let mut input = BytesMut::from(&many[..]);
    let err = loop {
        match r.read_message(&mut input) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("limit not hit"),
            Err(e) => break e,
        }
    };
    assert_eq!(err, RtmpError::TooManyChunkStreams { limit: 8 });
    let mut r = reader();
    r.set_chunk_size(2);
    let mid = [0x04, 0, 0, 0, 0, 0, 4, 8, 1, 0, 0, 0, 1, 2, 0x04];
    let mut input = BytesMut::from(&mid[..]);
    assert_eq!(r.read_message(&mut input), Ok(None));
    input.extend_from_slice(&[0, 0, 0, 0, 0, 1, 8, 1, 0, 0, 0, 9]);
    assert_eq!(
        r.read_message(&mut input),
        Err(RtmpError::HeaderInsideMessage { csid: 4 })
    );
}

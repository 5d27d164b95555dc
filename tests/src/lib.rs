//! # tests — end-to-end harness
//!
//! Starts the real `ferrocast-origin`, real publishers (ffmpeg, the `bench`
//! crate's Enhanced RTMP publisher) and real clients, and checks outputs with
//! independent tools (ffprobe). The integration tests live in `tests/tests/`, one
//! file per feature; this library is what they share:
//!
//! - [`origin`]: a temp config on free ports, the binary, its captured stderr;
//! - [`process`]: child processes that can never outlive the test;
//! - [`publisher`]: ffmpeg publishing test patterns over RTMP;
//! - [`http`]: a blocking client that reports status, headers, body and timing;
//! - [`m3u8`]: a small playlist reader (RFC 8216 §4.2 attribute lists, LL-HLS
//!   parts); [`live`]: fetching and waiting on live playlists;
//! - [`monitor`]: a background poller that detects gaps in a live stream;
//! - [`ffprobe`]: ffprobe's view of packaged media;
//! - [`rtmp_raw`]: hand-made RTMP bytes for hostile-input tests;
//! - [`srt`]: ffmpeg pushing MPEG-TS over SRT, and polling a channel's progress;
//! - [`fixture`]: the usual origin + ffmpeg set-up;
//! - [`h3`]: HTTP/3 through ngtcp2's and aioquic's clients, and a quinn + h3 client;
//! - [`checks`]: several named checks against one set-up, and polling;
//! - [`pebble`]: a local ACME CA (Debian's pebble and pebble-challtestsrv);
//! - [`tls_client`]: a blocking rustls client that reports the served certificate;
//! - [`tools`]: finding external tools, skipping loudly when one is missing;
//! - [`webrtc`]: WHEP/WHIP requests and hand-written SDP offers.
//!
//! Environment: `FERROCAST_ORIGIN_BIN` (binary path, else `target/debug`, built if
//! missing), `FERROCAST_TEST_SHOW_LOG=1` (print the origin's log tail even when a
//! test passes).

pub mod captions_fixture;
pub mod checks;
pub mod edge;
pub mod ffprobe;
pub mod fixture;
pub mod h3;
pub mod http;
pub mod live;
pub mod m3u8;
pub mod monitor;
pub mod origin;
pub mod pebble;
pub mod process;
pub mod publisher;
pub mod rtmp_raw;
pub mod srt;
pub mod tls_client;
pub mod tools;
pub mod vod;
pub mod webrtc;

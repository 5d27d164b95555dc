//! RTMP (Adobe RTMP spec 1.0, Enhanced RTMP v1/v2) server side.
//!
//! The protocol core is sans-IO: [`RtmpSession`] takes bytes and a millisecond
//! clock value and hands back bytes to send, events and its next deadline. The
//! tokio [`listener`] only moves bytes and timers between sockets, sessions and
//! the [`PublishHandler`](crate::publish::PublishHandler).
//!
//! | file | concept |
//! |---|---|
//! | [`handshake`] | C0/C1/C2 ↔ S0/S1/S2, simple and digest |
//! | [`chunk_reader`], [`chunk_writer`] | the chunk stream (§5.3) |
//! | [`messages`] | protocol control / user control messages (§5.4, §6.2), aggregates |
//! | [`amf0`] | AMF0 values |
//! | [`commands`] | NetConnection / NetStream commands and our replies (§7.2) |
//! | [`metadata`] | `@setDataFrame` / `onMetaData` |
//! | [`session`] | the state machine tying them together |
//! | [`limits`], [`error`] | named limits and the errors that close a connection |
//! | [`listener`] | the tokio accept loop and per-connection driver |
//! | [`shards`] | one listener per core, each on its own single-threaded runtime |

pub mod amf0;
pub mod chunk_reader;
pub mod chunk_writer;
pub mod commands;
pub mod error;
pub mod handshake;
pub mod limits;
pub mod listener;
pub mod messages;
pub mod metadata;
pub mod session;
pub mod shards;

pub use error::RtmpError;
pub use limits::RtmpLimits;
pub use listener::{serve, serve_tls};
pub use metadata::StreamMetadata;
pub use session::{RtmpSession, SessionEvent};
pub use shards::IngestShards;

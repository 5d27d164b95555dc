//! # The tokio publisher: handshake, command flow, media
//!
//! [`Publisher::connect`] runs, in order and each under a timeout:
//! 1. the simple handshake (§5.2): C0 = 3, C1 = time + zeros + 1528 random
//!    bytes; wait for S0+S1, answer C2 = S1, wait for S2;
//! 2. Set Chunk Size 4096 (§5.4.1);
//! 3. `connect` (transaction 1) → `_result`;
//! 4. `releaseStream`, `FCPublish`, `createStream` (transaction 4) →
//!    `_result` carrying the message stream id;
//! 5. `publish(key, "live")` → `onStatus` `NetStream.Publish.Start`. Any
//!    onStatus of level `error` (e.g. `NetStream.Publish.BadName`) or a
//!    closed connection becomes [`ClientError::PublishRejected`] /
//!    [`ClientError::Closed`].
//!
//! While media flows, every send also drains what the server sent without
//! blocking: pings are answered, Acknowledgements sent when the server's
//! window is crossed, and an error onStatus ends the session.

use super::amf0::{decode_all, Amf0};
use super::chunk::{msg_type, ChunkEncoder, Message};
use super::chunk_decoder::ChunkDecoder;
use super::{ClientError, PublishUrl};
use bytes::Bytes;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Time allowed for the handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for each command answer.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// The chunk size we announce and send with.
pub const OUT_CHUNK_SIZE: u32 = 4096;
const HANDSHAKE_LEN: usize = 1536;

const CSID_CONTROL: u32 = 2;
const CSID_COMMAND: u32 = 3;
const CSID_AUDIO: u32 = 4;
const CSID_DATA: u32 = 5;
const CSID_VIDEO: u32 = 6;

/// A publishing RTMP session on one TCP connection.
pub struct Publisher {
    sock: TcpStream,
    enc: ChunkEncoder,
    dec: ChunkDecoder,
    out: Vec<u8>,
    stream_id: u32,
    key: String,
    ack_window: u64,
    acked: u64,
    /// Payload bytes of media and data messages sent so far.
    pub bytes_sent: u64,
}

fn command(name: &str, txn: f64, args: &[Amf0]) -> Bytes {
    let mut b = Vec::new();
    Amf0::String(name.into()).encode(&mut b);
    Amf0::Number(txn).encode(&mut b);
    for a in args {
        a.encode(&mut b);
    }
    b.into()
}

fn pseudo_random(buf: &mut [u8]) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut x = seed | 1;
    for b in buf {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
}

/// What the session learnt from one command message.
enum Reply {
    Result(f64, Vec<Amf0>),
    Error(f64, Vec<Amf0>),
    Status {
        level: String,
        code: String,
        description: String,
    },
    Other,
}

fn classify(values: Vec<Amf0>) -> Reply {
    let name = values
        .first()
        .and_then(Amf0::as_str)
        .unwrap_or("")
        .to_string();
    let txn = values.get(1).and_then(Amf0::as_number).unwrap_or(0.0);
    match name.as_str() {
        "_result" => Reply::Result(txn, values),
        "_error" => Reply::Error(txn, values),
        "onStatus" => {
            let info = values.get(3).cloned().unwrap_or(Amf0::Null);
            let field = |k: &str| info.get(k).and_then(Amf0::as_str).unwrap_or("").to_string();
            Reply::Status {
                level: field("level"),
                code: field("code"),
                description: field("description"),
            }
        }
        _ => Reply::Other,
    }
}

impl Publisher {
    /// Connects to `rtmp://host[:port]/app/key` and starts publishing.
    pub async fn connect(url: &str) -> Result<Publisher, ClientError> {
        let url = PublishUrl::parse(url)?;
        let sock = timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(&url.addr))
            .await
            .map_err(|_| ClientError::Timeout("TCP connect"))??;
        sock.set_nodelay(true)?;
        let mut p = Publisher {
            sock,
            enc: ChunkEncoder::new(),
            dec: ChunkDecoder::new(),
            out: Vec::with_capacity(64 * 1024),
            stream_id: 0,
            key: url.key.clone(),
            ack_window: u64::MAX,
            acked: 0,
            bytes_sent: 0,
        };
        timeout(HANDSHAKE_TIMEOUT, p.handshake())
            .await
            .map_err(|_| ClientError::Timeout("handshake"))??;
        p.start(&url).await?;
        Ok(p)
    }

    async fn handshake(&mut self) -> Result<(), ClientError> {
        let mut c0c1 = vec![0u8; 1 + HANDSHAKE_LEN];
        c0c1[0] = 3;
        pseudo_random(&mut c0c1[9..]);
        self.sock.write_all(&c0c1).await?;
        let mut s0s1 = vec![0u8; 1 + HANDSHAKE_LEN];
        self.read_exact(&mut s0s1, "handshake").await?;
        if s0s1[0] != 3 {
            return Err(ClientError::BadHandshakeVersion(s0s1[0]));
        }
        self.sock.write_all(&s0s1[1..]).await?;
        let mut s2 = vec![0u8; HANDSHAKE_LEN];
        self.read_exact(&mut s2, "handshake").await?;
        Ok(())
    }

    async fn read_exact(&mut self, buf: &mut [u8], stage: &'static str) -> Result<(), ClientError> {
        match self.sock.read_exact(buf).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Err(ClientError::Closed(stage))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn start(&mut self, url: &PublishUrl) -> Result<(), ClientError> {
        let size = Bytes::copy_from_slice(&OUT_CHUNK_SIZE.to_be_bytes());
        self.queue(CSID_CONTROL, msg_type::SET_CHUNK_SIZE, 0, 0, size);
        self.enc.set_chunk_size(OUT_CHUNK_SIZE as usize);
        let props = Amf0::Object(vec![
            ("app".into(), Amf0::String(url.app.clone())),
            ("type".into(), Amf0::String("nonprivate".into())),
            (
                "flashVer".into(),
                Amf0::String("FMLE/3.0 (compatible; ferrocast-bench)".into()),
            ),
            ("tcUrl".into(), Amf0::String(url.tc_url.clone())),
        ]);
        self.queue_command(0, command("connect", 1.0, &[props]));
        self.flush().await?;
        if let Reply::Error(_, v) = self.wait_reply(1.0, "connect").await? {
            let info = v.get(3).cloned().unwrap_or(Amf0::Null);
            let text = ["code", "description"]
                .iter()
                .filter_map(|k| info.get(k).and_then(Amf0::as_str))
                .collect::<Vec<_>>()
                .join(": ");
            return Err(ClientError::ConnectRejected(text));
        }
        let key = Amf0::String(url.key.clone());
        self.queue_command(0, command("releaseStream", 2.0, &[Amf0::Null, key.clone()]));
        self.queue_command(0, command("FCPublish", 3.0, &[Amf0::Null, key.clone()]));
        self.queue_command(0, command("createStream", 4.0, &[Amf0::Null]));
        self.flush().await?;
        let Reply::Result(_, v) = self.wait_reply(4.0, "createStream").await? else {
            return Err(ClientError::NoStreamId);
        };
        self.stream_id = v
            .get(3)
            .and_then(Amf0::as_number)
            .ok_or(ClientError::NoStreamId)? as u32;
        let live = Amf0::String("live".into());
        self.queue_command(
            self.stream_id,
            command("publish", 5.0, &[Amf0::Null, key, live]),
        );
        self.flush().await?;
        let deadline = tokio::time::Instant::now() + COMMAND_TIMEOUT;
        loop {
            let reply = tokio::time::timeout_at(deadline, self.next_command("publish"))
                .await
                .map_err(|_| ClientError::Timeout("publish"))??;
            if let Reply::Status { code, .. } = &reply {
                if code == "NetStream.Publish.Start" {
                    return Ok(());
                }
            }
            check_status(reply)?;
        }
    }

    /// Waits for `_result`/`_error` of transaction `txn`; error statuses in
    /// between end the session.
    async fn wait_reply(&mut self, txn: f64, stage: &'static str) -> Result<Reply, ClientError> {
        let deadline = tokio::time::Instant::now() + COMMAND_TIMEOUT;
        loop {
            let reply = tokio::time::timeout_at(deadline, self.next_command(stage))
                .await
                .map_err(|_| ClientError::Timeout(stage))??;
            match reply {
                Reply::Result(t, _) | Reply::Error(t, _) if t == txn => return Ok(reply),
                other => check_status(other)?,
            }
        }
    }

    /// Reads until one command message arrives, handling control messages.
    async fn next_command(&mut self, stage: &'static str) -> Result<Reply, ClientError> {
        let mut buf = [0u8; 4096];
        loop {
            while let Some(msg) = self.dec.poll_message()? {
                if let Some(reply) = self.on_message(msg)? {
                    self.flush().await?;
                    return Ok(reply);
                }
            }
            self.flush().await?;
            let n = self.sock.read(&mut buf).await?;
            if n == 0 {
                return Err(ClientError::Closed(stage));
            }
            self.dec.handle_bytes(&buf[..n]);
        }
    }

    /// Handles one server message; returns command replies to the caller.
    fn on_message(&mut self, msg: Message) -> Result<Option<Reply>, ClientError> {
        let p = &msg.payload;
        match msg.type_id {
            msg_type::WINDOW_ACK_SIZE if p.len() >= 4 => {
                self.ack_window = u64::from(u32::from_be_bytes([p[0], p[1], p[2], p[3]]));
            }
            // User Control PingRequest (event 6) → PingResponse (event 7).
            msg_type::USER_CONTROL if p.len() >= 6 && p[0..2] == [0, 6] => {
                let mut body = vec![0, 7];
                body.extend_from_slice(&p[2..6]);
                self.queue(CSID_CONTROL, msg_type::USER_CONTROL, 0, 0, body.into());
            }
            msg_type::COMMAND_AMF0 => return Ok(Some(classify(decode_all(p)?))),
            _ => {}
        }
        if self.dec.bytes_in - self.acked >= self.ack_window {
            self.acked = self.dec.bytes_in;
            let seq = Bytes::copy_from_slice(&(self.acked as u32).to_be_bytes());
            self.queue(CSID_CONTROL, msg_type::ACK, 0, 0, seq);
        }
        Ok(None)
    }

    fn queue(&mut self, csid: u32, type_id: u8, stream_id: u32, timestamp: u32, payload: Bytes) {
        let msg = Message {
            type_id,
            stream_id,
            timestamp,
            payload,
        };
        self.enc.encode(csid, &msg, &mut self.out);
    }

    fn queue_command(&mut self, stream_id: u32, body: Bytes) {
        self.queue(CSID_COMMAND, msg_type::COMMAND_AMF0, stream_id, 0, body);
    }

    async fn flush(&mut self) -> Result<(), ClientError> {
        if !self.out.is_empty() {
            self.sock.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// Drains whatever the server sent, without waiting.
    async fn poll_server(&mut self) -> Result<(), ClientError> {
        let mut buf = [0u8; 4096];
        loop {
            match self.sock.try_read(&mut buf) {
                Ok(0) => return Err(ClientError::Closed("publishing")),
                Ok(n) => self.dec.handle_bytes(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        while let Some(msg) = self.dec.poll_message()? {
            if let Some(reply) = self.on_message(msg)? {
                check_status(reply)?;
            }
        }
        Ok(())
    }

    async fn send_media(
        &mut self,
        csid: u32,
        type_id: u8,
        ts: u32,
        body: Bytes,
    ) -> Result<(), ClientError> {
        self.poll_server().await?;
        self.bytes_sent += body.len() as u64;
        self.queue(csid, type_id, self.stream_id, ts, body);
        self.flush().await
    }

    /// Sends `@setDataFrame` followed by `body`, which must already hold the
    /// AMF0 `"onMetaData"` string and its ECMA array (an FLV script tag body).
    pub async fn send_script_tag(&mut self, body: &[u8]) -> Result<(), ClientError> {
        let mut b = Vec::with_capacity(body.len() + 16);
        Amf0::String("@setDataFrame".into()).encode(&mut b);
        b.extend_from_slice(body);
        self.send_media(CSID_DATA, msg_type::DATA_AMF0, 0, b.into())
            .await
    }

    /// Sends `@setDataFrame("onMetaData", props)`.
    pub async fn send_metadata(&mut self, props: Vec<(String, Amf0)>) -> Result<(), ClientError> {
        let mut b = Vec::new();
        Amf0::String("onMetaData".into()).encode(&mut b);
        Amf0::EcmaArray(props).encode(&mut b);
        self.send_script_tag(&b).await
    }

    /// Sends an FLV video tag body with timestamp (DTS) `ts` in ms.
    pub async fn send_video(&mut self, ts: u32, body: Bytes) -> Result<(), ClientError> {
        self.send_media(CSID_VIDEO, msg_type::VIDEO, ts, body).await
    }

    /// Sends an FLV audio tag body with timestamp `ts` in ms.
    pub async fn send_audio(&mut self, ts: u32, body: Bytes) -> Result<(), ClientError> {
        self.send_media(CSID_AUDIO, msg_type::AUDIO, ts, body).await
    }

    /// Ends publishing politely: `FCUnpublish`, `deleteStream`, then closes.
    pub async fn close(mut self) -> Result<(), ClientError> {
        let key = Amf0::String(self.key.clone());
        self.queue_command(0, command("FCUnpublish", 6.0, &[Amf0::Null, key]));
        let id = Amf0::Number(f64::from(self.stream_id));
        self.queue_command(0, command("deleteStream", 7.0, &[Amf0::Null, id]));
        self.flush().await?;
        self.sock.shutdown().await?;
        Ok(())
    }
}

/// Turns an error-level onStatus into [`ClientError::PublishRejected`].
fn check_status(reply: Reply) -> Result<(), ClientError> {
    match reply {
        Reply::Status {
            level,
            code,
            description,
        } if level == "error" || code.ends_with("BadName") => {
            Err(ClientError::PublishRejected { code, description })
        }
        _ => Ok(()),
    }
}

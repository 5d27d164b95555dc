//! NetConnection and NetStream commands (RTMP spec §7.2) and the replies OBS and
//! ffmpeg expect.
//!
//! Publishing flow as encoders send it, and what we answer:
//!
//! | client | server |
//! |---|---|
//! | `connect(tx, {app, tcUrl, …})` | Window Ack Size, Set Peer Bandwidth, Set Chunk Size 4096, `_result(tx, {fmsVer, capabilities}, {level, code: NetConnection.Connect.Success, objectEncoding})` |
//! | `releaseStream(tx, null, name)` | `_result(tx, null, undefined)` |
//! | `FCPublish(tx, null, name)` | `onFCPublish(0, null, {code: NetStream.Publish.Start})`, `_result` |
//! | `createStream(tx, null)` | `_result(tx, null, stream id)` (§7.2.1.3) |
//! | `publish(0, null, name, "live")` on stream N | event `PublishRequested`; then Stream Begin N + `onStatus NetStream.Publish.Start`, or `onStatus` level `error` NetStream.Publish.BadName (§7.2.2.6) |
//! | `FCUnpublish`, `closeStream`, `deleteStream(N)` | publish ends (`Unpublished`) |
//! | `_checkbw`, `getStreamLength` | `_result` |
//! | anything else with a transaction id | `_error(tx, null, {code: NetConnection.Call.Failed})` |

use super::amf0::Amf0Value;
use super::chunk_writer::{CSID_COMMAND, CSID_STREAM_STATUS};
use super::messages::{ControlMessage, LIMIT_TYPE_DYNAMIC};
use super::session::{Phase, Publish, RtmpSession, SessionEvent, WINDOW_ACK_SIZE};
use super::RtmpError;

/// The chunk size we announce and then use for sending.
pub const SERVER_CHUNK_SIZE: u32 = 4096;

/// A decoded command message: name, transaction id, command object, arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Command name, e.g. `connect`.
    pub name: String,
    /// Transaction id; 0 when no reply is expected.
    pub transaction_id: f64,
    /// The command object (`null` for most commands after `connect`).
    pub object: Amf0Value,
    /// The remaining arguments.
    pub args: Vec<Amf0Value>,
}

impl Command {
    /// Splits decoded values; `None` unless the first one is a string.
    pub fn from_values(values: Vec<Amf0Value>) -> Option<Self> {
        let mut it = values.into_iter();
        let name = match it.next()? {
            Amf0Value::String(s) | Amf0Value::LongString(s) => s,
            _ => return None,
        };
        let transaction_id = it.next().and_then(|v| v.as_number()).unwrap_or(0.0);
        let object = it.next().unwrap_or(Amf0Value::Null);
        Some(Self {
            name,
            transaction_id,
            object,
            args: it.collect(),
        })
    }

    fn arg_str(&self, i: usize) -> Option<&str> {
        self.args.get(i).and_then(Amf0Value::as_str)
    }
}

fn s(v: &str) -> Amf0Value {
    Amf0Value::String(v.to_owned())
}

fn status(level: &str, code: &str, description: &str) -> Amf0Value {
    Amf0Value::Object(vec![
        ("level".into(), s(level)),
        ("code".into(), s(code)),
        ("description".into(), s(description)),
    ])
}

/// `live`, `live/`, `live?token=x` → `live`; falls back to the first path segment
/// of `tcUrl` (`rtmp://host:1935/live`).
pub fn app_name(app: Option<&str>, tc_url: Option<&str>) -> String {
    let clean = |a: &str| {
        a.split('?')
            .next()
            .unwrap_or("")
            .trim_matches('/')
            .to_owned()
    };
    match app.map(clean).filter(|a| !a.is_empty()) {
        Some(a) => a,
        None => {
            let url = tc_url.unwrap_or("");
            let path = url.split_once("://").map_or(url, |(_, rest)| rest);
            let path = path.split_once('/').map_or("", |(_, p)| p);
            clean(path)
        }
    }
}

/// The publish name without `?query` (some encoders append auth tokens).
pub fn stream_key(name: &str) -> String {
    name.split('?').next().unwrap_or("").to_owned()
}

impl RtmpSession {
    pub(super) fn on_command(
        &mut self,
        stream_id: u32,
        values: Vec<Amf0Value>,
    ) -> Result<(), RtmpError> {
        let Some(cmd) = Command::from_values(values) else {
            return Ok(());
        };
        let tx = cmd.transaction_id;
        if self.phase == Phase::AwaitConnect && cmd.name != "connect" {
            return Err(RtmpError::UnexpectedCommand {
                command: cmd.name,
                state: "before connect",
            });
        }
        match cmd.name.as_str() {
            "connect" => {
                if self.phase != Phase::AwaitConnect {
                    return Err(RtmpError::UnexpectedCommand {
                        command: cmd.name,
                        state: "after connect",
                    });
                }
                let app = cmd.object.get("app").and_then(Amf0Value::as_str);
                let tc_url = cmd.object.get("tcUrl").and_then(Amf0Value::as_str);
                self.app = app_name(app, tc_url);
                self.phase = Phase::Connected;
                self.send_control(ControlMessage::WindowAckSize(WINDOW_ACK_SIZE));
                self.send_control(ControlMessage::SetPeerBandwidth {
                    size: WINDOW_ACK_SIZE,
                    limit_type: LIMIT_TYPE_DYNAMIC,
                });
                self.send_control(ControlMessage::SetChunkSize(SERVER_CHUNK_SIZE));
                self.writer.set_chunk_size(SERVER_CHUNK_SIZE);
                let mut info = status(
                    "status",
                    "NetConnection.Connect.Success",
                    "Connection succeeded.",
                );
                if let Amf0Value::Object(p) = &mut info {
                    let encoding = cmd
                        .object
                        .get("objectEncoding")
                        .and_then(Amf0Value::as_number);
                    p.push((
                        "objectEncoding".into(),
                        Amf0Value::Number(encoding.unwrap_or(0.0)),
                    ));
                }
                let props = Amf0Value::Object(vec![
                    ("fmsVer".into(), s("FMS/3,0,1,123")),
                    ("capabilities".into(), Amf0Value::Number(31.0)),
                ]);
                self.reply("_result", tx, props, info);
            }
            "releaseStream" | "_checkbw" => {
                self.reply("_result", tx, Amf0Value::Null, Amf0Value::Undefined)
            }
            "getStreamLength" => self.reply("_result", tx, Amf0Value::Null, Amf0Value::Number(0.0)),
            "FCPublish" => {
                let info = status("status", "NetStream.Publish.Start", "FCPublish");
                self.reply("onFCPublish", 0.0, Amf0Value::Null, info);
                self.reply("_result", tx, Amf0Value::Null, Amf0Value::Undefined);
            }
            "FCUnpublish" => {
                let info = status("status", "NetStream.Unpublish.Success", "FCUnpublish");
                self.reply("onFCUnpublish", 0.0, Amf0Value::Null, info);
                self.reply("_result", tx, Amf0Value::Null, Amf0Value::Undefined);
                self.end_publish();
            }
            "createStream" => {
                if self.streams.len() as u32 >= self.limits.max_streams {
                    return Err(RtmpError::TooManyStreams {
                        limit: self.limits.max_streams,
                    });
                }
                let id = self.next_stream_id;
                self.next_stream_id += 1;
                self.streams.insert(id);
                self.reply(
                    "_result",
                    tx,
                    Amf0Value::Null,
                    Amf0Value::Number(f64::from(id)),
                );
            }
            "publish" => {
                if !self.streams.contains(&stream_id) {
                    return Err(RtmpError::UnknownStream(stream_id));
                }
                if self.publish != Publish::Idle {
                    return Err(RtmpError::SecondPublish);
                }
                let stream_key = stream_key(cmd.arg_str(0).unwrap_or(""));
                self.publish = Publish::Pending(stream_id);
                let app = self.app.clone();
                self.events.push_back(SessionEvent::PublishRequested {
                    app,
                    stream_key,
                    stream_id,
                });
            }
            "closeStream" if self.publish == Publish::Live(stream_id) => self.end_publish(),
            "closeStream" => {}
            "deleteStream" => {
                let id = cmd
                    .args
                    .first()
                    .and_then(Amf0Value::as_number)
                    .unwrap_or(-1.0);
                if id >= 0.0 && id <= f64::from(u32::MAX) {
                    let id = id as u32;
                    self.streams.remove(&id);
                    if self.publish == Publish::Live(id) {
                        self.end_publish();
                    }
                }
            }
            // Replies and notifications from the client need no answer.
            "_result" | "_error" | "onStatus" | "onBWDone" => {}
            _ if tx != 0.0 => {
                let info = status(
                    "error",
                    "NetConnection.Call.Failed",
                    &format!("unknown command {:?}", cmd.name),
                );
                self.reply("_error", tx, Amf0Value::Null, info);
            }
            _ => {}
        }
        Ok(())
    }

    fn reply(&mut self, name: &str, tx: f64, object: Amf0Value, info: Amf0Value) {
        self.send_command(
            CSID_COMMAND,
            0,
            &[s(name), Amf0Value::Number(tx), object, info],
        );
    }

    pub(super) fn send_status(
        &mut self,
        stream_id: u32,
        level: &str,
        code: &str,
        description: &str,
    ) {
        let values = [
            s("onStatus"),
            Amf0Value::Number(0.0),
            Amf0Value::Null,
            status(level, code, description),
        ];
        self.send_command(CSID_STREAM_STATUS, stream_id, &values);
    }

    fn end_publish(&mut self) {
        if let Publish::Live(_) = self.publish {
            self.publish = Publish::Idle;
            self.events.push_back(SessionEvent::Unpublished);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_and_key_normalisation() {
        assert_eq!(app_name(Some("live"), None), "live");
        assert_eq!(app_name(Some("live/?token=1"), None), "live");
        assert_eq!(app_name(None, Some("rtmp://host:1935/live")), "live");
        assert_eq!(app_name(Some(""), Some("rtmp://host/live/")), "live");
        assert_eq!(stream_key("abc?secret=1"), "abc");
        assert_eq!(stream_key("abc"), "abc");
    }
}

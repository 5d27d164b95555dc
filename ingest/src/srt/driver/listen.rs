//! The driver's side of srt-protocol's [`MultiplexListener`](srt_protocol::listener::MultiplexListener):
//! it answers handshakes itself (induction and conclusion, draft-sharabayko-srt
//! §4.3.1; rejections, §3.2.1.2) and returns the rest as actions, which are
//! carried out here — packets sent, access requests started, connections
//! opened — each followed by its result (`Input::Success` / `Input::Failure`),
//! as srt-tokio's listener task does, until the machine waits for input.

use std::net::SocketAddr;
use std::time::Instant;

use srt_protocol::connection::Connection;
use srt_protocol::listener::{AccessControlRequest, Action, Input, ResultOf, SessionId};
use srt_protocol::packet::Packet;

use super::{send, Driver};

/// What the listener state machine asked for, owned (its `Action` borrows it).
enum Step {
    Send((Packet, SocketAddr)),
    Request(SessionId, AccessControlRequest),
    Reject(SessionId, Option<(Packet, SocketAddr)>),
    Open(SessionId, Box<(Option<(Packet, SocketAddr)>, Connection)>),
    Delegate(SessionId, Packet),
    Drop(SessionId),
    Nothing(ResultOf),
}

impl Driver {
    /// Feeds `input` to the listener state machine and carries out what it
    /// asks, then the answers queued meanwhile.
    pub(super) fn feed_listener(&mut self, now: Instant, input: Input) {
        self.listener_steps(now, input);
        while let Some((session, response)) = self.responses.pop() {
            self.listener_steps(now, Input::AccessResponse(Some((session, response))));
        }
    }

    fn listener_steps(&mut self, now: Instant, mut input: Input) {
        loop {
            let step = match self.listener.handle_input(now, input) {
                Action::SendPacket(p) => Step::Send(p),
                Action::RequestAccess(s, r) => Step::Request(s, r),
                Action::RejectConnection(s, p) => Step::Reject(s, p),
                Action::OpenConnection(s, c) => Step::Open(s, c),
                Action::DelegatePacket(s, (p, _)) => Step::Delegate(s, p),
                Action::DropConnection(s) => Step::Drop(s),
                Action::UpdateStatistics(_) => Step::Nothing(ResultOf::UpdateStatistics),
                Action::WaitForInput | Action::Close => return,
            };
            input = match step {
                Step::Send((p, to)) => {
                    if send(&self.socket, &mut self.tx, &p, to) {
                        Input::Success(ResultOf::SendPacket(to))
                    } else {
                        Input::Failure(ResultOf::SendPacket(to))
                    }
                }
                Step::Request(s, request) => {
                    self.request_access(s, request);
                    Input::Success(ResultOf::RequestAccess(s))
                }
                Step::Reject(s, p) => {
                    self.handshake_failed(s);
                    if let Some((p, to)) = p {
                        send(&self.socket, &mut self.tx, &p, to);
                    }
                    Input::Success(ResultOf::RejectConnection(s))
                }
                Step::Open(s, opened) => {
                    let (p, connection) = *opened;
                    if let Some((p, to)) = p {
                        send(&self.socket, &mut self.tx, &p, to);
                    }
                    self.open(now, s, connection);
                    Input::Success(ResultOf::OpenConnection(s))
                }
                Step::Delegate(s, p) => match self.publishers.get_mut(&s.0) {
                    Some(publisher) => {
                        if !publisher.dirty {
                            self.dirty.push(s.0);
                        }
                        publisher.handle_packet(now, p);
                        Input::Success(ResultOf::DelegatePacket(s))
                    }
                    None => Input::Failure(ResultOf::DelegatePacket(s)),
                },
                Step::Drop(s) => {
                    self.handshake_failed(s);
                    Input::Success(ResultOf::DropConnection(s))
                }
                Step::Nothing(result) => Input::Success(result),
            };
        }
    }
}

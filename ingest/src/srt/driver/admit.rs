//! The driver's side of admission: starting `PublishHandler::check` when the
//! listener asks for access control (the caller's conclusion request,
//! draft-sharabayko-srt §4.3.1.2), answering the listener once it resolved,
//! then starting `publish` when the handshake completed and going live.
//!
//! The order is the listener's rules ([`crate::srt::admission`]), then `check`
//! (an unknown key gets an SRT rejection the caller can show), then the
//! handshake completes (a wrong passphrase fails here: the caller's key material
//! does not unwrap), and only then `publish` makes the channel live.

use std::time::Instant;

use srt_protocol::connection::Connection;
use srt_protocol::listener::{AccessControlRequest, AccessControlResponse, Input, SessionId};
use srt_tokio::access::{RejectReason, ServerRejectReason};
use tracing::{info, warn};

use super::{Admission, Driver};
use crate::publish::PublishRequest;
use crate::srt::admission::admit;
use crate::srt::driver_conn::Publisher;
use crate::srt::listener::SRT_APP;

impl Driver {
    /// The listener asks whether the caller of `session` may connect.
    pub(super) fn request_access(&mut self, session: SessionId, request: AccessControlRequest) {
        let peer = request.remote;
        let stream_id = request.stream_id.as_ref().map(|s| s.as_str());
        let passphrase = self.config.passphrase.as_deref();
        match admit(stream_id, request.key_size, passphrase) {
            Err(refusal) => {
                warn!(%peer, "srt: refusing {peer}: {}", refusal.why);
                self.config.handler.handshake_failed("srt");
                let reason = RejectReason::Server(refusal.reason);
                let response = AccessControlResponse::Rejected(reason);
                self.responses.push((session, response));
            }
            Ok(admitted) => {
                let publish = PublishRequest {
                    app: SRT_APP.to_owned(),
                    stream_key: admitted.stream_key,
                    peer,
                    channel: None,
                };
                let check = self.config.handler.check(&publish);
                let key_settings = admitted.key_settings;
                self.new_admissions.push(Box::pin(async move {
                    let result = check.await;
                    Admission::Checked {
                        session,
                        publish,
                        key_settings,
                        result,
                    }
                }));
            }
        }
    }

    /// The handshake of `session` completed: a publisher waiting for its sink.
    pub(super) fn open(&mut self, now: Instant, session: SessionId, connection: Connection) {
        let peer = connection.settings.remote;
        let publish = match self.accepting.take() {
            Some((s, publish)) if s == session => publish,
            _ => {
                // Not opened through `check` (cannot happen with access control
                // on): refuse by closing.
                warn!(%peer, "srt: {peer} connected without access control; closing");
                return;
            }
        };
        if let Some(mut old) = self.publishers.remove(&peer) {
            old.close("the caller connected again", &*self.config.handler, now);
        }
        self.next_id += 1;
        let id = self.next_id;
        self.publishers
            .insert(peer, Publisher::new(id, connection, now));
        self.dirty.push(peer);
        let publishing = self.config.handler.publish(publish);
        self.new_admissions.push(Box::pin(async move {
            let result = publishing.await;
            Admission::Published { id, peer, result }
        }));
    }

    pub(super) fn admission(&mut self, now: Instant, answer: Admission) {
        match answer {
            Admission::Checked {
                session,
                publish,
                key_settings,
                result: Ok(()),
            } => {
                self.accepting = Some((session, publish));
                let accepted = AccessControlResponse::Accepted(key_settings);
                self.feed_listener(now, Input::AccessResponse(Some((session, accepted))));
                self.accepting = None;
            }
            Admission::Checked {
                session,
                publish,
                result: Err(rejection),
                ..
            } => {
                let peer = publish.peer;
                warn!(%peer, "srt: publish rejected: {rejection}");
                let refused = RejectReason::Server(ServerRejectReason::Forbidden);
                let response = AccessControlResponse::Rejected(refused);
                self.feed_listener(now, Input::AccessResponse(Some((session, response))));
            }
            Admission::Published { id, peer, result } => {
                let publisher =
                    (self.publishers.get_mut(&peer)).filter(|p| p.id == id && p.waiting_for_sink());
                match (publisher, result) {
                    (Some(p), Ok(sink)) => {
                        info!(%peer, channel = sink.channel(), "srt: {peer} publishing to channel {}", sink.channel());
                        p.go_live(sink);
                        if !p.dirty {
                            self.dirty.push(peer);
                            p.dirty = true;
                        }
                    }
                    (Some(p), Err(rejection)) => {
                        // Lost a race (another publisher took the channel since
                        // the check): the handshake is done, so closing is the
                        // only answer left.
                        warn!(%peer, "srt: publish rejected after the handshake: {rejection}");
                        p.stop(now);
                        if !self.dirty.contains(&peer) {
                            self.dirty.push(peer);
                        }
                    }
                    (None, Ok(mut sink)) => {
                        info!(%peer, channel = sink.channel(), "srt: closing {peer}: peer closed the connection");
                        sink.end();
                    }
                    (None, Err(_)) => {}
                }
            }
        }
    }

    /// The listener refused or dropped `session`: if it was being accepted,
    /// the handshake failed after the key was approved (a wrong passphrase).
    pub(super) fn handshake_failed(&mut self, session: SessionId) {
        if self.accepting.as_ref().is_some_and(|(s, _)| *s == session) {
            self.accepting = None;
            let peer = session.0;
            warn!(%peer, "srt: handshake with {peer} failed (wrong passphrase?)");
            self.config.handler.handshake_failed("srt");
        }
    }
}

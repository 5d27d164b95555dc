//! Webhooks: `stream.started`, `stream.ended`, `vod.ready` and `vod.failed` POSTed to
//! the subscribed URLs.
//!
//! - [`Webhooks::emit`] never blocks: events go into a bounded queue
//!   ([`QUEUE_CAPACITY`]); when it is full the event is dropped and logged, so a
//!   slow or dead receiver can never hold up ingest.
//! - One dispatcher task reads the queue, looks up the subscriptions in the catalog
//!   and starts one delivery per subscriber, at most [`MAX_IN_FLIGHT`] at once.
//! - A delivery is a JSON `POST` signed with the subscription's secret
//!   ([`signature`]), retried on failure or a non-2xx answer up to
//!   [`MAX_ATTEMPTS`] times with exponential backoff, each attempt bounded by
//!   [`ATTEMPT_TIMEOUT`].
//!
//! Body: `{"id", "event", "channel", "at_ms"}` (VOD events: `{"id", "event", "asset",
//! "title", "reason", "at_ms"}`, plus `channel` for live-to-VOD); headers `ferrocast-event`,
//! `ferrocast-delivery` (the id, the same for every retry) and
//! `ferrocast-signature`.

pub mod delivery;
pub mod signature;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, Semaphore};

use crate::catalog::Catalog;

/// Events waiting for the dispatcher, at most.
pub const QUEUE_CAPACITY: usize = 1024;
/// Deliveries in progress at once, at most.
pub const MAX_IN_FLIGHT: usize = 64;
/// Attempts per delivery.
pub const MAX_ATTEMPTS: u32 = 5;
/// Time allowed for one attempt (connect, send, response head).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Wait before the second attempt; doubled for each further one.
pub const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Event names a webhook may subscribe to.
pub const EVENT_NAMES: &[&str] = &["stream.started", "stream.ended", "vod.ready", "vod.failed"];

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// `stream.started`, `stream.ended`, …
    pub event: &'static str,
    /// The channel it concerns (empty for an uploaded VOD asset).
    pub channel: String,
    /// When, ms since the Unix epoch.
    pub at_ms: u64,
    /// VOD events: the asset, its title and (`vod.failed`) why.
    #[serde(flatten)]
    pub vod: Option<VodDetails>,
}

/// What `vod.ready` and `vod.failed` say about the asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VodDetails {
    /// The asset id (`/vod/{asset}`).
    pub asset: String,
    /// Its title.
    pub title: String,
    /// Why processing failed (`vod.failed` only).
    pub reason: Option<String>,
}

impl Event {
    /// A publisher started a new stream on `channel`.
    pub fn stream_started(channel: &str, at_ms: u64) -> Self {
        Self {
            event: "stream.started",
            channel: channel.to_owned(),
            at_ms,
            vod: None,
        }
    }

    /// `channel`'s stream ended (its publisher did not come back in time).
    pub fn stream_ended(channel: &str, at_ms: u64) -> Self {
        Self {
            event: "stream.ended",
            channel: channel.to_owned(),
            at_ms,
            vod: None,
        }
    }

    /// `asset` is ready to play (the job runner calls this, then [`Webhooks::emit`]).
    pub fn vod_ready(asset: &crate::catalog::AssetRecord, at_ms: u64) -> Self {
        Self::vod("vod.ready", asset, None, at_ms)
    }

    /// Processing `asset` failed because of `reason`.
    pub fn vod_failed(asset: &crate::catalog::AssetRecord, reason: &str, at_ms: u64) -> Self {
        Self::vod("vod.failed", asset, Some(reason), at_ms)
    }

    fn vod(
        event: &'static str,
        asset: &crate::catalog::AssetRecord,
        reason: Option<&str>,
        at_ms: u64,
    ) -> Self {
        Self {
            event,
            channel: asset.channel.clone().unwrap_or_default(),
            at_ms,
            vod: Some(VodDetails {
                asset: asset.id.clone(),
                title: asset.title.clone(),
                reason: reason.map(str::to_owned),
            }),
        }
    }

    /// The JSON body of a delivery with id `delivery_id`.
    pub fn body(&self, delivery_id: &str) -> serde_json::Value {
        let mut body = serde_json::json!({
            "id": delivery_id,
            "event": self.event,
            "at_ms": self.at_ms,
        });
        if self.vod.is_none() || !self.channel.is_empty() {
            body["channel"] = self.channel.clone().into();
        }
        if let Some(vod) = &self.vod {
            body["asset"] = vod.asset.clone().into();
            body["title"] = vod.title.clone().into();
            body["reason"] = vod.reason.clone().into();
        }
        body
    }
}

/// The sending side; cheap to clone.
#[derive(Debug, Clone)]
pub struct Webhooks {
    queue: mpsc::Sender<Event>,
}

impl Webhooks {
    /// Starts the dispatcher on the current runtime.
    pub fn start(catalog: Catalog) -> Self {
        let (queue, events) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(dispatch(catalog, events));
        Self { queue }
    }

    /// Queues `event` without waiting; drops it (logged) when the queue is full.
    pub fn emit(&self, event: Event) {
        if let Err(e) = self.queue.try_send(event) {
            tracing::warn!(error = %e, "webhook queue full or closed: event dropped");
        }
    }
}

async fn dispatch(catalog: Catalog, mut events: mpsc::Receiver<Event>) {
    let client = delivery::client();
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    while let Some(event) = events.recv().await {
        let subscribers = match catalog.webhooks().await {
            Ok(all) => all,
            Err(e) => {
                tracing::error!(error = %e, event = event.event, "cannot read webhooks: event dropped");
                continue;
            }
        };
        for hook in subscribers
            .into_iter()
            .filter(|h| h.events.iter().any(|e| e == event.event))
        {
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                return;
            };
            let client = client.clone();
            let event = event.clone();
            tokio::spawn(async move {
                delivery::deliver(&client, &hook, &event).await;
                drop(permit);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{AssetOrigin, AssetRecord, AssetStatus};

    fn asset() -> AssetRecord {
        AssetRecord {
            id: "abcdefghijkl0123".into(),
            title: "Cats".into(),
            description: String::new(),
            tags: Vec::new(),
            status: AssetStatus::Failed,
            reason: None,
            source_name: "cats.mp4".into(),
            size_bytes: 1,
            duration_s: None,
            width: None,
            height: None,
            codecs: None,
            renditions_json: None,
            views: 0,
            origin: AssetOrigin::Upload,
            channel: None,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    #[test]
    fn vod_events_carry_the_asset_title_and_reason() {
        let body = Event::vod_failed(&asset(), "not a media file", 7).body("d1");
        assert_eq!(
            body,
            serde_json::json!({"id": "d1", "event": "vod.failed", "at_ms": 7,
                "asset": "abcdefghijkl0123", "title": "Cats", "reason": "not a media file"})
        );
        let ready = Event::vod_ready(&asset(), 8).body("d2");
        assert_eq!(ready["event"], "vod.ready");
        assert_eq!(ready["reason"], serde_json::Value::Null);
        assert!(EVENT_NAMES.contains(&"vod.failed"));
        // Live events keep their shape.
        assert_eq!(
            Event::stream_started("news", 9).body("d3"),
            serde_json::json!({"id": "d3", "event": "stream.started", "channel": "news", "at_ms": 9})
        );
    }
}

//! Webhooks: `stream.started` and `stream.ended` POSTed to the subscribed URLs.
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
//! Body: `{"id", "event", "channel", "at_ms"}`; headers `ferrocast-event`,
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
pub const EVENT_NAMES: &[&str] = &["stream.started", "stream.ended", "vod.ready"];

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// `stream.started`, `stream.ended`, …
    pub event: &'static str,
    /// The channel it concerns.
    pub channel: String,
    /// When, ms since the Unix epoch.
    pub at_ms: u64,
}

impl Event {
    /// A publisher started a new stream on `channel`.
    pub fn stream_started(channel: &str, at_ms: u64) -> Self {
        Self {
            event: "stream.started",
            channel: channel.to_owned(),
            at_ms,
        }
    }

    /// `channel`'s stream ended (its publisher did not come back in time).
    pub fn stream_ended(channel: &str, at_ms: u64) -> Self {
        Self {
            event: "stream.ended",
            channel: channel.to_owned(),
            at_ms,
        }
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

//! One webhook delivery: a signed JSON POST with bounded retries.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::signature::{signature_header, SIGNATURE_HEADER};
use super::{Event, ATTEMPT_TIMEOUT, FIRST_RETRY_DELAY, MAX_ATTEMPTS};
use crate::catalog::stream_key;
use crate::catalog::WebhookRecord;

/// The HTTP(S) client deliveries use.
pub type WebhookClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client for `http://` and `https://` receivers (web PKI roots).
pub fn client() -> WebhookClient {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(ATTEMPT_TIMEOUT));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(https)
}

/// Why one attempt failed.
#[derive(Debug)]
enum AttemptError {
    Status(u16),
    Transport(String),
    TimedOut,
}

impl std::fmt::Display for AttemptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttemptError::Status(s) => write!(f, "answered {s}"),
            AttemptError::Transport(e) => write!(f, "{e}"),
            AttemptError::TimedOut => write!(f, "no answer within {ATTEMPT_TIMEOUT:?}"),
        }
    }
}

/// Delivers `event` to `hook`, retrying; logs the outcome (never the secret).
pub async fn deliver(client: &WebhookClient, hook: &WebhookRecord, event: &Event) {
    let id = stream_key::generate()[..20].to_owned();
    let body = event.body(&id);
    let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
    let mut delay = FIRST_RETRY_DELAY;
    for attempt in 1..=MAX_ATTEMPTS {
        match attempt_once(client, hook, event.event, &id, &body).await {
            Ok(()) => {
                tracing::info!(webhook = %hook.id, event = event.event, attempt, "webhook delivered");
                return;
            }
            Err(e) => {
                tracing::warn!(webhook = %hook.id, event = event.event, attempt, error = %e, "webhook delivery failed");
            }
        }
        if attempt < MAX_ATTEMPTS {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    tracing::error!(webhook = %hook.id, event = event.event, "webhook given up after {MAX_ATTEMPTS} attempts");
}

async fn attempt_once(
    client: &WebhookClient,
    hook: &WebhookRecord,
    event: &str,
    id: &str,
    body: &Bytes,
) -> Result<(), AttemptError> {
    let now_s = crate::clock::now_ms() / 1000;
    let request = http::Request::post(&hook.url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, "ferrocast-webhooks")
        .header("ferrocast-event", event)
        .header("ferrocast-delivery", id)
        .header(
            SIGNATURE_HEADER,
            signature_header(&hook.secret, now_s, body),
        )
        .body(Full::new(body.clone()))
        .map_err(|e| AttemptError::Transport(e.to_string()))?;
    let response = tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(request))
        .await
        .map_err(|_| AttemptError::TimedOut)?
        .map_err(|e| AttemptError::Transport(e.to_string()))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(AttemptError::Status(status.as_u16()))
    }
}

//! `/api/v1/webhooks`: subscribe URLs to events (all writes and reads need the admin
//! key, since URLs may carry secrets of their own).
//!
//! | method and path | does | answers |
//! |---|---|---|
//! | `GET /webhooks` | list (no secrets) | 200 `{"webhooks": [...]}` |
//! | `POST /webhooks` `{"url", "events"}` | subscribe | 201 webhook + `secret` (shown once) |
//! | `DELETE /webhooks/{id}` | unsubscribe | 204 / 404 |
//!
//! Events: `stream.started`, `stream.ended`, `vod.ready`, `vod.failed` ([`crate::webhooks`]).

use edge::pipeline::RequestBody;
use edge::upstream::UpstreamResponse;
use http::StatusCode;
use serde::Deserialize;

use super::json::{error, json, no_content, parse_body};
use super::ControlApi;
use crate::catalog::CatalogError;
use crate::clock::now_ms;
use crate::webhooks::EVENT_NAMES;

/// Longest URL accepted.
pub const MAX_URL_BYTES: usize = 2048;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateWebhook {
    url: String,
    events: Vec<String>,
}

fn unavailable(e: CatalogError) -> UpstreamResponse {
    tracing::error!(error = %e, "catalog error in the webhooks API");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the catalog is unavailable",
    )
}

/// `GET /webhooks`.
pub(crate) async fn list(api: &ControlApi) -> UpstreamResponse {
    match api.catalog.webhooks().await {
        Ok(hooks) => json(StatusCode::OK, &serde_json::json!({ "webhooks": hooks })),
        Err(e) => unavailable(e),
    }
}

/// `POST /webhooks`.
pub(crate) async fn create(api: &ControlApi, body: Option<RequestBody>) -> UpstreamResponse {
    let req: CreateWebhook = match parse_body(body).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let url_ok = (req.url.starts_with("http://") || req.url.starts_with("https://"))
        && req.url.len() <= MAX_URL_BYTES
        && req
            .url
            .parse::<http::Uri>()
            .is_ok_and(|u| u.host().is_some());
    if !url_ok {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("url must be an http:// or https:// URL of at most {MAX_URL_BYTES} bytes"),
        );
    }
    if req.events.is_empty()
        || req
            .events
            .iter()
            .any(|e| !EVENT_NAMES.contains(&e.as_str()))
    {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "events must be a non-empty list of {}",
                EVENT_NAMES.join(", ")
            ),
        );
    }
    match api
        .catalog
        .create_webhook(&req.url, &req.events, now_ms() as i64)
        .await
    {
        Ok(hook) => {
            let mut value = serde_json::to_value(&hook).unwrap_or_default();
            value["secret"] = hook.secret.clone().into();
            json(StatusCode::CREATED, &value)
        }
        Err(e) => unavailable(e),
    }
}

/// `DELETE /webhooks/{id}`.
pub(crate) async fn delete(api: &ControlApi, id: &str) -> UpstreamResponse {
    match api.catalog.delete_webhook(id).await {
        Ok(true) => no_content(),
        Ok(false) => error(StatusCode::NOT_FOUND, &format!("no webhook {id:?}")),
        Err(e) => unavailable(e),
    }
}

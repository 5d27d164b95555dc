//! JSON responses and bodies.

use std::time::Duration;

use bytes::Bytes;
use edge::pipeline::{BodyReadError, RequestBody};
use edge::upstream::{ObjectKind, UpstreamBody, UpstreamResponse};
use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Largest JSON body accepted.
pub const MAX_JSON_BODY: usize = 64 * 1024;
/// How long a client may take to send it.
pub const JSON_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// `value` as a JSON response with `status`.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> UpstreamResponse {
    let mut body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    body.push(b'\n');
    UpstreamResponse {
        status,
        kind: ObjectKind::Other,
        content_type: "application/json",
        cache_control: "no-store".into(),
        headers: http::HeaderMap::new(),
        body: UpstreamBody::Full(Bytes::from(body)),
    }
}

/// `{"error": message}` with `status`.
pub fn error(status: StatusCode, message: &str) -> UpstreamResponse {
    json(status, &serde_json::json!({ "error": message }))
}

/// 204 No Content.
pub fn no_content() -> UpstreamResponse {
    let mut r = json(StatusCode::NO_CONTENT, &());
    r.body = UpstreamBody::Full(Bytes::new());
    r
}

/// Like [`parse_body`], but an empty body is `T::default()`.
pub async fn parse_body_or_default<T: DeserializeOwned + Default>(
    body: Option<RequestBody>,
) -> Result<T, UpstreamResponse> {
    let bytes = read_body(body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("malformed JSON: {e}")))
}

/// Reads and parses the request body as `T`, or the error response to send.
pub async fn parse_body<T: DeserializeOwned>(
    body: Option<RequestBody>,
) -> Result<T, UpstreamResponse> {
    let bytes = read_body(body).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("malformed JSON: {e}")))
}

async fn read_body(body: Option<RequestBody>) -> Result<Bytes, UpstreamResponse> {
    let body = body.unwrap_or_else(RequestBody::empty);
    let bytes = body
        .read_to_limit(MAX_JSON_BODY, JSON_BODY_TIMEOUT)
        .await
        .map_err(|e| {
            let status = match e {
                BodyReadError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                BodyReadError::TimedOut => StatusCode::REQUEST_TIMEOUT,
                BodyReadError::Transport(_) | BodyReadError::Taken => StatusCode::BAD_REQUEST,
            };
            error(status, &e.to_string())
        })?;
    Ok(bytes)
}

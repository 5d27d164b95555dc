//! `/api/v1/channels`:
//!
//! | method and path | does | answers |
//! |---|---|---|
//! | `GET /channels` | list, with live status | 200 `{"channels": [...]}` |
//! | `POST /channels` `{"name", "title"?, "playback"?, "ladder"?, "record"?}` | create | 201 channel + `stream_key` (shown once) |
//! | `GET /channels/{name}` | read | 200 / 404 |
//! | `PATCH /channels/{name}` `{"title"?, "playback"?, "chat_anonymous"?, "ladder"?, "record"?}` | update | 200 / 404 |
//! | `DELETE /channels/{name}` | delete | 204 / 404 |
//! | `POST /channels/{name}/rotate-key` | new stream key | 200 `{"stream_key"}` / 404 |
//! | `POST /channels/{name}/kick` | disconnect the publisher (rotate the key to keep them out) | 200 / 404 / 409 not live |
//!
//! `playback` is `"public"` or `"token"`. `ladder` (the live ABR ladder; default
//! `[ladder] live_default`) takes effect at the next publish; `record` (live-to-VOD)
//! when the stream ends.

use edge::pipeline::RequestBody;
use edge::upstream::UpstreamResponse;
use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::json::{error, json, no_content, parse_body};
use super::ControlApi;
use crate::catalog::{CatalogError, ChannelRecord, ChannelUpdate, NewChannel, Playback};
use crate::channels::PublisherState;
use crate::clock::now_ms;
use crate::config::is_valid_channel_name;

/// Longest title accepted.
pub const MAX_TITLE_CHARS: usize = 200;

/// A channel as the API shows it.
#[derive(Debug, Serialize)]
struct ChannelView {
    #[serde(flatten)]
    record: ChannelRecord,
    /// A publisher is connected.
    live: bool,
    /// Watch pages open on this origin (each holds a chat connection).
    viewers: u64,
    /// What the publisher sends, while live.
    #[serde(skip_serializing_if = "Option::is_none")]
    ingest: Option<IngestView>,
}

/// The live publisher's stream.
#[derive(Debug, Serialize)]
struct IngestView {
    /// Average over the last few seconds.
    bitrate_bps: u64,
    tracks: Vec<TrackView>,
}

/// One rendition of the live stream.
#[derive(Debug, Serialize)]
struct TrackView {
    rendition: String,
    /// RFC 6381 codec string, e.g. `avc1.64001f`.
    codec: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample_rate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channels: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateChannel {
    name: String,
    title: Option<String>,
    playback: Option<Playback>,
    ladder: Option<bool>,
    record: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchChannel {
    title: Option<String>,
    playback: Option<Playback>,
    chat_anonymous: Option<bool>,
    ladder: Option<bool>,
    record: Option<bool>,
}

/// Answers a `/channels…` route; the method is allowed and authorised already.
pub(crate) async fn handle(
    api: &ControlApi,
    method: &Method,
    template: &str,
    name: Option<&str>,
    body: Option<RequestBody>,
) -> UpstreamResponse {
    let result = match (method.as_str(), template, name) {
        ("GET", "/channels", _) => list(api).await,
        ("POST", "/channels", _) => create(api, body).await,
        ("GET", "/channels/{name}", Some(name)) => read(api, name).await,
        ("PATCH", "/channels/{name}", Some(name)) => update(api, name, body).await,
        ("DELETE", "/channels/{name}", Some(name)) => delete(api, name).await,
        ("POST", "/channels/{name}/rotate-key", Some(name)) => rotate(api, name).await,
        ("POST", "/channels/{name}/kick", Some(name)) => kick(api, name).await,
        _ => return error(StatusCode::NOT_FOUND, "no such API route"),
    };
    result.unwrap_or_else(|r| r)
}

type Answer = Result<UpstreamResponse, UpstreamResponse>;

fn catalog_error(e: CatalogError) -> UpstreamResponse {
    match e {
        CatalogError::ChannelExists(name) => error(
            StatusCode::CONFLICT,
            &format!("channel {name:?} exists already"),
        ),
        CatalogError::StreamKeyTaken => error(StatusCode::CONFLICT, &e.to_string()),
        other => {
            tracing::error!(error = %other, "catalog error in the API");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the catalog is unavailable",
            )
        }
    }
}

fn not_found(name: &str) -> UpstreamResponse {
    error(StatusCode::NOT_FOUND, &format!("no channel {name:?}"))
}

fn view(api: &ControlApi, record: ChannelRecord) -> ChannelView {
    let viewers = api.chat.connected(&record.name);
    let Some(channel) = api.channels.get(&record.name) else {
        return ChannelView {
            record,
            live: false,
            viewers,
            ingest: None,
        };
    };
    let state = channel.lock();
    let live = matches!(state.publisher, PublisherState::Live(_));
    let ingest = live.then(|| IngestView {
        bitrate_bps: channel.ingest_bits_per_second(now_ms()),
        tracks: state
            .stream
            .iter()
            .flat_map(|s| s.renditions())
            .map(|r| {
                let video = r.track.codec.video_info();
                let audio = r.track.codec.audio_info();
                TrackView {
                    rendition: r.name.clone(),
                    codec: r.track.codec.codec_string(),
                    width: video.map(|v| v.width),
                    height: video.map(|v| v.height),
                    sample_rate: audio.map(|a| a.sample_rate),
                    channels: audio.map(|a| a.channels),
                }
            })
            .collect(),
    });
    drop(state);
    ChannelView {
        record,
        live,
        viewers,
        ingest,
    }
}

fn check_title(title: &Option<String>) -> Result<(), UpstreamResponse> {
    match title {
        Some(t) if t.trim().is_empty() || t.chars().count() > MAX_TITLE_CHARS => Err(error(
            StatusCode::BAD_REQUEST,
            &format!("title must be 1-{MAX_TITLE_CHARS} characters"),
        )),
        _ => Ok(()),
    }
}

async fn list(api: &ControlApi) -> Answer {
    let records = api.catalog.channels().await.map_err(catalog_error)?;
    let views: Vec<_> = records.into_iter().map(|r| view(api, r)).collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "channels": views }),
    ))
}

async fn create(api: &ControlApi, body: Option<RequestBody>) -> Answer {
    let req: CreateChannel = parse_body(body).await?;
    if !is_valid_channel_name(&req.name) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "name must be 1-64 characters of a-z, A-Z, 0-9, '-' or '_'",
        ));
    }
    check_title(&req.title)?;
    let new = NewChannel {
        title: req.title.unwrap_or_else(|| req.name.clone()),
        name: req.name,
        playback: req.playback.unwrap_or(Playback::Public),
        stream_key: None,
        ladder: req.ladder.unwrap_or(api.ladder_default),
        record: req.record.unwrap_or(false),
    };
    let (record, key) = api
        .catalog
        .create_channel(new, now_ms() as i64)
        .await
        .map_err(catalog_error)?;
    tracing::info!(channel = %record.name, "channel created through the API");
    let mut value = serde_json::to_value(view(api, record)).unwrap_or_default();
    value["stream_key"] = key.into();
    Ok(json(StatusCode::CREATED, &value))
}

async fn read(api: &ControlApi, name: &str) -> Answer {
    match api.catalog.channel(name).await.map_err(catalog_error)? {
        Some(record) => Ok(json(StatusCode::OK, &view(api, record))),
        None => Err(not_found(name)),
    }
}

async fn update(api: &ControlApi, name: &str, body: Option<RequestBody>) -> Answer {
    let req: PatchChannel = parse_body(body).await?;
    check_title(&req.title)?;
    let update = ChannelUpdate {
        title: req.title,
        playback: req.playback,
        chat_anonymous: req.chat_anonymous,
        ladder: req.ladder,
        record: req.record,
    };
    match api
        .catalog
        .update_channel(name, update, now_ms() as i64)
        .await
        .map_err(catalog_error)?
    {
        Some(record) => {
            if let Some(live) = api.channels.get(&record.name) {
                live.set_token_required(record.playback == Playback::Token);
            }
            Ok(json(StatusCode::OK, &view(api, record)))
        }
        None => Err(not_found(name)),
    }
}

async fn delete(api: &ControlApi, name: &str) -> Answer {
    if api
        .catalog
        .delete_channel(name)
        .await
        .map_err(catalog_error)?
    {
        tracing::info!(channel = %name, "channel deleted through the API");
        Ok(no_content())
    } else {
        Err(not_found(name))
    }
}

async fn rotate(api: &ControlApi, name: &str) -> Answer {
    match api
        .catalog
        .rotate_stream_key(name, now_ms() as i64)
        .await
        .map_err(catalog_error)?
    {
        Some(key) => {
            tracing::info!(channel = %name, "stream key rotated through the API");
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({ "name": name, "stream_key": key }),
            ))
        }
        None => Err(not_found(name)),
    }
}

async fn kick(api: &ControlApi, name: &str) -> Answer {
    if api
        .catalog
        .channel(name)
        .await
        .map_err(catalog_error)?
        .is_none()
    {
        return Err(not_found(name));
    }
    match api.channels.get(name).and_then(|c| c.kick()) {
        Some(session) => {
            tracing::info!(channel = %name, session, "publisher kicked through the API");
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({ "name": name, "kicked": true }),
            ))
        }
        None => Err(error(
            StatusCode::CONFLICT,
            &format!("channel {name:?} has no publisher"),
        )),
    }
}

//! The tus requests: creation, HEAD, PATCH (streamed to disk), termination, and
//! the completion that turns an upload into an asset.

use std::collections::BTreeMap;
use std::time::Duration;

use edge::pipeline::RequestBody;
use edge::upstream::UpstreamResponse;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;

use super::store::{is_disk_full, UploadGuard, UploadInfo};
use super::tus::{self, TusFieldError};
use super::{answer, with, Uploads, ASSET_HEADER, UPLOADS_PATH};
use crate::catalog::asset_store::{new_asset_id, normalise_tags};
use crate::catalog::{AssetOrigin, AssetStatus, NewAsset};
use crate::clock::now_ms;

/// Longest pause between two frames of a PATCH body before the request ends (what
/// arrived is kept).
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 5000;

fn field<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn bad_field(e: TusFieldError) -> UpstreamResponse {
    answer(StatusCode::BAD_REQUEST, &e.to_string())
}

/// Title, description and tags from `Upload-Metadata` (`title`, else `filename`;
/// `tags` comma-separated), validated.
fn describe(metadata: &BTreeMap<String, String>) -> Result<(String, String, Vec<String>), String> {
    let title = metadata
        .get("title")
        .or_else(|| metadata.get("filename"))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "Untitled".to_owned());
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(format!("title longer than {MAX_TITLE_CHARS} characters"));
    }
    let description = metadata.get("description").cloned().unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(format!(
            "description longer than {MAX_DESCRIPTION_CHARS} characters"
        ));
    }
    let raw: Vec<String> = metadata
        .get("tags")
        .map(|t| t.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    Ok((title, description, normalise_tags(&raw)?))
}

fn expired(info: &UploadInfo, now_ms: u64) -> bool {
    info.asset.is_none() && info.expires_ms <= now_ms
}

impl Uploads {
    fn io_failure(&self, e: &std::io::Error, doing: &str) -> UpstreamResponse {
        if is_disk_full(e) {
            self.metrics.failed.with_label_values(&["disk_full"]).inc();
            tracing::error!(error = %e, "upload: disk full while {doing}");
            answer(
                StatusCode::INSUFFICIENT_STORAGE,
                &format!("the server's disk is full ({doing}); try again later"),
            )
        } else {
            self.metrics.failed.with_label_values(&["io"]).inc();
            tracing::error!(error = %e, "upload: I/O error while {doing}");
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("storage error while {doing}"),
            )
        }
    }

    /// Locks and reads `id`; the error answer when it is busy, missing or expired
    /// (an expired one is deleted on the way).
    async fn open(&self, id: &str) -> Result<(UploadGuard, UploadInfo, u64), UpstreamResponse> {
        let Some(guard) = self.store.lock(id).await else {
            return Err(answer(
                StatusCode::LOCKED,
                "another request is using this upload; retry",
            ));
        };
        match self.store.read(&guard).await {
            Ok(Some((info, offset))) if expired(&info, now_ms()) => {
                let _ = offset;
                if self.store.remove(&guard).await.is_ok() {
                    self.metrics.failed.with_label_values(&["expired"]).inc();
                }
                Err(answer(StatusCode::NOT_FOUND, "this upload has expired"))
            }
            Ok(Some((info, offset))) => Ok((guard, info, offset)),
            Ok(None) => {
                self.store.forget_lock(&guard);
                Err(answer(StatusCode::NOT_FOUND, "no such upload"))
            }
            Err(e) => Err(self.io_failure(&e, "reading the upload")),
        }
    }

    /// `POST /uploads` ("Creation").
    pub(super) async fn create(&self, headers: &HeaderMap) -> UpstreamResponse {
        if headers.contains_key("upload-defer-length") {
            return answer(
                StatusCode::BAD_REQUEST,
                "Upload-Defer-Length is not supported: send Upload-Length",
            );
        }
        let length = match tus::parse_number("Upload-Length", field(headers, "upload-length")) {
            Ok(0) => return answer(StatusCode::BAD_REQUEST, "Upload-Length must be at least 1"),
            Ok(n) => n,
            Err(e) => return bad_field(e),
        };
        if length > self.max_bytes {
            self.metrics.failed.with_label_values(&["too_large"]).inc();
            return answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "Upload-Length {length} is over the limit of {} bytes",
                    self.max_bytes
                ),
            );
        }
        let metadata = match tus::parse_metadata(field(headers, "upload-metadata")) {
            Ok(m) => m,
            Err(e) => return bad_field(e),
        };
        if let Err(why) = describe(&metadata) {
            return answer(StatusCode::BAD_REQUEST, &why);
        }
        let now = now_ms();
        let info = UploadInfo {
            length,
            metadata,
            created_ms: now,
            expires_ms: now + self.expire.as_millis() as u64,
            asset: None,
        };
        match self.store.create(&info).await {
            Ok(id) => {
                self.metrics.started.inc();
                tracing::info!(upload = %id, length, "upload created");
                let r = answer(StatusCode::CREATED, "");
                let r = with(r, "location", &format!("{UPLOADS_PATH}/{id}"));
                with(r, "upload-expires", &tus::http_date(info.expires_ms))
            }
            Err(e) => self.io_failure(&e, "creating the upload"),
        }
    }

    /// `HEAD /uploads/{id}` (core "HEAD"). An upload whose bytes are all there but
    /// whose asset could not be made (the catalog failed) is completed now: a client
    /// seeing offset = length stops sending, so this is the last chance.
    pub(super) async fn head(&self, id: &str) -> UpstreamResponse {
        let (guard, mut info, offset) = match self.open(id).await {
            Ok(o) => o,
            Err(r) => return r,
        };
        if offset == info.length && info.asset.is_none() {
            match self.complete(&guard, info.clone()).await {
                Ok(asset) => info.asset = Some(asset),
                Err(r) => return r,
            }
        }
        let mut r = answer(StatusCode::OK, "");
        r = with(r, "upload-offset", &offset.to_string());
        r = with(r, "upload-length", &info.length.to_string());
        if !info.metadata.is_empty() {
            r = with(r, "upload-metadata", &tus::encode_metadata(&info.metadata));
        }
        match &info.asset {
            Some(asset) => with(r, ASSET_HEADER, asset),
            None => with(r, "upload-expires", &tus::http_date(info.expires_ms)),
        }
    }

    /// `DELETE /uploads/{id}` ("Termination"). A completed upload's asset stays.
    pub(super) async fn delete(&self, id: &str) -> UpstreamResponse {
        let (guard, info, _) = match self.open(id).await {
            Ok(o) => o,
            Err(r) => return r,
        };
        if let Err(e) = self.store.remove(&guard).await {
            return self.io_failure(&e, "deleting the upload");
        }
        if info.asset.is_none() {
            self.metrics.failed.with_label_values(&["terminated"]).inc();
        }
        tracing::info!(upload = %id, "upload terminated");
        answer(StatusCode::NO_CONTENT, "")
    }

    /// `PATCH /uploads/{id}` (core "PATCH").
    pub(super) async fn patch(
        &self,
        id: &str,
        headers: &HeaderMap,
        body: Option<RequestBody>,
    ) -> UpstreamResponse {
        if !tus::is_offset_octet_stream(field(headers, "content-type")) {
            return answer(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!("Content-Type must be {}", tus::OFFSET_OCTET_STREAM),
            );
        }
        let offset = match tus::parse_number("Upload-Offset", field(headers, "upload-offset")) {
            Ok(n) => n,
            Err(e) => return bad_field(e),
        };
        let (guard, mut info, current) = match self.open(id).await {
            Ok(o) => o,
            Err(r) => return r,
        };
        if offset != current {
            return with(
                answer(
                    StatusCode::CONFLICT,
                    &format!("Upload-Offset {offset} is not the upload's offset {current}"),
                ),
                "upload-offset",
                &current.to_string(),
            );
        }
        if let Some(asset) = &info.asset {
            let r = with(
                answer(StatusCode::NO_CONTENT, ""),
                "upload-offset",
                &current.to_string(),
            );
            return with(r, ASSET_HEADER, asset);
        }
        let declared = field(headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| offset + n > info.length) {
            self.metrics.failed.with_label_values(&["too_large"]).inc();
            return answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("this PATCH would go past Upload-Length {}", info.length),
            );
        }
        let (new_offset, failure) = if current < info.length {
            match self.receive(&guard, &info, offset, body).await {
                Ok(n) => (n, None),
                Err((n, r)) => (n, Some(r)),
            }
        } else {
            // Complete but not yet an asset (the catalog failed last time).
            (current, None)
        };
        info.expires_ms = now_ms() + self.expire.as_millis() as u64;
        if let Err(e) = self.store.write_info(id, &info).await {
            // The bytes are safe; only the expiry did not move.
            tracing::warn!(upload = %id, error = %e, "cannot update the upload's expiry");
        }
        if let Some(r) = failure {
            return with(r, "upload-offset", &new_offset.to_string());
        }
        if new_offset == info.length {
            return match self.complete(&guard, info).await {
                Ok(asset) => {
                    let r = with(
                        answer(StatusCode::NO_CONTENT, ""),
                        "upload-offset",
                        &new_offset.to_string(),
                    );
                    with(r, ASSET_HEADER, &asset)
                }
                Err(r) => with(r, "upload-offset", &new_offset.to_string()),
            };
        }
        let r = with(
            answer(StatusCode::NO_CONTENT, ""),
            "upload-offset",
            &new_offset.to_string(),
        );
        with(r, "upload-expires", &tus::http_date(info.expires_ms))
    }

    /// Streams the body to the partial file; the durable offset afterwards, or that
    /// offset and the error answer.
    async fn receive(
        &self,
        guard: &UploadGuard,
        info: &UploadInfo,
        offset: u64,
        body: Option<RequestBody>,
    ) -> Result<u64, (u64, UpstreamResponse)> {
        let mut body = match body.unwrap_or_else(RequestBody::empty).take_stream() {
            Ok(b) => b,
            Err(e) => return Err((offset, answer(StatusCode::BAD_REQUEST, &e.to_string()))),
        };
        let mut part = match self.store.open_at(guard, offset).await {
            Ok(p) => p,
            Err(e) => return Err((offset, self.io_failure(&e, "opening the upload"))),
        };
        let room = info.length - offset;
        let ending: Option<UpstreamResponse> = loop {
            let frame = match tokio::time::timeout(BODY_IDLE_TIMEOUT, body.frame()).await {
                Err(_) => {
                    break Some(answer(
                        StatusCode::REQUEST_TIMEOUT,
                        "no body data for too long; what arrived is kept",
                    ))
                }
                Ok(None) => break None,
                Ok(Some(Err(e))) => {
                    // The client went away: keep what arrived, it resumes from there.
                    tracing::info!(upload = %guard.id, error = %e, "upload body ended early");
                    break Some(answer(StatusCode::BAD_REQUEST, "request body broken off"));
                }
                Ok(Some(Ok(frame))) => frame,
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if part.written() + data.len() as u64 > room {
                let start = part.discard().await;
                self.metrics.failed.with_label_values(&["too_large"]).inc();
                return Err((
                    start,
                    answer(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &format!("this PATCH goes past Upload-Length {}", info.length),
                    ),
                ));
            }
            if let Err(e) = part.write(&data).await {
                let durable = part.salvage().await;
                self.metrics.bytes.inc_by(durable - offset);
                return Err((durable, self.io_failure(&e, "storing the upload")));
            }
        };
        let (durable, error) = part.finish().await;
        self.metrics.bytes.inc_by(durable - offset);
        match (error, ending) {
            (Some(e), _) => Err((durable, self.io_failure(&e, "storing the upload"))),
            (None, Some(r)) => Err((durable, r)),
            (None, None) => Ok(durable),
        }
    }

    /// The upload is complete: move it into a new asset, queue its job, wake the
    /// runner; the asset id, or the error answer. On a catalog failure nothing is left
    /// half-made: the file goes back, and a later PATCH (offset = length, empty body)
    /// or HEAD tries again.
    async fn complete(
        &self,
        guard: &UploadGuard,
        mut info: UploadInfo,
    ) -> Result<String, UpstreamResponse> {
        let (title, description, tags) =
            describe(&info.metadata).map_err(|why| answer(StatusCode::BAD_REQUEST, &why))?;
        let asset_id = new_asset_id();
        if let Err(e) = self.store.move_to_asset(guard, &asset_id).await {
            return Err(self.io_failure(&e, "moving the upload into its asset"));
        }
        let new = NewAsset {
            id: asset_id.clone(),
            title,
            description,
            tags,
            source_name: info.metadata.get("filename").cloned().unwrap_or_default(),
            size_bytes: info.length as i64,
            origin: AssetOrigin::Upload,
            channel: None,
            status: AssetStatus::Uploaded,
        };
        if let Err(e) = self.catalog.create_asset_with_job(new).await {
            tracing::error!(upload = %guard.id, error = %e, "cannot create the asset of an upload");
            if let Err(e) = self.store.move_back(guard, &asset_id).await {
                tracing::error!(upload = %guard.id, error = %e, "cannot move an upload back");
            }
            self.metrics.failed.with_label_values(&["catalog"]).inc();
            return Err(answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "the catalog is unavailable; PATCH again with the same offset (or HEAD) to finish",
            ));
        }
        info.asset = Some(asset_id.clone());
        if let Err(e) = self.store.write_info(&guard.id, &info).await {
            tracing::warn!(upload = %guard.id, error = %e, "cannot record an upload's asset");
        }
        self.jobs.notify_one();
        self.metrics.completed.inc();
        tracing::info!(upload = %guard.id, asset = %asset_id, bytes = info.length, "upload complete");
        Ok(asset_id)
    }
}

#[cfg(test)]
#[path = "handlers_tests.rs"]
mod tests;

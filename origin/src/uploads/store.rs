//! Unfinished uploads on disk, in `{data_dir}/uploads/`:
//!
//! - `{id}.part`: the bytes received so far, in order. Its length *is* the upload's
//!   offset: every PATCH ends with `fdatasync` (then the length is durable) or, when
//!   even that fails, with a truncation back to where the PATCH started. There is no
//!   other state to keep in step, so a restart resumes exactly where the disk is.
//! - `{id}.info`: JSON [`UploadInfo`] (declared length, metadata, expiry, and once
//!   complete the asset it became), replaced atomically (write + rename).
//!
//! One upload is changed by one request at a time: each id has an async lock, held
//! for the whole of a PATCH, DELETE or HEAD; a request that cannot get it within
//! [`LOCK_WAIT`] is answered 423 Locked (tus clients retry that).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::vod::paths::SOURCE_FILE;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

/// How long a request waits for another request on the same upload.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);
/// Characters of an upload id (`[a-z0-9]`).
pub const UPLOAD_ID_LEN: usize = 24;

/// What is known about an upload besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadInfo {
    /// `Upload-Length`: the declared size.
    pub length: u64,
    /// `Upload-Metadata`, decoded.
    pub metadata: BTreeMap<String, String>,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: u64,
    /// When it expires (last write + `[uploads] expire_s`), ms since the Unix epoch.
    pub expires_ms: u64,
    /// The asset it became, once complete.
    pub asset: Option<String>,
}

/// Whether `id` can be an upload id (checked before it becomes a path).
pub fn is_upload_id(id: &str) -> bool {
    id.len() == UPLOAD_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The uploads directory and the per-upload locks.
#[derive(Debug)]
pub struct UploadStore {
    dir: PathBuf,
    vod_dir: PathBuf,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Exclusive access to one upload while held.
pub struct UploadGuard {
    _guard: tokio::sync::OwnedMutexGuard<()>,
    /// The upload id.
    pub id: String,
}

impl UploadStore {
    /// Uploads in `{data_dir}/uploads`, finished sources moved to `{data_dir}/vod`.
    pub fn new(data_dir: &Path) -> std::io::Result<Self> {
        let dir = data_dir.join("uploads");
        let vod_dir = crate::vod::paths::vod_root(data_dir);
        std::fs::create_dir_all(&dir)?;
        std::fs::create_dir_all(&vod_dir)?;
        Ok(Self {
            dir,
            vod_dir,
            locks: Mutex::new(HashMap::new()),
        })
    }

    /// The directory of unfinished uploads.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `{data_dir}/vod/{asset}`.
    pub fn asset_dir(&self, asset: &str) -> PathBuf {
        self.vod_dir.join(asset)
    }

    /// The partial file of `id`.
    pub fn part_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.part"))
    }

    fn info_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.info"))
    }

    /// Locks upload `id`, waiting at most [`LOCK_WAIT`]; `None` when it stays busy.
    pub async fn lock(&self, id: &str) -> Option<UploadGuard> {
        let lock = self
            .locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id.to_owned())
            .or_default()
            .clone();
        let guard = tokio::time::timeout(LOCK_WAIT, lock.lock_owned())
            .await
            .ok()?;
        Some(UploadGuard {
            _guard: guard,
            id: id.to_owned(),
        })
    }

    /// Locks `id` only if nobody holds it (the sweeper never waits).
    pub fn try_lock(&self, id: &str) -> Option<UploadGuard> {
        let lock = self
            .locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id.to_owned())
            .or_default()
            .clone();
        let guard = lock.try_lock_owned().ok()?;
        Some(UploadGuard {
            _guard: guard,
            id: id.to_owned(),
        })
    }

    /// Forgets the lock of an upload that no longer exists, unless another request
    /// waits for it (the map and `guard` hold the only two references), so ids asked
    /// for in vain do not pile up.
    pub fn forget_lock(&self, guard: &UploadGuard) {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        if locks
            .get(&guard.id)
            .is_some_and(|l| Arc::strong_count(l) <= 2)
        {
            locks.remove(&guard.id);
        }
    }

    /// Creates upload files for a new id; returns the id.
    pub async fn create(&self, info: &UploadInfo) -> std::io::Result<String> {
        let id = random_id();
        tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.part_path(&id))
            .await?;
        if let Err(e) = self.write_info(&id, info).await {
            let _ = tokio::fs::remove_file(self.part_path(&id)).await;
            return Err(e);
        }
        Ok(id)
    }

    /// The info and the current offset (the partial file's length) of a locked
    /// upload; `None` when it does not exist.
    pub async fn read(&self, guard: &UploadGuard) -> std::io::Result<Option<(UploadInfo, u64)>> {
        let text = match tokio::fs::read(self.info_path(&guard.id)).await {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let info: UploadInfo = serde_json::from_slice(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let offset = match tokio::fs::metadata(self.part_path(&guard.id)).await {
            Ok(m) => m.len(),
            // Completed: the bytes moved to the asset.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && info.asset.is_some() => {
                info.length
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some((info, offset)))
    }

    /// Replaces the info file atomically.
    pub async fn write_info(&self, id: &str, info: &UploadInfo) -> std::io::Result<()> {
        let tmp = self.dir.join(format!("{id}.info.tmp"));
        let text = serde_json::to_vec(info).map_err(std::io::Error::other)?;
        tokio::fs::write(&tmp, text).await?;
        tokio::fs::rename(&tmp, self.info_path(id)).await
    }

    /// Opens the partial file for writing at `offset`, cutting off anything beyond it.
    pub async fn open_at(&self, guard: &UploadGuard, offset: u64) -> std::io::Result<PartFile> {
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(self.part_path(&guard.id))
            .await?;
        if file.metadata().await?.len() != offset {
            file.set_len(offset).await?;
        }
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        Ok(PartFile {
            file,
            start: offset,
            written: 0,
        })
    }

    /// Moves a complete upload's bytes to `{data_dir}/vod/{asset}/source`
    /// ([`SOURCE_FILE`]).
    pub async fn move_to_asset(
        &self,
        guard: &UploadGuard,
        asset: &str,
    ) -> std::io::Result<PathBuf> {
        let dir = self.asset_dir(asset);
        tokio::fs::create_dir_all(&dir).await?;
        let source = dir.join(SOURCE_FILE);
        if let Err(e) = tokio::fs::rename(self.part_path(&guard.id), &source).await {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(e);
        }
        Ok(source)
    }

    /// Undoes [`UploadStore::move_to_asset`] (the catalog refused the asset).
    pub async fn move_back(&self, guard: &UploadGuard, asset: &str) -> std::io::Result<()> {
        let dir = self.asset_dir(asset);
        tokio::fs::rename(dir.join(SOURCE_FILE), self.part_path(&guard.id)).await?;
        tokio::fs::remove_dir_all(&dir).await
    }

    /// Seconds since the partial file of `id` was last written (orphans without an
    /// info file are swept by age).
    pub async fn part_age(&self, id: &str) -> Option<Duration> {
        let modified = tokio::fs::metadata(self.part_path(id))
            .await
            .ok()?
            .modified()
            .ok()?;
        modified.elapsed().ok()
    }

    /// Deletes the upload's files (termination, expiry).
    pub async fn remove(&self, guard: &UploadGuard) -> std::io::Result<()> {
        let tmp = self.dir.join(format!("{}.info.tmp", guard.id));
        for path in [self.part_path(&guard.id), self.info_path(&guard.id), tmp] {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        self.forget_lock(guard);
        Ok(())
    }

    /// Every upload id with files in the directory (for the sweeper).
    pub async fn list(&self) -> std::io::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut entries = tokio::fs::read_dir(&self.dir).await?;
        while let Some(e) = entries.next_entry().await? {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            let id = name.split('.').next().unwrap_or("");
            if is_upload_id(id) && !out.iter().any(|o| o == id) {
                out.push(id.to_owned());
            }
        }
        Ok(out)
    }
}

/// A partial file open for a PATCH.
pub struct PartFile {
    file: tokio::fs::File,
    start: u64,
    written: u64,
}

impl PartFile {
    /// Appends `data`.
    pub async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.file.write_all(data).await?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Makes what was written durable and returns the new offset. When the flush or
    /// `fdatasync` fails (disk full), keeps what the disk holds if it can be synced,
    /// else truncates back to the PATCH's start; the offset is then what is durable.
    pub async fn finish(mut self) -> (u64, Option<std::io::Error>) {
        let result = async {
            self.file.flush().await?;
            self.file.sync_data().await
        }
        .await;
        match result {
            Ok(()) => (self.start + self.written, None),
            Err(e) => (self.salvage().await, Some(e)),
        }
    }

    /// After a failed write: the offset that is durable now.
    pub async fn salvage(&mut self) -> u64 {
        let _ = self.file.flush().await;
        if self.file.sync_data().await.is_ok() {
            if let Ok(m) = self.file.metadata().await {
                // Bytes reach the file in order, so whatever it holds is a prefix of
                // what the client sent.
                return m.len().clamp(self.start, self.start + self.written);
            }
        }
        let _ = self.file.set_len(self.start).await;
        let _ = self.file.sync_data().await;
        self.start
    }

    /// Drops everything this PATCH wrote (it went past the declared length); the
    /// offset afterwards.
    pub async fn discard(&mut self) -> u64 {
        let _ = self.file.flush().await;
        let _ = self.file.set_len(self.start).await;
        let _ = self.file.sync_data().await;
        self.start
    }

    /// Bytes written by this PATCH so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

/// Whether `e` means the disk (or the quota) is full.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

fn random_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..UPLOAD_ID_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;

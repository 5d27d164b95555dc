//! VOD asset queries: create, read, list and search, update, count views, delete.
//!
//! Full-text search over title, description and tags differs per database, so its
//! index is created in code after the migrations ([`create_search_index`]):
//!
//! - **SQLite**: an FTS5 external-content table `assets_fts` (tokenizer
//!   `porter unicode61`: case- and accent-insensitive, English stemming) kept in step
//!   with `assets` by three triggers, the pattern of the SQLite FTS5 documentation
//!   §4.4.3 ("External Content Tables"). Queries are ranked by bm25.
//! - **PostgreSQL**: a GIN index on `to_tsvector('english', title || ' ' ||
//!   description || ' ' || tags)`, queried with `plainto_tsquery('english', $q)` and
//!   ranked by `ts_rank` (PostgreSQL manual §12.2.2, §12.3.2).
//!
//! Both treat the user's text as plain words that must all match: FTS5 gets each word
//! double-quoted (no operators from user input), PostgreSQL's `plainto_tsquery`
//! ignores punctuation and operators by design.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Executor, Row};

use super::{Backend, Catalog, CatalogError};

/// Where an asset is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetStatus {
    /// The source file is stored; a job is queued.
    Uploaded,
    /// A job is transcoding and packaging it.
    Processing,
    /// Playable.
    Ready,
    /// Processing failed; see the reason.
    Failed,
}

impl AssetStatus {
    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetStatus::Uploaded => "uploaded",
            AssetStatus::Processing => "processing",
            AssetStatus::Ready => "ready",
            AssetStatus::Failed => "failed",
        }
    }

    /// The status called `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "uploaded" => AssetStatus::Uploaded,
            "processing" => AssetStatus::Processing,
            "ready" => AssetStatus::Ready,
            "failed" => AssetStatus::Failed,
            _ => return None,
        })
    }
}

/// Where an asset came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetOrigin {
    /// A tus upload.
    Upload,
    /// A recorded live stream (live-to-VOD).
    Live,
}

impl AssetOrigin {
    fn as_str(self) -> &'static str {
        match self {
            AssetOrigin::Upload => "upload",
            AssetOrigin::Live => "live",
        }
    }
}

/// An asset as the catalog stores it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetRecord {
    /// 16 characters of `[a-z0-9]`; also the directory `{data_dir}/vod/{id}`.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Free text.
    pub description: String,
    /// Tags (see [`normalise_tags`]).
    pub tags: Vec<String>,
    /// Where it is in its life.
    pub status: AssetStatus,
    /// Why it failed.
    pub reason: Option<String>,
    /// The uploaded file's name (display only).
    pub source_name: String,
    /// Size of the source file in bytes.
    pub size_bytes: i64,
    /// Duration once probed.
    pub duration_s: Option<f64>,
    /// Width of the tallest rendition (the source's), once probed.
    pub width: Option<i64>,
    /// Height, likewise.
    pub height: Option<i64>,
    /// RFC 6381 codec strings.
    pub codecs: Option<String>,
    /// The renditions as JSON text (written by the job runner).
    #[serde(skip)]
    pub renditions_json: Option<String>,
    /// Views counted by the player page.
    pub views: i64,
    /// Upload or live-to-VOD.
    pub origin: AssetOrigin,
    /// The live channel it was recorded from.
    pub channel: Option<String>,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last change, ms since the Unix epoch.
    pub updated_ms: i64,
}

/// An asset to create.
#[derive(Debug, Clone)]
pub struct NewAsset {
    /// The id, made with [`new_asset_id`] (the caller needs it first, for the
    /// directory the source is moved into).
    pub id: String,
    /// Display title.
    pub title: String,
    /// Free text.
    pub description: String,
    /// Tags, normalised with [`normalise_tags`].
    pub tags: Vec<String>,
    /// The source file's name.
    pub source_name: String,
    /// Its size.
    pub size_bytes: i64,
    /// Upload or live.
    pub origin: AssetOrigin,
    /// The channel, for live-to-VOD.
    pub channel: Option<String>,
    /// Initial status: [`AssetStatus::Uploaded`] for uploads.
    pub status: AssetStatus,
}

/// What the job runner learnt about the media.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssetMedia {
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Width of the source / tallest rendition.
    pub width: Option<i64>,
    /// Height, likewise.
    pub height: Option<i64>,
    /// RFC 6381 codec strings, comma-separated.
    pub codecs: Option<String>,
    /// JSON array of the renditions.
    pub renditions_json: Option<String>,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AssetUpdate {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New tags (normalised).
    pub tags: Option<Vec<String>>,
}

/// A listing or search.
#[derive(Debug, Clone, Default)]
pub struct AssetQuery {
    /// Full-text search words (all must match); `None` or no words: no search.
    pub q: Option<String>,
    /// Only assets with this tag.
    pub tag: Option<String>,
    /// Only assets with this status.
    pub status: Option<AssetStatus>,
    /// At most this many ([`MAX_LIST_LIMIT`] at most).
    pub limit: u32,
    /// Skip this many.
    pub offset: u32,
}

/// Most assets one listing returns.
pub const MAX_LIST_LIMIT: u32 = 200;
/// Most tags per asset.
pub const MAX_TAGS: usize = 16;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 40;
/// Length of a generated asset id.
pub const ASSET_ID_LEN: usize = 16;

/// A fresh random asset id: [`ASSET_ID_LEN`] characters of `[a-z0-9]`.
pub fn new_asset_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..ASSET_ID_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Whether `id` can be an asset id (checked before it becomes a path).
pub fn is_asset_id(id: &str) -> bool {
    (12..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Tags as stored: trimmed, lower-case, duplicates dropped, order kept. A tag is 1 to
/// [`MAX_TAG_CHARS`] letters, digits, `-`, `.` or spaces; anything else (commas,
/// `%`, `_`) is refused so a tag can never act as a LIKE pattern.
pub fn normalise_tags(raw: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for t in raw {
        let t = t.trim().to_lowercase();
        if t.is_empty() {
            continue;
        }
        if t.chars().count() > MAX_TAG_CHARS
            || !t
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.' || c == ' ')
        {
            return Err(format!(
                "tag {t:?}: 1-{MAX_TAG_CHARS} letters, digits, '-', '.' or spaces"
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags"));
    }
    Ok(out)
}

fn tags_column(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!(",{},", tags.join(","))
    }
}

/// The words of a search, each double-quoted for FTS5 (so user text is never FTS5
/// syntax): `cats & "dogs"` → `"cats" "dogs"` (implicit AND).
pub fn fts5_query(q: &str) -> Option<String> {
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\""))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// The PostgreSQL document the search index and the search use (must be the same
/// expression for the GIN index to apply).
const PG_DOCUMENT: &str =
    "to_tsvector('english', title || ' ' || description || ' ' || replace(tags, ',', ' '))";

/// Creates the full-text index for `backend` if missing (after the migrations).
pub(crate) async fn create_search_index(
    pool: &AnyPool,
    backend: Backend,
) -> Result<(), CatalogError> {
    match backend {
        Backend::Sqlite => {
            let exists: Option<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'assets_fts'",
            )
            .fetch_optional(pool)
            .await?;
            if exists.is_some() {
                return Ok(());
            }
            // §4.4.3: the triggers keep an external-content index in step; the
            // 'delete' command needs the old values.
            pool.execute(
                "CREATE VIRTUAL TABLE assets_fts USING fts5(title, description, tags, \
                     content='assets', content_rowid='rowid', tokenize='porter unicode61'); \
                 CREATE TRIGGER assets_fts_insert AFTER INSERT ON assets BEGIN \
                     INSERT INTO assets_fts (rowid, title, description, tags) \
                     VALUES (new.rowid, new.title, new.description, new.tags); END; \
                 CREATE TRIGGER assets_fts_delete AFTER DELETE ON assets BEGIN \
                     INSERT INTO assets_fts (assets_fts, rowid, title, description, tags) \
                     VALUES ('delete', old.rowid, old.title, old.description, old.tags); END; \
                 CREATE TRIGGER assets_fts_update AFTER UPDATE OF title, description, tags \
                     ON assets BEGIN \
                     INSERT INTO assets_fts (assets_fts, rowid, title, description, tags) \
                     VALUES ('delete', old.rowid, old.title, old.description, old.tags); \
                     INSERT INTO assets_fts (rowid, title, description, tags) \
                     VALUES (new.rowid, new.title, new.description, new.tags); END; \
                 INSERT INTO assets_fts (assets_fts) VALUES ('rebuild');",
            )
            .await?;
        }
        Backend::Postgres => {
            pool.execute(
                format!(
                    "CREATE INDEX IF NOT EXISTS assets_search ON assets USING GIN ({PG_DOCUMENT})"
                )
                .as_str(),
            )
            .await?;
        }
    }
    Ok(())
}

const COLUMNS: &str = "a.id, a.title, a.description, a.tags, a.status, a.reason, a.source_name, \
     a.size_bytes, a.duration_s, a.width, a.height, a.codecs, a.renditions, a.views, a.origin, \
     a.channel, a.created_ms, a.updated_ms";

fn record(row: &AnyRow) -> Result<AssetRecord, CatalogError> {
    let status: String = row.try_get("status")?;
    let origin: String = row.try_get("origin")?;
    let tags: String = row.try_get("tags")?;
    Ok(AssetRecord {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        tags: tags
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        status: AssetStatus::parse(&status).ok_or(CatalogError::BadValue {
            column: "assets.status",
            value: status,
        })?,
        reason: row.try_get("reason")?,
        source_name: row.try_get("source_name")?,
        size_bytes: row.try_get("size_bytes")?,
        duration_s: row.try_get("duration_s")?,
        width: row.try_get("width")?,
        height: row.try_get("height")?,
        codecs: row.try_get("codecs")?,
        renditions_json: row.try_get("renditions")?,
        views: row.try_get("views")?,
        origin: match origin.as_str() {
            "upload" => AssetOrigin::Upload,
            "live" => AssetOrigin::Live,
            _ => {
                return Err(CatalogError::BadValue {
                    column: "assets.origin",
                    value: origin,
                })
            }
        },
        channel: row.try_get("channel")?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
    })
}

/// The `INSERT` of `new`.
fn insert_asset(
    new: &NewAsset,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments<'static>> {
    sqlx::query(
        "INSERT INTO assets (id, title, description, tags, status, source_name, size_bytes, \
         origin, channel, created_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(new.id.clone())
    .bind(new.title.clone())
    .bind(new.description.clone())
    .bind(tags_column(&new.tags))
    .bind(new.status.as_str())
    .bind(new.source_name.clone())
    .bind(new.size_bytes)
    .bind(new.origin.as_str())
    .bind(new.channel.clone())
    .bind(crate::clock::now_ms() as i64)
}

/// A value bound to a dynamically built query.
enum Bind {
    Text(String),
    Int(i64),
}

impl Catalog {
    /// Creates an asset.
    pub async fn create_asset(&self, new: NewAsset) -> Result<AssetRecord, CatalogError> {
        insert_asset(&new).execute(self.pool()).await?;
        self.asset(&new.id)
            .await?
            .ok_or_else(|| CatalogError::Database(sqlx::Error::RowNotFound))
    }

    /// Creates an asset and queues its transcode job in one transaction: either both
    /// exist afterwards or neither (a completed upload never leaves a job-less asset).
    pub async fn create_asset_with_job(
        &self,
        new: NewAsset,
    ) -> Result<(AssetRecord, super::JobRecord), CatalogError> {
        let mut tx = self.pool().begin().await?;
        insert_asset(&new).execute(&mut *tx).await?;
        let job = super::job_store::insert_job(&new.id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        let job = super::job_store::record(&job)?;
        let asset = self
            .asset(&new.id)
            .await?
            .ok_or_else(|| CatalogError::Database(sqlx::Error::RowNotFound))?;
        Ok((asset, job))
    }

    /// The asset `id`.
    pub async fn asset(&self, id: &str) -> Result<Option<AssetRecord>, CatalogError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM assets a WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(record)
            .transpose()
    }

    /// Assets matching `query`: by relevance when searching, else newest first.
    pub async fn list_assets(&self, query: AssetQuery) -> Result<Vec<AssetRecord>, CatalogError> {
        let mut binds: Vec<Bind> = Vec::new();
        let mut conditions: Vec<String> = Vec::new();
        let mut from = "assets a".to_owned();
        let mut order = "a.created_ms DESC, a.id".to_owned();
        let words = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if let Some(words) = words {
            match self.backend() {
                Backend::Sqlite => {
                    let Some(fts) = fts5_query(words) else {
                        return Ok(Vec::new());
                    };
                    binds.push(Bind::Text(fts));
                    from = format!(
                        "assets a JOIN (SELECT rowid AS r, rank AS score FROM assets_fts \
                         WHERE assets_fts MATCH ${}) m ON m.r = a.rowid",
                        binds.len()
                    );
                    order = "m.score, a.created_ms DESC".into();
                }
                Backend::Postgres => {
                    binds.push(Bind::Text(words.to_owned()));
                    let n = binds.len();
                    conditions.push(format!("{PG_DOCUMENT} @@ plainto_tsquery('english', ${n})"));
                    order = format!(
                        "ts_rank({PG_DOCUMENT}, plainto_tsquery('english', ${n})) DESC, \
                         a.created_ms DESC"
                    );
                }
            }
        }
        if let Some(tag) = &query.tag {
            let Ok(tag) = normalise_tags(std::slice::from_ref(tag)) else {
                return Ok(Vec::new());
            };
            let Some(tag) = tag.first() else {
                return Ok(Vec::new());
            };
            binds.push(Bind::Text(format!("%,{tag},%")));
            conditions.push(format!("a.tags LIKE ${}", binds.len()));
        }
        if let Some(status) = query.status {
            binds.push(Bind::Text(status.as_str().to_owned()));
            conditions.push(format!("a.status = ${}", binds.len()));
        }
        binds.push(Bind::Int(i64::from(query.limit.min(MAX_LIST_LIMIT))));
        let limit_n = binds.len();
        binds.push(Bind::Int(i64::from(query.offset)));
        let offset_n = binds.len();
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM {from} {where_clause} ORDER BY {order} \
             LIMIT ${limit_n} OFFSET ${offset_n}"
        );
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = match b {
                Bind::Text(s) => q.bind(s),
                Bind::Int(i) => q.bind(i),
            };
        }
        q.fetch_all(self.pool()).await?.iter().map(record).collect()
    }

    /// Changes title, description or tags; `None` when there is no such asset.
    pub async fn update_asset(
        &self,
        id: &str,
        update: AssetUpdate,
    ) -> Result<Option<AssetRecord>, CatalogError> {
        let done = sqlx::query(
            "UPDATE assets SET title = COALESCE($2, title), \
             description = COALESCE($3, description), tags = COALESCE($4, tags), \
             updated_ms = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(update.title)
        .bind(update.description)
        .bind(update.tags.as_deref().map(tags_column))
        .bind(crate::clock::now_ms() as i64)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.asset(id).await
    }

    /// Stores what probing and transcoding found; whether the asset exists.
    pub async fn update_asset_media(
        &self,
        id: &str,
        media: AssetMedia,
    ) -> Result<bool, CatalogError> {
        let done = sqlx::query(
            "UPDATE assets SET duration_s = $2, width = $3, height = $4, codecs = $5, \
             renditions = $6, updated_ms = $7 WHERE id = $1",
        )
        .bind(id)
        .bind(media.duration_s)
        .bind(media.width)
        .bind(media.height)
        .bind(media.codecs)
        .bind(media.renditions_json)
        .bind(crate::clock::now_ms() as i64)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Moves the asset to `status` (with the failure `reason`, cleared otherwise);
    /// whether it exists.
    pub async fn set_asset_status(
        &self,
        id: &str,
        status: AssetStatus,
        reason: Option<&str>,
    ) -> Result<bool, CatalogError> {
        let done = sqlx::query(
            "UPDATE assets SET status = $2, reason = $3, updated_ms = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(reason.map(str::to_owned))
        .bind(crate::clock::now_ms() as i64)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Adds one view; the new count, or `None` when there is no such asset.
    pub async fn count_view(&self, id: &str) -> Result<Option<i64>, CatalogError> {
        let row = sqlx::query("UPDATE assets SET views = views + 1 WHERE id = $1 RETURNING views")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| r.try_get::<i64, _>("views"))
            .transpose()
            .map_err(Into::into)
    }

    /// Deletes the asset and its jobs; whether it existed. The files under
    /// `{data_dir}/vod/{id}` are the caller's to remove.
    pub async fn delete_asset(&self, id: &str) -> Result<bool, CatalogError> {
        // Jobs first: PostgreSQL cascades, but SQLite only with foreign_keys on,
        // which a pool connection made before the pragma could miss.
        sqlx::query("DELETE FROM jobs WHERE asset_id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        let done = sqlx::query("DELETE FROM assets WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_url_safe_and_checked() {
        let id = new_asset_id();
        assert!(is_asset_id(&id), "{id}");
        assert_ne!(id, new_asset_id());
        assert!(!is_asset_id("../etc/passwd"));
        assert!(!is_asset_id("ABCDEFGHIJKLMN"));
        assert!(!is_asset_id("short"));
    }

    #[test]
    fn tags_are_normalised_and_never_patterns() {
        let raw = vec![
            " Cats ".into(),
            "cats".into(),
            "".into(),
            "live music".into(),
        ];
        assert_eq!(normalise_tags(&raw).unwrap(), vec!["cats", "live music"]);
        for bad in ["a,b", "100%", "a_b"] {
            assert!(normalise_tags(&[bad.into()]).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
        assert!(normalise_tags(&many).is_err());
    }

    #[test]
    fn fts5_queries_quote_every_word() {
        assert_eq!(
            fts5_query("cats AND \"dogs\" NEAR(x").as_deref(),
            Some("\"cats\" \"AND\" \"dogs\" \"NEAR\" \"x\"")
        );
        assert_eq!(fts5_query(" -- * "), None);
    }
}

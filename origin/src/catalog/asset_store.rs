//! VOD asset queries: create, read, list and search ([`super::asset_search`]),
//! update, count views, delete. The types are in [`super::asset_record`].

use sqlx::any::AnyRow;
use sqlx::Row;

use super::asset_record::tags_column;
pub use super::asset_record::*;
pub use super::asset_search::fts5_query;
use super::asset_search::PG_DOCUMENT;
use super::{Backend, Catalog, CatalogError};

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
#[path = "asset_store_tests.rs"]
mod tests;

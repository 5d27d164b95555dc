//! Full-text search over VOD assets: title, description and tags differs per database, so its
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

use sqlx::{AnyPool, Executor};

use super::{Backend, CatalogError};

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
pub(crate) const PG_DOCUMENT: &str =
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

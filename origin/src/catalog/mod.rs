//! The catalog: channels and their stream keys, VOD assets and jobs, kept in a
//! database.
//!
//! - **SQLite** is the embedded default: `[database] url = "sqlite://ferrocast.db"`
//!   names a file inside `[storage] data_dir`, opened in WAL mode so readers never
//!   wait for the writer.
//! - **PostgreSQL** when the URL is `postgres://…` (or `postgresql://…`).
//!
//! One set of migrations (`origin/migrations/`, portable SQL) and one set of queries
//! serve both through sqlx's `Any` driver. Queries use `$1, $2, …` placeholders,
//! which PostgreSQL requires and SQLite reads as numbered parameters.
//!
//! - [`stream_key`]: generating, hashing and comparing stream keys;
//! - [`channel_store`]: the channel queries ([`ChannelRecord`]);
//! - [`webhook_store`]: webhook subscriptions;
//! - [`database_url`]: where a configured URL points;
//! - [`asset_record`] (what an asset is), [`asset_store`] (its queries),
//!   [`asset_search`] (full-text search), [`job_store`]: VOD assets and their
//!   processing jobs (issue 7).
//!
//! Channels from `[[channels]]` are created at start when missing ([`Catalog::bootstrap`]);
//! from then on the catalog, not the config file, holds the keys.

pub mod asset_record;
pub mod asset_search;
pub mod asset_store;
pub mod channel_store;
pub mod database_url;
pub mod job_store;
pub mod stream_key;
pub mod webhook_store;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use channel_store::{ChannelRecord, ChannelUpdate, NewChannel, Playback};
pub use database_url::{Backend, DatabaseUrlError};
pub use webhook_store::WebhookRecord;
// VOD assets and jobs (issue 7).
pub use asset_store::{
    AssetMedia, AssetOrigin, AssetQuery, AssetRecord, AssetStatus, AssetUpdate, NewAsset,
};
pub use job_store::{JobRecord, JobState};

use crate::config::ChannelConfig;

/// Why a catalog operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// `[database] url` is not usable.
    #[error(transparent)]
    Url(#[from] DatabaseUrlError),
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A channel with this name exists already.
    #[error("channel {0:?} exists already")]
    ChannelExists(String),
    /// Another channel already uses this stream key.
    #[error("another channel already uses this stream key")]
    StreamKeyTaken,
    /// A stored value is not one this version understands.
    #[error("bad stored value in {column}: {value:?}")]
    BadValue {
        /// Where.
        column: &'static str,
        /// What was found.
        value: String,
    },
}

/// The catalog database.
#[derive(Debug, Clone)]
pub struct Catalog {
    pool: AnyPool,
    backend: Backend,
}

/// Connections per pool. SQLite serialises writers anyway; PostgreSQL gets a few.
const SQLITE_CONNECTIONS: u32 = 4;
const POSTGRES_CONNECTIONS: u32 = 8;
/// How long a writer waits for SQLite's lock before failing.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

impl Catalog {
    /// Connects to `url` (see [`database_url`]; relative SQLite paths are inside
    /// `data_dir`) and applies the migrations.
    pub async fn open(url: &str, data_dir: &Path) -> Result<Self, CatalogError> {
        sqlx::any::install_default_drivers();
        let target = database_url::resolve(url, data_dir)?;
        let options: AnyConnectOptions = target.connect_url.parse()?;
        let pool = match target.backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(SQLITE_CONNECTIONS)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(
                                format!(
                                    "PRAGMA journal_mode = WAL; \
                                     PRAGMA synchronous = NORMAL; \
                                     PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
                                     PRAGMA foreign_keys = ON;"
                                )
                                .as_str(),
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(POSTGRES_CONNECTIONS)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?
            }
        };
        sqlx::migrate!("./migrations").run(&pool).await?;
        // The full-text index differs per database (issue 7).
        asset_search::create_search_index(&pool, target.backend).await?;
        Ok(Self {
            pool,
            backend: target.backend,
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Creates each `[[channels]]` entry that does not exist yet (an existing channel
    /// keeps its catalog key, which may have been rotated). Returns the names created.
    pub async fn bootstrap(
        &self,
        channels: &[ChannelConfig],
        now_ms: i64,
    ) -> Result<Vec<String>, CatalogError> {
        let mut created = Vec::new();
        for c in channels {
            if self.channel(&c.name).await?.is_some() {
                continue;
            }
            let new = NewChannel {
                name: c.name.clone(),
                title: c.name.clone(),
                playback: Playback::Public,
                stream_key: Some(c.stream_key.clone()),
                // `Config::load` has resolved an absent `ladder` to `[ladder] live_default`.
                ladder: c.ladder.unwrap_or(false),
                record: c.record,
            };
            match self.create_channel(new, now_ms).await {
                Ok(_) => created.push(c.name.clone()),
                // Created concurrently by another origin on the same database.
                Err(CatalogError::ChannelExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(created)
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

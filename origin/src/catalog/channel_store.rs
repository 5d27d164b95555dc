//! Channel queries: create, read, list, update, delete, rotate the stream key, and
//! find the channel a publisher's key names.
//!
//! Every change is one statement, so concurrent API calls cannot interleave halfway
//! (an update is `UPDATE … SET col = COALESCE($n, col) … RETURNING`, not read-modify-
//! write). Keys are stored as [`stream_key::digest`]s only.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{stream_key, Catalog, CatalogError};

/// Who may watch a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Playback {
    /// Anyone with the URL.
    Public,
    /// Only requests carrying a valid playback token (`/t/{token}/…`).
    Token,
}

impl Playback {
    fn as_str(self) -> &'static str {
        match self {
            Playback::Public => "public",
            Playback::Token => "token",
        }
    }

    fn parse(s: &str) -> Result<Self, CatalogError> {
        match s {
            "public" => Ok(Playback::Public),
            "token" => Ok(Playback::Token),
            other => Err(CatalogError::BadValue {
                column: "channels.playback",
                value: other.to_owned(),
            }),
        }
    }
}

/// A channel as the catalog stores it (the stream key is not part of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelRecord {
    /// URL name (`/live/{name}/…`); never changes.
    pub name: String,
    /// Display title.
    pub title: String,
    /// Who may watch.
    pub playback: Playback,
    /// Chat tokens without a nickname are issued (`false`: a nickname is required).
    pub chat_anonymous: bool,
    /// The live ABR ladder adds encoded renditions to the channel's stream.
    pub ladder: bool,
    /// A live stream that ends becomes a VOD asset (live-to-VOD).
    pub record: bool,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last change, ms since the Unix epoch.
    pub updated_ms: i64,
}

/// A channel to create.
#[derive(Debug, Clone)]
pub struct NewChannel {
    /// URL name; the caller has validated it.
    pub name: String,
    /// Display title.
    pub title: String,
    /// Who may watch.
    pub playback: Playback,
    /// The key to use (`[[channels]]` bootstrap), or `None` to generate one.
    pub stream_key: Option<String>,
    /// Encode the live ABR ladder.
    pub ladder: bool,
    /// Keep ended live streams as VOD assets.
    pub record: bool,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ChannelUpdate {
    /// New title.
    pub title: Option<String>,
    /// New playback rule.
    pub playback: Option<Playback>,
    /// Allow or forbid anonymous chatters.
    pub chat_anonymous: Option<bool>,
    /// Turn the live ABR ladder on or off (from the next publish on).
    pub ladder: Option<bool>,
    /// Turn live-to-VOD on or off.
    pub record: Option<bool>,
}

const COLUMNS: &str =
    "name, title, playback, chat_anonymous, ladder, record, created_ms, updated_ms";

fn record(row: &AnyRow) -> Result<ChannelRecord, CatalogError> {
    Ok(ChannelRecord {
        name: row.try_get("name")?,
        title: row.try_get("title")?,
        playback: Playback::parse(&row.try_get::<String, _>("playback")?)?,
        chat_anonymous: row.try_get::<i64, _>("chat_anonymous")? != 0,
        ladder: row.try_get::<i64, _>("ladder")? != 0,
        record: row.try_get::<i64, _>("record")? != 0,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
    })
}

/// Maps a unique-constraint failure to what it means for a channel.
fn unique_violation(e: sqlx::Error, name: &str) -> CatalogError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            // The only unique columns are the name (primary key) and the key digest.
            if db.message().contains("stream_key_hash") {
                CatalogError::StreamKeyTaken
            } else {
                CatalogError::ChannelExists(name.to_owned())
            }
        }
        _ => CatalogError::Database(e),
    }
}

impl Catalog {
    /// Creates a channel; returns it with its stream key (shown once, then only its
    /// digest is kept).
    pub async fn create_channel(
        &self,
        new: NewChannel,
        now_ms: i64,
    ) -> Result<(ChannelRecord, String), CatalogError> {
        let key = new.stream_key.unwrap_or_else(stream_key::generate);
        let row = sqlx::query(&format!(
            "INSERT INTO channels (name, title, stream_key_hash, playback, created_ms, updated_ms, \
             ladder, record) VALUES ($1, $2, $3, $4, $5, $5, $6, $7) RETURNING {COLUMNS}"
        ))
        .bind(&new.name)
        .bind(&new.title)
        .bind(stream_key::digest(&key))
        .bind(new.playback.as_str())
        .bind(now_ms)
        .bind(i64::from(new.ladder))
        .bind(i64::from(new.record))
        .fetch_one(self.pool())
        .await
        .map_err(|e| unique_violation(e, &new.name))?;
        Ok((record(&row)?, key))
    }

    /// The channel called `name`.
    pub async fn channel(&self, name: &str) -> Result<Option<ChannelRecord>, CatalogError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM channels WHERE name = $1"))
            .bind(name)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(record)
            .transpose()
    }

    /// Every channel, by name.
    pub async fn channels(&self) -> Result<Vec<ChannelRecord>, CatalogError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM channels ORDER BY name"))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(record)
            .collect()
    }

    /// Applies `update` to `name`; `None` when there is no such channel.
    pub async fn update_channel(
        &self,
        name: &str,
        update: ChannelUpdate,
        now_ms: i64,
    ) -> Result<Option<ChannelRecord>, CatalogError> {
        sqlx::query(&format!(
            "UPDATE channels SET title = COALESCE($2, title), playback = COALESCE($3, playback), \
             chat_anonymous = COALESCE($5, chat_anonymous), ladder = COALESCE($6, ladder), \
             record = COALESCE($7, record), updated_ms = $4 \
             WHERE name = $1 RETURNING {COLUMNS}"
        ))
        .bind(name)
        .bind(update.title)
        .bind(update.playback.map(|p| p.as_str().to_owned()))
        .bind(now_ms)
        .bind(update.chat_anonymous.map(i64::from))
        .bind(update.ladder.map(i64::from))
        .bind(update.record.map(i64::from))
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(record)
        .transpose()
    }

    /// Deletes `name`; whether it existed.
    pub async fn delete_channel(&self, name: &str) -> Result<bool, CatalogError> {
        let done = sqlx::query("DELETE FROM channels WHERE name = $1")
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Gives `name` a fresh stream key and returns it (the old one stops working);
    /// `None` when there is no such channel.
    pub async fn rotate_stream_key(
        &self,
        name: &str,
        now_ms: i64,
    ) -> Result<Option<String>, CatalogError> {
        let key = stream_key::generate();
        let done = sqlx::query(
            "UPDATE channels SET stream_key_hash = $2, updated_ms = $3 WHERE name = $1",
        )
        .bind(name)
        .bind(stream_key::digest(&key))
        .bind(now_ms)
        .execute(self.pool())
        .await
        .map_err(|e| unique_violation(e, name))?;
        Ok((done.rows_affected() > 0).then_some(key))
    }

    /// The channel whose stream key is `key`. The lookup is by digest, and the digest
    /// found is compared again in constant time.
    pub async fn channel_for_stream_key(
        &self,
        key: &str,
    ) -> Result<Option<ChannelRecord>, CatalogError> {
        let digest = stream_key::digest(key);
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS}, stream_key_hash FROM channels WHERE stream_key_hash = $1"
        ))
        .bind(&digest)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row)
                if stream_key::digests_equal(
                    &row.try_get::<String, _>("stream_key_hash")?,
                    &digest,
                ) =>
            {
                Ok(Some(record(&row)?))
            }
            _ => Ok(None),
        }
    }
}

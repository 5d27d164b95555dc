//! Webhook subscription queries.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{stream_key, Catalog, CatalogError};

/// A webhook subscription (the secret is only in [`WebhookRecord::secret`], never
/// serialised).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookRecord {
    /// Random identifier.
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Event names it receives.
    pub events: Vec<String>,
    /// HMAC-SHA256 key of the signature header.
    #[serde(skip)]
    pub secret: String,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
}

fn record(row: &AnyRow) -> Result<WebhookRecord, CatalogError> {
    let events: String = row.try_get("events")?;
    Ok(WebhookRecord {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        events: events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        secret: row.try_get("secret")?,
        created_ms: row.try_get("created_ms")?,
    })
}

impl Catalog {
    /// Stores a subscription with a fresh id and secret.
    pub async fn create_webhook(
        &self,
        url: &str,
        events: &[String],
        now_ms: i64,
    ) -> Result<WebhookRecord, CatalogError> {
        let id = stream_key::generate()[..16].to_owned();
        let secret = stream_key::generate();
        let row = sqlx::query(
            "INSERT INTO webhooks (id, url, events, secret, created_ms) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, url, events, secret, created_ms",
        )
        .bind(&id)
        .bind(url)
        .bind(events.join(","))
        .bind(&secret)
        .bind(now_ms)
        .fetch_one(self.pool())
        .await?;
        record(&row)
    }

    /// Every subscription, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<WebhookRecord>, CatalogError> {
        sqlx::query(
            "SELECT id, url, events, secret, created_ms FROM webhooks ORDER BY created_ms, id",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(record)
        .collect()
    }

    /// Deletes a subscription; whether it existed.
    pub async fn delete_webhook(&self, id: &str) -> Result<bool, CatalogError> {
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

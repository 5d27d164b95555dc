//! VOD job queries: the persisted work queue the job runner drains.
//!
//! A job goes `queued → running → done | failed`. [`Catalog::claim_job`] moves the
//! oldest queued job to `running` in one statement, so two runners (tasks, or origins
//! sharing a PostgreSQL database) never claim the same job:
//!
//! - SQLite runs one writer at a time, so the `UPDATE … WHERE id = (SELECT …) AND
//!   state = 'queued' RETURNING` is atomic as it stands;
//! - PostgreSQL adds `FOR UPDATE SKIP LOCKED` to the inner select (manual §SELECT,
//!   "The Locking Clause"): a concurrent claimer skips the row being claimed and takes
//!   the next one instead of waiting for it, and the outer `state = 'queued'` check
//!   stays as a guard.
//!
//! At start-up, [`Catalog::requeue_running_jobs`] puts jobs that were running when
//! the process stopped back in the queue (their attempt count shows the restart).

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Backend, Catalog, CatalogError};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a runner.
    Queued,
    /// Claimed by a runner.
    Running,
    /// Finished successfully.
    Done,
    /// Finished with an error (see the reason).
    Failed,
}

impl JobState {
    fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, CatalogError> {
        Ok(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            other => {
                return Err(CatalogError::BadValue {
                    column: "jobs.state",
                    value: other.to_owned(),
                })
            }
        })
    }
}

/// The only job kind so far.
pub const JOB_KIND_TRANSCODE: &str = "transcode";

/// A job as the catalog stores it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    /// Random identifier.
    pub id: String,
    /// The asset it works on.
    pub asset_id: String,
    /// [`JOB_KIND_TRANSCODE`].
    pub kind: String,
    /// Where it is.
    pub state: JobState,
    /// 0 to 100.
    pub progress_percent: f64,
    /// Estimated seconds left while running.
    pub eta_s: Option<f64>,
    /// How many times a runner claimed it.
    pub attempts: i64,
    /// Why it failed.
    pub reason: Option<String>,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last change, ms since the Unix epoch.
    pub updated_ms: i64,
}

const COLUMNS: &str = "id, asset_id, kind, state, progress_percent, eta_s, attempts, reason, \
     created_ms, updated_ms";

const INSERT_JOB: &str = "INSERT INTO jobs (id, asset_id, kind, state, progress_percent, \
     attempts, created_ms, updated_ms) VALUES ($1, $2, $3, 'queued', 0, 0, $4, $4) \
     RETURNING id, asset_id, kind, state, progress_percent, eta_s, attempts, reason, \
     created_ms, updated_ms";

/// The `INSERT` of a queued transcode job for `asset_id`, returning it.
pub(super) fn insert_job(
    asset_id: &str,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments<'static>> {
    sqlx::query(INSERT_JOB)
        .bind(super::asset_store::new_asset_id())
        .bind(asset_id.to_owned())
        .bind(JOB_KIND_TRANSCODE)
        .bind(now())
}

pub(super) fn record(row: &AnyRow) -> Result<JobRecord, CatalogError> {
    Ok(JobRecord {
        id: row.try_get("id")?,
        asset_id: row.try_get("asset_id")?,
        kind: row.try_get("kind")?,
        state: JobState::parse(&row.try_get::<String, _>("state")?)?,
        progress_percent: row.try_get("progress_percent")?,
        eta_s: row.try_get("eta_s")?,
        attempts: row.try_get("attempts")?,
        reason: row.try_get("reason")?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
    })
}

fn now() -> i64 {
    crate::clock::now_ms() as i64
}

impl Catalog {
    /// Queues a transcode job for `asset_id`.
    pub async fn enqueue_job(&self, asset_id: &str) -> Result<JobRecord, CatalogError> {
        let row = insert_job(asset_id).fetch_one(self.pool()).await?;
        record(&row)
    }

    /// Claims the oldest queued job (`queued → running`, one more attempt), or `None`
    /// when the queue is empty. Atomic: see the module docs.
    pub async fn claim_job(&self) -> Result<Option<JobRecord>, CatalogError> {
        let lock = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        sqlx::query(&format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, eta_s = NULL, \
             updated_ms = $1 \
             WHERE id = (SELECT id FROM jobs WHERE state = 'queued' \
                         ORDER BY created_ms, id LIMIT 1{lock}) \
             AND state = 'queued' RETURNING {COLUMNS}"
        ))
        .bind(now())
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(record)
        .transpose()
    }

    /// Puts every running job back in the queue (at start-up, after a stop or a
    /// crash); how many.
    pub async fn requeue_running_jobs(&self) -> Result<u64, CatalogError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', eta_s = NULL, updated_ms = $1 \
             WHERE state = 'running'",
        )
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Records a running job's progress (percent clamped to 0..=100); whether the
    /// job exists.
    pub async fn job_progress(
        &self,
        job_id: &str,
        percent: f64,
        eta_s: Option<f64>,
    ) -> Result<bool, CatalogError> {
        let percent = if percent.is_finite() {
            percent.clamp(0.0, 100.0)
        } else {
            0.0
        };
        let done = sqlx::query(
            "UPDATE jobs SET progress_percent = $2, eta_s = $3, updated_ms = $4 WHERE id = $1",
        )
        .bind(job_id)
        .bind(percent)
        .bind(eta_s.filter(|e| e.is_finite()))
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Ends a job: `done` (progress 100) or `failed` with `reason`; whether it exists.
    pub async fn finish_job(
        &self,
        job_id: &str,
        ok: bool,
        reason: Option<&str>,
    ) -> Result<bool, CatalogError> {
        let state = if ok { JobState::Done } else { JobState::Failed };
        let done = sqlx::query(
            "UPDATE jobs SET state = $2, reason = $3, eta_s = NULL, updated_ms = $4, \
             progress_percent = CASE WHEN $2 = 'done' THEN 100 ELSE progress_percent END \
             WHERE id = $1",
        )
        .bind(job_id)
        .bind(state.as_str())
        .bind(reason.map(str::to_owned))
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The job `job_id`.
    pub async fn job(&self, job_id: &str) -> Result<Option<JobRecord>, CatalogError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
            .bind(job_id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(record)
            .transpose()
    }

    /// The jobs of `asset_id`, oldest first.
    pub async fn jobs_for_asset(&self, asset_id: &str) -> Result<Vec<JobRecord>, CatalogError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE asset_id = $1 ORDER BY created_ms, id"
        ))
        .bind(asset_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(record)
        .collect()
    }
}

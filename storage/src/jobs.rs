//! Runs of the scheduled jobs: the `job_runs` table (SPEC §4, §7: several processes sharing one
//! database run each job once).

use chrono::{DateTime, Duration, Utc};

use crate::{Backend, Result, Store, from_millis, millis, on_backend};

/// One job run as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRun {
    pub job: String,
    pub slot: DateTime<Utc>,
    pub runner: String,
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub summary: Option<String>,
}

/// job, slot, runner, started, finished, summary.
type JobRunRow = (String, i64, String, i64, Option<i64>, Option<String>);

impl Store {
    /// Claims the run of `job` for `slot` for `runner` until `now + lease`. `true`: this runner
    /// runs it now. `false`: it has finished, or another runner holds a lease that has not passed
    /// (a runner that died mid-run loses its claim when its lease passes, and the run is taken
    /// over: the jobs are idempotent per slot).
    pub async fn claim_job_run(&self, job: &str, slot: DateTime<Utc>, runner: &str, now: DateTime<Utc>, lease: Duration) -> Result<bool> {
        const SQL: &str = "INSERT INTO job_runs (job, slot_ms, runner, started_ms, lease_until_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (job, slot_ms) DO UPDATE SET runner = excluded.runner, started_ms = excluded.started_ms, \
             lease_until_ms = excluded.lease_until_ms \
             WHERE job_runs.finished_ms IS NULL AND job_runs.lease_until_ms < excluded.started_ms";
        let n = on_backend!(&self.pool, pool => sqlx::query(SQL)
            .bind(job).bind(millis(slot)).bind(runner).bind(millis(now)).bind(millis(now + lease))
            .execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Marks `runner`'s run of `job` for `slot` finished; `false` when the claim was no longer
    /// its own (its lease passed and another runner took over).
    pub async fn finish_job_run(&self, job: &str, slot: DateTime<Utc>, runner: &str, summary: &str, now: DateTime<Utc>) -> Result<bool> {
        const SQL: &str = "UPDATE job_runs SET finished_ms = $4, summary = $5 WHERE job = $1 AND slot_ms = $2 AND runner = $3 \
             AND finished_ms IS NULL";
        let n = on_backend!(&self.pool, pool => sqlx::query(SQL)
            .bind(job).bind(millis(slot)).bind(runner).bind(millis(now)).bind(summary)
            .execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// The latest finished slot of `job`.
    pub async fn last_job_slot(&self, job: &str) -> Result<Option<DateTime<Utc>>> {
        const SQL: &str = "SELECT MAX(slot_ms) FROM job_runs WHERE job = $1 AND finished_ms IS NOT NULL";
        let ms: Option<i64> = on_backend!(&self.pool, pool => sqlx::query_scalar(SQL).bind(job).fetch_one(pool).await?);
        ms.map(from_millis).transpose()
    }

    /// The latest run of each job (for `admin stats`), by job name.
    pub async fn last_job_runs(&self) -> Result<Vec<JobRun>> {
        const SQL: &str = "SELECT r.job, r.slot_ms, r.runner, r.started_ms, r.finished_ms, r.summary FROM job_runs r \
             WHERE r.slot_ms = (SELECT MAX(slot_ms) FROM job_runs WHERE job = r.job) ORDER BY r.job";
        let rows: Vec<JobRunRow> =
            on_backend!(&self.pool, pool => sqlx::query_as(SQL).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(job, slot, runner, started, finished, summary)| {
                Ok(JobRun { job, slot: from_millis(slot)?, runner, started: from_millis(started)?, finished: finished.map(from_millis).transpose()?, summary })
            })
            .collect()
    }
}

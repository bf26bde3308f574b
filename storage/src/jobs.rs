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
    /// Asked for by an admin (`runner` is the admin), not run by the schedule.
    pub manual: bool,
}

/// job, slot, runner, started, finished, summary, manual.
type JobRunRow = (String, i64, String, i64, Option<i64>, Option<String>, bool);

impl Store {
    /// Claims the run of `job` for `slot` for `runner` until `now + lease`. `true`: this runner
    /// runs it now. `false`: it has finished, or another runner holds a lease that has not passed
    /// (a runner that died mid-run loses its claim when its lease passes, and the run is taken
    /// over: the jobs are idempotent per slot).
    pub async fn claim_job_run(
        &self,
        job: &str,
        slot: DateTime<Utc>,
        runner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool> {
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
    pub async fn finish_job_run(
        &self,
        job: &str,
        slot: DateTime<Utc>,
        runner: &str,
        summary: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        const SQL: &str = "UPDATE job_runs SET finished_ms = $4, summary = $5 WHERE job = $1 AND slot_ms = $2 AND runner = $3 \
             AND finished_ms IS NULL";
        let n = on_backend!(&self.pool, pool => sqlx::query(SQL)
            .bind(job).bind(millis(slot)).bind(runner).bind(millis(now)).bind(summary)
            .execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Gives up `runner`'s unfinished claim of `job` for `slot` (the run failed and committed
    /// nothing), so that the next look at the schedule claims it again.
    pub async fn abandon_job_run(
        &self,
        job: &str,
        slot: DateTime<Utc>,
        runner: &str,
    ) -> Result<()> {
        const SQL: &str = "UPDATE job_runs SET lease_until_ms = 0 WHERE job = $1 AND slot_ms = $2 AND runner = $3 AND finished_ms IS NULL";
        on_backend!(&self.pool, pool => sqlx::query(SQL).bind(job).bind(millis(slot)).bind(runner).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// The latest finished slot of `job`.
    pub async fn last_job_slot(&self, job: &str) -> Result<Option<DateTime<Utc>>> {
        const SQL: &str =
            "SELECT MAX(slot_ms) FROM job_runs WHERE job = $1 AND finished_ms IS NOT NULL";
        let ms: Option<i64> = on_backend!(&self.pool, pool => sqlx::query_scalar(SQL).bind(job).fetch_one(pool).await?);
        ms.map(from_millis).transpose()
    }

    /// Records a run an admin asked for (`admin run`), finished at `finished`.
    pub async fn record_manual_run(
        &self,
        job: &str,
        as_of: DateTime<Utc>,
        admin: &str,
        started: DateTime<Utc>,
        finished: DateTime<Utc>,
        summary: &str,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO manual_job_runs (job, as_of_ms, admin, started_ms, finished_ms, summary) VALUES ($1, $2, $3, $4, $5, $6)";
        on_backend!(&self.pool, pool => sqlx::query(SQL)
            .bind(job).bind(millis(as_of)).bind(admin).bind(millis(started)).bind(millis(finished)).bind(summary)
            .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// For `admin stats`: the latest scheduled run of each job, then the latest run an admin asked
    /// for, by job name.
    pub async fn last_job_runs(&self) -> Result<Vec<JobRun>> {
        const SQL: &str = "SELECT r.job, r.slot_ms, r.runner, r.started_ms, r.finished_ms, r.summary, FALSE FROM job_runs r \
             WHERE r.slot_ms = (SELECT MAX(slot_ms) FROM job_runs WHERE job = r.job) \
             UNION ALL \
             SELECT m.job, m.as_of_ms, m.admin, m.started_ms, m.finished_ms, m.summary, TRUE FROM manual_job_runs m \
             WHERE m.id = (SELECT MAX(id) FROM manual_job_runs WHERE job = m.job) \
             ORDER BY 1, 7";
        let rows: Vec<JobRunRow> =
            on_backend!(&self.pool, pool => sqlx::query_as(SQL).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(job, slot, runner, started, finished, summary, manual)| {
                Ok(JobRun {
                    job,
                    slot: from_millis(slot)?,
                    runner,
                    started: from_millis(started)?,
                    finished: finished.map(from_millis).transpose()?,
                    summary,
                    manual,
                })
            })
            .collect()
    }

    /// Takes or renews the lease `name` for `holder` until `now + ttl`. `true`: `holder` has it
    /// (it held it already, or the last holder's lease has passed); `false`: another holder does.
    pub async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool> {
        const SQL: &str = "INSERT INTO leases (name, holder, until_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
             WHERE leases.holder = excluded.holder OR leases.until_ms < $4";
        let n = on_backend!(&self.pool, pool => sqlx::query(SQL)
            .bind(name).bind(holder).bind(millis(now + ttl)).bind(millis(now))
            .execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Gives the lease up (at shutdown), so that another process takes over at once.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        const SQL: &str = "DELETE FROM leases WHERE name = $1 AND holder = $2";
        on_backend!(&self.pool, pool => sqlx::query(SQL).bind(name).bind(holder).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// For `admin stats`: how many of each thing the bot holds.
    pub async fn counts(&self) -> Result<Vec<(&'static str, i64)>> {
        const SQL: &str = "SELECT \
             (SELECT COUNT(*) FROM members), \
             (SELECT COUNT(*) FROM circles), \
             (SELECT COUNT(*) FROM ledger WHERE kind = 'intention' AND state = 'active'), \
             (SELECT COUNT(*) FROM ledger WHERE kind = 'obligation' AND state IN ('open', 'paid')), \
             (SELECT COUNT(*) FROM ledger WHERE kind = 'obligation' AND state IN ('open', 'paid') AND overdue), \
             (SELECT COUNT(*) FROM ledger WHERE state IN ('fulfilled', 'cleared')), \
             (SELECT COUNT(*) FROM records), \
             (SELECT COUNT(*) FROM processed_events), \
             (SELECT COUNT(*) FROM outbox WHERE sent_ms IS NULL AND failed_ms IS NULL), \
             (SELECT COUNT(*) FROM outbox WHERE failed_ms IS NOT NULL AND sent_ms IS NULL), \
             (SELECT COUNT(*) FROM outbox_destinations WHERE failed_ms IS NULL), \
             (SELECT COUNT(*) FROM outbox_destinations WHERE failed_ms IS NOT NULL)";
        type Counts = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);
        let c: Counts = on_backend!(&self.pool, pool => sqlx::query_as(SQL).fetch_one(pool).await?);
        Ok(vec![
            ("members", c.0),
            ("circles", c.1),
            ("active_intentions", c.2),
            ("open_obligations", c.3),
            ("overdue_obligations", c.4),
            ("fulfilled", c.5),
            ("records", c.6),
            ("commands", c.7),
            ("outbox_pending", c.8),
            ("outbox_failed", c.9),
            ("outbox_destinations_backing_off", c.10),
            ("outbox_destinations_failed", c.11),
        ])
    }
}

//! The scheduled jobs as the simulation runs them (`Pipeline::run_job`, `Pipeline::clearing`),
//! crashes inside them and their re-runs, and what a job that committed does to the model.

use chrono::{DateTime, TimeZone as _, Utc};
use exodus_bot::failpoint::Point;
use exodus_commands::cycle::Job;
use exodus_commands::ledger::Cycle;

use super::{Flow, Sim, Stop, db, violation};

impl Sim {
    /// A scheduled job now (perhaps made to crash inside: a crash hook armed for its first
    /// commit point).
    pub(super) async fn run_job(&mut self, job: Job) -> Flow {
        if self.chance(15) {
            // Clearing's transaction has only its `AfterCommit` point (see `failpoint.rs`).
            let point = if job != Job::Clearing && self.chance(50) {
                Point::BeforeCommit
            } else {
                Point::AfterCommit
            };
            *self.crash.armed.lock().unwrap() = Some((point, 0));
        }
        self.run_job_at(job, self.now, None).await
    }

    /// Runs `job` as of `as_of` (`Pipeline::run_job`, as the scheduler does) and applies what it
    /// committed to the model. A crash inside it: before its commit nothing of it may remain
    /// (no record, no message), after it all of it; either way it runs again after the restart
    /// (`rerun`). A re-run of a job that had committed (`rerun: Some(true)`) must find nothing
    /// more to do: no message, no set-off.
    pub(super) async fn run_job_at(
        &mut self,
        job: Job,
        as_of: DateTime<Utc>,
        rerun: Option<bool>,
    ) -> Flow {
        if self.bot.is_none() {
            return Err(Stop::Crashed);
        }
        self.refresh_outbox().await?;
        let outbox_before = self.outbox_max;
        let result = self.bot.as_ref().unwrap().pipeline.run_job(job, as_of).await;
        let committed = self.crash.take_committed();
        if committed.len() > 1 || committed.iter().any(|site| *site != job.name()) {
            return violation(format!(
                "{} ran; the jobs that committed: {committed:?}",
                job.name()
            ));
        }
        if !committed.is_empty() {
            self.apply_job(job, as_of, true).await?;
        }
        match result {
            Ok(report) => {
                if committed.is_empty() {
                    return violation(format!("{} returned without committing", job.name()));
                }
                self.log(format!("job {} ran as of {as_of}: {report}", job.name()));
                if rerun == Some(true)
                    && (report.messages != 0 || report.get("obligations_changed") != 0)
                {
                    return violation(format!(
                        "{} ran again after committing and did more: {report}",
                        job.name()
                    ));
                }
                Ok(())
            }
            Err(_) if self.crash.is_dead() => {
                let fired = *self.crash.fired.lock().unwrap();
                match fired {
                    Some((Point::BeforeCommit, site)) if site == job.name() => {
                        self.stats.job_crashes_before_commit += 1;
                        let left =
                            self.inspector.as_ref().unwrap().outbox_after(outbox_before).await;
                        if !committed.is_empty() || !left.is_empty() {
                            return violation(format!(
                                "{} crashed before its commit and left {} messages (committed: \
                                 {committed:?})",
                                job.name(),
                                left.len()
                            ));
                        }
                    }
                    Some((Point::AfterCommit, site)) if site == job.name() => {
                        self.stats.job_crashes_after_commit += 1;
                    }
                    _ => {}
                }
                self.log(format!(
                    "job {} crashed as of {as_of} (committed: {})",
                    job.name(),
                    !committed.is_empty()
                ));
                self.rerun = Some((job, as_of, !committed.is_empty()));
                Err(Stop::Crashed)
            }
            Err(e) => violation(format!("unexpected database error in {}: {e}", job.name())),
        }
    }

    /// A set-off run now, as `admin clearing run` does it (`Pipeline::clearing`).
    pub(super) async fn clearing_now(&mut self) -> Flow {
        let Some(bot) = self.bot.as_ref() else { return Err(Stop::Crashed) };
        let outcome = db(bot.pipeline.clearing(self.now, true).await)?;
        let before = self.clearing_run;
        self.apply_clearing_runs().await?;
        let recorded = self.clearing_run != before;
        if recorded != outcome.run.is_some() || recorded == outcome.plan.changes.is_empty() {
            return violation(format!(
                "a set-off run reported {:?} with {} changes; recorded: {recorded}",
                outcome.run,
                outcome.plan.changes.len()
            ));
        }
        Ok(())
    }

    /// Applies to the model a job that committed as of `as_of` (run here, by `admin run`, or
    /// again after a crash), with what the model cannot know beforehand read from the
    /// database: the numbers of the obligations approved claims made, the renewals, the
    /// set-off. `alone`: nothing else ran between the job and now (not so for a job run by an
    /// admin command inside a batch: then who was orange at the rollover is not known).
    pub(super) async fn apply_job(&mut self, job: Job, as_of: DateTime<Utc>, alone: bool) -> Flow {
        self.stats.jobs += 1;
        let tz = chrono_tz::UTC;
        let cycle = Cycle::of(as_of, &tz);
        let before = self.model.records.len();
        match job {
            Job::Deadlines => {
                self.deadlines_run = self.deadlines_run.max(as_of);
                let ledger = self.inspector.as_ref().unwrap().ledger().await;
                let voting = self.voting_claims();
                let active = self.active_initiatives();
                self.model
                    .deadlines(
                        as_of.timestamp_millis(),
                        cycle.start(&tz).timestamp_millis(),
                        &ledger,
                    )
                    .map_err(Stop::Violation)?;
                let approved =
                    voting.iter().filter(|id| self.model.claims[id].state == "approved").count()
                        as u64;
                self.stats.claims_approved += approved;
                self.stats.pool_obligations += (self.model.records.len() - before) as u64;
                self.stats.initiatives_lapsed +=
                    active.iter().filter(|id| self.model.initiatives[id].state == "lapsed").count()
                        as u64;
            }
            Job::Rollover => {
                let inspector = self.inspector.as_ref().unwrap();
                let renewals = inspector.renewals().await;
                let orange = inspector.orange().await;
                let (previous, start) = (cycle.back(1).start(&tz), cycle.start(&tz));
                self.model
                    .rollover(
                        previous.timestamp_millis(),
                        start.timestamp_millis(),
                        as_of.timestamp_millis(),
                        &renewals,
                        alone.then_some(&orange),
                    )
                    .map_err(Stop::Violation)?;
                self.stats.renewals += (self.model.records.len() - before) as u64;
                self.stats.rollovers += 1;
                if as_of >= Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap() {
                    self.rollover_due = false;
                    self.rolled = true;
                }
            }
            Job::Reminders => {}
            Job::Clearing => self.apply_clearing_runs().await?,
        }
        self.stats.records += (self.model.records.len() - before) as u64;
        Ok(())
    }

    /// The set-off runs the database recorded since the last one the model applied, checked
    /// and applied (`Model::apply_clearing`).
    async fn apply_clearing_runs(&mut self) -> Flow {
        let runs = self.inspector.as_ref().unwrap().clearing_runs_after(self.clearing_run).await;
        for (run, at, changes) in runs {
            let set_off: i64 = changes.iter().map(|c| c.set_off).sum();
            self.log(format!("set-off run {run}: {} obligations, {set_off} cents", changes.len()));
            self.model.apply_clearing(&changes, at).map_err(Stop::Violation)?;
            self.clearing_run = run;
            self.stats.clearing_runs += 1;
            self.stats.set_off_cents += set_off as u64;
        }
        Ok(())
    }

    fn voting_claims(&self) -> Vec<i64> {
        self.model.claims.iter().filter(|(_, c)| c.state == "voting").map(|(id, _)| *id).collect()
    }

    fn active_initiatives(&self) -> Vec<i64> {
        let active = self.model.initiatives.iter().filter(|(_, i)| i.state == "active");
        active.map(|(id, _)| *id).collect()
    }
}

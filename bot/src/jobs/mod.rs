//! The scheduled jobs of SPEC §4, run by the [`Scheduler`] or by `admin run`; each one a single
//! transaction, so that a crash halfway leaves nothing done and a second run of the same cycle
//! finds nothing more to do (every message a job writes has a transaction ID derived from what it
//! is about, and the outbox keeps one message per ID). `scheduler` says when they fall due;
//! `digest` renders the per-member digests they pack, when the outbox sends them.

pub mod digest;
pub mod scheduler;

use exodus_commands::Code;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use exodus_commands::cycle::{
    DigestLine, Job, JobReport, Marking, digest_lines, month_end_reminder_due, red_deadline_passed,
};
use exodus_commands::ledger::{self, Cycle};
use exodus_commands::render::render_reply;
use exodus_commands::{Lang, MemberId, Reply};
use exodus_storage::{
    OutboxMessage, Priority, Reminding, SerializedMessage, Store, StoreError, Target, Tx,
};
use tokio::sync::{Notify, watch};
use tracing::{error, info, warn};

use self::digest::ACTION_DIGEST;
use crate::config::Schedules;
use crate::failpoint::Point;
use crate::metrics::Metrics;
use crate::pipeline::{Pipeline, notice_content, txn_id};
use crate::scheduler::{due_slot, next_fire};

/// Digests written per round (one read of the members' settings, a few multi-row inserts).
const DIGESTS_PER_CHUNK: usize = 1_000;
/// Records each hourly deadlines run brings up to date with the expiries and overdue marks
/// (`Tx::settle_marks`): a rollover's 300,000 expiries (B3) are written in within a day, in
/// slices that keep each run short.
const SETTLE_PER_RUN: i64 = 20_000;

impl Pipeline {
    /// Runs `job` as if the clock showed `as_of`.
    pub async fn run_job(&self, job: Job, as_of: DateTime<Utc>) -> Result<JobReport, StoreError> {
        match job {
            Job::Rollover => self.run_rollover(as_of).await,
            Job::Reminders => self.run_reminders(as_of).await,
            Job::Deadlines => self.run_deadlines(as_of).await,
            Job::Clearing => {
                let report = self.run_clearing(as_of).await?;
                crate::failpoint::job_crash_at(Point::AfterCommit, "clearing")?;
                Ok(report)
            }
        }
    }

    /// The rollover into the cycle that contains `as_of` (SPEC §4): the past cycle's uncommitted
    /// intentions expire, its fulfilled obligations renew as intentions while their owner is
    /// orange, obligations past due become overdue; every party gets one digest of their own
    /// records in their language (V1), in the same transaction.
    pub async fn run_rollover(&self, as_of: DateTime<Utc>) -> Result<JobReport, StoreError> {
        let tz = self.settings().timezone;
        let cycle = Cycle::of(as_of, &tz);
        let (previous, start) = (cycle.back(1).start(&tz), cycle.start(&tz));
        let started = std::time::Instant::now();
        let mut tx = self.store().begin().await?;
        let markings = tx.rollover(previous, start, as_of).await?;
        let statements = started.elapsed();
        let count = |code: &str| markings.iter().filter(|m| m.marked.code() == code).count() as u64;
        let mut counts = vec![
            ("expired", count("expired")),
            ("renewed", count("renewed")),
            ("overdue", count("overdue")),
        ];
        let pools = self.pool_rollover(&mut tx, start, as_of).await?;
        counts.extend(pools.counts);
        let mut messages = tx.enqueue_all(&pools.messages, as_of).await?;
        messages += self
            .queue_digests(
                &mut tx,
                Job::Rollover,
                &format!("rollover\u{0}{}", start.timestamp_millis()),
                markings,
                as_of,
            )
            .await?;
        let digests = started.elapsed();
        if crate::failpoint::armed("rollover-before-commit") {
            error!(failpoint = "rollover-before-commit", "test failpoint reached: aborting");
            std::process::abort();
        }
        crate::failpoint::job_crash_at(Point::BeforeCommit, "rollover")?;
        tx.commit().await?;
        crate::failpoint::job_crash_at(Point::AfterCommit, "rollover")?;
        let ms = |d: StdDuration| d.as_millis() as u64;
        info!(
            records_ms = ms(statements),
            digests_ms = ms(digests - statements),
            commit_ms = ms(started.elapsed() - digests),
            "rollover into the cycle of {start}: {counts:?}, {messages} messages"
        );
        Ok(JobReport { counts, messages })
    }

    /// Reminders (SPEC §4): daily, each giver of an open obligation to a running red collection
    /// or of an approved pool claim hears of it, and its recipient of the fulfilments reported
    /// and not yet confirmed; from
    /// three days before the end of the month, once per cycle, the same for every other open
    /// obligation. One digest per member and run.
    pub async fn run_reminders(&self, as_of: DateTime<Utc>) -> Result<JobReport, StoreError> {
        let tz = self.settings().timezone;
        let mut tx = self.store().begin().await?;
        let mut daily = tx.reminders(Reminding::RedCollections, as_of).await?;
        daily.extend(tx.reminders(Reminding::PoolObligations, as_of).await?);
        let mut reminded = daily.len() as u64;
        let day = as_of.with_timezone(&tz).format("%Y-%m-%d");
        let mut messages = self
            .queue_digests(
                &mut tx,
                Job::Reminders,
                &format!("reminders\u{0}day\u{0}{day}"),
                daily,
                as_of,
            )
            .await?;
        if month_end_reminder_due(as_of, &tz) {
            let monthly = tx.reminders(Reminding::MonthEnd, as_of).await?;
            reminded += monthly.len() as u64;
            let start = Cycle::of(as_of, &tz).start(&tz).timestamp_millis();
            messages += self
                .queue_digests(
                    &mut tx,
                    Job::Reminders,
                    &format!("reminders\u{0}month\u{0}{start}"),
                    monthly,
                    as_of,
                )
                .await?;
        }
        crate::failpoint::job_crash_at(Point::BeforeCommit, "reminders")?;
        tx.commit().await?;
        crate::failpoint::job_crash_at(Point::AfterCommit, "reminders")?;
        Ok(JobReport { counts: vec![("reminded", reminded)], messages })
    }

    /// Deadlines (SPEC §4, §3.2, §3.3): a red collection whose deadline passed returns its owner
    /// to the status before (announced to the owner and in the circle; open obligations stay
    /// payable), obligations past due become overdue (a digest to each party), vote windows
    /// that closed are decided, members with an overdue pool obligation are excluded, and
    /// initiatives past their deadline unfunded lapse (SPEC §3.4; the other cards show the days
    /// left).
    pub async fn run_deadlines(&self, as_of: DateTime<Utc>) -> Result<JobReport, StoreError> {
        let tz = self.settings().timezone;
        let cycle_start = Cycle::of(as_of, &tz).start(&tz);
        let mut tx = self.store().begin().await?;
        let mut messages = Vec::new();
        let ended = tx.red_past_deadline(as_of).await?;
        for owner in &ended {
            let before = tx.profile_for_update(owner).await?;
            let Some(after) = red_deadline_passed(&before, as_of) else { continue };
            let (Some(requested), Some(deadline)) =
                (before.need.requested(), before.need.deadline())
            else {
                continue;
            };
            let room = tx.circle_room_of(owner).await?;
            let collected = match &room {
                Some(room) => {
                    let records = tx.circle_records(room, cycle_start, Some(deadline)).await?;
                    ledger::circle_totals(&records, &before.need, cycle_start).0.fulfilled
                }
                None => exodus_commands::Amount::ZERO,
            };
            tx.save_profile(&before, &after, as_of).await?;
            let reply = Reply::CollectionEnded {
                owner: owner.clone(),
                collected,
                requested,
                status: after.need.level(),
            };
            let source =
                format!("deadlines\u{0}red\u{0}{owner}\u{0}{}", deadline.timestamp_millis());
            let lang = before.lang.unwrap_or(self.settings().default_language);
            if before.notify {
                messages.push(self.digest_message(
                    &format!("{source}\u{0}dm"),
                    Target::Dm(owner.clone()),
                    &reply,
                    lang,
                ));
            }
            if let Some(room) = room {
                messages.push(self.digest_message(
                    &format!("{source}\u{0}room"),
                    Target::Room(room),
                    &reply,
                    self.settings().default_language,
                ));
            }
        }
        let overdue = tx.mark_overdue(as_of).await?;
        let settled = tx.settle_marks(SETTLE_PER_RUN).await?;
        if settled > 0 {
            info!(settled, "wrote the expiries and overdue marks into records");
        }
        let mut counts =
            vec![("collections_ended", ended.len() as u64), ("overdue", overdue.len() as u64)];
        let pools = self.pool_deadlines(&mut tx, as_of).await?;
        counts.extend(pools.counts);
        messages.extend(pools.messages);
        let initiatives = self.initiative_deadlines(&mut tx, as_of).await?;
        counts.extend(initiatives.counts);
        messages.extend(initiatives.messages);
        let mut sent = tx.enqueue_all(&messages, as_of).await?;
        sent += self
            .queue_digests(
                &mut tx,
                Job::Deadlines,
                &format!("deadlines\u{0}{}", as_of.timestamp_millis()),
                overdue,
                as_of,
            )
            .await?;
        crate::failpoint::job_crash_at(Point::BeforeCommit, "deadlines")?;
        tx.commit().await?;
        crate::failpoint::job_crash_at(Point::AfterCommit, "deadlines")?;
        Ok(JobReport { counts, messages: sent })
    }

    /// Queues one digest per party of `markings` (V1: only their own records), in their
    /// language, none for members with notifications off. The transaction ID of each is derived
    /// from `source` and the member, so that deciding it again sends nothing more. A digest is
    /// queued packed and rendered when sent ([`crate::digest`]). Returns how many were new.
    async fn queue_digests(
        &self,
        tx: &mut Tx,
        job: Job,
        source: &str,
        markings: Vec<Marking>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if markings.is_empty() {
            return Ok(0);
        }
        let per_member =
            digest_lines(&markings).into_iter().map(|(member, lines)| (member.clone(), lines));
        let packed = |_: &MemberId, lines: Vec<DigestLine>, lang| {
            let items = lines.iter().map(|l| (&markings[l.marking], l.as_giver));
            (ACTION_DIGEST.to_owned(), digest::pack(job, items, lang))
        };
        self.queue_per_member(tx, source, per_member, packed, now).await
    }

    /// Queues one DM per member of `per_member`, the event `message` makes of what is theirs
    /// (its type and its content as JSON text), in their language, none for members with notifications off;
    /// identified by `source` and the member. The members' settings are read at once; the
    /// messages are made and written a chunk of members at a time, so that a rollover's 100,000
    /// digests (B3) are never all in memory. Returns how many were new.
    pub(crate) async fn queue_per_member<T>(
        &self,
        tx: &mut Tx,
        source: &str,
        per_member: impl IntoIterator<Item = (MemberId, T)>,
        message: impl Fn(&MemberId, T, Lang) -> (String, String),
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let per_member: Vec<(MemberId, T)> = per_member.into_iter().collect();
        let members: Vec<MemberId> = per_member.iter().map(|(member, _)| member.clone()).collect();
        let settings = tx.notification_settings(&members).await?;
        drop(members);
        let mut per_member = per_member.into_iter().peekable();
        let mut queued = 0;
        while per_member.peek().is_some() {
            let mut messages = Vec::with_capacity(DIGESTS_PER_CHUNK);
            for (member, items) in per_member.by_ref().take(DIGESTS_PER_CHUNK) {
                // A member the bot has no profile of, or who changed nothing, has the defaults:
                // notifications on.
                let (lang, notify) = settings.get(&member).copied().unwrap_or((None, true));
                if !notify {
                    continue;
                }
                let (event_type, content) =
                    message(&member, items, lang.unwrap_or(self.settings().default_language));
                messages.push(SerializedMessage {
                    txn_id: txn_id(&format!("{source}\u{0}{member}"), 0),
                    target: Target::Dm(member),
                    event_type,
                    content,
                });
            }
            queued += tx.enqueue_all(&messages, now).await?;
        }
        Ok(queued)
    }

    fn digest_message(
        &self,
        source: &str,
        target: Target,
        reply: &Reply,
        lang: exodus_commands::Lang,
    ) -> OutboxMessage {
        let rendered = render_reply("notice", reply, &self.style(lang));
        OutboxMessage {
            txn_id: txn_id(source, 0),
            target,
            event_type: "m.room.message".into(),
            content: notice_content(&rendered, None),
            tag: None,
            priority: Priority::Digest,
        }
    }
}

/// How long a claimed run is its runner's alone; a runner that died is replaced after it.
const LEASE: Duration = Duration::minutes(15);
/// The longest sleep between two looks at the schedules (a run another process claimed and
/// abandoned is retried by then).
const MAX_SLEEP: StdDuration = StdDuration::from_secs(60);

/// Runs the jobs when their schedules say (SPEC §4, §7). Each run is claimed in the database
/// first (`job_runs`), so that of several processes sharing it exactly one runs each slot; a
/// slot missed while every process was down runs once when one comes back.
pub struct Scheduler {
    pub pipeline: Arc<Pipeline>,
    pub schedules: Schedules,
    pub timezone: Tz,
    /// Who claims the runs: stable for the process, different between processes.
    pub runner: String,
    pub metrics: Arc<Metrics>,
    /// Wakes the outbox after a run queued messages.
    pub wake: Arc<Notify>,
}

impl Scheduler {
    fn jobs(&self) -> [(Job, &cron::Schedule); 4] {
        [
            (Job::Rollover, &self.schedules.rollover),
            (Job::Reminders, &self.schedules.reminders),
            (Job::Deadlines, &self.schedules.deadlines),
            (Job::Clearing, &self.schedules.clearing),
        ]
    }

    fn store(&self) -> &Store {
        self.pipeline.store()
    }

    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let sleep = match self.tick(Utc::now()).await {
                Ok(next) => next.map_or(MAX_SLEEP, |next| {
                    (next - Utc::now()).to_std().unwrap_or_default().min(MAX_SLEEP)
                }),
                Err(e) => {
                    warn!(error = %e, "scheduler: database error; trying again");
                    StdDuration::from_secs(5)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }

    /// Runs every job that is due at `now` and returns when the next one falls due.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut next: Option<DateTime<Utc>> = None;
        for (job, schedule) in self.jobs() {
            let since = match self.store().last_job_slot(job.name()).await? {
                Some(slot) => slot,
                None => {
                    // First start on this database: from now on, nothing from before.
                    if self.store().claim_job_run(job.name(), now, &self.runner, now, LEASE).await?
                    {
                        self.store()
                            .finish_job_run(job.name(), now, &self.runner, "scheduler started", now)
                            .await?;
                    }
                    now
                }
            };
            if let Some(slot) = due_slot(schedule, self.timezone, since, now)
                && self.store().claim_job_run(job.name(), slot, &self.runner, now, LEASE).await?
            {
                self.run_claimed(job, slot, now).await?;
            }
            if let Some(at) = next_fire(schedule, self.timezone, now) {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        Ok(next)
    }

    async fn run_claimed(
        &self,
        job: Job,
        slot: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        info!(job = job.name(), %slot, runner = %self.runner, "running a scheduled job");
        match self.pipeline.run_job(job, now).await {
            Ok(report) => {
                info!(job = job.name(), %slot, %report, "job done");
                self.metrics
                    .jobs
                    .get_or_create(&vec![("job".to_owned(), job.name().to_owned())])
                    .inc();
                if !self
                    .store()
                    .finish_job_run(job.name(), slot, &self.runner, &report.to_string(), Utc::now())
                    .await?
                {
                    warn!(job = job.name(), %slot, "the run's claim passed to another process before it finished");
                }
                self.wake.notify_one();
                Ok(())
            }
            Err(e) => {
                // Nothing of it committed; give the claim up so that the next look retries it.
                self.store().abandon_job_run(job.name(), slot, &self.runner).await?;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::{Duration, TimeZone as _};
    use exodus_commands::ledger::{Kind, Record, State};
    use exodus_commands::{Amount, Lang, Need};
    use exodus_storage::Store;

    use super::*;
    use crate::config::Schedules;
    use crate::pipeline::Settings;

    fn m(name: &str) -> MemberId {
        MemberId::parse(&format!("@{name}:example.org")).unwrap()
    }

    #[tokio::test]
    async fn a_rollover_sends_each_party_one_digest_of_its_own_records_once() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::connect(&format!("sqlite://{}", dir.path().join("db").display())).await.unwrap();
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        let settings = Settings {
            prefixes: vec!["!".into()],
            unit: "EUR".into(),
            default_language: Lang::En,
            timezone: berlin,
        };
        let pipeline = Pipeline::new(store.clone(), settings);
        // Midnight of 1 January in Berlin; the past cycle is December.
        let start = Utc.with_ymd_and_hms(2026, 12, 31, 23, 0, 0).unwrap();
        let december = start - Duration::days(20);
        let mut tx = store.begin().await.unwrap();
        tx.bind_circle(&m("alice"), "!alice:x", december).await.unwrap();
        let alice = tx.profile_for_update(&m("alice")).await.unwrap();
        let mut orange = alice.clone();
        orange.need = Need::Orange { requested: Amount::from_stored_cents(30_000), note: None };
        tx.save_profile(&alice, &orange, december).await.unwrap();
        let carol = tx.profile_for_update(&m("carol")).await.unwrap();
        let mut russian = carol.clone();
        russian.lang = Some(Lang::Ru);
        tx.save_profile(&carol, &russian, december).await.unwrap();
        let record = |kind, giver: &str, cents, state, due: Option<DateTime<Utc>>| Record {
            id: 0,
            kind,
            giver: m(giver),
            recipient: m("alice"),
            room_id: "!alice:x".into(),
            amount: Amount::from_stored_cents(cents),
            what: None,
            state,
            overdue: false,
            created_at: december,
            due,
            changed_at: december,
        };
        for mut r in [
            record(Kind::Intention, "bob", 1_000, State::Active, None),
            record(Kind::Obligation, "carol", 2_000, State::Fulfilled, Some(december)),
            record(Kind::Obligation, "bob", 3_000, State::Open, Some(start - Duration::hours(2))),
        ] {
            r.id = tx.next_record_id().await.unwrap();
            tx.insert_record(&r).await.unwrap();
        }
        tx.commit().await.unwrap();

        let as_of = start + Duration::minutes(5);
        let summary = pipeline.run_rollover(as_of).await.unwrap();
        let figures =
            |r: &JobReport| (r.get("expired"), r.get("renewed"), r.get("overdue"), r.messages);
        assert_eq!(figures(&summary), (1, 1, 1, 3));
        let out = store.pending_outbox(100).await.unwrap();
        let digest = |who: &str| {
            let found: Vec<_> =
                out.iter().filter(|p| p.message.target == Target::Dm(m(who))).collect();
            assert_eq!(found.len(), 1, "one digest for {who}");
            // Queued packed, rendered as it is sent.
            assert_eq!(found[0].message.event_type, ACTION_DIGEST);
            digest::render(&m(who), &found[0].message.content, pipeline.settings()).unwrap()
        };
        let ids = |content: &serde_json::Value| -> Vec<(String, i64)> {
            content["org.exodus.result"]["rollover"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| (i["change"].as_str().unwrap().to_owned(), i["id"].as_i64().unwrap()))
                .collect()
        };
        // Alice, the owner, hears of all three; Bob of his two; Carol (in Russian) of her renewal.
        assert_eq!(
            ids(&digest("alice")),
            [("expired".into(), 1), ("renewed".into(), 4), ("overdue".into(), 3)]
        );
        assert_eq!(ids(&digest("bob")), [("expired".into(), 1), ("overdue".into(), 3)]);
        let carol = digest("carol");
        assert_eq!(ids(&carol), [("renewed".into(), 4)]);
        assert_eq!(carol["org.exodus.result"]["rollover"][0]["renews"], 2);
        assert!(carol["body"].as_str().unwrap().starts_with("Начался новый месяц"), "{carol}");
        assert!(digest("bob")["body"].as_str().unwrap().contains("#3"));

        // Again, later the same month: nothing more changes and nothing more is sent.
        assert_eq!(
            figures(&pipeline.run_rollover(as_of + Duration::days(3)).await.unwrap()),
            (0, 0, 0, 0)
        );
        assert_eq!(store.pending_outbox(100).await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn the_scheduler_runs_each_slot_once_and_a_missed_one_on_return() {
        use std::str::FromStr as _;
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::connect(&format!("sqlite://{}", dir.path().join("db").display())).await.unwrap();
        let settings = Settings {
            prefixes: vec!["!".into()],
            unit: "EUR".into(),
            default_language: Lang::En,
            timezone: chrono_tz::UTC,
        };
        let cron = |text: &str| cron::Schedule::from_str(text).unwrap();
        let scheduler = |runner: &str| Scheduler {
            pipeline: Arc::new(Pipeline::new(store.clone(), settings.clone())),
            schedules: Schedules {
                rollover: cron("0 0 0 1 * *"),
                reminders: cron("0 0 9 * * *"),
                deadlines: cron("0 0 * * * *"),
                clearing: cron("0 0 1 25 * *"),
            },
            timezone: chrono_tz::UTC,
            runner: runner.into(),
            metrics: Arc::new(Metrics::default()),
            wake: Arc::new(Notify::new()),
        };
        let (a, b) = (scheduler("a"), scheduler("b"));
        let at = |d: u32, h: u32, mi: u32| Utc.with_ymd_and_hms(2026, 12, d, h, mi, 0).unwrap();
        let finished = |job: &'static str| {
            let store = store.clone();
            async move {
                store
                    .last_job_runs()
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|r| r.job == job && !r.manual)
                    .map(|r| (r.slot, r.runner))
                    .next()
            }
        };
        // First start: nothing from before it runs; the next slot is the next hour.
        assert_eq!(a.tick(at(2, 7, 30)).await.unwrap(), Some(at(2, 8, 0)));
        assert_eq!(
            finished("deadlines").await,
            Some((at(2, 7, 30), "a".into())),
            "the start is recorded, no run"
        );
        // The 08:00 slot runs once, in one of two schedulers.
        a.tick(at(2, 8, 0)).await.unwrap();
        b.tick(at(2, 8, 0)).await.unwrap();
        assert_eq!(finished("deadlines").await, Some((at(2, 8, 0), "a".into())));
        b.tick(at(2, 8, 30)).await.unwrap();
        assert_eq!(
            finished("deadlines").await,
            Some((at(2, 8, 0), "a".into())),
            "nothing due at 08:30"
        );
        let count = |m: &Metrics| {
            m.render(None, chrono::Utc::now())
                .lines()
                .filter(|l| l.starts_with("exodus_jobs_total"))
                .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
                .sum::<u64>()
        };
        assert_eq!((count(&a.metrics), count(&b.metrics)), (1, 0));
        // Down from 08:30 until the next day at 13:20: the missed hours run once, for the latest
        // slot; the missed 09:00 reminders too; the rollover is not due.
        assert_eq!(b.tick(at(3, 13, 20)).await.unwrap(), Some(at(3, 14, 0)));
        assert_eq!(finished("deadlines").await, Some((at(3, 13, 0), "b".into())));
        assert_eq!(finished("reminders").await, Some((at(3, 9, 0), "b".into())));
        assert_eq!(finished("rollover").await.map(|r| r.0), Some(at(2, 7, 30)), "only the start");
        assert_eq!(count(&b.metrics), 2);
        a.tick(at(3, 13, 21)).await.unwrap();
        assert_eq!(count(&a.metrics), 1, "nothing more to run");
        // The clearing's slot (01:00 on the 25th, as configured here) runs it, once.
        assert_eq!(finished("clearing").await.map(|r| r.0), Some(at(2, 7, 30)), "only the start");
        a.tick(at(25, 1, 0)).await.unwrap();
        b.tick(at(25, 1, 5)).await.unwrap();
        assert_eq!(finished("clearing").await, Some((at(25, 1, 0), "a".into())));
        let summary = store
            .last_job_runs()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.job == "clearing")
            .and_then(|r| r.summary)
            .unwrap();
        assert!(
            summary.contains("eligible 0") && summary.contains("obligations_changed 0"),
            "{summary}"
        );
    }
}

//! The driver: one seed's run. Members send commands (valid and not) in rooms and direct chats,
//! join and leave, react 👍 to paid notices; the bot syncs (partial, gappy and late deliveries,
//! catch-up from its cursor), sends its outbox to the simulated homeserver (429s and failures)
//! and crashes at its failpoints, and restarts from its database. After every step the
//! invariants are checked; at the end everything is delivered and every command must have been
//! answered exactly once.
//!
//! The sync and the outbox are mirrored from the bot's own (`sync.rs`, `outbox.rs`), which need
//! matrix-sdk; each mirrored function names its original.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use exodus_bot::action::Action;
use exodus_bot::classify::{Classified, classify};
use exodus_bot::failpoint::{Hooks, Point, with_job_crash};
use exodus_bot::flood::FloodControl;
use exodus_bot::initiatives::Interest;
use exodus_bot::pipeline::{Handled, Incoming, Pipeline, Settings, Via, txn_id};
use exodus_commands::command::{Command, RecordAction};
use exodus_commands::cycle::Job;
use exodus_commands::ledger::Cycle;
use exodus_commands::pool::Vote;
use exodus_commands::{Lang, MemberId};
use exodus_storage::{Backoff, Cursor, EventRef, PendingMessage, Store, StoreError, Tag, Target};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;

#[path = "families.rs"]
mod families;
#[path = "jobs.rs"]
mod jobs;

use crate::db::{Inspector, OutboxRow};
use crate::homeserver::{BOT, Event, Homeserver};
use crate::model::{EventInfo, Model, Shown, SimCmd, World, others_shown, records_shown};

/// Messages an event may cause that the simulation attributes to it by transaction ID.
const MESSAGES_PER_EVENT: u32 = 32;
/// The admin named in the configuration (SPEC §3.6); the others' `admin` commands are refused.
const ADMIN: &str = "@m4:sim";
/// The sites of the jobs' transactions (`exodus_bot::failpoint::with_job_crash`).
const JOB_SITES: [&str; 4] = ["rollover", "reminders", "deadlines", "clearing"];

#[derive(Clone, Debug)]
pub struct Config {
    pub steps: usize,
    /// The known bugs a seed may run into.
    pub known_bugs: KnownBugs,
    /// Queue replies outside the command's transaction (the planted bug).
    pub planted: bool,
}

/// Product bugs the simulation found, which it steps around unless told not to
/// (`EXODUS_SIM_KNOWN_BUGS=all`, or a comma list of their names): each is described where it is
/// stepped around, with a seed that runs into it.
#[derive(Clone, Copy, Debug, Default)]
pub struct KnownBugs {
    /// `forget-me`: `forget-me confirm` does less than SPEC §3.1 says (`Model::forget`).
    pub forget_me: bool,
}

impl KnownBugs {
    pub fn from_env() -> KnownBugs {
        let value = std::env::var("EXODUS_SIM_KNOWN_BUGS").unwrap_or_default();
        let names: Vec<&str> = value.split(',').map(str::trim).collect();
        let on = |name: &str| names.contains(&"all") || names.contains(&name);
        KnownBugs { forget_me: on("forget-me") }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub steps: u64,
    pub messages: u64,
    pub applied_ok: u64,
    pub applied_error: u64,
    pub ignored: u64,
    pub refused: u64,
    pub duplicates: u64,
    pub crashes_before_commit: u64,
    pub crashes_after_commit: u64,
    pub crashes_after_send: u64,
    pub kills: u64,
    pub restarts: u64,
    pub rate_limited: u64,
    pub send_failures: u64,
    pub resends_deduplicated: u64,
    pub late_deliveries: u64,
    pub catch_ups: u64,
    pub joins: u64,
    pub leaves: u64,
    pub reactions: u64,
    pub paid_reactions_passed_over: u64,
    pub jobs: u64,
    pub rollovers: u64,
    pub renewals: u64,
    pub collections_completed: u64,
    pub sent: u64,
    pub records: u64,
    pub pools: u64,
    pub pledges: u64,
    pub claims: u64,
    pub claims_approved: u64,
    pub pool_obligations: u64,
    pub votes: u64,
    pub vote_reactions: u64,
    pub initiatives: u64,
    pub backings: u64,
    pub initiatives_funded: u64,
    pub initiatives_lapsed: u64,
    pub interest: u64,
    pub clearing_runs: u64,
    pub set_off_cents: u64,
    pub keeps: u64,
    pub forgotten: u64,
    pub admin_commands: u64,
    pub admin_refused: u64,
    pub job_crashes_before_commit: u64,
    pub job_crashes_after_commit: u64,
    pub job_reruns: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        macro_rules! add { ($($f:ident),*) => { $(self.$f += o.$f;)* } }
        add!(
            steps,
            messages,
            applied_ok,
            applied_error,
            ignored,
            refused,
            duplicates,
            crashes_before_commit,
            crashes_after_commit,
            crashes_after_send,
            kills,
            restarts,
            rate_limited,
            send_failures,
            resends_deduplicated,
            late_deliveries,
            catch_ups,
            joins,
            leaves,
            reactions,
            paid_reactions_passed_over,
            jobs,
            rollovers,
            renewals,
            collections_completed,
            sent,
            records,
            pools,
            pledges,
            claims,
            claims_approved,
            pool_obligations,
            votes,
            vote_reactions,
            initiatives,
            backings,
            initiatives_funded,
            initiatives_lapsed,
            interest,
            clearing_runs,
            set_off_cents,
            keeps,
            forgotten,
            admin_commands,
            admin_refused,
            job_crashes_before_commit,
            job_crashes_after_commit,
            job_reruns
        );
    }
}

#[derive(Debug)]
pub struct Failure {
    pub step: usize,
    pub message: String,
    pub trace: Vec<String>,
}

/// Why a flow stopped: the simulated process died, or an invariant failed.
enum Stop {
    Crashed,
    Violation(String),
}

type Flow<T = ()> = Result<T, Stop>;

fn violation<T>(message: impl Into<String>) -> Flow<T> {
    Err(Stop::Violation(message.into()))
}

/// A database error outside a simulated crash is a failure of the run.
fn db<T>(result: Result<T, StoreError>) -> Flow<T> {
    result.map_err(|e| Stop::Violation(format!("unexpected database error: {e}")))
}

/// The crash hook's state, shared with the pipeline (see `exodus_bot::failpoint::Hooks`).
#[derive(Default)]
struct CrashCtl {
    /// The process crashed: every later point fails too, until a new pipeline replaces it.
    dead: AtomicBool,
    /// Crash at the (n+1)th time this point is reached.
    armed: Mutex<Option<(Point, u32)>>,
    fired: Mutex<Option<(Point, &'static str)>>,
    /// The jobs whose transaction committed (they reached their `AfterCommit` point), in order.
    committed: Mutex<Vec<&'static str>>,
}

impl CrashCtl {
    fn consult(&self, point: Point, site: &'static str) -> bool {
        if point == Point::AfterCommit && JOB_SITES.contains(&site) {
            self.committed.lock().unwrap().push(site);
        }
        if self.dead.load(Ordering::SeqCst) {
            return true;
        }
        let mut armed = self.armed.lock().unwrap();
        if let Some((p, n)) = *armed
            && p == point
        {
            if n == 0 {
                *armed = None;
                self.dead.store(true, Ordering::SeqCst);
                *self.fired.lock().unwrap() = Some((point, site));
                return true;
            }
            *armed = Some((p, n - 1));
        }
        false
    }

    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    fn take_committed(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.committed.lock().unwrap())
    }
}

/// What a seed's members mostly do (swarm testing: a seed that does a bit of everything rarely
/// gets far into any one family; each focus goes deep into one, `Mixed` does all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Focus {
    Mixed,
    Circles,
    Pools,
    Initiatives,
    Clearing,
}

/// The running bot process.
struct Bot {
    pipeline: Pipeline,
    store: Store,
    /// How far each room's timeline came through the sync (matrix-sdk's sync token: in memory,
    /// and not the bot's cursor).
    sync_pos: BTreeMap<String, usize>,
    /// Rooms to catch up from their cursor at the next sync (`Syncer::retry`).
    retry: BTreeSet<String>,
    /// The outbox's round-robin (`outbox.rs`'s `Turns`).
    served: BTreeMap<String, u64>,
    turn: u64,
    first_start: DateTime<Utc>,
}

/// A command event on its way to the pipeline (`sync.rs`'s `Pending`).
struct PendingCmd {
    event: EventRef,
    sender: MemberId,
    body: String,
    in_dm: bool,
    sender_joined: bool,
    mentions: Vec<MemberId>,
    via: Via,
}

impl PendingCmd {
    fn incoming(&self) -> Incoming<'_> {
        Incoming {
            event: self.event.clone(),
            sender: self.sender.clone(),
            body: &self.body,
            in_dm: self.in_dm,
            sender_joined: self.sender_joined,
            mentions: self.mentions.clone(),
            via: self.via.clone(),
        }
    }
}

/// `sync.rs`'s `Progress`.
struct Progress {
    last: Option<Cursor>,
    cursor_written: bool,
}

/// The members whose shares of a claim a result shows, at any depth.
fn shares_of(result: &Value) -> impl Iterator<Item = &str> {
    let mut out = Vec::new();
    fn walk<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::Array(shares)) = map.get("shares") {
                    out.extend(shares.iter().filter_map(|s| s["member"].as_str()));
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(result, &mut out);
    out.into_iter()
}

fn settings() -> Settings {
    Settings {
        prefixes: vec!["!".into()],
        unit: "EUR".into(),
        default_language: Lang::En,
        timezone: chrono_tz::UTC,
    }
}

fn cursor_of(e: &Event) -> Cursor {
    Cursor { event_id: e.id.clone(), origin_ts: e.ts }
}

pub struct Sim {
    seed: u64,
    url: String,
    cfg: Config,
    rng: StdRng,
    focus: Focus,
    now: DateTime<Utc>,
    step: usize,
    hs: Homeserver,
    members: Vec<String>,
    dm: BTreeMap<String, String>,
    bot: Option<Bot>,
    crash: Arc<CrashCtl>,
    inspector: Option<Inspector>,
    model: Model,
    /// The members' events.
    events: BTreeMap<String, EventInfo>,
    /// Message events that are commands (`parse` finds a prefix), and reactions the sync turned
    /// into commands.
    commands: BTreeSet<String>,
    /// Transaction ID → (event, n): the messages an event may cause.
    txn_of: BTreeMap<String, String>,
    /// Events claimed, with their outcome, as the pipeline reported them.
    claimed: BTreeMap<String, String>,
    /// Applied events and whether their reply said ok.
    answered: BTreeMap<String, bool>,
    /// Leave events the pipeline claimed.
    leaves_claimed: BTreeSet<String>,
    outbox: BTreeMap<i64, OutboxRow>,
    outbox_max: i64,
    /// Events whose replies are to be counted again at the end of the step (`check_step`).
    recheck: BTreeSet<String>,
    /// Rooms an initiative was proposed in (perhaps not decided yet).
    /// Outbox rows written since the last step's check of what they show (V1, as the bot
    /// decided them: its recipients are who may see it when it is written).
    unchecked: Vec<i64>,
    rows_by_event: BTreeMap<String, Vec<i64>>,
    /// Replies the homeserver holds, by the command event they answer.
    hs_replies: BTreeMap<String, u32>,
    next_room: u32,
    next_label: u32,
    /// Members' statuses as their replies told (to make progress likelier, no more).
    levels: BTreeMap<String, String>,
    /// The step at which the clock moves into the next month, and whether the rollover is due
    /// (it runs when the bot is up) or done.
    rollover_at: usize,
    rollover_due: bool,
    rolled: bool,
    /// When the deadlines job last committed.
    deadlines_run: DateTime<Utc>,
    /// The last set-off run the model applied.
    clearing_run: i64,
    /// A job run directly that crashed: run again at the same time after the restart (and
    /// whether it had committed: then the second run finds nothing more to do).
    rerun: Option<(Job, DateTime<Utc>, bool)>,
    /// The final drain: no faults.
    quiet: bool,
    trace: Vec<String>,
    pub stats: Stats,
}

impl Sim {
    pub async fn new(url: &str, seed: u64, cfg: Config) -> Sim {
        let mut sim = Sim {
            seed,
            url: url.to_owned(),
            cfg,
            rng: StdRng::seed_from_u64(seed),
            focus: Focus::Mixed,
            now: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
            step: 0,
            hs: Homeserver::default(),
            members: (0..5).map(|i| format!("@m{i}:sim")).collect(),
            dm: BTreeMap::new(),
            bot: None,
            crash: Arc::new(CrashCtl::default()),
            inspector: None,
            model: Model::default(),
            events: BTreeMap::new(),
            commands: BTreeSet::new(),
            txn_of: BTreeMap::new(),
            claimed: BTreeMap::new(),
            answered: BTreeMap::new(),
            leaves_claimed: BTreeSet::new(),
            outbox: BTreeMap::new(),
            outbox_max: 0,
            unchecked: Vec::new(),
            recheck: BTreeSet::new(),
            rows_by_event: BTreeMap::new(),
            hs_replies: BTreeMap::new(),
            next_room: 0,
            next_label: 0,
            levels: BTreeMap::new(),
            rollover_at: 0,
            rollover_due: false,
            rolled: false,
            deadlines_run: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
            clearing_run: 0,
            rerun: None,
            quiet: false,
            trace: Vec::new(),
            stats: Stats::default(),
        };
        let steps = sim.cfg.steps.max(3);
        sim.rollover_at = sim.rng.random_range(steps / 3..steps * 2 / 3 + 1);
        sim.focus = match sim.rng.random_range(0..100) {
            0..30 => Focus::Mixed,
            30..45 => Focus::Circles,
            45..70 => Focus::Pools,
            70..80 => Focus::Initiatives,
            _ => Focus::Clearing,
        };
        sim.model.admin = ADMIN.to_owned();
        sim.model.strict_forget = sim.cfg.known_bugs.forget_me;
        sim.setup();
        let focus = sim.focus;
        sim.log(format!("focus: {focus:?}"));
        sim
    }

    /// `percent` in this seed's focus, `otherwise` else.
    fn weight(&self, focus: Focus, percent: u32, otherwise: u32) -> u32 {
        if self.focus == focus { percent } else { otherwise }
    }

    fn ts(&self) -> i64 {
        self.now.timestamp_millis()
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.random_range(0..100) < percent
    }

    fn log(&mut self, line: String) {
        self.trace.push(format!("[{}] {line}", self.step));
    }

    /// Six group rooms (each with a member of power 100 and one of 50: circles, pools and
    /// initiatives find a home), a room whose history anyone can read, and each member's
    /// direct chat with the bot.
    fn setup(&mut self) {
        let ts = self.ts();
        for i in 0..7 {
            let room = if i == 6 { "!pub:sim".to_owned() } else { format!("!g{i}:sim") };
            self.hs.create_room(&room, ts);
            let creator = self.members[i % self.members.len()].clone();
            let r = self.hs.rooms.get_mut(&room).unwrap();
            r.world_readable = i == 6;
            r.power.insert(creator.clone(), 100);
            let second = self.members[(i + 2) % self.members.len()].clone();
            r.power.insert(second, 50);
            self.hs.set_membership(&room, &creator, true, ts);
            for m in self.members.clone() {
                if m != creator && self.chance(50) {
                    self.hs.set_membership(&room, &m, true, ts);
                }
            }
        }
        for m in self.members.clone() {
            let room = format!("!dm-{}:sim", &m[1..3]);
            self.hs.create_room(&room, ts);
            let r = self.hs.rooms.get_mut(&room).unwrap();
            r.dm_of = Some(m.clone());
            self.hs.set_membership(&room, &m, true, ts);
            self.dm.insert(m, room);
        }
    }

    pub async fn run(&mut self) -> Result<(), Failure> {
        let ctl = self.crash.clone();
        let crash: exodus_bot::failpoint::Crash =
            Arc::new(move |point, site| ctl.consult(point, site));
        // The jobs' transactions consult the same hook as the pipeline's.
        let result = with_job_crash(crash, self.run_inner()).await;
        let funded = self.model.initiatives.values().filter(|i| i.state == "funded").count();
        self.stats.initiatives_funded = funded as u64;
        self.shutdown().await;
        if std::env::var_os("EXODUS_SIM_TRACE").is_some() {
            eprintln!("seed {}:\n  {}", self.seed, self.trace.join("\n  "));
        }
        result.map_err(|message| Failure {
            step: self.step,
            message,
            trace: std::mem::take(&mut self.trace),
        })
    }

    async fn run_inner(&mut self) -> Result<(), String> {
        self.start().await.or_else(|stop| self.settle_stop(stop))?;
        self.check_step().await?;
        for _ in 0..self.cfg.steps {
            self.step += 1;
            self.stats.steps += 1;
            let flow = self.one_step().await;
            self.settle_stop_async(flow).await?;
            self.check_step().await?;
        }
        self.step += 1;
        self.log("quiescence: no more faults; everything is delivered".into());
        self.quiet = true;
        for _ in 0..40 {
            let flow = self.drain_once().await;
            self.settle_stop_async(flow).await?;
            self.check_step().await?;
            if self.drained().await {
                break;
            }
        }
        self.check_final().await
    }

    fn settle_stop(&mut self, stop: Stop) -> Result<(), String> {
        match stop {
            Stop::Violation(v) => Err(v),
            Stop::Crashed => Ok(()),
        }
    }

    /// A crash ends the process (the next steps restart it); a violation ends the run.
    async fn settle_stop_async(&mut self, flow: Flow) -> Result<(), String> {
        match flow {
            Ok(()) => {
                if self.crash.is_dead() {
                    self.kill("crashed").await;
                }
                Ok(())
            }
            Err(Stop::Crashed) => {
                let fired = self.crash.fired.lock().unwrap().take();
                match fired {
                    Some((Point::BeforeCommit, site)) => {
                        self.stats.crashes_before_commit += 1;
                        self.kill(&format!("crashed before a commit ({site})")).await;
                    }
                    Some((Point::AfterCommit, site)) => {
                        self.stats.crashes_after_commit += 1;
                        self.kill(&format!("crashed after a commit ({site})")).await;
                    }
                    None => self.kill("crashed").await,
                }
                Ok(())
            }
            Err(Stop::Violation(v)) => Err(v),
        }
    }

    async fn shutdown(&mut self) {
        if let Some(bot) = self.bot.take() {
            let store = bot.store.clone();
            drop(bot);
            store.close().await;
        }
        if let Some(inspector) = self.inspector.take() {
            inspector.close().await;
        }
    }

    /// The process dies: whatever it held in memory is gone; the database stays.
    async fn kill(&mut self, why: &str) {
        if let Some(bot) = self.bot.take() {
            let store = bot.store.clone();
            drop(bot);
            store.close().await;
            self.log(format!("bot down: {why}"));
        }
        *self.crash.armed.lock().unwrap() = None;
        self.crash.dead.store(false, Ordering::SeqCst);
    }

    /// Starts the bot on the database (first start or restart) and catches every room up from
    /// its cursor (`Syncer::run`, `Syncer::start`).
    async fn start(&mut self) -> Flow {
        let store = db(Store::connect(&self.url).await)?;
        if self.inspector.is_none() {
            // Once the store has made the schema.
            self.inspector = Some(Inspector::open(&self.url).await);
        }
        let ctl = self.crash.clone();
        let hooks = Hooks {
            crash: Some(Arc::new(move |point, site| ctl.consult(point, site))),
            planted_reply_outside_transaction: self.cfg.planted,
        };
        // Flood control, tight enough to refuse a busy member now and then.
        let pipeline = Pipeline::new(store.clone(), settings())
            .with_hooks(hooks)
            .with_flood_control(FloodControl::new(4, 3))
            .with_admins(vec![MemberId::parse(ADMIN).unwrap()]);
        let first_start = db(store.first_start(self.now).await)?;
        // The direct chats, as `Syncer::handle_invites` records them when a member invites the
        // bot (`is_direct`).
        for (member, room) in &self.dm {
            let member = MemberId::parse(member).unwrap();
            db(store.set_dm_room(&member, room, self.now).await)?;
        }
        self.bot = Some(Bot {
            pipeline,
            store,
            sync_pos: BTreeMap::new(),
            retry: BTreeSet::new(),
            served: BTreeMap::new(),
            turn: 0,
            first_start,
        });
        self.log("bot started; catching up every room from its cursor".into());
        // A job that crashed runs again, as of the same time, before anything else changes:
        // what it had committed is not done twice, what it had not is done once.
        if let Some((job, as_of, committed)) = self.rerun.take() {
            self.stats.job_reruns += 1;
            self.log(format!(
                "{} runs again as of {as_of} (committed before: {committed})",
                job.name()
            ));
            self.run_job_at(job, as_of, Some(committed)).await?;
        }
        let rooms: Vec<String> = self.hs.rooms.keys().cloned().collect();
        for room in rooms {
            self.catch_up(&room).await?;
        }
        Ok(())
    }

    async fn one_step(&mut self) -> Flow {
        if self.step == self.rollover_at {
            // Into April: the monthly rollover falls due.
            let minutes = self.rng.random_range(0..120);
            self.now =
                Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap() + Duration::minutes(minutes);
            self.rollover_due = true;
            self.log(format!("the clock moves into April: {}", self.now));
        }
        let seconds = if self.chance(6) {
            self.rng.random_range(3_600..90_000)
        } else {
            self.rng.random_range(1..90)
        };
        self.now += Duration::seconds(seconds);
        let actions = self.rng.random_range(0..6);
        for _ in 0..actions {
            self.member_action();
        }
        let restart = self.bot.is_none();
        if restart && !self.chance(60) {
            return Ok(());
        }
        // A crash at the nth commit (or just after it) from now, perhaps.
        if self.chance(10) {
            let point = if self.chance(50) { Point::BeforeCommit } else { Point::AfterCommit };
            let n = self.rng.random_range(0..3);
            *self.crash.armed.lock().unwrap() = Some((point, n));
        }
        let flow = if restart {
            self.stats.restarts += 1;
            self.start().await
        } else {
            self.bot_turn().await
        };
        *self.crash.armed.lock().unwrap() = None;
        flow
    }

    async fn bot_turn(&mut self) -> Flow {
        if self.rollover_due || (self.rolled && self.chance(2)) {
            self.run_job(Job::Rollover).await?;
            // The hourly deadlines soon after: the vote windows and initiatives the month's
            // jump left behind are closed.
            if self.chance(50) {
                self.run_job(Job::Deadlines).await?;
            }
        }
        if self.chance(75) {
            self.sync().await?;
        }
        if self.chance(60) {
            let sends = self.rng.random_range(1..10);
            self.outbox_round(sends).await?;
        }
        let clearing = self.weight(Focus::Clearing, 6, 2);
        // The hourly deadlines, as the scheduler runs them (not always on time: a process is
        // down, or busy).
        if self.now - self.deadlines_run >= Duration::hours(1) && self.chance(70) {
            self.run_job(Job::Deadlines).await?;
        }
        match self.rng.random_range(0..100) {
            0..5 => self.run_job(Job::Deadlines).await?,
            5..7 => self.run_job(Job::Reminders).await?,
            n if n < 7 + clearing => self.run_job(Job::Clearing).await?,
            n if n < 7 + 2 * clearing => self.clearing_now().await?,
            _ => {}
        }
        if self.chance(3) {
            self.stats.kills += 1;
            self.kill("killed between steps").await;
        }
        Ok(())
    }

    /// One round of the final drain: restart if down, sync, send everything.
    async fn drain_once(&mut self) -> Flow {
        self.now += Duration::seconds(120);
        if self.bot.is_none() {
            self.stats.restarts += 1;
            self.start().await?;
        }
        self.sync().await?;
        self.outbox_round(10_000).await
    }

    async fn drained(&mut self) -> bool {
        let Some(bot) = &self.bot else { return false };
        let synced = self.hs.rooms.iter().all(|(id, r)| {
            bot.sync_pos.get(id) == Some(&r.timeline.len()) && !bot.retry.contains(id)
        });
        let (left, _) = self.inspector.as_ref().unwrap().outbox_left().await;
        synced && left == 0
    }

    // ---------------------------------------------------------------- the members

    fn member_action(&mut self) {
        match self.rng.random_range(0..100) {
            0..80 => self.say(),
            80..87 => self.react(),
            87..94 => self.join(),
            _ => self.leave(),
        }
    }

    fn say(&mut self) {
        let member = self.members.choose(&mut self.rng).unwrap().clone();
        let mut rooms: Vec<String> = self
            .hs
            .rooms
            .iter()
            .filter(|(_, r)| r.members.contains(&member) && r.dm_of.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        rooms.push(self.dm[&member].clone());
        // Circles and pools are where things happen: their rooms are chosen more often.
        let circles: Vec<String> = rooms
            .iter()
            .filter(|r| self.model.circle_owner(r).is_some() || self.model.pools.contains_key(*r))
            .cloned()
            .collect();
        let pools: Vec<String> =
            rooms.iter().filter(|r| self.model.pools.contains_key(*r)).cloned().collect();
        let to_pool = self.weight(Focus::Pools, 70, 0);
        let to_circle = self.weight(Focus::Clearing, 80, 50);
        let room = match (circles.choose(&mut self.rng), pools.choose(&mut self.rng)) {
            (_, Some(pool)) if self.chance(to_pool) => pool.clone(),
            (Some(room), _) if self.chance(to_circle) => room.clone(),
            _ => rooms.choose(&mut self.rng).unwrap().clone(),
        };
        let in_dm = self.dm[&member] == room;
        let (body, mentions, cmd) = self.command_for(&member, &room, in_dm);
        // Rooms where initiatives live are bound as circles or pools now and then too: the bot
        // refuses (it once bound them, and backings became a circle's records: `overlap`).
        let event_id = self.hs.say(&room, &member, &body, &mentions, self.ts());
        self.stats.messages += 1;
        if exodus_commands::parse(&body, &["!".to_owned()]).is_some() {
            self.commands.insert(event_id.clone());
        }
        self.log(format!("{member} in {room}: {body:?} ({event_id})"));
        let ts = self.ts();
        self.note_event(
            event_id,
            EventInfo { room, sender: member, cmd, in_dm, reacted_to: None, ts },
        );
    }

    fn note_event(&mut self, event_id: String, info: EventInfo) {
        for n in 0..MESSAGES_PER_EVENT {
            self.txn_of.insert(txn_id(&event_id, n), event_id.clone());
        }
        self.events.insert(event_id, info);
    }

    /// 👍 on a message of the bot's: mostly a paid notice (which confirms), a claim message (a
    /// vote, 👎 too) or an initiative's card (interest), sometimes another.
    fn react(&mut self) {
        let mut tagged: Vec<(String, String, SimCmd)> = Vec::new();
        for s in &self.hs.sent {
            let r = &s.content["org.exodus.result"];
            let id = r["id"].as_i64().unwrap_or(0);
            let reply = r["ok"] == true && r["notice"].is_null();
            let cmd = match r["command"].as_str() {
                _ if r["notice"] == "paid-reported" => SimCmd::Confirm { id },
                Some("paid") if reply => SimCmd::Confirm { id },
                Some("claim") if reply => SimCmd::Vote { id, yes: true },
                Some("propose") if reply => SimCmd::Interest,
                _ => continue,
            };
            tagged.push((s.room.clone(), s.event_id.clone(), cmd));
        }
        // Mostly a paid notice or a claim message, now and then a card.
        let kind = match self.rng.random_range(0..100) {
            0..45 => |c: &SimCmd| matches!(c, SimCmd::Confirm { .. }),
            45..90 => |c: &SimCmd| matches!(c, SimCmd::Vote { .. }),
            _ => |c: &SimCmd| matches!(c, SimCmd::Interest),
        };
        let preferred: Vec<&(String, String, SimCmd)> =
            tagged.iter().filter(|(_, _, c)| kind(c)).collect();
        let chosen = preferred.choose(&mut self.rng).map(|p| (*p).clone());
        let (room, target, mut cmd) = match chosen {
            Some(p) if self.rng.random_range(0..10) < 9 => p,
            _ => match self.hs.sent.choose(&mut self.rng) {
                Some(s) => (s.room.clone(), s.event_id.clone(), SimCmd::Confirm { id: 0 }),
                None => return,
            },
        };
        let joined: Vec<String> = self.hs.rooms[&room].members.iter().cloned().collect();
        let Some(member) = joined.choose(&mut self.rng).cloned() else { return };
        let up = match &mut cmd {
            SimCmd::Vote { yes, .. } => {
                *yes = self.chance(60);
                *yes
            }
            _ => true,
        };
        let event_id = self.hs.react(&room, &member, &target, up, self.ts());
        self.stats.reactions += 1;
        let key = if up { "👍" } else { "👎" };
        self.log(format!("{member} reacts {key} in {room} to {target} ({event_id})"));
        let in_dm = self.dm[&member] == room;
        let info =
            EventInfo { room, sender: member, cmd, in_dm, reacted_to: Some(target), ts: self.ts() };
        self.note_event(event_id, info);
    }

    fn join(&mut self) {
        let member = self.members.choose(&mut self.rng).unwrap().clone();
        let rooms: Vec<String> = self
            .hs
            .rooms
            .iter()
            .filter(|(_, r)| r.dm_of.is_none() && !r.members.contains(&member))
            .map(|(id, _)| id.clone())
            .collect();
        if let Some(room) = rooms.choose(&mut self.rng).cloned() {
            let event_id = self.hs.set_membership(&room, &member, true, self.ts());
            self.stats.joins += 1;
            self.log(format!("{member} joins {room} ({event_id})"));
        }
    }

    fn leave(&mut self) {
        let member = self.members.choose(&mut self.rng).unwrap().clone();
        let rooms: Vec<String> = self
            .hs
            .rooms
            .iter()
            .filter(|(_, r)| r.dm_of.is_none() && r.members.contains(&member))
            .map(|(id, _)| id.clone())
            .collect();
        if let Some(room) = rooms.choose(&mut self.rng).cloned() {
            let event_id = self.hs.set_membership(&room, &member, false, self.ts());
            self.stats.leaves += 1;
            self.log(format!("{member} leaves {room} ({event_id})"));
        }
    }

    fn amount(&mut self) -> (String, i64) {
        let cents =
            *[100, 250, 500, 1_000, 1_250, 2_000, 3_000, 5_075].choose(&mut self.rng).unwrap();
        let text = match self.rng.random_range(0..3) {
            0 if cents % 100 == 0 => format!("{}", cents / 100),
            1 => format!("{},{:02}", cents / 100, cents % 100),
            _ => format!("{}.{:02}", cents / 100, cents % 100),
        };
        (text, cents)
    }

    /// A record number to act on: mostly one of this room's circle or of the member's, now and
    /// then any number at all.
    fn record_id(&mut self, member: &str, room: &str) -> i64 {
        let mine: Vec<i64> = self
            .model
            .records
            .iter()
            .filter(|(_, r)| r.room == room || r.giver == member || r.recipient == member)
            .map(|(id, _)| *id)
            .collect();
        match mine.choose(&mut self.rng) {
            Some(id) if self.rng.random_range(0..10) < 8 => *id,
            _ => self.rng.random_range(1..self.model.records.len() as i64 + 4),
        }
    }

    /// A record of `member`'s to act on: as giver (`giver`) or recipient, open, in `room` unless
    /// it is a DM.
    fn own_record(&mut self, member: &str, room: &str, in_dm: bool, giver: bool) -> Option<i64> {
        let ids: Vec<i64> = self
            .model
            .records
            .iter()
            .filter(|(_, r)| if giver { r.giver == member } else { r.recipient == member })
            .filter(|(_, r)| matches!(r.state, "active" | "open" | "paid"))
            .filter(|(_, r)| in_dm || r.room == room)
            .map(|(id, _)| *id)
            .collect();
        ids.choose(&mut self.rng).copied()
    }

    /// A command (or not) for `member` to send in `room`: its body, its mentions and what it is.
    /// Biased towards what makes progress: supporters intend and commit in circle rooms, owners
    /// ask and confirm, parties settle from their DMs.
    fn command_for(
        &mut self,
        member: &str,
        room: &str,
        in_dm: bool,
    ) -> (String, Vec<String>, SimCmd) {
        if let Some(command) = self.family_command(member, room, in_dm) {
            return command;
        }
        // Owing one another takes circles: in a seed about the set-off, members open theirs
        // first, where they may.
        if self.focus == Focus::Clearing && !self.model.circles.contains_key(member) {
            let power = self.hs.rooms[room].power.get(member).copied().unwrap_or(0);
            let free =
                !self.model.pools.contains_key(room) && self.model.circle_owner(room).is_none();
            if (in_dm || (power >= 50 && free)) && self.chance(50) {
                return ("!circle open".into(), Vec::new(), SimCmd::CircleOpen);
            }
        }
        let owner = self.model.circle_owner(room).map(str::to_owned);
        let roll = self.rng.random_range(0..100);
        let plain = |body: String, cmd: SimCmd| (body, Vec::new(), cmd);
        let asking = matches!(self.levels.get(member).map(String::as_str), Some("orange" | "red"));
        if self.model.circles.contains_key(member) && (roll >= 88 || (!asking && roll < 50)) {
            let roll = if roll < 50 { 88 + roll % 9 } else { roll };
            // An owner asks for support, anywhere.
            let amount = self.rng.random_range(20..400);
            return match roll {
                88..95 => plain(format!("!status orange {amount}"), SimCmd::Profile),
                // A small emergency, so that collections complete now and then.
                95..99 => plain(
                    format!("!status red {} {}", amount / 10, self.rng.random_range(1..10)),
                    SimCmd::Profile,
                ),
                _ => plain("!status green".into(), SimCmd::StatusGreen),
            };
        }
        match owner {
            Some(owner) if owner == member && roll < 60 => {
                if roll < 20 {
                    let amount = self.rng.random_range(20..400);
                    return match roll {
                        0..14 => plain(format!("!status orange {amount}"), SimCmd::Profile),
                        14..18 => plain(
                            format!("!status red {} {}", amount / 10, self.rng.random_range(1..10)),
                            SimCmd::Profile,
                        ),
                        _ => plain("!status green".into(), SimCmd::StatusGreen),
                    };
                }
                if let Some(id) = self.own_record(member, room, in_dm, false) {
                    let obligation =
                        self.model.records.get(&id).is_some_and(|r| r.kind == "obligation");
                    return match roll {
                        20..45 if obligation => {
                            plain(format!("!confirm #{id}"), SimCmd::Confirm { id })
                        }
                        45..48 => plain(format!("!forgive #{id}"), SimCmd::Forgive { id }),
                        _ => plain(format!("!remind #{id}"), SimCmd::Remind { id }),
                    };
                }
                plain("!circle".into(), SimCmd::CircleShow)
            }
            Some(owner) if owner != member && roll < 60 => {
                // Owed by the owner, a supporter gives back now and then: closed chains for
                // the set-off.
                let owed = self.model.records.values().any(|r| {
                    r.kind == "obligation"
                        && r.state == "open"
                        && r.giver == owner
                        && r.recipient == member
                });
                if owed && roll < self.weight(Focus::Clearing, 50, 30) {
                    let (amount, cents) = self.amount();
                    return plain(format!("!commit {amount}"), SimCmd::CommitDirect { cents });
                }
                if roll < 25 {
                    let (amount, cents) = self.amount();
                    return plain(format!("!intend {amount}"), SimCmd::Intend { cents });
                }
                if roll < self.weight(Focus::Clearing, 45, 32) {
                    let (amount, cents) = self.amount();
                    return plain(format!("!commit {amount}"), SimCmd::CommitDirect { cents });
                }
                if roll < 37 {
                    return plain("!circle".into(), SimCmd::CircleShow);
                }
                match self.own_record(member, room, in_dm, true) {
                    Some(id) => self.giver_command(id, roll),
                    None => plain("!mine".into(), SimCmd::Mine),
                }
            }
            None if !in_dm
                && roll < 25
                && self.hs.rooms[room].power.get(member).is_some_and(|p| *p >= 50)
                && !self.model.circles.contains_key(member) =>
            {
                plain("!circle open".into(), SimCmd::CircleOpen)
            }
            None if in_dm && roll < 3 && !self.model.circles.contains_key(member) => {
                plain("!circle open".into(), SimCmd::CircleOpen)
            }
            None if in_dm && roll < 40 => {
                let giver = roll < 25;
                match self.own_record(member, room, in_dm, giver) {
                    Some(id) if giver => self.giver_command(id, roll * 2),
                    Some(id) if roll < 35 => {
                        plain(format!("!confirm #{id}"), SimCmd::Confirm { id })
                    }
                    Some(id) => plain(format!("!forgive #{id}"), SimCmd::Forgive { id }),
                    None => plain("!mine".into(), SimCmd::Mine),
                }
            }
            _ => self.any_command(member, room, in_dm),
        }
    }

    /// What a giver does with record `id`.
    fn giver_command(&mut self, id: i64, roll: u32) -> (String, Vec<String>, SimCmd) {
        let plain = |body: String, cmd: SimCmd| (body, Vec::new(), cmd);
        // Mostly what the record's state allows; now and then anything.
        let obligation = self.model.records.get(&id).is_some_and(|r| r.kind == "obligation");
        let roll = match (obligation, roll % 10) {
            (true, 0..8) => 5,
            (false, 5..7) => 0,
            (_, r) => r,
        };
        match roll {
            0..3 => plain(format!("!commit #{id}"), SimCmd::CommitIntention { id, cents: None }),
            3..5 => {
                let (amount, cents) = self.amount();
                let cmd = SimCmd::CommitIntention { id, cents: Some(cents) };
                plain(format!("!commit #{id} {amount}"), cmd)
            }
            5..8 => plain(format!("!paid #{id}"), SimCmd::Paid { id }),
            8 => plain(format!("!withdraw #{id}"), SimCmd::Withdraw { id }),
            _ => {
                let (amount, cents) = self.amount();
                plain(format!("!intend #{id} {amount}"), SimCmd::IntendChange { id, cents })
            }
        }
    }

    /// Any command, valid or not, anywhere.
    fn any_command(
        &mut self,
        member: &str,
        room: &str,
        in_dm: bool,
    ) -> (String, Vec<String>, SimCmd) {
        let plain = |body: String, cmd: SimCmd| (body, Vec::new(), cmd);
        match self.rng.random_range(0..100) {
            0..16 => {
                let (amount, _) = self.amount();
                let body = match self.rng.random_range(0..24) {
                    0..7 => format!("!status orange {amount}"),
                    7..9 => format!("!status red {amount} {}", self.rng.random_range(1..15)),
                    9..11 => return plain("!status green".into(), SimCmd::StatusGreen),
                    11..13 => "!status".into(),
                    13 => format!("!about member {}", &member[1..3]),
                    // Payment details: `PAY-<member>-<n>`, looked for in every message (V8).
                    14..17 => {
                        self.next_label += 1;
                        let n = self.next_label;
                        format!("!pay add bank{n} PAY-{}-{n}", &member[1..3])
                    }
                    17..21 => "!pay".into(),
                    _ => ["!lang ru", "!lang en", "!notify off", "!notify on", "!help"]
                        .choose(&mut self.rng)
                        .unwrap()
                        .to_string(),
                };
                plain(body, SimCmd::Profile)
            }
            16..20 => plain("!circle open".into(), SimCmd::CircleOpen),
            20..30 => {
                let (amount, cents) = self.amount();
                plain(format!("!intend {amount}"), SimCmd::Intend { cents })
            }
            30..34 => {
                let (amount, cents) = self.amount();
                plain(format!("!commit {amount}"), SimCmd::CommitDirect { cents })
            }
            34..38 => {
                let id = self.record_id(member, room);
                let (amount, cents) = self.amount();
                plain(format!("!intend #{id} {amount}"), SimCmd::IntendChange { id, cents })
            }
            38..47 => {
                let id = self.record_id(member, room);
                if self.chance(50) {
                    plain(format!("!commit #{id}"), SimCmd::CommitIntention { id, cents: None })
                } else {
                    let (amount, cents) = self.amount();
                    let cmd = SimCmd::CommitIntention { id, cents: Some(cents) };
                    plain(format!("!commit #{id} {amount}"), cmd)
                }
            }
            47..55 => {
                let id = self.record_id(member, room);
                plain(format!("!paid #{id}"), SimCmd::Paid { id })
            }
            55..63 => {
                let id = self.record_id(member, room);
                plain(format!("!confirm #{id}"), SimCmd::Confirm { id })
            }
            63..67 => {
                let id = self.record_id(member, room);
                plain(format!("!withdraw #{id}"), SimCmd::Withdraw { id })
            }
            67..70 => {
                let id = self.record_id(member, room);
                plain(format!("!forgive #{id}"), SimCmd::Forgive { id })
            }
            70..72 => {
                let id = self.record_id(member, room);
                plain(format!("!remind #{id}"), SimCmd::Remind { id })
            }
            72..77 => plain("!circle".into(), SimCmd::CircleShow),
            77..81 => plain("!mine".into(), SimCmd::Mine),
            81..83 if !in_dm => {
                let other = self.members.choose(&mut self.rng).unwrap().clone();
                (format!("!circle invite {other}"), vec![other], SimCmd::CircleInvite)
            }
            81..93 => {
                const INVALID: &[&str] = &[
                    "!intend -5",
                    "!intend 1.234",
                    "!intend abc",
                    "!intend 0",
                    "!frobnicate now",
                    "!about bell\u{7}here",
                    "!status orange 99999999999999999999",
                    "!status red 100 40",
                    "!status purple",
                    "!pay add",
                    "!confirm",
                    "!withdraw #abc",
                    "!intend 5 for \"x\u{1b}[31m\"",
                    "!status orange 5 rent\u{0}",
                    "!commit #5 -1",
                    "!paid #0",
                ];
                plain(INVALID.choose(&mut self.rng).unwrap().to_string(), SimCmd::Invalid)
            }
            _ => {
                let chat = ["hello", "thanks, everyone", "see you at 5", "intend 5"];
                plain(chat.choose(&mut self.rng).unwrap().to_string(), SimCmd::Chat)
            }
        }
    }

    // ---------------------------------------------------------------- the bot's sync

    /// One sync (`Syncer::process`): each room's new events, a prefix of them at a time; a gap,
    /// a retry or a room without cursor is caught up from the cursor instead. Now and then an
    /// event delivered before comes again (a late duplicate).
    async fn sync(&mut self) -> Flow {
        let rooms: Vec<String> = self.hs.rooms.keys().cloned().collect();
        for room in rooms {
            let Some(bot) = self.bot.as_mut() else { return Err(Stop::Crashed) };
            let len = self.hs.rooms[&room].timeline.len();
            let retry = bot.retry.remove(&room);
            let Some(pos) = bot.sync_pos.get(&room).copied() else {
                self.catch_up(&room).await?;
                continue;
            };
            if pos >= len && !retry {
                continue;
            }
            let store = bot.store.clone();
            let has_cursor = db(store.cursor(&room).await)?.is_some();
            let limited = len - pos > 50 || (!self.quiet && self.chance(5));
            if retry || limited || !has_cursor {
                self.stats.catch_ups += 1;
                self.catch_up(&room).await?;
                continue;
            }
            let end = if self.quiet { len } else { pos + self.rng.random_range(1..=len - pos) };
            let late = (pos > 1 && !self.quiet && self.chance(8))
                .then(|| (self.rng.random_range(1..pos), self.chance(50)));
            let timeline = &self.hs.rooms[&room].timeline;
            let mut events: Vec<Event> = timeline[pos..end].to_vec();
            if let Some((at, first)) = late {
                let old = timeline[at].clone();
                self.trace.push(format!(
                    "[{}] late duplicate delivery of {} in {room}",
                    self.step, old.id
                ));
                self.stats.late_deliveries += 1;
                if first {
                    events.insert(0, old);
                } else {
                    events.push(old);
                }
            }
            // matrix-sdk keeps its sync token before the events are handled.
            self.bot.as_mut().unwrap().sync_pos.insert(room.clone(), end);
            self.handle_events(&room, events).await?;
        }
        Ok(())
    }

    /// Reads a room from its cursor to the present (`Syncer::catch_up`); a room without a cursor
    /// starts at the bot's join (V7).
    async fn catch_up(&mut self, room: &str) -> Flow {
        let Some(bot) = self.bot.as_ref() else { return Err(Stop::Crashed) };
        let store = bot.store.clone();
        let timeline = self.hs.rooms[room].timeline.clone();
        let cursor = match db(store.cursor(room).await)? {
            Some(cursor) => cursor,
            None => {
                let mut cursor = cursor_of(&timeline[0]);
                if cursor.origin_ts < bot.first_start.timestamp_millis() {
                    cursor = cursor_of(timeline.last().unwrap());
                }
                db(store.init_cursor(room, &cursor, self.now).await)?;
                db(store.cursor(room).await)?.unwrap_or(cursor)
            }
        };
        let Some(at) = timeline.iter().position(|e| e.id == cursor.event_id) else {
            return violation(format!(
                "the cursor of {room} points at {}, which is not in its timeline",
                cursor.event_id
            ));
        };
        for page in timeline[at + 1..].chunks(100) {
            self.handle_events(room, page.to_vec()).await?;
        }
        let Some(bot) = self.bot.as_mut() else { return Err(Stop::Crashed) };
        bot.sync_pos.insert(room.to_owned(), timeline.len());
        Ok(())
    }

    /// Handles a room's events in order (`Syncer::handle_events`): consecutive commands go to
    /// the pipeline together; a leave is the pipeline's `member_left`; the cursor is moved past
    /// events that needed no transaction.
    async fn handle_events(&mut self, room: &str, events: Vec<Event>) -> Flow {
        let mut progress = Progress { last: None, cursor_written: true };
        let mut pending: Vec<PendingCmd> = Vec::new();
        for ev in events {
            let event =
                EventRef { event_id: ev.id.clone(), room_id: room.to_owned(), origin_ts: ev.ts };
            match classify(&ev.raw, BOT) {
                Classified::Candidate { sender, body, mentions } => {
                    let Some(member) = MemberId::parse(&sender) else { continue };
                    pending.push(PendingCmd {
                        event,
                        in_dm: self.is_dm_of(room, &sender),
                        sender_joined: self.hs.is_joined(room, &sender),
                        sender: member,
                        body,
                        mentions: mentions.iter().filter_map(|m| MemberId::parse(m)).collect(),
                        via: Via::Message,
                    });
                    continue;
                }
                Classified::ThumbsUp { sender, target }
                | Classified::ThumbsDown { sender, target } => {
                    let up = ev.raw["content"]["m.relates_to"]["key"] == "\u{1F44D}";
                    let store = self.bot.as_ref().ok_or(Stop::Crashed)?.store.clone();
                    let tag = match db(store.sent_message_tag(&target).await)? {
                        Some(tag) => Some(tag),
                        // `Syncer::unmarked_tag`: the bot's own event that the outbox has sent
                        // and not marked yet, recognised by its transaction ID.
                        None if db(store.unmarked_tagged(room).await)? => {
                            let echo = self.hs.rooms[room].timeline.iter().find(|e| e.id == target);
                            let txn = echo
                                .filter(|e| e.raw["sender"] == BOT)
                                .and_then(|e| e.raw["unsigned"]["transaction_id"].as_str())
                                .map(str::to_owned);
                            match txn {
                                Some(txn) => {
                                    db(store.recognise_sent(room, &txn, &target, self.now).await)?
                                }
                                None => None,
                            }
                        }
                        None => None,
                    };
                    let shown = self
                        .hs
                        .sent
                        .iter()
                        .find(|s| s.event_id == target)
                        .and_then(|s| s.content["org.exodus.result"]["id"].as_i64());
                    // `sync.rs`: 👍 on a paid notice confirms it, 👍 / 👎 on a claim message is a
                    // vote, 👍 on an initiative's card is interest (no command).
                    let command = match (tag, MemberId::parse(&sender)) {
                        (Some(Tag::Initiative(initiative)), Some(member)) if up => {
                            self.run_pending(room, &mut pending, &mut progress).await?;
                            if shown != Some(initiative) {
                                return violation(format!(
                                    "{target} is tagged initiative:{initiative} but shows {shown:?}"
                                ));
                            }
                            let claimed = self.interest(&event, &member, initiative).await?;
                            progress.cursor_written = claimed;
                            progress.last = Some(cursor_of(&ev));
                            continue;
                        }
                        (Some(Tag::Paid(id)), Some(member)) if up => {
                            Some((member, id, SimCmd::Confirm { id }))
                        }
                        (Some(Tag::Claim(id)), Some(member)) => {
                            Some((member, id, SimCmd::Vote { id, yes: up }))
                        }
                        _ => None,
                    };
                    if let Some((member, id, cmd)) = command {
                        // The message is about the record or claim its tag names.
                        if shown != Some(id) {
                            return violation(format!(
                                "{target} is tagged for #{id} but shows {shown:?}"
                            ));
                        }
                        let command = match cmd {
                            SimCmd::Vote { yes, .. } => {
                                Command::Vote { id, vote: if yes { Vote::Yes } else { Vote::No } }
                            }
                            _ => Command::Record { action: RecordAction::Confirm, id },
                        };
                        if let Some(info) = self.events.get_mut(&ev.id) {
                            info.cmd = cmd;
                        }
                        self.commands.insert(ev.id.clone());
                        pending.push(PendingCmd {
                            event,
                            in_dm: self.is_dm_of(room, &sender),
                            sender_joined: self.hs.is_joined(room, &sender),
                            sender: member,
                            body: String::new(),
                            mentions: Vec::new(),
                            via: Via::Reaction { reacted_to: target, command },
                        });
                        continue;
                    }
                    // A 👍 on a message the outbox has not marked sent yet (it crashed between
                    // sending and marking): not recognised, passed over for good.
                    let tagged_kind = self.hs.sent.iter().any(|s| {
                        let r = &s.content["org.exodus.result"];
                        s.event_id == target
                            && r["ok"] == true
                            && (r["notice"].is_null()
                                && matches!(
                                    r["command"].as_str(),
                                    Some("paid" | "claim" | "propose")
                                )
                                || r["notice"] == "paid-reported")
                    });
                    if tagged_kind {
                        self.stats.paid_reactions_passed_over += 1;
                        self.log(format!(
                            "{} (a reaction on {target}, not marked sent) is no command",
                            ev.id
                        ));
                    }
                    self.run_pending(room, &mut pending, &mut progress).await?;
                    progress.cursor_written = false;
                }
                Classified::Membership { user, membership } => {
                    self.run_pending(room, &mut pending, &mut progress).await?;
                    match MemberId::parse(&user)
                        .filter(|_| matches!(membership.as_str(), "leave" | "ban") && user != BOT)
                    {
                        Some(member) => {
                            let claimed = self.member_left(&event, &member).await?;
                            progress.cursor_written = claimed;
                        }
                        None => progress.cursor_written = false,
                    }
                }
                _ => {
                    self.run_pending(room, &mut pending, &mut progress).await?;
                    progress.cursor_written = false;
                }
            }
            progress.last = Some(cursor_of(&ev));
        }
        self.run_pending(room, &mut pending, &mut progress).await?;
        self.flush_cursor(room, &progress).await
    }

    /// `Syncer::is_dm_of`: the member's recorded direct chat, nobody else in it.
    fn is_dm_of(&self, room: &str, sender: &str) -> bool {
        self.hs.rooms[room].dm_of.as_deref() == Some(sender)
            && self.hs.rooms[room].members.len() <= 1
    }

    /// `Syncer::flush_cursor`.
    async fn flush_cursor(&mut self, room: &str, progress: &Progress) -> Flow {
        let Some(bot) = self.bot.as_ref() else { return Err(Stop::Crashed) };
        match &progress.last {
            Some(cursor) if !progress.cursor_written => {
                db(bot.store.advance_cursor(room, cursor, self.now).await)
            }
            _ => Ok(()),
        }
    }

    /// `Syncer::run_pending`: the pending commands through `Pipeline::handle_batch`.
    async fn run_pending(
        &mut self,
        _room: &str,
        pending: &mut Vec<PendingCmd>,
        progress: &mut Progress,
    ) -> Flow {
        if pending.is_empty() {
            return Ok(());
        }
        let Some(bot) = self.bot.as_ref() else { return Err(Stop::Crashed) };
        let incomings: Vec<Incoming<'_>> = pending.iter().map(PendingCmd::incoming).collect();
        let outcome = bot.pipeline.handle_batch(&incomings, &self.hs, self.now).await;
        drop(incomings);
        // A process that crashed during the call reports nothing reliable: what it committed is
        // read from the database.
        let dead = self.crash.is_dead();
        if !dead && let Some(e) = &outcome.error {
            return violation(format!("unexpected database error: {e}"));
        }
        self.after_batch(pending, &outcome.handled, dead).await?;
        if dead {
            pending.clear();
            return Err(Stop::Crashed);
        }
        for (p, handled) in pending.iter().zip(&outcome.handled) {
            progress.cursor_written = !matches!(handled, Handled::NotACommand | Handled::Duplicate);
            progress.last =
                Some(Cursor { event_id: p.event.event_id.clone(), origin_ts: p.event.origin_ts });
        }
        pending.clear();
        Ok(())
    }

    /// What a batch did, checked and applied to the model, in order: each event claimed at
    /// most once, applied ones answered by exactly one reply in the outbox (into their own
    /// room), ignored ones not at all. After a crash, the events past the reported prefix are
    /// looked up in the database (a crash after the commit leaves them claimed). An admin's
    /// `admin run <job>` runs its job before its own transaction (`Pipeline::admin`): the job
    /// is applied to the model in that place, if it committed (its own commit, even when the
    /// command's did not follow), and no job commits for anything else.
    async fn after_batch(
        &mut self,
        pending: &[PendingCmd],
        handled: &[Handled],
        dead: bool,
    ) -> Flow {
        if !dead && handled.len() != pending.len() {
            return violation("handle_batch reported another number of outcomes than events");
        }
        let processed =
            if dead { Some(self.inspector.as_ref().unwrap().processed().await) } else { None };
        let handled = if dead { &[][..] } else { handled };
        let mut newly: Vec<(String, String, Option<bool>)> = Vec::new();
        let mut in_batch: BTreeSet<String> = BTreeSet::new();
        // Before which of `newly` each admin's job goes: (its index in `newly`, job, event).
        let mut jobs: Vec<(usize, Job, String)> = Vec::new();
        for (i, p) in pending.iter().enumerate() {
            let id = p.event.event_id.clone();
            let known = self.claimed.contains_key(&id) || in_batch.contains(&id);
            if let Some(SimCmd::AdminRun { job }) = self.events.get(&id).map(|e| &e.cmd)
                && !known
                && p.sender_joined
                && p.sender.as_str() == ADMIN
            {
                jobs.push((newly.len(), *job, id.clone()));
            }
            match handled.get(i) {
                Some(Handled::Applied { ok, .. }) => {
                    if known {
                        return violation(format!("{id} applied a second time"));
                    }
                    if !p.sender_joined {
                        return violation(format!(
                            "V6: {id} applied though its sender is not joined"
                        ));
                    }
                    in_batch.insert(id.clone());
                    newly.push((id, "applied".into(), Some(*ok)));
                }
                Some(Handled::Ignored) => {
                    if known {
                        return violation(format!("{id} decided a second time"));
                    }
                    if p.sender_joined {
                        return violation(format!("{id} ignored though its sender is joined"));
                    }
                    in_batch.insert(id.clone());
                    newly.push((id, "ignored".into(), None));
                }
                Some(Handled::Refused) => {
                    if known {
                        return violation(format!("{id} decided a second time"));
                    }
                    if !p.sender_joined {
                        return violation(format!("{id} refused, though not joined (ignored)"));
                    }
                    in_batch.insert(id.clone());
                    newly.push((id, "refused".into(), None));
                }
                Some(Handled::Duplicate) => {
                    self.stats.duplicates += 1;
                    if !known {
                        return violation(format!("{id} called a duplicate, never claimed"));
                    }
                }
                Some(Handled::NotACommand) => {
                    if self.commands.contains(&id) {
                        return violation(format!("{id} is a command, handled as none"));
                    }
                }
                None => {
                    let processed = processed.as_ref().unwrap();
                    if let Some(outcome) = processed.get(&id)
                        && !known
                    {
                        in_batch.insert(id.clone());
                        newly.push((id, outcome.clone(), None));
                    }
                }
            }
        }
        let mut committed = self.crash.take_committed().into_iter();
        if newly.is_empty() && jobs.is_empty() && committed.len() == 0 {
            return Ok(());
        }
        self.refresh_outbox().await?;
        let mut jobs = jobs.into_iter().peekable();
        let mut no_job = BTreeSet::new();
        for (n, (id, outcome, ok)) in newly.into_iter().enumerate() {
            while let Some((_, job, event)) = jobs.next_if(|(at, ..)| *at == n) {
                self.admin_job(job, &event, committed.next(), &mut no_job).await?;
            }
            if no_job.contains(&id) && self.answered_ok(&id, ok) {
                return violation(format!("{id} (admin run) answered ok, and no job committed"));
            }
            self.claimed.insert(id.clone(), outcome.clone());
            self.recheck.insert(id.clone());
            self.decided(&id, &outcome, ok)?;
        }
        for (_, job, event) in jobs {
            self.admin_job(job, &event, committed.next(), &mut no_job).await?;
        }
        let left: Vec<&str> = committed.collect();
        if !left.is_empty() {
            return violation(format!("jobs committed that no admin command asked for: {left:?}"));
        }
        Ok(())
    }

    /// The job an admin's `admin run` asked for: applied if it committed (`site`).
    async fn admin_job(
        &mut self,
        job: Job,
        event: &str,
        site: Option<&'static str>,
        no_job: &mut BTreeSet<String>,
    ) -> Flow {
        match site {
            Some(site) if site == job.name() => {
                self.log(format!("{event}: admin run {} committed", job.name()));
                self.apply_job(job, self.now, false).await
            }
            Some(site) => violation(format!("{event} asked for {}; {site} committed", job.name())),
            None => {
                no_job.insert(event.to_owned());
                Ok(())
            }
        }
    }

    /// Whether an event newly decided was answered ok (the pipeline's word, or its reply's).
    fn answered_ok(&self, id: &str, ok: Option<bool>) -> bool {
        ok.unwrap_or_else(|| {
            self.rows_by_event.get(id).into_iter().flatten().any(|r| {
                let c = &self.outbox[r].content;
                c["m.relates_to"]["m.in_reply_to"]["event_id"].as_str() == Some(id)
                    && c["org.exodus.result"]["ok"] == true
            })
        })
    }

    /// One event newly claimed, checked and applied to the model.
    fn decided(&mut self, id: &str, outcome: &str, ok: Option<bool>) -> Flow {
        let Some(info) = self.events.get(id).cloned() else {
            return violation(format!("{id} claimed, but no member sent it"));
        };
        let rows: Vec<&OutboxRow> = self
            .rows_by_event
            .get(id)
            .map(|ids| ids.iter().map(|r| &self.outbox[r]).collect())
            .unwrap_or_default();
        let answers = info.reacted_to.as_deref().unwrap_or(id);
        let (replies, others): (Vec<&OutboxRow>, Vec<&OutboxRow>) = rows.iter().partition(|r| {
            r.content["m.relates_to"]["m.in_reply_to"]["event_id"].as_str() == Some(answers)
        });
        match outcome {
            "refused" => {
                // Flood control: no effect; the first refusal in a window is told (an error).
                self.stats.refused += 1;
                let told = replies.len() == 1
                    && replies[0].content["org.exodus.result"]["error"] == "limit_exceeded"
                    && info.reacted_to.is_none();
                if !(replies.is_empty() || told) || !others.is_empty() {
                    return violation(format!(
                        "{id} was refused by flood control and answered with {:?}",
                        rows.iter().map(|r| &r.content).collect::<Vec<_>>()
                    ));
                }
                self.answered.insert(id.to_owned(), told);
                Ok(())
            }
            "ignored" => {
                self.stats.ignored += 1;
                if !rows.is_empty() {
                    return violation(format!(
                        "{id} was ignored (V6) and answered: {:?}",
                        rows[0].content
                    ));
                }
                Ok(())
            }
            "applied" => {
                let wanted =
                    if info.reacted_to.is_some() { replies.len() <= 1 } else { replies.len() == 1 };
                if !wanted {
                    return violation(format!(
                        "{id} ({:?}) was applied with {} replies in the outbox (exactly one wanted)",
                        info.cmd,
                        replies.len()
                    ));
                }
                let reply = replies.first().map(|r| &r.content["org.exodus.result"]);
                if let Some(row) = replies.first()
                    && row.room.as_deref() != Some(info.room.as_str())
                {
                    return violation(format!(
                        "{id}'s reply goes to {:?}, not to {}",
                        row.room, info.room
                    ));
                }
                let reply_ok = reply.is_some_and(|r| r["ok"] == true);
                if let Some(ok) = ok
                    && ok != reply_ok
                {
                    return violation(format!(
                        "{id}: the pipeline said ok={ok}, its reply {reply:?}"
                    ));
                }
                if reply_ok {
                    self.stats.applied_ok += 1
                } else {
                    self.stats.applied_error += 1
                }
                let said = reply.map_or_else(
                    || "no reply".to_owned(),
                    |r| match r["error"].as_str() {
                        Some(code) => format!("{} {}", r["command"], code),
                        None => format!("{} ok {}", r["command"], r["id"]),
                    },
                );
                self.trace.push(format!("[{}] {id} applied: {said}", self.step));
                if let Some(r) = reply
                    && r["command"] == "status"
                    && let Some(level) = r["status"].as_str()
                {
                    self.levels.insert(info.sender.clone(), level.to_owned());
                }
                self.answered.insert(id.to_owned(), reply_ok);
                let others: Vec<&Value> =
                    others.iter().map(|r| &r.content["org.exodus.result"]).collect();
                if others.iter().any(|o| o["notice"] == "collection-complete") {
                    self.stats.collections_completed += 1;
                }
                let hs = &self.hs;
                let joined = |room: &str, member: &str| hs.is_joined(room, member);
                let power = |room: &str, member: &str| {
                    hs.rooms.get(room).and_then(|r| r.power.get(member).copied()).unwrap_or(0)
                };
                let world_readable =
                    |room: &str| hs.rooms.get(room).is_some_and(|r| r.world_readable);
                let tz = chrono_tz::UTC;
                let world = World {
                    joined: &joined,
                    power: &power,
                    world_readable: &world_readable,
                    now: self.now.timestamp_millis(),
                    cycle_start: Cycle::of(self.now, &tz).start(&tz).timestamp_millis(),
                };
                let before = self.model.records.len();
                self.model.apply(&info, reply, &others, &world).map_err(Stop::Violation)?;
                self.stats.records += (self.model.records.len() - before) as u64;
                if reply_ok {
                    self.count(&info);
                } else if info.cmd.is_admin() && info.sender != ADMIN {
                    self.stats.admin_refused += 1;
                }
                Ok(())
            }
            other => violation(format!("{id} claimed with outcome {other}")),
        }
    }

    /// The statistics of a command applied ok.
    fn count(&mut self, info: &EventInfo) {
        let s = &mut self.stats;
        match &info.cmd {
            SimCmd::PoolCreate => s.pools += 1,
            SimCmd::Pledge { .. } | SimCmd::PoolLeave => s.pledges += 1,
            SimCmd::Claim { .. } => s.claims += 1,
            SimCmd::Vote { .. } if info.reacted_to.is_some() => s.vote_reactions += 1,
            SimCmd::Vote { .. } => s.votes += 1,
            SimCmd::Propose { .. } => s.initiatives += 1,
            SimCmd::Back { .. } => s.backings += 1,
            SimCmd::Keep { .. } => s.keeps += 1,
            SimCmd::ForgetMe { confirm: true } => s.forgotten += 1,
            cmd if cmd.is_admin() => s.admin_commands += 1,
            _ => {}
        }
    }

    /// `Pipeline::member_left` for a leave event: whether it was newly claimed.
    async fn member_left(&mut self, event: &EventRef, member: &MemberId) -> Flow<bool> {
        let Some(bot) = self.bot.as_ref() else { return Err(Stop::Crashed) };
        let result = bot.pipeline.member_left(event, member, self.now).await;
        let id = event.event_id.clone();
        let claimed_now = match result {
            Ok(true) => true,
            Ok(false) => {
                if !self.leaves_claimed.contains(&id) {
                    return violation(format!("the leave {id} called decided, never claimed"));
                }
                false
            }
            Err(_) if self.crash.is_dead() => {
                let processed = self.inspector.as_ref().unwrap().processed().await;
                if processed.contains_key(&id) && !self.leaves_claimed.contains(&id) {
                    self.leave_claimed(&id, &event.room_id, member.as_str()).await?;
                }
                return Err(Stop::Crashed);
            }
            Err(e) => return violation(format!("unexpected database error: {e}")),
        };
        if claimed_now {
            if self.leaves_claimed.contains(&id) {
                return violation(format!("the leave {id} applied a second time"));
            }
            self.leave_claimed(&id, &event.room_id, member.as_str()).await?;
        }
        Ok(claimed_now)
    }

    /// `Pipeline::initiative_interest` for a 👍 on a card (`sync.rs`): claimed once, no reply,
    /// no record; whether it was newly claimed.
    async fn interest(
        &mut self,
        event: &EventRef,
        member: &MemberId,
        initiative: i64,
    ) -> Flow<bool> {
        let Some(bot) = self.bot.as_ref() else { return Err(Stop::Crashed) };
        let sender_joined = self.hs.is_joined(&event.room_id, member.as_str());
        let change = Interest::Shown { initiative, sender_joined };
        let claimed = db(bot.pipeline.initiative_interest(event, member, change, self.now).await)?;
        let id = event.event_id.clone();
        if claimed {
            if self.claimed.contains_key(&id) {
                return violation(format!("the reaction {id} applied a second time"));
            }
            self.recheck.insert(id.clone());
            self.claimed.insert(id, "applied".into());
            self.stats.interest += 1;
        } else if !self.claimed.contains_key(&id) {
            return violation(format!("the reaction {id} called decided, never claimed"));
        }
        Ok(claimed)
    }

    async fn leave_claimed(&mut self, id: &str, room: &str, member: &str) -> Flow {
        self.leaves_claimed.insert(id.to_owned());
        self.claimed.insert(id.to_owned(), "applied".into());
        self.model.member_left(room, member);
        Ok(())
    }

    /// Reads the outbox rows written since the last look: each attributed to the event it
    /// belongs to by its transaction ID (or to a job), and never for an event not claimed.
    async fn refresh_outbox(&mut self) -> Flow {
        let rows = self.inspector.as_ref().unwrap().outbox_after(self.outbox_max).await;
        for row in rows {
            self.outbox_max = self.outbox_max.max(row.id);
            if let Some(event) = self.txn_of.get(&row.txn_id) {
                self.rows_by_event.entry(event.clone()).or_default().push(row.id);
                self.recheck.insert(event.clone());
            }
            self.unchecked.push(row.id);
            self.outbox.insert(row.id, row);
        }
        Ok(())
    }

    // ---------------------------------------------------------------- the bot's outbox

    fn backoff() -> Backoff {
        Backoff {
            first: Duration::seconds(2),
            max: Duration::seconds(60),
            // Never given up in the simulation: every message must arrive.
            give_up_after: Duration::days(3_650),
        }
    }

    /// The outbox at work (`Outbox::drain`): rounds of the heads of every destination, replies
    /// first, round-robin, until nothing may be sent now or `max_sends` were tried; a 429 ends
    /// it (the whole account waits); a failure backs the destination off; a crash between
    /// sending and marking sent resends with the same transaction ID after the restart.
    async fn outbox_round(&mut self, max_sends: u32) -> Flow {
        let mut tried = 0;
        loop {
            let Some(bot) = self.bot.as_mut() else { return Err(Stop::Crashed) };
            let store = bot.store.clone();
            let mut heads = db(store.outbox_heads(self.now, 256).await)?;
            if heads.is_empty() {
                return Ok(());
            }
            // `Turns::order`.
            heads.sort_by_key(|p| {
                (
                    p.message.priority,
                    bot.served.get(p.message.target.destination()).copied().unwrap_or(0),
                    p.id,
                )
            });
            for pending in heads {
                if tried >= max_sends {
                    return Ok(());
                }
                tried += 1;
                let destination = pending.message.target.destination().to_owned();
                {
                    let bot = self.bot.as_mut().ok_or(Stop::Crashed)?;
                    bot.turn += 1;
                    let turn = bot.turn;
                    bot.served.insert(destination.clone(), turn);
                }
                if !self.quiet && self.chance(5) {
                    self.stats.rate_limited += 1;
                    let wait = self.rng.random_range(1..5);
                    self.log(format!("429: the outbox waits {wait} s"));
                    self.now += Duration::seconds(wait);
                    return Ok(());
                }
                if !self.quiet && self.chance(3) {
                    self.stats.send_failures += 1;
                    self.log(format!("send to {destination} fails (502)"));
                    db(store.mark_failed(pending.id, "502 Bad Gateway", false, self.now).await)?;
                    let backoff = Self::backoff();
                    db(store.destination_failed(&destination, "502", self.now, backoff).await)?;
                    continue;
                }
                let event_id = self.send(&store, &pending).await?;
                if !self.quiet && self.chance(4) {
                    self.stats.crashes_after_send += 1;
                    let txn = &pending.message.txn_id;
                    self.kill(&format!("crashed after sending {txn} before marking it sent")).await;
                    return Ok(());
                }
                db(store.mark_sent(pending.id, &event_id, self.now).await)?;
                if pending.destination_failures > 0 {
                    db(store.destination_recovered(&destination).await)?;
                }
            }
        }
    }

    /// `Outbox::send`: a message as it is, or the action the row asks for.
    async fn send(&mut self, store: &Store, pending: &PendingMessage) -> Flow<String> {
        let message = &pending.message;
        match Action::of_row(&message.event_type, &message.content) {
            None => self.send_message(store, pending, &message.event_type, &message.content).await,
            Some(Ok(Action::CreateCircle { owner, .. })) => self.create_circle(store, &owner).await,
            Some(Ok(Action::Invite { user_id })) => {
                let Target::Room(room) = &message.target else {
                    return violation("an invitation not to a room");
                };
                if let Some(r) = self.hs.rooms.get_mut(room)
                    && !r.members.contains(user_id.as_str())
                {
                    r.invited.insert(user_id.to_string());
                }
                Ok(format!("invite:{user_id}"))
            }
            Some(Ok(Action::Digest(packed))) => {
                let Target::Dm(member) = &message.target else {
                    return violation("a digest not to a member");
                };
                let content = exodus_bot::digest::render(member, &packed, &settings())
                    .map_err(|e| Stop::Violation(format!("an unreadable digest: {e:?}")))?;
                self.send_message(store, pending, "m.room.message", &content).await
            }
            Some(Ok(Action::Edit { tag, new_content })) => {
                // `Outbox::edit`: an `m.replace` of the message tagged `tag` in the row's room,
                // which was sent before it (order is kept per destination).
                let Target::Room(room) = &message.target else {
                    return violation("an edit not in a room");
                };
                let Some(original) = db(store.tagged_event(room, tag).await)? else {
                    return violation(format!("an edit of {tag} in {room}, never sent"));
                };
                let content = serde_json::json!({
                    "msgtype": new_content["msgtype"],
                    "body": format!("* {}", new_content["body"].as_str().unwrap_or_default()),
                    "m.new_content": new_content,
                    "m.relates_to": { "rel_type": "m.replace", "event_id": original },
                });
                self.send_message(store, pending, "m.room.message", &content).await
            }
            Some(Err(e)) => violation(format!("an unreadable action: {e}")),
        }
    }

    /// `Outbox::send_message`: `PUT /send/{txnId}` into the room or the member's DM; checks what
    /// a new message shows against who may see it (V1, V8).
    async fn send_message(
        &mut self,
        store: &Store,
        pending: &PendingMessage,
        event_type: &str,
        content: &Value,
    ) -> Flow<String> {
        let room = match &pending.message.target {
            Target::Room(room) => room.clone(),
            Target::Dm(member) => match db(store.dm_room(member).await)? {
                Some(room) => room,
                None => return violation(format!("no DM room for {member}")),
            },
        };
        let txn = &pending.message.txn_id;
        let known = self.hs.txns.contains_key(txn);
        let event_id = self
            .hs
            .send(&room, txn, event_type, content, self.ts())
            .map_err(|e| Stop::Violation(format!("the homeserver refused a message: {e}")))?;
        if known {
            self.stats.resends_deduplicated += 1;
            self.log(format!("resend of {txn} deduplicated by the homeserver"));
            return Ok(event_id);
        }
        self.stats.sent += 1;
        let what = &content["org.exodus.result"];
        self.trace.push(format!(
            "[{}] sent {event_id} into {room}: {} {}",
            self.step,
            what["command"],
            what["notice"].as_str().or(what["error"].as_str()).unwrap_or("")
        ));
        self.check_delivery(&room, txn, content)?;
        Ok(event_id)
    }

    /// `Outbox::create_circle`: an owner's circle room, made and bound once.
    async fn create_circle(&mut self, store: &Store, owner: &MemberId) -> Flow<String> {
        if let Some(room) = db(store.circle_room_of(owner).await)? {
            return Ok(room);
        }
        self.next_room += 1;
        let room = format!("!circle{}:sim", self.next_room);
        let ts = self.ts();
        self.hs.create_room(&room, ts);
        self.hs.rooms.get_mut(&room).unwrap().power.insert(owner.to_string(), 100);
        self.hs.set_membership(&room, owner.as_str(), true, ts);
        let mut tx = db(store.begin().await)?;
        let bound = db(tx.bind_circle(owner, &room, self.now).await)?;
        db(tx.commit().await)?;
        if bound {
            if self.model.circles.contains_key(owner.as_str()) {
                return violation(format!("a second circle bound for {owner}"));
            }
            self.model.circles.insert(owner.to_string(), room.clone());
        }
        self.log(format!("the outbox made {room} for {owner} (bound: {bound})"));
        Ok(room)
    }

    /// V1 and V8 for a message delivered into `room`: every record it shows belongs to that room
    /// (a circle's, a pool's, an initiative's) or is sent to a party's DM (or of a member joined
    /// to its room); claims, initiatives and pools likewise (their room, or the DM of a member
    /// joined to it or party to them); payment details only in their owner's DM or circle room.
    /// At most one reply per command event.
    fn check_delivery(&mut self, room: &str, txn: &str, content: &Value) -> Flow {
        let dm_member = self.hs.rooms[room].dm_of.clone();
        // An edit shows its new content.
        let result = match &content["m.new_content"] {
            Value::Null => &content["org.exodus.result"],
            new => &new["org.exodus.result"],
        };
        let mut shown = Vec::new();
        records_shown(result, &mut shown);
        for (id, from, to) in shown {
            let Some(rec) = self.model.records.get(&id) else {
                return violation(format!("a message in {room} shows #{id}, unknown to the model"));
            };
            if rec.giver != from || rec.recipient != to {
                return violation(format!("a message in {room} shows #{id} with other parties"));
            }
            let allowed = room == rec.room
                || dm_member.as_ref().is_some_and(|m| {
                    *m == rec.giver || *m == rec.recipient || self.hs.is_joined(&rec.room, m)
                });
            if !allowed {
                return violation(format!(
                    "V1: a message in {room} shows #{id} of circle {} ({from} → {to}): {content}",
                    rec.room
                ));
            }
        }
        let text = content.to_string();
        for (at, _) in text.match_indices("PAY-m") {
            let owner = format!("@{}:sim", &text[at + 4..at + 6]);
            let allowed = self.dm.get(&owner).map(String::as_str) == Some(room)
                || self.model.circles.get(&owner).map(String::as_str) == Some(room);
            if !allowed {
                return violation(format!(
                    "V8: payment details of {owner} sent into {room}: {text}"
                ));
            }
        }
        if let Some(event) = self.txn_of.get(txn).cloned() {
            let info = &self.events[&event];
            let answers = info.reacted_to.as_deref().unwrap_or(&event);
            if content["m.relates_to"]["m.in_reply_to"]["event_id"].as_str() == Some(answers) {
                let n = self.hs_replies.entry(event.clone()).or_default();
                *n += 1;
                if *n > 1 {
                    return violation(format!("{event} answered twice on the homeserver"));
                }
            }
            if !self.claimed.contains_key(&event) {
                return violation(format!("a message sent for {event}, which was never applied"));
            }
        }
        Ok(())
    }

    /// V1 for the claims, initiatives and pools a message delivered into `room` shows (see
    /// `check_delivery`).
    fn check_others_shown(&self, room: &str, dm: Option<&str>, result: &Value) -> Flow {
        let mut shown = Shown::default();
        others_shown(result, &mut shown);
        let m = &self.model;
        let visible = |home: &str, party: &dyn Fn(&str) -> bool| {
            room == home || dm.is_some_and(|d| self.hs.is_joined(home, d) || party(d))
        };
        for id in &shown.claims {
            let Some(c) = m.claims.get(id) else {
                return violation(format!(
                    "a message in {room} shows claim #{id}, unknown: {result}"
                ));
            };
            // A party to the claim: its claimant, a member it charged or shows a share of, a
            // member of its pool (the pledged members are told of a claim even if their leave
            // comes later in the room's timeline).
            let charged = |d: &str| {
                m.records.values().any(|r| r.claim == Some(*id) && r.giver == d)
                    || shares_of(result).any(|member| member == d)
                    || m.pledged_ever.contains(&(c.room.clone(), d.to_owned()))
            };
            if !visible(&c.room, &|d| d == c.claimant || charged(d)) {
                return violation(format!(
                    "V1: a message in {room} shows claim #{id} of the pool in {}: {result}",
                    c.room
                ));
            }
        }
        for id in &shown.initiatives {
            let Some(i) = m.initiatives.get(id) else {
                return violation(format!(
                    "a message in {room} shows initiative #{id}, unknown: {result}"
                ));
            };
            let backer =
                |d: &str| m.records.values().any(|r| r.initiative == Some(*id) && r.giver == d);
            if !visible(&i.room, &|d| d == i.proposer || backer(d)) {
                return violation(format!(
                    "V1: a message in {room} shows initiative #{id} of {}: {result}",
                    i.room
                ));
            }
        }
        for pool in &shown.pools {
            let home = m
                .pools
                .iter()
                .find(|(r, p)| *r == pool || p.name == *pool)
                .map(|(r, _)| r.clone())
                .unwrap_or_else(|| pool.clone());
            let pledged = |d: &str| m.pledged_ever.contains(&(home.clone(), d.to_owned()));
            if !visible(&home, &pledged) {
                return violation(format!(
                    "V1: a message in {room} shows the pool of {home}: {result}"
                ));
            }
        }
        for member in &shown.pool_members {
            // A pledge's own notice (left, excluded, lapsed): in a pool's room or to its member.
            if !(m.pools.contains_key(room) || dm == Some(member.as_str())) {
                return violation(format!(
                    "V1: a message in {room} shows the pledge of {member}: {result}"
                ));
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- the invariants

    /// After every step: the database's claims are exactly the events the pipeline reported
    /// (nothing of a transaction that crashed before its commit remains), the ledger is the
    /// model's, every outbox row belongs to a claimed event (or a job), cursors point into their
    /// rooms.
    async fn check_step(&mut self) -> Result<(), String> {
        let inspector = self.inspector.as_ref().unwrap();
        let processed = inspector.processed().await;
        if processed != self.claimed {
            let missing: Vec<_> =
                self.claimed.iter().filter(|(k, _)| !processed.contains_key(*k)).collect();
            let extra: Vec<_> =
                processed.iter().filter(|(k, _)| !self.claimed.contains_key(*k)).collect();
            return Err(format!(
                "the claims in the database differ from the events applied: not in the database {missing:?}, \
                 not reported {extra:?}"
            ));
        }
        let ledger = inspector.ledger().await;
        if let Some(diff) = self.model.diff(&ledger) {
            return Err(format!(
                "the ledger differs from the model (records lost, doubled or changed):\n  {diff}"
            ));
        }
        let circles = inspector.circles().await;
        if circles != self.model.circles {
            return Err(format!("circles bound {circles:?}, expected {:?}", self.model.circles));
        }
        self.check_pools_and_initiatives().await?;
        for (room, event) in inspector.cursors().await {
            let known =
                self.hs.rooms.get(&room).is_some_and(|r| r.timeline.iter().any(|e| e.id == event));
            if !known {
                return Err(format!("the cursor of {room} points at {event}, not in that room"));
            }
        }
        self.refresh_outbox().await.map_err(|s| match s {
            Stop::Violation(v) => v,
            Stop::Crashed => "crashed while checking".into(),
        })?;
        // V1 for what the new messages show of claims, initiatives and pools, as they were
        // written (membership changes only between steps, so it is the bot's at the time).
        for row in std::mem::take(&mut self.unchecked) {
            let row = &self.outbox[&row];
            let (room, dm) = match (&row.room, &row.recipient) {
                (Some(room), _) => {
                    let dm = self.hs.rooms.get(room).and_then(|r| r.dm_of.as_deref());
                    (room.clone(), dm)
                }
                (None, Some(member)) => (format!("the DM of {member}"), Some(member.as_str())),
                (None, None) => return Err("an outbox row without a destination".into()),
            };
            let result = match &row.content["new_content"] {
                Value::Null => &row.content["org.exodus.result"],
                new => &new["org.exodus.result"],
            };
            self.check_others_shown(&room, dm, result).map_err(|s| match s {
                Stop::Violation(v) => v,
                Stop::Crashed => "crashed while checking".into(),
            })?;
        }
        for (event, rows) in &self.rows_by_event {
            if !self.claimed.contains_key(event) {
                return Err(format!(
                    "the outbox has a message for {event}, which was never applied: {:?}",
                    self.outbox[&rows[0]].content
                ));
            }
        }
        // The events newly claimed or with new messages (the others were checked before, and
        // nothing of them has changed since).
        for event in std::mem::take(&mut self.recheck) {
            let (Some(outcome), event) = (self.claimed.get(&event), &event) else { continue };
            if outcome == "applied" && !self.leaves_claimed.contains(event) {
                let info = &self.events[event];
                let answers = info.reacted_to.as_deref().unwrap_or(event);
                let replies = self.rows_by_event.get(event).map_or(0, |rows| {
                    rows.iter()
                        .filter(|r| {
                            self.outbox[r].content["m.relates_to"]["m.in_reply_to"]["event_id"]
                                .as_str()
                                == Some(answers)
                        })
                        .count()
                });
                let wanted = if info.reacted_to.is_some() {
                    replies == usize::from(self.answered.get(event) == Some(&true))
                } else {
                    replies == 1
                };
                if !wanted {
                    return Err(format!(
                        "{event} ({:?}) is applied and has {replies} replies in the outbox",
                        info.cmd
                    ));
                }
            }
        }
        Ok(())
    }

    /// The pools (rules, every pledge), claims (state, verdict, what they covered, ballots),
    /// initiatives, opt-ins and keeps in the database are the model's.
    async fn check_pools_and_initiatives(&self) -> Result<(), String> {
        let db = self.inspector.as_ref().unwrap().domain().await;
        let model = self.model.domain();
        if db != model {
            let missing: Vec<&String> = model.difference(&db).collect();
            let extra: Vec<&String> = db.difference(&model).collect();
            return Err(format!(
                "pools, claims, initiatives or the set-off's opt-ins differ from the model's: \
                 the model's only {missing:?}, the database's only {extra:?}"
            ));
        }
        Ok(())
    }

    /// After the drain: every command was decided and every applied one answered exactly once
    /// on the homeserver, nothing left to send.
    async fn check_final(&mut self) -> Result<(), String> {
        if !self.drained().await {
            let bot = self.bot.as_ref();
            let behind: Vec<(&String, Option<usize>, usize)> = self
                .hs
                .rooms
                .iter()
                .map(|(id, r)| {
                    (id, bot.and_then(|b| b.sync_pos.get(id).copied()), r.timeline.len())
                })
                .filter(|(_, pos, len)| *pos != Some(*len))
                .collect();
            let left = self.inspector.as_ref().unwrap().outbox_left().await;
            return Err(format!(
                "the bot did not catch up and send everything in the final drain: rooms behind \
                 {behind:?}, outbox (unsent, given up) {left:?}, up: {}",
                bot.is_some()
            ));
        }
        let (left, failed) = self.inspector.as_ref().unwrap().outbox_left().await;
        if left != 0 || failed != 0 {
            return Err(format!("{left} messages unsent and {failed} given up after the drain"));
        }
        for (id, info) in &self.events {
            let claimed = self.claimed.get(id);
            if self.commands.contains(id) && claimed.is_none() {
                return Err(format!(
                    "the command {id} ({:?} in {}) was never decided",
                    info.cmd, info.room
                ));
            }
            let replies = self.hs_replies.get(id).copied().unwrap_or(0);
            let wanted = match claimed.map(String::as_str) {
                Some("applied") if info.reacted_to.is_some() => {
                    u32::from(self.answered.get(id) == Some(&true))
                }
                Some("applied") => 1,
                Some("refused") => u32::from(self.answered.get(id) == Some(&true)),
                _ => 0,
            };
            if replies != wanted {
                return Err(format!(
                    "{id} ({:?} in {}, {claimed:?}) has {replies} replies on the homeserver, {wanted} wanted",
                    info.cmd, info.room
                ));
            }
        }
        Ok(())
    }
}

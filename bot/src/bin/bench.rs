//! The project's in-process benchmarks (SPEC §9), printing numbers.
//!
//! `exodus-bench b1 [--db sqlite|postgres|both] [--commands N] [--rooms R] [--workers W]`
//! `exodus-bench b3 [--db sqlite|postgres|both] [--members N] [--records N]`
//!
//! B1: command throughput of the real pipeline (parse, authorise, one transaction with the event
//! claim, the room cursor, the profile change and the outbox rows), without Matrix. Every room's
//! commands are handled in order, as the bot does; `--workers` rooms are handled at once. The run
//! is checked afterwards (every command applied once and `ok`, one processed row per command, the
//! expected number of outbox rows) and the process exits non-zero when a check fails, or, with
//! `--require-targets`, when a target of SPEC §9 is missed.
//!
//! B3: the monthly rollover (`Pipeline::run_rollover`, the job the scheduler runs) over a database
//! of `--members` members, each with a circle, and `--records` records of every kind and state,
//! including its digests written to the outbox (one per member), in seconds and peak memory of
//! the process (VmHWM, reset before the run). Checked against what the generator made: the counts
//! of expired, renewed and overdue records, the records in each state afterwards, one digest per
//! member concerned, and a second run that changes and sends nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use exodus_bot::pipeline::{Handled, Incoming, NoRooms, Pipeline, Settings, Via};
use exodus_commands::{Lang, MemberId};
use exodus_storage::{EventRef, Store};

#[derive(Parser)]
#[command(about = "Exodus bot benchmarks (SPEC §9)")]
struct Args {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// B1: in-process command throughput on SQLite and/or PostgreSQL.
    B1(B1Args),
    /// B3: the monthly rollover of a large network on SQLite and/or PostgreSQL.
    B3(B3Args),
}

#[derive(clap::Args)]
struct B3Args {
    #[arg(long, value_enum, default_value = "both")]
    db: Db,
    /// Members, each the owner of a circle.
    #[arg(long, default_value_t = 100_000)]
    members: usize,
    /// Records spread over the circles.
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// PostgreSQL server to create the throwaway database on (default EXODUS_TEST_PG_URL or the
    /// local server).
    #[arg(long)]
    postgres_url: Option<String>,
    /// Exit non-zero when a target is missed (the checks always count).
    #[arg(long)]
    require_targets: bool,
    /// Also save the loaded SQLite database, as it is before the rollover, to this file (with
    /// `VACUUM INTO`), to study the rollover's statements in the `sqlite3` shell.
    #[arg(long)]
    save_sqlite: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Db {
    Sqlite,
    Postgres,
    Both,
}

#[derive(clap::Args)]
struct B1Args {
    #[arg(long, value_enum, default_value = "both")]
    db: Db,
    /// Commands per run.
    #[arg(long, default_value_t = 50_000)]
    commands: usize,
    /// Rooms the commands are spread over (one member per room).
    #[arg(long, default_value_t = 200)]
    rooms: usize,
    /// Rooms handled at once on SQLite (its writers are serialised anyway).
    #[arg(long, default_value_t = 1)]
    sqlite_workers: usize,
    /// Rooms handled at once on PostgreSQL.
    #[arg(long, default_value_t = 4)]
    postgres_workers: usize,
    /// A room's commands handed to the pipeline at once, as one sync response delivers a room's
    /// new events (the bot's sync filter returns up to 50 per room); 1 gives every command a
    /// transaction of its own.
    #[arg(long, default_value_t = 50)]
    batch: usize,
    /// PostgreSQL server to create the throwaway database on (default EXODUS_TEST_PG_URL or the
    /// local server).
    #[arg(long)]
    postgres_url: Option<String>,
    /// Also time the bare transaction B1's commands are built on (claim the event ID, move the
    /// cursor, commit), for comparison with SPEC §9's two-insert figures.
    #[arg(long)]
    baseline: bool,
    /// Exit non-zero when a target is missed (the checks always count).
    #[arg(long)]
    require_targets: bool,
}

/// A member's command cycle: every profile command, each valid in the state the previous ones
/// left, so that every reply is `ok` and the cycle can repeat forever. `(body, messages it queues)`.
const CYCLE: [(&str, usize); 12] = [
    ("!status orange 300 rent", 1),
    ("!about I fix bikes on Saturdays", 1),
    ("!pay add bank \"DE89 3704 0044 0532 0130 00\"", 1),
    ("!status", 1),
    ("!pay", 2),
    ("!pay remove bank", 1),
    ("!lang ru", 1),
    ("!status red 200 7 roof repair", 1),
    ("!lang en", 1),
    ("!notify off", 1),
    ("!status green", 1),
    ("!help status", 1),
];

#[tokio::main]
async fn main() -> Result<()> {
    let Args { bench } = Args::parse();
    // `EXODUS_BENCH_LOG=sqlx=debug` shows every statement a run makes, on stderr.
    if let Ok(filter) = std::env::var("EXODUS_BENCH_LOG") {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
    match bench {
        Bench::B1(args) => b1(&args).await,
        Bench::B3(args) => b3::run(&args).await,
    }
}

async fn b1(args: &B1Args) -> Result<()> {
    ensure!(
        args.commands > 0 && args.rooms > 0 && args.batch > 0,
        "--commands, --rooms and --batch must be positive"
    );
    println!(
        "B1 in-process command throughput: {} commands over {} rooms, profile command mix of {}, up to {} of a room's commands at once ({} build)",
        args.commands,
        args.rooms,
        CYCLE.len(),
        args.batch,
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    let met =
        on_databases(args.db, args.postgres_url.as_deref(), "b1", async |name, url| match name {
            "SQLite" => run_b1(name, url, args, args.sqlite_workers, 10_000).await,
            _ => run_b1(name, url, args, args.postgres_workers, 3_000).await,
        })
        .await?;
    if !met && args.require_targets {
        bail!("B1 missed a target");
    }
    Ok(())
}

/// Runs `bench` on each database `db` names, each time on an empty one: SQLite in a temporary
/// directory, PostgreSQL in a throwaway database on the server of `postgres_url` (default
/// EXODUS_TEST_PG_URL or the local server), dropped afterwards. Returns whether every run met its
/// target.
async fn on_databases(
    db: Db,
    postgres_url: Option<&str>,
    name: &str,
    mut bench: impl AsyncFnMut(&'static str, &str) -> Result<bool>,
) -> Result<bool> {
    let mut met = true;
    if matches!(db, Db::Sqlite | Db::Both) {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join(format!("{name}.db")).display());
        met &= bench("SQLite", &url).await?;
    }
    if matches!(db, Db::Postgres | Db::Both) {
        let base =
            postgres_url.map_or_else(exodus_storage::testing::postgres_base_url, str::to_owned);
        let url = exodus_storage::testing::create_postgres_database(
            &base,
            &format!("exodus_{name}"),
        )
        .await
        .with_context(|| {
            format!(
                "PostgreSQL at {base} is needed for {} (--postgres-url or EXODUS_TEST_PG_URL)",
                name.to_uppercase()
            )
        })?;
        let result = bench("PostgreSQL", &url).await;
        exodus_storage::testing::drop_postgres_database(&url).await?;
        met &= result?;
    }
    Ok(met)
}

/// Runs B1 on one database; returns whether the target was met (the checks fail with an error).
async fn run_b1(name: &str, url: &str, args: &B1Args, workers: usize, target: u64) -> Result<bool> {
    let store = Store::connect(url).await.with_context(|| format!("connecting to {name}"))?;
    if args.baseline {
        baseline(name, &store, args.commands).await?;
    }
    let processed_before = usize::try_from(store.processed_count().await?)?;
    let settings = Settings {
        prefixes: vec!["!".into(), "/".into()],
        unit: "EUR".into(),
        default_language: Lang::En,
        timezone: chrono_tz::UTC,
    };
    let pipeline = Arc::new(Pipeline::new(store.clone(), settings));
    let workers = workers.clamp(1, args.rooms);

    // Room r holds member r's commands; worker w takes rooms r ≡ w (mod workers) and goes round
    // them, one command each, so that consecutive transactions touch different rooms.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let pipeline = Arc::clone(&pipeline);
        let rooms: Vec<usize> = (w..args.rooms).step_by(workers).collect();
        let total = args.commands;
        let all_rooms = args.rooms;
        let batch = args.batch;
        tasks.push(tokio::spawn(async move {
            worker(&pipeline, &rooms, all_rooms, total, batch).await
        }));
    }
    let mut handled = 0;
    let mut expected_messages = 0;
    let mut latencies = Vec::with_capacity(args.commands);
    for task in tasks {
        let report = task.await??;
        handled += report.handled;
        expected_messages += report.messages;
        latencies.extend(report.latencies);
    }
    let elapsed = started.elapsed();

    // Checks: every command recorded once, every expected reply queued.
    ensure!(handled == args.commands, "{name}: {handled} of {} commands handled", args.commands);
    let processed = usize::try_from(store.processed_count().await?)? - processed_before;
    ensure!(
        processed == args.commands,
        "{name}: {processed} processed rows for {} commands",
        args.commands
    );
    let queued = store.pending_outbox(i64::MAX).await?.len();
    ensure!(
        queued == expected_messages,
        "{name}: {queued} outbox rows, expected {expected_messages}"
    );
    store.close().await;

    latencies.sort_unstable();
    let rate = per_second(args.commands, elapsed);
    let met = rate >= target;
    println!(
        "B1 {name:<10} {workers} worker(s): {} commands in {} s = {rate} commands/s (target ≥ {target}: {}); \
         per call p50 {} ms, p99 {} ms; {queued} replies queued",
        args.commands,
        seconds(elapsed),
        if met { "met" } else { "NOT met" },
        millis(percentile(&latencies, 50)),
        millis(percentile(&latencies, 99)),
    );
    Ok(met)
}

/// The bare exactly-once transaction, one at a time: BEGIN, claim, cursor, COMMIT.
async fn baseline(name: &str, store: &Store, count: usize) -> Result<()> {
    let started = Instant::now();
    for n in 0..count {
        let event = EventRef {
            event_id: format!("$base-{n}"),
            room_id: "!base:bench.example".into(),
            origin_ts: i64::try_from(n)?,
        };
        let mut tx = store.begin().await?;
        ensure!(
            tx.claim_event(&event, exodus_storage::Outcome::Applied, Utc::now()).await?,
            "claimed twice"
        );
        tx.set_cursor(
            &event.room_id,
            &exodus_storage::Cursor {
                event_id: event.event_id.clone(),
                origin_ts: event.origin_ts,
            },
            Utc::now(),
        )
        .await?;
        tx.commit().await?;
    }
    let elapsed = started.elapsed();
    println!(
        "B1 {name:<10} baseline (claim + cursor, one transaction each): {} transactions/s",
        per_second(count, elapsed)
    );
    Ok(())
}

struct WorkerReport {
    handled: usize,
    messages: usize,
    latencies: Vec<Duration>,
}

/// Goes round `rooms`, handing the pipeline up to `batch` of each room's next commands at a time,
/// so that consecutive transactions touch different rooms. Command n goes to room
/// n % all_rooms, as the k-th command of that room's member (n = k * all_rooms + room).
async fn worker(
    pipeline: &Pipeline,
    rooms: &[usize],
    all_rooms: usize,
    total: usize,
    batch: usize,
) -> Result<WorkerReport> {
    let mut report = WorkerReport { handled: 0, messages: 0, latencies: Vec::new() };
    let mut first_k = 0;
    loop {
        let mut any = false;
        for &room in rooms {
            let member =
                MemberId::parse(&format!("@member{room}:bench.example")).context("member id")?;
            let mut events = Vec::new();
            for k in first_k..first_k + batch {
                let n = k * all_rooms + room;
                if n >= total {
                    break;
                }
                let (body, messages) = CYCLE[k % CYCLE.len()];
                events.push((n, body, messages));
            }
            if events.is_empty() {
                continue;
            }
            any = true;
            let incomings = events
                .iter()
                .map(|&(n, body, _)| {
                    Ok(Incoming {
                        event: EventRef {
                            event_id: format!("$b1-{n}"),
                            room_id: format!("!room{room}:bench.example"),
                            origin_ts: 1_700_000_000_000 + i64::try_from(n)?,
                        },
                        sender: member.clone(),
                        body,
                        in_dm: false,
                        sender_joined: true,
                        mentions: Vec::new(),
                        via: Via::Message,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let t = Instant::now();
            let outcome = pipeline.handle_batch(&incomings, &NoRooms, Utc::now()).await;
            report.latencies.push(t.elapsed());
            if let Some(e) = outcome.error {
                bail!("room {room}: {e}");
            }
            ensure!(
                outcome.handled.len() == events.len(),
                "room {room}: {} of {} handled",
                outcome.handled.len(),
                events.len()
            );
            for (handled, (_, body, messages)) in outcome.handled.iter().zip(&events) {
                match handled {
                    Handled::Applied { ok: true, .. } => {}
                    other => bail!("{body:?} in room {room}: {other:?}"),
                }
                report.handled += 1;
                report.messages += messages;
            }
        }
        if !any {
            return Ok(report);
        }
        first_k += batch;
    }
}

fn per_second(count: usize, elapsed: Duration) -> u64 {
    let micros = elapsed.as_micros().max(1);
    u64::try_from(u128::try_from(count).unwrap_or(u128::MAX) * 1_000_000 / micros)
        .unwrap_or(u64::MAX)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() - 1) * p / 100]
}

/// Seconds with two decimals.
fn seconds(d: Duration) -> String {
    let centis = d.as_millis() / 10;
    format!("{}.{:02}", centis / 100, centis % 100)
}

/// Milliseconds with two decimals (integer arithmetic: the workspace forbids floats).
fn millis(d: Duration) -> String {
    let micros = d.as_micros();
    format!("{}.{:02}", micros / 1000, micros % 1000 / 10)
}

mod b3 {
    //! B3's data: members m0…m(N-1), each the owner of a circle; 40 % of them orange. Record j
    //! goes to member j mod N's circle from another member, in one of ten classes (cycling
    //! through a member's records): three expire, one stays (made in the new cycle), two are
    //! obligations fulfilled last month (renewed where the owner is orange), one is past due
    //! (overdue), one is due later, two are older history.

    use super::*;
    use chrono::{DateTime, TimeZone as _};
    use exodus_commands::ledger::{Kind, Record, State};
    use exodus_commands::{Amount, Need};

    const TARGET: Duration = Duration::from_secs(5);
    const LOAD_CHUNK: usize = 50_000;

    fn at(month: u32, day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, month, day, 12, 0, 0).single().unwrap_or_default()
    }

    fn member(n: usize) -> Result<MemberId> {
        MemberId::parse(&format!("@m{n}:bench.example")).context("member id")
    }

    fn circle(n: usize) -> String {
        format!("!circle{n}:bench.example")
    }

    fn orange(n: usize) -> bool {
        n % 5 < 2
    }

    /// What the rollover must find: counts, and who hears of it.
    #[derive(Default)]
    struct Expected {
        expired: u64,
        renewed: u64,
        overdue: u64,
        stays_active: u64,
        stays_open: u64,
        told: Vec<bool>,
    }

    fn record(j: usize, members: usize, expected: &mut Expected) -> Result<Record> {
        let recipient = j % members;
        let mut giver = (j / members * 7_919 + j * 31 + 1) % members;
        if giver == recipient {
            giver = (giver + 1) % members;
        }
        let class = (j + j / members) % 10;
        let (kind, state, created, due, changed) = match class {
            0..=2 => (Kind::Intention, State::Active, at(11, 10), None, at(11, 10)),
            3 => (
                Kind::Intention,
                State::Active,
                Utc.with_ymd_and_hms(2026, 12, 1, 0, 1, 0).single().unwrap_or_default(),
                None,
                at(12, 1),
            ),
            4 | 5 => (Kind::Obligation, State::Fulfilled, at(11, 5), Some(at(11, 19)), at(11, 15)),
            6 => (Kind::Obligation, State::Open, at(11, 5), Some(at(11, 20)), at(11, 5)),
            7 => (Kind::Obligation, State::Open, at(11, 25), Some(at(12, 9)), at(11, 25)),
            8 => (Kind::Intention, State::Expired, at(10, 5), None, at(11, 1)),
            _ => (Kind::Obligation, State::Fulfilled, at(10, 5), Some(at(10, 19)), at(10, 20)),
        };
        let changes = match class {
            0..=2 => {
                expected.expired += 1;
                true
            }
            3 => {
                expected.stays_active += 1;
                false
            }
            4 | 5 if orange(recipient) => {
                expected.renewed += 1;
                true
            }
            6 => {
                expected.overdue += 1;
                expected.stays_open += 1;
                true
            }
            7 => {
                expected.stays_open += 1;
                false
            }
            _ => false,
        };
        if changes {
            expected.told[giver] = true;
            expected.told[recipient] = true;
        }
        let cents = 1_000 + i64::try_from(j % 50)? * 100;
        Ok(Record {
            id: 0,
            kind,
            giver: member(giver)?,
            recipient: member(recipient)?,
            room_id: circle(recipient),
            amount: Amount::from_cents(cents).context("amount")?,
            what: None,
            state,
            overdue: false,
            created_at: created,
            due,
            changed_at: changed,
        })
    }

    /// Writes the network in chunks (so that the loader's memory is not the run's); returns what
    /// the rollover must find.
    async fn load(store: &Store, members: usize, records: usize) -> Result<Expected> {
        let mut expected = Expected { told: vec![false; members], ..Expected::default() };
        let now = at(10, 1);
        let mut people = Vec::with_capacity(members);
        let mut circles = Vec::with_capacity(members);
        for n in 0..members {
            let need = if orange(n) {
                Need::Orange {
                    requested: Amount::from_cents(30_000).context("amount")?,
                    note: None,
                }
            } else {
                Need::Green
            };
            people.push((member(n)?, need));
            circles.push((member(n)?, circle(n)));
        }
        let mut tx = store.begin().await?;
        tx.bulk_load(&people, &circles, &[], now).await?;
        tx.commit().await?;
        drop((people, circles));
        for first in (0..records).step_by(LOAD_CHUNK) {
            let chunk = (first..(first + LOAD_CHUNK).min(records))
                .map(|j| record(j, members, &mut expected))
                .collect::<Result<Vec<_>>>()?;
            let mut tx = store.begin().await?;
            tx.bulk_load(&[], &[], &chunk, now).await?;
            tx.commit().await?;
        }
        Ok(expected)
    }

    pub(super) async fn run(args: &B3Args) -> Result<()> {
        ensure!(
            args.members >= 2,
            "--members must be at least 2 (a record's giver is another member)"
        );
        println!(
            "B3 rollover: {} members (each with a circle, 40 % orange), {} records ({} build)",
            args.members,
            args.records,
            if cfg!(debug_assertions) { "debug" } else { "release" }
        );
        let met = on_databases(args.db, args.postgres_url.as_deref(), "b3", async |name, url| {
            once(name, url, args).await
        })
        .await?;
        if !met && args.require_targets {
            bail!("B3 missed a target");
        }
        Ok(())
    }

    async fn once(name: &str, url: &str, args: &B3Args) -> Result<bool> {
        let loading = Instant::now();
        let store = Store::connect(url).await.with_context(|| format!("connecting to {name}"))?;
        let expected = load(&store, args.members, args.records).await?;
        // A store of its own for the run, as the bot would have, with the load's log written
        // into the database files first (a checkpoint), as it would long be after months of use.
        store.close().await;
        drop(store);
        let store = Store::connect(url).await?;
        store.checkpoint().await.with_context(|| {
            format!("{name}: writing the load's log into the database before the run")
        })?;
        println!("B3 {name:<10} loaded in {} s", seconds(loading.elapsed()));
        if let (Some(path), true) = (&args.save_sqlite, url.starts_with("sqlite:")) {
            ensure!(!path.exists(), "{} exists: --save-sqlite writes a new file", path.display());
            store.vacuum_into(path).await?;
            println!("B3 {name:<10} saved as it is before the rollover to {}", path.display());
        }

        let settings = Settings {
            prefixes: vec!["!".into()],
            unit: "EUR".into(),
            default_language: Lang::En,
            timezone: chrono_tz::UTC,
        };
        let pipeline = Pipeline::new(store.clone(), settings);
        let as_of = Utc.with_ymd_and_hms(2026, 12, 1, 0, 5, 0).single().context("as-of")?;
        let rss_before = memory::reset_peak()?;
        let started = Instant::now();
        let report = pipeline.run_rollover(as_of).await?;
        let elapsed = started.elapsed();
        let peak = memory::peak()?;
        let started = Instant::now();
        let again = pipeline.run_rollover(as_of).await?;
        let second = started.elapsed();

        // Checks against the generator.
        let count = |report: &exodus_commands::cycle::JobReport, what: &str| {
            report.counts.iter().find(|(n, _)| *n == what).map_or(0, |(_, c)| *c)
        };
        for (what, want) in [
            ("expired", expected.expired),
            ("renewed", expected.renewed),
            ("overdue", expected.overdue),
        ] {
            ensure!(
                count(&report, what) == want,
                "{name}: {what} {} records, the generator made {want}",
                count(&report, what)
            );
            ensure!(
                count(&again, what) == 0,
                "{name}: the second run {what} {} more",
                count(&again, what)
            );
        }
        let told = u64::try_from(expected.told.iter().filter(|t| **t).count())?;
        ensure!(
            report.messages == told,
            "{name}: {} digests for {told} members concerned",
            report.messages
        );
        ensure!(again.messages == 0, "{name}: the second run queued {} messages", again.messages);
        let counts = store.counts().await?;
        let stat = |what: &str| counts.iter().find(|(n, _)| *n == what).map_or(-1, |(_, c)| *c);
        let want = [
            ("records", u64::try_from(args.records)? + expected.renewed),
            ("active_intentions", expected.stays_active + expected.renewed),
            ("open_obligations", expected.stays_open),
            ("overdue_obligations", expected.overdue),
            ("outbox_pending", told),
        ];
        for (what, n) in want {
            ensure!(
                stat(what) == i64::try_from(n)?,
                "{name}: {} {what} after the run, expected {n}",
                stat(what)
            );
        }
        store.close().await;

        let met = elapsed < TARGET;
        println!(
            "B3 {name:<10} rollover in {} s (target < {} s: {}); {} expired, {} renewed, {} overdue, {} digests queued; \
             peak memory {} MiB (RSS {} MiB before the run); a second run: {} s, nothing changed or sent",
            seconds(elapsed),
            TARGET.as_secs(),
            if met { "met" } else { "NOT met" },
            expected.expired,
            expected.renewed,
            expected.overdue,
            report.messages,
            peak >> 20,
            rss_before >> 20,
            seconds(second),
        );
        Ok(met)
    }

    /// The process's resident memory from /proc (Linux).
    mod memory {
        use anyhow::{Context as _, Result};

        fn status_kib(field: &str) -> Result<u64> {
            let status = std::fs::read_to_string("/proc/self/status")
                .context("/proc/self/status (Linux) for peak memory")?;
            let line = status
                .lines()
                .find(|l| l.starts_with(field))
                .with_context(|| format!("{field} in /proc/self/status"))?;
            let kib = line.trim_start_matches(field).trim().trim_end_matches("kB").trim();
            kib.parse().with_context(|| format!("{field} {kib:?}"))
        }

        /// Resets the peak (VmHWM) to the current resident size, which it returns, in bytes.
        pub fn reset_peak() -> Result<u64> {
            std::fs::write("/proc/self/clear_refs", "5")
                .context("resetting the peak RSS (/proc/self/clear_refs)")?;
            Ok(status_kib("VmRSS:")? << 10)
        }

        /// The peak resident size since the last reset, in bytes.
        pub fn peak() -> Result<u64> {
            Ok(status_kib("VmHWM:")? << 10)
        }
    }
}

//! A seeded simulation of the pipeline, in the spirit of TigerBeetle's VOPR (SPEC §8: "a seeded
//! simulation of the pipeline with crashes at every failpoint, duplicates and 429s, on SQLite and
//! PostgreSQL").
//!
//! A simulated homeserver (`simulation/homeserver.rs`) holds rooms, their timelines and
//! membership; five members send commands, valid and not, in group rooms, a room anyone can read
//! and their direct chats, join and leave, and react 👍 to paid notices. The bot is
//! `Pipeline::handle_batch` and `Pipeline::member_left` (flood control on) driven by a mirror of
//! its sync (partial syncs, gaps caught up from the room cursor, late duplicate deliveries) and a
//! mirror of its outbox (round-robin, 429s, failing sends with backoff), with the jobs
//! `deadlines` and `reminders` now and then and the monthly `rollover` once the clock reaches
//! April (sometimes twice). It crashes before and after a command's or a leave's commit (the
//! hooks of `exodus_bot::failpoint::Hooks`), between sending a message and marking it sent, and
//! between steps; a restart is a new pipeline on the same database, every room caught up from
//! its cursor.
//!
//! After every step the invariants are checked (`simulation/sim.rs`: `after_batch`, `decided`,
//! `check_step`, `check_delivery`; `simulation/model.rs`): the database's event claims are
//! exactly the events the pipeline reported (nothing remains of a transaction that crashed
//! before its commit, no event is applied twice); every applied command has exactly one reply in
//! the outbox, into its own room, written with it, ignored ones (V6) none, refused ones (flood
//! control) at most one; the ledger equals the simulation's own model of it, record by record
//! (amounts conserved across partial commits, nothing lost or doubled, changes only from the
//! circle's room or the sender's DM while joined, V2; expiries and renewals as SPEC §4 says);
//! the figures and records `circle` and `mine` show equal the model's; no record or payment
//! details are delivered where the room's members may not see them (V1, V8), and the homeserver
//! never holds two replies to one command. At the end, faults off, everything is delivered and
//! every command event has exactly one reply on the homeserver (none when ignored).
//!
//! Runs: `cargo test -p exodus-bot --test simulation` runs [`DEFAULT_SEEDS_SQLITE`] seeds on
//! SQLite and [`DEFAULT_SEEDS_POSTGRES`] on PostgreSQL, of [`DEFAULT_STEPS`] steps each.
//! `EXODUS_SIM_SEEDS=<count>` runs seeds 1 to count on each, `EXODUS_SIM_STEPS=<n>` longer runs,
//! `EXODUS_SIM_SEED=<n>` replays one seed exactly (a failure prints its seed and the command
//! line), `EXODUS_SIM_TRACE=1` prints each seed's events. PostgreSQL comes from
//! `EXODUS_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`) and must answer: the
//! test fails otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "simulation/db.rs"]
mod db;
#[path = "simulation/homeserver.rs"]
mod homeserver;
#[path = "simulation/model.rs"]
mod model;
#[path = "simulation/sim.rs"]
mod sim;

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt as _;

use crate::db::{Backend, Databases};
use crate::sim::{Config, Sim, Stats};

/// Seeds in a plain `cargo test`, per backend (the two run in parallel; a step costs about three
/// times as much on PostgreSQL, in round trips).
const DEFAULT_SEEDS_SQLITE: u64 = 200;
const DEFAULT_SEEDS_POSTGRES: u64 = 50;
/// Steps per seed.
const DEFAULT_STEPS: usize = 50;
/// Seeds the planted bug gets to show itself in (it does in the first few).
const PLANTED_SEEDS: u64 = 40;

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(value.trim().parse().unwrap_or_else(|_| panic!("{name}={value:?} is not a number")))
}

fn seeds(backend: Backend) -> Vec<u64> {
    let default = match backend {
        Backend::Sqlite => DEFAULT_SEEDS_SQLITE,
        Backend::Postgres => DEFAULT_SEEDS_POSTGRES,
    };
    match env_number("EXODUS_SIM_SEED") {
        Some(seed) => vec![seed],
        None => (1..=env_number("EXODUS_SIM_SEEDS").unwrap_or(default)).collect(),
    }
}

fn steps() -> usize {
    env_number("EXODUS_SIM_STEPS").map_or(DEFAULT_STEPS, |n| n as usize)
}

/// Runs one seed; the failure's report names the seed and how to replay it.
async fn run_one(backend: Backend, url: &str, seed: u64, cfg: Config) -> Result<Stats, String> {
    let steps = cfg.steps;
    let planted = cfg.planted;
    let mut sim = Sim::new(url, seed, cfg).await;
    let outcome = AssertUnwindSafe(sim.run()).catch_unwind().await;
    let test = if planted { "simulation_catches_a_planted_bug" } else { backend.name() };
    let replay = format!(
        "replay: EXODUS_SIM_SEED={seed} EXODUS_SIM_STEPS={steps} cargo test -p exodus-bot \
         --test simulation {test}"
    );
    match outcome {
        Ok(Ok(())) => Ok(sim.stats.clone()),
        Ok(Err(failure)) => {
            let from = failure.trace.len().saturating_sub(60);
            Err(format!(
                "SIMULATION FAILED on {}, seed {seed}, step {} of {steps}: {}\n{replay}\n\
                 the last events:\n  {}",
                backend.name(),
                failure.step,
                failure.message,
                failure.trace[from..].join("\n  ")
            ))
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(format!("SIMULATION PANICKED on {}, seed {seed}: {what}\n{replay}", backend.name()))
        }
    }
}

async fn run_seeds(backend: Backend) {
    let databases = Databases::new(backend).await;
    let (seeds, steps) = (seeds(backend), steps());
    let started = Instant::now();
    let mut total = Stats::default();
    for &seed in &seeds {
        let url = databases.fresh(seed).await;
        match run_one(backend, &url, seed, Config { steps, planted: false }).await {
            Ok(stats) => total.add(&stats),
            Err(report) => {
                databases.drop_all().await;
                panic!("{report}");
            }
        }
    }
    databases.drop_all().await;
    eprintln!(
        "simulation on {}: {} seeds of {steps} steps in {:.1?}: {total:?}",
        backend.name(),
        seeds.len(),
        started.elapsed()
    );
    assert!(total.applied_ok > 0 && total.crashes_before_commit + total.crashes_after_commit > 0);
}

#[tokio::test]
async fn sqlite() {
    run_seeds(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres() {
    run_seeds(Backend::Postgres).await;
}

/// The simulation can fail: with replies queued outside the command's transaction (a bug
/// planted through `Hooks::planted_reply_outside_transaction`), a crash between the commit and
/// that second transaction leaves a command applied and never answered, and a seed reports it.
#[tokio::test]
async fn simulation_catches_a_planted_bug() {
    let backend = Backend::Sqlite;
    let databases = Databases::new(backend).await;
    let seeds = match env_number("EXODUS_SIM_SEED") {
        Some(seed) => vec![seed],
        None => (1..=PLANTED_SEEDS).collect(),
    };
    for seed in seeds {
        let url = databases.fresh(seed).await;
        let cfg = Config { steps: steps(), planted: true };
        if let Err(report) = run_one(backend, &url, seed, cfg).await {
            eprintln!("the planted bug was caught, as it must be:\n{report}");
            assert!(report.contains("seed"), "{report}");
            assert!(report.contains("replies"), "caught by another invariant: {report}");
            return;
        }
    }
    panic!("the simulation did not catch the planted bug in {PLANTED_SEEDS} seeds");
}

//! A seeded simulation of the pipeline, in the spirit of TigerBeetle's VOPR (SPEC §8: "a seeded
//! simulation of the pipeline with crashes at every failpoint, duplicates and 429s, on SQLite and
//! PostgreSQL").
//!
//! A simulated homeserver (`simulation/homeserver.rs`) holds rooms, their timelines and
//! membership; five members send commands, valid and not, in group rooms, a room anyone can read
//! and their direct chats, join and leave, and react to the bot's messages (👍 on paid notices,
//! 👍 / 👎 on claim messages, 👍 on initiatives' cards). Besides profiles, circles and the ledger
//! they bind pools and pledge, leave, claim and vote (SPEC §3.3), propose and back initiatives
//! and change their goals (§3.4), opt in and out of the set-off and keep obligations out of it
//! (§3.5), ask to be forgotten (§3.1), and one of them, the configured admin, asks for
//! `admin stats`, `admin run <job>` and `admin clearing preview` (§3.6; the others are refused).
//! The bot is `Pipeline::handle_batch`, `Pipeline::member_left` and
//! `Pipeline::initiative_interest` (flood control on) driven by a mirror of its sync (partial
//! syncs, gaps caught up from the room cursor, late duplicate deliveries) and a mirror of its
//! outbox (round-robin, 429s, failing sends with backoff, card edits), with the jobs
//! `deadlines`, `reminders` and `clearing` and a set-off run (`Pipeline::clearing`) now and then
//! and the monthly `rollover` once the clock reaches April (sometimes twice). It crashes before
//! and after a command's, a leave's or a job's commit (the hooks of `exodus_bot::failpoint`:
//! `Hooks` for the pipeline, `with_job_crash` for the jobs, armed at random or for a job's own
//! first commit point), between sending a message and marking it sent, and between steps; a
//! restart is a new pipeline on the same database that first runs again a job that crashed,
//! then catches every room up from its cursor.
//!
//! After every step the invariants are checked (`simulation/sim.rs`: `after_batch`, `decided`,
//! `check_step`, `check_delivery`; `simulation/jobs.rs`: `run_job_at`; `simulation/model.rs`,
//! with the families' parts in `pools.rs`, `initiatives.rs`, `clearing.rs`): the database's event
//! claims are exactly the events the pipeline reported (nothing remains of a transaction that
//! crashed before its commit, no event is applied twice); every applied command has exactly one
//! reply in the outbox, into its own room, written with it, ignored ones (V6) none, refused ones
//! (flood control) at most one; the ledger equals the simulation's own model of it, record by
//! record (amounts conserved across partial commits, nothing lost or doubled, changes only from
//! the record's room or the sender's DM while joined, V2; expiries and renewals as SPEC §4
//! says), and so do the pools' rules and pledges, the claims and their ballots, the initiatives,
//! the opt-ins and keeps; the figures and records `circle`, `mine`, `pool`, `claim`, `vote`,
//! `back`, `initiative(s)`, `clearing`, `keep`, `admin stats` and `admin clearing preview`
//! show equal the model's. Amounts are conserved: a claim's shares are the model's own
//! largest-remainder split of SPEC §3.3 over what each pledge still covers, they sum to what the
//! claim covers, and an approved claim's obligations are exactly those shares; an initiative's
//! backing is the sum of its backings, and funding turns exactly them into obligations; a
//! set-off changes only eligible obligations (open, both parties opted in, kept by neither),
//! leaves every member's net position as it was, clears the optimum and leaves no closed chain.
//! A job that crashed before its commit left nothing (no record, no message), after it all of
//! it, and its re-run does it once (a re-run after the commit sends nothing more); a job commits
//! only when run or asked for by the admin. No record or payment details are delivered where the
//! room's members may not see them (V1, V8), no claim, initiative or pool is written for anyone
//! but its room, its parties and members joined to it when the bot decides (V1), and the
//! homeserver never holds two replies to one command. At the end, faults off, everything is delivered and
//! every command event has exactly one reply on the homeserver (none when ignored).
//!
//! Product bugs the simulation found are stepped around, or checked against what the bot does
//! (`sim::KnownBugs`: `forget-me confirm` doing less than SPEC §3.1, issue 21):
//! `EXODUS_SIM_KNOWN_BUGS=forget-me` (or `all`) runs into it and checks the SPEC's version. Two
//! others it found are fixed: a room with initiatives bound as a circle or a pool (the members
//! try it, the model expects the refusal), a set-off part charged to the pool's cycle of the run
//! rather than its claim's (the model checks the part keeps its obligation's creation time).
//!
//! Runs: `cargo test -p exodus-bot --test simulation` runs [`DEFAULT_SEEDS_SQLITE`] seeds on
//! SQLite and [`DEFAULT_SEEDS_POSTGRES`] on PostgreSQL, of [`DEFAULT_STEPS`] steps each.
//! `EXODUS_SIM_SEEDS=<count>` runs that many seeds on each, from 1 (or from
//! `EXODUS_SIM_FIRST_SEED=<n>`, for seeds beyond the default ones), `EXODUS_SIM_STEPS=<n>` longer
//! runs, `EXODUS_SIM_SEED=<n>` replays one seed exactly (a failure prints its seed and the
//! command line), `EXODUS_SIM_TRACE=1` prints each seed's events. PostgreSQL comes from
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
use crate::sim::{Config, KnownBugs, Sim, Stats};

/// Seeds in a plain `cargo test`, per backend (the two run in parallel; a step costs about three
/// times as much on PostgreSQL, in round trips).
const DEFAULT_SEEDS_SQLITE: u64 = 90;
const DEFAULT_SEEDS_POSTGRES: u64 = 20;
/// Steps per seed: enough for a seed to get deep into a family (pools' claims voted and
/// approved, closed chains of obligations set off). A step checks more than it did with 200 and
/// 50 seeds of 50 steps; these take about as long.
const DEFAULT_STEPS: usize = 100;
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
        None => {
            let first = env_number("EXODUS_SIM_FIRST_SEED").unwrap_or(1);
            let count = env_number("EXODUS_SIM_SEEDS").unwrap_or(default);
            (first..first + count).collect()
        }
    }
}

fn steps() -> usize {
    env_number("EXODUS_SIM_STEPS").map_or(DEFAULT_STEPS, |n| n as usize)
}

/// Runs one seed; the failure's report names the seed and how to replay it.
async fn run_one(backend: Backend, url: &str, seed: u64, cfg: Config) -> Result<Stats, String> {
    let steps = cfg.steps;
    let planted = cfg.planted;
    let flags = match std::env::var("EXODUS_SIM_KNOWN_BUGS") {
        Ok(bugs) => format!("EXODUS_SIM_KNOWN_BUGS={bugs} "),
        Err(_) => String::new(),
    };
    let mut sim = Sim::new(url, seed, cfg).await;
    let outcome = AssertUnwindSafe(sim.run()).catch_unwind().await;
    let test = if planted { "simulation_catches_a_planted_bug" } else { backend.name() };
    let replay = format!(
        "replay: {flags}EXODUS_SIM_SEED={seed} EXODUS_SIM_STEPS={steps} cargo test -p exodus-bot \
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
        match run_one(
            backend,
            &url,
            seed,
            Config { steps, planted: false, known_bugs: KnownBugs::from_env() },
        )
        .await
        {
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
    if seeds.len() >= 20 {
        // A generator change that starves a family must not go unnoticed.
        let reached = [
            ("claims approved", total.claims_approved),
            ("initiatives funded", total.initiatives_funded),
            ("initiatives lapsed", total.initiatives_lapsed),
            ("set-off runs", total.clearing_runs),
            ("admin commands", total.admin_commands),
            ("jobs crashed before their commit", total.job_crashes_before_commit),
            ("jobs crashed after their commit", total.job_crashes_after_commit),
        ];
        let missed: Vec<&str> = reached.iter().filter(|(_, n)| *n == 0).map(|(w, _)| *w).collect();
        assert!(missed.is_empty(), "the seeds never reached {missed:?}: {total:?}");
    }
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
        let cfg = Config { steps: steps(), planted: true, known_bugs: KnownBugs::from_env() };
        if let Err(report) = run_one(backend, &url, seed, cfg).await {
            eprintln!("the planted bug was caught, as it must be:\n{report}");
            assert!(report.contains("seed"), "{report}");
            assert!(report.contains("replies"), "caught by another invariant: {report}");
            return;
        }
    }
    panic!("the simulation did not catch the planted bug in {PLANTED_SEEDS} seeds");
}

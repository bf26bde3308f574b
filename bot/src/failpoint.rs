//! Test hooks, named by `EXODUS_TEST_FAILPOINT`, that make the process fail at a chosen point
//! (the end-to-end tests of crashes and poison messages). They exist only in builds with the
//! cargo feature `failpoints`, which the end-to-end test crate turns on for the workspace's test
//! builds (`cargo test --workspace`) and release builds do not: there `EXODUS_TEST_FAILPOINT` is
//! ignored, with a warning at start.
//!
//! - `rollover-before-commit`: the process aborts (as a `SIGKILL` would end it) after the
//!   rollover's statements, before its commit.
//! - `command-panic`: a command whose text contains `failpoint-panic` panics inside its
//!   transaction, every time.
//! - `outbox-panic`: the outbox task panics before its first round.
//! - `outbox-before-mark`: the process aborts after the outbox sent a tagged message (a paid
//!   notice, a claim, a card), before it marks it sent.
//! - `outbox-late-mark`: the outbox holds the mark of a tagged message it sent for 15 s.
//!
//! Besides these, [`Hooks`] (same feature) let a test in the same process crash a pipeline at a
//! transaction's commit and plant a bug, and [`with_job_crash`] crash the scheduled jobs at
//! theirs: the seeded simulation, `bot/tests/simulation.rs`.

/// The environment variable that names the failpoint to arm.
pub const VARIABLE: &str = "EXODUS_TEST_FAILPOINT";

/// Whether the failpoint `name` is armed in this process.
#[cfg(feature = "failpoints")]
pub fn armed(name: &str) -> bool {
    static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ARMED.get_or_init(|| std::env::var(VARIABLE).ok()).as_deref() == Some(name)
}

/// Whether the failpoint `name` is armed in this process: never, in a build without them.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn armed(_name: &str) -> bool {
    false
}

/// Says at start which failpoint is armed, or that the variable is ignored in this build.
pub fn log_at_start() {
    let Ok(name) = std::env::var(VARIABLE) else { return };
    if cfg!(feature = "failpoints") {
        tracing::warn!(failpoint = %name, "test failpoint armed");
    } else {
        tracing::warn!(failpoint = %name, "{VARIABLE} is ignored: this build has no failpoints");
    }
}

/// Where a transaction reaches the in-process crash hook ([`Hooks::crash`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// Everything of the transaction is written (the event claims, the room cursor, the effects,
    /// the outbox rows) and it is about to commit: a crash here must leave nothing of it.
    BeforeCommit,
    /// The transaction has committed and the caller has not been told yet: a crash here must
    /// leave all of it, and the outbox sends its messages after the restart.
    AfterCommit,
}

/// In-process test hooks of one [`crate::pipeline::Pipeline`] (the seeded simulation,
/// `bot/tests/simulation.rs`), set with `Pipeline::with_hooks`. They exist only in builds with
/// the feature `failpoints`; without it the pipeline has no such field and its checks are
/// `Ok(())`, inlined away.
#[cfg(feature = "failpoints")]
#[derive(Clone, Default)]
pub struct Hooks {
    /// Consulted at each [`Point`] of a command's transaction (`site` "command") and of a
    /// member's leave (`site` "member-left"; the jobs' are [`with_job_crash`]'s): `true` makes
    /// the pipeline return a database error there instead of going on, as if the process had
    /// died (before the commit the transaction is dropped, so it rolls back). A dead process
    /// does nothing more, so the hook should keep answering `true` once it did; and since
    /// `handle_batch` retries a failed group event by event (finding committed ones decided),
    /// what it reports after a crash is not to be trusted: the simulation reads what was
    /// committed from the database.
    pub crash: Option<Crash>,
    /// A deliberate bug, to show that the simulation catches it: a command's replies are queued
    /// outside its transaction (in one of their own, after its commit), so that a crash in
    /// between leaves a command applied and never answered.
    pub planted_reply_outside_transaction: bool,
}

#[cfg(feature = "failpoints")]
impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("crash", &self.crash.is_some())
            .field("planted_reply_outside_transaction", &self.planted_reply_outside_transaction)
            .finish()
    }
}

/// A crash hook: consulted at each [`Point`] of a transaction, with the name of its site; `true`
/// makes the transaction fail there as if the process had died (see [`Hooks::crash`]).
#[cfg(feature = "failpoints")]
pub type Crash = std::sync::Arc<dyn Fn(Point, &'static str) -> bool + Send + Sync>;

#[cfg(feature = "failpoints")]
tokio::task_local! {
    static JOB_CRASH: Crash;
}

/// Runs `future` with `crash` consulted at the commits of the scheduled jobs it runs
/// (`Pipeline::run_job`, directly or through `admin run`): sites `rollover`, `reminders` and
/// `deadlines` at [`Point::BeforeCommit`] and [`Point::AfterCommit`] of their transaction,
/// `clearing` at [`Point::AfterCommit`] (its transaction is `Pipeline::clearing`'s, in
/// `clearing.rs`, which has no hook yet). The jobs reach it through a task-local rather than
/// through the pipeline's [`Hooks`], which are private to `pipeline.rs`; outside such a future
/// (the scheduler of a running bot) nothing is consulted.
#[cfg(feature = "failpoints")]
pub async fn with_job_crash<F: std::future::Future>(crash: Crash, future: F) -> F::Output {
    JOB_CRASH.scope(crash, future).await
}

/// A simulated crash at `point` of job `site`'s transaction, if the hook of
/// [`with_job_crash`] asks for one: the error to return instead of going on (before the commit
/// the transaction is dropped, so it rolls back).
#[cfg(feature = "failpoints")]
pub fn job_crash_at(point: Point, site: &'static str) -> Result<(), exodus_storage::StoreError> {
    match JOB_CRASH.try_with(|crash| crash(point, site)) {
        Ok(true) => Err(crashed(point, site)),
        _ => Ok(()),
    }
}

/// Without the feature `failpoints`: never.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn job_crash_at(_point: Point, _site: &'static str) -> Result<(), exodus_storage::StoreError> {
    Ok(())
}

/// The error a crash hook makes the pipeline return (see [`Hooks::crash`]).
#[cfg(feature = "failpoints")]
pub fn crashed(point: Point, site: &'static str) -> exodus_storage::StoreError {
    let what = format!("test failpoint: simulated crash {point:?} ({site})");
    exodus_storage::StoreError::Database(sqlx::Error::Io(std::io::Error::other(what)))
}

//! The scheduled jobs (SPEC §4) and `admin` (SPEC §3.6): a job's digest for one member,
//! `admin run`, `admin stats`, `admin outbox retry|drop`.

// The doc comments below are the documentation of the wire format: none may be missing.
#![warn(missing_docs)]

use std::collections::BTreeMap;

use serde::ser::SerializeMap as _;
use serde::{Serialize, Serializer};

use crate::cycle::{Job, Marked};
use crate::ledger::RecordId;
use crate::render::result::{Coded, Instant, Omitted};
use crate::{Amount, MemberId};

/// A scheduled job's digest for one member (SPEC §4, §5): the records of theirs it changed or
/// reminds them of, as many as fit.
///
/// Kept for compatibility: the list is keyed by the job's name (`rollover`, `reminders`,
/// `deadlines` or `clearing`: `{"rollover": [...]}`), and so is what was cut of it
/// (`{"more": {"rollover": {"count": …, "amount": …}}}`, `amount`: the sum of the amounts cut;
/// `more` left out when nothing was).
#[derive(Debug)]
pub struct Digest<'a> {
    /// The job, whose name keys the list.
    pub job: Job,
    /// The records marked, as many as fit: `{"<job>": [...]}`.
    pub items: Vec<DigestEntry<'a>>,
    /// What was cut: `{"more": {"<job>": ...}}`; left out when nothing was.
    pub more: Option<Omitted>,
}

impl Serialize for Digest<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(self.job.name(), &self.items)?;
        if let Some(more) = &self.more {
            map.serialize_entry("more", &BTreeMap::from([(self.job.name(), more)]))?;
        }
        map.end()
    }
}

/// A record a job marked, in a member's digest.
#[derive(Debug, Serialize)]
pub struct DigestEntry<'a> {
    /// What the job did or says: `expired` (an intention never committed in the past cycle),
    /// `renewed` (a new intention renewing the obligation `renews`), `overdue`, `due` (a reminder
    /// to the giver), `unconfirmed` (a reminder to the recipient of a reported fulfilment).
    pub change: Coded<Marked>,
    /// The record's `#N` (for `renewed`, the new intention's).
    pub id: RecordId,
    /// Who gives (or gave) it.
    pub giver: &'a MemberId,
    /// Who receives it.
    pub recipient: &'a MemberId,
    /// The record's amount.
    pub amount: Amount,
    /// When the obligation falls due; `null` for an intention.
    pub due: Option<Instant>,
    /// `renewed`: the obligation renewed. Left out for the other changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renews: Option<RecordId>,
}

impl<'a> From<&'a crate::cycle::Marking> for DigestEntry<'a> {
    fn from(m: &'a crate::cycle::Marking) -> DigestEntry<'a> {
        DigestEntry {
            change: Coded(m.marked),
            id: m.id,
            giver: &m.giver,
            recipient: &m.recipient,
            amount: m.amount,
            due: m.due.map(Instant),
            renews: match m.marked {
                Marked::Renewed { from } => Some(from),
                _ => None,
            },
        }
    }
}

/// `admin run <job> [as-of <time>]`: what the job did.
///
/// Kept for compatibility: the job's counts are fields of the object itself, each under its name
/// (`expired`, `renewed`, `overdue`, `reminded`, `collections_ended`, …, in the job's fixed
/// order), not an object of their own.
#[derive(Debug, Serialize)]
pub struct JobRun {
    /// `rollover`, `reminders`, `deadlines` or `clearing`.
    pub job: &'static str,
    /// The time the job ran as if the clock showed it.
    pub as_of: Instant,
    /// What changed or was sent, by name, at the top level.
    #[serde(flatten)]
    pub counts: BTreeMap<&'static str, u64>,
    /// Messages written to the outbox.
    pub messages: u64,
}

/// `admin stats`: counts of what the bot holds, the last runs of the jobs, and the outbox's
/// destinations that fail.
#[derive(Debug, Serialize)]
pub struct Stats<'a> {
    /// How many of each thing the bot holds, by name.
    pub counts: BTreeMap<&'static str, i64>,
    /// The last runs of the jobs.
    pub jobs: Vec<JobRunItem<'a>>,
    /// The destinations the outbox cannot send to.
    pub destinations: Vec<FailingDestination<'a>>,
}

/// A run of a job in [`Stats`].
#[derive(Debug, Serialize)]
pub struct JobRunItem<'a> {
    /// The job's name.
    pub job: &'a str,
    /// The scheduled instant it stood for, or the `as-of` time of an admin's run.
    pub slot: Instant,
    /// The process that ran it, or the admin.
    pub runner: &'a str,
    /// When it finished; `null` while running.
    pub finished: Option<Instant>,
    /// What it did; `null` while running.
    pub summary: Option<&'a str>,
    /// Run by an admin (`admin run`), not by the schedule.
    pub manual: bool,
}

impl<'a> From<&'a crate::cycle::JobRunView> for JobRunItem<'a> {
    fn from(r: &'a crate::cycle::JobRunView) -> JobRunItem<'a> {
        JobRunItem {
            job: &r.job,
            slot: Instant(r.slot),
            runner: &r.runner,
            finished: r.finished.map(Instant),
            summary: r.summary.as_deref(),
            manual: r.manual,
        }
    }
}

/// A destination (a room, or a member's DM) the outbox cannot send to.
#[derive(Debug, Serialize)]
pub struct FailingDestination<'a> {
    /// The room's ID.
    pub destination: &'a str,
    /// Failed attempts in a row.
    pub failures: i32,
    /// Since when it fails.
    pub since: Instant,
    /// Given up until an admin retries or drops it (else backing off).
    pub failed: bool,
    /// Messages waiting for it.
    pub pending: i64,
    /// The last error, whole.
    pub last_error: &'a str,
}

impl<'a> From<&'a crate::cycle::FailingDestination> for FailingDestination<'a> {
    fn from(d: &'a crate::cycle::FailingDestination) -> FailingDestination<'a> {
        FailingDestination {
            destination: &d.destination,
            failures: d.failures,
            since: Instant(d.since),
            failed: d.failed,
            pending: d.pending,
            last_error: &d.last_error,
        }
    }
}

/// `admin outbox retry|drop`: how many destinations and messages it concerned.
#[derive(Debug, Serialize)]
pub struct OutboxChanged<'a> {
    /// `retry` or `drop`.
    pub action: &'static str,
    /// The destination named; `null` for `retry all`.
    pub destination: Option<&'a str>,
    /// How many destinations it concerned.
    pub destinations: u64,
    /// How many messages it concerned.
    pub messages: u64,
}

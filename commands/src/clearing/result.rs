//! Clearing (SPEC §3.5): `clearing`, `clearing on|off`, `keep`/`unkeep`, `admin clearing
//! preview|run`, and the digest of a run's changes each party receives.

// The doc comments below are the documentation of the wire format: none may be missing.
#![warn(missing_docs)]

use serde::Serialize;

use crate::ledger::RecordId;
use crate::render::result::ledger::Record;
use crate::render::result::{Instant, Omitted};
use crate::{Amount, MemberId};

/// `clearing`: the member's opt-in and the last run's changes to their own obligations (DM).
#[derive(Debug, Serialize)]
pub struct ClearingState<'a> {
    /// The member takes part in set-offs.
    pub opted_in: bool,
    /// The last run. Left out when there was none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<LastClearing<'a>>,
}

/// The last clearing run, as one member saw it.
#[derive(Debug, Serialize)]
pub struct LastClearing<'a> {
    /// When it ran.
    pub at: Instant,
    /// `changes` (perhaps none) and, when cut, `more`.
    #[serde(flatten)]
    pub changes: Changes<'a>,
}

/// A member's changes of a clearing run, as many as fit.
#[derive(Debug, Serialize)]
pub struct Changes<'a> {
    /// The changes shown, by member, then by record.
    pub changes: Vec<ClearingChange<'a>>,
    /// What was cut; left out when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more: Option<MoreChanges>,
}

/// `more` of [`Changes`] (`amount`: what was set off on the changes cut).
#[derive(Debug, Serialize)]
pub struct MoreChanges {
    /// The changes cut.
    pub changes: Omitted,
}

/// One obligation a clearing run set off, in all or in part.
#[derive(Debug, Serialize)]
pub struct ClearingChange<'a> {
    /// The obligation's `#N`.
    pub id: RecordId,
    /// Who owes it.
    pub giver: &'a MemberId,
    /// To whom it is owed.
    pub recipient: &'a MemberId,
    /// What was owed before the run.
    pub before: Amount,
    /// What the run set off.
    pub set_off: Amount,
    /// What is still owed.
    pub after: Amount,
    /// `cleared` (set off whole) or `open`.
    pub state: &'static str,
    /// The record holding the part set off of an obligation set off in part; `null` otherwise
    /// (and before the run is applied).
    pub part: Option<RecordId>,
}

impl<'a> From<&'a crate::clearing::setoff::Change> for ClearingChange<'a> {
    fn from(c: &'a crate::clearing::setoff::Change) -> ClearingChange<'a> {
        ClearingChange {
            id: c.id,
            giver: &c.giver,
            recipient: &c.recipient,
            before: c.before,
            set_off: c.set_off,
            after: c.after(),
            state: if c.cleared() { "cleared" } else { "open" },
            part: c.part,
        }
    }
}

/// `clearing on|off`.
#[derive(Debug, Serialize)]
pub struct ClearingSet {
    /// The member now takes part in set-offs.
    pub opted_in: bool,
    /// `false` when it already was so.
    pub changed: bool,
}

/// `keep #N` / `unkeep #N`.
#[derive(Debug, Serialize)]
pub struct Kept<'a> {
    /// The obligation's fields, at the top level.
    #[serde(flatten)]
    pub record: Record<'a>,
    /// The sender keeps it out of set-offs now.
    pub kept: bool,
    /// The other party keeps it (so it stays out either way).
    pub kept_by_other: bool,
}

/// `admin clearing preview|run`: the figures of a set-off now (SPEC §3: `eligible`, `cleared`,
/// `obligations_changed`).
#[derive(Debug, Serialize)]
pub struct ClearingTotals {
    /// `run`: the set-off was applied; `preview`: not.
    pub applied: bool,
    /// How many obligations were eligible.
    pub eligible: u64,
    /// What they amounted to.
    pub total: Amount,
    /// The total set off.
    pub cleared: Amount,
    /// The bound no set-off can exceed.
    pub bound: Amount,
    /// How many obligations the set-off changed.
    pub obligations_changed: u64,
}

/// After a run, to each party: the changes to their own obligations (V1).
#[derive(Debug, Serialize)]
pub struct ClearingDigest<'a> {
    /// How many of the party's obligations changed (all of them, those cut included).
    pub obligations_changed: usize,
    /// What was set off on them.
    pub cleared: Amount,
    /// `changes` and, when cut, `more`.
    #[serde(flatten)]
    pub changes: Changes<'a>,
}

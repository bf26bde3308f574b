//! A clearing run as the bot applies it (SPEC §3.5), around the optimal set-off of
//! [`crate::clearing::solver`]: the obligations it is run over, what it changes on each record,
//! each member's digest of the changes to their own obligations (V1), and the decisions of
//! `clearing [on|off]`, `keep #N` and `unkeep #N`.
//!
//! An open obligation is eligible when both parties opted in and neither kept it; storage selects
//! them. A record whose whole amount is set off becomes `cleared` (counted as fulfilled 👍); a
//! record set off in part keeps the rest open and the set-off part becomes a record of its own,
//! `cleared`, so that what counts as fulfilled and what is still owed stay two records each
//! showing its amount.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::amount::Amount;
use crate::clearing::{self, ClearingError, Obligation};
use crate::command::ClearingCommand;
use crate::error::{CommandError, ErrorCode};
use crate::ids::MemberId;
use crate::ledger::{Kind, Record, RecordId, State};
use crate::outcome::{Effect, Outcome, Reply};
use crate::text::Text;

/// An eligible obligation: `giver` owes `recipient` `amount`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eligible {
    pub id: RecordId,
    pub giver: MemberId,
    pub recipient: MemberId,
    pub amount: Amount,
}

/// What a run does to one obligation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    pub id: RecordId,
    pub giver: MemberId,
    pub recipient: MemberId,
    /// The amount owed before the run.
    pub before: Amount,
    pub set_off: Amount,
    /// The record holding the set-off part of an obligation set off in part (assigned when the
    /// run is applied).
    pub part: Option<RecordId>,
}

impl Change {
    /// What is still owed on the record.
    pub fn after(&self) -> Amount {
        self.before.saturating_sub(self.set_off)
    }

    /// Set off whole: the record is `cleared`.
    pub fn cleared(&self) -> bool {
        self.after().is_zero()
    }
}

/// The set-off over the eligible obligations and its figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// How many obligations were eligible.
    pub eligible: u64,
    /// What they amounted to.
    pub total: Amount,
    /// The total set off: the most any set-off can clear of them.
    pub cleared: Amount,
    /// The bound no set-off can exceed: the total minus every member's positive net position.
    pub bound: Amount,
    /// The obligations it changes, by record number.
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// The optimal set-off over `eligible` (any order; the result does not depend on it). Members are
/// numbered in the order of their user IDs and obligations taken by record number, so the same
/// obligations always give the same set-off. Obligations of a member to themselves take no part.
pub fn plan(eligible: &[Eligible]) -> Result<Plan, ClearingError> {
    let mut obligations: Vec<&Eligible> =
        eligible.iter().filter(|e| e.giver != e.recipient && !e.amount.is_zero()).collect();
    obligations.sort_by_key(|e| e.id);
    obligations.dedup_by_key(|e| e.id);
    let members: BTreeSet<&MemberId> =
        obligations.iter().flat_map(|e| [&e.giver, &e.recipient]).collect();
    let index: BTreeMap<&MemberId, u32> =
        members.iter().enumerate().map(|(i, m)| (*m, i as u32)).collect();
    let edges: Vec<Obligation> = obligations
        .iter()
        .map(|e| Obligation {
            debtor: index[&e.giver],
            creditor: index[&e.recipient],
            amount: e.amount.cents(),
        })
        .collect();
    let count = members.len() as u32;
    let set_off = clearing::optimal_set_off(count, &edges)?;
    let totals = clearing::totals(count, &edges, &set_off);
    let changes = obligations
        .iter()
        .zip(&set_off)
        .filter(|(_, s)| **s > 0)
        .map(|(e, s)| Change {
            id: e.id,
            giver: e.giver.clone(),
            recipient: e.recipient.clone(),
            before: e.amount,
            set_off: Amount::from_stored_cents(*s),
            part: None,
        })
        .collect();
    Ok(Plan {
        eligible: obligations.len() as u64,
        total: Amount::from_stored_cents(totals.total_debt),
        cleared: Amount::from_stored_cents(totals.cleared),
        bound: Amount::from_stored_cents(totals.bound),
        changes,
    })
}

/// The records after a run: the obligation with what is still owed (or `cleared` when nothing
/// is), and for a partial set-off the set-off part as a `cleared` record of its own, numbered
/// `part`. The part keeps the obligation's creation time: it is a piece of that obligation, so a
/// pool still counts it in the cycle of the claim that made it (SPEC §3.3), not in the cycle the
/// set-off ran.
pub fn apply(
    record: &Record,
    change: &Change,
    part: Option<RecordId>,
    now: DateTime<Utc>,
) -> (Record, Option<Record>) {
    let mut kept = record.clone();
    kept.changed_at = now;
    if change.cleared() {
        kept.state = State::Cleared;
        return (kept, None);
    }
    kept.amount = change.after();
    let part = part.map(|id| Record {
        id,
        amount: change.set_off,
        state: State::Cleared,
        changed_at: now,
        ..record.clone()
    });
    (kept, part)
}

/// One line of a member's clearing digest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClearingItem {
    pub change: Change,
    /// The reader owes it (else is owed it).
    pub as_giver: bool,
}

/// One digest per party of the changes: each party hears of their own obligations only (V1).
/// Deterministic: by member, then by record.
pub fn digests(changes: &[Change]) -> BTreeMap<MemberId, Vec<ClearingItem>> {
    let mut out: BTreeMap<MemberId, Vec<ClearingItem>> = BTreeMap::new();
    for change in changes {
        out.entry(change.giver.clone())
            .or_default()
            .push(ClearingItem { change: change.clone(), as_giver: true });
        out.entry(change.recipient.clone())
            .or_default()
            .push(ClearingItem { change: change.clone(), as_giver: false });
    }
    for items in out.values_mut() {
        items.sort();
    }
    out
}

/// The last run that changed anything, as one member sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastClearing {
    pub at: DateTime<Utc>,
    /// The member's own obligations it changed (perhaps none).
    pub items: Vec<ClearingItem>,
}

/// What a clearing command is decided on.
#[derive(Clone, Copy, Debug)]
pub struct ClearingFacts<'a> {
    pub sender: &'a MemberId,
    pub in_dm: bool,
    pub room_id: &'a str,
    /// The sender's opt-in.
    pub opted_in: bool,
    /// `keep`/`unkeep`: the record named, when there is one.
    pub record: Option<&'a Record>,
    /// `keep`/`unkeep`: the sender keeps the record now.
    pub kept_by_sender: bool,
    /// `keep`/`unkeep`: the other party keeps it.
    pub kept_by_other: bool,
}

/// What to write for a clearing command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClearingWrite {
    /// The member's opt-in to clearing.
    OptIn { member: MemberId, on: bool },
    /// The member keeps obligation `#id` out of clearing, or lets it back in.
    Keep { id: RecordId, member: MemberId, keep: bool },
}

/// Decides `clearing [on|off]`, `keep #N`, `unkeep #N`. `clearing` alone shows the member's own
/// obligations, so only in the DM; `keep`/`unkeep` only for a party to an obligation not yet
/// settled, from its room or the DM (V1, V2).
pub fn decide_clearing(
    cmd: &ClearingCommand,
    f: &ClearingFacts<'_>,
    last: Option<LastClearing>,
) -> Result<Outcome, CommandError> {
    let decision = match *cmd {
        ClearingCommand::Show => {
            if !f.in_dm {
                return Err(CommandError::new(ErrorCode::Forbidden, Text::new("err-dm-only"))
                    .with_usage("clearing"));
            }
            Outcome::read(Reply::ClearingState { on: f.opted_in, last })
        }
        ClearingCommand::Set(on) => {
            let write = ClearingWrite::OptIn { member: f.sender.clone(), on };
            Outcome::new(
                vec![Effect::Clearing(write)],
                Reply::ClearingSet { on, changed: on != f.opted_in },
            )
        }
        ClearingCommand::Keep { id, keep } => {
            let name = if keep { "keep" } else { "unkeep" };
            let not_found = || {
                CommandError::new(ErrorCode::NotFound, Text::new("err-no-record").num("id", id))
                    .with_usage(name)
            };
            let record = f.record.filter(|r| r.id == id).ok_or_else(not_found)?;
            if &record.giver != f.sender && &record.recipient != f.sender {
                return Err(not_found());
            }
            if !f.in_dm && f.room_id != record.room_id {
                return Err(CommandError::new(
                    ErrorCode::Forbidden,
                    Text::new("err-keep-wrong-room").num("id", id),
                )
                .with_usage(name));
            }
            if record.kind != Kind::Obligation || !matches!(record.state, State::Open | State::Paid)
            {
                let text =
                    Text::new("err-keep-state").num("id", id).arg("state", record.shown_state());
                return Err(CommandError::new(ErrorCode::InvalidState, text).with_usage(name));
            }
            let effects = if keep == f.kept_by_sender {
                Vec::new()
            } else {
                vec![Effect::Clearing(ClearingWrite::Keep { id, member: f.sender.clone(), keep })]
            };
            let reply =
                Reply::Kept { record: record.clone(), kept: keep, by_other: f.kept_by_other };
            Outcome::new(effects, reply)
        }
    };
    Ok(decision)
}

#[cfg(test)]
mod tests;

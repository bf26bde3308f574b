//! Records of the ledger (SPEC §3.2): the record object, the replies of the ledger commands
//! (`intend`, `commit`, `withdraw`, `remind`, `paid`, `confirm`, `forgive`), their notifications,
//! and the lists of records (`mine`, `archive`, `circle`).

// The doc comments below are the documentation of the wire format: none may be missing.
#![warn(missing_docs)]

use serde::Serialize;

use crate::render::result::constant;

use crate::ledger::{Kind, RecordId};
use crate::render::result::profile::Reliability;
use crate::render::result::{Coded, Instant, Omitted};
use crate::{Amount, MemberId};

constant!(
    /// `notice` of [`IntentionCancelled`].
    IntentionCancelledNotice = "intention-cancelled"
);
constant!(
    /// `notice` of [`LeftCircle`].
    LeftCircleNotice = "left-circle"
);

/// A record (SPEC §3): `{id, kind, from, to, amount, state, due, for}`.
///
/// Kept for compatibility: a record names its parties `from` and `to`, where a job's digest
/// ([`jobs::DigestEntry`]) and a clearing's changes ([`clearing::ClearingChange`]) say `giver` and
/// `recipient`.
///
/// [`jobs::DigestEntry`]: crate::render::result::jobs::DigestEntry
/// [`clearing::ClearingChange`]: crate::render::result::clearing::ClearingChange
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    /// `#N`: one sequence for intentions and obligations.
    pub id: RecordId,
    /// `intention` or `obligation`.
    pub kind: Coded<Kind>,
    /// The giver.
    pub from: &'a MemberId,
    /// The recipient: the circle's owner (or an initiative's proposer, a claimant).
    pub to: &'a MemberId,
    /// What is still promised (a partial commit moves part of an intention into an obligation).
    pub amount: Amount,
    /// `active`, `open`, `paid`, `fulfilled`, `forgiven`, `withdrawn`, `expired`, `cancelled`,
    /// `overdue` (an open obligation past its due date, still payable) or `cleared`.
    pub state: &'static str,
    /// When an obligation falls due; `null` for an intention.
    pub due: Option<Instant>,
    /// Non-monetary aid: what is given (`for "2h plumbing"`); `null` for money.
    #[serde(rename = "for")]
    pub what: Option<&'a str>,
}

impl<'a> From<&'a crate::ledger::Record> for Record<'a> {
    fn from(r: &'a crate::ledger::Record) -> Record<'a> {
        Record {
            id: r.id,
            kind: Coded(r.kind),
            from: &r.giver,
            to: &r.recipient,
            amount: r.amount,
            state: r.shown_state(),
            due: r.due.map(Instant),
            what: r.what.as_deref(),
        }
    }
}

/// A list of records, as many as fit in the message (SPEC §8).
#[derive(Debug, Serialize)]
pub struct RecordList<'a> {
    /// The records shown, in order.
    pub records: Vec<Record<'a>>,
    /// What was cut; left out when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more: Option<MoreRecords>,
}

/// `more` of a [`RecordList`].
#[derive(Debug, Serialize)]
pub struct MoreRecords {
    /// The records cut.
    pub records: OmittedRecords,
}

/// The records cut from a [`RecordList`]: with the open ❤️ and 🤝 among them, so that what is
/// listed and `more` still add up to the figures shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OmittedRecords {
    /// How many records were cut, and the sum of their amounts.
    #[serde(flatten)]
    pub omitted: Omitted,
    /// The sum of the open intentions among them.
    pub intentions: Amount,
    /// The sum of the open obligations among them.
    pub obligations: Amount,
}

/// A ledger command's reply: the record it created or acted on (for `commit`, the new
/// obligation).
#[derive(Debug, Serialize)]
pub struct RecordReply<'a> {
    /// The record's fields, at the top level.
    #[serde(flatten)]
    pub record: Record<'a>,
    /// A partial `commit`: what stays an intention. Left out otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rest: Option<Record<'a>>,
}

/// A notification about a record (SPEC §5).
#[derive(Debug, Serialize)]
pub struct Noticed<'a> {
    /// What happened: `new-intention`, `intention-changed`, `intention-withdrawn`,
    /// `new-obligation`, `reminder`, `paid-reported`, `confirmed`, `forgiven`,
    /// `collection-complete-cancelled`, `pool-obligation`.
    pub notice: &'a str,
    /// The record's fields, at the top level.
    #[serde(flatten)]
    pub record: Record<'a>,
}

/// The owner went green: their open intentions are cancelled (a notice to each author).
#[derive(Debug, Serialize)]
pub struct IntentionCancelled<'a> {
    /// `intention-cancelled`.
    pub notice: IntentionCancelledNotice,
    /// The cancelled intention's fields, at the top level.
    #[serde(flatten)]
    pub record: Record<'a>,
}

/// `mine` and `archive`.
#[derive(Debug, Serialize)]
pub struct Records<'a> {
    /// `records` (an empty list when there are none) and, when it was cut, `more`.
    #[serde(flatten)]
    pub records: RecordList<'a>,
    /// `archive`: the sender's reliability. Left out for `mine`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reliability: Option<Reliability>,
}

/// A member left a circle: their open intentions there are withdrawn (announced in the room).
#[derive(Debug, Serialize)]
pub struct LeftCircle<'a> {
    /// `left-circle`.
    pub notice: LeftCircleNotice,
    /// Who left.
    pub member: &'a MemberId,
    /// The intentions withdrawn, as many as fit.
    pub records: Vec<Record<'a>>,
    /// What was cut; left out when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more: Option<MoreWithdrawn>,
}

/// `more` of [`LeftCircle`]: unlike a [`RecordList`]'s, without the open ❤️ and 🤝 among them
/// (all are withdrawn).
#[derive(Debug, Serialize)]
pub struct MoreWithdrawn {
    /// The intentions cut.
    pub records: Omitted,
}

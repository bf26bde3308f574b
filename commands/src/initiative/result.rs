//! Initiatives (SPEC §3.4): `propose`, `back`, `initiative`, `initiatives`, and the
//! notifications about them.

// The doc comments below are the documentation of the wire format: none may be missing.
#![warn(missing_docs)]

use serde::Serialize;

use crate::render::result::constant;

use crate::initiative::{InitiativeId, InitiativeState};
use crate::ledger::{Kind, RecordId};
use crate::render::result::ledger::Record;
use crate::render::result::{Coded, Instant, Omitted};
use crate::{Amount, MemberId};

constant!(
    /// `kind` of an initiative.
    InitiativeKind = "initiative"
);

/// An initiative (SPEC §3: `goal`, `backing`, `backers`, `state`, `deadline`), with `kind` and
/// `id`.
#[derive(Debug, Serialize)]
pub struct Initiative<'a> {
    /// `initiative` (SPEC §3 `kind`).
    pub kind: InitiativeKind,
    /// `#I`.
    pub id: InitiativeId,
    /// What its card shows.
    #[serde(flatten)]
    pub card: Card<'a>,
}

/// What an initiative's card shows.
#[derive(Debug, Serialize)]
pub struct Card<'a> {
    /// Its title.
    pub title: &'a str,
    /// Who proposed it; the backing goes to them.
    pub proposer: &'a MemberId,
    /// What it needs.
    pub goal: Amount,
    /// The sum of its intentions (or, funded, obligations).
    pub backing: Amount,
    /// How many members back it.
    pub backers: usize,
    /// What the backing still lacks, never below 0.
    pub remaining: Amount,
    /// `active`, `funded` or `lapsed`.
    pub state: Coded<InitiativeState>,
    /// When it lapses unless funded.
    pub deadline: Instant,
    /// Whole days to the deadline, rounded up; 0 once it passed.
    pub days_left: i64,
    /// 👍 reactions on its card: interest, binding nobody.
    pub interest: usize,
    /// When a funded initiative's obligations fall due; `null` unless funded.
    pub due: Option<Instant>,
}

impl<'a> From<&'a crate::initiative::InitiativeView> for Card<'a> {
    fn from(view: &'a crate::initiative::InitiativeView) -> Card<'a> {
        let i = &view.initiative;
        Card {
            title: &i.title,
            proposer: &i.proposer,
            goal: i.goal,
            backing: view.backing,
            backers: view.backers,
            remaining: view.remaining,
            state: Coded(i.state),
            deadline: Instant(i.deadline),
            days_left: view.days_left,
            interest: view.interest,
            due: view.due.map(Instant),
        }
    }
}

impl<'a> From<&'a crate::initiative::InitiativeView> for Initiative<'a> {
    fn from(view: &'a crate::initiative::InitiativeView) -> Initiative<'a> {
        Initiative { kind: InitiativeKind, id: view.initiative.id, card: Card::from(view) }
    }
}

/// `back #I <amount>`: the initiative's card and the sender's backing.
///
/// Kept for compatibility: `id` and `kind` are the backing record's (SPEC §3: "for `back`, the
/// intention, with `initiative`"), not the initiative's, which is `initiative`.
#[derive(Debug, Serialize)]
pub struct Backed<'a> {
    /// The backing record's `#N`.
    pub id: RecordId,
    /// The backing record's kind: `intention` (or `obligation` once the initiative is funded).
    pub kind: Coded<Kind>,
    /// The initiative's `#I`.
    pub initiative: InitiativeId,
    /// The sender's backing.
    pub amount: Amount,
    /// The backing record's state (as a record's `state`).
    pub record_state: &'static str,
    /// The initiative's card (as [`Initiative`] has it).
    #[serde(flatten)]
    pub card: Card<'a>,
}

/// `initiatives`: the room's active initiatives, as many as fit.
#[derive(Debug, Serialize)]
pub struct Initiatives<'a> {
    /// The initiatives shown, as [`Initiative`].
    pub initiatives: Vec<Initiative<'a>>,
    /// What was cut; left out when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more: Option<MoreInitiatives>,
}

/// `more` of [`Initiatives`] (`amount`: the backing of those cut).
#[derive(Debug, Serialize)]
pub struct MoreInitiatives {
    /// The initiatives cut.
    pub initiatives: Omitted,
}

/// An initiative was backed (to the proposer), funded or lapsed (to each backer with their own
/// record, to the proposer and to the room), or a backer left.
#[derive(Debug, Serialize)]
pub struct InitiativeNoticed<'a> {
    /// The initiative's fields (as [`Initiative`]), at the top level.
    #[serde(flatten)]
    pub initiative: Initiative<'a>,
    /// `backed`, `left`, `funded` or `lapsed`.
    pub notice: &'a str,
    /// The reader's own record (funded: now an obligation; lapsed: cancelled). Left out when
    /// the notice is not about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<Record<'a>>,
}

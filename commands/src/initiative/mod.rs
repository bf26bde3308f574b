//! Initiatives (SPEC §3.4): a proposal with a goal and a deadline that goes ahead only when the
//! members' intentions reach the goal. Pure: the adapter establishes membership, storage supplies
//! the initiative and its backings.
//!
//! A backing is an intention (a `records` row in the initiative's room, in favour of the
//! proposer) that names its initiative. When the backing reaches the goal before the deadline the
//! initiative is funded: every backing becomes an obligation to the proposer, due in
//! [`FUNDED_DUE_DAYS`] days, keeping its number (as a full `commit` does); over-funding stays as
//! pledged. At the deadline an unfunded initiative lapses and its backings are cancelled.

// The initiative commands: their grammars and parsers (`parse`), decided here; the text of their
// replies (`render`) and their `org.exodus.result` fields (`result`).
pub(crate) mod parse;
pub(crate) mod render;
pub mod result;

use chrono::{DateTime, Duration, Utc};

use crate::command::{Command, InitiativeCommand};
use crate::error::{CommandError, ErrorCode};
use crate::ledger::{self, Kind, Record, RecordId, State};
use crate::outcome::{Effect, InitiativeNotice, InitiativeReply, Notice, Outcome, Reply, Target};
use crate::text::Text;
use crate::{Amount, MemberId};

/// An initiative's number, `#I` (a sequence of its own).
pub type InitiativeId = i64;

/// Longest deadline of a proposal, in days.
pub const MAX_DAYS: u32 = 365;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// A funded initiative's obligations fall due this many days after the funding (SPEC §3.4).
pub const FUNDED_DUE_DAYS: i64 = 14;

#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum InitiativeState {
    Active,
    Funded,
    Lapsed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Initiative {
    pub id: InitiativeId,
    /// The room it was proposed in: only that room's joined members see and back it (V1, V2).
    pub room_id: String,
    pub proposer: MemberId,
    pub title: String,
    pub goal: Amount,
    pub deadline: DateTime<Utc>,
    pub state: InitiativeState,
    pub created: DateTime<Utc>,
    /// When it was funded or lapsed.
    pub decided: Option<DateTime<Utc>>,
}

/// An initiative as the transaction read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitiativeFacts {
    pub initiative: Initiative,
    /// Its records that count: the active backings, the obligations funding made, and for a
    /// lapsed one the backings its lapse cancelled.
    pub backings: Vec<Record>,
    /// Members who reacted 👍 to its card (non-binding).
    pub interest: usize,
}

/// What a card, `initiative #I` and `initiatives` show (SPEC §3: `goal`, `backing`, `backers`,
/// `state`, `deadline`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitiativeView {
    pub initiative: Initiative,
    pub backing: Amount,
    pub backers: usize,
    /// What the backing still lacks (never below 0).
    pub remaining: Amount,
    /// Whole days to the deadline, rounded up; 0 once it passed.
    pub days_left: i64,
    pub interest: usize,
    /// When a funded initiative's obligations fall due.
    pub due: Option<DateTime<Utc>>,
}

/// Whole days from `now` to `deadline`, rounded up (0 once it passed).
pub fn days_left(deadline: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let seconds = (deadline - now).num_seconds();
    if seconds <= 0 { 0 } else { (seconds + 86_399) / 86_400 }
}

impl InitiativeFacts {
    fn counted(&self) -> impl Iterator<Item = &Record> {
        let lapsed = self.initiative.state == InitiativeState::Lapsed;
        self.backings.iter().filter(move |r| {
            r.kind == Kind::Obligation
                || r.state == State::Active
                || (lapsed && r.state == State::Cancelled)
        })
    }

    /// The sum of the backings that count.
    pub fn backing(&self) -> Amount {
        self.counted().fold(Amount::ZERO, |sum, r| sum.saturating_add(r.amount))
    }

    pub fn view(&self, now: DateTime<Utc>) -> InitiativeView {
        let backing = self.backing();
        let mut backers: Vec<&MemberId> = self.counted().map(|r| &r.giver).collect();
        backers.sort();
        backers.dedup();
        InitiativeView {
            initiative: self.initiative.clone(),
            backing,
            backers: backers.len(),
            remaining: self.initiative.goal.saturating_sub(backing),
            days_left: if self.initiative.state == InitiativeState::Active {
                days_left(self.initiative.deadline, now)
            } else {
                0
            },
            interest: self.interest,
            due: self.backings.iter().filter(|r| r.kind == Kind::Obligation).find_map(|r| r.due),
        }
    }

    /// The sender's active backing, if any (`back` again changes it).
    fn backing_of(&self, member: &MemberId) -> Option<&Record> {
        self.backings
            .iter()
            .find(|r| &r.giver == member && r.kind == Kind::Intention && r.state == State::Active)
    }
}

/// The room an initiative command was sent in, as the adapter found it.
#[derive(Clone, Debug)]
pub struct InitiativeRoom {
    pub room_id: String,
    pub in_dm: bool,
    /// The room is bound as a circle or a pool: their rooms keep their own ledgers.
    pub is_circle: bool,
    pub is_pool: bool,
}

/// Everything an initiative command is decided on.
#[derive(Clone, Debug)]
pub struct InitiativeWorld<'a> {
    pub sender: &'a MemberId,
    pub now: DateTime<Utc>,
    pub room: &'a InitiativeRoom,
    /// The initiative `#I` names, when it exists.
    pub initiative: Option<&'a InitiativeFacts>,
    /// The sender is joined to that initiative's room now, as the homeserver reports it (V1, V2);
    /// `false` also when that could not be established.
    pub joined: bool,
    /// The room's active initiatives, for `initiatives`.
    pub listed: &'a [InitiativeFacts],
    /// The numbers the next initiative and the next record get.
    pub next_initiative_id: InitiativeId,
    pub next_record_id: RecordId,
}

/// A change to persist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitiativeWrite {
    Create(Initiative),
    /// A new backing of the initiative.
    InsertBacking {
        initiative: InitiativeId,
        record: Record,
    },
    UpdateRecord(Record),
    /// The initiative's goal, state or decision time changed.
    Save(Initiative),
}

/// An initiative command's outcome: its writes, the reply, notices, and the card edited to show
/// the initiative as it is now when the command changed what it shows.
fn outcome(
    writes: Vec<InitiativeWrite>,
    reply: Reply,
    notices: Vec<Notice>,
    card: Option<InitiativeView>,
) -> Outcome {
    let mut effects: Vec<Effect> = writes.into_iter().map(Effect::Initiative).collect();
    effects.extend(card.map(Effect::EditCard));
    Outcome::new(effects, reply).with_notices(notices)
}

fn err(code: ErrorCode, id: &'static str) -> CommandError {
    CommandError::new(code, Text::new(id))
}

fn not_found(id: InitiativeId) -> CommandError {
    CommandError::new(ErrorCode::NotFound, Text::new("err-no-initiative").num("id", id))
}

/// Decides an initiative command.
pub fn decide_initiative(cmd: &Command, w: &InitiativeWorld<'_>) -> Result<Outcome, CommandError> {
    let decision = match cmd {
        Command::Propose { goal, days, title } => propose(*goal, *days, title, w),
        Command::Back { id, amount } => back(*id, *amount, w),
        Command::Initiative(InitiativeCommand::Show { id }) => {
            let facts = named(*id, w)?;
            Ok(outcome(
                Vec::new(),
                Reply::Initiative {
                    kind: InitiativeReply::Shown,
                    view: facts.view(w.now),
                    backing: None,
                },
                Vec::new(),
                None,
            ))
        }
        Command::Initiative(InitiativeCommand::Goal { id, goal }) => change_goal(*id, *goal, w),
        Command::Initiatives => {
            if w.room.in_dm {
                return Err(
                    err(ErrorCode::Forbidden, "err-initiatives-in-room").with_usage(cmd.name())
                );
            }
            let views = w
                .listed
                .iter()
                .filter(|f| f.initiative.room_id == w.room.room_id)
                .map(|f| f.view(w.now))
                .collect();
            Ok(outcome(Vec::new(), Reply::Initiatives(views), Vec::new(), None))
        }
        _ => Err(err(ErrorCode::Internal, "err-not-an-initiative-command")),
    };
    decision.map_err(|e| e.with_usage(cmd.name()))
}

/// The initiative `#I` with the guards every command naming one shares: unknown and not visible
/// give the same answer (V1); from its room or a DM only (V2).
fn named<'a>(
    id: InitiativeId,
    w: &'a InitiativeWorld<'_>,
) -> Result<&'a InitiativeFacts, CommandError> {
    let Some(facts) = w.initiative.filter(|f| f.initiative.id == id) else {
        return Err(not_found(id));
    };
    if !w.joined {
        return Err(not_found(id));
    }
    if !w.room.in_dm && w.room.room_id != facts.initiative.room_id {
        return Err(CommandError::new(
            ErrorCode::Forbidden,
            Text::new("err-initiative-wrong-room").num("id", id),
        ));
    }
    Ok(facts)
}

/// Still open to backing and goal changes: active and before its deadline.
fn open(facts: &InitiativeFacts, now: DateTime<Utc>) -> Result<(), CommandError> {
    let i = &facts.initiative;
    let id = match i.state {
        InitiativeState::Funded => "err-initiative-funded",
        InitiativeState::Lapsed => "err-initiative-lapsed",
        InitiativeState::Active if i.deadline <= now => "err-initiative-ended",
        InitiativeState::Active => return Ok(()),
    };
    Err(CommandError::new(ErrorCode::InvalidState, Text::new(id).num("id", i.id)))
}

fn propose(
    goal: Amount,
    days: u32,
    title: &str,
    w: &InitiativeWorld<'_>,
) -> Result<Outcome, CommandError> {
    if w.room.in_dm {
        return Err(err(ErrorCode::Forbidden, "err-initiative-in-dm"));
    }
    if w.room.is_circle {
        return Err(err(ErrorCode::InvalidState, "err-initiative-circle-room"));
    }
    if w.room.is_pool {
        return Err(err(ErrorCode::InvalidState, "err-initiative-pool-room"));
    }
    let initiative = Initiative {
        id: w.next_initiative_id,
        room_id: w.room.room_id.clone(),
        proposer: w.sender.clone(),
        title: title.to_owned(),
        goal,
        deadline: w.now + Duration::days(i64::from(days)),
        state: InitiativeState::Active,
        created: w.now,
        decided: None,
    };
    let facts =
        InitiativeFacts { initiative: initiative.clone(), backings: Vec::new(), interest: 0 };
    Ok(outcome(
        vec![InitiativeWrite::Create(initiative)],
        Reply::Initiative {
            kind: InitiativeReply::Proposed,
            view: facts.view(w.now),
            backing: None,
        },
        Vec::new(),
        None,
    ))
}

fn back(
    id: InitiativeId,
    amount: Amount,
    w: &InitiativeWorld<'_>,
) -> Result<Outcome, CommandError> {
    let facts = named(id, w)?;
    open(facts, w.now)?;
    let i = &facts.initiative;
    if &i.proposer == w.sender {
        return Err(CommandError::new(
            ErrorCode::Forbidden,
            Text::new("err-own-initiative").num("id", id),
        ));
    }
    let (record, write) = match facts.backing_of(w.sender) {
        Some(existing) => {
            let changed = ledger::change_intention(existing, w.sender, amount, w.now)?;
            (changed.clone(), InitiativeWrite::UpdateRecord(changed))
        }
        None => {
            let record = Record {
                id: w.next_record_id,
                kind: Kind::Intention,
                giver: w.sender.clone(),
                recipient: i.proposer.clone(),
                room_id: i.room_id.clone(),
                amount,
                what: None,
                state: State::Active,
                overdue: false,
                created_at: w.now,
                due: None,
                changed_at: w.now,
            };
            (record.clone(), InitiativeWrite::InsertBacking { initiative: id, record })
        }
    };
    let mut after = facts.clone();
    after.backings.retain(|r| r.id != record.id);
    after.backings.push(record.clone());
    let mut writes = vec![write];
    let mut notices = Vec::new();
    let record = match fund_if_reached(&after, w.now) {
        Some(funding) => {
            let own = funding
                .facts
                .backings
                .iter()
                .find(|r| r.id == record.id)
                .cloned()
                .unwrap_or(record);
            writes.extend(funding.writes);
            notices.extend(funding.notices);
            after = funding.facts;
            own
        }
        None => {
            let view = after.view(w.now);
            notices.push(Notice {
                target: Target::Member(i.proposer.clone()),
                reply: Reply::InitiativeNoticed {
                    what: InitiativeNotice::Backed,
                    view,
                    record: Some(record.clone()),
                },
            });
            record
        }
    };
    let view = after.view(w.now);
    Ok(outcome(
        writes,
        Reply::Initiative {
            kind: InitiativeReply::Backed,
            view: view.clone(),
            backing: Some(record),
        },
        notices,
        Some(view),
    ))
}

fn change_goal(
    id: InitiativeId,
    goal: Amount,
    w: &InitiativeWorld<'_>,
) -> Result<Outcome, CommandError> {
    let facts = named(id, w)?;
    if &facts.initiative.proposer != w.sender {
        return Err(CommandError::new(
            ErrorCode::Forbidden,
            Text::new("err-not-the-proposer").num("id", id),
        ));
    }
    open(facts, w.now)?;
    let mut after = facts.clone();
    after.initiative.goal = goal;
    let mut writes = vec![InitiativeWrite::Save(after.initiative.clone())];
    let mut notices = Vec::new();
    if let Some(funding) = fund_if_reached(&after, w.now) {
        writes = funding.writes;
        notices = funding.notices;
        after = funding.facts;
    }
    let view = after.view(w.now);
    Ok(outcome(
        writes,
        Reply::Initiative { kind: InitiativeReply::Shown, view: view.clone(), backing: None },
        notices,
        Some(view),
    ))
}

/// What funding or a lapse changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// The initiative and its backings afterwards.
    pub facts: InitiativeFacts,
    pub writes: Vec<InitiativeWrite>,
    /// To each backer (their own record), the proposer and the room.
    pub notices: Vec<Notice>,
}

/// SPEC §3.4: when the backing reaches the goal, the initiative is funded: every backing becomes
/// an obligation to the proposer due in [`FUNDED_DUE_DAYS`] days; over-funding is kept.
fn fund_if_reached(facts: &InitiativeFacts, now: DateTime<Utc>) -> Option<Settlement> {
    if facts.initiative.state != InitiativeState::Active || facts.backing() < facts.initiative.goal
    {
        return None;
    }
    let due = now + Duration::days(FUNDED_DUE_DAYS);
    let mut after = facts.clone();
    after.initiative.state = InitiativeState::Funded;
    after.initiative.decided = Some(now);
    let mut writes = vec![InitiativeWrite::Save(after.initiative.clone())];
    let mut funded = Vec::new();
    for r in
        after.backings.iter_mut().filter(|r| r.kind == Kind::Intention && r.state == State::Active)
    {
        *r = ledger::fund(r, due, now);
        funded.push(r.clone());
    }
    after.backings.retain(|r| r.kind == Kind::Obligation);
    writes.extend(funded.iter().cloned().map(InitiativeWrite::UpdateRecord));
    let notices = settlement_notices(InitiativeNotice::Funded, &after, &funded, now);
    Some(Settlement { facts: after, writes, notices })
}

/// SPEC §3.4: at the deadline an unfunded initiative lapses and its backings are cancelled. `None`
/// when it is not active or its deadline is still ahead.
pub fn lapse(facts: &InitiativeFacts, now: DateTime<Utc>) -> Option<Settlement> {
    if facts.initiative.state != InitiativeState::Active || facts.initiative.deadline > now {
        return None;
    }
    let mut after = facts.clone();
    after.initiative.state = InitiativeState::Lapsed;
    after.initiative.decided = Some(now);
    let mut writes = vec![InitiativeWrite::Save(after.initiative.clone())];
    let mut cancelled = Vec::new();
    for r in
        after.backings.iter_mut().filter(|r| r.kind == Kind::Intention && r.state == State::Active)
    {
        *r = ledger::cancel(r, now);
        cancelled.push(r.clone());
    }
    after.backings.retain(|r| r.state == State::Cancelled && r.changed_at == now);
    writes.extend(cancelled.iter().cloned().map(InitiativeWrite::UpdateRecord));
    let notices = settlement_notices(InitiativeNotice::Lapsed, &after, &cancelled, now);
    Some(Settlement { facts: after, writes, notices })
}

fn settlement_notices(
    what: InitiativeNotice,
    after: &InitiativeFacts,
    records: &[Record],
    now: DateTime<Utc>,
) -> Vec<Notice> {
    let view = after.view(now);
    let mut notices: Vec<Notice> = records
        .iter()
        .map(|r| Notice {
            target: Target::Member(r.giver.clone()),
            reply: Reply::InitiativeNoticed { what, view: view.clone(), record: Some(r.clone()) },
        })
        .collect();
    notices.push(Notice {
        target: Target::Member(after.initiative.proposer.clone()),
        reply: Reply::InitiativeNoticed { what, view: view.clone(), record: None },
    });
    notices.push(Notice {
        target: Target::Room(after.initiative.room_id.clone()),
        reply: Reply::InitiativeNoticed { what, view, record: None },
    });
    notices
}

#[cfg(test)]
mod tests;

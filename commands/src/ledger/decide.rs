//! Deciding the circle and ledger commands (SPEC §2, §3.2): who may do what, from where, and what
//! changes. Pure: the adapter establishes membership and power, storage supplies the records.
//!
//! Every decision starts with the guards of SPEC §2.1, in order, each an early return.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::command::{ArchiveFilter, CircleCommand, Command, RecordAction};
use crate::error::{CommandError, ErrorCode};
use crate::ids::MemberId;
use crate::ledger::{self, Kind, Record, State};
use crate::network::NetworkFacts;
use crate::outcome::{
    CircleView, Effect, Notice, Outcome, RecordDone, RecordNotice, Reply, Target,
};
use crate::profile::{Level, Need, Profile, Totals};
use crate::text::Text;

/// Power level needed to bind a room as a circle (SPEC §3.2).
pub const CIRCLE_OPEN_POWER: i64 = 50;

/// The room a command was sent in, as the adapter found it.
#[derive(Clone, Debug)]
pub struct RoomFacts {
    pub room_id: String,
    /// The sender's direct chat with the bot.
    pub in_dm: bool,
    /// The sender's power level in the room.
    pub sender_power: i64,
    /// Anyone can read the room's history without joining (V9).
    pub world_readable: bool,
    /// The owner of the circle bound to this room, if any.
    pub circle_owner: Option<MemberId>,
    /// The room is bound as a pool.
    pub is_pool: bool,
    /// Initiatives live in the room (read for `circle open` only): their backings are its
    /// records, so it cannot hold a circle's ledger too.
    pub has_initiatives: bool,
}

/// A circle with its owner's profile and the records its figures count.
#[derive(Clone, Debug)]
pub struct CircleFacts {
    pub owner: Profile,
    pub room_id: String,
    /// The circle's records: every open one, and those closed since `cycle_start` or due at a
    /// red deadline.
    pub records: Vec<Record>,
    /// Start of the current cycle.
    pub cycle_start: DateTime<Utc>,
}

impl CircleFacts {
    pub fn totals(&self) -> (Totals, u32) {
        ledger::circle_totals(&self.records, &self.owner.need, self.cycle_start)
    }

    pub fn view(&self) -> CircleView {
        let (totals, supporters) = self.totals();
        let mut records: Vec<Record> =
            self.records.iter().filter(|r| r.is_open()).cloned().collect();
        records.sort_by_key(|r| r.id);
        CircleView {
            owner: self.owner.member.clone(),
            need: self.owner.need.clone(),
            totals,
            supporters,
            records,
            room_id: self.room_id.clone(),
        }
    }
}

/// Everything a circle or ledger command is decided on.
#[derive(Clone, Debug)]
pub struct World<'a> {
    pub sender: &'a MemberId,
    pub now: DateTime<Utc>,
    pub tz: Tz,
    pub room: &'a RoomFacts,
    /// The record the command names (`#N`), when it exists.
    pub record: Option<&'a Record>,
    /// The circle concerned: the named record's, else the room's.
    pub circle: Option<&'a CircleFacts>,
    /// The named record belongs to a pool (an approved claim's obligation): it has no circle,
    /// and is paid, confirmed and forgiven as any obligation.
    pub record_in_pool: bool,
    /// The named record backs this initiative: it has no circle either; it is withdrawn, and once
    /// the initiative is funded paid, confirmed and forgiven, as any other.
    pub record_initiative: Option<crate::initiative::InitiativeId>,
    /// The sender is joined to the concerned circle's room now, as the homeserver reports it
    /// (V2); `false` also when that could not be established.
    pub joined_circle: bool,
    /// The room of the sender's own circle, if they have one.
    pub own_circle: Option<&'a str>,
    /// Members mentioned in the message (`m.mentions`, matrix.to links), never display names (V5).
    pub mentions: &'a [MemberId],
    /// The sender's own records for `mine` (open) and `archive` (closed), already limited to
    /// what the sender may see.
    pub own_records: &'a [Record],
    /// The number the next new record gets.
    pub next_id: ledger::RecordId,
    /// The relations `network` is decided on (read only for that command).
    pub network: Option<&'a NetworkFacts>,
    /// How the sender kept their obligations (read only for `archive`).
    pub reliability: crate::profile::Reliability,
}

fn err(code: ErrorCode, id: &'static str) -> CommandError {
    CommandError::new(code, Text::new(id))
}

/// Decides a circle or ledger command.
pub fn decide_ledger(cmd: &Command, w: &World<'_>) -> Result<Outcome, CommandError> {
    let decision = match cmd {
        Command::Circle(c) => circle(c, w),
        Command::Intend { amount, what } => intend(*amount, what.clone(), w),
        Command::IntendChange { id, amount } => {
            let (record, circle) = named(*id, w)?;
            require_joined(w, false)?;
            let changed = ledger::change_intention(record, w.sender, *amount, w.now)?;
            let notices = vec![notice_to(
                &circle.owner.member,
                Reply::Noticed { what: RecordNotice::IntentionChanged, record: changed.clone() },
            )];
            Ok(Outcome {
                effects: vec![Effect::UpdateRecord(changed.clone())],
                reply: record_reply(RecordDone::Intended, changed, None),
                private: None,
                notices,
            })
        }
        Command::CommitIntention { id, amount } => {
            let (record, circle) = named(*id, w)?;
            require_joined(w, false)?;
            let due = due_for(circle, w)?;
            let mut c = ledger::commit(record, w.sender, *amount, due, w.now)?;
            let mut writes = Vec::new();
            match &c.rest {
                Some(rest) => {
                    c.obligation.id = w.next_id;
                    writes.push(Effect::UpdateRecord(rest.clone()));
                    writes.push(Effect::InsertRecord(c.obligation.clone()));
                }
                None => writes.push(Effect::UpdateRecord(c.obligation.clone())),
            }
            let notices = vec![notice_to(
                &circle.owner.member,
                Reply::Noticed { what: RecordNotice::NewObligation, record: c.obligation.clone() },
            )];
            Ok(Outcome {
                effects: writes,
                reply: record_reply(RecordDone::Committed, c.obligation, c.rest),
                private: None,
                notices,
            })
        }
        Command::CommitDirect { amount, what } => commit_direct(*amount, what.clone(), w),
        Command::Record { action, id } => record_action(*action, *id, w),
        Command::Mine => mine(w),
        Command::Archive(filter) => archive(*filter, w),
        Command::Network => network(w),
        _ => Err(err(ErrorCode::Internal, "err-not-a-ledger-command")),
    };
    let mut outcome = decision.map_err(|e| e.with_usage(cmd.name()))?;
    // A backing withdrawn changes what its initiative's card shows.
    if let Some(initiative) = w.record_initiative
        && outcome.effects.iter().any(|e| matches!(e, Effect::UpdateRecord(_)))
    {
        outcome.effects.push(Effect::RefreshCard(initiative));
    }
    Ok(outcome)
}

fn notice_to(member: &MemberId, reply: Reply) -> Notice {
    Notice { target: Target::Member(member.clone()), reply }
}

fn record_reply(done: RecordDone, record: Record, rest: Option<Record>) -> Reply {
    Reply::Record { done, record, rest }
}

/// The circle of the room the command was sent in, with the V2 guard: the sender must be joined.
fn room_circle<'a>(w: &'a World<'_>) -> Result<&'a CircleFacts, CommandError> {
    let circle = w.circle.filter(|c| w.room.circle_owner.is_some() && c.room_id == w.room.room_id);
    let Some(circle) = circle else {
        return Err(err(ErrorCode::InvalidState, "err-not-a-circle-room"));
    };
    // V2/V6: only a member joined to the circle's room acts on it.
    if !w.joined_circle {
        return Err(err(ErrorCode::NotAMember, "err-not-a-member"));
    }
    Ok(circle)
}

/// The record `#N` with its circle, with the guards every record command shares.
fn named<'a>(
    id: ledger::RecordId,
    w: &'a World<'_>,
) -> Result<(&'a Record, &'a CircleFacts), CommandError> {
    match named_any(id, w)? {
        (record, Some(circle)) => Ok((record, circle)),
        (record, None) if w.record_initiative.is_some() && record.kind == Kind::Intention => {
            Err(CommandError::new(
                ErrorCode::InvalidState,
                Text::new("err-backing-use-back").num("id", id),
            ))
        }
        (_, None) => {
            Err(CommandError::new(ErrorCode::NotFound, Text::new("err-no-record").num("id", id)))
        }
    }
}

/// The record `#N` with its circle (`None` for a pool's record), with the guards every record
/// command shares.
fn named_any<'a>(
    id: ledger::RecordId,
    w: &'a World<'_>,
) -> Result<(&'a Record, Option<&'a CircleFacts>), CommandError> {
    // Unknown, or known but in a circle or pool the sender cannot see: the same answer (V1).
    let not_found =
        || CommandError::new(ErrorCode::NotFound, Text::new("err-no-record").num("id", id));
    let Some(record) = w.record else { return Err(not_found()) };
    let circle = match w.circle {
        Some(circle) if circle.room_id == record.room_id => Some(circle),
        _ if w.record_in_pool || w.record_initiative.is_some() => None,
        _ => return Err(not_found()),
    };
    if record.id != id {
        return Err(not_found());
    }
    let party = &record.giver == w.sender || &record.recipient == w.sender;
    if !w.joined_circle && !party {
        return Err(not_found());
    }
    // V2: from the circle's room or a DM, never from another room.
    if !w.room.in_dm && w.room.room_id != record.room_id {
        return Err(err(ErrorCode::Forbidden, "err-wrong-room"));
    }
    Ok((record, circle))
}

/// V2 for changes: joined to the circle's room now, except the parties' right to settle an
/// obligation after leaving (`paid` by the giver, `confirm`/`forgive` by the recipient).
fn require_joined(w: &World<'_>, settle_exception: bool) -> Result<(), CommandError> {
    if w.joined_circle || settle_exception {
        return Ok(());
    }
    Err(err(ErrorCode::NotAMember, "err-not-a-member"))
}

fn due_for(circle: &CircleFacts, w: &World<'_>) -> Result<DateTime<Utc>, CommandError> {
    ledger::due_date(&circle.owner.need, w.now, &w.tz)
        .ok_or_else(|| err(ErrorCode::InvalidState, "err-owner-green"))
}

fn circle(c: &CircleCommand, w: &World<'_>) -> Result<Outcome, CommandError> {
    match c {
        CircleCommand::Open => {
            if w.own_circle.is_some() {
                return Err(err(ErrorCode::InvalidState, "err-circle-exists"));
            }
            if w.room.in_dm {
                return Ok(Outcome {
                    effects: vec![Effect::CreateCircleRoom { owner: w.sender.clone() }],
                    reply: Reply::CircleOpened { owner: w.sender.clone(), room_id: None },
                    private: None,
                    notices: Vec::new(),
                });
            }
            if w.room.circle_owner.is_some() {
                return Err(err(ErrorCode::InvalidState, "err-room-is-a-circle"));
            }
            if w.room.is_pool {
                return Err(err(ErrorCode::InvalidState, "err-room-is-a-pool"));
            }
            if w.room.has_initiatives {
                return Err(err(ErrorCode::InvalidState, "err-room-has-initiatives"));
            }
            if w.room.sender_power < CIRCLE_OPEN_POWER {
                return Err(CommandError::new(
                    ErrorCode::Forbidden,
                    Text::new("err-power").num("power", CIRCLE_OPEN_POWER),
                ));
            }
            // V9: a ledger never lives where anyone can read it without joining.
            if w.room.world_readable {
                return Err(err(ErrorCode::Forbidden, "err-world-readable"));
            }
            Ok(Outcome {
                effects: vec![Effect::BindCircle {
                    owner: w.sender.clone(),
                    room_id: w.room.room_id.clone(),
                }],
                reply: Reply::CircleOpened {
                    owner: w.sender.clone(),
                    room_id: Some(w.room.room_id.clone()),
                },
                private: None,
                notices: Vec::new(),
            })
        }
        CircleCommand::Show => {
            let circle = room_circle(w)?;
            Ok(Outcome::read(Reply::Circle(circle.view())))
        }
        CircleCommand::Link => {
            let circle = room_circle(w)?;
            Ok(Outcome::read(Reply::CircleLink { room_id: circle.room_id.clone() }))
        }
        CircleCommand::Invite { typed, word } => {
            let circle = room_circle(w)?;
            // V5: a mention names the member by its link; the text is only a label.
            let member = match (w.mentions, typed) {
                ([one], _) => one.clone(),
                ([], Some(typed)) => typed.clone(),
                ([], None) => {
                    return Err(CommandError::bad_arguments(
                        Text::new("err-not-a-member-id").arg("word", word.as_str()),
                    ));
                }
                _ => return Err(CommandError::bad_arguments(Text::new("err-one-member"))),
            };
            Ok(Outcome {
                effects: vec![Effect::Invite {
                    room_id: circle.room_id.clone(),
                    member: member.clone(),
                }],
                reply: Reply::CircleInvited { member },
                private: None,
                notices: Vec::new(),
            })
        }
    }
}

fn new_record(
    kind: Kind,
    amount: crate::Amount,
    what: Option<String>,
    circle: &CircleFacts,
    w: &World<'_>,
) -> Record {
    Record {
        id: w.next_id,
        kind,
        giver: w.sender.clone(),
        recipient: circle.owner.member.clone(),
        room_id: circle.room_id.clone(),
        amount,
        what,
        state: if kind == Kind::Intention { State::Active } else { State::Open },
        overdue: false,
        created_at: w.now,
        due: None,
        changed_at: w.now,
    }
}

fn intend(
    amount: crate::Amount,
    what: Option<String>,
    w: &World<'_>,
) -> Result<Outcome, CommandError> {
    let circle = room_circle(w)?;
    if &circle.owner.member == w.sender {
        return Err(err(ErrorCode::Forbidden, "err-own-circle"));
    }
    // Intentions only while the owner needs monthly support; in an emergency only obligations.
    match circle.owner.need.level() {
        Level::Orange => {}
        Level::Red => return Err(err(ErrorCode::InvalidState, "err-red-obligations-only")),
        Level::Green => return Err(err(ErrorCode::InvalidState, "err-owner-green")),
    }
    let record = new_record(Kind::Intention, amount, what, circle, w);
    let notices = vec![notice_to(
        &circle.owner.member,
        Reply::Noticed { what: RecordNotice::NewIntention, record: record.clone() },
    )];
    Ok(Outcome {
        effects: vec![Effect::InsertRecord(record.clone())],
        reply: record_reply(RecordDone::Intended, record, None),
        private: None,
        notices,
    })
}

fn commit_direct(
    amount: crate::Amount,
    what: Option<String>,
    w: &World<'_>,
) -> Result<Outcome, CommandError> {
    let circle = room_circle(w)?;
    if &circle.owner.member == w.sender {
        return Err(err(ErrorCode::Forbidden, "err-own-circle"));
    }
    let due = due_for(circle, w)?;
    let mut record = new_record(Kind::Obligation, amount, what, circle, w);
    record.due = Some(due);
    let notices = vec![notice_to(
        &circle.owner.member,
        Reply::Noticed { what: RecordNotice::NewObligation, record: record.clone() },
    )];
    Ok(Outcome {
        effects: vec![Effect::InsertRecord(record.clone())],
        reply: record_reply(RecordDone::Committed, record, None),
        private: None,
        notices,
    })
}

fn record_action(
    action: RecordAction,
    id: ledger::RecordId,
    w: &World<'_>,
) -> Result<Outcome, CommandError> {
    let (record, circle) = named_any(id, w)?;
    let (changed, notice) = match action {
        RecordAction::Withdraw => {
            require_joined(w, false)?;
            (
                ledger::withdraw(record, w.sender, w.now)?,
                Some((&record.recipient, RecordNotice::IntentionWithdrawn)),
            )
        }
        RecordAction::Remind => {
            require_joined(w, false)?;
            ledger::check_remind(record, w.sender)?;
            (record.clone(), Some((&record.giver, RecordNotice::Reminder)))
        }
        RecordAction::Paid => {
            require_joined(w, record.kind == Kind::Obligation && &record.giver == w.sender)?;
            (
                ledger::report_paid(record, w.sender, w.now)?,
                Some((&record.recipient, RecordNotice::PaidReported)),
            )
        }
        RecordAction::Confirm => {
            require_joined(w, record.kind == Kind::Obligation && &record.recipient == w.sender)?;
            (
                ledger::confirm(record, w.sender, w.now)?,
                Some((&record.giver, RecordNotice::Confirmed)),
            )
        }
        RecordAction::Forgive => {
            require_joined(w, record.kind == Kind::Obligation && &record.recipient == w.sender)?;
            (
                ledger::forgive(record, w.sender, w.now)?,
                Some((&record.giver, RecordNotice::Forgiven)),
            )
        }
    };
    let mut writes = Vec::new();
    if changed != *record {
        writes.push(Effect::UpdateRecord(changed.clone()));
    }
    let mut notices: Vec<Notice> = notice
        .map(|(to, what)| notice_to(to, Reply::Noticed { what, record: changed.clone() }))
        .into_iter()
        .collect();
    if action == RecordAction::Confirm
        && let Some(circle) = circle
    {
        red_completion(circle, &changed, w, &mut writes, &mut notices);
    }
    Ok(Outcome {
        effects: writes,
        reply: record_reply(RecordDone::Action(action), changed, None),
        private: None,
        notices,
    })
}

/// SPEC §3.2 red flow: when confirmed amounts reach 💰, the collection is complete: the owner's
/// status returns to the previous one, the circle is thanked, and the obligations not yet
/// fulfilled are cancelled with a notice to their givers.
fn red_completion(
    circle: &CircleFacts,
    confirmed: &Record,
    w: &World<'_>,
    writes: &mut Vec<Effect>,
    notices: &mut Vec<Notice>,
) {
    let Need::Red { requested, previous, .. } = &circle.owner.need else { return };
    let records: Vec<Record> = circle
        .records
        .iter()
        .map(|r| if r.id == confirmed.id { confirmed.clone() } else { r.clone() })
        .collect();
    let (totals, _) = ledger::circle_totals(&records, &circle.owner.need, circle.cycle_start);
    if totals.fulfilled < *requested {
        return;
    }
    let mut owner = circle.owner.clone();
    owner.need = previous.clone().into();
    writes.push(Effect::SaveProfile(owner));
    for r in records
        .iter()
        .filter(|r| r.kind == Kind::Obligation && matches!(r.state, State::Open | State::Paid))
    {
        let cancelled = ledger::cancel(r, w.now);
        notices.push(notice_to(
            &r.giver,
            Reply::Noticed {
                what: RecordNotice::CollectionCompleteCancelled,
                record: cancelled.clone(),
            },
        ));
        writes.push(Effect::UpdateRecord(cancelled));
    }
    notices.push(Notice {
        target: Target::Room(circle.room_id.clone()),
        reply: Reply::CollectionComplete {
            owner: circle.owner.member.clone(),
            collected: totals.fulfilled,
        },
    });
}

fn mine(w: &World<'_>) -> Result<Outcome, CommandError> {
    // In a circle room, only that circle's records: the room's other members read along (V1).
    let records = w
        .own_records
        .iter()
        .filter(|r| r.is_open() && (w.room.in_dm || r.room_id == w.room.room_id))
        .cloned()
        .collect();
    if !w.room.in_dm && w.room.circle_owner.is_none() {
        return Err(err(ErrorCode::Forbidden, "err-dm-or-circle"));
    }
    Ok(Outcome::read(Reply::Records { records, reliability: None }))
}

fn archive(filter: ArchiveFilter, w: &World<'_>) -> Result<Outcome, CommandError> {
    if !w.room.in_dm {
        return Err(err(ErrorCode::Forbidden, "err-dm-only"));
    }
    let records = w.own_records.iter().filter(|r| filter_matches(filter, r)).cloned().collect();
    Ok(Outcome::read(Reply::Records { records, reliability: Some(w.reliability) }))
}

fn filter_matches(filter: ArchiveFilter, r: &Record) -> bool {
    match filter {
        ArchiveFilter::All => !r.is_open(),
        ArchiveFilter::Fulfilled => matches!(r.state, State::Fulfilled | State::Cleared),
        ArchiveFilter::Overdue => r.overdue && !r.is_open(),
    }
}

fn network(w: &World<'_>) -> Result<Outcome, CommandError> {
    // Private lists: the DM only (SPEC §3.2).
    if !w.room.in_dm {
        return Err(err(ErrorCode::Forbidden, "err-dm-only"));
    }
    let empty = NetworkFacts::default();
    let facts = w.network.unwrap_or(&empty);
    Ok(Outcome::read(Reply::Network(crate::network::network(w.sender, facts))))
}

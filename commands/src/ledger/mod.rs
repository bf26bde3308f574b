//! The ledger of a circle (SPEC §1, §3.2): intentions ❤️ and obligations 🤝 in favour of the
//! circle's owner, their transitions, and the figures shown for a circle.
//!
//! A transition takes a record and returns the changed record or the refusal; no transition SPEC
//! forbids can be expressed: an obligation never goes back to being an intention, a closed record
//! never opens again, only the giver reports `paid`, only the recipient confirms or forgives.

// The circle and ledger commands: the grammars and parsers of `circle`, of the record commands
// (`pledge`: intend, commit, paid, …) and of `mine`/`archive`; their decide (`decide`, re-exported
// here); the text of their replies (`render_circle`, `render`) and their `org.exodus.result`
// fields (`result_circle`, `result`).
pub(crate) mod circle;
mod decide;
pub(crate) mod mine;
pub(crate) mod pledge;
pub(crate) mod render;
pub(crate) mod render_circle;
pub mod result;
pub mod result_circle;

pub use decide::{CIRCLE_OPEN_POWER, CircleFacts, RoomFacts, World, decide_ledger};

use crate::Code;
use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::amount::Amount;
use crate::error::{CommandError, ErrorCode};
use crate::ids::MemberId;
use crate::profile::{Need, Totals};
use crate::text::Text;

/// A ledger record's number, `#N`: one sequence for intentions and obligations.
pub type RecordId = i64;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Intention,
    Obligation,
}

/// Where a record stands. `Active` is an intention's only open state; `Open` and `Paid` are an
/// obligation's; the rest are closed for good.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum State {
    Active,
    Open,
    Paid,
    Fulfilled,
    Forgiven,
    Withdrawn,
    Expired,
    Cancelled,
    Cleared,
}

impl State {
    pub const ALL: [State; 9] = [
        State::Active,
        State::Open,
        State::Paid,
        State::Fulfilled,
        State::Forgiven,
        State::Withdrawn,
        State::Expired,
        State::Cancelled,
        State::Cleared,
    ];

    /// Still counts in ❤️ or 🤝.
    pub fn is_open(self) -> bool {
        matches!(self, State::Active | State::Open | State::Paid)
    }
}

/// One intention or obligation. `amount` is what is still promised: a partial commit moves part of
/// an intention's amount into a new obligation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub id: RecordId,
    pub kind: Kind,
    pub giver: MemberId,
    /// The circle's owner.
    pub recipient: MemberId,
    /// The circle room the record belongs to (V1: only its members see it).
    pub room_id: String,
    pub amount: Amount,
    /// Non-monetary aid: what is given (`for "2h plumbing"`).
    pub what: Option<String>,
    pub state: State,
    /// An obligation past its due date without confirmation: still payable (SPEC §1).
    pub overdue: bool,
    pub created_at: DateTime<Utc>,
    /// Obligations only.
    pub due: Option<DateTime<Utc>>,
    /// When the state last changed (fulfilment, withdrawal, …).
    pub changed_at: DateTime<Utc>,
}

impl Record {
    /// The state shown to members: `overdue` for an open obligation past its due date.
    pub fn shown_state(&self) -> &'static str {
        if self.overdue && matches!(self.state, State::Open | State::Paid) {
            "overdue"
        } else {
            self.state.code()
        }
    }

    pub fn is_open(&self) -> bool {
        self.state.is_open()
    }
}

/// A refusal with its code.
fn refuse(code: ErrorCode, id: &'static str, record: &Record) -> CommandError {
    CommandError::new(code, Text::new(id).num("id", record.id).arg("state", record.shown_state()))
}

/// The author of an intention changes its amount (`intend #N <amount>`).
pub fn change_intention(
    record: &Record,
    by: &MemberId,
    amount: Amount,
    now: DateTime<Utc>,
) -> Result<Record, CommandError> {
    only_giver(record, by)?;
    only_active_intention(record)?;
    if amount.is_zero() {
        return Err(CommandError::bad_arguments(Text::new("err-amount-zero")));
    }
    Ok(Record { amount, changed_at: now, ..record.clone() })
}

/// The author withdraws an intention (`withdraw #N`).
pub fn withdraw(
    record: &Record,
    by: &MemberId,
    now: DateTime<Utc>,
) -> Result<Record, CommandError> {
    only_giver(record, by)?;
    if record.kind == Kind::Obligation {
        return Err(refuse(ErrorCode::InvalidState, "err-obligation-irrevocable", record));
    }
    only_active_intention(record)?;
    Ok(Record { state: State::Withdrawn, changed_at: now, ..record.clone() })
}

/// What `commit #N [amount]` does: the intention left (if any) and the obligation made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commitment {
    /// The intention with the rest, when only part was committed; `None` when all of it was (the
    /// record itself then becomes the obligation, keeping its number).
    pub rest: Option<Record>,
    /// The obligation; its `id` is the intention's when all was committed, else 0 (assigned when
    /// stored).
    pub obligation: Record,
}

/// The author turns an intention, all or part, into an obligation due `due` (`commit #N [amount]`).
pub fn commit(
    record: &Record,
    by: &MemberId,
    amount: Option<Amount>,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Commitment, CommandError> {
    only_giver(record, by)?;
    only_active_intention(record)?;
    let amount = amount.unwrap_or(record.amount);
    if amount.is_zero() {
        return Err(CommandError::bad_arguments(Text::new("err-amount-zero")));
    }
    if amount > record.amount {
        return Err(CommandError::new(
            ErrorCode::InvalidState,
            Text::new("err-commit-above-intention")
                .num("id", record.id)
                .arg("amount", record.amount.to_string()),
        ));
    }
    let obligation = Record {
        id: 0,
        kind: Kind::Obligation,
        amount,
        state: State::Open,
        overdue: false,
        created_at: now,
        due: Some(due),
        changed_at: now,
        ..record.clone()
    };
    if amount == record.amount {
        return Ok(Commitment { rest: None, obligation: Record { id: record.id, ..obligation } });
    }
    let rest =
        Record { amount: record.amount.saturating_sub(amount), changed_at: now, ..record.clone() };
    Ok(Commitment { rest: Some(rest), obligation })
}

/// The giver reports an obligation fulfilled (`paid #N`).
pub fn report_paid(
    record: &Record,
    by: &MemberId,
    now: DateTime<Utc>,
) -> Result<Record, CommandError> {
    only_giver(record, by)?;
    only_obligation(record)?;
    match record.state {
        State::Open => Ok(Record { state: State::Paid, changed_at: now, ..record.clone() }),
        State::Paid => Err(refuse(ErrorCode::InvalidState, "err-already-paid", record)),
        _ => Err(refuse(ErrorCode::InvalidState, "err-record-closed", record)),
    }
}

/// The recipient confirms an obligation (`confirm #N`, or 👍 on the paid notice). An obligation
/// not yet reported paid may be confirmed too: the recipient knows best what arrived.
pub fn confirm(record: &Record, by: &MemberId, now: DateTime<Utc>) -> Result<Record, CommandError> {
    only_recipient(record, by)?;
    only_obligation(record)?;
    if !matches!(record.state, State::Open | State::Paid) {
        return Err(refuse(ErrorCode::InvalidState, "err-record-closed", record));
    }
    Ok(Record { state: State::Fulfilled, changed_at: now, ..record.clone() })
}

/// The recipient releases an obligation (`forgive #N`).
pub fn forgive(record: &Record, by: &MemberId, now: DateTime<Utc>) -> Result<Record, CommandError> {
    only_recipient(record, by)?;
    only_obligation(record)?;
    if !matches!(record.state, State::Open | State::Paid) {
        return Err(refuse(ErrorCode::InvalidState, "err-record-closed", record));
    }
    Ok(Record { state: State::Forgiven, changed_at: now, ..record.clone() })
}

/// `remind #N`: the recipient asks the author to commit an intention or fulfil an obligation.
pub fn check_remind(record: &Record, by: &MemberId) -> Result<(), CommandError> {
    only_recipient(record, by)?;
    if !matches!(record.state, State::Active | State::Open) {
        return Err(refuse(ErrorCode::InvalidState, "err-nothing-to-remind", record));
    }
    Ok(())
}

/// Cancelled by the system (the owner went green, a red collection completed, the giver erased
/// their profile): open intentions, or obligations of a completed red collection.
pub fn cancel(record: &Record, now: DateTime<Utc>) -> Record {
    Record { state: State::Cancelled, changed_at: now, ..record.clone() }
}

/// The initiative it backs was funded (SPEC §3.4): an active intention becomes an obligation to
/// the proposer, due at `due`.
pub fn fund(record: &Record, due: DateTime<Utc>, now: DateTime<Utc>) -> Record {
    Record {
        kind: Kind::Obligation,
        state: State::Open,
        due: Some(due),
        changed_at: now,
        ..record.clone()
    }
}

/// Its giver left the circle's room (SPEC §2.1 V2): an active intention is withdrawn, as if they
/// had withdrawn it themselves.
pub fn withdrawn_on_leaving(record: &Record, now: DateTime<Utc>) -> Record {
    Record { state: State::Withdrawn, changed_at: now, ..record.clone() }
}

fn only_giver(record: &Record, by: &MemberId) -> Result<(), CommandError> {
    if &record.giver != by {
        return Err(refuse(ErrorCode::Forbidden, "err-not-the-giver", record));
    }
    Ok(())
}

fn only_recipient(record: &Record, by: &MemberId) -> Result<(), CommandError> {
    if &record.recipient != by {
        return Err(refuse(ErrorCode::Forbidden, "err-not-the-recipient", record));
    }
    Ok(())
}

fn only_obligation(record: &Record) -> Result<(), CommandError> {
    if record.kind != Kind::Obligation {
        return Err(refuse(ErrorCode::InvalidState, "err-not-an-obligation", record));
    }
    Ok(())
}

fn only_active_intention(record: &Record) -> Result<(), CommandError> {
    if record.kind != Kind::Intention {
        return Err(refuse(ErrorCode::InvalidState, "err-not-an-intention", record));
    }
    if record.state != State::Active {
        return Err(refuse(ErrorCode::InvalidState, "err-record-closed", record));
    }
    Ok(())
}

/// The cycle (month) a time falls in, in the configured time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cycle {
    pub year: i32,
    pub month: u32,
}

impl Cycle {
    pub fn of<Tz: TimeZone>(at: DateTime<Utc>, tz: &Tz) -> Cycle {
        let local = at.with_timezone(tz);
        Cycle { year: local.year(), month: local.month() }
    }

    /// The cycle `n` months before this one.
    pub fn back(self, n: u32) -> Cycle {
        let months = self.year * 12 + i32::try_from(self.month).unwrap_or(1)
            - 1
            - i32::try_from(n).unwrap_or(0);
        Cycle {
            year: months.div_euclid(12),
            month: u32::try_from(months.rem_euclid(12)).unwrap_or(0) + 1,
        }
    }

    /// The first instant of the cycle.
    pub fn start<Tz: TimeZone>(self, tz: &Tz) -> DateTime<Utc> {
        local_midnight(self.year, self.month, tz)
    }

    /// The first instant of the next cycle: an orange circle's obligations are due before it.
    pub fn end<Tz: TimeZone>(self, tz: &Tz) -> DateTime<Utc> {
        let (year, month) =
            if self.month == 12 { (self.year + 1, 1) } else { (self.year, self.month + 1) };
        local_midnight(year, month, tz)
    }
}

fn local_midnight<Tz: TimeZone>(year: i32, month: u32, tz: &Tz) -> DateTime<Utc> {
    let date = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN);
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Midnight may not exist (a DST jump at 00:00): take the earliest instant that does.
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.with_timezone(&Utc)
        }
        chrono::LocalResult::None => tz
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc)),
    }
}

/// The figures of a circle (SPEC §3 `circle`/`status`): ❤️ intentions, 🤝 open obligations,
/// 👍 fulfilled amounts and the supporters, as the owner's current need counts them. A red
/// collection counts the fulfilments of its own obligations (due at its deadline); otherwise the
/// fulfilments of the cycle that began at `cycle_start` count.
pub fn circle_totals<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    need: &Need,
    cycle_start: DateTime<Utc>,
) -> (Totals, u32) {
    let mut totals = Totals::default();
    let mut supporters = BTreeSet::new();
    for r in records {
        let fulfilment_counts = match need {
            Need::Red { deadline, .. } => r.due == Some(*deadline),
            _ => r.changed_at >= cycle_start,
        };
        let counted = match (r.kind, r.state) {
            (Kind::Intention, State::Active) => Some(&mut totals.intentions),
            (Kind::Obligation, State::Open | State::Paid) => Some(&mut totals.obligations),
            (Kind::Obligation, State::Fulfilled | State::Cleared) if fulfilment_counts => {
                Some(&mut totals.fulfilled)
            }
            _ => None,
        };
        if let Some(sum) = counted {
            *sum = sum.saturating_add(r.amount);
            supporters.insert(&r.giver);
        }
    }
    (totals, u32::try_from(supporters.len()).unwrap_or(u32::MAX))
}

/// When an obligation made now in a circle whose owner has `need` falls due: the red deadline, or
/// the end of the cycle.
pub fn due_date<Tz: TimeZone>(need: &Need, now: DateTime<Utc>, tz: &Tz) -> Option<DateTime<Utc>> {
    match need {
        Need::Green => None,
        Need::Orange { .. } => Some(Cycle::of(now, tz).end(tz)),
        Need::Red { deadline, .. } => Some(*deadline),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> MemberId {
        MemberId::parse(s).unwrap()
    }

    fn amount(s: &str) -> Amount {
        Amount::parse(s).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 10, 12, 0, 0).unwrap()
    }

    fn intention(amount_text: &str) -> Record {
        Record {
            id: 7,
            kind: Kind::Intention,
            giver: m("@bob:b.org"),
            recipient: m("@alice:a.org"),
            room_id: "!c:a.org".into(),
            amount: amount(amount_text),
            what: None,
            state: State::Active,
            overdue: false,
            created_at: t0(),
            due: None,
            changed_at: t0(),
        }
    }

    #[test]
    fn a_partial_commit_leaves_the_rest_as_an_intention() {
        let due = t0() + chrono::Duration::days(20);
        let c = commit(&intention("50"), &m("@bob:b.org"), Some(amount("20")), due, t0()).unwrap();
        assert_eq!(c.rest.as_ref().map(|r| r.amount), Some(amount("30")));
        assert_eq!(
            (c.obligation.id, c.obligation.amount, c.obligation.kind),
            (0, amount("20"), Kind::Obligation)
        );
        let all = commit(&intention("50"), &m("@bob:b.org"), None, due, t0()).unwrap();
        assert_eq!((all.rest, all.obligation.id, all.obligation.amount), (None, 7, amount("50")));
        let err = commit(&intention("50"), &m("@bob:b.org"), Some(amount("50.01")), due, t0())
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidState);
    }

    #[test]
    fn only_the_parties_move_a_record() {
        let i = intention("10");
        assert_eq!(withdraw(&i, &m("@alice:a.org"), t0()).unwrap_err().code, ErrorCode::Forbidden);
        let o = commit(&i, &m("@bob:b.org"), None, t0(), t0()).unwrap().obligation;
        assert_eq!(
            report_paid(&o, &m("@alice:a.org"), t0()).unwrap_err().code,
            ErrorCode::Forbidden
        );
        assert_eq!(confirm(&o, &m("@bob:b.org"), t0()).unwrap_err().code, ErrorCode::Forbidden);
        assert_eq!(forgive(&o, &m("@bob:b.org"), t0()).unwrap_err().code, ErrorCode::Forbidden);
        assert_eq!(withdraw(&o, &m("@bob:b.org"), t0()).unwrap_err().code, ErrorCode::InvalidState);
        let paid = report_paid(&o, &m("@bob:b.org"), t0()).unwrap();
        let done = confirm(&paid, &m("@alice:a.org"), t0()).unwrap();
        assert_eq!(done.state, State::Fulfilled);
        assert_eq!(
            confirm(&done, &m("@alice:a.org"), t0()).unwrap_err().code,
            ErrorCode::InvalidState
        );
        assert_eq!(
            forgive(&done, &m("@alice:a.org"), t0()).unwrap_err().code,
            ErrorCode::InvalidState
        );
    }

    #[test]
    fn cycles_end_at_local_midnight() {
        let tz = chrono_tz::Europe::Berlin;
        let c = Cycle::of(Utc.with_ymd_and_hms(2026, 11, 30, 23, 30, 0).unwrap(), &tz);
        assert_eq!(c, Cycle { year: 2026, month: 12 }, "23:30 UTC is already December in Berlin");
        assert_eq!(c.end(&tz), Utc.with_ymd_and_hms(2026, 12, 31, 23, 0, 0).unwrap());
        assert_eq!(
            Cycle { year: 2026, month: 3 }.end(&tz),
            Utc.with_ymd_and_hms(2026, 3, 31, 22, 0, 0).unwrap()
        );
        assert_eq!(Cycle { year: 2026, month: 2 }.back(2), Cycle { year: 2025, month: 12 });
        assert_eq!(Cycle { year: 2026, month: 12 }.back(0), Cycle { year: 2026, month: 12 });
        assert_eq!(Cycle { year: 2026, month: 1 }.back(13), Cycle { year: 2024, month: 12 });
    }

    #[test]
    fn totals_count_each_record_once() {
        let mut records = vec![intention("10")];
        let mut o = intention("20");
        o.id = 8;
        o.kind = Kind::Obligation;
        o.state = State::Paid;
        records.push(o.clone());
        o.id = 9;
        o.state = State::Fulfilled;
        o.giver = m("@carol:c.org");
        records.push(o.clone());
        o.id = 10;
        o.state = State::Withdrawn;
        records.push(o);
        let need = Need::Orange { requested: amount("100"), note: None };
        let (t, n) = circle_totals(&records, &need, t0());
        assert_eq!(
            (t.intentions, t.obligations, t.fulfilled, n),
            (amount("10"), amount("20"), amount("20"), 2)
        );
    }
}

//! Records as a member reads them: the replies of the ledger commands (`intend`, `commit`,
//! `withdraw`, `remind`, `paid`, `confirm`, `forgive`), their notifications and the lists of
//! records (`mine`, `archive`, `circle`); their lines and, in [`super::result`], their result
//! fields.

use crate::Code;
use crate::MemberId;
use crate::command::RecordAction;
use crate::ledger::{Kind, Record, State};
use crate::outcome::{RecordDone, RecordNotice};
use crate::profile::Reliability;
use crate::profile::render::reliability_line;
use crate::render::fit::Room;
use crate::render::result::{self as wire, Fields, Omitted};
use crate::render::{Line, Parts, Style, date, omitted, sum, tr};
use crate::text::Text;

/// `Reply::Record`: `intend`, `commit`, `withdraw`, `remind`, `paid`, `confirm`, `forgive`.
pub(crate) fn record<'a>(
    done: &'a RecordDone,
    record: &'a Record,
    rest: &'a Option<Record>,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let mut lines = vec![Line::Plain(t(Text::new(record_message(*done))
        .num("id", record.id)
        .arg("amount", record.amount)
        .arg("unit", style.unit)
        .arg("owner", record.recipient.as_str())
        .arg("giver", record.giver.as_str())
        .arg("due", record.due.map(|d| date(d, style)).unwrap_or_default())))];
    if let Some(rest) = rest {
        lines.push(Line::Plain(t(Text::new("record-rest")
            .num("id", rest.id)
            .arg("amount", rest.amount)
            .arg("unit", style.unit))));
    }
    let reply =
        wire::ledger::RecordReply { record: record.into(), rest: rest.as_ref().map(Into::into) };
    (lines, Fields::Record(reply))
}

/// `Reply::Noticed`: a notification about a record.
pub(crate) fn noticed<'a>(
    what: &'a RecordNotice,
    record: &'a Record,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    (
        vec![Line::Plain(t(Text::new(what.message())
            .num("id", record.id)
            .arg("amount", record.amount)
            .arg("unit", style.unit)
            .arg("owner", record.recipient.as_str())
            .arg("giver", record.giver.as_str())
            .arg("prefix", style.prefix)
            .arg("what", record.what.as_deref().unwrap_or_default())
            .arg("due", record.due.map(|d| date(d, style)).unwrap_or_default())))],
        Fields::Noticed(wire::ledger::Noticed { notice: what.code(), record: record.into() }),
    )
}

/// `Reply::Records`: `mine` and `archive`.
pub(crate) fn records<'a>(
    records: &'a [Record],
    reliability: &'a Option<Reliability>,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let (mut lines, list) = if records.is_empty() {
        let none = wire::ledger::RecordList { records: Vec::new(), more: None };
        (vec![Line::Plain(t(Text::new("records-none")))], none)
    } else {
        record_list(records, style, &mut Room::default())
    };
    if let Some(r) = reliability {
        lines.push(Line::Plain(reliability_line(r, style)));
    }
    let records =
        wire::ledger::Records { records: list, reliability: reliability.as_ref().map(Into::into) };
    (lines, Fields::Records(records))
}

/// `Reply::IntentionCancelled`: an intention cancelled as its recipient went green.
pub(crate) fn intention_cancelled<'a>(record: &'a Record, style: &Style<'_>) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    (
        vec![Line::Plain(t(Text::new("notice-intention-cancelled")
            .num("id", record.id)
            .arg("amount", record.amount)
            .arg("unit", style.unit)
            .arg("owner", record.recipient.as_str())))],
        Fields::IntentionCancelled(wire::ledger::IntentionCancelled {
            notice: wire::ledger::IntentionCancelledNotice,
            record: record.into(),
        }),
    )
}

/// `Reply::LeftCircle`: a member left a circle.
pub(crate) fn left_circle<'a>(
    member: &'a MemberId,
    withdrawn: &'a [Record],
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    // The line says how many; the records themselves are in the result, cut as any list.
    let cut = Room::default().cut(withdrawn, |r| ((), wire::ledger::Record::from(r)));
    let more = (!cut.rest.is_empty()).then(|| wire::ledger::MoreWithdrawn {
        records: Omitted { count: cut.rest.len(), amount: sum(cut.rest, |r| r.amount) },
    });
    (
        vec![Line::Plain(t(Text::new("notice-left-circle")
            .arg("member", member.as_str())
            .num("count", withdrawn.len() as i64)))],
        Fields::LeftCircle(wire::ledger::LeftCircle {
            notice: wire::ledger::LeftCircleNotice,
            member,
            records: cut.values,
            more,
        }),
    )
}

/// The records, as many as fit in `room` (SPEC §8: a circle or a member with thousands of records
/// still gets an answer), as lines and as `records` in the result; the rest summed up in one line
/// and in `more.records`: `count`, `amount` (the sum of their amounts) and the open ❤️ and 🤝 among
/// them, so that what is listed and `more` still add up to the figures shown.
pub(crate) fn record_list<'a>(
    records: &'a [Record],
    style: &Style<'_>,
    room: &mut Room,
) -> (Vec<Line>, wire::ledger::RecordList<'a>) {
    let cut = room.cut(records, |r| (Line::Plain(record_line(r, style)), r.into()));
    let mut lines = cut.shown;
    let mut more = None;
    if !cut.rest.is_empty() {
        let open = |kind: Kind| {
            sum(cut.rest, |r| {
                if r.kind == kind && r.is_open() { r.amount } else { crate::Amount::ZERO }
            })
        };
        let (intentions, obligations) = (open(Kind::Intention), open(Kind::Obligation));
        let text = Text::new("more-records-open")
            .arg("intentions", intentions)
            .arg("obligations", obligations);
        let (line, omitted) = omitted(cut.rest, |r| r.amount, text, style);
        lines.push(Line::Plain(line));
        more = Some(wire::ledger::MoreRecords {
            records: wire::ledger::OmittedRecords { omitted, intentions, obligations },
        });
    }
    (lines, wire::ledger::RecordList { records: cut.values, more })
}

fn record_line(r: &Record, style: &Style<'_>) -> String {
    let emoji = match (r.kind, r.state) {
        (_, State::Fulfilled | State::Cleared) => "👍",
        (Kind::Intention, _) => "❤️",
        (Kind::Obligation, _) => "🤝",
    };
    let what = r.what.as_ref().map(|w| format!(" ({w})")).unwrap_or_default();
    let due = r
        .due
        .map(|d| {
            format!(", {}", tr(style.lang, &Text::new("record-due").arg("due", date(d, style))))
        })
        .unwrap_or_default();
    format!(
        "#{} {emoji} {} → {}: {} {}{what} — {}{due}",
        r.id,
        r.giver,
        r.recipient,
        r.amount,
        style.unit,
        tr(style.lang, &Text::new(state_message(r)))
    )
}

fn state_message(r: &Record) -> &'static str {
    match r.shown_state() {
        "active" => "state-active",
        "open" => "state-open",
        "paid" => "state-paid",
        "fulfilled" => "state-fulfilled",
        "forgiven" => "state-forgiven",
        "withdrawn" => "state-withdrawn",
        "expired" => "state-expired",
        "cancelled" => "state-cancelled",
        "overdue" => "state-overdue",
        _ => "state-cleared",
    }
}

/// The Fluent message of a ledger command's reply.
fn record_message(done: RecordDone) -> &'static str {
    match done {
        RecordDone::Intended => "record-intended",
        RecordDone::Committed => "record-committed",
        RecordDone::Action(RecordAction::Withdraw) => "record-withdrawn",
        RecordDone::Action(RecordAction::Remind) => "record-reminded",
        RecordDone::Action(RecordAction::Paid) => "record-paid",
        RecordDone::Action(RecordAction::Confirm) => "record-confirmed",
        RecordDone::Action(RecordAction::Forgive) => "record-forgiven",
    }
}

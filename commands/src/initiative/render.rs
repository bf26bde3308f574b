//! Initiatives as a member reads them: `propose`, `back`, `initiative`, `initiatives` and
//! the notifications about them; their lines and, in [`super::result`], their result fields.

use crate::Code;
use crate::initiative::InitiativeView;
use crate::ledger::{Kind, Record};
use crate::outcome::{InitiativeNotice, InitiativeReply};
use crate::render::fit::Room;
use crate::render::result::{self as wire, Coded, Fields};
use crate::render::{Line, Parts, Style, date, omitted, tr};
use crate::text::Text;

/// `Reply::Initiative`: `propose`, `initiative #I` and `initiative #I goal`; `back`, with the
/// sender's backing.
pub(crate) fn initiative<'a>(
    kind: &'a InitiativeReply,
    view: &'a InitiativeView,
    backing: &'a Option<Record>,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let mut lines = Vec::new();
    let fields = match backing {
        Some(r) => {
            lines.push(Line::Plain(t(Text::new(if r.kind == Kind::Obligation {
                "initiative-backed-funded"
            } else {
                "initiative-backed"
            })
            .num("id", r.id)
            .num("initiative", view.initiative.id)
            .arg("amount", r.amount)
            .arg("unit", style.unit))));
            Fields::Backed(wire::initiative::Backed {
                id: r.id,
                kind: Coded(r.kind),
                initiative: view.initiative.id,
                amount: r.amount,
                record_state: r.shown_state(),
                card: view.into(),
            })
        }
        None => {
            if *kind == InitiativeReply::Shown
                && view.initiative.state == crate::initiative::InitiativeState::Active
            {
                lines.push(Line::Plain(t(
                    Text::new("initiative-shown").num("id", view.initiative.id)
                )));
            }
            Fields::Initiative(view.into())
        }
    };
    lines.extend(initiative_lines(view, style));
    (lines, fields)
}

/// `Reply::Initiatives`: `initiatives`.
pub(crate) fn initiatives<'a>(views: &'a [InitiativeView], style: &Style<'_>) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let cut = Room::default().cut(views, |v| {
        (Line::Plain(initiative_summary(v, style)), wire::initiative::Initiative::from(v))
    });
    let mut lines = vec![Line::Plain(t(Text::new(if views.is_empty() {
        "initiatives-none"
    } else {
        "initiatives-title"
    })
    .arg("prefix", style.prefix)))];
    lines.extend(cut.shown);
    let mut more = None;
    if !cut.rest.is_empty() {
        let (line, omitted) =
            omitted(cut.rest, |v| v.backing, Text::new("more-initiatives"), style);
        lines.push(Line::Plain(line));
        more = Some(wire::initiative::MoreInitiatives { initiatives: omitted });
    }
    let initiatives = wire::initiative::Initiatives { initiatives: cut.values, more };
    (lines, Fields::Initiatives(initiatives))
}

/// `Reply::InitiativeNoticed`: a notification about an initiative.
pub(crate) fn initiative_noticed<'a>(
    what: &'a InitiativeNotice,
    view: &'a InitiativeView,
    record: &'a Option<Record>,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let i = &view.initiative;
    let mut head = Text::new(match (what, record.is_some()) {
        (InitiativeNotice::Backed, _) => "notice-initiative-backed",
        (InitiativeNotice::Left, _) => "notice-initiative-left",
        (InitiativeNotice::Funded, true) => "notice-initiative-funded-backer",
        (InitiativeNotice::Funded, false) => "notice-initiative-funded",
        (InitiativeNotice::Lapsed, true) => "notice-initiative-lapsed-backer",
        (InitiativeNotice::Lapsed, false) => "notice-initiative-lapsed",
    })
    .num("initiative", i.id)
    .arg("title", &i.title)
    .arg("proposer", i.proposer.as_str())
    .arg("prefix", style.prefix)
    .arg("unit", style.unit);
    if let Some(r) = record {
        head = head
            .num("id", r.id)
            .arg("amount", r.amount)
            .arg("giver", r.giver.as_str())
            .arg("due", r.due.map(|d| date(d, style)).unwrap_or_default());
    }
    let mut lines = vec![Line::Plain(t(head))];
    lines.extend(initiative_lines(view, style));
    let noticed = wire::initiative::InitiativeNoticed {
        initiative: view.into(),
        notice: what.code(),
        record: record.as_ref().map(Into::into),
    };
    (lines, Fields::InitiativeNoticed(noticed))
}

/// An initiative's card: title, goal, backing and what it lacks, days left, interest, and how
/// to back it (or how it ended).
fn initiative_lines(view: &crate::initiative::InitiativeView, style: &Style<'_>) -> Vec<Line> {
    use crate::initiative::InitiativeState;
    let t = |text: Text| tr(style.lang, &text);
    let i = &view.initiative;
    let mut lines = vec![
        Line::Plain(t(Text::new("initiative-card-title")
            .num("id", i.id)
            .arg("title", &i.title)
            .arg("proposer", i.proposer.as_str()))),
        Line::Plain(t(Text::new("initiative-card-figures")
            .arg("goal", i.goal)
            .arg("backing", view.backing)
            .num("backers", view.backers as i64)
            .arg("remaining", view.remaining)
            .arg("unit", style.unit))),
    ];
    let last = match i.state {
        InitiativeState::Active => Text::new("initiative-card-active")
            .num("days", view.days_left)
            .arg("deadline", date(i.deadline, style))
            .num("interest", view.interest as i64)
            .num("id", i.id)
            .arg("prefix", style.prefix),
        InitiativeState::Funded => Text::new("initiative-card-funded")
            .arg("proposer", i.proposer.as_str())
            .arg("due", view.due.map(|d| date(d, style)).unwrap_or_default()),
        InitiativeState::Lapsed => Text::new("initiative-card-lapsed"),
    };
    lines.push(Line::Plain(t(last)));
    lines
}

/// One line of `initiatives`.
fn initiative_summary(view: &crate::initiative::InitiativeView, style: &Style<'_>) -> String {
    let i = &view.initiative;
    tr(
        style.lang,
        &Text::new("initiatives-line")
            .num("id", i.id)
            .arg("title", &i.title)
            .arg("goal", i.goal)
            .arg("backing", view.backing)
            .num("backers", view.backers as i64)
            .num("days", view.days_left)
            .arg("unit", style.unit),
    )
}

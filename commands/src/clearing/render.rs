//! Clearing as a member reads it: `clearing`, `clearing on|off`, `keep`/`unkeep`, `admin clearing
//! preview|run` and the digest of a run's changes; their lines and, in [`super::result`], their
//! result fields.

use crate::Amount;
use crate::clearing::setoff::{ClearingItem, LastClearing};
use crate::ledger::Record;
use crate::render::fit::Room;
use crate::render::result::{self as wire, Fields, Instant};
use crate::render::{Line, Parts, Style, date, omitted, sum, tr};
use crate::text::Text;

/// `Reply::ClearingState`: `clearing`.
pub(crate) fn clearing_state<'a>(
    on: &'a bool,
    last: &'a Option<LastClearing>,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let mut lines =
        vec![Line::Plain(t(Text::new(if *on { "clearing-is-on" } else { "clearing-is-off" })
            .arg("prefix", style.prefix)))];
    let last = match last {
        None => {
            lines.push(Line::Plain(t(Text::new("clearing-never"))));
            None
        }
        Some(last) => {
            let title = if last.items.is_empty() { "clearing-last-none" } else { "clearing-last" };
            lines.push(Line::Plain(t(Text::new(title).arg("at", date(last.at, style)))));
            let (item_lines, changes) = clearing_items(&last.items, style);
            lines.extend(item_lines);
            Some(wire::clearing::LastClearing { at: Instant(last.at), changes })
        }
    };
    (lines, Fields::ClearingState(wire::clearing::ClearingState { opted_in: *on, last }))
}

/// `Reply::ClearingSet`: `clearing on|off`.
pub(crate) fn clearing_set<'a>(on: &'a bool, changed: &'a bool, style: &Style<'_>) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    (
        vec![Line::Plain(t(Text::new(if *on { "clearing-set-on" } else { "clearing-set-off" })))],
        Fields::ClearingSet(wire::clearing::ClearingSet { opted_in: *on, changed: *changed }),
    )
}

/// `Reply::Kept`: `keep` and `unkeep`.
pub(crate) fn kept<'a>(
    record: &'a Record,
    kept: &'a bool,
    by_other: &'a bool,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let id = match (kept, by_other) {
        (true, _) => "clearing-kept",
        (false, false) => "clearing-unkept",
        (false, true) => "clearing-unkept-other-keeps",
    };
    (
        vec![Line::Plain(t(Text::new(id).num("id", record.id)))],
        Fields::Kept(wire::clearing::Kept {
            record: record.into(),
            kept: *kept,
            kept_by_other: *by_other,
        }),
    )
}

/// `Reply::ClearingTotals`: `admin clearing preview|run`.
pub(crate) fn clearing_totals<'a>(
    applied: &'a bool,
    eligible: &'a u64,
    total: &'a Amount,
    cleared: &'a Amount,
    bound: &'a Amount,
    changed: &'a u64,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let id = if *applied { "clearing-run" } else { "clearing-preview" };
    (
        vec![Line::Plain(t(Text::new(id)
            .num("eligible", *eligible as i64)
            .arg("total", *total)
            .arg("cleared", *cleared)
            .arg("bound", *bound)
            .num("changed", *changed as i64)
            .arg("unit", style.unit)))],
        Fields::ClearingTotals(wire::clearing::ClearingTotals {
            applied: *applied,
            eligible: *eligible,
            total: *total,
            cleared: *cleared,
            bound: *bound,
            obligations_changed: *changed,
        }),
    )
}

/// `Reply::ClearingDigest`: a clearing run's changes, to one party.
pub(crate) fn clearing_digest<'a>(items: &'a [ClearingItem], style: &Style<'_>) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let mut lines = vec![Line::Plain(t(Text::new("clearing-title")))];
    let (item_lines, changes) = clearing_items(items, style);
    lines.extend(item_lines);
    let digest = wire::clearing::ClearingDigest {
        obligations_changed: items.len(),
        cleared: sum(items, |i| i.change.set_off),
        changes,
    };
    (lines, Fields::ClearingDigest(digest))
}

/// A member's changes of a clearing run, as lines and as `changes` in the result, cut as any list
/// (`more.changes.amount`: what was set off on the changes cut).
fn clearing_items<'a>(
    items: &'a [crate::clearing::setoff::ClearingItem],
    style: &Style<'_>,
) -> (Vec<Line>, wire::clearing::Changes<'a>) {
    let cut = Room::default().cut(items, |i| {
        let c = &i.change;
        let message = match (i.as_giver, c.cleared()) {
            (true, true) => "clearing-cleared-given",
            (false, true) => "clearing-cleared-received",
            (true, false) => "clearing-reduced-given",
            (false, false) => "clearing-reduced-received",
        };
        let line = Line::Plain(tr(
            style.lang,
            &Text::new(message)
                .num("id", c.id)
                .num("part", c.part.unwrap_or_default())
                .arg("before", c.before)
                .arg("set_off", c.set_off)
                .arg("after", c.after())
                .arg("unit", style.unit)
                .arg("owner", c.recipient.as_str())
                .arg("giver", c.giver.as_str()),
        ));
        (line, wire::clearing::ClearingChange::from(c))
    });
    let mut lines = cut.shown;
    let mut more = None;
    if !cut.rest.is_empty() {
        let (line, omitted) =
            omitted(cut.rest, |i| i.change.set_off, Text::new("more-changes"), style);
        lines.push(Line::Plain(line));
        more = Some(wire::clearing::MoreChanges { changes: omitted });
    }
    (lines, wire::clearing::Changes { changes: cut.values, more })
}

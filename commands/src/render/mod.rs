//! From a structured reply to what a member reads: plain text, HTML, and the machine-readable
//! `org.exodus.result` object (SPEC §3), in the member's language (Fluent, `i18n/*.ftl`).
//!
//! The object is the serialisation of the types of [`result`], which document it: each reply
//! is built as one of those (beside its lines) and turned into JSON once.
//!
//! Each family renders its own replies in its folder, beside its parser and its decide:
//! `<family>/render.rs` has one function per [`Reply`] variant and `<family>/result.rs` the
//! family's result types (`profile`, `network`, `pool`, `initiative`, `clearing`, `cycle` for the
//! jobs, and `ledger`, which has the circle's in `render_circle.rs` and `result_circle.rs`).
//! [`render_reply`] sends each variant to its family; this module keeps what they share: the
//! Fluent bundles ([`tr`]), `Line`s and `finish`, dates, the lines about what a cut list left
//! out, and usages. `fit` cuts long lists to fit in one event.

pub(crate) mod fit;
pub mod result;

use crate::clearing::render as clearing;
use crate::cycle::render as jobs;
use crate::initiative::render as initiative;
use crate::ledger::render as ledger;
use crate::ledger::render_circle as circle;
use crate::network::render as network;
use crate::pool::render as pool;
use crate::profile::render as profile;

use crate::Code;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde_json::Value;

use crate::command::spec;
use crate::error::CommandError;
use crate::ids::Lang;
use crate::outcome::Reply;
use crate::text::{Arg, Text};

pub use self::fit::{LISTS_BUDGET, MESSAGE_BUDGET};
use self::result::{self as wire, Coded, Fields, Omitted};

/// How to render: the reader's language, the configured unit, and the prefix shown in usages.
#[derive(Clone, Copy, Debug)]
pub struct Style<'a> {
    pub lang: Lang,
    pub unit: &'a str,
    pub prefix: &'a str,
}

/// A message ready to send: `body` (plain), `html` (formatted body) and `result`, the
/// `org.exodus.result` object: a [`result::ReplyResult`] or [`result::ErrorResult`] as JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    pub body: String,
    pub html: String,
    pub result: Value,
}

static BUNDLES: LazyLock<[FluentBundle<FluentResource>; 2]> = LazyLock::new(|| {
    let make = |lang: Lang, source: &str| {
        let id = lang.code().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![id]);
        bundle.set_use_isolating(false);
        let resource =
            FluentResource::try_new(source.to_owned()).unwrap_or_else(|(res, _errors)| res);
        // Errors here are duplicate IDs; the tests check that every message resolves.
        let _ = bundle.add_resource(resource);
        bundle
    };
    [
        make(Lang::En, include_str!("../../i18n/en.ftl")),
        make(Lang::Ru, include_str!("../../i18n/ru.ftl")),
    ]
});

fn bundle(lang: Lang) -> &'static FluentBundle<FluentResource> {
    &BUNDLES[match lang {
        Lang::En => 0,
        Lang::Ru => 1,
    }]
}

/// Formats one message; a missing translation falls back to English, then to the ID itself.
pub fn tr(lang: Lang, text: &Text) -> String {
    let mut args = FluentArgs::new();
    for (name, value) in &text.args {
        match value {
            Arg::Str(s) => args.set(*name, FluentValue::from(s.as_str())),
            Arg::Int(n) => args.set(*name, FluentValue::from(*n)),
        }
    }
    for lang in [lang, Lang::En] {
        let bundle = bundle(lang);
        if let Some(pattern) = bundle.get_message(text.id).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            return bundle.format_pattern(pattern, Some(&args), &mut errors).into_owned();
        }
    }
    text.id.to_owned()
}

/// Lines of a message; `Code` lines are usages and examples, set in monospace in HTML.
pub(crate) enum Line {
    Plain(String),
    Code(String),
}

/// Joins the lines into the plain and the HTML body. A message over [`MESSAGE_BUDGET`] (which its
/// lists, cut by [`Room::cut`], never make it) is squeezed as a last resort, saying so in its last
/// line, rather than refused by the homeserver.
///
/// [`Room::cut`]: fit::Room::cut
fn finish(mut lines: Vec<Line>, mut result: Value, lang: Lang) -> Rendered {
    if fit::weight(&lines, &result) > MESSAGE_BUDGET {
        let dropped = fit::squeeze(&mut lines, &mut result);
        lines.push(Line::Plain(tr(
            lang,
            &Text::new("more-lines").num("count", i64::try_from(dropped).unwrap_or(i64::MAX)),
        )));
    }
    let body = lines
        .iter()
        .map(|l| match l {
            Line::Plain(s) | Line::Code(s) => s.as_str(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let html = lines
        .iter()
        .map(|l| match l {
            Line::Plain(s) => escape(s),
            Line::Code(s) => format!("<code>{}</code>", escape(s)),
        })
        .collect::<Vec<_>>()
        .join("<br>");
    Rendered { body, html, result }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn usage_lines(style: &Style<'_>, command: &str) -> Vec<Line> {
    let Some(spec) = spec(command) else { return Vec::new() };
    let mut lines = vec![Line::Plain(tr(style.lang, &Text::new("usage-title")))];
    lines.extend(spec.usage.iter().map(|u| Line::Code(format!("{}{u}", style.prefix))));
    lines.push(Line::Plain(tr(style.lang, &Text::new("example-title"))));
    lines.push(Line::Code(format!("{}{}", style.prefix, spec.example)));
    lines
}

/// A command's usages, one per line, with the prefix: `usage` in the result.
pub(crate) fn usage_text(spec: &crate::command::Spec, style: &Style<'_>) -> String {
    spec.usage.iter().map(|u| format!("{}{u}", style.prefix)).collect::<Vec<_>>().join("\n")
}

/// An error reply: what went wrong, then the correct usage (or a pointer to `help`).
pub fn render_error(command: &str, error: &CommandError, style: &Style<'_>) -> Rendered {
    let message = tr(style.lang, &error.text);
    let mut lines = vec![Line::Plain(format!("❌ {message}"))];
    // Without a command to show the usage of (an unknown one), the usage shown is `help`'s.
    let usage_of = error.usage_of.unwrap_or("help");
    let usage = spec(usage_of).map(|s| usage_text(s, style));
    match error.usage_of {
        Some(name) => lines.extend(usage_lines(style, name)),
        None => lines.push(Line::Plain(tr(
            style.lang,
            &Text::new("err-see-help").arg("prefix", style.prefix),
        ))),
    }
    let result = wire::ErrorResult { command, ok: false, error: Coded(error.code), message, usage };
    finish(lines, wire::to_value(command, &result), style.lang)
}

pub fn render_reply(command: &str, reply: &Reply, style: &Style<'_>) -> Rendered {
    let (lines, fields) = reply_parts(reply, style);
    let result = wire::ReplyResult { command, ok: true, fields };
    finish(lines, wire::to_value(command, &result), style.lang)
}

/// A reply's lines, and the fields of its `org.exodus.result` beside `command` and `ok`.
pub(crate) type Parts<'a> = (Vec<Line>, Fields<'a>);

/// The lines and result fields of a reply, from its family's module: one arm per [`Reply`]
/// variant, no wildcard, so that a new variant cannot be left unrendered.
fn reply_parts<'a>(reply: &'a Reply, style: &Style<'_>) -> Parts<'a> {
    match reply {
        Reply::Help { topic: None } => profile::help_index(style),
        Reply::Help { topic: Some(name) } => profile::help_topic(name, style),
        Reply::Status(view) => profile::status(view, style),
        Reply::About(about) => profile::about(about, style),
        Reply::PayMethods(methods) => profile::pay_methods(methods, style),
        Reply::CirclePay { owner, methods } => profile::circle_pay(owner, methods, style),
        Reply::PaySentByDm => profile::pay_sent_by_dm(style),
        Reply::PayChanged { action, label } => profile::pay_changed(action, label, style),
        Reply::Lang(lang) => profile::lang(lang, style),
        Reply::Notify(on) => profile::notify(on, style),
        Reply::ForgetPending => profile::forget_pending(style),
        Reply::ForgetDone => profile::forget_done(style),
        Reply::CircleOpened { owner, room_id } => circle::circle_opened(owner, room_id, style),
        Reply::Circle(view) => circle::circle(view, style),
        Reply::CircleLink { room_id } => circle::circle_link(room_id, style),
        Reply::CircleInvited { member } => circle::circle_invited(member, style),
        Reply::Record { done, record, rest } => ledger::record(done, record, rest, style),
        Reply::Noticed { what, record } => ledger::noticed(what, record, style),
        Reply::CollectionComplete { owner, collected } => {
            circle::collection_complete(owner, collected, style)
        }
        Reply::Records { records, reliability } => ledger::records(records, reliability, style),
        Reply::IntentionCancelled { record } => ledger::intention_cancelled(record, style),
        Reply::LeftCircle { member, withdrawn } => ledger::left_circle(member, withdrawn, style),
        Reply::Network(network) => network::network(network, style),
        Reply::HelpRequest(request) => circle::help_request(request, style),
        Reply::Digest { job, items } => jobs::digest(job, items, style),
        Reply::CollectionEnded { owner, collected, requested, status } => {
            circle::collection_ended(owner, collected, requested, status, style)
        }
        Reply::JobRun { job, as_of, report } => jobs::job_run(job, as_of, report, style),
        Reply::Stats(stats) => jobs::stats(stats, style),
        Reply::OutboxChanged { action, destinations, messages } => {
            jobs::outbox_changed(action, destinations, messages, style)
        }
        Reply::Pool(view) => pool::pool(view, style),
        Reply::PoolCreated { name, room_id, rules } => {
            pool::pool_created(name, room_id, rules, style)
        }
        Reply::PoolRules { name, rules } => pool::pool_rules(name, rules, style),
        Reply::PoolRuleChanged { name, key, from, to } => {
            pool::pool_rule_changed(name, key, from, to, style)
        }
        Reply::Pledged { name, member, amount, previous } => {
            pool::pledged(name, member, amount, previous, style)
        }
        Reply::PoolLeft { name, member, pledge, why } => {
            pool::pool_left(name, member, pledge, why, style)
        }
        Reply::Claim { view, ballot } => pool::claim(view, ballot, style),
        Reply::Initiative { kind, view, backing } => {
            initiative::initiative(kind, view, backing, style)
        }
        Reply::Initiatives(views) => initiative::initiatives(views, style),
        Reply::InitiativeNoticed { what, view, record } => {
            initiative::initiative_noticed(what, view, record, style)
        }
        Reply::ClearingState { on, last } => clearing::clearing_state(on, last, style),
        Reply::ClearingSet { on, changed } => clearing::clearing_set(on, changed, style),
        Reply::Kept { record, kept, by_other } => clearing::kept(record, kept, by_other, style),
        Reply::ClearingTotals { applied, eligible, total, cleared, bound, changed } => {
            clearing::clearing_totals(applied, eligible, total, cleared, bound, changed, style)
        }
        Reply::ClearingDigest { items } => clearing::clearing_digest(items, style),
        Reply::ClaimNoticed { what, view } => pool::claim_noticed(what, view, style),
    }
}

/// The sum of `amount` over `items` (exact: integer cents).
pub(crate) fn sum<T>(items: &[T], amount: impl Fn(&T) -> crate::Amount) -> crate::Amount {
    items.iter().fold(crate::Amount::ZERO, |total, item| total.saturating_add(amount(item)))
}

/// The line saying what a list cut by [`Room::cut`] left out, in `message` (`$count`, and
/// `$amount` and `$unit` for a list of amounts).
///
/// [`Room::cut`]: fit::Room::cut
pub(crate) fn more_line(
    count: usize,
    amount: Option<crate::Amount>,
    message: Text,
    style: &Style<'_>,
) -> String {
    let mut text =
        message.num("count", i64::try_from(count).unwrap_or(i64::MAX)).arg("unit", style.unit);
    if let Some(amount) = amount {
        text = text.arg("amount", amount);
    }
    tr(style.lang, &text)
}

/// What a list of amounts cut by [`Room::cut`] left out, `rest` (SPEC §8: long lists are cut
/// with totals for the rest, never dropped silently): the line `message` says it in
/// ([`more_line`]) and `more.<list>` of the result.
///
/// [`Room::cut`]: fit::Room::cut
pub(crate) fn omitted<T>(
    rest: &[T],
    amount: impl Fn(&T) -> crate::Amount,
    message: Text,
    style: &Style<'_>,
) -> (String, Omitted) {
    let omitted = Omitted { count: rest.len(), amount: sum(rest, amount) };
    (more_line(omitted.count, Some(omitted.amount), message, style), omitted)
}

/// The Fluent message of a notification about a record.
pub(crate) fn date(t: DateTime<Utc>, _style: &Style<'_>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod long_lists;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::command::SPECS;

    /// Every message ID of en.ftl (the reference language): a line `id = …` outside a comment.
    static IDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        include_str!("../../i18n/en.ftl")
            .lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
            .filter_map(|l| l.split_once(" =").map(|(id, _)| id.trim()))
            .collect()
    });

    #[test]
    fn every_message_exists_in_every_language() {
        for lang in Lang::ALL {
            for id in IDS.iter() {
                assert!(
                    bundle(lang).get_message(id).and_then(|m| m.value()).is_some(),
                    "{id} missing in {lang:?}"
                );
            }
        }
        for spec in SPECS {
            assert!(IDS.contains(&spec.summary), "{} not in IDS", spec.summary);
        }
    }

    /// Every message ID the sources pass to `Text::new` exists.
    #[test]
    fn every_message_the_code_names_exists() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("../profile/render.rs"),
            include_str!("../ledger/render_circle.rs"),
            include_str!("../ledger/render.rs"),
            include_str!("../network/render.rs"),
            include_str!("../cycle/render.rs"),
            include_str!("../pool/render.rs"),
            include_str!("../initiative/render.rs"),
            include_str!("../clearing/render.rs"),
            include_str!("../ledger/decide.rs"),
            include_str!("../ledger/mod.rs"),
            include_str!("../profile/mod.rs"),
            include_str!("../command/mod.rs"),
            include_str!("../command/args.rs"),
            include_str!("../profile/about.rs"),
            include_str!("../ledger/circle.rs"),
            include_str!("../profile/forget_me.rs"),
            include_str!("../profile/help.rs"),
            include_str!("../profile/lang.rs"),
            include_str!("../ledger/mine.rs"),
            include_str!("../profile/notify.rs"),
            include_str!("../profile/pay.rs"),
            include_str!("../ledger/pledge.rs"),
            include_str!("../profile/status.rs"),
            include_str!("../network/parse.rs"),
            include_str!("../cycle/admin.rs"),
            include_str!("../clearing/parse.rs"),
            include_str!("../clearing/setoff.rs"),
            include_str!("../cycle/mod.rs"),
            include_str!("../network/mod.rs"),
            include_str!("../pool/mod.rs"),
            include_str!("../pool/decide.rs"),
            include_str!("../pool/parse.rs"),
            include_str!("../initiative/mod.rs"),
            include_str!("../initiative/parse.rs"),
            include_str!("../consequence.rs"),
        ];
        let mut named = 0;
        for source in sources {
            for piece in source.split("Text::new(\"").skip(1) {
                let id = piece.split('"').next().unwrap_or_default();
                assert!(IDS.contains(&id), "Text::new(\"{id}\") names no message in en.ftl");
                named += 1;
            }
        }
        assert!(named > 50, "only {named} messages found: is the scan broken?");
    }

    #[test]
    fn russian_plurals_follow_the_number() {
        let line = |n| {
            tr(
                Lang::Ru,
                &Text::new("status-figures")
                    .arg("intentions", "0.00")
                    .arg("obligations", "0.00")
                    .arg("fulfilled", "0.00")
                    .arg("needed", "0.00")
                    .num("supporters", n),
            )
        };
        assert!(line(1).ends_with("1 сторонник"), "{}", line(1));
        assert!(line(3).ends_with("3 сторонника"), "{}", line(3));
        assert!(line(5).ends_with("5 сторонников"), "{}", line(5));
        let en = tr(
            Lang::En,
            &Text::new("status-figures")
                .arg("intentions", "0.00")
                .arg("obligations", "0.00")
                .arg("fulfilled", "0.00")
                .arg("needed", "0.00")
                .num("supporters", 1),
        );
        assert!(en.ends_with("1 supporter"), "{en}");
    }

    #[test]
    fn html_is_escaped() {
        let r = finish(
            vec![Line::Plain("<b>&</b>".into()), Line::Code("!pay".into())],
            json!({}),
            Lang::En,
        );
        assert_eq!(r.html, "&lt;b&gt;&amp;&lt;/b&gt;<br><code>!pay</code>");
        assert_eq!(r.body, "<b>&</b>\n!pay");
    }
}

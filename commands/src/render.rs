//! From a structured reply to what a member reads: plain text, HTML, and the machine-readable
//! `org.exodus.result` object (SPEC §3), in the member's language (Fluent, `i18n/*.ftl`).
//!
//! The object is the serialisation of the types of [`result`], which document it: this module
//! builds one of those from each [`Reply`] (beside its lines) and turns it into JSON once.

mod fit;
pub mod result;

use crate::Code;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde_json::Value;

use crate::command::RecordAction;
use crate::command::{SPECS, spec};
use crate::error::CommandError;
use crate::ids::Lang;
use crate::ledger::{Kind, Record, State};
use crate::network::{List, Network};
use crate::outcome::{
    CircleView, ClaimNotice, HelpRequest, InitiativeNotice, InitiativeReply, PledgeEnded,
    RecordDone, Reply, StatusView,
};
use crate::profile::{FORGET_CONFIRM_MINUTES, Level, PaymentMethod, needed};
use crate::text::{Arg, Text};

use self::fit::Room;
pub use self::fit::{LISTS_BUDGET, MESSAGE_BUDGET};
use self::result::{self as wire, Coded, Fields, Instant, Omitted, OmittedMembers};

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
    [make(Lang::En, include_str!("../i18n/en.ftl")), make(Lang::Ru, include_str!("../i18n/ru.ftl"))]
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
enum Line {
    Plain(String),
    Code(String),
}

/// Joins the lines into the plain and the HTML body. A message over [`MESSAGE_BUDGET`] (which its
/// lists, cut by [`Room::cut`], never make it) is squeezed as a last resort, saying so in its last
/// line, rather than refused by the homeserver.
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

/// The commands `help` lists: all but the admins' own.
fn listed() -> impl Iterator<Item = &'static crate::command::Spec> {
    SPECS.iter().filter(|s| s.scope != crate::command::Scope::Admin)
}

fn usage_lines(style: &Style<'_>, command: &str) -> Vec<Line> {
    let Some(spec) = spec(command) else { return Vec::new() };
    let mut lines = vec![Line::Plain(tr(style.lang, &Text::new("usage-title")))];
    lines.extend(spec.usage.iter().map(|u| Line::Code(format!("{}{u}", style.prefix))));
    lines.push(Line::Plain(tr(style.lang, &Text::new("example-title"))));
    lines.push(Line::Code(format!("{}{}", style.prefix, spec.example)));
    lines
}

/// A command's usages, one per line, with the prefix: `usage` in the result.
fn usage_text(spec: &crate::command::Spec, style: &Style<'_>) -> String {
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

/// The lines of a reply, and the fields of its `org.exodus.result` beside `command` and `ok`.
fn reply_parts<'a>(reply: &'a Reply, style: &Style<'_>) -> (Vec<Line>, Fields<'a>) {
    let t = |text: Text| tr(style.lang, &text);
    let commands = || listed().map(|s| s.name).collect::<Vec<_>>();
    match reply {
        Reply::Help { topic: None } => {
            let mut lines =
                vec![Line::Plain(t(Text::new("help-title").arg("prefix", style.prefix)))];
            lines.extend(listed().map(|s| {
                Line::Plain(format!("{}{} — {}", style.prefix, s.name, t(Text::new(s.summary))))
            }));
            let help = wire::profile::Help {
                usage: None,
                example: None,
                topic: None,
                commands: commands(),
            };
            (lines, Fields::Help(help))
        }
        Reply::Help { topic: Some(name) } => {
            let mut lines = Vec::new();
            let (mut usage, mut example) = (None, None);
            if let Some(spec) = spec(name) {
                lines.push(Line::Plain(format!(
                    "{}{} — {}",
                    style.prefix,
                    spec.name,
                    t(Text::new(spec.summary))
                )));
                usage = Some(usage_text(spec, style));
                example = Some(format!("{}{}", style.prefix, spec.example));
            }
            lines.extend(usage_lines(style, name));
            let help =
                wire::profile::Help { usage, example, topic: Some(name), commands: commands() };
            (lines, Fields::Help(help))
        }
        Reply::Status(view) => (
            status_lines(view, style).into_iter().map(Line::Plain).collect(),
            Fields::Status(status_fields(view)),
        ),
        Reply::About(about) => {
            let line = Line::Plain(match about {
                Some(text) => t(Text::new("about-set").arg("about", text)),
                None => t(Text::new("about-none").arg(
                    "example",
                    format!(
                        "{}{}",
                        style.prefix,
                        crate::command::spec("about").map_or("", |s| s.example)
                    ),
                )),
            });
            (vec![line], Fields::About(wire::profile::About { about: about.as_deref() }))
        }
        Reply::PayMethods(methods) => (
            payment_lines(methods, Text::new("pay-title"), Text::new("pay-none"), style),
            Fields::PayMethods(wire::profile::PayMethods { methods: payment_methods(methods) }),
        ),
        Reply::CirclePay { owner, methods } => {
            let (title, none) = (Text::new("pay-circle-title"), Text::new("pay-circle-none"));
            let lines = payment_lines(
                methods,
                title.arg("owner", owner.as_str()),
                none.arg("owner", owner.as_str()),
                style,
            );
            let pay = wire::profile::CirclePay { owner, methods: payment_methods(methods) };
            (lines, Fields::CirclePay(pay))
        }
        Reply::PaySentByDm => (
            vec![Line::Plain(t(Text::new("pay-sent-by-dm")))],
            Fields::PaySentByDm(wire::profile::PaySentByDm { sent_by_dm: true }),
        ),
        Reply::PayChanged { action, label } => {
            let id = match action {
                crate::outcome::PayAction::Add => "pay-added",
                crate::outcome::PayAction::Remove => "pay-removed",
                crate::outcome::PayAction::Default => "pay-default-set",
            };
            (
                vec![Line::Plain(t(Text::new(id).arg("label", label)))],
                Fields::PayChanged(wire::profile::PayChanged { action: Coded(*action), label }),
            )
        }
        Reply::Lang(lang) => (
            // Written in the language just chosen, whatever the member used before.
            vec![Line::Plain(tr(*lang, &Text::new("lang-set")))],
            Fields::Lang(wire::profile::LangSet { lang: Coded(*lang) }),
        ),
        Reply::Notify(on) => (
            vec![Line::Plain(t(Text::new(if *on { "notify-on" } else { "notify-off" })))],
            Fields::Notify(wire::profile::Notify { notify: *on }),
        ),
        Reply::ForgetPending => (
            vec![Line::Plain(t(Text::new("forget-pending")
                .arg("prefix", style.prefix)
                .num("minutes", FORGET_CONFIRM_MINUTES)))],
            Fields::ForgetPending(wire::profile::ForgetPending { pending: true }),
        ),
        Reply::ForgetDone => (
            vec![Line::Plain(t(Text::new("forget-done")))],
            Fields::ForgetDone(wire::profile::ForgetDone { erased: true }),
        ),
        Reply::CircleOpened { owner, room_id } => (
            vec![Line::Plain(t(match room_id {
                Some(_) => Text::new("circle-opened").arg("owner", owner.as_str()),
                None => Text::new("circle-creating"),
            }))],
            Fields::CircleOpened(wire::circle::CircleOpened { owner, room_id: room_id.as_deref() }),
        ),
        Reply::Circle(view) => {
            let mut lines =
                circle_lines(view, style).into_iter().map(Line::Plain).collect::<Vec<_>>();
            let (record_lines, records) = record_list(&view.records, style, &mut Room::default());
            lines.extend(record_lines);
            (lines, Fields::Circle(wire::circle::Circle { figures: circle_fields(view), records }))
        }
        Reply::CircleLink { room_id } => {
            let link = format!("https://matrix.to/#/{room_id}");
            (
                vec![Line::Plain(t(Text::new("circle-link").arg("link", &link)))],
                Fields::CircleLink(wire::circle::CircleLink { link }),
            )
        }
        Reply::CircleInvited { member } => (
            vec![Line::Plain(t(Text::new("circle-invited").arg("member", member.as_str())))],
            Fields::CircleInvited(wire::circle::CircleInvited { member }),
        ),
        Reply::Record { done, record, rest } => {
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
            let reply = wire::ledger::RecordReply {
                record: record.into(),
                rest: rest.as_ref().map(Into::into),
            };
            (lines, Fields::Record(reply))
        }
        Reply::Noticed { what, record } => (
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
        ),
        Reply::CollectionComplete { owner, collected } => (
            vec![Line::Plain(t(Text::new("collection-complete")
                .arg("owner", owner.as_str())
                .arg("amount", *collected)
                .arg("unit", style.unit)))],
            Fields::CollectionComplete(wire::circle::CollectionComplete {
                notice: wire::circle::CollectionCompleteNotice,
                owner,
                collected: *collected,
            }),
        ),
        Reply::Records { records, reliability } => {
            let (mut lines, list) = if records.is_empty() {
                let none = wire::ledger::RecordList { records: Vec::new(), more: None };
                (vec![Line::Plain(t(Text::new("records-none")))], none)
            } else {
                record_list(records, style, &mut Room::default())
            };
            if let Some(r) = reliability {
                lines.push(Line::Plain(reliability_line(r, style)));
            }
            let records = wire::ledger::Records {
                records: list,
                reliability: reliability.as_ref().map(Into::into),
            };
            (lines, Fields::Records(records))
        }
        Reply::IntentionCancelled { record } => (
            vec![Line::Plain(t(Text::new("notice-intention-cancelled")
                .num("id", record.id)
                .arg("amount", record.amount)
                .arg("unit", style.unit)
                .arg("owner", record.recipient.as_str())))],
            Fields::IntentionCancelled(wire::ledger::IntentionCancelled {
                notice: wire::ledger::IntentionCancelledNotice,
                record: record.into(),
            }),
        ),
        Reply::LeftCircle { member, withdrawn } => {
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
        Reply::Network(network) => {
            let (lines, network) = network_lines(network, style);
            (lines, Fields::Network(network))
        }
        Reply::HelpRequest(request) => {
            let (lines, request) = help_request_lines(request, style);
            (lines, Fields::HelpRequest(request))
        }
        Reply::Digest { job, items } => {
            let (lines, digest) = digest_lines(*job, items, style);
            (lines, Fields::Digest(digest))
        }
        Reply::CollectionEnded { owner, collected, requested, status } => (
            vec![Line::Plain(t(Text::new("collection-ended")
                .arg("owner", owner.as_str())
                .arg("collected", *collected)
                .arg("requested", *requested)
                .arg("unit", style.unit)
                .arg("status", status.code())))],
            Fields::CollectionEnded(wire::circle::CollectionEnded {
                notice: wire::circle::CollectionEndedNotice,
                owner,
                collected: *collected,
                requested: *requested,
                status: Coded(*status),
            }),
        ),
        Reply::JobRun { job, as_of, report } => (
            vec![Line::Plain(t(Text::new("admin-run")
                .arg("job", job.name())
                .arg("as_of", rfc3339(*as_of))
                .arg("report", report.to_string())))],
            Fields::JobRun(wire::jobs::JobRun {
                job: job.name(),
                as_of: Instant(*as_of),
                counts: report.counts.iter().copied().collect(),
                messages: report.messages,
            }),
        ),
        Reply::Stats(stats) => {
            let mut lines = vec![Line::Plain(t(Text::new("admin-stats-title")))];
            for (name, n) in &stats.counts {
                lines.push(Line::Plain(format!("{name}: {n}")));
            }
            for d in &stats.destinations {
                let text = if d.failed {
                    Text::new("admin-stats-destination-failed")
                } else {
                    Text::new("admin-stats-destination-failing")
                };
                lines.push(Line::Plain(t(text
                    .arg("destination", d.destination.as_str())
                    .arg("since", rfc3339(d.since))
                    .num("failures", i64::from(d.failures))
                    .num("pending", d.pending)
                    .arg("error", short_error(&d.last_error)))));
            }
            if stats.runs.is_empty() {
                lines.push(Line::Plain(t(Text::new("admin-stats-no-runs"))));
            }
            for r in &stats.runs {
                let text = match r.finished {
                    Some(_) => Text::new("admin-stats-run"),
                    None => Text::new("admin-stats-running"),
                };
                lines.push(Line::Plain(t(text
                    .arg("job", r.job.as_str())
                    .arg("slot", rfc3339(r.slot))
                    .arg("runner", r.runner.as_str())
                    .arg("summary", r.summary.as_deref().unwrap_or_default()))));
            }
            let stats = wire::jobs::Stats {
                counts: stats.counts.iter().copied().collect(),
                jobs: stats.runs.iter().map(Into::into).collect(),
                destinations: stats.destinations.iter().map(Into::into).collect(),
            };
            (lines, Fields::Stats(stats))
        }
        Reply::OutboxChanged { action, destinations, messages } => {
            let (key, action, destination) = match action {
                crate::command::OutboxAction::Retry(d) => {
                    ("admin-outbox-retried", "retry", d.as_deref())
                }
                crate::command::OutboxAction::Drop(d) => {
                    ("admin-outbox-dropped", "drop", Some(d.as_str()))
                }
            };
            let all = t(Text::new("admin-outbox-all"));
            (
                vec![Line::Plain(t(Text::new(key)
                    .arg("destination", destination.unwrap_or(&all))
                    .num("destinations", i64::try_from(*destinations).unwrap_or(i64::MAX))
                    .num("messages", i64::try_from(*messages).unwrap_or(i64::MAX))))],
                Fields::OutboxChanged(wire::jobs::OutboxChanged {
                    action,
                    destination,
                    destinations: *destinations,
                    messages: *messages,
                }),
            )
        }
        Reply::Pool(view) => {
            let (lines, pool) = pool_lines(view, style);
            (lines, Fields::Pool(pool))
        }
        Reply::PoolCreated { name, room_id, rules } => {
            let mut lines = vec![Line::Plain(t(Text::new("pool-created")
                .arg("name", name)
                .arg("prefix", style.prefix)))];
            lines.extend(rule_lines(rules));
            let created = wire::pool::PoolCreated {
                kind: wire::pool::PoolKind,
                name,
                room_id,
                rules: rules_map(rules),
            };
            (lines, Fields::PoolCreated(created))
        }
        Reply::PoolRules { name, rules } => {
            let mut lines = vec![Line::Plain(t(Text::new("pool-rules-title").arg("name", name)))];
            lines.extend(rule_lines(rules));
            let rules =
                wire::pool::PoolRules { kind: wire::pool::PoolKind, name, rules: rules_map(rules) };
            (lines, Fields::PoolRules(rules))
        }
        Reply::PoolRuleChanged { name, key, from, to } => (
            vec![Line::Plain(t(Text::new("pool-rule-changed")
                .arg("name", name)
                .arg("key", key)
                .arg("from", from)
                .arg("to", to)))],
            Fields::PoolRuleChanged(wire::pool::PoolRuleChanged {
                kind: wire::pool::PoolKind,
                name,
                rule: key,
                from,
                to,
            }),
        ),
        Reply::Pledged { name, member, amount, previous } => (
            vec![Line::Plain(t(Text::new("pool-pledged")
                .arg("name", name)
                .arg("amount", *amount)
                .arg("unit", style.unit)))],
            Fields::Pledged(wire::pool::Pledged {
                kind: wire::pool::PoolKind,
                member,
                pledge: *amount,
                previous: *previous,
            }),
        ),
        Reply::PoolLeft { name, member, pledge, why } => {
            let message = match why {
                PledgeEnded::Excluded => "pool-excluded",
                PledgeEnded::LeftRoom => "pool-left-room",
                PledgeEnded::Lapsed => "pool-lapsed",
                PledgeEnded::Left => "pool-left",
            };
            (
                vec![Line::Plain(t(Text::new(message)
                    .arg("name", name)
                    .arg("member", member.as_str())
                    .arg("amount", *pledge)
                    .arg("unit", style.unit)))],
                Fields::PoolLeft(wire::pool::PoolLeft {
                    kind: wire::pool::PoolKind,
                    notice: why.code(),
                    member,
                    pledge: *pledge,
                }),
            )
        }
        Reply::Claim { view, ballot } => {
            let head = match ballot {
                Some(ballot) => Text::new("claim-voted")
                    .num("id", view.claim.id)
                    .arg("vote", ballot.vote.map_or("", |v| v.code())),
                None => {
                    Text::new("claim-opened").num("id", view.claim.id).arg("prefix", style.prefix)
                }
            };
            let mut lines = vec![Line::Plain(t(head))];
            let (claim_lines, claim) = claim_lines(view, style, &mut Room::default());
            lines.extend(claim_lines);
            let reply = wire::pool::ClaimReply { claim, ballot: ballot.as_ref().map(Into::into) };
            (lines, Fields::Claim(reply))
        }
        Reply::Initiative { kind, view, backing } => {
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
        Reply::Initiatives(views) => {
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
        Reply::InitiativeNoticed { what, view, record } => {
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
        Reply::ClearingState { on, last } => {
            let mut lines = vec![Line::Plain(t(Text::new(if *on {
                "clearing-is-on"
            } else {
                "clearing-is-off"
            })
            .arg("prefix", style.prefix)))];
            let last = match last {
                None => {
                    lines.push(Line::Plain(t(Text::new("clearing-never"))));
                    None
                }
                Some(last) => {
                    let title =
                        if last.items.is_empty() { "clearing-last-none" } else { "clearing-last" };
                    lines.push(Line::Plain(t(Text::new(title).arg("at", date(last.at, style)))));
                    let (item_lines, changes) = clearing_items(&last.items, style);
                    lines.extend(item_lines);
                    Some(wire::clearing::LastClearing { at: Instant(last.at), changes })
                }
            };
            (lines, Fields::ClearingState(wire::clearing::ClearingState { opted_in: *on, last }))
        }
        Reply::ClearingSet { on, changed } => (
            vec![Line::Plain(t(Text::new(if *on {
                "clearing-set-on"
            } else {
                "clearing-set-off"
            })))],
            Fields::ClearingSet(wire::clearing::ClearingSet { opted_in: *on, changed: *changed }),
        ),
        Reply::Kept { record, kept, by_other } => {
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
        Reply::ClearingTotals { applied, eligible, total, cleared, bound, changed } => {
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
        Reply::ClearingDigest { items } => {
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
        Reply::ClaimNoticed { what, view } => {
            let head = match what {
                ClaimNotice::ClaimOpened => Text::new("notice-claim-opened")
                    .num("id", view.claim.id)
                    .arg("prefix", style.prefix),
                ClaimNotice::ClaimDecided => Text::new("notice-claim-decided")
                    .num("id", view.claim.id)
                    .arg("verdict", view.claim.verdict.map_or("", |v| v.code())),
            };
            let mut lines = vec![Line::Plain(t(head))];
            let (claim_lines, claim) = claim_lines(view, style, &mut Room::default());
            lines.extend(claim_lines);
            (lines, Fields::ClaimNoticed(wire::pool::ClaimNoticed { notice: what.code(), claim }))
        }
    }
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

fn rule_lines(rules: &[(&'static str, String)]) -> Vec<Line> {
    rules.iter().map(|(k, v)| Line::Code(format!("{k} {v}"))).collect()
}

/// The rules of a pool, by key (a key given twice: the last value).
fn rules_map<'a>(rules: &'a [(&'static str, String)]) -> BTreeMap<&'static str, &'a str> {
    rules.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A claim's fields (SPEC §3 `claim`/`vote`), with the `shares` shown and what was cut of them.
fn claim_fields<'a>(
    view: &'a crate::pool::ClaimView,
    shares: Vec<wire::pool::Share<'a>>,
    more: Option<wire::pool::MoreShares>,
) -> wire::pool::Claim<'a> {
    let c = &view.claim;
    wire::pool::Claim {
        kind: wire::pool::ClaimKind,
        id: c.id,
        state: Coded(c.state),
        verdict: c.verdict.map(Coded),
        claimant: &c.claimant,
        event: &c.event,
        amount: c.amount,
        description: &c.description,
        closes: Instant(c.closes),
        yes: view.yes,
        no: view.no,
        eligible: view.eligible,
        covered: view.covered,
        shares,
        more,
    }
}

/// A claim: what is claimed, the tally, and the shares (cut to `room`), as lines and as the
/// claim's result fields.
fn claim_lines<'a>(
    view: &'a crate::pool::ClaimView,
    style: &Style<'_>,
    room: &mut Room,
) -> (Vec<Line>, wire::pool::Claim<'a>) {
    let c = &view.claim;
    let t = |text: Text| tr(style.lang, &text);
    let mut lines = vec![
        Line::Plain(t(Text::new("claim-line")
            .num("id", c.id)
            .arg("claimant", c.claimant.as_str())
            .arg("event", &c.event)
            .arg("amount", c.amount)
            .arg("unit", style.unit)
            .arg("description", &c.description))),
        Line::Plain(t(Text::new("claim-tally")
            .num("yes", view.yes as i64)
            .num("no", view.no as i64)
            .num("eligible", view.eligible as i64)
            .arg("state", c.state.code())
            .arg("closes", date(c.closes, style)))),
    ];
    let cut = room.cut(&view.shares, |(m, a)| {
        (format!("{m} {a}"), wire::pool::Share { member: m, amount: *a })
    });
    let mut more = None;
    if !view.shares.is_empty() {
        let mut shares = cut.shown.join(", ");
        if !cut.rest.is_empty() {
            let (line, omitted) = omitted(cut.rest, |(_, a)| *a, Text::new("more-shares"), style);
            more = Some(wire::pool::MoreShares { shares: omitted });
            shares = if cut.shown.is_empty() { line } else { format!("{shares} {line}") };
        }
        lines.push(Line::Plain(t(Text::new("claim-shares")
            .arg("covered", view.covered)
            .arg("unit", style.unit)
            .arg("shares", shares))));
    }
    (lines, claim_fields(view, cut.values, more))
}

/// The room a claim's shares have in the `pool` message, which may show several claims.
const POOL_CLAIM_SHARES: usize = 2 * 1024;

/// `pool`: the figures, each member's pledge, the claims being voted on.
fn pool_lines<'a>(
    view: &'a crate::pool::PoolView,
    style: &Style<'_>,
) -> (Vec<Line>, wire::pool::Pool<'a>) {
    let t = |text: Text| tr(style.lang, &text);
    let mut lines = vec![Line::Plain(t(Text::new("pool-title")
        .arg("name", &view.name)
        .arg("total", view.total)
        .arg("available", view.available)
        .arg("paid", view.paid)
        .arg("reserve", view.reserve)
        .arg("unit", style.unit)))];
    if view.members.is_empty() {
        lines.push(Line::Plain(t(Text::new("pool-no-pledges").arg("prefix", style.prefix))));
    }
    // Members and claims share the message by what each needs.
    let member = |(m, p): &'a (crate::MemberId, crate::Amount)| {
        (
            Line::Plain(format!("• {m}: {p} {}", style.unit)),
            wire::pool::PoolMember { member: m, pledge: *p },
        )
    };
    // A claim's shares are in its own replies, not in `pool`'s result.
    let claim = |c: &'a crate::pool::ClaimView| {
        let (lines, _) = claim_lines(c, style, &mut Room::new(POOL_CLAIM_SHARES));
        (lines, wire::pool::PoolClaim::from(c))
    };
    let room = Room::default();
    let needs = [room.need(&view.members, member), room.need(&view.claims, claim)];
    let [mut members_room, mut claims_room] =
        <[Room; 2]>::try_from(room.split(&needs)).unwrap_or_default();
    let mut more = wire::pool::PoolMore::default();
    let members = members_room.cut(&view.members, member);
    lines.extend(members.shown);
    if !members.rest.is_empty() {
        let (line, omitted) = omitted(members.rest, |(_, p)| *p, Text::new("more-pledges"), style);
        lines.push(Line::Plain(line));
        more.members = Some(omitted);
    }
    let claims = claims_room.cut(&view.claims, claim);
    lines.extend(claims.shown.into_iter().flatten());
    if !claims.rest.is_empty() {
        let (line, omitted) =
            omitted(claims.rest, |c| c.claim.amount, Text::new("more-claims"), style);
        lines.push(Line::Plain(line));
        more.claims = Some(omitted);
    }
    let pool = wire::pool::Pool {
        kind: wire::pool::PoolKind,
        name: &view.name,
        total: view.total,
        available: view.available,
        paid: view.paid,
        reserve: view.reserve,
        members: members.values,
        claims: claims.values,
        more,
    };
    (lines, pool)
}

fn payment_methods(methods: &[PaymentMethod]) -> Vec<wire::profile::PaymentMethod<'_>> {
    methods.iter().map(Into::into).collect()
}

/// Payment details, one per line under `title`, the default marked; `none` when there are none.
fn payment_lines(
    methods: &[PaymentMethod],
    title: Text,
    none: Text,
    style: &Style<'_>,
) -> Vec<Line> {
    if methods.is_empty() {
        return vec![Line::Plain(tr(style.lang, &none))];
    }
    let mark = tr(style.lang, &Text::new("pay-default-mark"));
    let mut lines = vec![Line::Plain(tr(style.lang, &title))];
    lines.extend(methods.iter().map(|m| {
        Line::Plain(format!(
            "• {}: {}{}",
            m.label,
            m.details,
            if m.is_default { format!(" {mark}") } else { String::new() }
        ))
    }));
    lines
}

/// `network`: one line per list of SPEC §6, each member with their status.
fn network_lines<'a>(
    network: &'a Network,
    style: &Style<'_>,
) -> (Vec<Line>, wire::network::Network<'a>) {
    let mut lines = vec![Line::Plain(tr(style.lang, &Text::new("network-title")))];
    let mut result = wire::network::Network::default();
    // The six lists share the message by what each needs: a short list is shown whole.
    let member = |r: &'a crate::network::Related| {
        (format!("{} {}", r.level.emoji(), r.member), wire::network::Related::from(r))
    };
    let room = Room::default();
    let needs: Vec<usize> =
        List::ALL.iter().map(|&list| room.need(network.list(list), member)).collect();
    for (list, mut room) in List::ALL.into_iter().zip(room.split(&needs)) {
        let related = network.list(list);
        let cut = room.cut(related, member);
        let mut members = if related.is_empty() {
            tr(style.lang, &Text::new("network-nobody"))
        } else {
            cut.shown.join(", ")
        };
        if !cut.rest.is_empty() {
            *result.more.list_mut(list) = Some(OmittedMembers { count: cut.rest.len() });
            let more = more_line(cut.rest.len(), None, Text::new("more-members"), style);
            members = if cut.shown.is_empty() { more } else { format!("{members} {more}") };
        }
        *result.list_mut(list) = cut.values;
        lines.push(Line::Plain(format!(
            "{}: {members}",
            tr(style.lang, &Text::new(network_message(list)))
        )));
    }
    (lines, result)
}

fn network_message(list: List) -> &'static str {
    match list {
        List::Supporters => "network-supporters",
        List::Supported => "network-supported",
        List::SupportersOfSupporters => "network-supporters-of-supporters",
        List::CoSupporters => "network-co-supporters",
        List::SupportedBySupporters => "network-supported-by-supporters",
        List::SupportedBySupported => "network-supported-by-supported",
    }
}

/// A request for help passed on to the circle or the network (SPEC §5): the need, what is still
/// needed, the supporter count and the circle's link; never a record.
fn help_request_lines<'a>(
    request: &'a HelpRequest,
    style: &Style<'_>,
) -> (Vec<Line>, wire::circle::HelpRequest<'a>) {
    let need = &request.need;
    let link = request.circle_room.as_ref().map(|room| format!("https://matrix.to/#/{room}"));
    let id = match need.level() {
        Level::Red => "request-red",
        _ => "request-orange",
    };
    let mut head = tr(
        style.lang,
        &Text::new(id)
            .arg("owner", request.owner.as_str())
            .arg("requested", need.requested().unwrap_or_default())
            .arg("needed", request.needed)
            .arg("unit", style.unit)
            .num("supporters", i64::from(request.supporters))
            .arg("deadline", need.deadline().map(|d| date(d, style)).unwrap_or_default()),
    );
    if let Some(note) = need.note() {
        head.push_str(&format!(" — “{note}”"));
    }
    let mut lines = vec![Line::Plain(head)];
    if let Some(link) = &link {
        lines.push(Line::Plain(tr(style.lang, &Text::new("request-join").arg("link", link))));
    }
    let result = wire::circle::HelpRequest {
        notice: wire::circle::HelpRequestNotice,
        owner: &request.owner,
        need: need.into(),
        needed: request.needed,
        supporters: request.supporters,
        link,
    };
    (lines, result)
}

/// The records, as many as fit in `room` (SPEC §8: a circle or a member with thousands of records
/// still gets an answer), as lines and as `records` in the result; the rest summed up in one line
/// and in `more.records`: `count`, `amount` (the sum of their amounts) and the open ❤️ and 🤝 among
/// them, so that what is listed and `more` still add up to the figures shown.
fn record_list<'a>(
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

/// The sum of `amount` over `items` (exact: integer cents).
fn sum<T>(items: &[T], amount: impl Fn(&T) -> crate::Amount) -> crate::Amount {
    items.iter().fold(crate::Amount::ZERO, |total, item| total.saturating_add(amount(item)))
}

/// The line saying what a list cut by [`Room::cut`] left out, in `message` (`$count`, and
/// `$amount` and `$unit` for a list of amounts).
fn more_line(
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
fn omitted<T>(
    rest: &[T],
    amount: impl Fn(&T) -> crate::Amount,
    message: Text,
    style: &Style<'_>,
) -> (String, Omitted) {
    let omitted = Omitted { count: rest.len(), amount: sum(rest, amount) };
    (more_line(omitted.count, Some(omitted.amount), message, style), omitted)
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

/// The Fluent message of a notification about a record.
fn date(t: DateTime<Utc>, _style: &Style<'_>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn digest_lines<'a>(
    job: crate::cycle::Job,
    items: &'a [crate::cycle::DigestItem],
    style: &Style<'_>,
) -> (Vec<Line>, wire::jobs::Digest<'a>) {
    use crate::cycle::{Job, Marked};
    let title = match job {
        Job::Rollover => "rollover-title",
        Job::Reminders => "reminders-title",
        Job::Deadlines => "deadlines-title",
        Job::Clearing => "clearing-title",
    };
    let mut lines = vec![Line::Plain(tr(style.lang, &Text::new(title)))];
    let cut = Room::default().cut(items, |i| {
        let m = &i.marking;
        let (id, from) = match m.marked {
            Marked::Renewed { from } => (m.id, from),
            _ => (m.id, m.id),
        };
        let message = match (m.marked, i.as_giver) {
            (Marked::Expired, true) => "rollover-expired-given",
            (Marked::Expired, false) => "rollover-expired-received",
            (Marked::Renewed { .. }, true) => "rollover-renewed-given",
            (Marked::Renewed { .. }, false) => "rollover-renewed-received",
            (Marked::Overdue, true) => "rollover-overdue-given",
            (Marked::Overdue, false) => "rollover-overdue-received",
            (Marked::Due, _) => "reminder-due",
            (Marked::Unconfirmed, _) => "reminder-unconfirmed",
        };
        let line = Line::Plain(tr(
            style.lang,
            &Text::new(message)
                .num("id", id)
                .num("from", from)
                .arg("amount", m.amount)
                .arg("unit", style.unit)
                .arg("owner", m.recipient.as_str())
                .arg("giver", m.giver.as_str())
                .arg("due", m.due.map(|d| date(d, style)).unwrap_or_default())
                .arg("prefix", style.prefix),
        ));
        (line, wire::jobs::DigestEntry::from(m))
    });
    lines.extend(cut.shown);
    let mut more = None;
    if !cut.rest.is_empty() {
        let (line, omitted) =
            omitted(cut.rest, |i| i.marking.amount, Text::new("more-records"), style);
        lines.push(Line::Plain(line));
        more = Some(omitted);
    }
    (lines, wire::jobs::Digest { job, items: cut.values, more })
}

/// A member's changes of a clearing run, as lines and as `changes` in the result, cut as any list
/// (`more.changes.amount`: what was set off on the changes cut).
fn clearing_items<'a>(
    items: &'a [crate::setoff::ClearingItem],
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

/// SPEC §3 result fields of `circle` (beside its records).
fn circle_fields(view: &CircleView) -> wire::circle::CircleFigures<'_> {
    wire::circle::CircleFigures {
        owner: &view.owner,
        need: (&view.need).into(),
        intentions: view.totals.intentions,
        obligations: view.totals.obligations,
        fulfilled: view.totals.fulfilled,
        needed: needed(&view.need, &view.totals),
        supporters: view.supporters,
    }
}

fn circle_lines(view: &CircleView, style: &Style<'_>) -> Vec<String> {
    let t = |text: Text| tr(style.lang, &text);
    let need = &view.need;
    let head = match need.level() {
        Level::Green => t(Text::new("circle-green").arg("owner", view.owner.as_str())),
        Level::Orange => t(Text::new("circle-orange")
            .arg("owner", view.owner.as_str())
            .arg("requested", need.requested().unwrap_or_default())
            .arg("unit", style.unit)),
        Level::Red => t(Text::new("circle-red")
            .arg("owner", view.owner.as_str())
            .arg("requested", need.requested().unwrap_or_default())
            .arg("unit", style.unit)
            .arg("deadline", need.deadline().map(|d| date(d, style)).unwrap_or_default())),
    };
    vec![
        head,
        t(Text::new("status-figures")
            .arg("intentions", view.totals.intentions)
            .arg("obligations", view.totals.obligations)
            .arg("fulfilled", view.totals.fulfilled)
            .arg("needed", needed(need, &view.totals))
            .num("supporters", i64::from(view.supporters))),
    ]
}

fn rfc3339(t: DateTime<Utc>) -> String {
    Instant(t).to_string()
}

/// SPEC §3 result fields of `status`: those of `circle` for the member's own circle, and their
/// own giving.
fn status_fields(view: &StatusView) -> wire::profile::Status<'_> {
    let circle = &view.facts.circle;
    wire::profile::Status {
        circle: wire::circle::CircleFigures {
            owner: &view.owner,
            need: (&view.need).into(),
            intentions: circle.intentions,
            obligations: circle.obligations,
            fulfilled: circle.fulfilled,
            needed: needed(&view.need, circle),
            supporters: view.facts.supporters,
        },
        given: (&view.facts.given).into(),
        received: (&view.facts.received).into(),
        reliability: (&view.facts.reliability).into(),
    }
}

fn reliability_line(r: &crate::profile::Reliability, style: &Style<'_>) -> String {
    tr(
        style.lang,
        &Text::new("reliability")
            .num("fulfilled", i64::from(r.fulfilled))
            .num("overdue", i64::from(r.overdue))
            .num("forgiven", i64::from(r.forgiven)),
    )
}

fn status_lines(view: &StatusView, style: &Style<'_>) -> Vec<String> {
    let t = |text: Text| tr(style.lang, &text);
    let need = &view.need;
    let mut head = match need.level() {
        Level::Green => t(Text::new("status-green")),
        Level::Orange => t(Text::new("status-orange")
            .arg("requested", need.requested().unwrap_or_default())
            .arg("unit", style.unit)),
        Level::Red => t(Text::new("status-red")
            .arg("requested", need.requested().unwrap_or_default())
            .arg("unit", style.unit)
            .arg(
                "deadline",
                need.deadline()
                    .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default(),
            )),
    };
    if let Some(note) = need.note() {
        head.push_str(&format!(" — “{note}”"));
    }
    let c = &view.facts.circle;
    let (g, r) = (&view.facts.given, &view.facts.received);
    vec![
        head,
        t(Text::new("status-figures")
            .arg("intentions", c.intentions)
            .arg("obligations", c.obligations)
            .arg("fulfilled", c.fulfilled)
            .arg("needed", needed(need, c))
            .num("supporters", i64::from(view.facts.supporters))),
        t(Text::new("status-cycle")
            .arg("gi", g.intentions)
            .arg("go", g.obligations)
            .arg("gf", g.fulfilled)
            .arg("ri", r.intentions)
            .arg("ro", r.obligations)
            .arg("rf", r.fulfilled)),
        reliability_line(&view.facts.reliability, style),
    ]
}

/// A send error as an admin reads it in a chat line: its first 200 characters.
fn short_error(error: &str) -> String {
    let mut short: String = error.chars().filter(|c| !c.is_control()).take(200).collect();
    if error.chars().count() > 200 {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod long_lists;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Every message ID of en.ftl (the reference language): a line `id = …` outside a comment.
    static IDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        include_str!("../i18n/en.ftl")
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
            include_str!("render.rs"),
            include_str!("circle.rs"),
            include_str!("ledger.rs"),
            include_str!("profile.rs"),
            include_str!("command/mod.rs"),
            include_str!("command/args.rs"),
            include_str!("command/about.rs"),
            include_str!("command/circle.rs"),
            include_str!("command/forget_me.rs"),
            include_str!("command/help.rs"),
            include_str!("command/lang.rs"),
            include_str!("command/mine.rs"),
            include_str!("command/notify.rs"),
            include_str!("command/pay.rs"),
            include_str!("command/pledge.rs"),
            include_str!("command/status.rs"),
            include_str!("command/network.rs"),
            include_str!("command/admin.rs"),
            include_str!("command/clearing.rs"),
            include_str!("setoff.rs"),
            include_str!("cycle.rs"),
            include_str!("network.rs"),
            include_str!("pool/mod.rs"),
            include_str!("pool/decide.rs"),
            include_str!("command/pool.rs"),
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

//! From a structured reply to what a member reads: plain text, HTML, and the machine-readable
//! `org.exodus.result` object (SPEC §3), in the member's language (Fluent, `i18n/*.ftl`).

mod fit;

use crate::Code;
use std::sync::LazyLock;

use chrono::{DateTime, SecondsFormat, Utc};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde_json::{Value, json};

use crate::command::{SPECS, spec};
use crate::error::CommandError;
use crate::ids::Lang;
use crate::ledger::{Kind, Record, State};
use crate::network::{List, Network};
use crate::outcome::{CircleView, HelpRequest, Reply, StatusView};
use crate::profile::{FORGET_CONFIRM_MINUTES, Level, PaymentMethod, Totals, needed};
use crate::text::{Arg, Text};

use self::fit::Room;
pub use self::fit::{LISTS_BUDGET, MESSAGE_BUDGET};

/// How to render: the reader's language, the configured unit, and the prefix shown in usages.
#[derive(Clone, Copy, Debug)]
pub struct Style<'a> {
    pub lang: Lang,
    pub unit: &'a str,
    pub prefix: &'a str,
}

/// A message ready to send: `body` (plain), `html` (formatted body) and `result`.
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

/// An error reply: what went wrong, then the correct usage (or a pointer to `help`).
pub fn render_error(command: &str, error: &CommandError, style: &Style<'_>) -> Rendered {
    let message = tr(style.lang, &error.text);
    let mut lines = vec![Line::Plain(format!("❌ {message}"))];
    // Without a command to show the usage of (an unknown one), the usage shown is `help`'s.
    let usage_of = error.usage_of.unwrap_or("help");
    let usage = spec(usage_of)
        .map(|s| s.usage.iter().map(|u| format!("{}{u}", style.prefix)).collect::<Vec<_>>());
    match error.usage_of {
        Some(name) => lines.extend(usage_lines(style, name)),
        None => lines.push(Line::Plain(tr(
            style.lang,
            &Text::new("err-see-help").arg("prefix", style.prefix),
        ))),
    }
    let mut result = json!({
        "command": command,
        "ok": false,
        "error": error.code.code(),
        "message": message,
    });
    if let Some(usage) = usage {
        result["usage"] = json!(usage.join("\n"));
    }
    finish(lines, result, style.lang)
}

pub fn render_reply(command: &str, reply: &Reply, style: &Style<'_>) -> Rendered {
    let t = |text: Text| tr(style.lang, &text);
    let mut result = json!({ "command": command, "ok": true });
    let lines = match reply {
        Reply::Help { topic: None } => {
            let mut lines =
                vec![Line::Plain(t(Text::new("help-title").arg("prefix", style.prefix)))];
            lines.extend(listed().map(|s| {
                Line::Plain(format!("{}{} — {}", style.prefix, s.name, t(Text::new(s.summary))))
            }));
            result["commands"] = json!(listed().map(|s| s.name).collect::<Vec<_>>());
            lines
        }
        Reply::Help { topic: Some(name) } => {
            let mut lines = Vec::new();
            if let Some(spec) = spec(name) {
                lines.push(Line::Plain(format!(
                    "{}{} — {}",
                    style.prefix,
                    spec.name,
                    t(Text::new(spec.summary))
                )));
                result["usage"] = json!(
                    spec.usage
                        .iter()
                        .map(|u| format!("{}{u}", style.prefix))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                result["example"] = json!(format!("{}{}", style.prefix, spec.example));
            }
            lines.extend(usage_lines(style, name));
            result["topic"] = json!(name);
            result["commands"] = json!(listed().map(|s| s.name).collect::<Vec<_>>());
            lines
        }
        Reply::Status(view) => {
            status_fields(view, &mut result);
            status_lines(view, style).into_iter().map(Line::Plain).collect()
        }
        Reply::About(about) => {
            result["about"] = json!(about);
            vec![Line::Plain(match about {
                Some(text) => t(Text::new("about-set").arg("about", text)),
                None => t(Text::new("about-none").arg(
                    "example",
                    format!(
                        "{}{}",
                        style.prefix,
                        crate::command::spec("about").map_or("", |s| s.example)
                    ),
                )),
            })]
        }
        Reply::PayMethods(methods) => {
            result["methods"] = methods_json(methods);
            payment_lines(methods, Text::new("pay-title"), Text::new("pay-none"), style)
        }
        Reply::CirclePay { owner, methods } => {
            result["owner"] = json!(owner);
            result["methods"] = methods_json(methods);
            let (title, none) = (Text::new("pay-circle-title"), Text::new("pay-circle-none"));
            payment_lines(
                methods,
                title.arg("owner", owner.as_str()),
                none.arg("owner", owner.as_str()),
                style,
            )
        }
        Reply::PaySentByDm => {
            result["sent_by_dm"] = json!(true);
            vec![Line::Plain(t(Text::new("pay-sent-by-dm")))]
        }
        Reply::PayChanged { action, label } => {
            result["action"] = json!(action.code());
            result["label"] = json!(label);
            let id = match action {
                crate::outcome::PayAction::Add => "pay-added",
                crate::outcome::PayAction::Remove => "pay-removed",
                crate::outcome::PayAction::Default => "pay-default-set",
            };
            vec![Line::Plain(t(Text::new(id).arg("label", label)))]
        }
        Reply::Lang(lang) => {
            result["lang"] = json!(lang);
            // Written in the language just chosen, whatever the member used before.
            vec![Line::Plain(tr(*lang, &Text::new("lang-set")))]
        }
        Reply::Notify(on) => {
            result["notify"] = json!(on);
            vec![Line::Plain(t(Text::new(if *on { "notify-on" } else { "notify-off" })))]
        }
        Reply::ForgetPending => {
            result["pending"] = json!(true);
            vec![Line::Plain(t(Text::new("forget-pending")
                .arg("prefix", style.prefix)
                .num("minutes", FORGET_CONFIRM_MINUTES)))]
        }
        Reply::ForgetDone => {
            result["erased"] = json!(true);
            vec![Line::Plain(t(Text::new("forget-done")))]
        }
        Reply::CircleOpened { owner, room_id } => {
            result["owner"] = json!(owner);
            result["room_id"] = json!(room_id);
            vec![Line::Plain(t(match room_id {
                Some(_) => Text::new("circle-opened").arg("owner", owner.as_str()),
                None => Text::new("circle-creating"),
            }))]
        }
        Reply::Circle(view) => {
            circle_fields(view, &mut result);
            let mut lines =
                circle_lines(view, style).into_iter().map(Line::Plain).collect::<Vec<_>>();
            lines.extend(record_list(&view.records, style, &mut result, &mut Room::default()));
            lines
        }
        Reply::CircleLink { room_id } => {
            let link = format!("https://matrix.to/#/{room_id}");
            result["link"] = json!(link);
            vec![Line::Plain(t(Text::new("circle-link").arg("link", link)))]
        }
        Reply::CircleInvited { member } => {
            result["member"] = json!(member);
            vec![Line::Plain(t(Text::new("circle-invited").arg("member", member.as_str())))]
        }
        Reply::Record { command, record, rest } => {
            record_fields(record, &mut result);
            if let Some(rest) = rest {
                result["rest"] = record_json(rest);
            }
            let mut lines = vec![Line::Plain(t(Text::new(record_message(command, record))
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
            lines
        }
        Reply::Noticed { what, record } => {
            result["notice"] = json!(what);
            record_fields(record, &mut result);
            vec![Line::Plain(t(Text::new(notice_message(what))
                .num("id", record.id)
                .arg("amount", record.amount)
                .arg("unit", style.unit)
                .arg("owner", record.recipient.as_str())
                .arg("giver", record.giver.as_str())
                .arg("prefix", style.prefix)
                .arg("what", record.what.as_deref().unwrap_or_default())
                .arg("due", record.due.map(|d| date(d, style)).unwrap_or_default())))]
        }
        Reply::CollectionComplete { owner, collected } => {
            result["notice"] = json!("collection-complete");
            result["owner"] = json!(owner);
            result["collected"] = json!(collected);
            vec![Line::Plain(t(Text::new("collection-complete")
                .arg("owner", owner.as_str())
                .arg("amount", *collected)
                .arg("unit", style.unit)))]
        }
        Reply::Records { command: _, records, reliability } => {
            let mut lines = if records.is_empty() {
                result["records"] = json!([]);
                vec![Line::Plain(t(Text::new("records-none")))]
            } else {
                record_list(records, style, &mut result, &mut Room::default())
            };
            if let Some(r) = reliability {
                result["reliability"] = reliability_json(r);
                lines.push(Line::Plain(reliability_line(r, style)));
            }
            lines
        }
        Reply::IntentionCancelled { record } => {
            result["notice"] = json!("intention-cancelled");
            record_fields(record, &mut result);
            vec![Line::Plain(t(Text::new("notice-intention-cancelled")
                .num("id", record.id)
                .arg("amount", record.amount)
                .arg("unit", style.unit)
                .arg("owner", record.recipient.as_str())))]
        }
        Reply::LeftCircle { member, withdrawn } => {
            result["notice"] = json!("left-circle");
            result["member"] = json!(member);
            // The line says how many; the records themselves are in the result, cut as any list.
            let cut = Room::default().cut(withdrawn, |r| ((), record_json(r)));
            result["records"] = Value::Array(cut.values);
            if !cut.rest.is_empty() {
                result["more"]["records"] =
                    more_json(cut.rest.len(), Some(sum(cut.rest, |r| r.amount)));
            }
            vec![Line::Plain(t(Text::new("notice-left-circle")
                .arg("member", member.as_str())
                .num("count", withdrawn.len() as i64)))]
        }
        Reply::Network(network) => network_lines(network, style, &mut result),
        Reply::HelpRequest(request) => help_request_lines(request, style, &mut result),
        Reply::Digest { job, items } => digest_lines(*job, items, style, &mut result),
        Reply::CollectionEnded { owner, collected, requested, status } => {
            result["notice"] = json!("collection-ended");
            result["owner"] = json!(owner);
            result["collected"] = json!(collected);
            result["requested"] = json!(requested);
            result["status"] = json!(status.code());
            vec![Line::Plain(t(Text::new("collection-ended")
                .arg("owner", owner.as_str())
                .arg("collected", *collected)
                .arg("requested", *requested)
                .arg("unit", style.unit)
                .arg("status", status.code())))]
        }
        Reply::JobRun { job, as_of, report } => {
            result["job"] = json!(job.name());
            result["as_of"] = json!(rfc3339(*as_of));
            for (name, count) in &report.counts {
                result[*name] = json!(count);
            }
            result["messages"] = json!(report.messages);
            vec![Line::Plain(t(Text::new("admin-run")
                .arg("job", job.name())
                .arg("as_of", rfc3339(*as_of))
                .arg("report", report.to_string())))]
        }
        Reply::Stats(stats) => {
            let mut counts = serde_json::Map::new();
            let mut lines = vec![Line::Plain(t(Text::new("admin-stats-title")))];
            for (name, n) in &stats.counts {
                counts.insert((*name).to_owned(), json!(n));
                lines.push(Line::Plain(format!("{name}: {n}")));
            }
            result["counts"] = Value::Object(counts);
            result["jobs"] = stats
                .runs
                .iter()
                .map(|r| {
                    json!({ "job": r.job, "slot": rfc3339(r.slot), "runner": r.runner, "finished": r.finished.map(rfc3339),
                            "summary": r.summary, "manual": r.manual })
                })
                .collect();
            result["destinations"] = stats
                .destinations
                .iter()
                .map(|d| {
                    json!({ "destination": d.destination, "failures": d.failures, "since": rfc3339(d.since), "failed": d.failed,
                            "pending": d.pending, "last_error": d.last_error })
                })
                .collect();
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
            lines
        }
        Reply::OutboxChanged { action, destinations, messages } => {
            let (key, destination) = match action {
                crate::command::OutboxAction::Retry(d) => ("admin-outbox-retried", d.clone()),
                crate::command::OutboxAction::Drop(d) => ("admin-outbox-dropped", Some(d.clone())),
            };
            result["action"] = json!(if key == "admin-outbox-retried" { "retry" } else { "drop" });
            result["destination"] = json!(destination);
            result["destinations"] = json!(destinations);
            result["messages"] = json!(messages);
            let all = t(Text::new("admin-outbox-all"));
            vec![Line::Plain(t(Text::new(key)
                .arg("destination", destination.unwrap_or(all))
                .num("destinations", i64::try_from(*destinations).unwrap_or(i64::MAX))
                .num("messages", i64::try_from(*messages).unwrap_or(i64::MAX))))]
        }
        Reply::Pool(view) => pool_lines(view, style, &mut result),
        Reply::PoolCreated { name, room_id, rules } => {
            result["kind"] = json!("pool");
            result["name"] = json!(name);
            result["room_id"] = json!(room_id);
            result["rules"] = rules_json(rules);
            let mut lines = vec![Line::Plain(t(Text::new("pool-created")
                .arg("name", name)
                .arg("prefix", style.prefix)))];
            lines.extend(rule_lines(rules));
            lines
        }
        Reply::PoolRules { name, rules } => {
            result["kind"] = json!("pool");
            result["name"] = json!(name);
            result["rules"] = rules_json(rules);
            let mut lines = vec![Line::Plain(t(Text::new("pool-rules-title").arg("name", name)))];
            lines.extend(rule_lines(rules));
            lines
        }
        Reply::PoolRuleChanged { name, key, from, to } => {
            result["kind"] = json!("pool");
            result["name"] = json!(name);
            result["rule"] = json!(key);
            result["from"] = json!(from);
            result["to"] = json!(to);
            vec![Line::Plain(t(Text::new("pool-rule-changed")
                .arg("name", name)
                .arg("key", key)
                .arg("from", from)
                .arg("to", to)))]
        }
        Reply::Pledged { name, member, amount, previous } => {
            result["kind"] = json!("pool");
            result["member"] = json!(member);
            result["pledge"] = json!(amount);
            result["previous"] = json!(previous);
            vec![Line::Plain(t(Text::new("pool-pledged")
                .arg("name", name)
                .arg("amount", *amount)
                .arg("unit", style.unit)))]
        }
        Reply::PoolLeft { name, member, pledge, why } => {
            result["kind"] = json!("pool");
            result["notice"] = json!(why);
            result["member"] = json!(member);
            result["pledge"] = json!(pledge);
            let message = match *why {
                "excluded" => "pool-excluded",
                "left-room" => "pool-left-room",
                "lapsed" => "pool-lapsed",
                _ => "pool-left",
            };
            vec![Line::Plain(t(Text::new(message)
                .arg("name", name)
                .arg("member", member.as_str())
                .arg("amount", *pledge)
                .arg("unit", style.unit)))]
        }
        Reply::Claim { command, view, ballot } => {
            claim_fields(view, &mut result);
            let vote = ballot.as_ref().and_then(|b| b.vote).map_or("", |v| v.code());
            if let Some(b) = ballot {
                result["vote"] = json!(vote);
                result["voter"] = json!(b.voter);
                result["ballot"] = json!(b.source);
            }
            let head = match *command {
                "vote" => Text::new("claim-voted").num("id", view.claim.id).arg("vote", vote),
                _ => Text::new("claim-opened").num("id", view.claim.id).arg("prefix", style.prefix),
            };
            let mut lines = vec![Line::Plain(t(head))];
            lines.extend(claim_lines(view, style, &mut Room::default(), Some(&mut result)));
            lines
        }
        Reply::Initiative { command, view, backing } => {
            initiative_fields(view, &mut result);
            let mut lines = Vec::new();
            if let Some(r) = backing {
                result["id"] = json!(r.id);
                result["kind"] = json!(r.kind);
                result["initiative"] = json!(view.initiative.id);
                result["amount"] = json!(r.amount);
                result["record_state"] = json!(r.shown_state());
                lines.push(Line::Plain(t(Text::new(if r.kind == Kind::Obligation {
                    "initiative-backed-funded"
                } else {
                    "initiative-backed"
                })
                .num("id", r.id)
                .num("initiative", view.initiative.id)
                .arg("amount", r.amount)
                .arg("unit", style.unit))));
            } else if *command == "initiative"
                && view.initiative.state == crate::initiative::InitiativeState::Active
            {
                lines.push(Line::Plain(t(
                    Text::new("initiative-shown").num("id", view.initiative.id)
                )));
            }
            lines.extend(initiative_lines(view, style));
            lines
        }
        Reply::Initiatives(views) => {
            let cut = Room::default().cut(views, |v| {
                let mut item = json!({});
                initiative_fields(v, &mut item);
                (Line::Plain(initiative_summary(v, style)), item)
            });
            result["initiatives"] = Value::Array(cut.values);
            let mut lines = vec![Line::Plain(t(Text::new(if views.is_empty() {
                "initiatives-none"
            } else {
                "initiatives-title"
            })
            .arg("prefix", style.prefix)))];
            lines.extend(cut.shown);
            if !cut.rest.is_empty() {
                let backing = sum(cut.rest, |v| v.backing);
                lines.push(Line::Plain(more(
                    cut.rest.len(),
                    Some(backing),
                    "initiatives",
                    Text::new("more-initiatives"),
                    style,
                    &mut result,
                )));
            }
            lines
        }
        Reply::InitiativeNoticed { what, view, record } => {
            initiative_fields(view, &mut result);
            result["notice"] = json!(what);
            let i = &view.initiative;
            let mut head = Text::new(match (*what, record.is_some()) {
                ("backed", _) => "notice-initiative-backed",
                ("left", _) => "notice-initiative-left",
                ("funded", true) => "notice-initiative-funded-backer",
                ("funded", false) => "notice-initiative-funded",
                (_, true) => "notice-initiative-lapsed-backer",
                _ => "notice-initiative-lapsed",
            })
            .num("initiative", i.id)
            .arg("title", &i.title)
            .arg("proposer", i.proposer.as_str())
            .arg("prefix", style.prefix)
            .arg("unit", style.unit);
            if let Some(r) = record {
                result["record"] = record_json(r);
                head = head
                    .num("id", r.id)
                    .arg("amount", r.amount)
                    .arg("giver", r.giver.as_str())
                    .arg("due", r.due.map(|d| date(d, style)).unwrap_or_default());
            }
            let mut lines = vec![Line::Plain(t(head))];
            lines.extend(initiative_lines(view, style));
            lines
        }
        Reply::ClearingState { on, last } => {
            result["opted_in"] = json!(on);
            let mut lines = vec![Line::Plain(t(Text::new(if *on {
                "clearing-is-on"
            } else {
                "clearing-is-off"
            })
            .arg("prefix", style.prefix)))];
            match last {
                None => lines.push(Line::Plain(t(Text::new("clearing-never")))),
                Some(last) => {
                    result["last"] = json!({ "at": rfc3339(last.at) });
                    let title =
                        if last.items.is_empty() { "clearing-last-none" } else { "clearing-last" };
                    lines.push(Line::Plain(t(Text::new(title).arg("at", date(last.at, style)))));
                    lines.extend(clearing_items(&last.items, style, &mut result["last"]));
                }
            }
            lines
        }
        Reply::ClearingSet { on, changed } => {
            result["opted_in"] = json!(on);
            result["changed"] = json!(changed);
            vec![Line::Plain(t(Text::new(if *on {
                "clearing-set-on"
            } else {
                "clearing-set-off"
            })))]
        }
        Reply::Kept { record, kept, by_other } => {
            record_fields(record, &mut result);
            result["kept"] = json!(kept);
            result["kept_by_other"] = json!(by_other);
            let id = match (kept, by_other) {
                (true, _) => "clearing-kept",
                (false, false) => "clearing-unkept",
                (false, true) => "clearing-unkept-other-keeps",
            };
            vec![Line::Plain(t(Text::new(id).num("id", record.id)))]
        }
        Reply::ClearingTotals { applied, eligible, total, cleared, bound, changed } => {
            result["applied"] = json!(applied);
            result["eligible"] = json!(eligible);
            result["total"] = json!(total);
            result["cleared"] = json!(cleared);
            result["bound"] = json!(bound);
            result["obligations_changed"] = json!(changed);
            let id = if *applied { "clearing-run" } else { "clearing-preview" };
            vec![Line::Plain(t(Text::new(id)
                .num("eligible", *eligible as i64)
                .arg("total", *total)
                .arg("cleared", *cleared)
                .arg("bound", *bound)
                .num("changed", *changed as i64)
                .arg("unit", style.unit)))]
        }
        Reply::ClearingDigest { items } => {
            result["obligations_changed"] = json!(items.len());
            result["cleared"] = json!(sum(items, |i| i.change.set_off));
            let mut lines = vec![Line::Plain(t(Text::new("clearing-title")))];
            lines.extend(clearing_items(items, style, &mut result));
            lines
        }
        Reply::ClaimNoticed { what, view } => {
            result["notice"] = json!(what);
            claim_fields(view, &mut result);
            let head = match *what {
                "claim-opened" => Text::new("notice-claim-opened")
                    .num("id", view.claim.id)
                    .arg("prefix", style.prefix),
                _ => Text::new("notice-claim-decided")
                    .num("id", view.claim.id)
                    .arg("verdict", view.claim.verdict.map_or("", |v| v.code())),
            };
            let mut lines = vec![Line::Plain(t(head))];
            lines.extend(claim_lines(view, style, &mut Room::default(), Some(&mut result)));
            lines
        }
    };
    finish(lines, result, style.lang)
}

/// SPEC §3 `initiative` fields: `goal`, `backing`, `backers`, `state`, `deadline`, and the rest a
/// card shows.
fn initiative_fields(view: &crate::initiative::InitiativeView, result: &mut Value) {
    let i = &view.initiative;
    result["kind"] = json!("initiative");
    result["id"] = json!(i.id);
    result["title"] = json!(i.title);
    result["proposer"] = json!(i.proposer);
    result["goal"] = json!(i.goal);
    result["backing"] = json!(view.backing);
    result["backers"] = json!(view.backers);
    result["remaining"] = json!(view.remaining);
    result["state"] = json!(i.state.code());
    result["deadline"] = json!(rfc3339(i.deadline));
    result["days_left"] = json!(view.days_left);
    result["interest"] = json!(view.interest);
    result["due"] = json!(view.due.map(rfc3339));
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

fn rules_json(rules: &[(&'static str, String)]) -> Value {
    Value::Object(rules.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect())
}

fn rule_lines(rules: &[(&'static str, String)]) -> Vec<Line> {
    rules.iter().map(|(k, v)| Line::Code(format!("{k} {v}"))).collect()
}

/// SPEC §3 `claim`/`vote` fields: `id`, `state`, `yes`, `no`, `shares`, and the claim itself.
fn claim_fields(view: &crate::pool::ClaimView, result: &mut Value) {
    let c = &view.claim;
    result["kind"] = json!("claim");
    result["id"] = json!(c.id);
    result["state"] = json!(c.state.code());
    result["verdict"] = json!(c.verdict.map(|v| v.code()));
    result["claimant"] = json!(c.claimant);
    result["event"] = json!(c.event);
    result["amount"] = json!(c.amount);
    result["description"] = json!(c.description);
    result["closes"] = json!(rfc3339(c.closes));
    result["yes"] = json!(view.yes);
    result["no"] = json!(view.no);
    result["eligible"] = json!(view.eligible);
    result["covered"] = json!(view.covered);
}

/// A claim: what is claimed, the tally, and the shares (cut to `room`; as `shares` in `result`
/// when there is one).
fn claim_lines(
    view: &crate::pool::ClaimView,
    style: &Style<'_>,
    room: &mut Room,
    result: Option<&mut Value>,
) -> Vec<Line> {
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
    let mut scratch = Value::Null;
    let result = result.unwrap_or(&mut scratch);
    let cut =
        room.cut(&view.shares, |(m, a)| (format!("{m} {a}"), json!({"member": m, "amount": a})));
    result["shares"] = Value::Array(cut.values);
    if !view.shares.is_empty() {
        let mut shares = cut.shown.join(", ");
        if !cut.rest.is_empty() {
            let amount = sum(cut.rest, |(_, a)| *a);
            let more = more(
                cut.rest.len(),
                Some(amount),
                "shares",
                Text::new("more-shares"),
                style,
                result,
            );
            shares = if cut.shown.is_empty() { more } else { format!("{shares} {more}") };
        }
        lines.push(Line::Plain(t(Text::new("claim-shares")
            .arg("covered", view.covered)
            .arg("unit", style.unit)
            .arg("shares", shares))));
    }
    lines
}

/// The room a claim's shares have in the `pool` message, which may show several claims.
const POOL_CLAIM_SHARES: usize = 2 * 1024;

/// `pool`: the figures, each member's pledge, the claims being voted on.
fn pool_lines(view: &crate::pool::PoolView, style: &Style<'_>, result: &mut Value) -> Vec<Line> {
    let t = |text: Text| tr(style.lang, &text);
    result["kind"] = json!("pool");
    result["name"] = json!(view.name);
    result["total"] = json!(view.total);
    result["available"] = json!(view.available);
    result["paid"] = json!(view.paid);
    result["reserve"] = json!(view.reserve);
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
    let member = |(m, p): &(crate::MemberId, crate::Amount)| {
        (Line::Plain(format!("• {m}: {p} {}", style.unit)), json!({"member": m, "pledge": p}))
    };
    let claim = |c: &crate::pool::ClaimView| {
        let item = json!({"id": c.claim.id, "claimant": c.claim.claimant, "amount": c.claim.amount, "state": c.claim.state.code(), "yes": c.yes, "no": c.no});
        (claim_lines(c, style, &mut Room::new(POOL_CLAIM_SHARES), None), item)
    };
    let room = Room::default();
    let needs = [room.need(&view.members, member), room.need(&view.claims, claim)];
    let [mut members_room, mut claims_room] =
        <[Room; 2]>::try_from(room.split(&needs)).unwrap_or_default();
    let members = members_room.cut(&view.members, member);
    result["members"] = Value::Array(members.values);
    lines.extend(members.shown);
    if !members.rest.is_empty() {
        let pledged = sum(members.rest, |(_, p)| *p);
        lines.push(Line::Plain(more(
            members.rest.len(),
            Some(pledged),
            "members",
            Text::new("more-pledges"),
            style,
            result,
        )));
    }
    let claims = claims_room.cut(&view.claims, claim);
    result["claims"] = Value::Array(claims.values);
    lines.extend(claims.shown.into_iter().flatten());
    if !claims.rest.is_empty() {
        let claimed = sum(claims.rest, |c| c.claim.amount);
        lines.push(Line::Plain(more(
            claims.rest.len(),
            Some(claimed),
            "claims",
            Text::new("more-claims"),
            style,
            result,
        )));
    }
    lines
}

fn methods_json(methods: &[PaymentMethod]) -> Value {
    Value::Array(
        methods
            .iter()
            .map(|m| json!({"label": m.label, "details": m.details, "default": m.is_default}))
            .collect(),
    )
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
fn network_lines(network: &Network, style: &Style<'_>, result: &mut Value) -> Vec<Line> {
    let mut lines = vec![Line::Plain(tr(style.lang, &Text::new("network-title")))];
    // The six lists share the message by what each needs: a short list is shown whole.
    let member = |r: &crate::network::Related| {
        (
            format!("{} {}", r.level.emoji(), r.member),
            json!({"member": r.member, "status": r.level.code()}),
        )
    };
    let room = Room::default();
    let needs: Vec<usize> =
        List::ALL.iter().map(|&list| room.need(network.list(list), member)).collect();
    for (list, mut room) in List::ALL.into_iter().zip(room.split(&needs)) {
        let related = network.list(list);
        let cut = room.cut(related, member);
        result[list.code()] = Value::Array(cut.values);
        let mut members = if related.is_empty() {
            tr(style.lang, &Text::new("network-nobody"))
        } else {
            cut.shown.join(", ")
        };
        if !cut.rest.is_empty() {
            let more =
                more(cut.rest.len(), None, list.code(), Text::new("more-members"), style, result);
            members = if cut.shown.is_empty() { more } else { format!("{members} {more}") };
        }
        lines.push(Line::Plain(format!(
            "{}: {members}",
            tr(style.lang, &Text::new(network_message(list)))
        )));
    }
    lines
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
fn help_request_lines(request: &HelpRequest, style: &Style<'_>, result: &mut Value) -> Vec<Line> {
    let need = &request.need;
    let link = request.circle_room.as_ref().map(|room| format!("https://matrix.to/#/{room}"));
    result["notice"] = json!("help-request");
    result["owner"] = json!(request.owner);
    result["status"] = json!(need.level().code());
    result["requested"] = json!(need.requested());
    result["deadline"] = json!(need.deadline().map(rfc3339));
    result["note"] = json!(need.note());
    result["needed"] = json!(request.needed);
    result["supporters"] = json!(request.supporters);
    result["link"] = json!(link);
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
    if let Some(link) = link {
        lines.push(Line::Plain(tr(style.lang, &Text::new("request-join").arg("link", link))));
    }
    lines
}

/// The records, as many as fit in `room` (SPEC §8: a circle or a member with thousands of records
/// still gets an answer), as lines and as `records` in the result; the rest summed up in one line
/// and in `more.records`: `count`, `amount` (the sum of their amounts) and the open ❤️ and 🤝 among
/// them, so that what is listed and `more` still add up to the figures shown.
fn record_list(
    records: &[Record],
    style: &Style<'_>,
    result: &mut Value,
    room: &mut Room,
) -> Vec<Line> {
    let cut = room.cut(records, |r| (Line::Plain(record_line(r, style)), record_json(r)));
    result["records"] = Value::Array(cut.values);
    let mut lines = cut.shown;
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
        lines.push(Line::Plain(more(
            cut.rest.len(),
            Some(sum(cut.rest, |r| r.amount)),
            "records",
            text,
            style,
            result,
        )));
        result["more"]["records"]["intentions"] = json!(intentions);
        result["more"]["records"]["obligations"] = json!(obligations);
    }
    lines
}

/// The sum of `amount` over `items` (exact: integer cents).
fn sum<T>(items: &[T], amount: impl Fn(&T) -> crate::Amount) -> crate::Amount {
    items.iter().fold(crate::Amount::ZERO, |total, item| total.saturating_add(amount(item)))
}

/// `more.<list>` of a cut list: how many items were cut and, for a list of amounts, their sum.
fn more_json(count: usize, amount: Option<crate::Amount>) -> Value {
    let mut more = json!({ "count": count });
    if let Some(amount) = amount {
        more["amount"] = json!(amount);
    }
    more
}

/// What a list cut by [`Room::cut`] left out (SPEC §8: long lists are cut with totals for the
/// rest, never dropped silently): `more.<key>` in `result` ([`more_json`]) and the line `message`
/// says it in (`$count`, and `$amount` and `$unit` for a list of amounts).
fn more(
    count: usize,
    amount: Option<crate::Amount>,
    key: &str,
    message: Text,
    style: &Style<'_>,
    result: &mut Value,
) -> String {
    result["more"][key] = more_json(count, amount);
    let mut text =
        message.num("count", i64::try_from(count).unwrap_or(i64::MAX)).arg("unit", style.unit);
    if let Some(amount) = amount {
        text = text.arg("amount", amount);
    }
    tr(style.lang, &text)
}

/// The Fluent message of a ledger command's reply.
fn record_message(command: &str, record: &Record) -> &'static str {
    match (command, record.kind) {
        ("intend", _) => "record-intended",
        ("commit", _) => "record-committed",
        ("withdraw", _) => "record-withdrawn",
        ("remind", _) => "record-reminded",
        ("paid", _) => "record-paid",
        ("confirm", _) => "record-confirmed",
        ("forgive", _) => "record-forgiven",
        _ => "record-changed",
    }
}

/// The Fluent message of a notification about a record.
fn notice_message(what: &str) -> &'static str {
    match what {
        "new-intention" => "notice-new-intention",
        "intention-changed" => "notice-intention-changed",
        "intention-withdrawn" => "notice-intention-withdrawn",
        "new-obligation" => "notice-new-obligation",
        "reminder" => "notice-reminder",
        "paid-reported" => "notice-paid-reported",
        "confirmed" => "notice-confirmed",
        "forgiven" => "notice-forgiven",
        "collection-complete-cancelled" => "notice-collection-cancelled",
        "pool-obligation" => "notice-pool-obligation",
        _ => "record-changed",
    }
}

fn date(t: DateTime<Utc>, _style: &Style<'_>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// SPEC §3 record fields: `{id, kind, from, to, amount, state, due, for}`.
pub fn record_json(r: &Record) -> Value {
    json!({
        "id": r.id,
        "kind": r.kind.code(),
        "from": r.giver,
        "to": r.recipient,
        "amount": r.amount,
        "state": r.shown_state(),
        "due": r.due.map(rfc3339),
        "for": r.what,
    })
}

fn digest_lines(
    job: crate::cycle::Job,
    items: &[crate::cycle::DigestItem],
    style: &Style<'_>,
    result: &mut Value,
) -> Vec<Line> {
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
        let mut item = json!({ "change": m.marked.code(), "id": m.id, "giver": m.giver, "recipient": m.recipient, "amount": m.amount,
                               "due": m.due.map(rfc3339) });
        let (id, from) = match m.marked {
            Marked::Renewed { from } => {
                item["renews"] = json!(from);
                (m.id, from)
            }
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
        (line, item)
    });
    result[job.name()] = Value::Array(cut.values);
    lines.extend(cut.shown);
    if !cut.rest.is_empty() {
        let amount = sum(cut.rest, |i| i.marking.amount);
        lines.push(Line::Plain(more(
            cut.rest.len(),
            Some(amount),
            job.name(),
            Text::new("more-records"),
            style,
            result,
        )));
    }
    lines
}

/// A member's changes of a clearing run, as lines and as `changes` in `result`, cut as any list
/// (`more.changes.amount`: what was set off on the changes cut).
fn clearing_items(
    items: &[crate::setoff::ClearingItem],
    style: &Style<'_>,
    result: &mut Value,
) -> Vec<Line> {
    let cut = Room::default().cut(items, |i| {
        let c = &i.change;
        let item = json!({ "id": c.id, "giver": c.giver, "recipient": c.recipient, "before": c.before, "set_off": c.set_off, "after": c.after(),
                           "state": if c.cleared() { "cleared" } else { "open" }, "part": c.part });
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
        (line, item)
    });
    result["changes"] = Value::Array(cut.values);
    let mut lines = cut.shown;
    if !cut.rest.is_empty() {
        let set_off = sum(cut.rest, |i| i.change.set_off);
        lines.push(Line::Plain(more(
            cut.rest.len(),
            Some(set_off),
            "changes",
            Text::new("more-changes"),
            style,
            result,
        )));
    }
    lines
}

fn record_fields(r: &Record, result: &mut Value) {
    if let (Value::Object(map), Value::Object(fields)) = (result, record_json(r)) {
        map.extend(fields);
    }
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

/// SPEC §3 result fields of `circle`.
fn circle_fields(view: &CircleView, result: &mut Value) {
    result["owner"] = json!(view.owner);
    result["status"] = json!(view.need.level().code());
    result["requested"] = json!(view.need.requested());
    result["deadline"] = json!(view.need.deadline().map(rfc3339));
    result["note"] = json!(view.need.note());
    result["intentions"] = json!(view.totals.intentions);
    result["obligations"] = json!(view.totals.obligations);
    result["fulfilled"] = json!(view.totals.fulfilled);
    result["needed"] = json!(needed(&view.need, &view.totals));
    result["supporters"] = json!(view.supporters);
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
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn totals_json(t: &Totals) -> Value {
    json!({ "intentions": t.intentions, "obligations": t.obligations, "fulfilled": t.fulfilled })
}

/// SPEC §3 result fields of `status` (and later `circle`).
fn status_fields(view: &StatusView, result: &mut Value) {
    let circle = &view.facts.circle;
    result["owner"] = json!(view.owner);
    result["status"] = json!(view.need.level().code());
    result["requested"] = json!(view.need.requested());
    result["deadline"] = json!(view.need.deadline().map(rfc3339));
    result["note"] = json!(view.need.note());
    result["intentions"] = json!(circle.intentions);
    result["obligations"] = json!(circle.obligations);
    result["fulfilled"] = json!(circle.fulfilled);
    result["needed"] = json!(needed(&view.need, circle));
    result["supporters"] = json!(view.facts.supporters);
    result["given"] = totals_json(&view.facts.given);
    result["received"] = totals_json(&view.facts.received);
    result["reliability"] = reliability_json(&view.facts.reliability);
}

fn reliability_json(r: &crate::profile::Reliability) -> Value {
    json!({ "fulfilled": r.fulfilled, "overdue": r.overdue, "forgiven": r.forgiven })
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

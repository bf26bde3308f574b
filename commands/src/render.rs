//! From a structured reply to what a member reads: plain text, HTML, and the machine-readable
//! `org.exodus.result` object (SPEC §3), in the member's language (Fluent, `i18n/*.ftl`).

use std::sync::LazyLock;

use chrono::{DateTime, SecondsFormat, Utc};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde_json::{Value, json};

use crate::command::{SPECS, spec};
use crate::error::CommandError;
use crate::ids::Lang;
use crate::outcome::{Reply, StatusView};
use crate::profile::{FORGET_CONFIRM_MINUTES, Level, Totals, needed};
use crate::text::{Arg, Text};

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
        let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(res, _errors)| res);
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

fn finish(lines: Vec<Line>, result: Value) -> Rendered {
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
    let usage = spec(usage_of).map(|s| s.usage.iter().map(|u| format!("{}{u}", style.prefix)).collect::<Vec<_>>());
    match error.usage_of {
        Some(name) => lines.extend(usage_lines(style, name)),
        None => lines.push(Line::Plain(tr(style.lang, &Text::new("err-see-help").arg("prefix", style.prefix)))),
    }
    let mut result = json!({
        "command": command,
        "ok": false,
        "error": error.code.as_str(),
        "message": message,
    });
    if let Some(usage) = usage {
        result["usage"] = json!(usage.join("\n"));
    }
    finish(lines, result)
}

pub fn render_reply(command: &str, reply: &Reply, style: &Style<'_>) -> Rendered {
    let t = |text: Text| tr(style.lang, &text);
    let mut result = json!({ "command": command, "ok": true });
    let lines = match reply {
        Reply::Help { topic: None } => {
            let mut lines = vec![Line::Plain(t(Text::new("help-title").arg("prefix", style.prefix)))];
            lines.extend(SPECS.iter().map(|s| Line::Plain(format!("{}{} — {}", style.prefix, s.name, t(Text::new(s.summary))))));
            result["commands"] = json!(SPECS.iter().map(|s| s.name).collect::<Vec<_>>());
            lines
        }
        Reply::Help { topic: Some(name) } => {
            let mut lines = Vec::new();
            if let Some(spec) = spec(name) {
                lines.push(Line::Plain(format!("{}{} — {}", style.prefix, spec.name, t(Text::new(spec.summary)))));
                result["usage"] = json!(spec.usage.iter().map(|u| format!("{}{u}", style.prefix)).collect::<Vec<_>>().join("\n"));
                result["example"] = json!(format!("{}{}", style.prefix, spec.example));
            }
            lines.extend(usage_lines(style, name));
            result["topic"] = json!(name);
            result["commands"] = json!(SPECS.iter().map(|s| s.name).collect::<Vec<_>>());
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
                None => t(Text::new("about-none").arg("example", format!("{}{}", style.prefix, crate::command::spec("about").map_or("", |s| s.example)))),
            })]
        }
        Reply::PayMethods(methods) => {
            result["methods"] = Value::Array(
                methods.iter().map(|m| json!({"label": m.label, "details": m.details, "default": m.is_default})).collect(),
            );
            if methods.is_empty() {
                vec![Line::Plain(t(Text::new("pay-none")))]
            } else {
                let mut lines = vec![Line::Plain(t(Text::new("pay-title")))];
                let mark = t(Text::new("pay-default-mark"));
                lines.extend(methods.iter().map(|m| {
                    Line::Plain(format!("• {}: {}{}", m.label, m.details, if m.is_default { format!(" {mark}") } else { String::new() }))
                }));
                lines
            }
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
            vec![Line::Plain(t(Text::new("forget-pending").arg("prefix", style.prefix).num("minutes", FORGET_CONFIRM_MINUTES)))]
        }
        Reply::ForgetDone => {
            result["erased"] = json!(true);
            vec![Line::Plain(t(Text::new("forget-done")))]
        }
    };
    finish(lines, result)
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
            .arg("deadline", need.deadline().map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default())),
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
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message ID the code can ask for, with its argument names.
    const IDS: &[&str] = &[
        "usage-title", "example-title", "err-see-help", "help-title", "help-help", "help-status", "help-about",
        "help-pay", "help-lang", "help-notify", "help-forget-me", "about-set", "about-none", "pay-none", "pay-title",
        "pay-default-mark", "pay-sent-by-dm", "pay-added", "pay-removed", "pay-default-set", "lang-set", "notify-on",
        "notify-off", "forget-pending", "forget-done", "status-green", "status-orange", "status-red",
        "status-figures", "status-cycle", "err-unknown-command", "err-empty-command", "err-command-too-long",
        "err-unterminated-quote", "err-missing-argument", "err-unexpected-word", "err-not-an-amount",
        "err-amount-negative", "err-amount-decimals", "err-amount-too-large", "err-amount-zero", "err-days",
        "err-text-too-long", "err-bad-choice", "err-unknown-topic", "err-label-exists", "err-label-missing",
        "err-too-many-methods", "err-forget-not-pending", "err-internal", "err-not-joined",
    ];

    #[test]
    fn every_message_exists_in_every_language() {
        for lang in Lang::ALL {
            for id in IDS {
                assert!(bundle(lang).get_message(id).and_then(|m| m.value()).is_some(), "{id} missing in {lang:?}");
            }
        }
        for spec in SPECS {
            assert!(IDS.contains(&spec.summary), "{} not in IDS", spec.summary);
        }
    }

    #[test]
    fn russian_plurals_follow_the_number() {
        let line = |n| tr(Lang::Ru, &Text::new("status-figures").arg("intentions", "0.00").arg("obligations", "0.00")
            .arg("fulfilled", "0.00").arg("needed", "0.00").num("supporters", n));
        assert!(line(1).ends_with("1 сторонник"), "{}", line(1));
        assert!(line(3).ends_with("3 сторонника"), "{}", line(3));
        assert!(line(5).ends_with("5 сторонников"), "{}", line(5));
        let en = tr(Lang::En, &Text::new("status-figures").arg("intentions", "0.00").arg("obligations", "0.00")
            .arg("fulfilled", "0.00").arg("needed", "0.00").num("supporters", 1));
        assert!(en.ends_with("1 supporter"), "{en}");
    }

    #[test]
    fn html_is_escaped() {
        let r = finish(vec![Line::Plain("<b>&</b>".into()), Line::Code("!pay".into())], json!({}));
        assert_eq!(r.html, "&lt;b&gt;&amp;&lt;/b&gt;<br><code>!pay</code>");
        assert_eq!(r.body, "<b>&</b>\n!pay");
    }
}

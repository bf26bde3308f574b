//! `help`, `status` and a member's own settings (`about`, `pay`, `lang`, `notify`, `forget-me`) as
//! a member reads them: their lines and, in [`super::result`], their `org.exodus.result` fields.

use crate::MemberId;
use crate::command::{SPECS, spec};
use crate::ids::Lang;
use crate::outcome::StatusView;
use crate::profile::{FORGET_CONFIRM_MINUTES, Level, PaymentMethod, needed};
use crate::render::result::{self as wire, Coded, Fields};
use crate::render::{Line, Parts, Style, tr, usage_lines, usage_text};
use crate::text::Text;

/// `Reply::Help` without a topic: `help`, the commands listed.
pub(crate) fn help_index(style: &Style<'_>) -> Parts<'static> {
    let t = |text: Text| tr(style.lang, &text);
    let commands = || listed().map(|s| s.name).collect::<Vec<_>>();
    let mut lines = vec![Line::Plain(t(Text::new("help-title").arg("prefix", style.prefix)))];
    lines.extend(
        listed().map(|s| {
            Line::Plain(format!("{}{} — {}", style.prefix, s.name, t(Text::new(s.summary))))
        }),
    );
    let help =
        wire::profile::Help { usage: None, example: None, topic: None, commands: commands() };
    (lines, Fields::Help(help))
}

/// `Reply::Help` with a topic: `help <command>`, its usages and example.
pub(crate) fn help_topic(name: &'static str, style: &Style<'_>) -> Parts<'static> {
    let t = |text: Text| tr(style.lang, &text);
    let commands = || listed().map(|s| s.name).collect::<Vec<_>>();
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
    let help = wire::profile::Help { usage, example, topic: Some(name), commands: commands() };
    (lines, Fields::Help(help))
}

/// `Reply::Status`: `status`.
pub(crate) fn status<'a>(view: &'a StatusView, style: &Style<'_>) -> Parts<'a> {
    (
        status_lines(view, style).into_iter().map(Line::Plain).collect(),
        Fields::Status(status_fields(view)),
    )
}

/// `Reply::About`: `about`.
pub(crate) fn about<'a>(about: &'a Option<String>, style: &Style<'_>) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let line = Line::Plain(match about {
        Some(text) => t(Text::new("about-set").arg("about", text)),
        None => t(Text::new("about-none").arg(
            "example",
            format!("{}{}", style.prefix, crate::command::spec("about").map_or("", |s| s.example)),
        )),
    });
    (vec![line], Fields::About(wire::profile::About { about: about.as_deref() }))
}

/// `Reply::PayMethods`: `pay` in the member's DM.
pub(crate) fn pay_methods<'a>(methods: &'a [PaymentMethod], style: &Style<'_>) -> Parts<'a> {
    (
        payment_lines(methods, Text::new("pay-title"), Text::new("pay-none"), style),
        Fields::PayMethods(wire::profile::PayMethods { methods: payment_methods(methods) }),
    )
}

/// `Reply::CirclePay`: `pay` in a circle room.
pub(crate) fn circle_pay<'a>(
    owner: &'a MemberId,
    methods: &'a [PaymentMethod],
    style: &Style<'_>,
) -> Parts<'a> {
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

/// `Reply::PaySentByDm`: `pay` in another shared room.
pub(crate) fn pay_sent_by_dm(style: &Style<'_>) -> Parts<'static> {
    let t = |text: Text| tr(style.lang, &text);
    (
        vec![Line::Plain(t(Text::new("pay-sent-by-dm")))],
        Fields::PaySentByDm(wire::profile::PaySentByDm { sent_by_dm: true }),
    )
}

/// `Reply::PayChanged`: `pay add|remove|default`.
pub(crate) fn pay_changed<'a>(
    action: &'a crate::outcome::PayAction,
    label: &'a str,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
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

/// `Reply::Lang`: `lang`.
pub(crate) fn lang<'a>(lang: &'a Lang, _style: &Style<'_>) -> Parts<'a> {
    (
        // Written in the language just chosen, whatever the member used before.
        vec![Line::Plain(tr(*lang, &Text::new("lang-set")))],
        Fields::Lang(wire::profile::LangSet { lang: Coded(*lang) }),
    )
}

/// `Reply::Notify`: `notify`.
pub(crate) fn notify<'a>(on: &'a bool, style: &Style<'_>) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    (
        vec![Line::Plain(t(Text::new(if *on { "notify-on" } else { "notify-off" })))],
        Fields::Notify(wire::profile::Notify { notify: *on }),
    )
}

/// `Reply::ForgetPending`: `forget-me`.
pub(crate) fn forget_pending(style: &Style<'_>) -> Parts<'static> {
    let t = |text: Text| tr(style.lang, &text);
    (
        vec![Line::Plain(t(Text::new("forget-pending")
            .arg("prefix", style.prefix)
            .num("minutes", FORGET_CONFIRM_MINUTES)))],
        Fields::ForgetPending(wire::profile::ForgetPending { pending: true }),
    )
}

/// `Reply::ForgetDone`: `forget-me confirm`.
pub(crate) fn forget_done(style: &Style<'_>) -> Parts<'static> {
    let t = |text: Text| tr(style.lang, &text);
    (
        vec![Line::Plain(t(Text::new("forget-done")))],
        Fields::ForgetDone(wire::profile::ForgetDone { erased: true }),
    )
}

/// The commands `help` lists: all but the admins' own.
fn listed() -> impl Iterator<Item = &'static crate::command::Spec> {
    SPECS.iter().filter(|s| s.scope != crate::command::Scope::Admin)
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

pub(crate) fn reliability_line(r: &crate::profile::Reliability, style: &Style<'_>) -> String {
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

//! The scheduled jobs' digests and `admin` (`admin run`, `admin stats`, `admin outbox`) as
//! they are read: their lines and, in [`super::result`], their result fields.

use crate::command::OutboxAction;
use crate::cycle::{DigestItem, Job, JobReport, Stats};
use crate::render::fit::Room;
use crate::render::result::{self as wire, Fields, Instant};
use crate::render::{Line, Parts, Style, date, omitted, tr};
use crate::text::Text;
use chrono::{DateTime, Utc};

/// `Reply::Digest`: a scheduled job's digest for one member.
pub(crate) fn digest<'a>(job: &'a Job, items: &'a [DigestItem], style: &Style<'_>) -> Parts<'a> {
    let (lines, digest) = digest_lines(*job, items, style);
    (lines, Fields::Digest(digest))
}

/// `Reply::JobRun`: `admin run`.
pub(crate) fn job_run<'a>(
    job: &'a Job,
    as_of: &'a DateTime<Utc>,
    report: &'a JobReport,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    (
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
    )
}

/// `Reply::Stats`: `admin stats`.
pub(crate) fn stats<'a>(stats: &'a Stats, style: &Style<'_>) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
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

/// `Reply::OutboxChanged`: `admin outbox retry|drop`.
pub(crate) fn outbox_changed<'a>(
    action: &'a OutboxAction,
    destinations: &'a u64,
    messages: &'a u64,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let (key, action, destination) = match action {
        crate::command::OutboxAction::Retry(d) => ("admin-outbox-retried", "retry", d.as_deref()),
        crate::command::OutboxAction::Drop(d) => ("admin-outbox-dropped", "drop", Some(d.as_str())),
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

fn rfc3339(t: DateTime<Utc>) -> String {
    Instant(t).to_string()
}

/// A send error as an admin reads it in a chat line: its first 200 characters.
fn short_error(error: &str) -> String {
    let mut short: String = error.chars().filter(|c| !c.is_control()).take(200).collect();
    if error.chars().count() > 200 {
        short.push('…');
    }
    short
}

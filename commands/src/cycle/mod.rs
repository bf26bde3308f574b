//! The scheduled jobs of SPEC §4 as far as they are pure: which job is which, what a job tells
//! each member (one digest per member and run, listing only records the member is a party to:
//! V1), when the month-end reminder is due, and what a red collection returns to when its
//! deadline passes.

// The `admin` command (`admin`: its grammar and parser; decided in the bot with the job runs), the
// text of the jobs' and `admin`'s replies (`render`) and their `org.exodus.result` fields
// (`result`, re-exported as `render::result::jobs`).
pub(crate) mod admin;
pub(crate) mod render;
pub mod result;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::amount::Amount;
use crate::ids::MemberId;
use crate::ledger::{Cycle, RecordId};
use crate::profile::{Need, Profile};

/// A scheduled job (SPEC §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Job {
    Rollover,
    Reminders,
    Deadlines,
    /// The set-off of obligations along closed chains (SPEC §3.5).
    Clearing,
}

impl Job {
    pub const ALL: [Job; 4] = [Job::Rollover, Job::Reminders, Job::Deadlines, Job::Clearing];

    pub fn name(self) -> &'static str {
        match self {
            Job::Rollover => "rollover",
            Job::Reminders => "reminders",
            Job::Deadlines => "deadlines",
            Job::Clearing => "clearing",
        }
    }

    pub fn from_name(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|j| j.name() == name)
    }
}

/// What a job did to, or says about, a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Marked {
    /// An intention never committed in the past cycle.
    Expired,
    /// A new intention renewing the obligation `from`, fulfilled in the past cycle.
    Renewed { from: RecordId },
    /// An obligation past its due date, still payable.
    Overdue,
    /// A reminder: an open obligation still to fulfil (told to its giver only).
    Due,
    /// A reminder: a fulfilment the giver reported and the recipient has not confirmed (told to
    /// the recipient only).
    Unconfirmed,
}

impl Marked {
    /// Who hears of it: (the giver, the recipient).
    fn audience(self) -> (bool, bool) {
        match self {
            Marked::Expired | Marked::Renewed { .. } | Marked::Overdue => (true, true),
            Marked::Due => (true, false),
            Marked::Unconfirmed => (false, true),
        }
    }
}

/// One record a job marked.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Marking {
    pub marked: Marked,
    pub id: RecordId,
    pub giver: MemberId,
    pub recipient: MemberId,
    pub amount: Amount,
    pub due: Option<DateTime<Utc>>,
}

/// One line of a member's digest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DigestItem {
    pub marking: Marking,
    /// The reader is the giver (else the recipient).
    pub as_giver: bool,
}

/// A line of a member's digest, by the place of its marking in the job's markings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestLine {
    /// The marking's index in the slice [`digest_lines`] was given.
    pub marking: usize,
    /// The reader is the giver (else the recipient).
    pub as_giver: bool,
}

/// Sorts a job's markings into one digest per party: each marking goes to the parties its kind
/// is for (both, or only the one who has something to do), nobody else. The lines point into
/// `markings` instead of copying them (a rollover's 480,000 markings are 960,000 lines, B3).
/// Deterministic: by member, then by marking (a record of one's own once).
pub fn digest_lines(markings: &[Marking]) -> Vec<(&MemberId, Vec<DigestLine>)> {
    let mut out: HashMap<&MemberId, Vec<DigestLine>> = HashMap::new();
    for (index, marking) in markings.iter().enumerate() {
        let (to_giver, to_recipient) = marking.marked.audience();
        if to_recipient && (marking.giver != marking.recipient || !to_giver) {
            out.entry(&marking.recipient)
                .or_default()
                .push(DigestLine { marking: index, as_giver: false });
        }
        if to_giver {
            out.entry(&marking.giver)
                .or_default()
                .push(DigestLine { marking: index, as_giver: true });
        }
    }
    let mut out: Vec<(&MemberId, Vec<DigestLine>)> = out.into_iter().collect();
    // Sorted markings made sorted lines (a marking's recipient line comes before its giver's).
    if !markings.is_sorted() {
        for (_, lines) in &mut out {
            lines.sort_unstable_by(|a, b| {
                (&markings[a.marking], a.as_giver).cmp(&(&markings[b.marking], b.as_giver))
            });
        }
    }
    out.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out
}

/// [`digest_lines`] with the markings copied into each digest.
pub fn digests(markings: impl IntoIterator<Item = Marking>) -> BTreeMap<MemberId, Vec<DigestItem>> {
    let markings: Vec<Marking> = markings.into_iter().collect();
    digest_lines(&markings)
        .into_iter()
        .map(|(member, lines)| {
            let items = lines
                .iter()
                .map(|l| DigestItem { marking: markings[l.marking].clone(), as_giver: l.as_giver })
                .collect();
            (member.clone(), items)
        })
        .collect()
}

/// How long before the end of the cycle the month-end reminder goes out (SPEC §4).
pub const MONTH_END_REMINDER: Duration = Duration::days(3);

/// Whether a reminders run at `now` sends the month-end reminder of its cycle: from three days
/// before the cycle's end on. (It goes out once per cycle: its messages are identified by the
/// cycle.)
pub fn month_end_reminder_due<Tz: TimeZone>(now: DateTime<Utc>, tz: &Tz) -> bool {
    Cycle::of(now, tz).end(tz) - now <= MONTH_END_REMINDER
}

/// A red collection whose deadline passed at `now` (SPEC §3.2): the owner's profile with the
/// status back to the one before; open obligations stay payable. `None` when the member is not
/// red or the deadline is still ahead.
pub fn red_deadline_passed(owner: &Profile, now: DateTime<Utc>) -> Option<Profile> {
    let Need::Red { deadline, previous, .. } = &owner.need else { return None };
    if *deadline > now {
        return None;
    }
    let mut settled = owner.clone();
    settled.need = previous.clone().into();
    Some(settled)
}

/// What one run of a job did, for `admin run`, `admin stats` and the logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobReport {
    /// What changed or was sent, by name (`expired`, `renewed`, `overdue`, `reminded`,
    /// `collections_ended`), in a fixed order.
    pub counts: Vec<(&'static str, u64)>,
    /// Messages written to the outbox.
    pub messages: u64,
}

impl JobReport {
    pub fn get(&self, name: &str) -> u64 {
        self.counts.iter().find(|(n, _)| *n == name).map_or(0, |(_, c)| *c)
    }
}

impl std::fmt::Display for JobReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, count) in &self.counts {
            write!(f, "{name} {count}, ")?;
        }
        write!(f, "messages {}", self.messages)
    }
}

/// A job's last run, for `admin stats`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRunView {
    pub job: String,
    /// The scheduled instant it stood for, or the `as-of` time of an admin's run.
    pub slot: DateTime<Utc>,
    /// The process that ran it, or the admin.
    pub runner: String,
    pub finished: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    /// Run by an admin (`admin run`), not by the schedule.
    pub manual: bool,
}

/// `admin stats`: counts of what the bot holds, the last runs of the jobs, and the outbox's
/// destinations that fail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub counts: Vec<(&'static str, i64)>,
    pub runs: Vec<JobRunView>,
    pub destinations: Vec<FailingDestination>,
}

/// A destination (a room, or a member's DM) the outbox cannot send to: backing off, or given up
/// (`failed`) until an admin retries or drops it (`admin outbox`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailingDestination {
    pub destination: String,
    pub failures: i32,
    pub since: DateTime<Utc>,
    pub failed: bool,
    /// Messages waiting for it.
    pub pending: i64,
    pub last_error: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::TimeZone as _;

    use super::*;
    use crate::profile::Settled;

    fn m(name: &str) -> MemberId {
        MemberId::parse(&format!("@{name}:example.org")).unwrap()
    }

    fn marking(marked: Marked, id: RecordId, giver: &str, recipient: &str, cents: i64) -> Marking {
        Marking {
            marked,
            id,
            giver: m(giver),
            recipient: m(recipient),
            amount: Amount::from_stored_cents(cents),
            due: None,
        }
    }

    #[test]
    fn each_party_hears_of_its_own_records_only() {
        let d = digests([
            marking(Marked::Overdue, 5, "bob", "alice", 500),
            marking(Marked::Expired, 1, "bob", "alice", 100),
            marking(Marked::Renewed { from: 3 }, 9, "carol", "dave", 300),
        ]);
        assert_eq!(
            d.keys().cloned().collect::<Vec<_>>(),
            [m("alice"), m("bob"), m("carol"), m("dave")]
        );
        let view = |who: &str| {
            d[&m(who)]
                .iter()
                .map(|i| (i.marking.marked, i.marking.id, i.as_giver))
                .collect::<Vec<_>>()
        };
        assert_eq!(view("bob"), [(Marked::Expired, 1, true), (Marked::Overdue, 5, true)]);
        assert_eq!(view("alice"), [(Marked::Expired, 1, false), (Marked::Overdue, 5, false)]);
        assert!(d[&m("dave")].iter().all(|i| !i.as_giver && i.marking.id == 9));
        assert!(
            !d[&m("carol")].iter().any(|i| i.marking.recipient == m("alice")),
            "carol sees nothing of alice's circle"
        );
    }

    /// The lines point at the markings each member is a party to, in the markings' order,
    /// whether the markings came sorted or not (a record of one's own: one line).
    #[test]
    fn digest_lines_point_at_each_members_markings_in_order() {
        let markings = vec![
            marking(Marked::Overdue, 5, "bob", "alice", 500),
            marking(Marked::Expired, 1, "bob", "alice", 100),
            marking(Marked::Expired, 7, "carol", "carol", 700),
            marking(Marked::Renewed { from: 3 }, 9, "carol", "dave", 300),
            marking(Marked::Expired, 2, "alice", "bob", 200),
        ];
        let mut sorted = markings.clone();
        sorted.sort();
        for given in [&markings, &sorted] {
            let lines = digest_lines(given);
            let view: Vec<(&str, Vec<(RecordId, bool)>)> = lines
                .iter()
                .map(|(who, lines)| {
                    (
                        who.as_str(),
                        lines.iter().map(|l| (given[l.marking].id, l.as_giver)).collect(),
                    )
                })
                .collect();
            assert_eq!(
                view,
                [
                    ("@alice:example.org", vec![(1, false), (2, true), (5, false)]),
                    ("@bob:example.org", vec![(1, true), (2, false), (5, true)]),
                    ("@carol:example.org", vec![(7, true), (9, true)]),
                    ("@dave:example.org", vec![(9, false)]),
                ]
            );
        }
    }

    #[test]
    fn reminders_go_to_the_party_who_has_something_to_do() {
        let d = digests([
            marking(Marked::Due, 2, "bob", "alice", 200),
            marking(Marked::Unconfirmed, 4, "carol", "alice", 400),
        ]);
        assert_eq!(
            d.keys().cloned().collect::<Vec<_>>(),
            [m("alice"), m("bob")],
            "carol reported paid: nothing to do"
        );
        assert_eq!(
            d[&m("bob")].iter().map(|i| (i.marking.id, i.as_giver)).collect::<Vec<_>>(),
            [(2, true)]
        );
        assert_eq!(
            d[&m("alice")].iter().map(|i| (i.marking.id, i.as_giver)).collect::<Vec<_>>(),
            [(4, false)]
        );
    }

    #[test]
    fn the_month_end_reminder_is_due_in_the_last_three_days_of_the_local_month() {
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        // December ends at 23:00 UTC on the 31st in Berlin.
        let at = |d, h| Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap();
        assert!(!month_end_reminder_due(at(28, 9), &berlin));
        assert!(!month_end_reminder_due(at(28, 22), &berlin), "3 days and 1 hour before the end");
        assert!(month_end_reminder_due(at(28, 23), &berlin));
        assert!(month_end_reminder_due(at(31, 22), &berlin));
        assert!(!month_end_reminder_due(at(31, 23), &berlin), "January has begun in Berlin");
        assert!(month_end_reminder_due(at(31, 23), &chrono_tz::UTC));
    }

    #[test]
    fn a_red_collection_past_its_deadline_returns_to_the_status_before() {
        let deadline = Utc.with_ymd_and_hms(2026, 12, 10, 12, 0, 0).unwrap();
        let mut alice = Profile::new(m("alice"));
        let orange = Settled::Orange {
            requested: Amount::from_stored_cents(30_000),
            note: Some("rent".into()),
        };
        alice.need = Need::Red {
            requested: Amount::from_stored_cents(90_000),
            deadline,
            note: None,
            previous: orange.clone(),
        };
        assert_eq!(red_deadline_passed(&alice, deadline - Duration::seconds(1)), None);
        let settled = red_deadline_passed(&alice, deadline).unwrap();
        assert_eq!(settled.need, Need::from(orange));
        assert_eq!(settled.member, alice.member);
        assert_eq!(
            red_deadline_passed(&settled, deadline + Duration::days(1)),
            None,
            "not red any more"
        );
        assert_eq!(red_deadline_passed(&Profile::new(m("bob")), deadline), None);
    }

    #[test]
    fn jobs_are_known_by_name() {
        for job in Job::ALL {
            assert_eq!(Job::from_name(job.name()), Some(job));
        }
        assert_eq!(Job::from_name("clearing"), Some(Job::Clearing));
        assert_eq!(Job::from_name("setoff"), None);
        let report = JobReport { counts: vec![("expired", 2), ("renewed", 0)], messages: 3 };
        assert_eq!(report.to_string(), "expired 2, renewed 0, messages 3");
        assert_eq!((report.get("expired"), report.get("overdue")), (2, 0));
    }
}

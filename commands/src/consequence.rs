//! What follows from a change, decided purely once the bot has read the facts it needs in the
//! same transaction: a status change (SPEC §3.1, §5), forgetting a member (SPEC §3.1), a member
//! leaving a circle's room (SPEC §2.1 V2). The bot reads, these decide, the bot applies the
//! effects and queues the notices like any command's.

use chrono::{DateTime, Utc};

use crate::ids::MemberId;
use crate::ledger::{self, Kind, Record, State};
use crate::outcome::{Effect, HelpRequest, Notice, Reply, Target};
use crate::profile::{Need, Totals, needed};

/// Effects to apply and notices to send, after the change that caused them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consequences {
    pub effects: Vec<Effect>,
    pub notices: Vec<Notice>,
}

/// What a status change is decided on, read by the bot in the command's transaction after the
/// new status was saved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusFacts {
    /// Going green: the intentions in the member's favour still active.
    pub intentions_for: Vec<Record>,
    /// Orange or red: the member's circle figures and supporters as they are now.
    pub circle: Totals,
    pub supporters: u32,
    /// The member's circle room, to ask to join (`None`: no circle yet).
    pub circle_room: Option<String>,
    /// Members joined to the member's circle room now, as the homeserver reports it.
    pub circle_members: Vec<MemberId>,
    /// The member's whole network (relations 1–6), when a red collection starts and it is to be
    /// told ([`alerts_network`]); empty otherwise.
    pub network: Vec<MemberId>,
}

/// A red collection starts: the whole network hears of it (the circle hears of every change).
pub fn alerts_network(before: &Need, after: &Need) -> bool {
    matches!(after, Need::Red { .. }) && !matches!(before, Need::Red { .. })
}

/// The consequences of `member`'s status changing to `after`: going green cancels the
/// intentions in their favour, each author told; orange and red send the request for help (never
/// a record, SPEC §2, §5) to the circle's members, and for a red collection that starts to the
/// whole network too.
pub fn status_changed(
    member: &MemberId,
    after: &Need,
    facts: &StatusFacts,
    now: DateTime<Utc>,
) -> Consequences {
    if matches!(after, Need::Green) {
        return cancel_intentions(&facts.intentions_for, now);
    }
    let request = HelpRequest {
        owner: member.clone(),
        need: after.clone(),
        needed: needed(after, &facts.circle),
        supporters: facts.supporters,
        circle_room: facts.circle_room.clone(),
    };
    let told: std::collections::BTreeSet<&MemberId> =
        facts.circle_members.iter().chain(&facts.network).filter(|m| *m != member).collect();
    let notices = told
        .into_iter()
        .map(|m| Notice {
            target: Target::Member(m.clone()),
            reply: Reply::HelpRequest(request.clone()),
        })
        .collect();
    Consequences { effects: Vec::new(), notices }
}

/// `forget-me confirm` (SPEC §3.1): the intentions in the member's favour still active are
/// cancelled, each author told.
pub fn forgotten(intentions_for: &[Record], now: DateTime<Utc>) -> Consequences {
    cancel_intentions(intentions_for, now)
}

fn cancel_intentions(records: &[Record], now: DateTime<Utc>) -> Consequences {
    let mut out = Consequences::default();
    for record in records.iter().filter(|r| r.kind == Kind::Intention && r.state == State::Active) {
        let cancelled = ledger::cancel(record, now);
        out.notices.push(Notice {
            target: Target::Member(record.giver.clone()),
            reply: Reply::IntentionCancelled { record: cancelled.clone() },
        });
        out.effects.push(Effect::UpdateRecord(cancelled));
    }
    out
}

/// `member` left the room of `owner`'s circle (SPEC §2.1 V2): their intentions there still
/// active are withdrawn; the room and the owner are told which, when there were any.
pub fn left_circle(
    owner: &MemberId,
    room_id: &str,
    member: &MemberId,
    intentions_by: &[Record],
    now: DateTime<Utc>,
) -> Consequences {
    let withdrawn: Vec<Record> = intentions_by
        .iter()
        .filter(|r| {
            &r.giver == member
                && r.room_id == room_id
                && r.kind == Kind::Intention
                && r.state == State::Active
        })
        .map(|r| ledger::withdrawn_on_leaving(r, now))
        .collect();
    if withdrawn.is_empty() {
        return Consequences::default();
    }
    let effects = withdrawn.iter().cloned().map(Effect::UpdateRecord).collect();
    let reply = Reply::LeftCircle { member: member.clone(), withdrawn };
    let notices = vec![
        Notice { target: Target::Room(room_id.to_owned()), reply: reply.clone() },
        Notice { target: Target::Member(owner.clone()), reply },
    ];
    Consequences { effects, notices }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone as _;

    use super::*;
    use crate::Amount;

    fn m(name: &str) -> MemberId {
        MemberId::parse(&format!("@{name}:example.org")).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
    }

    fn intention(id: i64, giver: &str, recipient: &str, state: State) -> Record {
        Record {
            id,
            kind: Kind::Intention,
            giver: m(giver),
            recipient: m(recipient),
            room_id: "!circle:example.org".into(),
            amount: Amount::from_cents(1_000).unwrap(),
            what: None,
            state,
            overdue: false,
            created_at: now() - chrono::Duration::days(3),
            due: None,
            changed_at: now() - chrono::Duration::days(3),
        }
    }

    #[test]
    fn going_green_cancels_only_active_intentions_and_tells_each_author() {
        let facts = StatusFacts {
            intentions_for: vec![
                intention(1, "bob", "alice", State::Active),
                intention(2, "carol", "alice", State::Withdrawn),
            ],
            circle_members: vec![m("bob"), m("carol")],
            ..Default::default()
        };
        let c = status_changed(&m("alice"), &Need::Green, &facts, now());
        let cancelled = Record {
            state: State::Cancelled,
            changed_at: now(),
            ..facts.intentions_for[0].clone()
        };
        assert_eq!(c.effects, vec![Effect::UpdateRecord(cancelled.clone())]);
        assert_eq!(
            c.notices,
            vec![Notice {
                target: Target::Member(m("bob")),
                reply: Reply::IntentionCancelled { record: cancelled }
            }]
        );
    }

    #[test]
    fn a_request_goes_to_the_circle_and_the_network_once_each_never_to_its_owner() {
        let red = Need::Red {
            requested: Amount::from_cents(50_000).unwrap(),
            deadline: now() + chrono::Duration::days(7),
            note: None,
            previous: crate::profile::Settled::Green,
        };
        let facts = StatusFacts {
            circle_room: Some("!circle:example.org".into()),
            circle_members: vec![m("alice"), m("bob"), m("carol")],
            network: vec![m("carol"), m("dave")],
            supporters: 2,
            ..Default::default()
        };
        let c = status_changed(&m("alice"), &red, &facts, now());
        assert!(c.effects.is_empty(), "a request changes no record");
        let told: Vec<&MemberId> = c
            .notices
            .iter()
            .map(|n| match &n.target {
                Target::Member(member) => member,
                Target::Room(room) => panic!("a request went to room {room}"),
            })
            .collect();
        assert_eq!(told, vec![&m("bob"), &m("carol"), &m("dave")]);
        let Reply::HelpRequest(request) = &c.notices[0].reply else { panic!("{c:?}") };
        assert_eq!((request.supporters, request.needed), (2, Amount::from_cents(50_000).unwrap()));
        assert!(alerts_network(&Need::Green, &red));
        assert!(!alerts_network(&red, &red));
    }

    #[test]
    fn leaving_withdraws_the_leavers_active_intentions_in_that_room_only() {
        let mut elsewhere = intention(3, "bob", "alice", State::Active);
        elsewhere.room_id = "!other:example.org".into();
        let records = vec![
            intention(1, "bob", "alice", State::Active),
            intention(2, "bob", "alice", State::Withdrawn),
            elsewhere,
            intention(4, "carol", "alice", State::Active),
        ];
        let c = left_circle(&m("alice"), "!circle:example.org", &m("bob"), &records, now());
        let withdrawn = Record { state: State::Withdrawn, changed_at: now(), ..records[0].clone() };
        assert_eq!(c.effects, vec![Effect::UpdateRecord(withdrawn.clone())]);
        assert_eq!(c.notices.len(), 2);
        assert_eq!(c.notices[0].target, Target::Room("!circle:example.org".into()));
        assert_eq!(c.notices[1].target, Target::Member(m("alice")));
        let none = left_circle(&m("alice"), "!circle:example.org", &m("dave"), &records, now());
        assert_eq!(none, Consequences::default());
    }
}

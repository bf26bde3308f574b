#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone as _};

use super::*;
use crate::ids::Lang;
use crate::render::{Style, render_reply};

/// The clearing write and the reply of a decided command.
fn decide_clearing(
    cmd: &ClearingCommand,
    f: &ClearingFacts<'_>,
    last: Option<LastClearing>,
) -> Result<(Option<ClearingWrite>, Reply), CommandError> {
    let outcome = super::decide_clearing(cmd, f, last)?;
    let write = match &outcome.effects[..] {
        [] => None,
        [Effect::Clearing(w)] => Some(w.clone()),
        other => panic!("unexpected effects {other:?}"),
    };
    Ok((write, outcome.reply))
}

fn m(name: &str) -> MemberId {
    MemberId::parse(&format!("@{name}:example.org")).unwrap()
}

fn cents(c: i64) -> Amount {
    Amount::from_stored_cents(c)
}

fn owes(id: RecordId, giver: &str, recipient: &str, amount: i64) -> Eligible {
    Eligible { id, giver: m(giver), recipient: m(recipient), amount: cents(amount) }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 25, 12, 0, 0).unwrap()
}

fn record(id: RecordId, giver: &str, recipient: &str, amount: i64) -> Record {
    let at = now() - Duration::days(10);
    Record {
        id,
        kind: Kind::Obligation,
        giver: m(giver),
        recipient: m(recipient),
        room_id: format!("!{recipient}:example.org"),
        amount: cents(amount),
        what: Some("groceries".into()),
        state: State::Open,
        overdue: false,
        created_at: at,
        due: Some(at + Duration::days(20)),
        changed_at: at,
    }
}

fn set_offs(plan: &Plan) -> Vec<(RecordId, i64)> {
    plan.changes.iter().map(|c| (c.id, c.set_off.cents())).collect()
}

#[test]
fn a_triangle_is_set_off_by_its_smallest_obligation() {
    // Alice owes Bob 30, Bob owes Carol 20, Carol owes Alice 25; Dave is owed 10 by Alice, outside any cycle.
    let eligible = [
        owes(1, "alice", "bob", 3_000),
        owes(2, "bob", "carol", 2_000),
        owes(3, "carol", "alice", 2_500),
        owes(4, "alice", "dave", 1_000),
    ];
    let plan = plan(&eligible).unwrap();
    assert_eq!(set_offs(&plan), [(1, 2_000), (2, 2_000), (3, 2_000)]);
    assert_eq!((plan.eligible, plan.total, plan.cleared), (4, cents(8_500), cents(6_000)));
    // Net positions: alice -1500 (owes 40, owed 25), bob +1000, carol -500, dave +1000: NID 2000.
    assert_eq!(plan.bound, cents(6_500));
    assert!(plan.changes.iter().all(|c| c.part.is_none()));
    assert!(plan.changes[1].cleared() && !plan.changes[0].cleared());
    assert_eq!(plan.changes[0].after(), cents(1_000));
}

#[test]
fn the_plan_does_not_depend_on_the_order_it_is_given_and_skips_what_takes_no_part() {
    let mut eligible = vec![
        owes(7, "carol", "alice", 500),
        owes(3, "alice", "bob", 500),
        owes(5, "bob", "carol", 800),
        owes(9, "bob", "bob", 400),
        owes(3, "alice", "bob", 500),
    ];
    let first = plan(&eligible).unwrap();
    eligible.reverse();
    assert_eq!(plan(&eligible).unwrap(), first);
    assert_eq!(set_offs(&first), [(3, 500), (5, 500), (7, 500)]);
    assert_eq!(first.eligible, 3, "the duplicate and the obligation to oneself take no part");
    assert_eq!(plan(&[]).unwrap(), Plan::default());
}

#[test]
fn a_chain_without_a_cycle_sets_nothing_off() {
    let plan = plan(&[
        owes(1, "alice", "bob", 100),
        owes(2, "bob", "carol", 100),
        owes(3, "alice", "carol", 100),
    ])
    .unwrap();
    assert!(plan.is_empty());
    // The bound (total 3.00 minus carol's net 2.00) is not reached: there is no cycle at all.
    assert_eq!((plan.eligible, plan.cleared, plan.bound), (3, Amount::ZERO, cents(100)));
}

#[test]
fn a_whole_set_off_clears_the_record_and_a_partial_one_splits_off_its_part() {
    let r = record(4, "alice", "bob", 3_000);
    let whole = Change {
        id: 4,
        giver: m("alice"),
        recipient: m("bob"),
        before: cents(3_000),
        set_off: cents(3_000),
        part: None,
    };
    let (kept, part) = apply(&r, &whole, None, now());
    assert_eq!(
        (kept.state, kept.amount, kept.changed_at, part),
        (State::Cleared, cents(3_000), now(), None)
    );

    let partial = Change { set_off: cents(1_200), ..whole };
    let (kept, part) = apply(&r, &partial, Some(11), now());
    assert_eq!((kept.state, kept.amount), (State::Open, cents(1_800)));
    let part = part.unwrap();
    assert_eq!(
        (part.id, part.state, part.amount, part.kind),
        (11, State::Cleared, cents(1_200), Kind::Obligation)
    );
    assert_eq!(
        (&part.giver, &part.recipient, &part.room_id, &part.what, part.due),
        (&r.giver, &r.recipient, &r.room_id, &r.what, r.due)
    );
    assert_eq!(
        kept.amount.cents() + part.amount.cents(),
        r.amount.cents(),
        "nothing is lost or made up"
    );
}

#[test]
fn each_party_hears_of_its_own_obligations_only() {
    let plan = plan(&[
        owes(1, "alice", "bob", 300),
        owes(2, "bob", "carol", 300),
        owes(3, "carol", "alice", 300),
        owes(4, "dave", "erin", 50),
    ])
    .unwrap();
    let d = digests(&plan.changes);
    assert_eq!(
        d.keys().cloned().collect::<Vec<_>>(),
        [m("alice"), m("bob"), m("carol")],
        "dave and erin: nothing changed"
    );
    let view = |who: &str| d[&m(who)].iter().map(|i| (i.change.id, i.as_giver)).collect::<Vec<_>>();
    assert_eq!(view("alice"), [(1, true), (3, false)]);
    assert_eq!(view("bob"), [(1, false), (2, true)]);
    assert!(d.values().flatten().all(|i| i.change.giver == i.change.recipient
        || d[if i.as_giver { &i.change.giver } else { &i.change.recipient }].contains(i)));
    assert!(!d[&m("carol")].iter().any(|i| i.change.id == 1), "carol is no party to #1");
}

fn facts<'a>(
    sender: &'a MemberId,
    record: Option<&'a Record>,
    in_dm: bool,
    room_id: &'a str,
) -> ClearingFacts<'a> {
    ClearingFacts {
        sender,
        in_dm,
        room_id,
        opted_in: false,
        record,
        kept_by_sender: false,
        kept_by_other: false,
    }
}

#[test]
fn clearing_shows_only_in_the_dm_and_on_off_is_remembered() {
    let alice = m("alice");
    let err = decide_clearing(&ClearingCommand::Show, &facts(&alice, None, false, "!room:x"), None)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Forbidden);
    let (write, reply) =
        decide_clearing(&ClearingCommand::Show, &facts(&alice, None, true, "!dm:x"), None).unwrap();
    assert_eq!((write, reply), (None, Reply::ClearingState { on: false, last: None }));
    let (write, reply) =
        decide_clearing(&ClearingCommand::Set(true), &facts(&alice, None, false, "!room:x"), None)
            .unwrap();
    assert_eq!(
        (write, reply),
        (
            Some(ClearingWrite::OptIn { member: alice.clone(), on: true }),
            Reply::ClearingSet { on: true, changed: true }
        )
    );
    let on = ClearingFacts { opted_in: true, ..facts(&alice, None, true, "!dm:x") };
    assert_eq!(
        decide_clearing(&ClearingCommand::Set(true), &on, None).unwrap().1,
        Reply::ClearingSet { on: true, changed: false }
    );
}

#[test]
fn only_a_party_keeps_an_obligation_still_to_settle_from_its_room_or_the_dm() {
    let r = record(4, "alice", "bob", 3_000);
    let keep = ClearingCommand::Keep { id: 4, keep: true };
    let (alice, bob, carol) = (m("alice"), m("bob"), m("carol"));
    let (write, reply) =
        decide_clearing(&keep, &facts(&alice, Some(&r), true, "!dm:x"), None).unwrap();
    assert_eq!(write, Some(ClearingWrite::Keep { id: 4, member: alice.clone(), keep: true }));
    assert!(matches!(reply, Reply::Kept { kept: true, by_other: false, .. }));
    assert_eq!(
        decide_clearing(&keep, &facts(&bob, Some(&r), false, &r.room_id), None).unwrap().0,
        Some(ClearingWrite::Keep { id: 4, member: bob.clone(), keep: true })
    );
    assert_eq!(
        decide_clearing(&keep, &facts(&carol, Some(&r), false, &r.room_id), None).unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(
        decide_clearing(&keep, &facts(&alice, None, true, "!dm:x"), None).unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(
        decide_clearing(&keep, &facts(&alice, Some(&r), false, "!other:x"), None).unwrap_err().code,
        ErrorCode::Forbidden
    );
    let other = ClearingCommand::Keep { id: 5, keep: true };
    assert_eq!(
        decide_clearing(&other, &facts(&alice, Some(&r), true, "!dm:x"), None).unwrap_err().code,
        ErrorCode::NotFound
    );
    for state in [State::Fulfilled, State::Cleared, State::Forgiven] {
        let closed = Record { state, ..r.clone() };
        assert_eq!(
            decide_clearing(&keep, &facts(&alice, Some(&closed), true, "!dm:x"), None)
                .unwrap_err()
                .code,
            ErrorCode::InvalidState
        );
    }
    let intention = Record { kind: Kind::Intention, state: State::Active, ..r.clone() };
    assert_eq!(
        decide_clearing(&keep, &facts(&alice, Some(&intention), true, "!dm:x"), None)
            .unwrap_err()
            .code,
        ErrorCode::InvalidState
    );
    // Keeping again writes nothing; letting it back in while the other party keeps it says so.
    let kept = ClearingFacts { kept_by_sender: true, ..facts(&alice, Some(&r), true, "!dm:x") };
    assert_eq!(decide_clearing(&keep, &kept, None).unwrap().0, None);
    let unkeep = ClearingCommand::Keep { id: 4, keep: false };
    let both = ClearingFacts { kept_by_other: true, ..kept };
    let (write, reply) = decide_clearing(&unkeep, &both, None).unwrap();
    assert_eq!(write, Some(ClearingWrite::Keep { id: 4, member: alice.clone(), keep: false }));
    assert!(matches!(reply, Reply::Kept { kept: false, by_other: true, .. }));
}

#[test]
fn the_digest_and_the_totals_carry_exact_amounts() {
    let style = Style { lang: Lang::En, unit: "EUR", prefix: "!" };
    let mut plan = plan(&[owes(1, "alice", "bob", 3_000), owes(2, "bob", "alice", 1_250)]).unwrap();
    plan.changes[0].part = Some(9);
    let items = digests(&plan.changes).remove(&m("alice")).unwrap();
    let r = render_reply("clearing", &Reply::ClearingDigest { items }, &style);
    let changes = r.result["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(
        (&changes[0]["before"], &changes[0]["set_off"], &changes[0]["after"], &changes[0]["part"]),
        (&"30.00".into(), &"12.50".into(), &"17.50".into(), &9.into())
    );
    assert_eq!((&changes[1]["state"], &r.result["cleared"]), (&"cleared".into(), &"25.00".into()));
    assert!(
        r.body.contains("#1") && r.body.contains("17.50") && r.body.contains("#9"),
        "{}",
        r.body
    );
    let totals = Reply::ClearingTotals {
        applied: false,
        eligible: 2,
        total: plan.total,
        cleared: plan.cleared,
        bound: plan.bound,
        changed: 2,
    };
    let r = render_reply("admin", &totals, &style);
    assert_eq!(
        (&r.result["eligible"], &r.result["cleared"], &r.result["obligations_changed"]),
        (&2.into(), &"25.00".into(), &2.into())
    );
    let ru = render_reply("admin", &totals, &Style { lang: Lang::Ru, ..style });
    assert!(ru.body.contains("Ничего не изменено"), "{}", ru.body);
}

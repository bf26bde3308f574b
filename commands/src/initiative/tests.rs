use chrono::TimeZone as _;

use super::*;

/// The initiative writes among an outcome's effects.
fn writes(d: &Outcome) -> Vec<InitiativeWrite> {
    d.effects
        .iter()
        .filter_map(|e| if let Effect::Initiative(w) = e { Some(w.clone()) } else { None })
        .collect()
}

/// The card edit among an outcome's effects.
fn card(d: &Outcome) -> Option<InitiativeView> {
    d.effects.iter().find_map(|e| if let Effect::EditCard(v) = e { Some(v.clone()) } else { None })
}

fn m(s: &str) -> MemberId {
    MemberId::parse(s).unwrap()
}

fn amount(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 10, 12, 0, 0).unwrap()
}

fn room(in_dm: bool) -> InitiativeRoom {
    InitiativeRoom {
        room_id: if in_dm { "!dm:a.org".into() } else { "!town:a.org".into() },
        in_dm,
        is_circle: false,
        is_pool: false,
    }
}

fn facts(goal: &str) -> InitiativeFacts {
    InitiativeFacts {
        initiative: Initiative {
            id: 3,
            room_id: "!town:a.org".into(),
            proposer: m("@alice:a.org"),
            title: "tool library".into(),
            goal: amount(goal),
            deadline: t0() + Duration::days(30),
            state: InitiativeState::Active,
            created: t0(),
            decided: None,
        },
        backings: Vec::new(),
        interest: 0,
    }
}

fn backing(id: RecordId, giver: &str, amount_text: &str) -> Record {
    Record {
        id,
        kind: Kind::Intention,
        giver: m(giver),
        recipient: m("@alice:a.org"),
        room_id: "!town:a.org".into(),
        amount: amount(amount_text),
        what: None,
        state: State::Active,
        overdue: false,
        created_at: t0(),
        due: None,
        changed_at: t0(),
    }
}

fn world<'a>(
    sender: &'a MemberId,
    room: &'a InitiativeRoom,
    facts: Option<&'a InitiativeFacts>,
    joined: bool,
    now: DateTime<Utc>,
) -> InitiativeWorld<'a> {
    InitiativeWorld {
        sender,
        now,
        room,
        initiative: facts,
        joined,
        listed: &[],
        next_initiative_id: 4,
        next_record_id: 40,
    }
}

fn code(r: Result<Outcome, CommandError>) -> ErrorCode {
    r.unwrap_err().code
}

#[test]
fn a_proposal_lives_in_a_room_of_its_own() {
    let alice = m("@alice:a.org");
    let cmd = Command::Propose { goal: amount("400"), days: 30, title: "tool library".into() };
    let dm = room(true);
    assert_eq!(
        code(decide_initiative(&cmd, &world(&alice, &dm, None, true, t0()))),
        ErrorCode::Forbidden
    );
    let circle = InitiativeRoom { is_circle: true, ..room(false) };
    assert_eq!(
        code(decide_initiative(&cmd, &world(&alice, &circle, None, true, t0()))),
        ErrorCode::InvalidState
    );
    let pool = InitiativeRoom { is_pool: true, ..room(false) };
    assert_eq!(
        code(decide_initiative(&cmd, &world(&alice, &pool, None, true, t0()))),
        ErrorCode::InvalidState
    );
    let town = room(false);
    let d = decide_initiative(&cmd, &world(&alice, &town, None, true, t0())).unwrap();
    let written = writes(&d);
    let InitiativeWrite::Create(i) = &written[0] else { panic!("{written:?}") };
    assert_eq!(
        (i.id, i.state, i.deadline, i.goal),
        (4, InitiativeState::Active, t0() + Duration::days(30), amount("400"))
    );
    let Reply::Initiative { view, .. } = &d.reply else { panic!() };
    assert_eq!((view.backing, view.remaining, view.days_left), (Amount::ZERO, amount("400"), 30));
}

#[test]
fn only_members_of_its_room_see_and_back_it() {
    let bob = m("@bob:b.org");
    let f = facts("100");
    let cmd = Command::Back { id: 3, amount: amount("10") };
    let dm = room(true);
    // Not joined: the same answer as an unknown number, from the DM as from any room (V1).
    assert_eq!(
        code(decide_initiative(&cmd, &world(&bob, &dm, Some(&f), false, t0()))),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(decide_initiative(&cmd, &world(&bob, &dm, None, true, t0()))),
        ErrorCode::NotFound
    );
    let show = Command::Initiative(InitiativeCommand::Show { id: 3 });
    assert_eq!(
        code(decide_initiative(&show, &world(&bob, &dm, Some(&f), false, t0()))),
        ErrorCode::NotFound
    );
    // Joined, from another room: told to use its room.
    let other = InitiativeRoom { room_id: "!other:a.org".into(), ..room(false) };
    assert_eq!(
        code(decide_initiative(&cmd, &world(&bob, &other, Some(&f), true, t0()))),
        ErrorCode::Forbidden
    );
    // Joined, by DM: accepted.
    let d = decide_initiative(&cmd, &world(&bob, &dm, Some(&f), true, t0())).unwrap();
    assert!(
        matches!(&writes(&d)[0], InitiativeWrite::InsertBacking { initiative: 3, record } if record.id == 40 && record.recipient == m("@alice:a.org"))
    );
}

#[test]
fn backing_again_changes_it_and_the_proposer_does_not_back() {
    let bob = m("@bob:b.org");
    let mut f = facts("100");
    f.backings.push(backing(7, "@bob:b.org", "10"));
    let town = room(false);
    let d = decide_initiative(
        &Command::Back { id: 3, amount: amount("25") },
        &world(&bob, &town, Some(&f), true, t0()),
    )
    .unwrap();
    assert!(
        matches!(&writes(&d)[..], [InitiativeWrite::UpdateRecord(r)] if r.id == 7 && r.amount == amount("25"))
    );
    let Some(card) = card(&d) else { panic!("the card changes") };
    assert_eq!((card.backing, card.backers, card.remaining), (amount("25"), 1, amount("75")));
    assert!(
        matches!(&d.notices[..], [Notice { target: Target::Member(p), .. }] if *p == m("@alice:a.org"))
    );
    let alice = m("@alice:a.org");
    assert_eq!(
        code(decide_initiative(
            &Command::Back { id: 3, amount: amount("5") },
            &world(&alice, &town, Some(&f), true, t0())
        )),
        ErrorCode::Forbidden
    );
}

#[test]
fn reaching_the_goal_funds_it_and_keeps_the_overfunding() {
    let carol = m("@carol:c.org");
    let mut f = facts("100");
    f.backings.push(backing(7, "@bob:b.org", "60"));
    f.backings.push(backing(8, "@dave:d.org", "30"));
    let mut withdrawn = backing(9, "@erin:e.org", "50");
    withdrawn.state = State::Withdrawn;
    f.backings.push(withdrawn);
    let town = room(false);
    let now = t0() + Duration::days(2);
    let d = decide_initiative(
        &Command::Back { id: 3, amount: amount("25") },
        &world(&carol, &town, Some(&f), true, now),
    )
    .unwrap();
    let written = writes(&d);
    let saved: Vec<&Initiative> = written
        .iter()
        .filter_map(|w| if let InitiativeWrite::Save(i) = w { Some(i) } else { None })
        .collect();
    assert_eq!(saved.len(), 1);
    assert_eq!((saved[0].state, saved[0].decided), (InitiativeState::Funded, Some(now)));
    let funded: Vec<&Record> = written
        .iter()
        .filter_map(|w| if let InitiativeWrite::UpdateRecord(r) = w { Some(r) } else { None })
        .collect();
    assert_eq!(
        funded.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![7, 8, 40],
        "every active backing, the new one included; not the withdrawn one"
    );
    for r in &funded {
        assert_eq!(
            (r.kind, r.state, r.due),
            (Kind::Obligation, State::Open, Some(now + Duration::days(FUNDED_DUE_DAYS)))
        );
    }
    let card = card(&d).unwrap();
    assert_eq!(
        (card.backing, card.remaining, card.backers),
        (amount("115"), Amount::ZERO, 3),
        "over-funding is kept as pledged"
    );
    let Reply::Initiative { backing: Some(own), .. } = &d.reply else { panic!() };
    assert_eq!((own.id, own.kind), (40, Kind::Obligation));
    let members: Vec<String> = d
        .notices
        .iter()
        .filter_map(|n| if let Target::Member(m) = &n.target { Some(m.to_string()) } else { None })
        .collect();
    assert_eq!(members, ["@bob:b.org", "@dave:d.org", "@carol:c.org", "@alice:a.org"]);
    assert!(d.notices.iter().any(|n| n.target == Target::Room("!town:a.org".into())));
    // Funded: no more backing, no goal change, and a backing is an obligation (not withdrawable).
    let mut after = f.clone();
    after.initiative.state = InitiativeState::Funded;
    assert_eq!(
        code(decide_initiative(
            &Command::Back { id: 3, amount: amount("5") },
            &world(&carol, &town, Some(&after), true, now)
        )),
        ErrorCode::InvalidState
    );
    let alice = m("@alice:a.org");
    let goal = Command::Initiative(InitiativeCommand::Goal { id: 3, goal: amount("50") });
    assert_eq!(
        code(decide_initiative(&goal, &world(&alice, &town, Some(&after), true, now))),
        ErrorCode::InvalidState
    );
    assert_eq!(
        ledger::withdraw(funded[0], &m("@bob:b.org"), now).unwrap_err().code,
        ErrorCode::InvalidState
    );
}

#[test]
fn the_proposer_moves_the_goal_while_active() {
    let alice = m("@alice:a.org");
    let bob = m("@bob:b.org");
    let mut f = facts("100");
    f.backings.push(backing(7, "@bob:b.org", "60"));
    let town = room(false);
    let raise = Command::Initiative(InitiativeCommand::Goal { id: 3, goal: amount("150") });
    assert_eq!(
        code(decide_initiative(&raise, &world(&bob, &town, Some(&f), true, t0()))),
        ErrorCode::Forbidden
    );
    let d = decide_initiative(&raise, &world(&alice, &town, Some(&f), true, t0())).unwrap();
    assert!(
        matches!(&writes(&d)[..], [InitiativeWrite::Save(i)] if i.goal == amount("150") && i.state == InitiativeState::Active)
    );
    assert_eq!(card(&d).unwrap().remaining, amount("90"));
    // Lowered to what is backed: funded at once.
    let lower = Command::Initiative(InitiativeCommand::Goal { id: 3, goal: amount("60") });
    let d = decide_initiative(&lower, &world(&alice, &town, Some(&f), true, t0())).unwrap();
    assert!(writes(&d).iter().any(|w| matches!(w, InitiativeWrite::Save(i) if i.state == InitiativeState::Funded && i.goal == amount("60"))));
    assert!(writes(&d).iter().any(
        |w| matches!(w, InitiativeWrite::UpdateRecord(r) if r.id == 7 && r.kind == Kind::Obligation)
    ));
    // After the deadline (before the job lapses it), nothing changes any more.
    let late = f.initiative.deadline + Duration::minutes(1);
    assert_eq!(
        code(decide_initiative(&raise, &world(&alice, &town, Some(&f), true, late))),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(decide_initiative(
            &Command::Back { id: 3, amount: amount("1") },
            &world(&bob, &town, Some(&f), true, late)
        )),
        ErrorCode::InvalidState
    );
}

#[test]
fn an_unfunded_initiative_lapses_at_its_deadline() {
    let mut f = facts("100");
    f.backings.push(backing(7, "@bob:b.org", "60"));
    f.backings.push(backing(8, "@dave:d.org", "10"));
    let deadline = f.initiative.deadline;
    assert_eq!(lapse(&f, deadline - Duration::seconds(1)), None, "not before its deadline");
    let s = lapse(&f, deadline).unwrap();
    assert_eq!(s.facts.initiative.state, InitiativeState::Lapsed);
    let cancelled: Vec<&Record> = s
        .writes
        .iter()
        .filter_map(|w| if let InitiativeWrite::UpdateRecord(r) = w { Some(r) } else { None })
        .collect();
    assert_eq!(
        cancelled.iter().map(|r| (r.id, r.state)).collect::<Vec<_>>(),
        vec![(7, State::Cancelled), (8, State::Cancelled)]
    );
    let view = s.facts.view(deadline);
    assert_eq!(
        (view.backing, view.backers, view.days_left),
        (amount("70"), 2, 0),
        "the card shows what it had"
    );
    assert_eq!(s.notices.len(), 4, "two backers, the proposer, the room");
    assert_eq!(lapse(&s.facts, deadline + Duration::days(1)), None, "lapses once");
    let mut funded = f.clone();
    funded.initiative.state = InitiativeState::Funded;
    assert_eq!(lapse(&funded, deadline), None, "a funded initiative does not lapse");
}

#[test]
fn days_left_round_up() {
    let deadline = t0() + Duration::days(3);
    assert_eq!(days_left(deadline, t0()), 3);
    assert_eq!(days_left(deadline, t0() + Duration::hours(1)), 3);
    assert_eq!(days_left(deadline, t0() + Duration::days(2) + Duration::hours(23)), 1);
    assert_eq!(days_left(deadline, deadline), 0);
    assert_eq!(days_left(deadline, deadline + Duration::days(1)), 0);
}

#[test]
fn initiatives_lists_the_rooms_own_from_the_room_only() {
    let bob = m("@bob:b.org");
    let listed = vec![facts("100")];
    let town = room(false);
    let w = InitiativeWorld { listed: &listed, ..world(&bob, &town, None, true, t0()) };
    let d = decide_initiative(&Command::Initiatives, &w).unwrap();
    assert!(matches!(&d.reply, Reply::Initiatives(v) if v.len() == 1 && v[0].initiative.id == 3));
    let dm = room(true);
    let w = InitiativeWorld { listed: &listed, ..world(&bob, &dm, None, true, t0()) };
    assert_eq!(code(decide_initiative(&Command::Initiatives, &w)), ErrorCode::Forbidden);
}

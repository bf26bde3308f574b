//! Snapshots of what a member reads: every [`Reply`] variant (in its main shapes) and a few errors,
//! rendered in English and Russian, each pinned as one `.snap` file holding the plain body, the
//! HTML body and the `org.exodus.result` object. They pin the wire format, so that a refactor of
//! `render/` can be shown to change nothing a client sees.
//!
//! Snapshots live in `commands/tests/snapshots/<case>__<lang>.snap`. After an intended change of
//! the output: `INSTA_UPDATE=always cargo test -p exodus-commands --test render_snapshots` (or
//! `cargo insta review`), then read the diff.
//!
//! Every value is fixed (member IDs, UTC instants, amounts): no clock, no randomness. A `Reply`
//! variant added without a case here fails to compile ([`variant`]) and fails
//! [`every_reply_variant_has_a_case`].
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::{DateTime, TimeZone as _, Utc};
use exodus_commands::clearing::setoff::{Change, ClearingItem, LastClearing};
use exodus_commands::command::{OutboxAction, RecordAction};
use exodus_commands::cycle::{
    DigestItem, FailingDestination, Job, JobReport, JobRunView, Marked, Marking, Stats,
};
use exodus_commands::initiative::{Initiative, InitiativeState, InitiativeView};
use exodus_commands::ledger::{Kind, Record, State, circle_totals};
use exodus_commands::network::{List, Network, Related};
use exodus_commands::outcome::{
    CircleView, ClaimNotice, HelpRequest, InitiativeNotice, InitiativeReply, PayAction,
    PledgeEnded, RecordDone, RecordNotice, StatusView,
};
use exodus_commands::pool::{Ballot, Claim, ClaimState, ClaimView, PoolView, Rules, Verdict, Vote};
use exodus_commands::profile::{
    LedgerFacts, Level, Need, PaymentMethod, Reliability, Settled, Totals,
};
use exodus_commands::render::{Rendered, Style, render_error, render_reply};
use exodus_commands::text::Text;
use exodus_commands::{Amount, Code, CommandError, ErrorCode, Lang, MemberId, Reply};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Fixed data
// ---------------------------------------------------------------------------------------------

const CIRCLE_ROOM: &str = "!circle-alice:example.org";
const POOL_ROOM: &str = "!pool-neighbours:example.org";
const STREET_ROOM: &str = "!street:example.org";
const POOL_NAME: &str = "Neighbours";

fn m(name: &str) -> MemberId {
    MemberId::parse(&format!("@{name}:example.org")).unwrap()
}

/// An amount as a member types it: `eur("12.50")`.
fn eur(amount: &str) -> Amount {
    Amount::parse(amount).unwrap()
}

/// An amount computed in cents (long lists).
fn cents(cents: i64) -> Amount {
    Amount::from_cents(cents).unwrap()
}

fn at(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, minute, 0).unwrap()
}

/// The start of the cycle.
fn cycle_start() -> DateTime<Utc> {
    at(3, 1, 0, 0)
}

/// "Now" of every case.
fn now() -> DateTime<Utc> {
    at(3, 10, 14, 5)
}

/// The end of the cycle: when obligations made this month fall due.
fn cycle_end() -> DateTime<Utc> {
    at(3, 31, 23, 59)
}

fn red_deadline() -> DateTime<Utc> {
    at(3, 20, 18, 0)
}

fn orange() -> Need {
    Need::Orange { requested: eur("500.00"), note: Some("rent and heating".into()) }
}

fn red() -> Need {
    Need::Red {
        requested: eur("1200.00"),
        deadline: red_deadline(),
        note: Some("the roof leaks".into()),
        previous: Settled::Orange { requested: eur("500.00"), note: None },
    }
}

/// A record in Alice's circle: an intention is active, an obligation open and due at the end of
/// the cycle.
fn record(id: i64, kind: Kind, giver: &str, amount: &str) -> Record {
    Record {
        id,
        kind,
        giver: m(giver),
        recipient: m("alice"),
        room_id: CIRCLE_ROOM.into(),
        amount: eur(amount),
        what: None,
        state: match kind {
            Kind::Intention => State::Active,
            Kind::Obligation => State::Open,
        },
        overdue: false,
        created_at: at(3, 2, 10, 0),
        due: (kind == Kind::Obligation).then(cycle_end),
        changed_at: at(3, 2, 10, 0),
    }
}

fn intention(id: i64, giver: &str, amount: &str) -> Record {
    record(id, Kind::Intention, giver, amount)
}

fn obligation(id: i64, giver: &str, amount: &str) -> Record {
    record(id, Kind::Obligation, giver, amount)
}

/// Alice's circle: one record in each open shape, a fulfilment and a non-monetary intention.
fn circle_records() -> Vec<Record> {
    vec![
        intention(11, "bob", "30.00"),
        obligation(12, "carol", "50.00"),
        Record { state: State::Paid, ..obligation(13, "dave", "20.00") },
        Record {
            state: State::Fulfilled,
            changed_at: at(3, 8, 12, 0),
            ..obligation(14, "erin", "25.00")
        },
        Record { overdue: true, due: Some(at(2, 28, 23, 59)), ..obligation(15, "bob", "15.00") },
        Record { what: Some("groceries delivery".into()), ..intention(16, "frank", "40.00") },
    ]
}

fn circle_view(need: Need, records: Vec<Record>) -> CircleView {
    let (totals, supporters) = circle_totals(&records, &need, cycle_start());
    CircleView { owner: m("alice"), room_id: CIRCLE_ROOM.into(), need, totals, supporters, records }
}

/// `count` records of many givers, in every state a list shows.
fn many_records(count: i64) -> Vec<Record> {
    (1..=count)
        .map(|id| {
            let giver = format!("supporter-{id}");
            let kind = if id % 3 == 0 { Kind::Obligation } else { Kind::Intention };
            let base =
                Record { amount: cents(500 + id * 7), ..record(1_000 + id, kind, &giver, "0.00") };
            match id % 5 {
                0 => Record { state: State::Fulfilled, changed_at: at(3, 5, 9, 0), ..base },
                1 if base.kind == Kind::Obligation => Record { state: State::Paid, ..base },
                4 if base.kind == Kind::Obligation => Record { overdue: true, ..base },
                _ => base,
            }
        })
        .collect()
}

fn status(owner: &str, need: Need) -> StatusView {
    let facts = LedgerFacts {
        circle: Totals {
            intentions: eur("70.00"),
            obligations: eur("85.00"),
            fulfilled: eur("25.00"),
        },
        supporters: 5,
        given: Totals {
            intentions: eur("10.00"),
            obligations: eur("20.00"),
            fulfilled: eur("5.00"),
        },
        received: Totals {
            intentions: eur("70.00"),
            obligations: eur("85.00"),
            fulfilled: eur("25.00"),
        },
        reliability: Reliability { fulfilled: 7, overdue: 1, forgiven: 2 },
    };
    StatusView { owner: m(owner), need, facts }
}

fn methods() -> Vec<PaymentMethod> {
    vec![
        PaymentMethod {
            label: "iban".into(),
            details: "DE89 3704 0044 0532 0130 00".into(),
            is_default: true,
        },
        PaymentMethod {
            label: "paypal".into(),
            details: "alice@example.org".into(),
            is_default: false,
        },
    ]
}

fn network() -> Network {
    let related = |members: &[(&str, Level)]| {
        members.iter().map(|(name, level)| Related { member: m(name), level: *level }).collect()
    };
    let lists = BTreeMap::from([
        (List::Supporters, related(&[("bob", Level::Green), ("carol", Level::Orange)])),
        (List::Supported, related(&[("dave", Level::Red)])),
        (List::SupportersOfSupporters, related(&[("erin", Level::Green)])),
        (List::CoSupporters, Vec::new()),
        (
            List::SupportedBySupporters,
            related(&[("frank", Level::Orange), ("grace", Level::Green)]),
        ),
        (List::SupportedBySupported, Vec::new()),
    ]);
    Network { lists }
}

/// A network whose first list is far too long for one message, beside short ones.
fn long_network() -> Network {
    let level = |i: usize| [Level::Green, Level::Orange, Level::Red][i % 3];
    let lists = BTreeMap::from([
        (
            List::Supporters,
            (0..800)
                .map(|i| Related { member: m(&format!("supporter-{i}")), level: level(i) })
                .collect(),
        ),
        (List::Supported, vec![Related { member: m("dave"), level: Level::Red }]),
        (List::SupportersOfSupporters, Vec::new()),
        (
            List::CoSupporters,
            (0..3).map(|i| Related { member: m(&format!("co-{i}")), level: level(i) }).collect(),
        ),
        (List::SupportedBySupporters, Vec::new()),
        (List::SupportedBySupported, Vec::new()),
    ]);
    Network { lists }
}

fn marking(marked: Marked, id: i64, giver: &str, recipient: &str, amount: &str) -> Marking {
    Marking {
        marked,
        id,
        giver: m(giver),
        recipient: m(recipient),
        amount: eur(amount),
        due: Some(at(2, 28, 23, 59)),
    }
}

/// Bob's digest: every line a job writes, as giver and as recipient.
fn digest(job: Job) -> Vec<DigestItem> {
    let item = |marking, as_giver| DigestItem { marking, as_giver };
    match job {
        Job::Rollover => vec![
            item(marking(Marked::Expired, 21, "bob", "alice", "30.00"), true),
            item(marking(Marked::Expired, 22, "carol", "bob", "10.00"), false),
            item(marking(Marked::Renewed { from: 17 }, 23, "bob", "alice", "25.00"), true),
            item(marking(Marked::Renewed { from: 18 }, 24, "dave", "bob", "15.00"), false),
            item(marking(Marked::Overdue, 25, "bob", "alice", "50.00"), true),
            item(marking(Marked::Overdue, 26, "erin", "bob", "20.00"), false),
        ],
        Job::Reminders => vec![
            item(marking(Marked::Due, 31, "bob", "alice", "50.00"), true),
            item(marking(Marked::Unconfirmed, 32, "carol", "bob", "12.50"), false),
        ],
        Job::Deadlines => vec![
            item(marking(Marked::Overdue, 41, "bob", "alice", "50.00"), true),
            item(marking(Marked::Overdue, 42, "erin", "bob", "20.00"), false),
        ],
        Job::Clearing => vec![item(marking(Marked::Due, 51, "bob", "alice", "7.00"), true)],
    }
}

fn long_digest() -> Vec<DigestItem> {
    (0..600)
        .map(|i| {
            let (marked, as_giver) =
                if i % 2 == 0 { (Marked::Due, true) } else { (Marked::Unconfirmed, false) };
            let (giver, recipient) = if as_giver {
                ("bob".to_owned(), format!("owner-{i}"))
            } else {
                (format!("supporter-{i}"), "bob".to_owned())
            };
            DigestItem {
                marking: Marking {
                    amount: cents(100 + i * 13),
                    ..marking(marked, 10_000 + i, &giver, &recipient, "0.00")
                },
                as_giver,
            }
        })
        .collect()
}

fn claim(id: i64, state: ClaimState, verdict: Option<Verdict>) -> Claim {
    Claim {
        id,
        room_id: POOL_ROOM.into(),
        claimant: m("carol"),
        event: "illness".into(),
        amount: eur("300.00"),
        description: "two weeks off work after surgery".into(),
        state,
        verdict,
        covered: (state == ClaimState::Approved).then(|| eur("300.00")),
        opened: at(3, 9, 8, 0),
        closes: at(3, 12, 8, 0),
        decided: (state != ClaimState::Voting).then(|| at(3, 12, 8, 0)),
    }
}

fn claim_view(state: ClaimState, verdict: Option<Verdict>) -> ClaimView {
    ClaimView {
        claim: claim(3, state, verdict),
        yes: 2,
        no: 1,
        eligible: 4,
        covered: eur("300.00"),
        shares: vec![
            (m("alice"), eur("120.00")),
            (m("bob"), eur("90.00")),
            (m("dave"), eur("60.00")),
            (m("erin"), eur("30.00")),
        ],
    }
}

fn long_claim_view() -> ClaimView {
    let shares: Vec<(MemberId, Amount)> =
        (0..1_500).map(|i| (m(&format!("member-{i}")), cents(100 + i))).collect();
    ClaimView { eligible: shares.len(), shares, ..claim_view(ClaimState::Voting, None) }
}

fn pool_view() -> PoolView {
    PoolView {
        room_id: POOL_ROOM.into(),
        name: POOL_NAME.into(),
        total: eur("500.00"),
        available: eur("450.00"),
        paid: eur("50.00"),
        reserve: eur("150.00"),
        members: vec![
            (m("alice"), eur("200.00")),
            (m("bob"), eur("150.00")),
            (m("carol"), eur("50.00")),
            (m("dave"), eur("100.00")),
        ],
        claims: vec![claim_view(ClaimState::Voting, None)],
    }
}

fn long_pool_view() -> PoolView {
    let members: Vec<(MemberId, Amount)> =
        (0..800).map(|i| (m(&format!("member-{i}")), cents(1000 + i))).collect();
    let claims = (1..=40)
        .map(|id| {
            let view = claim_view(ClaimState::Voting, None);
            ClaimView { claim: Claim { id, amount: cents(10_000 + id), ..view.claim }, ..view }
        })
        .collect();
    PoolView { members, claims, ..pool_view() }
}

fn ballot(vote: Vote) -> Ballot {
    Ballot {
        voter: m("bob"),
        vote: Some(vote),
        source: "$vote-bob:example.org".into(),
        retracts: None,
        at: at(3, 10, 9, 15),
    }
}

fn initiative_view(state: InitiativeState) -> InitiativeView {
    let (backing, remaining, days_left, due, decided) = match state {
        InitiativeState::Active => (eur("350.00"), eur("650.00"), 12, None, None),
        InitiativeState::Funded => {
            (eur("1050.00"), Amount::ZERO, 5, Some(at(3, 24, 14, 5)), Some(at(3, 10, 14, 5)))
        }
        InitiativeState::Lapsed => (eur("350.00"), eur("650.00"), 0, None, Some(at(3, 22, 0, 0))),
    };
    InitiativeView {
        initiative: Initiative {
            id: 4,
            room_id: STREET_ROOM.into(),
            proposer: m("alice"),
            title: "A shared tool library".into(),
            goal: eur("1000.00"),
            deadline: at(3, 22, 0, 0),
            state,
            created: at(3, 1, 12, 0),
            decided,
        },
        backing,
        backers: 3,
        remaining,
        days_left,
        interest: 7,
        due,
    }
}

/// Bob's backing of initiative #4: a record in its room in favour of its proposer.
fn backing(kind: Kind, state: State) -> Record {
    Record {
        room_id: STREET_ROOM.into(),
        state,
        due: (kind == Kind::Obligation).then(|| at(3, 24, 14, 5)),
        ..record(61, kind, "bob", "100.00")
    }
}

fn initiatives() -> Vec<InitiativeView> {
    let mut second = initiative_view(InitiativeState::Active);
    second.initiative.id = 5;
    second.initiative.title = "Benches for the square".into();
    second.initiative.proposer = m("dave");
    second.backing = eur("80.00");
    second.remaining = eur("120.00");
    second.initiative.goal = eur("200.00");
    second.backers = 1;
    second.days_left = 1;
    vec![initiative_view(InitiativeState::Active), second]
}

fn long_initiatives() -> Vec<InitiativeView> {
    (1..=300)
        .map(|id| {
            let mut view = initiative_view(InitiativeState::Active);
            view.initiative.id = id;
            view.initiative.title = format!("Initiative number {id}");
            view.backing = cents(id * 3);
            view
        })
        .collect()
}

/// Bob's obligations a clearing changed: set off whole and in part, as giver and recipient.
fn clearing_items() -> Vec<ClearingItem> {
    let change = |id, giver: &str, recipient: &str, before: &str, set_off: &str, part| Change {
        id,
        giver: m(giver),
        recipient: m(recipient),
        before: eur(before),
        set_off: eur(set_off),
        part,
    };
    vec![
        ClearingItem { change: change(71, "bob", "alice", "40.00", "40.00", None), as_giver: true },
        ClearingItem {
            change: change(72, "carol", "bob", "30.00", "30.00", None),
            as_giver: false,
        },
        ClearingItem {
            change: change(73, "bob", "dave", "50.00", "20.00", Some(91)),
            as_giver: true,
        },
        ClearingItem {
            change: change(74, "erin", "bob", "25.00", "10.00", Some(92)),
            as_giver: false,
        },
    ]
}

fn long_clearing_items() -> Vec<ClearingItem> {
    (0..500)
        .map(|i| ClearingItem {
            change: Change {
                id: 20_000 + i,
                giver: m(&format!("giver-{i}")),
                recipient: m("bob"),
                before: eur("10.00"),
                set_off: cents(100 + i),
                part: (i % 2 == 0).then_some(30_000 + i),
            },
            as_giver: false,
        })
        .collect()
}

fn stats() -> Stats {
    Stats {
        counts: vec![
            ("profiles", 42),
            ("circles", 7),
            ("records", 311),
            ("pools", 2),
            ("outbox_pending", 5),
        ],
        runs: vec![
            JobRunView {
                job: "rollover".into(),
                slot: at(3, 1, 0, 5),
                runner: "exodus-bot@host-1".into(),
                finished: Some(at(3, 1, 0, 6)),
                summary: Some("expired 3, renewed 2, overdue 1, messages 9".into()),
                manual: false,
            },
            JobRunView {
                job: "reminders".into(),
                slot: at(3, 10, 14, 0),
                runner: "@admin:example.org".into(),
                finished: None,
                summary: None,
                manual: true,
            },
        ],
        destinations: vec![
            FailingDestination {
                destination: "!gone:example.org".into(),
                failures: 3,
                since: at(3, 10, 13, 0),
                failed: false,
                pending: 2,
                last_error: "M_FORBIDDEN: You are not in room".into(),
            },
            FailingDestination {
                destination: "@dave:example.org".into(),
                failures: 12,
                since: at(3, 9, 8, 30),
                failed: true,
                pending: 4,
                // Control characters are dropped and the text is cut at 200 characters.
                last_error: format!("HTTP 502\nupstream: {}", "timeout; ".repeat(30)),
            },
        ],
    }
}

// ---------------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------------

struct Case {
    /// The snapshot's name without the language: `reply__<variant>[__<shape>]`.
    name: String,
    /// The command name for `org.exodus.result`.
    command: &'static str,
    reply: Reply,
}

fn case(name: &str, command: &'static str, reply: Reply) -> Case {
    Case { name: format!("reply__{name}"), command, reply }
}

fn cases() -> Vec<Case> {
    let record_case = |shape: &str, command: &'static str, record: Record, rest| {
        let done = match command {
            "intend" => RecordDone::Intended,
            "commit" => RecordDone::Committed,
            "withdraw" => RecordDone::Action(RecordAction::Withdraw),
            "remind" => RecordDone::Action(RecordAction::Remind),
            "paid" => RecordDone::Action(RecordAction::Paid),
            "confirm" => RecordDone::Action(RecordAction::Confirm),
            "forgive" => RecordDone::Action(RecordAction::Forgive),
            _ => panic!("no ledger command {command}"),
        };
        case(&format!("record__{shape}"), command, Reply::Record { done, record, rest })
    };
    let noticed = |what: RecordNotice, record: Record| {
        case(
            &format!("noticed__{}", what.code().replace('-', "_")),
            "notice",
            Reply::Noticed { what, record },
        )
    };
    let pool_left = |why: PledgeEnded, command| {
        let reply = Reply::PoolLeft {
            name: POOL_NAME.into(),
            member: m("dave"),
            pledge: eur("100.00"),
            why,
        };
        case(&format!("pool_left__{}", why.code().replace('-', "_")), command, reply)
    };
    let initiative_noticed = |shape: &str, what: InitiativeNotice, state, record| {
        let reply = Reply::InitiativeNoticed { what, view: initiative_view(state), record };
        case(&format!("initiative_noticed__{shape}"), "notice", reply)
    };
    let fulfilled = |r: Record| Record { state: State::Fulfilled, changed_at: now(), ..r };
    vec![
        // Profile commands.
        case("help__all", "help", Reply::Help { topic: None }),
        case("help__topic", "help", Reply::Help { topic: Some("commit") }),
        case("status__green", "status", Reply::Status(status("bob", Need::Green))),
        case("status__orange", "status", Reply::Status(status("alice", orange()))),
        case("status__red", "status", Reply::Status(status("alice", red()))),
        case(
            "about__set",
            "about",
            Reply::About(Some("Plumber, happy to help on weekends.".into())),
        ),
        case("about__none", "about", Reply::About(None)),
        case("pay_methods__list", "pay", Reply::PayMethods(methods())),
        case("pay_methods__none", "pay", Reply::PayMethods(Vec::new())),
        case("pay_sent_by_dm", "pay", Reply::PaySentByDm),
        case("circle_pay__list", "pay", Reply::CirclePay { owner: m("alice"), methods: methods() }),
        case(
            "circle_pay__none",
            "pay",
            Reply::CirclePay { owner: m("alice"), methods: Vec::new() },
        ),
        case(
            "pay_changed__add",
            "pay",
            Reply::PayChanged { action: PayAction::Add, label: "iban".into() },
        ),
        case(
            "pay_changed__remove",
            "pay",
            Reply::PayChanged { action: PayAction::Remove, label: "paypal".into() },
        ),
        case(
            "pay_changed__default",
            "pay",
            Reply::PayChanged { action: PayAction::Default, label: "iban".into() },
        ),
        case("lang__to_en", "lang", Reply::Lang(Lang::En)),
        case("lang__to_ru", "lang", Reply::Lang(Lang::Ru)),
        case("notify__on", "notify", Reply::Notify(true)),
        case("notify__off", "notify", Reply::Notify(false)),
        case("forget_pending", "forget-me", Reply::ForgetPending),
        case("forget_done", "forget-me", Reply::ForgetDone),
        // Circles and the ledger.
        case(
            "circle_opened__room",
            "circle",
            Reply::CircleOpened { owner: m("alice"), room_id: Some(CIRCLE_ROOM.into()) },
        ),
        case(
            "circle_opened__creating",
            "circle",
            Reply::CircleOpened { owner: m("alice"), room_id: None },
        ),
        case("circle__orange", "circle", Reply::Circle(circle_view(orange(), circle_records()))),
        case("circle__red", "circle", Reply::Circle(circle_view(red(), circle_records()))),
        case("circle__green_empty", "circle", Reply::Circle(circle_view(Need::Green, Vec::new()))),
        case("circle__long", "circle", Reply::Circle(circle_view(orange(), many_records(400)))),
        case("circle_link", "circle", Reply::CircleLink { room_id: CIRCLE_ROOM.into() }),
        case("circle_invited", "circle", Reply::CircleInvited { member: m("bob") }),
        record_case("intend", "intend", intention(11, "bob", "30.00"), None),
        record_case(
            "intend_for",
            "intend",
            Record { what: Some("2h plumbing".into()), ..intention(17, "bob", "20.00") },
            None,
        ),
        record_case("commit", "commit", obligation(12, "bob", "50.00"), None),
        record_case(
            "commit_partial",
            "commit",
            obligation(18, "bob", "20.00"),
            Some(intention(11, "bob", "10.00")),
        ),
        record_case(
            "withdraw",
            "withdraw",
            Record { state: State::Withdrawn, ..intention(11, "bob", "30.00") },
            None,
        ),
        record_case("remind", "remind", obligation(12, "carol", "50.00"), None),
        record_case(
            "paid",
            "paid",
            Record { state: State::Paid, ..obligation(12, "bob", "50.00") },
            None,
        ),
        record_case("confirm", "confirm", fulfilled(obligation(12, "bob", "50.00")), None),
        record_case(
            "forgive",
            "forgive",
            Record { state: State::Forgiven, ..obligation(12, "bob", "50.00") },
            None,
        ),
        noticed(RecordNotice::NewIntention, intention(11, "bob", "30.00")),
        noticed(RecordNotice::IntentionChanged, intention(11, "bob", "45.00")),
        noticed(
            RecordNotice::IntentionWithdrawn,
            Record { state: State::Withdrawn, ..intention(11, "bob", "30.00") },
        ),
        noticed(RecordNotice::NewObligation, obligation(12, "bob", "50.00")),
        noticed(RecordNotice::Reminder, obligation(12, "bob", "50.00")),
        noticed(
            RecordNotice::PaidReported,
            Record { state: State::Paid, ..obligation(12, "bob", "50.00") },
        ),
        noticed(RecordNotice::Confirmed, fulfilled(obligation(12, "bob", "50.00"))),
        noticed(
            RecordNotice::Forgiven,
            Record { state: State::Forgiven, ..obligation(12, "bob", "50.00") },
        ),
        noticed(
            RecordNotice::CollectionCompleteCancelled,
            Record {
                state: State::Cancelled,
                due: Some(red_deadline()),
                ..obligation(19, "dave", "80.00")
            },
        ),
        noticed(
            RecordNotice::PoolObligation,
            Record {
                giver: m("bob"),
                recipient: m("carol"),
                room_id: POOL_ROOM.into(),
                what: Some("pool Neighbours, claim #3".into()),
                ..obligation(81, "bob", "90.00")
            },
        ),
        case(
            "collection_complete",
            "notice",
            Reply::CollectionComplete { owner: m("alice"), collected: eur("1200.00") },
        ),
        case(
            "records__mine",
            "mine",
            Reply::Records {
                records: vec![
                    intention(11, "bob", "30.00"),
                    Record { overdue: true, ..obligation(15, "bob", "15.00") },
                    Record { recipient: m("bob"), ..obligation(33, "carol", "12.50") },
                ],
                reliability: None,
            },
        ),
        case(
            "records__archive",
            "archive",
            Reply::Records {
                records: [
                    State::Fulfilled,
                    State::Forgiven,
                    State::Withdrawn,
                    State::Expired,
                    State::Cancelled,
                    State::Cleared,
                ]
                .into_iter()
                .enumerate()
                .map(|(i, state)| {
                    let r = if state == State::Withdrawn || state == State::Expired {
                        intention(2 + i as i64, "bob", "0.00")
                    } else {
                        obligation(2 + i as i64, "bob", "0.00")
                    };
                    Record {
                        state,
                        amount: cents(1000 * (1 + i as i64)),
                        changed_at: at(2, 20, 10, 0),
                        ..r
                    }
                })
                .collect(),
                reliability: Some(Reliability { fulfilled: 7, overdue: 1, forgiven: 2 }),
            },
        ),
        case("records__empty", "mine", Reply::Records { records: Vec::new(), reliability: None }),
        case(
            "records__long",
            "mine",
            Reply::Records { records: many_records(400), reliability: None },
        ),
        case(
            "intention_cancelled",
            "notice",
            Reply::IntentionCancelled {
                record: Record { state: State::Cancelled, ..intention(11, "bob", "30.00") },
            },
        ),
        case(
            "left_circle__none",
            "notice",
            Reply::LeftCircle { member: m("bob"), withdrawn: Vec::new() },
        ),
        case(
            "left_circle__one",
            "notice",
            Reply::LeftCircle {
                member: m("bob"),
                withdrawn: vec![Record {
                    state: State::Withdrawn,
                    ..intention(11, "bob", "30.00")
                }],
            },
        ),
        case(
            "left_circle__many",
            "notice",
            Reply::LeftCircle {
                member: m("bob"),
                withdrawn: vec![
                    Record { state: State::Withdrawn, ..intention(11, "bob", "30.00") },
                    Record { state: State::Withdrawn, ..intention(20, "bob", "5.00") },
                ],
            },
        ),
        case(
            "left_circle__long",
            "notice",
            Reply::LeftCircle {
                member: m("bob"),
                withdrawn: (1..=1_000)
                    .map(|id| Record {
                        state: State::Withdrawn,
                        amount: cents(100 + id),
                        ..intention(id, "bob", "0.00")
                    })
                    .collect(),
            },
        ),
        case("network__some", "network", Reply::Network(network())),
        case("network__empty", "network", Reply::Network(Network::default())),
        case("network__long", "network", Reply::Network(long_network())),
        case(
            "help_request__orange",
            "notice",
            Reply::HelpRequest(HelpRequest {
                owner: m("alice"),
                need: orange(),
                needed: eur("415.00"),
                supporters: 1,
                circle_room: Some(CIRCLE_ROOM.into()),
            }),
        ),
        case(
            "help_request__orange_no_circle",
            "notice",
            Reply::HelpRequest(HelpRequest {
                owner: m("alice"),
                need: Need::Orange { requested: eur("500.00"), note: None },
                needed: eur("500.00"),
                supporters: 0,
                circle_room: None,
            }),
        ),
        case(
            "help_request__red",
            "notice",
            Reply::HelpRequest(HelpRequest {
                owner: m("alice"),
                need: red(),
                needed: eur("1115.00"),
                supporters: 4,
                circle_room: Some(CIRCLE_ROOM.into()),
            }),
        ),
        // Scheduled jobs and admin.
        case(
            "digest__rollover",
            "notice",
            Reply::Digest { job: Job::Rollover, items: digest(Job::Rollover) },
        ),
        case(
            "digest__reminders",
            "notice",
            Reply::Digest { job: Job::Reminders, items: digest(Job::Reminders) },
        ),
        case(
            "digest__deadlines",
            "notice",
            Reply::Digest { job: Job::Deadlines, items: digest(Job::Deadlines) },
        ),
        case(
            "digest__clearing",
            "notice",
            Reply::Digest { job: Job::Clearing, items: digest(Job::Clearing) },
        ),
        case("digest__long", "notice", Reply::Digest { job: Job::Reminders, items: long_digest() }),
        case(
            "collection_ended__orange",
            "notice",
            Reply::CollectionEnded {
                owner: m("alice"),
                collected: eur("850.00"),
                requested: eur("1200.00"),
                status: Level::Orange,
            },
        ),
        case(
            "collection_ended__green",
            "notice",
            Reply::CollectionEnded {
                owner: m("alice"),
                collected: Amount::ZERO,
                requested: eur("1200.00"),
                status: Level::Green,
            },
        ),
        case(
            "job_run",
            "admin",
            Reply::JobRun {
                job: Job::Rollover,
                as_of: at(4, 1, 0, 5),
                report: JobReport {
                    counts: vec![("expired", 3), ("renewed", 2), ("overdue", 1)],
                    messages: 9,
                },
            },
        ),
        case("stats__full", "admin", Reply::Stats(stats())),
        case("stats__empty", "admin", Reply::Stats(Stats::default())),
        case(
            "outbox_changed__retry",
            "admin",
            Reply::OutboxChanged {
                action: OutboxAction::Retry(Some("!gone:example.org".into())),
                destinations: 1,
                messages: 2,
            },
        ),
        case(
            "outbox_changed__retry_all",
            "admin",
            Reply::OutboxChanged {
                action: OutboxAction::Retry(None),
                destinations: 3,
                messages: 11,
            },
        ),
        case(
            "outbox_changed__drop",
            "admin",
            Reply::OutboxChanged {
                action: OutboxAction::Drop("@dave:example.org".into()),
                destinations: 1,
                messages: 4,
            },
        ),
        // Pools.
        case("pool__full", "pool", Reply::Pool(pool_view())),
        case(
            "pool__empty",
            "pool",
            Reply::Pool(PoolView {
                total: Amount::ZERO,
                available: Amount::ZERO,
                paid: Amount::ZERO,
                reserve: Amount::ZERO,
                members: Vec::new(),
                claims: Vec::new(),
                ..pool_view()
            }),
        ),
        case("pool__long", "pool", Reply::Pool(long_pool_view())),
        case(
            "pool_created",
            "pool",
            Reply::PoolCreated {
                name: POOL_NAME.into(),
                room_id: POOL_ROOM.into(),
                rules: Rules::default().entries(),
            },
        ),
        case(
            "pool_rules",
            "pool",
            Reply::PoolRules { name: POOL_NAME.into(), rules: Rules::default().entries() },
        ),
        case(
            "pool_rule_changed",
            "pool",
            Reply::PoolRuleChanged {
                name: POOL_NAME.into(),
                key: "vote_hours".into(),
                from: "72".into(),
                to: "48".into(),
            },
        ),
        case(
            "pledged__first",
            "pledge",
            Reply::Pledged {
                name: POOL_NAME.into(),
                member: m("bob"),
                amount: eur("150.00"),
                previous: None,
            },
        ),
        case(
            "pledged__changed",
            "pledge",
            Reply::Pledged {
                name: POOL_NAME.into(),
                member: m("bob"),
                amount: eur("200.00"),
                previous: Some(eur("150.00")),
            },
        ),
        pool_left(PledgeEnded::Left, "pool"),
        pool_left(PledgeEnded::LeftRoom, "notice"),
        pool_left(PledgeEnded::Excluded, "notice"),
        pool_left(PledgeEnded::Lapsed, "notice"),
        case(
            "claim__claim",
            "claim",
            Reply::Claim {
                view: ClaimView { yes: 0, no: 0, ..claim_view(ClaimState::Voting, None) },
                ballot: None,
            },
        ),
        case(
            "claim__vote",
            "vote",
            Reply::Claim {
                view: claim_view(ClaimState::Voting, None),
                ballot: Some(ballot(Vote::Yes)),
            },
        ),
        case(
            "claim__vote_no_no_shares",
            "vote",
            Reply::Claim {
                view: ClaimView { shares: Vec::new(), ..claim_view(ClaimState::Voting, None) },
                ballot: Some(ballot(Vote::No)),
            },
        ),
        case("claim__long", "claim", Reply::Claim { view: long_claim_view(), ballot: None }),
        case(
            "claim_noticed__opened",
            "notice",
            Reply::ClaimNoticed {
                what: ClaimNotice::ClaimOpened,
                view: claim_view(ClaimState::Voting, None),
            },
        ),
        case(
            "claim_noticed__approved",
            "notice",
            Reply::ClaimNoticed {
                what: ClaimNotice::ClaimDecided,
                view: claim_view(ClaimState::Approved, Some(Verdict::Approved)),
            },
        ),
        case(
            "claim_noticed__rejected",
            "notice",
            Reply::ClaimNoticed {
                what: ClaimNotice::ClaimDecided,
                view: ClaimView {
                    yes: 1,
                    no: 2,
                    ..claim_view(ClaimState::Rejected, Some(Verdict::Rejected))
                },
            },
        ),
        case(
            "claim_noticed__no_quorum",
            "notice",
            Reply::ClaimNoticed {
                what: ClaimNotice::ClaimDecided,
                view: ClaimView {
                    yes: 1,
                    no: 0,
                    ..claim_view(ClaimState::Rejected, Some(Verdict::NoQuorum))
                },
            },
        ),
        // Initiatives.
        case(
            "initiative__propose",
            "propose",
            Reply::Initiative {
                kind: InitiativeReply::Proposed,
                view: InitiativeView {
                    backing: Amount::ZERO,
                    backers: 0,
                    remaining: eur("1000.00"),
                    days_left: 21,
                    interest: 0,
                    ..initiative_view(InitiativeState::Active)
                },
                backing: None,
            },
        ),
        case(
            "initiative__back",
            "back",
            Reply::Initiative {
                kind: InitiativeReply::Backed,
                view: initiative_view(InitiativeState::Active),
                backing: Some(backing(Kind::Intention, State::Active)),
            },
        ),
        case(
            "initiative__back_funded",
            "back",
            Reply::Initiative {
                kind: InitiativeReply::Backed,
                view: initiative_view(InitiativeState::Funded),
                backing: Some(backing(Kind::Obligation, State::Open)),
            },
        ),
        case(
            "initiative__show",
            "initiative",
            Reply::Initiative {
                kind: InitiativeReply::Shown,
                view: initiative_view(InitiativeState::Active),
                backing: None,
            },
        ),
        case(
            "initiative__show_funded",
            "initiative",
            Reply::Initiative {
                kind: InitiativeReply::Shown,
                view: initiative_view(InitiativeState::Funded),
                backing: None,
            },
        ),
        case(
            "initiative__show_lapsed",
            "initiative",
            Reply::Initiative {
                kind: InitiativeReply::Shown,
                view: initiative_view(InitiativeState::Lapsed),
                backing: None,
            },
        ),
        case("initiatives__list", "initiatives", Reply::Initiatives(initiatives())),
        case("initiatives__none", "initiatives", Reply::Initiatives(Vec::new())),
        case("initiatives__long", "initiatives", Reply::Initiatives(long_initiatives())),
        initiative_noticed(
            "backed",
            InitiativeNotice::Backed,
            InitiativeState::Active,
            Some(backing(Kind::Intention, State::Active)),
        ),
        initiative_noticed(
            "left",
            InitiativeNotice::Left,
            InitiativeState::Active,
            Some(backing(Kind::Intention, State::Withdrawn)),
        ),
        initiative_noticed(
            "funded_backer",
            InitiativeNotice::Funded,
            InitiativeState::Funded,
            Some(backing(Kind::Obligation, State::Open)),
        ),
        initiative_noticed("funded", InitiativeNotice::Funded, InitiativeState::Funded, None),
        initiative_noticed(
            "lapsed_backer",
            InitiativeNotice::Lapsed,
            InitiativeState::Lapsed,
            Some(backing(Kind::Intention, State::Cancelled)),
        ),
        initiative_noticed("lapsed", InitiativeNotice::Lapsed, InitiativeState::Lapsed, None),
        // Clearing.
        case(
            "clearing_state__off_never",
            "clearing",
            Reply::ClearingState { on: false, last: None },
        ),
        case(
            "clearing_state__on_last",
            "clearing",
            Reply::ClearingState {
                on: true,
                last: Some(LastClearing { at: at(3, 1, 1, 0), items: clearing_items() }),
            },
        ),
        case(
            "clearing_state__on_last_none",
            "clearing",
            Reply::ClearingState {
                on: true,
                last: Some(LastClearing { at: at(3, 1, 1, 0), items: Vec::new() }),
            },
        ),
        case("clearing_set__on", "clearing", Reply::ClearingSet { on: true, changed: true }),
        case(
            "clearing_set__off_unchanged",
            "clearing",
            Reply::ClearingSet { on: false, changed: false },
        ),
        case(
            "kept__kept",
            "keep",
            Reply::Kept { record: obligation(12, "bob", "50.00"), kept: true, by_other: false },
        ),
        case(
            "kept__unkept",
            "unkeep",
            Reply::Kept { record: obligation(12, "bob", "50.00"), kept: false, by_other: false },
        ),
        case(
            "kept__unkept_other_keeps",
            "unkeep",
            Reply::Kept { record: obligation(12, "bob", "50.00"), kept: false, by_other: true },
        ),
        case(
            "clearing_totals__preview",
            "admin",
            Reply::ClearingTotals {
                applied: false,
                eligible: 12,
                total: eur("640.00"),
                cleared: eur("180.00"),
                bound: eur("210.00"),
                changed: 7,
            },
        ),
        case(
            "clearing_totals__run",
            "admin",
            Reply::ClearingTotals {
                applied: true,
                eligible: 12,
                total: eur("640.00"),
                cleared: eur("180.00"),
                bound: eur("210.00"),
                changed: 7,
            },
        ),
        case("clearing_digest", "notice", Reply::ClearingDigest { items: clearing_items() }),
        case(
            "clearing_digest__long",
            "notice",
            Reply::ClearingDigest { items: long_clearing_items() },
        ),
    ]
}

/// Errors: one per code, with a usage (a known command) or the pointer to `help` (none).
fn error_cases() -> Vec<(String, &'static str, CommandError)> {
    let error = |name: &str, command: &'static str, error: CommandError| {
        (format!("error__{name}"), command, error)
    };
    vec![
        error(
            "bad_arguments",
            "commit",
            CommandError::bad_arguments(Text::new("err-not-an-amount").arg("word", "lots"))
                .with_usage("commit"),
        ),
        error(
            "unknown_command",
            "frobnicate",
            CommandError::new(
                ErrorCode::UnknownCommand,
                Text::new("err-unknown-command").arg("word", "frobnicate"),
            ),
        ),
        error(
            "not_a_member",
            "intend",
            CommandError::new(ErrorCode::NotAMember, Text::new("err-not-a-member"))
                .with_usage("intend"),
        ),
        error(
            "forbidden",
            "confirm",
            CommandError::new(
                ErrorCode::Forbidden,
                Text::new("err-not-the-recipient").num("id", 12),
            )
            .with_usage("confirm"),
        ),
        error(
            "not_found",
            "paid",
            CommandError::new(ErrorCode::NotFound, Text::new("err-no-record").num("id", 404))
                .with_usage("paid"),
        ),
        error(
            "invalid_state",
            "withdraw",
            CommandError::new(
                ErrorCode::InvalidState,
                Text::new("err-record-closed").num("id", 11).arg("state", "withdrawn"),
            )
            .with_usage("withdraw"),
        ),
        error(
            "limit_exceeded",
            "pay",
            CommandError::new(
                ErrorCode::LimitExceeded,
                Text::new("err-too-many-methods").num("max", 10),
            )
            .with_usage("pay"),
        ),
        error(
            "internal",
            "status",
            CommandError::new(
                ErrorCode::Internal,
                Text::new("err-internal").arg("id", "not-a-profile-command"),
            ),
        ),
    ]
}

/// The variant of a reply, by name. No wildcard arm: a new variant does not compile until it is
/// named here (and then [`every_reply_variant_has_a_case`] asks for a case).
fn variant(reply: &Reply) -> &'static str {
    match reply {
        Reply::Help { .. } => "Help",
        Reply::Status(_) => "Status",
        Reply::About(_) => "About",
        Reply::PayMethods(_) => "PayMethods",
        Reply::PaySentByDm => "PaySentByDm",
        Reply::CirclePay { .. } => "CirclePay",
        Reply::PayChanged { .. } => "PayChanged",
        Reply::Lang(_) => "Lang",
        Reply::Notify(_) => "Notify",
        Reply::ForgetPending => "ForgetPending",
        Reply::ForgetDone => "ForgetDone",
        Reply::CircleOpened { .. } => "CircleOpened",
        Reply::Circle(_) => "Circle",
        Reply::CircleLink { .. } => "CircleLink",
        Reply::CircleInvited { .. } => "CircleInvited",
        Reply::Record { .. } => "Record",
        Reply::Noticed { .. } => "Noticed",
        Reply::CollectionComplete { .. } => "CollectionComplete",
        Reply::Records { .. } => "Records",
        Reply::IntentionCancelled { .. } => "IntentionCancelled",
        Reply::LeftCircle { .. } => "LeftCircle",
        Reply::Network(_) => "Network",
        Reply::HelpRequest(_) => "HelpRequest",
        Reply::Digest { .. } => "Digest",
        Reply::CollectionEnded { .. } => "CollectionEnded",
        Reply::JobRun { .. } => "JobRun",
        Reply::Stats(_) => "Stats",
        Reply::OutboxChanged { .. } => "OutboxChanged",
        Reply::Pool(_) => "Pool",
        Reply::PoolCreated { .. } => "PoolCreated",
        Reply::PoolRules { .. } => "PoolRules",
        Reply::PoolRuleChanged { .. } => "PoolRuleChanged",
        Reply::Pledged { .. } => "Pledged",
        Reply::PoolLeft { .. } => "PoolLeft",
        Reply::Claim { .. } => "Claim",
        Reply::ClaimNoticed { .. } => "ClaimNoticed",
        Reply::Initiative { .. } => "Initiative",
        Reply::Initiatives(_) => "Initiatives",
        Reply::InitiativeNoticed { .. } => "InitiativeNoticed",
        Reply::ClearingState { .. } => "ClearingState",
        Reply::ClearingSet { .. } => "ClearingSet",
        Reply::Kept { .. } => "Kept",
        Reply::ClearingTotals { .. } => "ClearingTotals",
        Reply::ClearingDigest { .. } => "ClearingDigest",
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------------

/// `value` with the keys of every object sorted, whatever serde_json's map keeps.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let keys: BTreeMap<&String, Value> = map.iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(keys.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// One readable document per rendering: the plain body as sent, the HTML body with one line per
/// `<br>` (a line break added after each; the HTML holds none of its own), and the result.
fn document(command: &str, lang: Lang, rendered: &Rendered) -> String {
    assert!(
        !rendered.html.contains('\n'),
        "{command}: a line break in the HTML: {}",
        rendered.html
    );
    let result = serde_json::to_string_pretty(&sorted(&rendered.result)).unwrap();
    format!(
        "command: {command}\nlang: {}\n\n--- body ---\n{}\n\n--- html (a line break added after \
         each <br>) ---\n{}\n\n--- org.exodus.result ---\n{result}\n",
        lang_code(lang),
        rendered.body,
        rendered.html.replace("<br>", "<br>\n"),
    )
}

fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        Lang::Ru => "ru",
    }
}

fn style(lang: Lang) -> Style<'static> {
    Style { lang, unit: "EUR", prefix: "!" }
}

/// Checks every document against its snapshot, reporting all mismatches (not only the first).
fn check_all(documents: Vec<(String, String)>) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let names: BTreeSet<&String> = documents.iter().map(|(name, _)| name).collect();
    assert_eq!(names.len(), documents.len(), "two cases share a name");
    let failed: Vec<String> = settings.bind(|| {
        documents
            .iter()
            .filter(|(name, document)| {
                catch_unwind(AssertUnwindSafe(|| insta::assert_snapshot!(name.as_str(), document)))
                    .is_err()
            })
            .map(|(name, _)| name.clone())
            .collect()
    });
    assert!(failed.is_empty(), "{} snapshots differ: {failed:#?}", failed.len());
}

#[test]
fn replies_render_as_pinned() {
    let mut documents = Vec::new();
    for case in cases() {
        for lang in Lang::ALL {
            let rendered = render_reply(case.command, &case.reply, &style(lang));
            documents.push((
                format!("{}__{}", case.name, lang_code(lang)),
                document(case.command, lang, &rendered),
            ));
        }
    }
    check_all(documents);
}

#[test]
fn errors_render_as_pinned() {
    let mut documents = Vec::new();
    for (name, command, error) in error_cases() {
        for lang in Lang::ALL {
            let rendered = render_error(command, &error, &style(lang));
            documents
                .push((format!("{name}__{}", lang_code(lang)), document(command, lang, &rendered)));
        }
    }
    check_all(documents);
}

/// The variants `pub enum Reply` declares in `outcome.rs`: the lines indented once inside it
/// that start with a capital letter.
fn declared_variants() -> BTreeSet<&'static str> {
    let source = include_str!("../src/outcome.rs");
    let body = source.split("pub enum Reply {").nth(1).expect("no `pub enum Reply` in outcome.rs");
    let body = body.split("\n}").next().unwrap_or_default();
    body.lines()
        .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
        .map(str::trim_start)
        .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|l| l.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default())
        .collect()
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[test]
fn every_reply_variant_has_a_case() {
    let declared = declared_variants();
    assert!(declared.len() >= 40, "the scan of outcome.rs found only {declared:?}");
    let cases = cases();
    let covered: BTreeSet<&str> = cases.iter().map(|c| variant(&c.reply)).collect();
    let missing: Vec<&&str> = declared.difference(&covered).collect();
    assert!(missing.is_empty(), "Reply variants without a snapshot case: {missing:?}");
    let unknown: Vec<&&str> = covered.difference(&declared).collect();
    assert!(unknown.is_empty(), "cases of variants outcome.rs does not declare: {unknown:?}");
    for case in &cases {
        let prefix = format!("reply__{}", snake(variant(&case.reply)));
        assert!(
            case.name == prefix || case.name.starts_with(&format!("{prefix}__")),
            "case {} is of the variant {}: name it {prefix}[__<shape>]",
            case.name,
            variant(&case.reply)
        );
    }
}

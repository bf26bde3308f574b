//! Every list a message holds is cut to fit in one Matrix event, with totals for the rest (SPEC §8,
//! issue 18): each test renders a long list in English and Russian, serialises the content as the
//! bot sends it (`notice_content` in `bot/src/pipeline.rs`), and checks its size, that the line
//! about the rest is there and adds up, and that a short list is not cut.

use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::{Value, json};

use super::*;
use crate::Amount;
use crate::clearing::setoff::{Change, ClearingItem};
use crate::cycle::{DigestItem, Job, Marked, Marking};
use crate::initiative::{Initiative, InitiativeState, InitiativeView};
use crate::ledger::{Kind, Record, State};
use crate::network::{List, Network, Related};
use crate::outcome::CircleView;
use crate::pool::{Claim, ClaimState, ClaimView, PoolView};
use crate::profile::{Level, Need, Reliability};
use crate::{Lang, MemberId};

/// What the event's content may weigh in these tests (Matrix: 65,536 bytes for the whole event).
const LIMIT: usize = 60_000;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

/// A member ID as long as Matrix allows (255 bytes), so that lists are as heavy as they get.
fn long_member(i: usize) -> MemberId {
    let id = format!("@member-{i:06}-{}:far-away.example.org", "x".repeat(219));
    assert_eq!(id.len(), 255);
    MemberId::parse(&id).unwrap()
}

fn member(i: usize) -> MemberId {
    MemberId::parse(&format!("@supporter-{i}:example.org")).unwrap()
}

fn cents(v: &Value) -> i64 {
    Amount::parse(v.as_str().unwrap_or_else(|| panic!("not an amount: {v}"))).unwrap().cents()
}

/// The content of the reply as the bot sends it, as JSON text.
fn content(r: &Rendered) -> String {
    json!({
        "msgtype": "m.notice",
        "body": r.body,
        "format": "org.matrix.custom.html",
        "formatted_body": r.html,
        "org.exodus.result": r.result,
        "m.mentions": {},
        "m.relates_to": { "m.in_reply_to": { "event_id": "$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg" } },
    })
    .to_string()
}

/// Renders in both languages; checks the size of each and returns them.
fn render_both(command: &str, reply: &Reply) -> Vec<Rendered> {
    [Lang::En, Lang::Ru]
        .into_iter()
        .map(|lang| {
            let r = render_reply(command, reply, &Style { lang, unit: "EUR", prefix: "!" });
            let size = content(&r).len();
            assert!(
                size < LIMIT,
                "{command} in {lang:?}: {size} bytes do not fit in a Matrix event"
            );
            assert!(
                size <= MESSAGE_BUDGET + 512,
                "{command} in {lang:?}: {size} bytes, over the budget"
            );
            assert_ne!(
                r.result["truncated"],
                json!(true),
                "{command}: the last resort was needed: {}",
                r.body
            );
            r
        })
        .collect()
}

fn record(id: i64, who: MemberId, owner: &MemberId) -> Record {
    let obligation = id % 3 == 0;
    Record {
        id,
        kind: if obligation { Kind::Obligation } else { Kind::Intention },
        giver: who,
        recipient: owner.clone(),
        room_id: "!circle:example.org".into(),
        amount: Amount::from_cents(100 + id * 7).unwrap(),
        // The heaviest text a record holds: 280 characters that HTML escapes six-fold.
        what: Some("\"<&>'".repeat(56)),
        state: match id % 5 {
            0 => State::Fulfilled,
            1 if obligation => State::Paid,
            _ if obligation => State::Open,
            _ => State::Active,
        },
        overdue: id % 7 == 0,
        created_at: t0(),
        due: obligation.then_some(t0()),
        changed_at: t0(),
    }
}

fn records(n: i64) -> Vec<Record> {
    let owner = long_member(0);
    (1..=n).map(|id| record(id, long_member(id as usize), &owner)).collect()
}

/// The listed records and `more.records` add up to all of them: count, amount, and the open ❤️ and 🤝.
fn check_records(r: &Rendered, all: &[Record]) {
    let listed = r.result["records"].as_array().unwrap();
    let more = &r.result["more"]["records"];
    let rest = &all[listed.len()..];
    assert_eq!(listed.len() + more["count"].as_u64().unwrap() as usize, all.len());
    assert!(listed.iter().zip(all).all(|(l, r)| l["id"] == r.id), "listed in order");
    assert_eq!(cents(&more["amount"]), rest.iter().map(|r| r.amount.cents()).sum::<i64>());
    let open = |kind| {
        rest.iter().filter(|r| r.kind == kind && r.is_open()).map(|r| r.amount.cents()).sum::<i64>()
    };
    assert_eq!(
        (cents(&more["intentions"]), cents(&more["obligations"])),
        (open(Kind::Intention), open(Kind::Obligation))
    );
    let line = r
        .body
        .lines()
        .find(|l| l.starts_with('…'))
        .unwrap_or_else(|| panic!("no line about the rest: {}", r.body));
    assert!(
        line.contains(&format!(" {} ", rest.len()))
            && line.contains(more["amount"].as_str().unwrap()),
        "{line}"
    );
    assert!(r.html.contains(&escape(line)), "the HTML says it too");
}

#[test]
fn a_circle_of_5000_records_is_cut_and_adds_up_to_its_figures() {
    let all = records(5_000);
    let owner = long_member(0);
    let need = Need::Orange {
        requested: Amount::from_cents(100_000_000).unwrap(),
        note: Some("\"".repeat(280)),
    };
    let (totals, supporters) = crate::ledger::circle_totals(&all, &need, t0());
    let view = CircleView {
        owner,
        room_id: "!circle:example.org".into(),
        need,
        totals,
        supporters,
        records: all.clone(),
    };
    for r in render_both("circle", &Reply::Circle(view)) {
        check_records(&r, &all);
        let listed = r.result["records"].as_array().unwrap();
        let sum = |kind: &str, states: &[&str]| -> i64 {
            listed
                .iter()
                .filter(|x| x["kind"] == kind && states.contains(&x["state"].as_str().unwrap()))
                .map(|x| cents(&x["amount"]))
                .sum()
        };
        let more = &r.result["more"]["records"];
        assert_eq!(
            sum("intention", &["active"]) + cents(&more["intentions"]),
            cents(&r.result["intentions"])
        );
        assert_eq!(
            sum("obligation", &["open", "paid", "overdue"]) + cents(&more["obligations"]),
            cents(&r.result["obligations"])
        );
        assert!(listed.len() >= 5, "even the heaviest records are shown in part: {}", listed.len());
    }
}

#[test]
fn mine_of_5000_and_an_archive_of_10000_records_are_cut() {
    let reliability = Some(Reliability { fulfilled: 3, overdue: 1, forgiven: 0 });
    for (command, n) in [("mine", 5_000), ("archive", 10_000)] {
        let all = records(n);
        for r in render_both(command, &Reply::Records { records: all.clone(), reliability }) {
            check_records(&r, &all);
            assert!(r.result["reliability"].is_object());
        }
    }
    let [en, ru] = <[Rendered; 2]>::try_from(render_both(
        "archive",
        &Reply::Records { records: records(10_000), reliability },
    ))
    .unwrap();
    assert!(en.body.contains("more records, "), "{}", en.body.lines().last().unwrap());
    assert!(ru.body.contains("… и ещё ") && ru.body.contains(" на сумму "), "{}", ru.body);
}

/// Ordinary IDs and texts: a good part of a long list is shown.
#[test]
fn an_ordinary_list_shows_many_records() {
    let owner = member(0);
    let all: Vec<Record> = (1..=5_000)
        .map(|id| Record {
            what: Some("2h plumbing".into()),
            ..record(id, member(id as usize), &owner)
        })
        .collect();
    for r in render_both("mine", &Reply::Records { records: all.clone(), reliability: None }) {
        check_records(&r, &all);
        assert!(
            r.result["records"].as_array().unwrap().len() >= 60,
            "{}",
            r.result["records"].as_array().unwrap().len()
        );
    }
    let mut next = 0;
    let lists = List::ALL
        .into_iter()
        .map(|list| {
            let related = (0..400)
                .map(|_| {
                    next += 1;
                    Related { member: member(next), level: Level::Green }
                })
                .collect();
            (list, related)
        })
        .collect();
    for r in render_both("network", &Reply::Network(Network { lists })) {
        for list in List::ALL {
            assert!(r.result[list.code()].as_array().unwrap().len() >= 30, "{}", list.code());
            assert_eq!(
                r.result[list.code()].as_array().unwrap().len() as u64
                    + r.result["more"][list.code()]["count"].as_u64().unwrap(),
                400
            );
        }
    }
}

#[test]
fn a_short_list_is_not_cut() {
    let all = records(3);
    let owner = long_member(0);
    let need = Need::Orange { requested: Amount::from_cents(100_000).unwrap(), note: None };
    let (totals, supporters) = crate::ledger::circle_totals(&all, &need, t0());
    let view = CircleView {
        owner,
        room_id: "!circle:example.org".into(),
        need,
        totals,
        supporters,
        records: all.clone(),
    };
    for r in render_both("circle", &Reply::Circle(view)) {
        assert_eq!(r.result["records"].as_array().unwrap().len(), 3);
        assert_eq!(r.result.get("more"), None);
        assert!(!r.body.contains('…'), "{}", r.body);
    }
    let items = digest_items(5);
    for r in render_both("notice", &Reply::Digest { job: Job::Rollover, items }) {
        assert_eq!(
            (r.result["rollover"].as_array().unwrap().len(), r.result.get("more")),
            (5, None)
        );
    }
    for r in render_both("network", &Reply::Network(network(&[3, 0, 2, 0, 0, 1]))) {
        assert_eq!(r.result.get("more"), None);
        assert_eq!(r.result["supporters"].as_array().unwrap().len(), 3);
    }
}

fn network(sizes: &[usize; 6]) -> Network {
    let mut next = 0;
    let lists = List::ALL
        .into_iter()
        .zip(sizes)
        .map(|(list, &n)| {
            let related = (0..n)
                .map(|_| {
                    next += 1;
                    Related {
                        member: long_member(next),
                        level: [Level::Green, Level::Orange, Level::Red][next % 3],
                    }
                })
                .collect();
            (list, related)
        })
        .collect();
    Network { lists }
}

#[test]
fn a_network_of_2000_members_is_cut_list_by_list() {
    let sizes = [1_500, 8, 480, 0, 9, 1];
    let net = network(&sizes);
    for r in render_both("network", &Reply::Network(net.clone())) {
        for (list, n) in List::ALL.into_iter().zip(sizes) {
            let shown = r.result[list.code()].as_array().unwrap();
            let cut = r.result["more"][list.code()]["count"].as_u64().map_or(0, |c| c as usize);
            assert_eq!(shown.len() + cut, n, "{}", list.code());
            assert!(
                shown.iter().zip(net.list(list)).all(|(s, m)| s["member"] == m.member.as_str())
            );
            if n <= 10 {
                assert_eq!(
                    cut,
                    0,
                    "a short list keeps all its members although a long one came first: {}",
                    list.code()
                );
            }
        }
        assert!(r.result["more"]["supporters"]["count"].as_u64().unwrap() > 0);
        assert!(r.result["more"]["supporters_of_supporters"]["count"].as_u64().unwrap() > 0);
        assert!(r.result["more"]["supporters"].get("amount").is_none(), "members carry no amount");
        assert!(
            !r.result["supporters_of_supporters"].as_array().unwrap().is_empty(),
            "the first list leaves room for the others"
        );
        let first = r.body.lines().nth(1).unwrap();
        let count = r.result["more"]["supporters"]["count"].to_string();
        assert!(
            first.ends_with(&format!("… and {count} more members."))
                || first.contains(&format!("… и ещё {count} участни")),
            "{first}"
        );
    }
}

fn digest_items(n: usize) -> Vec<DigestItem> {
    let me = member(0);
    (0..n)
        .map(|i| {
            let marked = [
                Marked::Expired,
                Marked::Renewed { from: i as i64 },
                Marked::Overdue,
                Marked::Due,
                Marked::Unconfirmed,
            ][i % 5];
            let (giver, recipient) = if i % 2 == 0 {
                (me.clone(), long_member(i))
            } else {
                (long_member(i), me.clone())
            };
            let marking = Marking {
                marked,
                id: 1_000_000 + i as i64,
                giver,
                recipient,
                amount: Amount::from_cents(1 + i as i64 * 13).unwrap(),
                due: Some(t0()),
            };
            DigestItem { marking, as_giver: i % 2 == 0 }
        })
        .collect()
}

#[test]
fn a_digest_of_10000_lines_is_cut_with_the_sum_of_the_rest() {
    let items = digest_items(10_000);
    for job in [Job::Rollover, Job::Reminders] {
        for r in render_both("notice", &Reply::Digest { job, items: items.clone() }) {
            let shown = r.result[job.name()].as_array().unwrap();
            let more = &r.result["more"][job.name()];
            assert_eq!(shown.len() + more["count"].as_u64().unwrap() as usize, items.len());
            let rest = &items[shown.len()..];
            assert_eq!(
                cents(&more["amount"]),
                rest.iter().map(|i| i.marking.amount.cents()).sum::<i64>()
            );
            let total: i64 = items.iter().map(|i| i.marking.amount.cents()).sum();
            assert_eq!(
                shown.iter().map(|s| cents(&s["amount"])).sum::<i64>() + cents(&more["amount"]),
                total
            );
            let last = r.body.lines().last().unwrap();
            assert!(
                last.contains(&rest.len().to_string())
                    && last.contains(more["amount"].as_str().unwrap()),
                "{last}"
            );
        }
    }
}

fn claim_view(id: i64, shares: usize) -> ClaimView {
    let claim = Claim {
        id,
        room_id: "!pool:example.org".into(),
        claimant: long_member(id as usize),
        event: "accident".into(),
        amount: Amount::from_cents(10_000 + id).unwrap(),
        description: "\"<>\"".repeat(70),
        state: ClaimState::Voting,
        verdict: None,
        covered: None,
        opened: t0(),
        closes: t0(),
        decided: None,
    };
    let eligible = shares;
    let shares =
        (0..shares).map(|i| (long_member(i), Amount::from_cents(1 + i as i64).unwrap())).collect();
    ClaimView {
        claim,
        yes: 3,
        no: 1,
        eligible,
        covered: Amount::from_cents(10_000).unwrap(),
        shares,
    }
}

#[test]
fn a_pool_of_2000_members_with_50_claims_is_cut() {
    let members: Vec<(MemberId, Amount)> =
        (0..2_000).map(|i| (long_member(i), Amount::from_cents(500 + i as i64).unwrap())).collect();
    let claims: Vec<ClaimView> = (1..=50).map(|id| claim_view(id, 2_000)).collect();
    let total = members.iter().fold(Amount::ZERO, |s, (_, p)| s.saturating_add(*p));
    let view = PoolView {
        room_id: "!pool:example.org".into(),
        name: "\"".repeat(100),
        total,
        available: total,
        paid: Amount::ZERO,
        reserve: total,
        members: members.clone(),
        claims: claims.clone(),
    };
    for r in render_both("pool", &Reply::Pool(view.clone())) {
        let shown = r.result["members"].as_array().unwrap();
        let more = &r.result["more"]["members"];
        assert_eq!(shown.len() + more["count"].as_u64().unwrap() as usize, members.len());
        assert_eq!(
            cents(&more["amount"]),
            members[shown.len()..].iter().map(|(_, p)| p.cents()).sum::<i64>()
        );
        let claims_shown = r.result["claims"].as_array().unwrap();
        let more_claims = &r.result["more"]["claims"];
        assert_eq!(
            claims_shown.len() + more_claims["count"].as_u64().unwrap() as usize,
            claims.len()
        );
        assert_eq!(
            cents(&more_claims["amount"]),
            claims[claims_shown.len()..].iter().map(|c| c.claim.amount.cents()).sum::<i64>()
        );
        assert!(!claims_shown.is_empty(), "the members leave room for claims");
    }
}

#[test]
fn a_claim_with_2000_shares_is_cut() {
    let view = claim_view(7, 2_000);
    for command in ["claim", "vote"] {
        for r in render_both(command, &Reply::Claim { view: view.clone(), ballot: None }) {
            let shown = r.result["shares"].as_array().unwrap();
            let more = &r.result["more"]["shares"];
            assert_eq!(shown.len() + more["count"].as_u64().unwrap() as usize, 2_000);
            assert_eq!(
                cents(&more["amount"]),
                view.shares[shown.len()..].iter().map(|(_, a)| a.cents()).sum::<i64>()
            );
        }
    }
    for r in render_both(
        "notice",
        &Reply::ClaimNoticed {
            what: crate::outcome::ClaimNotice::ClaimDecided,
            view: claim_view(8, 5),
        },
    ) {
        assert_eq!((r.result["shares"].as_array().unwrap().len(), r.result.get("more")), (5, None));
    }
}

#[test]
fn a_room_with_1000_initiatives_is_cut() {
    let views: Vec<InitiativeView> = (1..=1_000)
        .map(|id| InitiativeView {
            initiative: Initiative {
                id,
                room_id: "!room:example.org".into(),
                proposer: long_member(id as usize),
                title: "\"<&>\"".repeat(20),
                goal: Amount::from_cents(100_000).unwrap(),
                deadline: t0(),
                state: InitiativeState::Active,
                created: t0(),
                decided: None,
            },
            backing: Amount::from_cents(id * 3).unwrap(),
            backers: 2,
            remaining: Amount::from_cents(1).unwrap(),
            days_left: 3,
            interest: 1,
            due: None,
        })
        .collect();
    for r in render_both("initiatives", &Reply::Initiatives(views.clone())) {
        let shown = r.result["initiatives"].as_array().unwrap();
        let more = &r.result["more"]["initiatives"];
        assert_eq!(shown.len() + more["count"].as_u64().unwrap() as usize, views.len());
        assert_eq!(
            cents(&more["amount"]),
            views[shown.len()..].iter().map(|v| v.backing.cents()).sum::<i64>()
        );
    }
}

#[test]
fn a_clearing_digest_of_5000_changes_and_a_leaver_of_5000_intentions_are_cut() {
    let items: Vec<ClearingItem> = (0..5_000)
        .map(|i| ClearingItem {
            change: Change {
                id: i,
                giver: long_member(i as usize),
                recipient: long_member(i as usize + 1),
                before: Amount::from_cents(1_000).unwrap(),
                set_off: Amount::from_cents(1 + i).unwrap(),
                part: (i % 2 == 0).then_some(i + 100_000),
            },
            as_giver: i % 2 == 0,
        })
        .collect();
    for r in render_both("notice", &Reply::ClearingDigest { items: items.clone() }) {
        let shown = r.result["changes"].as_array().unwrap();
        let more = &r.result["more"]["changes"];
        assert_eq!(shown.len() + more["count"].as_u64().unwrap() as usize, items.len());
        assert_eq!(
            cents(&more["amount"]),
            items[shown.len()..].iter().map(|i| i.change.set_off.cents()).sum::<i64>()
        );
        assert_eq!(r.result["obligations_changed"], 5_000, "the figures count every change");
    }
    let last = Some(crate::clearing::setoff::LastClearing { at: t0(), items });
    for r in render_both("clearing", &Reply::ClearingState { on: true, last: last.clone() }) {
        let shown = r.result["last"]["changes"].as_array().unwrap().len();
        assert_eq!(
            shown + r.result["last"]["more"]["changes"]["count"].as_u64().unwrap() as usize,
            5_000
        );
    }
    let withdrawn = records(5_000);
    for r in render_both(
        "notice",
        &Reply::LeftCircle { member: long_member(1), withdrawn: withdrawn.clone() },
    ) {
        let shown = r.result["records"].as_array().unwrap().len();
        let more = &r.result["more"]["records"];
        assert_eq!(shown + more["count"].as_u64().unwrap() as usize, 5_000);
        assert_eq!(
            cents(&more["amount"]),
            withdrawn[shown..].iter().map(|r| r.amount.cents()).sum::<i64>()
        );
    }
}

#[test]
fn help_fits() {
    render_both("help", &Reply::Help { topic: None });
    for spec in crate::command::SPECS {
        render_both("help", &Reply::Help { topic: Some(spec.name) });
    }
}

/// The last resort: a message over the budget although no list made it so is squeezed, says so,
/// and fits.
#[test]
fn a_message_too_long_for_any_other_reason_is_squeezed() {
    let lines: Vec<Line> =
        (0..2_000).map(|i| Line::Plain(format!("line {i} {}", "&".repeat(40)))).collect();
    let result = json!({ "command": "x", "ok": true, "big": vec!["y".repeat(100); 1_000], "n": 3 });
    for lang in [Lang::En, Lang::Ru] {
        let r = finish(
            lines
                .iter()
                .map(|l| match l {
                    Line::Plain(s) => Line::Plain(s.clone()),
                    Line::Code(s) => Line::Code(s.clone()),
                })
                .collect(),
            result.clone(),
            lang,
        );
        assert!(content(&r).len() < LIMIT, "{}", content(&r).len());
        assert_eq!(
            (&r.result["truncated"], &r.result["n"], r.result.get("big")),
            (&json!(true), &json!(3), None)
        );
        let last = r.body.lines().last().unwrap();
        assert!(last.starts_with('…') && r.body.starts_with("line 0 "), "{last}");
    }
}

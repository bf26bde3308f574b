//! Pools and claims as a member reads them: `pool`, `pool create`, `pool rules`, `pool
//! rule`, `pledge`, a pledge's end, `claim`, `vote` and the notifications about claims; their lines
//! and, in [`super::result`], their result fields.

use crate::Code;
use crate::outcome::{ClaimNotice, PledgeEnded};
use crate::pool::{Ballot, ClaimView, PoolView};
use crate::render::fit::Room;
use crate::render::result::{self as wire, Coded, Fields, Instant};
use crate::render::{Line, Parts, Style, date, omitted, tr};
use crate::text::Text;
use crate::{Amount, MemberId};
use std::collections::BTreeMap;

/// `Reply::Pool`: `pool`.
pub(crate) fn pool<'a>(view: &'a PoolView, style: &Style<'_>) -> Parts<'a> {
    let (lines, pool) = pool_lines(view, style);
    (lines, Fields::Pool(pool))
}

/// `Reply::PoolCreated`: `pool create`.
pub(crate) fn pool_created<'a>(
    name: &'a str,
    room_id: &'a str,
    rules: &'a [(&'static str, String)],
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let mut lines = vec![Line::Plain(t(Text::new("pool-created")
        .arg("name", name)
        .arg("prefix", style.prefix)))];
    lines.extend(rule_lines(rules));
    let created = wire::pool::PoolCreated {
        kind: wire::pool::PoolKind,
        name,
        room_id,
        rules: rules_map(rules),
    };
    (lines, Fields::PoolCreated(created))
}

/// `Reply::PoolRules`: `pool rules`.
pub(crate) fn pool_rules<'a>(
    name: &'a str,
    rules: &'a [(&'static str, String)],
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let mut lines = vec![Line::Plain(t(Text::new("pool-rules-title").arg("name", name)))];
    lines.extend(rule_lines(rules));
    let rules = wire::pool::PoolRules { kind: wire::pool::PoolKind, name, rules: rules_map(rules) };
    (lines, Fields::PoolRules(rules))
}

/// `Reply::PoolRuleChanged`: `pool rule`.
pub(crate) fn pool_rule_changed<'a>(
    name: &'a str,
    key: &'a str,
    from: &'a str,
    to: &'a str,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    (
        vec![Line::Plain(t(Text::new("pool-rule-changed")
            .arg("name", name)
            .arg("key", key)
            .arg("from", from)
            .arg("to", to)))],
        Fields::PoolRuleChanged(wire::pool::PoolRuleChanged {
            kind: wire::pool::PoolKind,
            name,
            rule: key,
            from,
            to,
        }),
    )
}

/// `Reply::Pledged`: `pledge`.
pub(crate) fn pledged<'a>(
    name: &'a str,
    member: &'a MemberId,
    amount: &'a Amount,
    previous: &'a Option<Amount>,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    (
        vec![Line::Plain(t(Text::new("pool-pledged")
            .arg("name", name)
            .arg("amount", *amount)
            .arg("unit", style.unit)))],
        Fields::Pledged(wire::pool::Pledged {
            kind: wire::pool::PoolKind,
            member,
            pledge: *amount,
            previous: *previous,
        }),
    )
}

/// `Reply::PoolLeft`: a member's pledge is gone.
pub(crate) fn pool_left<'a>(
    name: &'a str,
    member: &'a MemberId,
    pledge: &'a Amount,
    why: &'a PledgeEnded,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let message = match why {
        PledgeEnded::Excluded => "pool-excluded",
        PledgeEnded::LeftRoom => "pool-left-room",
        PledgeEnded::Lapsed => "pool-lapsed",
        PledgeEnded::Left => "pool-left",
    };
    (
        vec![Line::Plain(t(Text::new(message)
            .arg("name", name)
            .arg("member", member.as_str())
            .arg("amount", *pledge)
            .arg("unit", style.unit)))],
        Fields::PoolLeft(wire::pool::PoolLeft {
            kind: wire::pool::PoolKind,
            notice: why.code(),
            member,
            pledge: *pledge,
        }),
    )
}

/// `Reply::Claim`: `claim` and `vote`.
pub(crate) fn claim<'a>(
    view: &'a ClaimView,
    ballot: &'a Option<Ballot>,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let head = match ballot {
        Some(ballot) => Text::new("claim-voted")
            .num("id", view.claim.id)
            .arg("vote", ballot.vote.map_or("", |v| v.code())),
        None => Text::new("claim-opened").num("id", view.claim.id).arg("prefix", style.prefix),
    };
    let mut lines = vec![Line::Plain(t(head))];
    let (claim_lines, claim) = claim_lines(view, style, &mut Room::default());
    lines.extend(claim_lines);
    let reply = wire::pool::ClaimReply { claim, ballot: ballot.as_ref().map(Into::into) };
    (lines, Fields::Claim(reply))
}

/// `Reply::ClaimNoticed`: a claim opened or decided.
pub(crate) fn claim_noticed<'a>(
    what: &'a ClaimNotice,
    view: &'a ClaimView,
    style: &Style<'_>,
) -> Parts<'a> {
    let t = |text: Text| tr(style.lang, &text);
    let head = match what {
        ClaimNotice::ClaimOpened => {
            Text::new("notice-claim-opened").num("id", view.claim.id).arg("prefix", style.prefix)
        }
        ClaimNotice::ClaimDecided => Text::new("notice-claim-decided")
            .num("id", view.claim.id)
            .arg("verdict", view.claim.verdict.map_or("", |v| v.code())),
    };
    let mut lines = vec![Line::Plain(t(head))];
    let (claim_lines, claim) = claim_lines(view, style, &mut Room::default());
    lines.extend(claim_lines);
    (lines, Fields::ClaimNoticed(wire::pool::ClaimNoticed { notice: what.code(), claim }))
}

fn rule_lines(rules: &[(&'static str, String)]) -> Vec<Line> {
    rules.iter().map(|(k, v)| Line::Code(format!("{k} {v}"))).collect()
}

/// The rules of a pool, by key (a key given twice: the last value).
fn rules_map<'a>(rules: &'a [(&'static str, String)]) -> BTreeMap<&'static str, &'a str> {
    rules.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A claim's fields (SPEC §3 `claim`/`vote`), with the `shares` shown and what was cut of them.
fn claim_fields<'a>(
    view: &'a crate::pool::ClaimView,
    shares: Vec<wire::pool::Share<'a>>,
    more: Option<wire::pool::MoreShares>,
) -> wire::pool::Claim<'a> {
    let c = &view.claim;
    wire::pool::Claim {
        kind: wire::pool::ClaimKind,
        id: c.id,
        state: Coded(c.state),
        verdict: c.verdict.map(Coded),
        claimant: &c.claimant,
        event: &c.event,
        amount: c.amount,
        description: &c.description,
        closes: Instant(c.closes),
        yes: view.yes,
        no: view.no,
        eligible: view.eligible,
        covered: view.covered,
        shares,
        more,
    }
}

/// A claim: what is claimed, the tally, and the shares (cut to `room`), as lines and as the
/// claim's result fields.
pub(crate) fn claim_lines<'a>(
    view: &'a crate::pool::ClaimView,
    style: &Style<'_>,
    room: &mut Room,
) -> (Vec<Line>, wire::pool::Claim<'a>) {
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
    let cut = room.cut(&view.shares, |(m, a)| {
        (format!("{m} {a}"), wire::pool::Share { member: m, amount: *a })
    });
    let mut more = None;
    if !view.shares.is_empty() {
        let mut shares = cut.shown.join(", ");
        if !cut.rest.is_empty() {
            let (line, omitted) = omitted(cut.rest, |(_, a)| *a, Text::new("more-shares"), style);
            more = Some(wire::pool::MoreShares { shares: omitted });
            shares = if cut.shown.is_empty() { line } else { format!("{shares} {line}") };
        }
        lines.push(Line::Plain(t(Text::new("claim-shares")
            .arg("covered", view.covered)
            .arg("unit", style.unit)
            .arg("shares", shares))));
    }
    (lines, claim_fields(view, cut.values, more))
}

/// The room a claim's shares have in the `pool` message, which may show several claims.
const POOL_CLAIM_SHARES: usize = 2 * 1024;

/// `pool`: the figures, each member's pledge, the claims being voted on.
fn pool_lines<'a>(
    view: &'a crate::pool::PoolView,
    style: &Style<'_>,
) -> (Vec<Line>, wire::pool::Pool<'a>) {
    let t = |text: Text| tr(style.lang, &text);
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
    let member = |(m, p): &'a (crate::MemberId, crate::Amount)| {
        (
            Line::Plain(format!("• {m}: {p} {}", style.unit)),
            wire::pool::PoolMember { member: m, pledge: *p },
        )
    };
    // A claim's shares are in its own replies, not in `pool`'s result.
    let claim = |c: &'a crate::pool::ClaimView| {
        let (lines, _) = claim_lines(c, style, &mut Room::new(POOL_CLAIM_SHARES));
        (lines, wire::pool::PoolClaim::from(c))
    };
    let room = Room::default();
    let needs = [room.need(&view.members, member), room.need(&view.claims, claim)];
    let [mut members_room, mut claims_room] =
        <[Room; 2]>::try_from(room.split(&needs)).unwrap_or_default();
    let mut more = wire::pool::PoolMore::default();
    let members = members_room.cut(&view.members, member);
    lines.extend(members.shown);
    if !members.rest.is_empty() {
        let (line, omitted) = omitted(members.rest, |(_, p)| *p, Text::new("more-pledges"), style);
        lines.push(Line::Plain(line));
        more.members = Some(omitted);
    }
    let claims = claims_room.cut(&view.claims, claim);
    lines.extend(claims.shown.into_iter().flatten());
    if !claims.rest.is_empty() {
        let (line, omitted) =
            omitted(claims.rest, |c| c.claim.amount, Text::new("more-claims"), style);
        lines.push(Line::Plain(line));
        more.claims = Some(omitted);
    }
    let pool = wire::pool::Pool {
        kind: wire::pool::PoolKind,
        name: &view.name,
        total: view.total,
        available: view.available,
        paid: view.paid,
        reserve: view.reserve,
        members: members.values,
        claims: claims.values,
        more,
    };
    (lines, pool)
}

//! The model's pools (SPEC §3.3): their rules and pledges, the claims and their ballots, the
//! claim arithmetic written here again (what each pledge still covers this cycle, the
//! largest-remainder shares), the pool commands, and the closing of vote windows by the deadlines
//! job.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{DAY_MS, EventInfo, HOUR_MS, MRecord, Model, SimCmd, World, cents, instant};
use crate::db::DbRecord;

/// A pool's rules, as far as the simulation changes them (the others keep SPEC §3.3's
/// defaults: quorum 0.5, approval 0.5, no pledge limits, events accident, illness, fire).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MRules {
    pub vote_hours: i64,
    pub pay_days: i64,
    pub max_claim: Option<i64>,
    pub manual: bool,
}

impl Default for MRules {
    fn default() -> Self {
        MRules { vote_hours: 24, pay_days: 7, max_claim: None, manual: false }
    }
}

pub const POOL_EVENTS: [&str; 3] = ["accident", "illness", "fire"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MPool {
    pub name: String,
    pub rules: MRules,
    /// Member → (pledge, the start of the cycle it was made or carried into).
    pub pledges: BTreeMap<String, (i64, i64)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MClaim {
    pub room: String,
    pub claimant: String,
    pub event: &'static str,
    pub cents: i64,
    pub closes: i64,
    pub state: &'static str,
    pub verdict: Option<&'static str>,
    pub covered: Option<i64>,
    /// (voter, yes, sent at), in the order the bot decided them.
    pub ballots: Vec<(String, bool, i64)>,
}

/// SPEC §3.3's claim arithmetic, written here again: T the sum of what the others' pledges still
/// cover, A = min(claim, max_claim, T), each share A × p / T rounded down, the cents left over one
/// each to the largest remainders, ties by member ID. Returns (A, shares by member).
pub fn shares(
    claim: i64,
    max_claim: Option<i64>,
    claimant: &str,
    available: &BTreeMap<String, i64>,
) -> (i64, Vec<(String, i64)>) {
    let pledges: Vec<(&String, i128)> = available
        .iter()
        .filter(|(m, a)| m.as_str() != claimant && **a > 0)
        .map(|(m, a)| (m, i128::from(*a)))
        .collect();
    let total: i128 = pledges.iter().map(|(_, p)| p).sum();
    let mut covered = i128::from(claim).min(total);
    if let Some(max) = max_claim {
        covered = covered.min(i128::from(max));
    }
    if covered <= 0 {
        return (0, Vec::new());
    }
    let mut parts: Vec<(&String, i128, i128)> =
        pledges.iter().map(|&(m, p)| (m, covered * p / total, covered * p % total)).collect();
    let left = covered - parts.iter().map(|(_, f, _)| f).sum::<i128>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| parts[b].2.cmp(&parts[a].2).then_with(|| parts[a].0.cmp(parts[b].0)));
    for &i in order.iter().take(left as usize) {
        parts[i].1 += 1;
    }
    let list = parts
        .into_iter()
        .filter(|(_, c, _)| *c > 0)
        .map(|(m, c, _)| (m.clone(), c as i64))
        .collect();
    (covered as i64, list)
}

impl Model {
    /// The pledges that count in the cycle that began at `cycle_start`: a pool renewed by hand
    /// lets last cycle's lapse (even before the rollover ran).
    pub fn pledges(&self, room: &str, cycle_start: i64) -> BTreeMap<String, i64> {
        let Some(pool) = self.pools.get(room) else { return BTreeMap::new() };
        pool.pledges
            .iter()
            .filter(|(_, (_, cycle))| !pool.rules.manual || *cycle >= cycle_start)
            .map(|(m, (c, _))| (m.clone(), *c))
            .collect()
    }

    /// What approved claims charged each member of the pool in `room` this cycle: its
    /// obligations made this cycle, unless cancelled or forgiven.
    fn charged(&self, room: &str, cycle_start: i64) -> BTreeMap<String, i64> {
        let mut out: BTreeMap<String, i64> = BTreeMap::new();
        for r in self.records.values() {
            if r.room == room
                && r.kind == "obligation"
                && r.created >= cycle_start
                && !matches!(r.state, "cancelled" | "forgiven")
            {
                *out.entry(r.giver.clone()).or_default() += r.cents;
            }
        }
        out
    }

    /// What each pledge still covers this cycle.
    fn available(&self, room: &str, cycle_start: i64) -> BTreeMap<String, i64> {
        let charged = self.charged(room, cycle_start);
        self.pledges(room, cycle_start)
            .into_iter()
            .map(|(m, p)| {
                let c = charged.get(&m).copied().unwrap_or(0);
                (m, (p - c).max(0))
            })
            .collect()
    }

    /// `member` has an overdue obligation of the pool in `room` (excluded, and refused a pledge).
    fn overdue_in(&self, room: &str, member: &str) -> bool {
        self.records.values().any(|r| {
            r.room == room
                && r.giver == member
                && r.kind == "obligation"
                && r.overdue
                && matches!(r.state, "open" | "paid")
        })
    }

    /// A claim's tally now (V3): each pledged member's latest vote cast in the window, the
    /// claimant's never. Returns (yes, no, members who may vote).
    fn tally(&self, claim: &MClaim, cycle_start: i64) -> (usize, usize, usize) {
        let eligible = self.pledges(&claim.room, cycle_start);
        let mut votes: BTreeMap<&str, bool> = BTreeMap::new();
        for (voter, yes, at) in &claim.ballots {
            if *voter != claim.claimant && eligible.contains_key(voter) && *at <= claim.closes {
                votes.insert(voter, *yes);
            }
        }
        let yes = votes.values().filter(|y| **y).count();
        let may = eligible.keys().filter(|m| **m != claim.claimant).count();
        (yes, votes.len() - yes, may)
    }

    /// A claim as a reply shows it: its tally and the shares it would get if approved now.
    fn check_claim_shown(&self, id: i64, result: &Value, cycle_start: i64) -> Result<(), String> {
        let claim = &self.claims[&id];
        let (yes, no, may) = self.tally(claim, cycle_start);
        let max_claim = self.pools[&claim.room].rules.max_claim;
        let available = self.available(&claim.room, cycle_start);
        let (covered, expected) = shares(claim.cents, max_claim, &claim.claimant, &available);
        let mut shown: Vec<(String, i64)> = result["shares"]
            .as_array()
            .ok_or_else(|| format!("claim #{id} without shares: {result}"))?
            .iter()
            .map(|s| {
                Ok((s["member"].as_str().unwrap_or_default().to_owned(), cents(&s["amount"])?))
            })
            .collect::<Result<_, String>>()?;
        shown.sort();
        let sum: i64 = shown.iter().map(|(_, c)| c).sum();
        if sum != cents(&result["covered"])? {
            return Err(format!("claim #{id}'s shares do not sum to what it covers: {result}"));
        }
        let figures = (yes as i64, no as i64, may as i64, covered);
        let said = (
            result["yes"].as_i64().unwrap_or(-1),
            result["no"].as_i64().unwrap_or(-1),
            result["eligible"].as_i64().unwrap_or(-1),
            cents(&result["covered"])?,
        );
        if figures != said || shown != expected {
            return Err(format!(
                "claim #{id}: the model has (yes, no, may vote, covered) {figures:?} and shares \
                 {expected:?} (over what the pledges still cover: {available:?}); the reply {result}"
            ));
        }
        Ok(())
    }

    /// `pool`: the pledges, this cycle's charges and the claims being voted on.
    fn check_pool_view(&self, room: &str, result: &Value, cycle_start: i64) -> Result<(), String> {
        let pledges = self.pledges(room, cycle_start);
        let total: i64 = pledges.values().sum();
        let available: i64 = self.available(room, cycle_start).values().sum();
        let paid: i64 = self.charged(room, cycle_start).values().sum();
        let mut members: Vec<(String, i64)> = result["members"]
            .as_array()
            .ok_or_else(|| format!("`pool` without members: {result}"))?
            .iter()
            .map(|m| {
                Ok((m["member"].as_str().unwrap_or_default().to_owned(), cents(&m["pledge"])?))
            })
            .collect::<Result<_, String>>()?;
        members.sort();
        let mut claims: Vec<(i64, i64, i64)> = result["claims"]
            .as_array()
            .ok_or_else(|| format!("`pool` without claims: {result}"))?
            .iter()
            .map(|c| {
                (
                    c["id"].as_i64().unwrap_or(-1),
                    c["yes"].as_i64().unwrap_or(-1),
                    c["no"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        claims.sort();
        let expected_claims: Vec<(i64, i64, i64)> = self
            .claims
            .iter()
            .filter(|(_, c)| c.room == room && c.state == "voting")
            .map(|(id, c)| {
                let (yes, no, _) = self.tally(c, cycle_start);
                (*id, yes as i64, no as i64)
            })
            .collect();
        let expected_members: Vec<(String, i64)> = pledges.into_iter().collect();
        let said =
            (cents(&result["total"])?, cents(&result["available"])?, cents(&result["paid"])?);
        if said != (total, available, paid)
            || members != expected_members
            || claims != expected_claims
            || !result["more"].is_null()
        {
            let obligations: Vec<(&i64, &MRecord)> =
                self.records.iter().filter(|(_, r)| r.room == room).collect();
            return Err(format!(
                "`pool` in {room}: the model has total {total}, available {available}, paid \
                 {paid}, pledges {expected_members:?}, claims (id, yes, no) {expected_claims:?}; \
                 the reply {result}; the pool's obligations {obligations:?}"
            ));
        }
        Ok(())
    }

    /// A pool command that succeeded (`result`), checked and applied.
    pub(super) fn apply_pool(
        &mut self,
        ev: &EventInfo,
        result: &Value,
        w: &World<'_>,
    ) -> Result<(), String> {
        let sender = ev.sender.as_str();
        let fail = |what: &str| {
            Err(format!("{:?} by {sender} in {}: {what}; reply {result}", ev.cmd, ev.room))
        };
        match &ev.cmd {
            SimCmd::PoolCreate => {
                if ev.in_dm
                    || self.pools.contains_key(&ev.room)
                    || self.circle_owner(&ev.room).is_some()
                    || (w.power)(&ev.room, sender) < 50
                    || (w.world_readable)(&ev.room)
                    || self.initiatives.values().any(|i| i.room == ev.room)
                {
                    return fail(
                        "a pool bound where none may be (DM, pool, circle, power, V9, initiatives)",
                    );
                }
                let name = result["name"].as_str().unwrap_or_default().to_owned();
                if result["room_id"].as_str() != Some(ev.room.as_str()) || name.is_empty() {
                    return fail("the reply names another room");
                }
                let pool = MPool { name, rules: MRules::default(), pledges: BTreeMap::new() };
                self.pools.insert(ev.room.clone(), pool);
            }
            SimCmd::PoolShow => {
                self.in_pool(ev, w)?;
                self.check_pool_view(&ev.room, result, w.cycle_start)?;
            }
            SimCmd::PoolRule { key, value } => {
                self.in_pool(ev, w)?;
                if (w.power)(&ev.room, sender) < 50 {
                    return fail("a rule changed without power");
                }
                if self.claims.values().any(|c| c.room == ev.room && c.state == "voting") {
                    return fail("a rule changed under a claim being voted on");
                }
                let rules = &mut self.pools.get_mut(&ev.room).expect("checked").rules;
                let shown = match *key {
                    "vote_hours" => {
                        rules.vote_hours = value.parse().expect("the simulation's");
                        (*value).to_owned()
                    }
                    "pay_days" => {
                        rules.pay_days = value.parse().expect("the simulation's");
                        (*value).to_owned()
                    }
                    "max_claim" => {
                        rules.max_claim = value.parse::<i64>().ok().map(|units| units * 100);
                        rules.max_claim.map_or("none".to_owned(), |c| format!("{}.00", c / 100))
                    }
                    _ => {
                        rules.manual = *value == "manual";
                        (*value).to_owned()
                    }
                };
                if result["rule"] != *key || result["to"] != shown.as_str() {
                    return fail(&format!("the rule is now {shown}"));
                }
            }
            SimCmd::Pledge { cents: amount } => {
                self.in_pool(ev, w)?;
                let previous = self.pledges(&ev.room, w.cycle_start).get(sender).copied();
                let pool = self.pools.get_mut(&ev.room).expect("checked");
                if *amount == 0 {
                    let Some(previous) = previous else {
                        return fail("`pledge 0` without a pledge");
                    };
                    if result["notice"] != "left" || cents(&result["pledge"])? != previous {
                        return fail(&format!("the pledge was {previous}"));
                    }
                    pool.pledges.remove(sender);
                } else {
                    let shown_previous = match &result["previous"] {
                        Value::Null => None,
                        v => Some(cents(v)?),
                    };
                    if cents(&result["pledge"])? != *amount || shown_previous != previous {
                        return fail(&format!("the pledge was {previous:?}"));
                    }
                    pool.pledges.insert(sender.to_owned(), (*amount, w.cycle_start));
                    self.pledged_ever.insert((ev.room.clone(), sender.to_owned()));
                    if self.overdue_in(&ev.room, sender) {
                        return fail("a member with an overdue pool obligation pledged again");
                    }
                }
            }
            SimCmd::PoolLeave => {
                self.in_pool(ev, w)?;
                let Some(previous) = self.pledges(&ev.room, w.cycle_start).get(sender).copied()
                else {
                    return fail("`pool leave` without a pledge");
                };
                if result["notice"] != "left" || cents(&result["pledge"])? != previous {
                    return fail(&format!("the pledge was {previous}"));
                }
                self.pools.get_mut(&ev.room).expect("checked").pledges.remove(sender);
            }
            SimCmd::Claim { event, cents: amount } => {
                self.in_pool(ev, w)?;
                // V3: only joined members holding a pledge may claim.
                if !self.pledges(&ev.room, w.cycle_start).contains_key(sender) {
                    return fail("a claim by a member without a pledge (V3)");
                }
                let Some(id) = result["id"].as_i64().filter(|id| !self.claims.contains_key(id))
                else {
                    return fail("the claim's number is taken");
                };
                let vote_hours = self.pools[&ev.room].rules.vote_hours;
                let claim = MClaim {
                    room: ev.room.clone(),
                    claimant: sender.to_owned(),
                    event,
                    cents: *amount,
                    closes: w.now + vote_hours * HOUR_MS,
                    state: "voting",
                    verdict: None,
                    covered: None,
                    ballots: Vec::new(),
                };
                if instant(&result["closes"])? != claim.closes
                    || cents(&result["amount"])? != *amount
                    || result["state"] != "voting"
                {
                    return fail(&format!("the model's claim is {claim:?}"));
                }
                self.claims.insert(id, claim);
                self.check_claim_shown(id, result, w.cycle_start)?;
            }
            SimCmd::Vote { id, yes } => {
                let Some(claim) = self.claims.get(id) else {
                    return fail("a vote on a claim the model does not know");
                };
                let room = claim.room.clone();
                Self::may_change(ev, &room, w)?;
                let pledged = self.pledges(&room, w.cycle_start).contains_key(sender);
                if claim.state != "voting"
                    || ev.ts > claim.closes
                    || claim.claimant == sender
                    || !pledged
                {
                    return fail(&format!(
                        "a vote that does not count (V3): the claim is {claim:?}, pledged \
                         {pledged}, sent at {}",
                        ev.ts
                    ));
                }
                self.claims.get_mut(id).expect("checked").ballots.push((
                    sender.to_owned(),
                    *yes,
                    ev.ts,
                ));
                if result["vote"] != if *yes { "yes" } else { "no" } {
                    return fail("the reply shows another vote");
                }
                self.check_claim_shown(*id, result, w.cycle_start)?;
            }
            other => unreachable!("{other:?} is no pool command"),
        }
        Ok(())
    }

    /// The pool command was sent in a pool's room by a member joined to it (V2).
    fn in_pool(&self, ev: &EventInfo, w: &World<'_>) -> Result<(), String> {
        if ev.in_dm || !self.pools.contains_key(&ev.room) || !(w.joined)(&ev.room, &ev.sender) {
            return Err(format!(
                "{:?} by {} succeeded in {}, which is no pool room they are joined to",
                ev.cmd, ev.sender, ev.room
            ));
        }
        Ok(())
    }

    /// SPEC §3.3: a member with an overdue pool obligation loses their pledge in that pool.
    pub(super) fn exclude_overdue(&mut self) {
        let excluded: Vec<(String, String)> = self
            .pools
            .iter()
            .flat_map(|(room, pool)| pool.pledges.keys().map(move |m| (room.clone(), m.clone())))
            .filter(|(room, member)| self.overdue_in(room, member))
            .collect();
        for (room, member) in excluded {
            self.pools.get_mut(&room).expect("known").pledges.remove(&member);
        }
    }

    /// The vote windows closed at `as_of` (the deadlines job), in order: quorum and strict
    /// approval decide; an approved claim's shares become obligations to the claimant due in
    /// `pay_days`, their numbers read from `db`.
    pub(super) fn close_claims(
        &mut self,
        as_of: i64,
        cycle_start: i64,
        db: &BTreeMap<i64, DbRecord>,
    ) -> Result<(), String> {
        let mut closing: Vec<(i64, i64)> = self
            .claims
            .iter()
            .filter(|(_, c)| c.state == "voting" && c.closes <= as_of)
            .map(|(id, c)| (c.closes, *id))
            .collect();
        closing.sort();
        for (_, id) in closing {
            let claim = self.claims[&id].clone();
            let (yes, no, may) = self.tally(&claim, cycle_start);
            let votes = yes + no;
            let verdict = if votes * 2 < may {
                "no_quorum"
            } else if votes > 0 && yes * 2 > votes {
                "approved"
            } else {
                "rejected"
            };
            let rules = self.pools[&claim.room].rules.clone();
            let available = self.available(&claim.room, cycle_start);
            let (covered, expected) = if verdict == "approved" {
                shares(claim.cents, rules.max_claim, &claim.claimant, &available)
            } else {
                (0, Vec::new())
            };
            let what = format!("claim #{id}: {}", claim.event);
            let mut made: Vec<(String, i64, i64)> = db
                .iter()
                .filter(|(rid, r)| {
                    !self.records.contains_key(rid) && r.what.as_deref() == Some(what.as_str())
                })
                .map(|(rid, r)| (r.giver.clone(), r.cents, *rid))
                .collect();
            made.sort();
            let made_shares: Vec<(String, i64)> =
                made.iter().map(|(g, c, _)| (g.clone(), *c)).collect();
            if made_shares != expected {
                return Err(format!(
                    "claim #{id} closed at {as_of} ({verdict}: {yes} yes of {votes} votes, {may} \
                     may vote): the model's obligations are {expected:?} (covering {covered} of \
                     {}, over what the pledges still cover: {available:?}), the database made \
                     {made:?}",
                    claim.cents
                ));
            }
            for (giver, amount, rid) in made {
                let r = &db[&rid];
                if r.kind != "obligation"
                    || r.recipient != claim.claimant
                    || r.room != claim.room
                    || r.state != "open"
                {
                    return Err(format!("claim #{id}'s obligation #{rid} is {r:?}"));
                }
                let obligation = MRecord {
                    kind: "obligation",
                    giver,
                    recipient: claim.claimant.clone(),
                    room: claim.room.clone(),
                    cents: amount,
                    state: "open",
                    created: as_of,
                    fulfilled_at: None,
                    initiative: None,
                    claim: Some(id),
                    due: Some(as_of + rules.pay_days * DAY_MS),
                    overdue: false,
                };
                self.records.insert(rid, obligation);
            }
            let c = self.claims.get_mut(&id).expect("known");
            c.state = if verdict == "approved" { "approved" } else { "rejected" };
            c.verdict = Some(verdict);
            c.covered = Some(covered);
        }
        Ok(())
    }
}

//! Pools (SPEC §3.3): a virtual register of mutual intentions. Nothing is collected in advance;
//! a claim that the pool's members approve by vote becomes obligations to the claimant, shared in
//! proportion to the pledges. This module holds the pure parts: the rules and their validation,
//! the claim arithmetic, the counting of votes (V3), and (in [`decide`]) the pool commands and the
//! closing of a vote window.

mod decide;
// The pool commands' grammars and parsers (`parse`), the text of their replies (`render`) and
// their `org.exodus.result` fields (`result`).
pub(crate) mod parse;
pub(crate) mod render;
pub mod result;

pub use decide::{
    Claim, ClaimState, ClaimView, Closing, PoolFacts, PoolRoom, PoolView, PoolWorld, PoolWrite,
    close_claim, decide_pool,
};

use crate::Code;
use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::{Amount, MemberId};

/// A claim's number (`#C`; claims have a sequence of their own).
pub type ClaimId = i64;

/// Whether pledges carry into the next cycle at rollover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Renew {
    /// Pledges carry over.
    Auto,
    /// Pledges lapse; members pledge again each cycle.
    Manual,
}

/// A pool's rules, with the defaults of SPEC §3.3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The covered events a claim must name (lower case, at least one).
    pub events: Vec<String>,
    pub min_pledge: Amount,
    pub max_pledge: Option<Amount>,
    pub max_claim: Option<Amount>,
    /// The fraction of pledged members (the claimant excluded) who must vote.
    pub quorum: Decimal,
    /// The fraction of yes among the votes that a claim must exceed (strictly).
    pub approval: Decimal,
    pub vote_hours: u32,
    pub pay_days: u32,
    pub renew: Renew,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            events: vec!["accident".into(), "illness".into(), "fire".into()],
            min_pledge: Amount::ZERO,
            max_pledge: None,
            max_claim: None,
            quorum: Decimal::new(5, 1),
            approval: Decimal::new(5, 1),
            vote_hours: 24,
            pay_days: 7,
            renew: Renew::Auto,
        }
    }
}

/// The rule keys, in the order `pool rules` shows them.
pub const RULE_KEYS: [&str; 9] = [
    "events",
    "min_pledge",
    "max_pledge",
    "max_claim",
    "quorum",
    "approval",
    "vote_hours",
    "pay_days",
    "renew",
];

/// The longest vote window and payment delay a rule may set.
pub const MAX_VOTE_HOURS: u32 = 24 * 30;
pub const MAX_PAY_DAYS: u32 = 90;
/// Covered events per pool, and the longest name of one.
pub const MAX_EVENTS: usize = 20;
pub const MAX_EVENT_LEN: usize = 32;

/// Why a rule change was refused; the rules are unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("unknown rule {0:?}")]
    UnknownKey(String),
    #[error("rule {key}: {problem}")]
    BadValue { key: &'static str, problem: String },
}

fn bad(key: &'static str, problem: impl Into<String>) -> RuleError {
    RuleError::BadValue { key, problem: problem.into() }
}

/// An amount, or `none` for no limit.
fn limit(key: &'static str, value: &str) -> Result<Option<Amount>, RuleError> {
    if value.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    Amount::parse(value).map(Some).map_err(|e| bad(key, e.to_string()))
}

fn fraction(key: &'static str, value: &str, max_inclusive: bool) -> Result<Decimal, RuleError> {
    let d: Decimal = value.parse().map_err(|_| bad(key, "a fraction between 0 and 1 (0.5)"))?;
    let one = Decimal::ONE;
    if d.is_sign_negative() || d > one || (!max_inclusive && d == one) || d.scale() > 4 {
        let range = if max_inclusive { "from 0 to 1" } else { "from 0 to below 1" };
        return Err(bad(key, format!("a fraction {range}, at most 4 decimals")));
    }
    Ok(d.normalize())
}

fn whole(key: &'static str, value: &str, max: u32) -> Result<u32, RuleError> {
    match value.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(bad(key, format!("a whole number from 1 to {max}"))),
    }
}

fn events(value: &str) -> Result<Vec<String>, RuleError> {
    let mut out: Vec<String> = Vec::new();
    for name in value.split(',').map(|e| e.trim().to_lowercase()) {
        let valid = !name.is_empty()
            && name.chars().count() <= MAX_EVENT_LEN
            && name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(bad(
                "events",
                format!(
                    "comma-separated names of letters, digits, - and _, each up to {MAX_EVENT_LEN}"
                ),
            ));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    if out.len() > MAX_EVENTS {
        return Err(bad("events", format!("at most {MAX_EVENTS} events")));
    }
    Ok(out)
}

impl Rules {
    /// The rules with `key` set to `value`, or why not (the limits must stay consistent).
    pub fn with(&self, key: &str, value: &str) -> Result<Rules, RuleError> {
        let mut next = self.clone();
        match key {
            "events" => next.events = events(value)?,
            "min_pledge" => {
                next.min_pledge =
                    Amount::parse(value).map_err(|e| bad("min_pledge", e.to_string()))?
            }
            "max_pledge" => next.max_pledge = limit("max_pledge", value)?,
            "max_claim" => next.max_claim = limit("max_claim", value)?,
            "quorum" => next.quorum = fraction("quorum", value, true)?,
            "approval" => next.approval = fraction("approval", value, false)?,
            "vote_hours" => next.vote_hours = whole("vote_hours", value, MAX_VOTE_HOURS)?,
            "pay_days" => next.pay_days = whole("pay_days", value, MAX_PAY_DAYS)?,
            "renew" => {
                next.renew = match value.to_lowercase().as_str() {
                    "auto" => Renew::Auto,
                    "manual" => Renew::Manual,
                    _ => return Err(bad("renew", "auto or manual")),
                }
            }
            other => return Err(RuleError::UnknownKey(other.to_owned())),
        }
        if let Some(max) = next.max_pledge
            && next.min_pledge > max
        {
            return Err(bad(
                if key == "min_pledge" { "min_pledge" } else { "max_pledge" },
                format!("min_pledge {} is above max_pledge {max}", next.min_pledge),
            ));
        }
        Ok(next)
    }

    /// Each rule as `pool rules` shows it and `pool rule` takes it back.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let limit = |a: Option<Amount>| a.map_or_else(|| "none".to_owned(), |a| a.to_string());
        vec![
            ("events", self.events.join(",")),
            ("min_pledge", self.min_pledge.to_string()),
            ("max_pledge", limit(self.max_pledge)),
            ("max_claim", limit(self.max_claim)),
            ("quorum", self.quorum.to_string()),
            ("approval", self.approval.to_string()),
            ("vote_hours", self.vote_hours.to_string()),
            ("pay_days", self.pay_days.to_string()),
            ("renew", self.renew.code().to_owned()),
        ]
    }

    /// Whether `pledge` is allowed (0 is leaving and always is).
    pub fn pledge_allowed(&self, pledge: Amount) -> Result<(), PledgeError> {
        if pledge.is_zero() {
            return Ok(());
        }
        if pledge < self.min_pledge {
            return Err(PledgeError::BelowMinimum(self.min_pledge));
        }
        match self.max_pledge {
            Some(max) if pledge > max => Err(PledgeError::AboveMaximum(max)),
            _ => Ok(()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PledgeError {
    #[error("the pool's minimum pledge is {0}")]
    BelowMinimum(Amount),
    #[error("the pool's maximum pledge is {0}")]
    AboveMaximum(Amount),
}

/// What an approved claim costs whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shares {
    /// T: the pledges still available of the members other than the claimant.
    pub pool: Amount,
    /// A = min(claim, max_claim, T).
    pub covered: Amount,
    /// Each member's contribution, by member ID; members whose share rounds to nothing are left
    /// out. Sums exactly to `covered`; none above the member's available pledge.
    pub contributions: Vec<(MemberId, Amount)>,
}

/// SPEC §3.3's claim arithmetic. `available` holds each member's pledge still available this
/// cycle (the pledge minus what they already paid into claims); the claimant's own entry and
/// zero pledges are left out here. Each contribution is A × pledge / T rounded to the cent by
/// largest remainder (ties by member ID), in exact integer arithmetic.
pub fn shares(
    claim: Amount,
    max_claim: Option<Amount>,
    claimant: &MemberId,
    available: &BTreeMap<MemberId, Amount>,
) -> Shares {
    let pledges: Vec<(&MemberId, i128)> = available
        .iter()
        .filter(|(m, a)| *m != claimant && !a.is_zero())
        .map(|(m, a)| (m, i128::from(a.cents())))
        .collect();
    let total: i128 = pledges.iter().map(|(_, p)| p).sum();
    let mut covered = i128::from(claim.cents()).min(total);
    if let Some(max) = max_claim {
        covered = covered.min(i128::from(max.cents()));
    }
    let cents = |c: i128| Amount::from_stored_cents(i64::try_from(c).unwrap_or(i64::MAX));
    if covered <= 0 {
        return Shares { pool: cents(total), covered: Amount::ZERO, contributions: Vec::new() };
    }
    // floor(A·p/T) each, then the cents left over, one each, to the largest remainders.
    let mut parts: Vec<(&MemberId, i128, i128)> =
        pledges.iter().map(|&(m, p)| (m, covered * p / total, covered * p % total)).collect();
    let floors: i128 = parts.iter().map(|(_, f, _)| f).sum();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| parts[b].2.cmp(&parts[a].2).then_with(|| parts[a].0.cmp(parts[b].0)));
    let left = usize::try_from(covered - floors).unwrap_or(0);
    for &i in order.iter().take(left) {
        parts[i].1 += 1;
    }
    let contributions = parts
        .into_iter()
        .filter(|(_, c, _)| *c > 0)
        .map(|(m, c, _)| (m.clone(), cents(c)))
        .collect();
    Shares { pool: cents(total), covered: cents(covered), contributions }
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, strum::IntoStaticStr, strum::EnumString,
)]
#[strum(serialize_all = "snake_case")]
pub enum Vote {
    Yes,
    No,
}

/// One act of voting as the bot saw it, in the order the homeserver delivered them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ballot {
    pub voter: MemberId,
    /// `None`: a redaction of the event `retracts`, which takes back the vote that event cast
    /// if it is still the voter's latest (a vote replaced by a later one is gone already).
    pub vote: Option<Vote>,
    /// The event that cast the vote (a reaction or a `vote` command), or the redaction.
    pub source: String,
    /// For a redaction: the event it removes.
    pub retracts: Option<String>,
    pub at: DateTime<Utc>,
}

/// Why a ballot does not count (V3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ignored {
    /// Not joined to the pool room, or joined without a pledge.
    NotEligible,
    /// The claimant on their own claim.
    Claimant,
    /// Cast after the vote window closed.
    Late,
}

/// The count of a claim's votes at some moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Each counted voter's latest vote.
    pub votes: BTreeMap<MemberId, Vote>,
    /// Members who may vote: joined, pledged, not the claimant.
    pub eligible: usize,
}

impl Tally {
    /// Counts `ballots` in order: one vote per member, the latest counts, a retraction removes
    /// it; ballots from anyone not in `eligible`, from the claimant, or after `closes` are
    /// ignored (V3). Returns the tally and what was ignored, ballot by ballot.
    pub fn count<'a>(
        claimant: &MemberId,
        eligible: &std::collections::BTreeSet<MemberId>,
        closes: DateTime<Utc>,
        ballots: impl IntoIterator<Item = &'a Ballot>,
    ) -> (Tally, Vec<(&'a Ballot, Ignored)>) {
        let mut votes: BTreeMap<MemberId, (Vote, &str)> = BTreeMap::new();
        let mut ignored = Vec::new();
        for ballot in ballots {
            let why = if &ballot.voter == claimant {
                Some(Ignored::Claimant)
            } else if !eligible.contains(&ballot.voter) {
                Some(Ignored::NotEligible)
            } else if ballot.at > closes {
                Some(Ignored::Late)
            } else {
                None
            };
            if let Some(why) = why {
                ignored.push((ballot, why));
                continue;
            }
            match (ballot.vote, ballot.retracts.as_deref()) {
                (Some(vote), _) => {
                    votes.insert(ballot.voter.clone(), (vote, ballot.source.as_str()));
                }
                (None, Some(removed)) => {
                    if votes.get(&ballot.voter).is_some_and(|(_, source)| *source == removed) {
                        votes.remove(&ballot.voter);
                    }
                }
                (None, None) => {}
            }
        }
        let eligible = eligible.iter().filter(|m| *m != claimant).count();
        let votes = votes.into_iter().map(|(m, (v, _))| (m, v)).collect();
        (Tally { votes, eligible }, ignored)
    }

    pub fn yes(&self) -> usize {
        self.votes.values().filter(|v| **v == Vote::Yes).count()
    }

    pub fn no(&self) -> usize {
        self.votes.values().filter(|v| **v == Vote::No).count()
    }

    /// Enough of the eligible members voted: votes ≥ quorum × eligible.
    pub fn quorum_met(&self, quorum: Decimal) -> bool {
        Decimal::from(self.votes.len()) >= quorum * Decimal::from(self.eligible)
    }

    /// The decision when the window closes: approved when the quorum voted and strictly more
    /// than `approval` of the votes are yes.
    pub fn decide(&self, rules: &Rules) -> Verdict {
        if !self.quorum_met(rules.quorum) {
            return Verdict::NoQuorum;
        }
        if !self.votes.is_empty()
            && Decimal::from(self.yes()) > rules.approval * Decimal::from(self.votes.len())
        {
            Verdict::Approved
        } else {
            Verdict::Rejected
        }
    }
}

/// How a closed vote ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Verdict {
    Approved,
    Rejected,
    /// Too few voted: the claim expires and creates nothing.
    NoQuorum,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeSet;

    use chrono::TimeZone as _;
    use proptest::prelude::*;

    use super::*;

    fn m(name: &str) -> MemberId {
        MemberId::parse(&format!("@{name}:example.org")).unwrap()
    }

    fn eur(cents: i64) -> Amount {
        Amount::from_cents(cents).unwrap()
    }

    fn pledges(list: &[(&str, i64)]) -> BTreeMap<MemberId, Amount> {
        list.iter().map(|(n, c)| (m(n), eur(*c))).collect()
    }

    #[test]
    fn shares_follow_the_pledges_and_sum_to_the_covered_amount() {
        // T = 100 + 200 + 300 (the claimant's own 1,000 does not count); A = 300.
        let available =
            pledges(&[("a", 10_000), ("b", 20_000), ("c", 30_000), ("claimant", 100_000)]);
        let s = shares(eur(30_000), None, &m("claimant"), &available);
        assert_eq!(s.pool, eur(60_000));
        assert_eq!(s.covered, eur(30_000));
        assert_eq!(
            s.contributions,
            vec![(m("a"), eur(5_000)), (m("b"), eur(10_000)), (m("c"), eur(15_000))]
        );
    }

    #[test]
    fn leftover_cents_go_to_the_largest_remainders_ties_by_member_id() {
        // 1.00 over three equal pledges: 0.33 each and one cent left, to the first by ID.
        let s =
            shares(eur(100), None, &m("z"), &pledges(&[("b", 1_000), ("a", 1_000), ("c", 1_000)]));
        assert_eq!(s.contributions, vec![(m("a"), eur(34)), (m("b"), eur(33)), (m("c"), eur(33))]);
        // Remainders decide before IDs: 0.10 over 1, 2 and 4: 1.43, 2.86, 5.71 → 1, 3, 6.
        let s = shares(eur(10), None, &m("z"), &pledges(&[("a", 100), ("b", 200), ("c", 400)]));
        assert_eq!(s.contributions, vec![(m("a"), eur(1)), (m("b"), eur(3)), (m("c"), eur(6))]);
    }

    #[test]
    fn a_claim_above_the_pool_or_max_claim_is_covered_up_to_it() {
        let available = pledges(&[("a", 5_000), ("b", 5_000)]);
        let s = shares(eur(1_000_000), None, &m("c"), &available);
        assert_eq!((s.covered, s.contributions.len()), (eur(10_000), 2));
        assert!(
            s.contributions.iter().all(|(_, c)| *c == eur(5_000)),
            "everyone pays their whole pledge: {s:?}"
        );
        let s = shares(eur(1_000_000), Some(eur(4_000)), &m("c"), &available);
        assert_eq!(s.covered, eur(4_000));
        assert_eq!(s.contributions, vec![(m("a"), eur(2_000)), (m("b"), eur(2_000))]);
    }

    #[test]
    fn nobody_else_pledged_covers_nothing() {
        let s = shares(eur(5_000), None, &m("a"), &pledges(&[("a", 5_000), ("b", 0)]));
        assert_eq!((s.pool, s.covered, s.contributions), (Amount::ZERO, Amount::ZERO, vec![]));
    }

    #[test]
    fn a_member_leaving_before_approval_is_not_charged_and_the_others_shares_grow() {
        let mut available = pledges(&[("a", 10_000), ("b", 10_000), ("c", 10_000)]);
        let before = shares(eur(15_000), None, &m("claimant"), &available);
        assert_eq!(
            before.contributions.iter().find(|(w, _)| *w == m("a")).map(|(_, c)| *c),
            Some(eur(5_000))
        );
        available.remove(&m("c"));
        let after = shares(eur(15_000), None, &m("claimant"), &available);
        assert_eq!(after.contributions, vec![(m("a"), eur(7_500)), (m("b"), eur(7_500))]);
        // With fewer pledges than the claim, nobody pays above their own.
        available.remove(&m("b"));
        let last = shares(eur(15_000), None, &m("claimant"), &available);
        assert_eq!(last.contributions, vec![(m("a"), eur(10_000))]);
    }

    proptest! {
        #[test]
        fn shares_are_exact_never_above_a_pledge_and_deterministic(
            claim in 0i64..=10_000_000_000,
            max_claim in proptest::option::of(0i64..=10_000_000_000),
            list in proptest::collection::vec((0usize..40, 0i64..=100_000_000_000), 0..40),
        ) {
            let available: BTreeMap<MemberId, Amount> = list.iter().map(|(n, c)| (m(&format!("p{n}")), eur(*c))).collect();
            let claimant = m("p0");
            let s = shares(eur(claim), max_claim.map(eur), &claimant, &available);
            let total: i64 = available.iter().filter(|(w, _)| **w != claimant).map(|(_, a)| a.cents()).sum();
            let want = claim.min(total).min(max_claim.unwrap_or(i64::MAX));
            prop_assert_eq!(s.covered.cents(), want);
            prop_assert_eq!(s.contributions.iter().map(|(_, c)| c.cents()).sum::<i64>(), want);
            for (who, c) in &s.contributions {
                prop_assert!(who != &claimant);
                let pledge = available[who].cents();
                prop_assert!(c.cents() <= pledge, "{} pays {} above its pledge {}", who, c, pledge);
                // Within a cent of the exact proportion.
                let exact = i128::from(want) * i128::from(pledge);
                let diff = i128::from(c.cents()) * i128::from(total) - exact;
                prop_assert!(diff.abs() < i128::from(total), "{} pays {} for {}/{}", who, c, exact, total);
            }
            // The same input in another order gives the same shares.
            let reversed: BTreeMap<MemberId, Amount> = available.iter().rev().map(|(a, b)| (a.clone(), *b)).collect();
            prop_assert_eq!(shares(eur(claim), max_claim.map(eur), &claimant, &reversed), s);
        }
    }

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 10, minute, 0).unwrap()
    }

    /// A vote cast by event `$<who><minute>`.
    fn ballot(who: &str, vote: Vote, minute: u32) -> Ballot {
        Ballot {
            voter: m(who),
            vote: Some(vote),
            source: format!("${who}{minute}"),
            retracts: None,
            at: at(minute),
        }
    }

    /// The redaction at `minute` of the vote `who` cast at `cast`.
    fn redaction(who: &str, cast: u32, minute: u32) -> Ballot {
        Ballot {
            voter: m(who),
            vote: None,
            source: format!("$r-{who}{minute}"),
            retracts: Some(format!("${who}{cast}")),
            at: at(minute),
        }
    }

    #[test]
    fn votes_count_once_per_member_latest_counts_retraction_removes() {
        let eligible: BTreeSet<MemberId> = ["a", "b", "c", "d", "e"].iter().map(|n| m(n)).collect();
        let ballots = vec![
            ballot("a", Vote::No, 1),
            ballot("a", Vote::Yes, 2),
            // Redacting the replaced 👎 leaves the 👍 that replaced it.
            redaction("a", 1, 3),
            ballot("b", Vote::Yes, 3),
            redaction("b", 3, 4),
            ballot("c", Vote::No, 5),
            ballot("claimant", Vote::Yes, 6),
            ballot("stranger", Vote::Yes, 7),
            ballot("e", Vote::Yes, 8),
            ballot("d", Vote::Yes, 31),
            // After the window: neither the vote nor its redaction counts.
            redaction("e", 8, 32),
        ];
        let (tally, ignored) = Tally::count(&m("claimant"), &eligible, at(30), &ballots);
        assert_eq!(
            tally.votes,
            BTreeMap::from([(m("a"), Vote::Yes), (m("c"), Vote::No), (m("e"), Vote::Yes)])
        );
        assert_eq!((tally.yes(), tally.no(), tally.eligible), (2, 1, 5));
        let why: Vec<(&str, Ignored)> =
            ignored.iter().map(|(b, w)| (b.voter.as_str(), *w)).collect();
        assert_eq!(
            why,
            vec![
                ("@claimant:example.org", Ignored::Claimant),
                ("@stranger:example.org", Ignored::NotEligible),
                ("@d:example.org", Ignored::Late),
                ("@e:example.org", Ignored::Late)
            ]
        );
    }

    #[test]
    fn quorum_and_strict_approval_decide() {
        let rules = Rules::default();
        let tally = |yes: usize, no: usize, eligible: usize| {
            let mut votes = BTreeMap::new();
            for i in 0..yes {
                votes.insert(m(&format!("y{i}")), Vote::Yes);
            }
            for i in 0..no {
                votes.insert(m(&format!("n{i}")), Vote::No);
            }
            Tally { votes, eligible }
        };
        assert_eq!(
            tally(2, 0, 4).decide(&rules),
            Verdict::Approved,
            "half the members voted, all yes"
        );
        assert_eq!(tally(1, 0, 4).decide(&rules), Verdict::NoQuorum, "a quarter voted");
        assert_eq!(
            tally(2, 2, 4).decide(&rules),
            Verdict::Rejected,
            "a tie is not strictly more than half"
        );
        assert_eq!(tally(3, 2, 6).decide(&rules), Verdict::Approved);
        assert_eq!(
            tally(0, 0, 0).decide(&rules),
            Verdict::Rejected,
            "nobody to vote: nothing is approved"
        );
        let unanimous = rules.with("approval", "0.99").unwrap();
        assert_eq!(tally(9, 1, 10).decide(&unanimous), Verdict::Rejected);
        assert_eq!(tally(10, 0, 10).decide(&unanimous), Verdict::Approved);
    }

    #[test]
    fn rules_change_one_at_a_time_and_bad_values_change_nothing() {
        let rules = Rules::default();
        assert_eq!(rules.entries().iter().map(|(k, _)| *k).collect::<Vec<_>>(), RULE_KEYS.to_vec());
        let changed = rules.with("events", "Flood, fire,flood").unwrap();
        assert_eq!(changed.events, vec!["flood".to_owned(), "fire".to_owned()]);
        let changed =
            changed.with("max_pledge", "50").unwrap().with("min_pledge", "10.50").unwrap();
        assert_eq!((changed.min_pledge, changed.max_pledge), (eur(1_050), Some(eur(5_000))));
        assert!(matches!(
            changed.with("min_pledge", "60"),
            Err(RuleError::BadValue { key: "min_pledge", .. })
        ));
        assert!(matches!(
            changed.with("max_pledge", "5"),
            Err(RuleError::BadValue { key: "max_pledge", .. })
        ));
        assert_eq!(changed.with("max_pledge", "none").unwrap().max_pledge, None);
        for (key, value) in [
            ("quorum", "1.5"),
            ("quorum", "-0.1"),
            ("approval", "1"),
            ("quorum", "half"),
            ("vote_hours", "0"),
            ("vote_hours", "721"),
            ("pay_days", "91"),
            ("pay_days", "7.5"),
            ("renew", "sometimes"),
            ("events", ""),
            ("events", "fire,,flood"),
            ("events", "fire; drop table"),
            ("max_claim", "-5"),
            ("max_claim", "1.234"),
        ] {
            assert!(
                matches!(rules.with(key, value), Err(RuleError::BadValue { .. })),
                "{key} {value}"
            );
        }
        assert_eq!(rules.with("colour", "red"), Err(RuleError::UnknownKey("colour".into())));
        assert_eq!(rules.with("quorum", "1").unwrap().quorum, Decimal::ONE);
        assert_eq!(rules.with("renew", "MANUAL").unwrap().renew, Renew::Manual);
    }

    #[test]
    fn pledges_respect_the_limits_and_zero_always_leaves() {
        let rules =
            Rules::default().with("min_pledge", "10").unwrap().with("max_pledge", "100").unwrap();
        assert_eq!(rules.pledge_allowed(eur(500)), Err(PledgeError::BelowMinimum(eur(1_000))));
        assert_eq!(rules.pledge_allowed(eur(10_001)), Err(PledgeError::AboveMaximum(eur(10_000))));
        assert_eq!(rules.pledge_allowed(eur(1_000)), Ok(()));
        assert_eq!(rules.pledge_allowed(Amount::ZERO), Ok(()));
    }
}

//! Deciding the pool commands (SPEC §3.3, V2, V3) and closing a claim's vote window. Pure: the
//! adapter establishes membership and power, storage supplies the pool, its pledges and claims.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use super::{Ballot, ClaimId, PledgeError, Rules, Tally, Verdict, Vote, shares};
use crate::command::{Command, PoolCommand};
use crate::error::{CommandError, ErrorCode};
use crate::ledger::{Kind, Record, State};
use crate::outcome::{
    ClaimNotice, Effect, Notice, Outcome, PledgeEnded, RecordNotice, Reply, Target,
};
use crate::text::Text;
use crate::{Amount, MemberId};

/// Power level needed to bind a room as a pool and to change its rules (SPEC §3.3).
pub const POOL_POWER: i64 = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum ClaimState {
    Voting,
    Approved,
    Rejected,
}

/// A claim (`#C`): a pledged member's announcement that a covered event happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub id: ClaimId,
    pub room_id: String,
    pub claimant: MemberId,
    pub event: String,
    pub amount: Amount,
    pub description: String,
    pub state: ClaimState,
    /// How the vote ended (`None` while voting).
    pub verdict: Option<Verdict>,
    /// What the pool covered (approved claims).
    pub covered: Option<Amount>,
    pub opened: DateTime<Utc>,
    /// The end of the vote window: ballots cast after it do not count.
    pub closes: DateTime<Utc>,
    pub decided: Option<DateTime<Utc>>,
}

/// A claim as the pool's members see it: its tally, and what each member pays (the shares it
/// would get if approved now, or those it got).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimView {
    pub claim: Claim,
    pub yes: usize,
    pub no: usize,
    /// Members who may vote on it: pledged, joined, not the claimant.
    pub eligible: usize,
    /// A = min(claim, max_claim, T).
    pub covered: Amount,
    pub shares: Vec<(MemberId, Amount)>,
}

/// A pool as the transaction read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolFacts {
    pub room_id: String,
    pub name: String,
    pub rules: Rules,
    /// The current pledges (a pledge that lapsed at a rollover is gone). A member who leaves the
    /// room or the pool, or is excluded, has none.
    pub pledges: BTreeMap<MemberId, Amount>,
    /// What approved claims charged each member this cycle (their obligations of this pool made
    /// this cycle, unless cancelled or forgiven): deducted from what they still cover.
    pub charged: BTreeMap<MemberId, Amount>,
    /// Members with an overdue obligation of this pool: excluded, and refused a new pledge until
    /// it is settled.
    pub overdue: BTreeSet<MemberId>,
    /// The claims being voted on, each with its ballots in the order they came.
    pub voting: Vec<(Claim, Vec<Ballot>)>,
}

/// What `pool` shows (SPEC §3: `total`, `available`, `paid`, `reserve`, `members`, `claims`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolView {
    pub room_id: String,
    pub name: String,
    /// The sum of the pledges.
    pub total: Amount,
    /// What the pledges still cover this cycle: each pledge minus what it was charged.
    pub available: Amount,
    /// What approved claims charged this cycle.
    pub paid: Amount,
    /// What stays available if every claim being voted on is approved in full.
    pub reserve: Amount,
    pub members: Vec<(MemberId, Amount)>,
    pub claims: Vec<ClaimView>,
}

impl PoolFacts {
    /// Each pledge still available this cycle (its pledge minus what claims charged it).
    pub fn available(&self) -> BTreeMap<MemberId, Amount> {
        self.pledges
            .iter()
            .map(|(m, p)| {
                (m.clone(), p.saturating_sub(self.charged.get(m).copied().unwrap_or(Amount::ZERO)))
            })
            .collect()
    }

    /// The claim's tally now: the pledged members are the ones who may vote.
    pub fn tally(&self, claim: &Claim, ballots: &[Ballot]) -> Tally {
        let eligible: BTreeSet<MemberId> = self.pledges.keys().cloned().collect();
        Tally::count(&claim.claimant, &eligible, claim.closes, ballots).0
    }

    /// The claim with its tally and the shares it would get if approved now.
    pub fn claim_view(&self, claim: &Claim, ballots: &[Ballot]) -> ClaimView {
        let tally = self.tally(claim, ballots);
        let s = shares(claim.amount, self.rules.max_claim, &claim.claimant, &self.available());
        ClaimView {
            claim: claim.clone(),
            yes: tally.yes(),
            no: tally.no(),
            eligible: tally.eligible,
            covered: s.covered,
            shares: s.contributions,
        }
    }

    pub fn view(&self) -> PoolView {
        let sum = |amounts: &mut dyn Iterator<Item = Amount>| {
            amounts.fold(Amount::ZERO, Amount::saturating_add)
        };
        let total = sum(&mut self.pledges.values().copied());
        let available = sum(&mut self.available().into_values());
        let paid = sum(&mut self.charged.values().copied());
        let claims: Vec<ClaimView> =
            self.voting.iter().map(|(c, b)| self.claim_view(c, b)).collect();
        let asked = sum(&mut claims
            .iter()
            .map(|c| self.rules.max_claim.map_or(c.claim.amount, |max| max.min(c.claim.amount))));
        PoolView {
            room_id: self.room_id.clone(),
            name: self.name.clone(),
            total,
            available,
            paid,
            reserve: available.saturating_sub(asked),
            members: self.pledges.iter().map(|(m, p)| (m.clone(), *p)).collect(),
            claims,
        }
    }

    fn voting_claim(&self, id: ClaimId) -> Option<&(Claim, Vec<Ballot>)> {
        self.voting.iter().find(|(c, _)| c.id == id)
    }
}

/// The room a pool command was sent in, as the adapter found it.
#[derive(Clone, Debug)]
pub struct PoolRoom {
    pub room_id: String,
    pub in_dm: bool,
    pub sender_power: i64,
    pub world_readable: bool,
    /// The room is bound as a circle.
    pub is_circle: bool,
    /// Initiatives live in the room (read for `pool create` only): their backings are its
    /// records, so it cannot hold a pool's too.
    pub has_initiatives: bool,
}

/// Everything a pool command is decided on.
#[derive(Clone, Debug)]
pub struct PoolWorld<'a> {
    pub sender: &'a MemberId,
    pub now: DateTime<Utc>,
    /// When the command's event was sent (a ballot after the window does not count).
    pub sent_at: DateTime<Utc>,
    /// The command's event: the source of a ballot.
    pub event_id: &'a str,
    pub room: &'a PoolRoom,
    /// The pool concerned: the room's, or for `vote` the claim's.
    pub pool: Option<&'a PoolFacts>,
    /// The sender is joined to that pool's room now, as the homeserver reports it (V2).
    pub joined: bool,
    /// The claim `vote #C` names, when it exists.
    pub claim: Option<&'a Claim>,
    /// The number the next claim gets.
    pub next_claim_id: ClaimId,
}

/// A change to persist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolWrite {
    /// Bind the room as a pool with these rules.
    Create {
        room_id: String,
        name: String,
        created_by: MemberId,
        rules: Rules,
    },
    SetRules {
        room_id: String,
        rules: Rules,
    },
    /// Set a member's pledge (`None`: remove it).
    SetPledge {
        room_id: String,
        member: MemberId,
        amount: Option<Amount>,
    },
    OpenClaim(Claim),
    Ballot {
        claim: ClaimId,
        ballot: Ballot,
    },
}

fn err(code: ErrorCode, id: &'static str) -> CommandError {
    CommandError::new(code, Text::new(id))
}

fn decision(writes: Vec<PoolWrite>, reply: Reply) -> Outcome {
    Outcome::new(writes.into_iter().map(Effect::Pool).collect(), reply)
}

/// Decides a pool command.
pub fn decide_pool(cmd: &Command, w: &PoolWorld<'_>) -> Result<Outcome, CommandError> {
    let decided = match cmd {
        Command::Pool(PoolCommand::Create { name }) => create(name, w),
        Command::Pool(PoolCommand::Show) => {
            room_pool(w).map(|pool| decision(Vec::new(), Reply::Pool(pool.view())))
        }
        Command::Pool(PoolCommand::Rules) => room_pool(w).map(|pool| {
            decision(
                Vec::new(),
                Reply::PoolRules { name: pool.name.clone(), rules: pool.rules.entries() },
            )
        }),
        Command::Pool(PoolCommand::Rule { key, value }) => rule(key, value, w),
        Command::Pool(PoolCommand::Leave) => leave(w),
        Command::Pledge { amount } if amount.is_zero() => leave(w),
        Command::Pledge { amount } => pledge(*amount, w),
        Command::Claim { event, amount, description } => claim(event, *amount, description, w),
        Command::Vote { id, vote } => cast(*id, *vote, w),
        _ => Err(err(ErrorCode::Internal, "err-not-a-pool-command")),
    };
    decided.map_err(|e| e.with_usage(cmd.name()))
}

/// The pool bound to the room the command was sent in, with the V2 guard.
fn room_pool<'a>(w: &'a PoolWorld<'_>) -> Result<&'a PoolFacts, CommandError> {
    let Some(pool) = w.pool.filter(|p| p.room_id == w.room.room_id) else {
        return Err(err(ErrorCode::InvalidState, "err-not-a-pool-room"));
    };
    if !w.joined {
        return Err(err(ErrorCode::NotAMember, "err-not-a-member"));
    }
    Ok(pool)
}

fn create(name: &str, w: &PoolWorld<'_>) -> Result<Outcome, CommandError> {
    if w.room.in_dm {
        return Err(err(ErrorCode::Forbidden, "err-pool-in-dm"));
    }
    if w.pool.is_some_and(|p| p.room_id == w.room.room_id) {
        return Err(err(ErrorCode::InvalidState, "err-room-is-a-pool"));
    }
    if w.room.is_circle {
        return Err(err(ErrorCode::InvalidState, "err-room-is-a-circle"));
    }
    if w.room.has_initiatives {
        return Err(err(ErrorCode::InvalidState, "err-room-has-initiatives"));
    }
    if w.room.sender_power < POOL_POWER {
        return Err(CommandError::new(
            ErrorCode::Forbidden,
            Text::new("err-pool-power").num("power", POOL_POWER),
        ));
    }
    // V9: pledges and claims never live where anyone can read them without joining.
    if w.room.world_readable {
        return Err(err(ErrorCode::Forbidden, "err-pool-world-readable"));
    }
    let rules = Rules::default();
    let write = PoolWrite::Create {
        room_id: w.room.room_id.clone(),
        name: name.to_owned(),
        created_by: w.sender.clone(),
        rules: rules.clone(),
    };
    Ok(decision(
        vec![write],
        Reply::PoolCreated {
            name: name.to_owned(),
            room_id: w.room.room_id.clone(),
            rules: rules.entries(),
        },
    ))
}

fn rule(key: &str, value: &str, w: &PoolWorld<'_>) -> Result<Outcome, CommandError> {
    let pool = room_pool(w)?;
    if w.room.sender_power < POOL_POWER {
        return Err(CommandError::new(
            ErrorCode::Forbidden,
            Text::new("err-pool-rule-power").num("power", POOL_POWER),
        ));
    }
    // The rules a claim is voted and shared by do not change under it.
    if !pool.voting.is_empty() {
        return Err(CommandError::new(
            ErrorCode::InvalidState,
            Text::new("err-pool-open-claims").num("count", pool.voting.len() as i64),
        ));
    }
    let rules = pool.rules.with(key, value).map_err(|e| match e {
        super::RuleError::UnknownKey(k) => CommandError::bad_arguments(
            Text::new("err-bad-choice").arg("word", k).arg("choices", super::RULE_KEYS.join(", ")),
        ),
        super::RuleError::BadValue { key, problem } => CommandError::bad_arguments(
            Text::new("err-pool-rule").arg("key", key).arg("problem", problem),
        ),
    })?;
    let shown = |rules: &Rules| {
        rules.entries().into_iter().find(|(k, _)| *k == key).map(|(_, v)| v).unwrap_or_default()
    };
    let reply = Reply::PoolRuleChanged {
        name: pool.name.clone(),
        key: key.to_owned(),
        from: shown(&pool.rules),
        to: shown(&rules),
    };
    // Announced in the room by the reply itself, and to each pledged member by DM.
    let notices = pool
        .pledges
        .keys()
        .filter(|m| *m != w.sender)
        .map(|m| Notice { target: Target::Member(m.clone()), reply: reply.clone() })
        .collect();
    Ok(decision(vec![PoolWrite::SetRules { room_id: pool.room_id.clone(), rules }], reply)
        .with_notices(notices))
}

fn pledge(amount: Amount, w: &PoolWorld<'_>) -> Result<Outcome, CommandError> {
    let pool = room_pool(w)?;
    if pool.overdue.contains(w.sender) {
        return Err(err(ErrorCode::Forbidden, "err-pool-overdue"));
    }
    pool.rules.pledge_allowed(amount).map_err(|e| match e {
        PledgeError::BelowMinimum(min) => CommandError::new(
            ErrorCode::LimitExceeded,
            Text::new("err-pledge-below-min").arg("amount", min),
        ),
        PledgeError::AboveMaximum(max) => CommandError::new(
            ErrorCode::LimitExceeded,
            Text::new("err-pledge-above-max").arg("amount", max),
        ),
    })?;
    let previous = pool.pledges.get(w.sender).copied();
    let write = PoolWrite::SetPledge {
        room_id: pool.room_id.clone(),
        member: w.sender.clone(),
        amount: Some(amount),
    };
    Ok(decision(
        vec![write],
        Reply::Pledged { name: pool.name.clone(), member: w.sender.clone(), amount, previous },
    ))
}

fn leave(w: &PoolWorld<'_>) -> Result<Outcome, CommandError> {
    let pool = room_pool(w)?;
    let Some(pledge) = pool.pledges.get(w.sender).copied() else {
        return Err(err(ErrorCode::InvalidState, "err-pool-no-pledge"));
    };
    let write = PoolWrite::SetPledge {
        room_id: pool.room_id.clone(),
        member: w.sender.clone(),
        amount: None,
    };
    Ok(decision(
        vec![write],
        Reply::PoolLeft {
            name: pool.name.clone(),
            member: w.sender.clone(),
            pledge,
            why: PledgeEnded::Left,
        },
    ))
}

fn claim(
    event: &str,
    amount: Amount,
    description: &str,
    w: &PoolWorld<'_>,
) -> Result<Outcome, CommandError> {
    let pool = room_pool(w)?;
    // V3: only joined members holding a pledge may claim.
    if !pool.pledges.contains_key(w.sender) {
        return Err(err(ErrorCode::Forbidden, "err-pool-not-pledged"));
    }
    let event = event.to_lowercase();
    if !pool.rules.events.contains(&event) {
        return Err(CommandError::bad_arguments(
            Text::new("err-pool-event")
                .arg("event", event)
                .arg("events", pool.rules.events.join(", ")),
        ));
    }
    let claim = Claim {
        id: w.next_claim_id,
        room_id: pool.room_id.clone(),
        claimant: w.sender.clone(),
        event,
        amount,
        description: description.to_owned(),
        state: ClaimState::Voting,
        verdict: None,
        covered: None,
        opened: w.now,
        closes: w.now + Duration::hours(i64::from(pool.rules.vote_hours)),
        decided: None,
    };
    let view = pool.claim_view(&claim, &[]);
    let notices = pool
        .pledges
        .keys()
        .filter(|m| *m != w.sender)
        .map(|m| Notice {
            target: Target::Member(m.clone()),
            reply: Reply::ClaimNoticed { what: ClaimNotice::ClaimOpened, view: view.clone() },
        })
        .collect();
    Ok(decision(vec![PoolWrite::OpenClaim(claim)], Reply::Claim { view, ballot: None })
        .with_notices(notices))
}

fn cast(id: ClaimId, vote: Vote, w: &PoolWorld<'_>) -> Result<Outcome, CommandError> {
    // Unknown, or in a pool the sender cannot see: the same answer (V1).
    let not_found =
        || CommandError::new(ErrorCode::NotFound, Text::new("err-no-claim").num("id", id));
    let (Some(claim), Some(pool)) = (w.claim, w.pool) else { return Err(not_found()) };
    if claim.id != id || claim.room_id != pool.room_id || !w.joined {
        return Err(not_found());
    }
    // V2: from the pool's room or a DM, never from another room.
    if !w.room.in_dm && w.room.room_id != pool.room_id {
        return Err(CommandError::new(
            ErrorCode::Forbidden,
            Text::new("err-claim-wrong-room").num("id", id),
        ));
    }
    let Some((_, ballots)) = pool
        .voting_claim(id)
        .filter(|_| claim.state == ClaimState::Voting && w.sent_at <= claim.closes)
    else {
        return Err(CommandError::new(
            ErrorCode::InvalidState,
            Text::new("err-claim-closed").num("id", id),
        ));
    };
    if &claim.claimant == w.sender {
        return Err(err(ErrorCode::Forbidden, "err-own-claim"));
    }
    if !pool.pledges.contains_key(w.sender) {
        return Err(err(ErrorCode::Forbidden, "err-pool-not-pledged"));
    }
    let ballot = Ballot {
        voter: w.sender.clone(),
        vote: Some(vote),
        source: w.event_id.to_owned(),
        retracts: None,
        at: w.sent_at,
    };
    let mut after = ballots.clone();
    after.push(ballot.clone());
    let view = pool.claim_view(claim, &after);
    Ok(decision(
        vec![PoolWrite::Ballot { claim: id, ballot: ballot.clone() }],
        Reply::Claim { view, ballot: Some(ballot) },
    ))
}

/// A closed vote window: the decided claim, and on approval the obligations it creates (their
/// `id`s are assigned when stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closing {
    pub claim: Claim,
    pub view: ClaimView,
    pub obligations: Vec<Record>,
}

/// Closes `claim`'s vote window at `now` (SPEC §3.3): the quorum and approval decide on the
/// ballots cast in the window by members pledged now; an approved claim's contributions
/// (largest remainder, exact to the cent, never above what a pledge still covers) become
/// obligations to the claimant due in `pay_days`. A member who left before is not charged.
pub fn close_claim(
    claim: &Claim,
    ballots: &[Ballot],
    pool: &PoolFacts,
    now: DateTime<Utc>,
) -> Closing {
    let tally = pool.tally(claim, ballots);
    let verdict = tally.decide(&pool.rules);
    let s = shares(claim.amount, pool.rules.max_claim, &claim.claimant, &pool.available());
    let approved = verdict == Verdict::Approved;
    let decided = Claim {
        state: if approved { ClaimState::Approved } else { ClaimState::Rejected },
        verdict: Some(verdict),
        covered: Some(if approved { s.covered } else { Amount::ZERO }),
        decided: Some(now),
        ..claim.clone()
    };
    let due = now + Duration::days(i64::from(pool.rules.pay_days));
    let obligations = if approved {
        s.contributions
            .iter()
            .map(|(member, amount)| Record {
                id: 0,
                kind: Kind::Obligation,
                giver: member.clone(),
                recipient: claim.claimant.clone(),
                room_id: claim.room_id.clone(),
                amount: *amount,
                what: Some(format!("claim #{}: {}", claim.id, claim.event)),
                state: State::Open,
                overdue: false,
                created_at: now,
                due: Some(due),
                changed_at: now,
            })
            .collect()
    } else {
        Vec::new()
    };
    let view = ClaimView {
        claim: decided.clone(),
        yes: tally.yes(),
        no: tally.no(),
        eligible: tally.eligible,
        covered: if approved { s.covered } else { Amount::ZERO },
        shares: if approved { s.contributions } else { Vec::new() },
    };
    Closing { claim: decided, view, obligations }
}

impl Closing {
    /// Who hears of the decision (SPEC §5): the pool's room, the claimant, and each member
    /// charged, with their own new obligation (stored, so with its number).
    pub fn notices(&self) -> Vec<Notice> {
        let mut notices = vec![
            Notice {
                target: Target::Room(self.claim.room_id.clone()),
                reply: Reply::ClaimNoticed {
                    what: ClaimNotice::ClaimDecided,
                    view: self.view.clone(),
                },
            },
            Notice {
                target: Target::Member(self.claim.claimant.clone()),
                reply: Reply::ClaimNoticed {
                    what: ClaimNotice::ClaimDecided,
                    view: self.view.clone(),
                },
            },
        ];
        for record in &self.obligations {
            notices.push(Notice {
                target: Target::Member(record.giver.clone()),
                reply: Reply::Noticed {
                    what: RecordNotice::PoolObligation,
                    record: record.clone(),
                },
            });
        }
        notices
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone as _;

    use super::*;

    /// The pool writes among an outcome's effects.
    fn writes(d: &Outcome) -> Vec<PoolWrite> {
        d.effects
            .iter()
            .map(|e| match e {
                Effect::Pool(w) => w.clone(),
                other => panic!("not a pool write: {other:?}"),
            })
            .collect()
    }

    fn m(name: &str) -> MemberId {
        MemberId::parse(&format!("@{name}:example.org")).unwrap()
    }

    fn eur(units: i64) -> Amount {
        Amount::from_cents(units * 100).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap()
    }

    const ROOM: &str = "!pool:example.org";

    fn pool(pledges: &[(&str, i64)]) -> PoolFacts {
        PoolFacts {
            room_id: ROOM.into(),
            name: "Neighbours".into(),
            rules: Rules::default(),
            pledges: pledges.iter().map(|(n, a)| (m(n), eur(*a))).collect(),
            charged: BTreeMap::new(),
            overdue: BTreeSet::new(),
            voting: Vec::new(),
        }
    }

    fn room(power: i64) -> PoolRoom {
        PoolRoom {
            room_id: ROOM.into(),
            in_dm: false,
            sender_power: power,
            world_readable: false,
            is_circle: false,
            has_initiatives: false,
        }
    }

    fn world<'a>(
        sender: &'a MemberId,
        room: &'a PoolRoom,
        pool: Option<&'a PoolFacts>,
        claim: Option<&'a Claim>,
    ) -> PoolWorld<'a> {
        PoolWorld {
            sender,
            now: now(),
            sent_at: now(),
            event_id: "$e",
            room,
            pool,
            joined: true,
            claim,
            next_claim_id: 1,
        }
    }

    fn code(r: Result<Outcome, CommandError>) -> ErrorCode {
        r.unwrap_err().code
    }

    fn open_claim(pool: &PoolFacts, claimant: &str, amount: i64) -> Claim {
        let a = m(claimant);
        let r = room(0);
        let cmd = Command::Claim {
            event: "Fire".into(),
            amount: eur(amount),
            description: "kitchen".into(),
        };
        let d = decide_pool(&cmd, &world(&a, &r, Some(pool), None)).unwrap();
        match &writes(&d)[..] {
            [PoolWrite::OpenClaim(c)] => c.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn create_needs_power_a_private_room_and_no_binding() {
        let a = m("a");
        let create = Command::Pool(PoolCommand::Create { name: "Neighbours".into() });
        assert_eq!(
            code(decide_pool(&create, &world(&a, &room(0), None, None))),
            ErrorCode::Forbidden
        );
        let mut readable = room(100);
        readable.world_readable = true;
        assert_eq!(
            code(decide_pool(&create, &world(&a, &readable, None, None))),
            ErrorCode::Forbidden
        );
        let mut circle = room(100);
        circle.is_circle = true;
        assert_eq!(
            code(decide_pool(&create, &world(&a, &circle, None, None))),
            ErrorCode::InvalidState
        );
        // A room whose records are initiatives' backings holds no pool's too.
        let mut initiatives = room(100);
        initiatives.has_initiatives = true;
        assert_eq!(
            code(decide_pool(&create, &world(&a, &initiatives, None, None))),
            ErrorCode::InvalidState
        );
        let p = pool(&[]);
        assert_eq!(
            code(decide_pool(&create, &world(&a, &room(100), Some(&p), None))),
            ErrorCode::InvalidState
        );
        let d = decide_pool(&create, &world(&a, &room(50), None, None)).unwrap();
        assert!(
            matches!(&writes(&d)[..], [PoolWrite::Create { rules, .. }] if *rules == Rules::default())
        );
    }

    #[test]
    fn pledges_follow_the_rules_and_zero_leaves() {
        let a = m("a");
        let mut p = pool(&[("b", 10)]);
        p.rules = p.rules.with("max_pledge", "100").unwrap();
        let r = room(0);
        let d = decide_pool(&Command::Pledge { amount: eur(50) }, &world(&a, &r, Some(&p), None))
            .unwrap();
        assert_eq!(
            writes(&d),
            vec![PoolWrite::SetPledge {
                room_id: ROOM.into(),
                member: a.clone(),
                amount: Some(eur(50))
            }]
        );
        assert_eq!(
            code(decide_pool(
                &Command::Pledge { amount: eur(101) },
                &world(&a, &r, Some(&p), None)
            )),
            ErrorCode::LimitExceeded
        );
        // `pledge 0` without a pledge: nothing to leave.
        assert_eq!(
            code(decide_pool(
                &Command::Pledge { amount: Amount::ZERO },
                &world(&a, &r, Some(&p), None)
            )),
            ErrorCode::InvalidState
        );
        let b = m("b");
        let d =
            decide_pool(&Command::Pledge { amount: Amount::ZERO }, &world(&b, &r, Some(&p), None))
                .unwrap();
        assert_eq!(
            writes(&d),
            vec![PoolWrite::SetPledge { room_id: ROOM.into(), member: b.clone(), amount: None }]
        );
        // An excluded member with an overdue pool obligation may not pledge again.
        p.overdue.insert(a.clone());
        assert_eq!(
            code(decide_pool(&Command::Pledge { amount: eur(50) }, &world(&a, &r, Some(&p), None))),
            ErrorCode::Forbidden
        );
        // Not joined: refused (V2).
        let mut w = world(&b, &r, Some(&p), None);
        w.joined = false;
        assert_eq!(
            code(decide_pool(&Command::Pledge { amount: eur(5) }, &w)),
            ErrorCode::NotAMember
        );
    }

    #[test]
    fn claims_need_a_pledge_and_a_covered_event() {
        let p = pool(&[("a", 10), ("b", 20)]);
        let r = room(0);
        let c = m("c");
        let cmd = Command::Claim { event: "fire".into(), amount: eur(5), description: "x".into() };
        assert_eq!(code(decide_pool(&cmd, &world(&c, &r, Some(&p), None))), ErrorCode::Forbidden);
        let a = m("a");
        let flood =
            Command::Claim { event: "flood".into(), amount: eur(5), description: "x".into() };
        assert_eq!(
            code(decide_pool(&flood, &world(&a, &r, Some(&p), None))),
            ErrorCode::BadArguments
        );
        let claim = open_claim(&p, "a", 30);
        assert_eq!(
            (claim.event.as_str(), claim.closes - claim.opened),
            ("fire", Duration::hours(24))
        );
    }

    #[test]
    fn votes_are_refused_to_the_claimant_the_unpledged_and_after_the_window() {
        let mut p = pool(&[("a", 10), ("b", 20), ("c", 30)]);
        let claim = open_claim(&p, "a", 30);
        p.voting.push((claim.clone(), Vec::new()));
        let r = room(0);
        let vote = Command::Vote { id: claim.id, vote: Vote::Yes };
        let (a, b, d) = (m("a"), m("b"), m("d"));
        assert_eq!(
            code(decide_pool(&vote, &world(&a, &r, Some(&p), Some(&claim)))),
            ErrorCode::Forbidden
        );
        assert_eq!(
            code(decide_pool(&vote, &world(&d, &r, Some(&p), Some(&claim)))),
            ErrorCode::Forbidden
        );
        let mut late = world(&b, &r, Some(&p), Some(&claim));
        late.sent_at = claim.closes + Duration::seconds(1);
        assert_eq!(code(decide_pool(&vote, &late)), ErrorCode::InvalidState);
        let other = Command::Vote { id: claim.id + 1, vote: Vote::Yes };
        assert_eq!(
            code(decide_pool(&other, &world(&b, &r, Some(&p), Some(&claim)))),
            ErrorCode::NotFound
        );
        let ok = decide_pool(&vote, &world(&b, &r, Some(&p), Some(&claim))).unwrap();
        match &ok.reply {
            Reply::Claim { view, .. } => assert_eq!((view.yes, view.no, view.eligible), (1, 0, 2)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_approved_claim_becomes_obligations_of_the_members_pledged_at_closing() {
        let mut p = pool(&[("a", 100), ("b", 100), ("c", 200), ("claimant", 50)]);
        let claim = open_claim(&p, "claimant", 120);
        let ballot = |who: &str, vote| Ballot {
            voter: m(who),
            vote: Some(vote),
            source: format!("${who}"),
            retracts: None,
            at: now(),
        };
        let ballots = vec![ballot("a", Vote::Yes), ballot("b", Vote::Yes), ballot("c", Vote::No)];
        // c leaves before the window closes: not charged, their vote no longer counts.
        p.pledges.remove(&m("c"));
        let closing = close_claim(&claim, &ballots, &p, claim.closes);
        assert_eq!(closing.claim.state, ClaimState::Approved);
        assert_eq!((closing.view.yes, closing.view.no, closing.view.eligible), (2, 0, 2));
        let owed: Vec<(&str, Amount, DateTime<Utc>)> = closing
            .obligations
            .iter()
            .map(|r| (r.giver.as_str(), r.amount, r.due.unwrap()))
            .collect();
        let due = claim.closes + Duration::days(7);
        assert_eq!(owed, vec![("@a:example.org", eur(60), due), ("@b:example.org", eur(60), due)]);
        assert!(closing.obligations.iter().all(|r| r.recipient == m("claimant")
            && r.kind == Kind::Obligation
            && r.room_id == ROOM));
        // What was already charged this cycle is not covered again.
        p.charged.insert(m("a"), eur(90));
        let closing = close_claim(&claim, &ballots, &p, claim.closes);
        assert_eq!(closing.claim.covered, Some(eur(110)), "10 still covered by a, 100 by b");
        assert_eq!(
            closing.obligations.iter().map(|r| r.amount).collect::<Vec<_>>(),
            vec![eur(10), eur(100)]
        );
    }

    #[test]
    fn a_rejected_or_unvoted_claim_creates_nothing() {
        let p = pool(&[("a", 100), ("b", 100), ("c", 100)]);
        let claim = open_claim(&p, "a", 50);
        let no = vec![Ballot {
            voter: m("b"),
            vote: Some(Vote::No),
            source: "$b".into(),
            retracts: None,
            at: now(),
        }];
        let closing = close_claim(&claim, &no, &p, claim.closes);
        assert_eq!(
            (closing.claim.state, closing.claim.verdict, closing.obligations.len()),
            (ClaimState::Rejected, Some(Verdict::Rejected), 0)
        );
        let closing = close_claim(&claim, &[], &p, claim.closes);
        assert_eq!(
            (closing.claim.state, closing.claim.verdict),
            (ClaimState::Rejected, Some(Verdict::NoQuorum))
        );
    }

    #[test]
    fn rules_change_only_with_power_and_no_open_claims() {
        let mut p = pool(&[("a", 10), ("b", 10)]);
        let a = m("a");
        let rule = Command::Pool(PoolCommand::Rule { key: "quorum".into(), value: "0.75".into() });
        assert_eq!(
            code(decide_pool(&rule, &world(&a, &room(0), Some(&p), None))),
            ErrorCode::Forbidden
        );
        let bad = Command::Pool(PoolCommand::Rule { key: "quorum".into(), value: "2".into() });
        assert_eq!(
            code(decide_pool(&bad, &world(&a, &room(50), Some(&p), None))),
            ErrorCode::BadArguments
        );
        let d = decide_pool(&rule, &world(&a, &room(50), Some(&p), None)).unwrap();
        assert_eq!(
            d.reply,
            Reply::PoolRuleChanged {
                name: "Neighbours".into(),
                key: "quorum".into(),
                from: "0.5".into(),
                to: "0.75".into()
            }
        );
        assert_eq!(d.notices.len(), 1, "b hears of it by DM");
        let claim = open_claim(&p, "a", 5);
        p.voting.push((claim, Vec::new()));
        assert_eq!(
            code(decide_pool(&rule, &world(&a, &room(50), Some(&p), None))),
            ErrorCode::InvalidState
        );
    }

    #[test]
    fn the_pool_view_counts_pledges_charges_and_open_claims() {
        let mut p = pool(&[("a", 100), ("b", 100), ("c", 50)]);
        p.charged.insert(m("a"), eur(30));
        let claim = open_claim(&p, "c", 500);
        p.voting.push((claim, Vec::new()));
        let v = p.view();
        assert_eq!((v.total, v.paid, v.available), (eur(250), eur(30), eur(220)));
        assert_eq!(v.reserve, Amount::ZERO, "a claim of 500 would take everything");
        assert_eq!(
            v.claims[0].covered,
            eur(170),
            "the claimant's own pledge does not cover their claim"
        );
    }
}

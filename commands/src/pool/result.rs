//! Pools and claims (SPEC §3.3): `pool`, `pool create`, `pool rules`, `pool rule`, `pledge`,
//! `pool leave`, `claim`, `vote`, and the notifications about them.

// The doc comments below are the documentation of the wire format: none may be missing.
#![warn(missing_docs)]

use std::collections::BTreeMap;

use serde::Serialize;

use crate::render::result::constant;

use crate::Code;
use crate::pool::{ClaimId, ClaimState, Verdict};
use crate::render::result::{Coded, Instant, Omitted};
use crate::{Amount, MemberId};

constant!(
    /// `kind` of a pool's replies.
    PoolKind = "pool"
);
constant!(
    /// `kind` of a claim's replies.
    ClaimKind = "claim"
);

/// `pool`: the figures, each member's pledge, the claims being voted on. Members and claims share
/// the message: either list may be cut, said in `more`.
#[derive(Debug, Serialize)]
pub struct Pool<'a> {
    /// `pool` (SPEC §3 `kind`).
    pub kind: PoolKind,
    /// The pool's name.
    pub name: &'a str,
    /// The sum of the pledges.
    pub total: Amount,
    /// What the pledges still cover this cycle: each pledge minus what it was charged.
    pub available: Amount,
    /// What approved claims charged this cycle.
    pub paid: Amount,
    /// What stays available if every claim being voted on is approved in full.
    pub reserve: Amount,
    /// The pledges shown, by member.
    pub members: Vec<PoolMember<'a>>,
    /// The claims shown.
    pub claims: Vec<PoolClaim<'a>>,
    /// What was cut; left out when nothing was.
    #[serde(skip_serializing_if = "PoolMore::is_empty")]
    pub more: PoolMore,
}

/// A member's pledge in [`Pool`].
#[derive(Debug, Serialize)]
pub struct PoolMember<'a> {
    /// The member.
    pub member: &'a MemberId,
    /// Their maximum contribution this cycle.
    pub pledge: Amount,
}

/// A claim in [`Pool`] (its shares only in the claim's own replies).
#[derive(Debug, Serialize)]
pub struct PoolClaim<'a> {
    /// `#C`.
    pub id: ClaimId,
    /// Who claims.
    pub claimant: &'a MemberId,
    /// What is claimed.
    pub amount: Amount,
    /// `voting`, `approved` or `rejected`.
    pub state: Coded<ClaimState>,
    /// Votes for it.
    pub yes: usize,
    /// Votes against it.
    pub no: usize,
}

impl<'a> From<&'a crate::pool::ClaimView> for PoolClaim<'a> {
    fn from(c: &'a crate::pool::ClaimView) -> PoolClaim<'a> {
        PoolClaim {
            id: c.claim.id,
            claimant: &c.claim.claimant,
            amount: c.claim.amount,
            state: Coded(c.claim.state),
            yes: c.yes,
            no: c.no,
        }
    }
}

/// `more` of [`Pool`]: the lists cut (`amount`: the pledges, the claimed amounts); the lists not
/// cut are left out.
#[derive(Debug, Default, Serialize)]
pub struct PoolMore {
    /// The pledges cut (`amount`: their sum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Omitted>,
    /// The claims cut (`amount`: the sum claimed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Omitted>,
}

impl PoolMore {
    /// Nothing was cut.
    pub fn is_empty(&self) -> bool {
        self.members.is_none() && self.claims.is_none()
    }
}

/// `pool create <name>`: the room is bound as a pool.
#[derive(Debug, Serialize)]
pub struct PoolCreated<'a> {
    /// `pool` (SPEC §3 `kind`).
    pub kind: PoolKind,
    /// The pool's name.
    pub name: &'a str,
    /// The pool's room.
    pub room_id: &'a str,
    /// Its rules, as [`PoolRules`] has them.
    pub rules: BTreeMap<&'static str, &'a str>,
}

/// `pool rules`.
#[derive(Debug, Serialize)]
pub struct PoolRules<'a> {
    /// `pool` (SPEC §3 `kind`).
    pub kind: PoolKind,
    /// The pool's name.
    pub name: &'a str,
    /// Each rule's value as a member writes it, by key (`events`, `min_pledge`, `max_pledge`,
    /// `max_claim`, `quorum`, `approval`, `vote_hours`, `pay_days`, `renew`).
    pub rules: BTreeMap<&'static str, &'a str>,
}

/// `pool rule <key> <value>`: announced in the room and to the pledged members.
#[derive(Debug, Serialize)]
pub struct PoolRuleChanged<'a> {
    /// `pool` (SPEC §3 `kind`).
    pub kind: PoolKind,
    /// The pool's name.
    pub name: &'a str,
    /// The rule's key.
    pub rule: &'a str,
    /// Its value before, as written.
    pub from: &'a str,
    /// Its value now.
    pub to: &'a str,
}

/// `pledge <amount>`. Kept for compatibility: without the pool's `name`.
#[derive(Debug, Serialize)]
pub struct Pledged<'a> {
    /// `pool` (SPEC §3 `kind`).
    pub kind: PoolKind,
    /// Who pledged.
    pub member: &'a MemberId,
    /// The member's pledge now.
    pub pledge: Amount,
    /// Their pledge before; `null` when they had none.
    pub previous: Option<Amount>,
}

/// A member's pledge is gone. Kept for compatibility: without the pool's `name`.
#[derive(Debug, Serialize)]
pub struct PoolLeft<'a> {
    /// `pool` (SPEC §3 `kind`).
    pub kind: PoolKind,
    /// Why: `left` (`pool leave`, `pledge 0`), `left-room`, `excluded` (an overdue pool
    /// obligation) or `lapsed` (a rollover of a pool renewed by hand).
    pub notice: &'a str,
    /// Whose pledge it was.
    pub member: &'a MemberId,
    /// The pledge that is gone.
    pub pledge: Amount,
}

/// A claim (SPEC §3: `id`, `state`, `yes`, `no`, `shares`), and the claim itself.
#[derive(Debug, Serialize)]
pub struct Claim<'a> {
    /// `claim` (SPEC §3 `kind`).
    pub kind: ClaimKind,
    /// `#C`.
    pub id: ClaimId,
    /// `voting`, `approved` or `rejected`.
    pub state: Coded<ClaimState>,
    /// How the vote ended: `approved`, `rejected` or `no_quorum`; `null` while voting.
    pub verdict: Option<Coded<Verdict>>,
    /// Who claims.
    pub claimant: &'a MemberId,
    /// The covered event claimed for (one of the pool's `events`).
    pub event: &'a str,
    /// What is claimed.
    pub amount: Amount,
    /// What happened, in the claimant's words.
    pub description: &'a str,
    /// When the vote window ends.
    pub closes: Instant,
    /// Votes for it.
    pub yes: usize,
    /// Votes against it.
    pub no: usize,
    /// Members who may vote on it: pledged, joined, not the claimant.
    pub eligible: usize,
    /// What the pool covers: min(claim, `max_claim`, the pledges of the others).
    pub covered: Amount,
    /// What each member pays (the shares if approved now, or those it got), as many as fit.
    pub shares: Vec<Share<'a>>,
    /// What was cut of `shares`; left out when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more: Option<MoreShares>,
}

/// A member's share of a claim.
#[derive(Debug, Serialize)]
pub struct Share<'a> {
    /// Who pays it.
    pub member: &'a MemberId,
    /// What they pay.
    pub amount: Amount,
}

/// `more` of [`Claim`].
#[derive(Debug, Serialize)]
pub struct MoreShares {
    /// The shares cut (`amount`: their sum).
    pub shares: Omitted,
}

/// `claim` (the claim message members vote on by reacting) and `vote`.
#[derive(Debug, Serialize)]
pub struct ClaimReply<'a> {
    /// The claim's fields, at the top level.
    #[serde(flatten)]
    pub claim: Claim<'a>,
    /// `vote`: the ballot cast. Left out for `claim`.
    #[serde(flatten)]
    pub ballot: Option<Ballot<'a>>,
}

/// A ballot on a claim.
#[derive(Debug, Serialize)]
pub struct Ballot<'a> {
    /// `yes`, `no`, or `""` for a ballot that takes a vote back.
    pub vote: &'static str,
    /// Who voted.
    pub voter: &'a MemberId,
    /// The event that cast it.
    pub ballot: &'a str,
}

impl<'a> From<&'a crate::pool::Ballot> for Ballot<'a> {
    fn from(b: &'a crate::pool::Ballot) -> Ballot<'a> {
        Ballot { vote: b.vote.map_or("", |v| v.code()), voter: &b.voter, ballot: &b.source }
    }
}

/// A claim opened or decided, to the pool's room or a member of it.
#[derive(Debug, Serialize)]
pub struct ClaimNoticed<'a> {
    /// `claim-opened` or `claim-decided`.
    pub notice: &'a str,
    /// The claim's fields, at the top level.
    #[serde(flatten)]
    pub claim: Claim<'a>,
}

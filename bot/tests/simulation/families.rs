//! What the members do in the families beyond circles and the ledger: pools in their rooms,
//! initiatives in theirs, votes and backings from DMs, the set-off's opt-ins and keeps,
//! `forget-me`, and the admin's commands (and others', refused). Weighted by the seed's focus.

use exodus_commands::cycle::Job;
use exodus_commands::ledger::Cycle;
use rand::Rng;
use rand::seq::IndexedRandom;

use super::{ADMIN, Focus, Sim};
use crate::model::{POOL_EVENTS, SimCmd};

impl Sim {
    /// Now and then a command of the families beyond circles: pools in their rooms, initiatives
    /// in theirs, votes and backings from DMs, the set-off, `forget-me`, and `admin` from the
    /// admin (and, refused, from others).
    pub(super) fn family_command(
        &mut self,
        member: &str,
        room: &str,
        in_dm: bool,
    ) -> Option<(String, Vec<String>, SimCmd)> {
        let plain = |body: String, cmd: SimCmd| Some((body, Vec::new(), cmd));
        if self.model.forget_pending.contains_key(member) && self.chance(40) {
            return plain("!forget-me confirm".into(), SimCmd::ForgetMe { confirm: true });
        }
        if member == ADMIN && self.chance(8) {
            return Some(self.admin_command());
        }
        let pooling = self.weight(Focus::Pools, 90, 75);
        if self.model.pools.contains_key(room) && self.chance(pooling) {
            return Some(self.pool_command(member, room));
        }
        let here: Vec<i64> = self
            .model
            .initiatives
            .iter()
            .filter(|(_, i)| i.room == room && i.state == "active")
            .map(|(id, _)| *id)
            .collect();
        let backing = self.weight(Focus::Initiatives, 70, 40);
        if !here.is_empty() && self.chance(backing) {
            return Some(self.initiative_command(member, &here));
        }
        let roll = self.rng.random_range(0..100);
        let (pool_create, propose) = match self.focus {
            Focus::Pools => (30, 33),
            Focus::Initiatives => (5, 35),
            Focus::Circles | Focus::Clearing => (3, 5),
            Focus::Mixed => (10, 18),
        };
        let power = self.hs.rooms[room].power.get(member).copied().unwrap_or(0);
        let plain_room = !in_dm
            && self.model.circle_owner(room).is_none()
            && !self.model.pools.contains_key(room);
        if plain_room && power >= 50 && roll < pool_create {
            let name = format!("fund-{}", &room[1..3]);
            return plain(format!("!pool create {name}"), SimCmd::PoolCreate);
        }
        if plain_room && roll < propose {
            let (goal_text, goal) = self.amount();
            let days = self.rng.random_range(1..=40);
            let cmd = SimCmd::Propose { goal, days };
            return plain(format!("!propose {goal_text} {days} A shared tool library"), cmd);
        }
        if in_dm && roll < 40 {
            return self.dm_family_command(member, roll);
        }
        // Most members opt in to the set-off sooner or later.
        let opting = self.weight(Focus::Clearing, 40, 5);
        if !self.model.opted.contains(member) && self.chance(opting) {
            return plain("!clearing on".into(), SimCmd::ClearingSet { on: true });
        }
        match self.rng.random_range(0..200) {
            0..4 => plain("!clearing on".into(), SimCmd::ClearingSet { on: true }),
            4 => plain("!clearing off".into(), SimCmd::ClearingSet { on: false }),
            5 => plain("!forget-me".into(), SimCmd::ForgetMe { confirm: false }),
            6 if member != ADMIN => {
                let cmd = SimCmd::AdminRun { job: Job::Deadlines };
                plain("!admin run deadlines".into(), cmd)
            }
            7 if member != ADMIN => plain("!admin stats".into(), SimCmd::AdminStats),
            _ => None,
        }
    }

    /// From a member's DM: a vote, a backing, the set-off's commands.
    fn dm_family_command(
        &mut self,
        member: &str,
        roll: u32,
    ) -> Option<(String, Vec<String>, SimCmd)> {
        let plain = |body: String, cmd: SimCmd| Some((body, Vec::new(), cmd));
        match roll {
            0..10 => {
                let tz = chrono_tz::UTC;
                let cycle_start = Cycle::of(self.now, &tz).start(&tz).timestamp_millis();
                let any = self.chance(20);
                let claims: Vec<i64> = self
                    .model
                    .claims
                    .iter()
                    .filter(|(_, c)| c.state == "voting" && c.claimant != member)
                    .filter(|(_, c)| {
                        any || self.model.pledges(&c.room, cycle_start).contains_key(member)
                    })
                    .map(|(id, _)| *id)
                    .collect();
                let id = *claims.choose(&mut self.rng)?;
                let yes = self.chance(60);
                let word = if yes { "yes" } else { "no" };
                plain(format!("!vote #{id} {word}"), SimCmd::Vote { id, yes })
            }
            10..20 => {
                let open: Vec<i64> = self
                    .model
                    .initiatives
                    .iter()
                    .filter(|(_, i)| i.state == "active" && i.proposer != member)
                    .map(|(id, _)| *id)
                    .collect();
                let id = *open.choose(&mut self.rng)?;
                let (text, cents) = self.amount();
                plain(format!("!back #{id} {text}"), SimCmd::Back { id, cents })
            }
            20..26 => {
                let on = self.chance(80);
                let word = if on { "on" } else { "off" };
                plain(format!("!clearing {word}"), SimCmd::ClearingSet { on })
            }
            26..30 => plain("!clearing".into(), SimCmd::ClearingShow),
            _ => {
                let own: Vec<i64> = self
                    .model
                    .records
                    .iter()
                    .filter(|(_, r)| r.kind == "obligation" && matches!(r.state, "open" | "paid"))
                    .filter(|(_, r)| r.giver == member || r.recipient == member)
                    .map(|(id, _)| *id)
                    .collect();
                let id = *own.choose(&mut self.rng)?;
                let keep = self.chance(70);
                let word = if keep { "keep" } else { "unkeep" };
                plain(format!("!{word} #{id}"), SimCmd::Keep { id, keep })
            }
        }
    }

    /// A pool command in the pool's room: pledges, claims, votes, its view and rules.
    fn pool_command(&mut self, member: &str, room: &str) -> (String, Vec<String>, SimCmd) {
        let plain = |body: String, cmd: SimCmd| (body, Vec::new(), cmd);
        let tz = chrono_tz::UTC;
        let cycle_start = Cycle::of(self.now, &tz).start(&tz).timestamp_millis();
        let pledged = self.model.pledges(room, cycle_start).contains_key(member);
        let voting: Vec<i64> = self
            .model
            .claims
            .iter()
            .filter(|(_, c)| c.room == room && c.state == "voting" && c.claimant != member)
            .map(|(id, _)| *id)
            .collect();
        let power = self.hs.rooms[room].power.get(member).copied().unwrap_or(0);
        let unvoted: Vec<i64> = voting
            .iter()
            .copied()
            .filter(|id| !self.model.claims[id].ballots.iter().any(|(v, ..)| v == member))
            .collect();
        if pledged && !unvoted.is_empty() && self.chance(self.weight(Focus::Pools, 70, 50)) {
            let id = *unvoted.choose(&mut self.rng).unwrap();
            let yes = self.chance(75);
            let word = if yes { "yes" } else { "no" };
            return plain(format!("!vote #{id} {word}"), SimCmd::Vote { id, yes });
        }
        let roll = self.rng.random_range(0..100);
        match roll {
            0..8 => plain("!pool".into(), SimCmd::PoolShow),
            8..12 if power >= 50 => {
                const RULES: [(&str, &str); 9] = [
                    ("vote_hours", "1"),
                    ("vote_hours", "2"),
                    ("vote_hours", "24"),
                    ("pay_days", "1"),
                    ("pay_days", "7"),
                    ("max_claim", "25"),
                    ("max_claim", "none"),
                    ("renew", "manual"),
                    ("renew", "auto"),
                ];
                let (key, value) = *RULES.choose(&mut self.rng).unwrap();
                plain(format!("!pool rule {key} {value}"), SimCmd::PoolRule { key, value })
            }
            _ if !pledged && roll < 70 => {
                let (text, cents) = self.amount();
                plain(format!("!pledge {text}"), SimCmd::Pledge { cents })
            }
            12..30 if pledged => {
                let (text, cents) = self.amount();
                if self.chance(8) {
                    return plain(format!("!claim flood {text} the cellar"), SimCmd::Invalid);
                }
                let event = *POOL_EVENTS.choose(&mut self.rng).unwrap();
                let cmd = SimCmd::Claim { event, cents };
                plain(format!("!claim {event} {text} broke a leg"), cmd)
            }
            40..75 if !voting.is_empty() => {
                let id = *voting.choose(&mut self.rng).unwrap();
                let yes = self.chance(65);
                let word = if yes { "yes" } else { "no" };
                plain(format!("!vote #{id} {word}"), SimCmd::Vote { id, yes })
            }
            75..82 => {
                let (text, cents) = self.amount();
                plain(format!("!pledge {text}"), SimCmd::Pledge { cents })
            }
            82..85 => plain("!pool leave".into(), SimCmd::PoolLeave),
            85..87 => plain("!pledge 0".into(), SimCmd::Pledge { cents: 0 }),
            87..90 => plain("!pool rules".into(), SimCmd::Profile),
            _ => plain("!pool".into(), SimCmd::PoolShow),
        }
    }

    /// An initiative command in the room of the initiatives `here`.
    fn initiative_command(&mut self, member: &str, here: &[i64]) -> (String, Vec<String>, SimCmd) {
        let plain = |body: String, cmd: SimCmd| (body, Vec::new(), cmd);
        let id = *here.choose(&mut self.rng).unwrap();
        let proposer = self.model.initiatives[&id].proposer == member;
        let roll = self.rng.random_range(0..100);
        match roll {
            0..15 => plain(format!("!initiative #{id}"), SimCmd::InitiativeShow { id }),
            15..25 => plain("!initiatives".into(), SimCmd::Initiatives),
            25..40 if proposer => {
                let (text, goal) = self.amount();
                let cmd = SimCmd::InitiativeGoal { id, goal };
                plain(format!("!initiative #{id} goal {text}"), cmd)
            }
            40..50 => {
                let own = self.model.records.iter().find(|(_, r)| {
                    r.initiative == Some(id) && r.giver == member && r.state == "active"
                });
                match own.map(|(rid, _)| *rid) {
                    Some(rid) => plain(format!("!withdraw #{rid}"), SimCmd::Withdraw { id: rid }),
                    None => plain(format!("!initiative #{id}"), SimCmd::InitiativeShow { id }),
                }
            }
            _ => {
                let (text, cents) = self.amount();
                plain(format!("!back #{id} {text}"), SimCmd::Back { id, cents })
            }
        }
    }

    /// The admin's commands (SPEC §3.6): stats, a job run now, the set-off's preview.
    fn admin_command(&mut self) -> (String, Vec<String>, SimCmd) {
        let plain = |body: &str, cmd: SimCmd| (body.to_owned(), Vec::new(), cmd);
        match self.rng.random_range(0..100) {
            0..35 => plain("!admin stats", SimCmd::AdminStats),
            35..60 => plain("!admin run deadlines", SimCmd::AdminRun { job: Job::Deadlines }),
            60..75 => plain("!admin run reminders", SimCmd::AdminRun { job: Job::Reminders }),
            75..92 => plain("!admin clearing preview", SimCmd::AdminClearingPreview),
            _ => plain("!admin run rollover", SimCmd::AdminRun { job: Job::Rollover }),
        }
    }
}

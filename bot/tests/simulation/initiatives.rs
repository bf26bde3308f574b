//! The model's initiatives (SPEC §3.4): proposals, their backings (intentions naming them),
//! funding the moment the backing reaches the goal, the lapse at the deadline.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{DAY_MS, EventInfo, MRecord, Model, SimCmd, World, cents, instant};

/// A funded initiative's obligations fall due this many days after the funding (SPEC §3.4).
const FUNDED_DUE_DAYS: i64 = 14;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MInitiative {
    pub room: String,
    pub proposer: String,
    pub goal: i64,
    pub deadline: i64,
    pub state: &'static str,
}

impl Model {
    /// What an initiative's backing amounts to (SPEC §3.4): its active backings, or once funded
    /// the obligations they became (parts split off by the set-off included).
    fn backing(&self, id: i64) -> (i64, usize) {
        let funded = self.initiatives[&id].state == "funded";
        let counted: Vec<&MRecord> = self
            .records
            .values()
            .filter(|r| r.initiative == Some(id))
            .filter(|r| if funded { r.kind == "obligation" } else { r.state == "active" })
            .collect();
        let backers: BTreeSet<&str> = counted.iter().map(|r| r.giver.as_str()).collect();
        (counted.iter().map(|r| r.cents).sum(), backers.len())
    }

    /// Funds initiative `id` if its backing reached the goal: every active backing becomes an
    /// obligation to the proposer due in 14 days. Returns whether it did.
    fn fund_if_reached(&mut self, id: i64, now: i64) -> bool {
        let i = &self.initiatives[&id];
        if i.state != "active" || self.backing(id).0 < i.goal {
            return false;
        }
        for r in self.records.values_mut() {
            if r.initiative == Some(id) && r.kind == "intention" && r.state == "active" {
                r.kind = "obligation";
                r.state = "open";
                r.due = Some(now + FUNDED_DUE_DAYS * DAY_MS);
            }
        }
        self.initiatives.get_mut(&id).expect("checked").state = "funded";
        true
    }

    /// An initiative as a reply shows it (`propose`, `back`, `initiative`, `initiatives`).
    fn check_initiative_shown(&self, id: i64, result: &Value) -> Result<(), String> {
        let Some(i) = self.initiatives.get(&id) else {
            return Err(format!("a reply shows initiative #{id}, unknown to the model: {result}"));
        };
        let mut wrong = result["state"] != i.state
            || cents(&result["goal"])? != i.goal
            || result["proposer"] != i.proposer.as_str();
        if i.state != "lapsed" {
            let (backing, backers) = self.backing(id);
            wrong = wrong
                || cents(&result["backing"])? != backing
                || result["backers"].as_u64() != Some(backers as u64)
                || cents(&result["remaining"])? != (i.goal - backing).max(0);
        }
        if wrong {
            return Err(format!(
                "initiative #{id}: the model has {i:?} backed by {:?}; the reply {result}",
                self.backing(id)
            ));
        }
        Ok(())
    }

    /// An initiative command that succeeded (`result`), checked and applied.
    pub(super) fn apply_initiative(
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
            SimCmd::Propose { goal, days } => {
                if ev.in_dm
                    || self.circle_owner(&ev.room).is_some()
                    || self.pools.contains_key(&ev.room)
                {
                    return fail("an initiative proposed in a DM, a circle or a pool");
                }
                let Some(id) =
                    result["id"].as_i64().filter(|id| !self.initiatives.contains_key(id))
                else {
                    return fail("the initiative's number is taken");
                };
                let initiative = MInitiative {
                    room: ev.room.clone(),
                    proposer: sender.to_owned(),
                    goal: *goal,
                    deadline: w.now + days * DAY_MS,
                    state: "active",
                };
                if instant(&result["deadline"])? != initiative.deadline {
                    return fail(&format!("the model's initiative is {initiative:?}"));
                }
                self.initiatives.insert(id, initiative);
                self.check_initiative_shown(id, result)?;
            }
            SimCmd::Back { id, cents: amount } => {
                let Some(i) = self.initiatives.get(id).cloned() else {
                    return fail("backing an initiative the model does not know");
                };
                Self::may_change(ev, &i.room, w)?;
                if i.state != "active" || i.deadline <= w.now || i.proposer == sender {
                    return fail(&format!("the initiative is {i:?}"));
                }
                let existing = self
                    .records
                    .iter()
                    .find(|(_, r)| {
                        r.initiative == Some(*id) && r.giver == sender && r.state == "active"
                    })
                    .map(|(rid, _)| *rid);
                let Some(record) = result["id"].as_i64() else {
                    return fail("no record in the reply");
                };
                match existing {
                    Some(rid) => {
                        if record != rid {
                            return fail(&format!("backing again changes #{rid}"));
                        }
                        self.record_mut(rid).cents = *amount;
                    }
                    None => {
                        if self.records.contains_key(&record) {
                            return fail("the new backing's number is taken");
                        }
                        let backing = MRecord {
                            kind: "intention",
                            giver: sender.to_owned(),
                            recipient: i.proposer.clone(),
                            room: i.room.clone(),
                            cents: *amount,
                            state: "active",
                            created: w.now,
                            fulfilled_at: None,
                            initiative: Some(*id),
                            claim: None,
                            due: None,
                            overdue: false,
                        };
                        self.records.insert(record, backing);
                    }
                }
                let funded = self.fund_if_reached(*id, w.now);
                let kind = if funded { "obligation" } else { "intention" };
                if cents(&result["amount"])? != *amount
                    || result["kind"] != kind
                    || result["initiative"].as_i64() != Some(*id)
                {
                    return fail(&format!("the backing is an {kind} of {amount}"));
                }
                self.check_initiative_shown(*id, result)?;
            }
            SimCmd::InitiativeShow { id } => {
                let Some(i) = self.initiatives.get(id) else {
                    return fail("an initiative the model does not know");
                };
                Self::may_change(ev, &i.room.clone(), w)?;
                self.check_initiative_shown(*id, result)?;
            }
            SimCmd::Initiatives => {
                if ev.in_dm {
                    return fail("`initiatives` answered in a DM");
                }
                let listed =
                    result["initiatives"].as_array().ok_or_else(|| format!("no list: {result}"))?;
                let ids: Vec<i64> = listed.iter().filter_map(|i| i["id"].as_i64()).collect();
                let expected: Vec<i64> = self
                    .initiatives
                    .iter()
                    .filter(|(_, i)| i.room == ev.room && i.state == "active")
                    .map(|(id, _)| *id)
                    .collect();
                if ids != expected {
                    return fail(&format!("the active initiatives here are {expected:?}"));
                }
                for shown in listed {
                    self.check_initiative_shown(shown["id"].as_i64().unwrap_or(-1), shown)?;
                }
            }
            SimCmd::InitiativeGoal { id, goal } => {
                let Some(i) = self.initiatives.get(id).cloned() else {
                    return fail("an initiative the model does not know");
                };
                Self::may_change(ev, &i.room, w)?;
                if i.proposer != sender || i.state != "active" || i.deadline <= w.now {
                    return fail(&format!("the initiative is {i:?}"));
                }
                self.initiatives.get_mut(id).expect("checked").goal = *goal;
                self.fund_if_reached(*id, w.now);
                self.check_initiative_shown(*id, result)?;
            }
            other => unreachable!("{other:?} is no initiative command"),
        }
        Ok(())
    }

    /// The initiatives whose deadline passed unfunded at `as_of` lapse (the deadlines job):
    /// their active backings are cancelled.
    pub(super) fn lapse_initiatives(&mut self, as_of: i64) {
        let lapsing: Vec<i64> = self
            .initiatives
            .iter()
            .filter(|(_, i)| i.state == "active" && i.deadline <= as_of)
            .map(|(id, _)| *id)
            .collect();
        for id in lapsing {
            for r in self.records.values_mut() {
                if r.initiative == Some(id) && r.kind == "intention" && r.state == "active" {
                    r.state = "cancelled";
                }
            }
            self.initiatives.get_mut(&id).expect("known").state = "lapsed";
        }
    }
}

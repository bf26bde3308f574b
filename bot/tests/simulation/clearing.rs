//! The model's set-off (SPEC §3.5): who takes part, what is kept out, which obligations are
//! eligible, and the checks of a run the database recorded.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{EventInfo, MRecord, Model, SimCmd, cents};
use crate::db::DbChange;

/// One change of a set-off, as the model checks it.
struct SetOff<'a> {
    change: &'a DbChange,
    record: MRecord,
}

impl Model {
    /// The obligations a set-off may change (SPEC §3.5): open, both parties opted in, kept by
    /// neither.
    pub fn eligible(&self) -> Vec<(i64, &MRecord)> {
        self.records
            .iter()
            .filter(|(id, r)| {
                r.kind == "obligation"
                    && r.state == "open"
                    && r.cents > 0
                    && r.giver != r.recipient
                    && self.opted.contains(&r.giver)
                    && self.opted.contains(&r.recipient)
                    && !self.kept.iter().any(|(k, _)| k == *id)
            })
            .map(|(id, r)| (*id, r))
            .collect()
    }

    /// The most any set-off can clear of the eligible obligations (the optimum, computed by the
    /// product's solver over the model's eligible obligations).
    pub fn optimum(&self) -> Result<i64, String> {
        let member = |m: &str| exodus_commands::MemberId::parse(m).ok_or(format!("member {m}"));
        let eligible = self
            .eligible()
            .into_iter()
            .map(|(id, r)| {
                Ok(exodus_commands::clearing::setoff::Eligible {
                    id,
                    giver: member(&r.giver)?,
                    recipient: member(&r.recipient)?,
                    amount: exodus_commands::Amount::from_stored_cents(r.cents),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let plan = exodus_commands::clearing::setoff::plan(&eligible)
            .map_err(|e| format!("the solver: {e:?}"))?;
        Ok(plan.cleared.cents())
    }

    /// Each member's net position over the open obligations: owed to them minus owed by them.
    fn net_positions(&self) -> BTreeMap<String, i64> {
        let mut net: BTreeMap<String, i64> = BTreeMap::new();
        for r in self.records.values() {
            if r.kind == "obligation" && matches!(r.state, "open" | "paid") {
                *net.entry(r.recipient.clone()).or_default() += r.cents;
                *net.entry(r.giver.clone()).or_default() -= r.cents;
            }
        }
        net.retain(|_, n| *n != 0);
        net
    }

    /// A closed chain of eligible obligations (giver → recipient), if there is one: a set-off
    /// that leaves one could have set off a cent more along it.
    fn eligible_cycle(&self) -> Option<Vec<String>> {
        let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (_, r) in self.eligible() {
            edges.entry(&r.giver).or_default().insert(&r.recipient);
        }
        // Depth-first search with colours: grey on the path, black done.
        fn visit<'a>(
            node: &'a str,
            edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
            colour: &mut BTreeMap<&'a str, u8>,
            path: &mut Vec<&'a str>,
        ) -> Option<Vec<String>> {
            colour.insert(node, 1);
            path.push(node);
            for next in edges.get(node).into_iter().flatten() {
                match colour.get(next).copied().unwrap_or(0) {
                    1 => {
                        let from = path.iter().position(|n| n == next).unwrap_or(0);
                        return Some(path[from..].iter().map(|n| (*n).to_owned()).collect());
                    }
                    0 => {
                        if let Some(cycle) = visit(next, edges, colour, path) {
                            return Some(cycle);
                        }
                    }
                    _ => {}
                }
            }
            path.pop();
            colour.insert(node, 2);
            None
        }
        let mut colour = BTreeMap::new();
        let nodes: Vec<&str> = edges.keys().copied().collect();
        for node in nodes {
            if colour.get(node).copied().unwrap_or(0) == 0
                && let Some(cycle) = visit(node, &edges, &mut colour, &mut Vec::new())
            {
                return Some(cycle);
            }
        }
        None
    }

    /// A set-off run the database recorded (its changes, applied at `run_ms`), checked and
    /// applied: only eligible obligations change, by at most their amount; every member owes
    /// as much less as they are owed less, so no net position moves; the run clears the
    /// optimum and leaves no closed chain of eligible obligations.
    pub fn apply_clearing(&mut self, changes: &[DbChange], run_ms: i64) -> Result<(), String> {
        let eligible: BTreeMap<i64, MRecord> =
            self.eligible().into_iter().map(|(id, r)| (id, r.clone())).collect();
        let optimum = self.optimum()?;
        let net_before = self.net_positions();
        let mut balance: BTreeMap<&str, i64> = BTreeMap::new();
        let mut set_offs = Vec::new();
        for c in changes {
            let Some(record) = eligible.get(&c.record) else {
                return Err(format!(
                    "the set-off changed #{}, which is not eligible (open, both parties opted \
                     in, kept by neither): {:?}; opted in {:?}, kept {:?}; change {c:?}",
                    c.record,
                    self.records.get(&c.record),
                    self.opted,
                    self.kept
                ));
            };
            let whole = c.set_off == c.before;
            if (record.giver.as_str(), record.recipient.as_str(), record.cents)
                != (c.giver.as_str(), c.recipient.as_str(), c.before)
                || c.set_off <= 0
                || c.set_off > c.before
                || whole != c.part.is_none()
                || c.part.is_some_and(|p| self.records.contains_key(&p))
            {
                return Err(format!(
                    "the set-off's change {c:?} does not fit #{}: {record:?}",
                    c.record
                ));
            }
            *balance.entry(&c.giver).or_default() += c.set_off;
            *balance.entry(&c.recipient).or_default() -= c.set_off;
            set_offs.push(SetOff { change: c, record: record.clone() });
        }
        balance.retain(|_, b| *b != 0);
        if !balance.is_empty() {
            return Err(format!(
                "the set-off is not balanced (owed less minus being owed less, by member): \
                 {balance:?}; changes {changes:?}"
            ));
        }
        let cleared: i64 = changes.iter().map(|c| c.set_off).sum();
        if cleared != optimum {
            return Err(format!(
                "the set-off cleared {cleared}, the optimum over the eligible obligations is \
                 {optimum}; changes {changes:?}"
            ));
        }
        for SetOff { change: c, record } in set_offs {
            if let Some(part) = c.part {
                self.record_mut(c.record).cents -= c.set_off;
                // The part keeps the obligation's creation time, so a pool counts it in the cycle
                // of its claim (SPEC §3.3). It was once written as made at the run: a March pool
                // obligation set off in part in April lowered what its giver's pledge covered in
                // April (seed 13 found it).
                let split = MRecord {
                    cents: c.set_off,
                    state: "cleared",
                    created: record.created,
                    fulfilled_at: Some(run_ms),
                    ..record
                };
                self.records.insert(part, split);
            } else {
                let r = self.record_mut(c.record);
                r.state = "cleared";
                r.fulfilled_at = Some(run_ms);
            }
        }
        let net_after = self.net_positions();
        if net_after != net_before {
            return Err(format!(
                "the set-off moved net positions: before {net_before:?}, after {net_after:?}"
            ));
        }
        if let Some(cycle) = self.eligible_cycle() {
            return Err(format!(
                "after the set-off a closed chain of eligible obligations is left: {cycle:?}"
            ));
        }
        Ok(())
    }

    /// A set-off command that succeeded (`result`), checked and applied: `clearing [on|off]`,
    /// `keep #N`, `unkeep #N`, `admin clearing preview`.
    pub(super) fn apply_clearing_command(
        &mut self,
        ev: &EventInfo,
        result: &Value,
    ) -> Result<(), String> {
        let sender = ev.sender.as_str();
        let fail = |what: &str| {
            Err(format!("{:?} by {sender} in {}: {what}; reply {result}", ev.cmd, ev.room))
        };
        match &ev.cmd {
            SimCmd::ClearingSet { on } => {
                let was = self.opted.contains(sender);
                if result["opted_in"] != *on || result["changed"] != (*on != was) {
                    return fail(&format!("the member was opted in: {was}"));
                }
                if *on {
                    self.opted.insert(sender.to_owned());
                } else {
                    self.opted.remove(sender);
                }
            }
            SimCmd::ClearingShow => {
                if !ev.in_dm || result["opted_in"] != self.opted.contains(sender) {
                    return fail("`clearing` outside a DM, or another opt-in");
                }
            }
            SimCmd::Keep { id, keep } => {
                let r = self.record(*id, "keep #N")?.clone();
                let party = r.giver == sender || r.recipient == sender;
                if !party
                    || !(ev.in_dm || ev.room == r.room)
                    || r.kind != "obligation"
                    || !matches!(r.state, "open" | "paid")
                {
                    return fail(&format!("the record was {r:?}"));
                }
                let other = if r.giver == sender { &r.recipient } else { &r.giver };
                let by_other = self.kept.contains(&(*id, other.clone()));
                if result["kept"] != *keep || result["kept_by_other"] != by_other {
                    return fail(&format!("kept by the other party: {by_other}"));
                }
                if *keep {
                    self.kept.insert((*id, sender.to_owned()));
                } else {
                    self.kept.remove(&(*id, sender.to_owned()));
                }
            }
            SimCmd::AdminClearingPreview => {
                let eligible = self.eligible().len() as u64;
                let optimum = self.optimum()?;
                if result["applied"] != false
                    || result["eligible"].as_u64() != Some(eligible)
                    || cents(&result["cleared"])? != optimum
                {
                    return fail(&format!(
                        "the model has {eligible} eligible obligations, {optimum} to set off"
                    ));
                }
            }
            other => unreachable!("{other:?} is no set-off command"),
        }
        Ok(())
    }
}

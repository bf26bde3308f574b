//! The simulation's own model of the ledger: every record with its kind, parties, room, amount
//! and state, the pools (rules, pledges, claims and their ballots), the initiatives, who takes part
//! in the set-off and what they keep out of it; changed by the commands the simulation knows it
//! sent (not by parsing what the bot did) and by the jobs it knows committed, and checked against
//! the database after every step. A record lost, doubled or changed by something no applied
//! command or job explains, or an amount not conserved, is a difference.
//!
//! Where SPEC §3.3–§3.5 fixes an amount, the model computes it itself: a claim's shares
//! (largest remainder over what each pledge still covers this cycle, ties by member ID), the
//! verdict of a vote, the backing of an initiative; the set-off is read from the database and
//! checked (eligible obligations only, each member's net position unchanged, nothing more to set
//! off along a closed chain, as much as the optimum). Those families' parts are in `pools.rs`,
//! `initiatives.rs` and `clearing.rs`; this file has the records, circles and the ledger, the
//! dispatch of every command, and the jobs.

use std::collections::{BTreeMap, BTreeSet};

use exodus_commands::cycle::Job;
use serde_json::Value;

use crate::db::DbRecord;

#[path = "clearing.rs"]
mod clearing;
#[path = "initiatives.rs"]
mod initiatives;
#[path = "pools.rs"]
mod pools;

pub use initiatives::MInitiative;
pub use pools::{MClaim, MPool, POOL_EVENTS};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// How long a `forget-me` waits for its confirmation.
const FORGET_WINDOW_MS: i64 = 10 * 60_000;

/// A command as the simulation generated it (its meaning, independent of the bot's parser).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimCmd {
    Intend {
        cents: i64,
    },
    IntendChange {
        id: i64,
        cents: i64,
    },
    CommitIntention {
        id: i64,
        cents: Option<i64>,
    },
    CommitDirect {
        cents: i64,
    },
    Paid {
        id: i64,
    },
    Confirm {
        id: i64,
    },
    Withdraw {
        id: i64,
    },
    Forgive {
        id: i64,
    },
    Remind {
        id: i64,
    },
    CircleOpen,
    CircleShow,
    CircleInvite,
    Mine,
    StatusGreen,
    /// Any other profile command (`status orange|red|…`, `about`, `pay`, `lang`, `notify`,
    /// `help`): no record changes.
    Profile,
    /// `pool create <name>`.
    PoolCreate,
    /// `pool`.
    PoolShow,
    /// `pool rule <key> <value>`.
    PoolRule {
        key: &'static str,
        value: &'static str,
    },
    /// `pledge <amount>` (0: leaving).
    Pledge {
        cents: i64,
    },
    PoolLeave,
    Claim {
        event: &'static str,
        cents: i64,
    },
    /// `vote #C yes|no`, or 👍 / 👎 on the claim message.
    Vote {
        id: i64,
        yes: bool,
    },
    Propose {
        goal: i64,
        days: i64,
    },
    Back {
        id: i64,
        cents: i64,
    },
    InitiativeShow {
        id: i64,
    },
    Initiatives,
    InitiativeGoal {
        id: i64,
        goal: i64,
    },
    /// 👍 on an initiative's card: interest, no record (claimed without a reply).
    Interest,
    ClearingSet {
        on: bool,
    },
    ClearingShow,
    Keep {
        id: i64,
        keep: bool,
    },
    ForgetMe {
        confirm: bool,
    },
    AdminStats,
    AdminRun {
        job: Job,
    },
    AdminClearingPreview,
    /// Input that must be refused: an error reply and no change.
    Invalid,
    /// Not a command at all.
    Chat,
}

impl SimCmd {
    /// Whether it is a record command that a party may still do after leaving (V2's exception).
    fn settles(&self) -> bool {
        matches!(self, SimCmd::Paid { .. } | SimCmd::Confirm { .. } | SimCmd::Forgive { .. })
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, SimCmd::AdminStats | SimCmd::AdminRun { .. } | SimCmd::AdminClearingPreview)
    }
}

/// A member's event as the simulation made it.
#[derive(Clone, Debug)]
pub struct EventInfo {
    pub room: String,
    pub sender: String,
    pub cmd: SimCmd,
    /// The room is the sender's direct chat with the bot.
    pub in_dm: bool,
    /// A reaction: the message it reacts to (a reply to it replies to that message).
    pub reacted_to: Option<String>,
    /// When it was sent (ms): a ballot cast after the vote window does not count.
    pub ts: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MRecord {
    pub kind: &'static str,
    pub giver: String,
    pub recipient: String,
    pub room: String,
    pub cents: i64,
    pub state: &'static str,
    /// When it was made (ms): what the rollover expires, what a pool's cycle is charged with (a
    /// part split off by the set-off keeps its obligation's).
    pub created: i64,
    /// When it was confirmed or set off (ms): what the rollover renews, what `circle` counts.
    pub fulfilled_at: Option<i64>,
    /// The initiative it backs.
    pub initiative: Option<i64>,
    /// The claim whose approval made it.
    pub claim: Option<i64>,
    /// When it falls due (ms), where the model knows it (pools' and initiatives' obligations).
    pub due: Option<i64>,
    /// A job marked it overdue (it stays so while it is open or paid).
    pub overdue: bool,
}

impl MRecord {
    fn open(&self) -> bool {
        matches!(self.state, "active" | "open" | "paid")
    }

    fn same_as(&self, db: &DbRecord) -> bool {
        self.kind == db.kind
            && self.giver == db.giver
            && self.recipient == db.recipient
            && self.room == db.room
            && self.cents == db.cents
            && self.state == db.state
            && self.initiative == db.initiative
    }
}

/// What the model needs to know of the world when it applies an event.
pub struct World<'a> {
    /// Whether a member is joined to a room now (the homeserver's state as the pipeline saw it).
    pub joined: &'a dyn Fn(&str, &str) -> bool,
    /// A member's power level in a room.
    pub power: &'a dyn Fn(&str, &str) -> i64,
    /// Whether a room's history is readable without joining.
    pub world_readable: &'a dyn Fn(&str) -> bool,
    /// When the pipeline decided (ms), and when that cycle began.
    pub now: i64,
    pub cycle_start: i64,
}

#[derive(Debug, Default)]
pub struct Model {
    pub records: BTreeMap<i64, MRecord>,
    /// Owner → circle room, as the commands and the outbox's room creations bound them.
    pub circles: BTreeMap<String, String>,
    /// Obligations a rollover renewed.
    pub renewed: BTreeSet<i64>,
    /// Room → pool.
    pub pools: BTreeMap<String, MPool>,
    pub claims: BTreeMap<i64, MClaim>,
    pub initiatives: BTreeMap<i64, MInitiative>,
    /// (pool room, member) for every pledge there ever was: the pool's members, who hear of its
    /// rules and claims.
    pub pledged_ever: BTreeSet<(String, String)>,
    /// Members taking part in the set-off.
    pub opted: BTreeSet<String>,
    /// (record, member) kept out of the set-off.
    pub kept: BTreeSet<(i64, String)>,
    /// Members whose `forget-me` waits for its confirmation, since when (ms).
    pub forget_pending: BTreeMap<String, i64>,
    /// The admin named in the configuration.
    pub admin: String,
    /// `forget-me confirm` as SPEC §3.1 has it (see `Model::forget`).
    pub strict_forget: bool,
}

/// `"12.50"` → 1250 (amounts in results are strings with two decimals: never a float).
pub fn cents(value: &Value) -> Result<i64, String> {
    let text = value.as_str().ok_or_else(|| format!("amount {value} is not a string"))?;
    let (units, fraction) = text.split_once('.').ok_or_else(|| format!("amount {text:?}"))?;
    if fraction.len() != 2 {
        return Err(format!("amount {text:?} has not two decimals"));
    }
    let units: i64 = units.parse().map_err(|_| format!("amount {text:?}"))?;
    let fraction: i64 = fraction.parse().map_err(|_| format!("amount {text:?}"))?;
    Ok(units * 100 + fraction)
}

/// An instant of a result (RFC 3339) in ms.
fn instant(value: &Value) -> Result<i64, String> {
    let text = value.as_str().ok_or_else(|| format!("instant {value} is not a string"))?;
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("instant {text:?}: {e}"))
}

fn state_of(text: &str) -> Result<&'static str, String> {
    Ok(match text {
        "active" => "active",
        "open" => "open",
        "paid" => "paid",
        "fulfilled" => "fulfilled",
        "forgiven" => "forgiven",
        "withdrawn" => "withdrawn",
        "expired" => "expired",
        "cancelled" => "cancelled",
        "cleared" => "cleared",
        other => return Err(format!("unknown state {other:?}")),
    })
}

/// A shown state matches a record's: `overdue` stands for an open or paid obligation.
fn shown_matches(shown: &str, state: &str) -> bool {
    shown == state || (shown == "overdue" && matches!(state, "open" | "paid"))
}

impl Model {
    pub fn circle_owner(&self, room: &str) -> Option<&str> {
        self.circles.iter().find(|(_, r)| r.as_str() == room).map(|(o, _)| o.as_str())
    }

    fn record(&self, id: i64, what: &str) -> Result<&MRecord, String> {
        self.records.get(&id).ok_or_else(|| format!("{what} #{id} succeeded; no such record"))
    }

    fn record_mut(&mut self, id: i64) -> &mut MRecord {
        self.records.get_mut(&id).expect("checked")
    }

    /// V2: a change to the records of `room` (a circle's, a pool's, an initiative's) comes from
    /// that room or the sender's DM, and the sender is joined to it now, except a party settling
    /// an obligation.
    fn may_change(ev: &EventInfo, room: &str, w: &World<'_>) -> Result<(), String> {
        if !(ev.room == room || ev.in_dm) {
            return Err(format!(
                "V2: {:?} from {} changed the records of {room} (another room)",
                ev.cmd, ev.room
            ));
        }
        if !(w.joined)(room, &ev.sender) && !ev.cmd.settles() {
            return Err(format!(
                "V2: {:?} by {} changed the records of {room}, which they are not joined to",
                ev.cmd, ev.sender
            ));
        }
        Ok(())
    }

    /// The record a reply shows (its state as shown: `overdue` stands for open or paid).
    fn shown(result: &Value) -> Result<(i64, MRecord), String> {
        let id = result["id"].as_i64().ok_or_else(|| format!("no id in {result}"))?;
        let kind = match result["kind"].as_str() {
            Some("intention") => "intention",
            Some("obligation") => "obligation",
            other => return Err(format!("kind {other:?} in {result}")),
        };
        let state = match result["state"].as_str().unwrap_or_default() {
            "overdue" => "overdue",
            state => state_of(state)?,
        };
        Ok((
            id,
            MRecord {
                kind,
                giver: result["from"].as_str().unwrap_or_default().to_owned(),
                recipient: result["to"].as_str().unwrap_or_default().to_owned(),
                room: String::new(),
                cents: cents(&result["amount"])?,
                state,
                created: 0,
                fulfilled_at: None,
                initiative: None,
                claim: None,
                due: None,
                overdue: false,
            },
        ))
    }

    // ------------------------------------------------------------ the commands

    /// Applies an event the pipeline claimed as applied. `reply` is its reply's
    /// `org.exodus.result` (none for a reaction that failed), `others` the results of the other
    /// messages it caused.
    pub fn apply(
        &mut self,
        ev: &EventInfo,
        reply: Option<&Value>,
        others: &[&Value],
        w: &World<'_>,
    ) -> Result<(), String> {
        let ok = reply.is_some_and(|r| r["ok"] == true);
        let Some(result) = reply.filter(|_| ok) else {
            if matches!(ev.cmd, SimCmd::Chat) {
                return Err("a chat message was answered as a command".into());
            }
            if ev.cmd.is_admin()
                && ev.sender != self.admin
                && let Some(r) = reply
                && r["error"] != "forbidden"
            {
                return Err(format!("{:?} by a non-admin answered {r}, not forbidden", ev.cmd));
            }
            return Ok(());
        };
        let sender = ev.sender.as_str();
        let fail = |what: &str| {
            Err(format!("{:?} by {sender} in {}: {what}; reply {result}", ev.cmd, ev.room))
        };
        if ev.cmd.is_admin() && sender != self.admin {
            return fail("an admin command succeeded for a member who is no admin");
        }
        match &ev.cmd {
            SimCmd::Invalid => return fail("input that must be refused succeeded"),
            SimCmd::Chat => return fail("a chat message was answered as a command"),
            SimCmd::Intend { cents: amount } | SimCmd::CommitDirect { cents: amount } => {
                let kind = if matches!(ev.cmd, SimCmd::Intend { .. }) {
                    "intention"
                } else {
                    "obligation"
                };
                let Some(owner) = self.circle_owner(&ev.room).map(str::to_owned) else {
                    return fail("a new record in a room that is no circle");
                };
                Self::may_change(ev, &ev.room, w)?;
                let (id, shown) = Self::shown(result)?;
                if self.records.contains_key(&id) {
                    return fail("the new record's number is taken");
                }
                let expected = MRecord {
                    kind,
                    giver: sender.to_owned(),
                    recipient: owner.clone(),
                    room: ev.room.clone(),
                    cents: *amount,
                    state: if kind == "intention" { "active" } else { "open" },
                    created: w.now,
                    fulfilled_at: None,
                    initiative: None,
                    claim: None,
                    due: None,
                    overdue: false,
                };
                let same = (shown.kind, &shown.giver, &shown.recipient, shown.cents)
                    == (kind, &expected.giver, &expected.recipient, *amount)
                    && shown.state == expected.state;
                if !same || owner == sender {
                    return fail(&format!("expected {expected:?}"));
                }
                self.records.insert(id, expected);
            }
            SimCmd::IntendChange { id, cents: amount } => {
                let r = self.record(*id, "intend #N")?.clone();
                Self::may_change(ev, &r.room, w)?;
                if r.kind != "intention"
                    || r.state != "active"
                    || r.giver != sender
                    || r.initiative.is_some()
                {
                    return fail(&format!("the record was {r:?}"));
                }
                let (shown_id, shown) = Self::shown(result)?;
                if shown_id != *id || shown.cents != *amount {
                    return fail("the reply shows another record or amount");
                }
                self.record_mut(*id).cents = *amount;
            }
            SimCmd::CommitIntention { id, cents: amount } => {
                let r = self.record(*id, "commit #N")?.clone();
                Self::may_change(ev, &r.room, w)?;
                if r.kind != "intention"
                    || r.state != "active"
                    || r.giver != sender
                    || r.initiative.is_some()
                {
                    return fail(&format!("the record was {r:?}"));
                }
                let amount = amount.unwrap_or(r.cents);
                if amount <= 0 || amount > r.cents {
                    return fail(&format!("committed {amount} of an intention of {}", r.cents));
                }
                let (new_id, shown) = Self::shown(result)?;
                if shown.kind != "obligation"
                    || shown.cents != amount
                    || !shown_matches(shown.state, "open")
                {
                    return fail("the reply's obligation is not what was committed");
                }
                if amount == r.cents {
                    if new_id != *id {
                        return fail("a full commit changed the record's number");
                    }
                    let rec = self.record_mut(*id);
                    rec.kind = "obligation";
                    rec.state = "open";
                    rec.created = w.now;
                } else {
                    let rest = &result["rest"];
                    if new_id == *id
                        || self.records.contains_key(&new_id)
                        || rest["id"].as_i64() != Some(*id)
                        || cents(&rest["amount"])? != r.cents - amount
                    {
                        return fail("a partial commit is not conserved");
                    }
                    self.record_mut(*id).cents = r.cents - amount;
                    let obligation = MRecord {
                        kind: "obligation",
                        state: "open",
                        cents: amount,
                        created: w.now,
                        ..r
                    };
                    self.records.insert(new_id, obligation);
                }
            }
            SimCmd::Paid { id } | SimCmd::Confirm { id } | SimCmd::Forgive { id } => {
                let r = self.record(*id, "a settling command")?.clone();
                Self::may_change(ev, &r.room, w)?;
                let (party, from, to) = match ev.cmd {
                    SimCmd::Paid { .. } => (&r.giver, &["open"][..], "paid"),
                    SimCmd::Confirm { .. } => (&r.recipient, &["open", "paid"][..], "fulfilled"),
                    _ => (&r.recipient, &["open", "paid"][..], "forgiven"),
                };
                if r.kind != "obligation" || party != sender || !from.contains(&r.state) {
                    return fail(&format!("the record was {r:?}"));
                }
                let (shown_id, shown) = Self::shown(result)?;
                if shown_id != *id || !shown_matches(shown.state, to) || shown.cents != r.cents {
                    return fail("the reply shows another record or state");
                }
                self.record_mut(*id).state = to;
                if to == "fulfilled" {
                    self.record_mut(*id).fulfilled_at = Some(w.now);
                }
                // A red collection completed by this confirmation: the circle's other open
                // obligations are cancelled (SPEC §3.2), announced in the circle.
                let completed = others.iter().any(|o| o["notice"] == "collection-complete");
                if completed {
                    if !matches!(ev.cmd, SimCmd::Confirm { .. })
                        || self.circle_owner(&r.room).is_none()
                    {
                        return fail(
                            "a collection completed by something else than a confirmation in a \
                             circle",
                        );
                    }
                    for rec in self.records.values_mut() {
                        if rec.room == r.room
                            && rec.kind == "obligation"
                            && matches!(rec.state, "open" | "paid")
                        {
                            rec.state = "cancelled";
                        }
                    }
                }
            }
            SimCmd::Withdraw { id } => {
                let r = self.record(*id, "withdraw #N")?.clone();
                Self::may_change(ev, &r.room, w)?;
                if r.kind != "intention" || r.state != "active" || r.giver != sender {
                    return fail(&format!("the record was {r:?}"));
                }
                self.record_mut(*id).state = "withdrawn";
            }
            SimCmd::Remind { id } => {
                let r = self.record(*id, "remind #N")?;
                if r.recipient != sender || !matches!(r.state, "active" | "open") {
                    return fail(&format!("the record was {r:?}"));
                }
            }
            SimCmd::CircleOpen => {
                if ev.in_dm {
                    // The room is made and bound by the outbox (`Outbox::create_circle`).
                    if !result["room_id"].is_null() {
                        return fail("a circle opened from a DM names a room already");
                    }
                } else {
                    if self.circles.contains_key(sender)
                        || self.circle_owner(&ev.room).is_some()
                        || self.pools.contains_key(&ev.room)
                    {
                        return fail("a second circle of an owner, or of a room, or in a pool");
                    }
                    if self.initiatives.values().any(|i| i.room == ev.room) {
                        return fail("a circle bound where initiatives live");
                    }
                    if result["room_id"].as_str() != Some(ev.room.as_str()) {
                        return fail("the reply names another room");
                    }
                    self.circles.insert(sender.to_owned(), ev.room.clone());
                }
            }
            SimCmd::CircleShow => self.check_circle_view(ev, result, w.cycle_start)?,
            SimCmd::Mine => self.check_mine(ev, result)?,
            SimCmd::StatusGreen => self.cancel_intentions_for(sender),
            SimCmd::CircleInvite | SimCmd::Profile | SimCmd::Interest => {}
            SimCmd::PoolCreate
            | SimCmd::PoolShow
            | SimCmd::PoolRule { .. }
            | SimCmd::Pledge { .. }
            | SimCmd::PoolLeave
            | SimCmd::Claim { .. }
            | SimCmd::Vote { .. } => self.apply_pool(ev, result, w)?,
            SimCmd::Propose { .. }
            | SimCmd::Back { .. }
            | SimCmd::InitiativeShow { .. }
            | SimCmd::Initiatives
            | SimCmd::InitiativeGoal { .. } => self.apply_initiative(ev, result, w)?,
            SimCmd::ClearingSet { .. }
            | SimCmd::ClearingShow
            | SimCmd::Keep { .. }
            | SimCmd::AdminClearingPreview => self.apply_clearing_command(ev, result)?,
            SimCmd::ForgetMe { confirm: false } => {
                if result["pending"] != true {
                    return fail("`forget-me` did not ask for its confirmation");
                }
                self.forget_pending.insert(sender.to_owned(), w.now);
            }
            SimCmd::ForgetMe { confirm: true } => {
                let pending = self.forget_pending.remove(sender);
                if pending.is_none_or(|at| w.now - at > FORGET_WINDOW_MS) {
                    return fail(&format!("erased without a recent request ({pending:?})"));
                }
                self.forget(sender);
            }
            SimCmd::AdminStats => {
                let counts = &result["counts"];
                let count = |pred: &dyn Fn(&MRecord) -> bool| {
                    self.records.values().filter(|r| pred(r)).count() as i64
                };
                let expected = [
                    ("records", self.records.len() as i64),
                    ("circles", self.circles.len() as i64),
                    ("active_intentions", count(&|r| r.state == "active")),
                    (
                        "open_obligations",
                        count(&|r| r.kind == "obligation" && matches!(r.state, "open" | "paid")),
                    ),
                ];
                for (key, n) in expected {
                    if counts[key].as_i64() != Some(n) {
                        return fail(&format!("the model has {key} {n}"));
                    }
                }
            }
            SimCmd::AdminRun { job } => {
                if result["job"] != job.name() {
                    return fail("the reply names another job");
                }
            }
        }
        Ok(())
    }

    /// Going green or being forgotten cancels the intentions in the member's favour (SPEC §3.1),
    /// not the backings of their initiatives.
    fn cancel_intentions_for(&mut self, member: &str) {
        for rec in self.records.values_mut() {
            if rec.recipient == member
                && rec.kind == "intention"
                && rec.state == "active"
                && rec.initiative.is_none()
            {
                rec.state = "cancelled";
            }
        }
    }

    /// `forget-me confirm` as the bot does it: the intentions in the member's favour cancelled,
    /// their opt-in to the set-off gone (with their profile and payment details).
    ///
    /// KNOWN BUG `forget-me` (not fixed here): SPEC §3.1 asks more, which the bot does not do:
    /// their own open intentions cancelled, their pledges and backings withdrawn, their circle
    /// unbound (and records showing a pseudonym, not checked here). With `strict_forget`
    /// (EXODUS_SIM_KNOWN_BUGS=forget-me) the model does what the SPEC says, and a seed that
    /// forgets a member who has any of those fails on the difference: replay with
    /// EXODUS_SIM_KNOWN_BUGS=forget-me EXODUS_SIM_SEED=1 (SQLite: a circle still bound).
    fn forget(&mut self, member: &str) {
        self.cancel_intentions_for(member);
        self.opted.remove(member);
        if !self.strict_forget {
            return;
        }
        for rec in self.records.values_mut() {
            if rec.giver == member && rec.kind == "intention" && rec.state == "active" {
                rec.state = if rec.initiative.is_some() { "withdrawn" } else { "cancelled" };
            }
        }
        for pool in self.pools.values_mut() {
            pool.pledges.remove(member);
        }
        self.circles.remove(member);
    }

    /// A member left a room (the pipeline claimed the leave): their open intentions in that
    /// circle and their backings of its initiatives are withdrawn, their pledge to its pool
    /// ends (V2, V3).
    pub fn member_left(&mut self, room: &str, member: &str) {
        let circle = self.circle_owner(room).is_some();
        for rec in self.records.values_mut() {
            if rec.room == room
                && rec.giver == member
                && rec.state == "active"
                && (circle || rec.initiative.is_some())
            {
                rec.state = "withdrawn";
            }
        }
        if let Some(pool) = self.pools.get_mut(room) {
            pool.pledges.remove(member);
        }
    }

    /// `circle`: its figures and records are the model's at the time it was decided.
    fn check_circle_view(
        &self,
        ev: &EventInfo,
        result: &Value,
        cycle_start: i64,
    ) -> Result<(), String> {
        let Some(owner) = self.circle_owner(&ev.room) else {
            return Err(format!("`circle` succeeded in {}, which is no circle", ev.room));
        };
        let records: Vec<(&i64, &MRecord)> =
            self.records.iter().filter(|(_, r)| r.room == ev.room).collect();
        let sum = |pred: &dyn Fn(&MRecord) -> bool| -> i64 {
            records.iter().filter(|(_, r)| pred(r)).map(|(_, r)| r.cents).sum()
        };
        let intentions = sum(&|r| r.kind == "intention" && r.state == "active");
        let obligations = sum(&|r| r.kind == "obligation" && matches!(r.state, "open" | "paid"));
        let open: Vec<(i64, i64, &str)> = records
            .iter()
            .filter(|(_, r)| r.open())
            .map(|(id, r)| (**id, r.cents, r.state))
            .collect();
        let shown = shown_records(result)?;
        let wrong = result["owner"] != owner
            || cents(&result["intentions"])? != intentions
            || cents(&result["obligations"])? != obligations
            || !same_records(&shown, &open);
        // Fulfilled (confirmed or set off) this cycle; a red collection counts its own (not
        // checked).
        let fulfilled = sum(&|r| {
            r.kind == "obligation"
                && matches!(r.state, "fulfilled" | "cleared")
                && r.fulfilled_at.is_some_and(|at| at >= cycle_start)
        });
        let wrong =
            wrong || (result["status"] != "red" && cents(&result["fulfilled"])? != fulfilled);
        if wrong {
            return Err(format!(
                "`circle` in {} shows other figures than its records: the model has \
                 intentions {intentions}, obligations {obligations}, fulfilled {fulfilled}, \
                 open {open:?}; the reply {result}",
                ev.room
            ));
        }
        // 🙏 = 💰 − 🤝 − 👍, never below 0.
        if let Ok(requested) = cents(&result["requested"]) {
            let expected =
                (requested - cents(&result["obligations"])? - cents(&result["fulfilled"])?).max(0);
            if cents(&result["needed"])? != expected {
                return Err(format!("`circle`'s needed does not add up: {result}"));
            }
        }
        Ok(())
    }

    /// `mine`: the sender's open records (in a circle room, that circle's only).
    fn check_mine(&self, ev: &EventInfo, result: &Value) -> Result<(), String> {
        let open: Vec<(i64, i64, &str)> = self
            .records
            .iter()
            .filter(|(_, r)| r.open() && (r.giver == ev.sender || r.recipient == ev.sender))
            .filter(|(_, r)| ev.in_dm || r.room == ev.room)
            .map(|(id, r)| (*id, r.cents, r.state))
            .collect();
        let shown = shown_records(result)?;
        if !same_records(&shown, &open) {
            return Err(format!(
                "`mine` of {} in {} shows {shown:?}; the model has {open:?}",
                ev.sender, ev.room
            ));
        }
        Ok(())
    }

    // ------------------------------------------------------------ the jobs

    /// The overdue marks of a job run at `as_of`: obligations open or paid whose due date passed
    /// (the model knows it for pools' and initiatives').
    fn mark_overdue(&mut self, as_of: i64) {
        for r in self.records.values_mut() {
            if r.kind == "obligation"
                && matches!(r.state, "open" | "paid")
                && r.due.is_some_and(|due| due < as_of)
            {
                r.overdue = true;
            }
        }
    }

    /// The deadlines job run at `as_of` (SPEC §4): overdue marks; every vote window closed by
    /// then decided in order (quorum, strict approval; an approved claim's shares become
    /// obligations to the claimant due in `pay_days`, their numbers read from `db`); members
    /// with an overdue pool obligation excluded; initiatives past their deadline unfunded lapse
    /// (their backings cancelled).
    pub fn deadlines(
        &mut self,
        as_of: i64,
        cycle_start: i64,
        db: &BTreeMap<i64, DbRecord>,
    ) -> Result<(), String> {
        self.mark_overdue(as_of);
        self.close_claims(as_of, cycle_start, db)?;
        self.exclude_overdue();
        self.lapse_initiatives(as_of);
        Ok(())
    }

    /// The monthly rollover into the cycle that began at `start` (SPEC §4), run at `now`: the
    /// circle intentions made before it expire (not the backings of initiatives: they are no
    /// circle's); each obligation fulfilled in the past cycle (from `previous`) in the circle of
    /// an owner who is orange now renews once as an intention of the same amount; obligations
    /// past due are overdue; the pledges of pools renewed by hand lapse, the others carry over;
    /// members with an overdue pool obligation are excluded. `renewals` are the database's (new
    /// record, obligation renewed); `orange` the owners orange now, or `None` when the model
    /// cannot know who was orange at the run (it ran inside a batch of commands): then only what
    /// it renewed is checked, not that it renewed everything due.
    pub fn rollover(
        &mut self,
        previous: i64,
        start: i64,
        now: i64,
        renewals: &BTreeMap<i64, i64>,
        orange: Option<&BTreeSet<String>>,
    ) -> Result<(), String> {
        let circle_rooms: BTreeSet<String> = self.circles.values().cloned().collect();
        for rec in self.records.values_mut() {
            if rec.kind == "intention"
                && rec.state == "active"
                && rec.created < start
                && rec.initiative.is_none()
                && circle_rooms.contains(&rec.room)
            {
                rec.state = "expired";
            }
        }
        let due: BTreeSet<i64> = self
            .records
            .iter()
            .filter(|(id, r)| {
                r.kind == "obligation"
                    && r.state == "fulfilled"
                    && r.fulfilled_at.is_some_and(|at| previous <= at && at < start)
                    && self.circles.get(&r.recipient) == Some(&r.room)
                    && orange.is_none_or(|o| o.contains(&r.recipient))
                    && !self.renewed.contains(id)
            })
            .map(|(id, _)| *id)
            .collect();
        let mut made = BTreeSet::new();
        for (&id, &from) in renewals {
            if self.records.contains_key(&id) {
                continue;
            }
            if !due.contains(&from) || !made.insert(from) {
                return Err(format!(
                    "the rollover made #{id} renewing #{from}, which it must not renew"
                ));
            }
            let o = self.records[&from].clone();
            let renewal = MRecord {
                kind: "intention",
                state: "active",
                created: now,
                fulfilled_at: None,
                due: None,
                overdue: false,
                ..o
            };
            self.records.insert(id, renewal);
            self.renewed.insert(from);
        }
        if orange.is_some() && made != due {
            let missing: Vec<_> = due.difference(&made).collect();
            return Err(format!(
                "the rollover did not renew the fulfilled obligations {missing:?}"
            ));
        }
        self.mark_overdue(now);
        for pool in self.pools.values_mut() {
            let manual = pool.rules.manual;
            pool.pledges.retain(|_, (_, cycle)| !manual || *cycle >= start);
            for (_, cycle) in pool.pledges.values_mut() {
                *cycle = (*cycle).max(start);
            }
        }
        self.exclude_overdue();
        Ok(())
    }

    /// The pools' rules, pledges, claims and their ballots, initiatives, opt-ins and keeps, one
    /// line each, as `Inspector::domain` reads them from the database.
    pub fn domain(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        for (room, p) in &self.pools {
            let r = &p.rules;
            let renew = if r.manual { "manual" } else { "auto" };
            let max = or_dash(r.max_claim.map(|c| c.to_string()));
            out.insert(format!(
                "pool|{room}|{}|{}|{}|{max}|{renew}",
                p.name, r.vote_hours, r.pay_days
            ));
            for (member, (cents, cycle)) in &p.pledges {
                out.insert(format!("pledge|{room}|{member}|{cents}|{cycle}"));
            }
        }
        for (id, c) in &self.claims {
            let verdict = c.verdict.unwrap_or("-");
            let covered = or_dash(c.covered.map(|c| c.to_string()));
            out.insert(format!(
                "claim|{id}|{}|{}|{}|{}|{verdict}|{covered}|{}",
                c.room, c.claimant, c.cents, c.state, c.closes
            ));
            for (n, (voter, yes, _)) in c.ballots.iter().enumerate() {
                let vote = if *yes { "yes" } else { "no" };
                out.insert(format!("ballot|{id}|{}|{voter}|{vote}", n + 1));
            }
        }
        for (id, i) in &self.initiatives {
            out.insert(format!(
                "initiative|{id}|{}|{}|{}|{}|{}",
                i.room, i.proposer, i.goal, i.deadline, i.state
            ));
        }
        out.extend(self.opted.iter().map(|m| format!("opted|{m}")));
        out.extend(self.kept.iter().map(|(id, m)| format!("kept|{id}|{m}")));
        out
    }

    /// The model and the database's ledger, record by record: `None` when they agree.
    pub fn diff(&self, db: &BTreeMap<i64, DbRecord>) -> Option<String> {
        let ids: BTreeSet<i64> = self.records.keys().chain(db.keys()).copied().collect();
        let mut out = Vec::new();
        for id in ids {
            match (self.records.get(&id), db.get(&id)) {
                (Some(m), Some(d)) if m.same_as(d) => {}
                (m, d) => out.push(format!("#{id}: model {m:?}, database {d:?}")),
            }
        }
        (!out.is_empty()).then(|| out.join("\n  "))
    }
}

/// The records a result lists: (id, amount, shown state).
fn shown_records(result: &Value) -> Result<Vec<(i64, i64, String)>, String> {
    if !result["more"].is_null() {
        return Err(format!("a list was cut in a small simulation: {result}"));
    }
    let list = result["records"].as_array().ok_or_else(|| format!("no records in {result}"))?;
    let mut shown = list
        .iter()
        .map(|r| {
            Ok((
                r["id"].as_i64().ok_or("a record without id")?,
                cents(&r["amount"])?,
                r["state"].as_str().unwrap_or_default().to_owned(),
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    shown.sort();
    Ok(shown)
}

fn same_records(shown: &[(i64, i64, String)], model: &[(i64, i64, &str)]) -> bool {
    shown.len() == model.len()
        && shown
            .iter()
            .zip(model)
            .all(|((i, c, s), (mi, mc, ms))| i == mi && c == mc && shown_matches(s, ms))
}

/// Every record a message's result shows: (id, parties), from record objects (`from`/`to`) and
/// digest entries (`giver`/`recipient`) at any depth.
pub fn records_shown(value: &Value, out: &mut Vec<(i64, String, String)>) {
    match value {
        Value::Object(map) => {
            if let Some(id) = map.get("id").and_then(Value::as_i64) {
                let parties = match (map.get("from"), map.get("to")) {
                    (Some(Value::String(f)), Some(Value::String(t))) => Some((f, t)),
                    _ => match (map.get("giver"), map.get("recipient")) {
                        (Some(Value::String(f)), Some(Value::String(t))) => Some((f, t)),
                        _ => None,
                    },
                };
                if let Some((from, to)) = parties {
                    out.push((id, from.clone(), to.clone()));
                }
            }
            for v in map.values() {
                records_shown(v, out);
            }
        }
        Value::Array(items) => {
            for v in items {
                records_shown(v, out);
            }
        }
        _ => {}
    }
}

/// What else a message's result shows that only some may see (V1): claims (`kind` claim),
/// initiatives (`kind` initiative, or the `initiative` a backing names) and pools (`kind` pool,
/// by name or room; a pledge's own notices name only their member), at any depth.
#[derive(Debug, Default)]
pub struct Shown {
    pub claims: BTreeSet<i64>,
    pub initiatives: BTreeSet<i64>,
    /// Pool names or rooms.
    pub pools: BTreeSet<String>,
    /// The member a pool message without a name is about.
    pub pool_members: BTreeSet<String>,
}

pub fn others_shown(value: &Value, out: &mut Shown) {
    match value {
        Value::Object(map) => {
            let id = map.get("id").and_then(Value::as_i64);
            match (map.get("kind").and_then(Value::as_str), id) {
                (Some("claim"), Some(id)) => {
                    out.claims.insert(id);
                }
                (Some("initiative"), Some(id)) => {
                    out.initiatives.insert(id);
                }
                (Some("pool"), _) => {
                    if let Some(name) = map.get("name").and_then(Value::as_str) {
                        out.pools.insert(name.to_owned());
                    } else if let Some(room) = map.get("room_id").and_then(Value::as_str) {
                        out.pools.insert(room.to_owned());
                    } else if let Some(member) = map.get("member").and_then(Value::as_str) {
                        out.pool_members.insert(member.to_owned());
                    }
                }
                _ => {}
            }
            if let Some(i) = map.get("initiative").and_then(Value::as_i64) {
                out.initiatives.insert(i);
            }
            for v in map.values() {
                others_shown(v, out);
            }
        }
        Value::Array(items) => {
            for v in items {
                others_shown(v, out);
            }
        }
        _ => {}
    }
}

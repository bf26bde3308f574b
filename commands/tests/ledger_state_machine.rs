//! Property tests of the ledger state machine (SPEC §3.2): random sequences of commands by the
//! owner, supporters and an outsider, typed as a member would type them, parsed and decided by
//! the real code, with the decided writes applied to an in-memory ledger. After every step:
//!
//! - no transition SPEC forbids happened (an obligation never turns back into an intention, a
//!   closed record never changes, only the giver withdraws, commits or reports `paid`, only the
//!   recipient confirms or forgives, a partial commit keeps the sum, the parties and the room of a
//!   record never change);
//! - a refused command changed nothing (its decision carries no write);
//! - the figures add up: ❤️ is the sum of the active intentions, 🤝 of the open obligations,
//!   👍 of the counted fulfilments, 🙏 = 💰 − 🤝 − 👍 never below zero, and the records `circle`
//!   lists sum to the figures it shows.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use exodus_commands::Effect;
use exodus_commands::ledger::{CircleFacts, RoomFacts, World, decide_ledger};
use exodus_commands::ledger::{Kind, Record, State};
use exodus_commands::profile::{Need, needed};
use exodus_commands::{Amount, Command, MemberId, Profile, Reply, parse};
use proptest::prelude::*;

const ROOM: &str = "!circle:a.org";
const DM: &str = "!dm:a.org";

fn member(n: usize) -> MemberId {
    // 0 is the owner, 1..=3 supporters (one on another homeserver), 4 an outsider.
    let id = match n {
        0 => "@owner:a.org",
        1 => "@bob:a.org",
        2 => "@carol:b.org",
        3 => "@dave:a.org",
        _ => "@eve:c.org",
    };
    MemberId::parse(id).unwrap()
}

const OUTSIDER: usize = 4;

#[derive(Clone, Debug)]
enum Step {
    /// A command by a member, in the circle room or in their DM with the bot. Record commands
    /// name one of the records that exist (`pick`), or a number that does not; `party` makes the
    /// sender the party the command is meant for (the giver for `paid`, the recipient for
    /// `confirm`, …), otherwise the sender is member `who`, whoever that is.
    Act { action: Action, pick: usize, party: bool, who: usize, in_dm: bool, amount: String },
    /// The owner's status changes (the profile command's effect on the circle is the pipeline's;
    /// here only the need the circle's decisions read).
    Need(NeedChoice),
    /// Time passes.
    Wait { hours: i64 },
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Intend,
    IntendFor,
    Change,
    Withdraw,
    CommitAll,
    CommitPart,
    CommitDirect,
    Remind,
    Paid,
    Confirm,
    Forgive,
    Circle,
    Mine,
}

#[derive(Clone, Debug)]
enum NeedChoice {
    Orange(i64),
    Red(i64),
}

fn amount_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (1i64..50_000).prop_map(|c| format!("{}.{:02}", c / 100, c % 100)),
        4 => (1i64..500).prop_map(|n| n.to_string()),
        1 => Just("0".to_owned()),
        1 => Just("-5".to_owned()),
        1 => Just("1.234".to_owned()),
        1 => Just("1000000000000000000000000000000".to_owned()),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    use Action::*;
    prop_oneof![
        4 => Just(Intend), 1 => Just(IntendFor), 2 => Just(Change), 2 => Just(Withdraw), 2 => Just(CommitAll),
        3 => Just(CommitPart), 2 => Just(CommitDirect), 1 => Just(Remind), 3 => Just(Paid), 3 => Just(Confirm),
        1 => Just(Forgive), 1 => Just(Circle), 1 => Just(Mine),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        20 => (action(), 0usize..64, prop::bool::weighted(0.8), 0usize..=OUTSIDER, prop::bool::weighted(0.2), amount_text())
            .prop_map(|(action, pick, party, who, in_dm, amount)| Step::Act { action, pick, party, who, in_dm, amount }),
        1 => (100i64..100_000).prop_map(|c| Step::Need(NeedChoice::Orange(c))),
        1 => (100i64..100_000).prop_map(|c| Step::Need(NeedChoice::Red(c))),
        1 => (1i64..72).prop_map(|hours| Step::Wait { hours }),
    ]
}

struct Model {
    owner: Profile,
    records: Vec<Record>,
    now: DateTime<Utc>,
    cycle_start: DateTime<Utc>,
}

impl Model {
    fn new() -> Model {
        let mut owner = Profile::new(member(0));
        owner.need = Need::Orange { requested: Amount::from_cents(30_000).unwrap(), note: None };
        let cycle_start = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        Model { owner, records: Vec::new(), now: cycle_start + Duration::hours(1), cycle_start }
    }

    fn facts(&self) -> CircleFacts {
        CircleFacts {
            owner: self.owner.clone(),
            room_id: ROOM.to_owned(),
            records: self.records.clone(),
            cycle_start: self.cycle_start,
        }
    }

    /// Turns an [`Step::Act`] into the sender and the text they type.
    fn act(
        &self,
        action: Action,
        pick: usize,
        party: bool,
        who: usize,
        amount: &str,
    ) -> (usize, String) {
        use Action::*;
        let record = (!self.records.is_empty() && pick < 48)
            .then(|| &self.records[pick % self.records.len()]);
        let id = record.map_or(pick as i64 + 1, |r| r.id);
        let index_of = |m: &MemberId| (0..=OUTSIDER).find(|n| &member(*n) == m).unwrap_or(who);
        let giver = record.map_or(who, |r| index_of(&r.giver));
        let sender = match action {
            _ if !party => who,
            Change | Withdraw | CommitAll | CommitPart | Paid => giver,
            Remind | Confirm | Forgive => 0,
            Intend | IntendFor | CommitDirect | Circle | Mine => who,
        };
        let text = match action {
            Intend => format!("!intend {amount}"),
            IntendFor => format!("!intend {amount} for \"2h plumbing\""),
            Change => format!("!intend #{id} {amount}"),
            Withdraw => format!("!withdraw #{id}"),
            CommitAll => format!("!commit #{id}"),
            CommitPart => format!("!commit #{id} {amount}"),
            CommitDirect => format!("!commit {amount}"),
            Remind => format!("!remind #{id}"),
            Paid => format!("!paid #{id}"),
            Confirm => format!("!confirm #{id}"),
            Forgive => format!("!forgive #{id}"),
            Circle => "!circle".to_owned(),
            Mine => "!mine".to_owned(),
        };
        (sender, text)
    }

    /// Decides `text` typed by `who` and applies the writes; returns the decision's result.
    fn run(&mut self, who: usize, in_dm: bool, text: &str) -> Result<(), TestCaseError> {
        let sender = member(who);
        let Some(parsed) = parse(text, &["!".to_owned()]) else { return Ok(()) };
        let Ok(cmd) = parsed.command else { return Ok(()) };
        prop_assert!(cmd.is_ledger(), "{text:?} parsed as {cmd:?}");
        let room = RoomFacts {
            room_id: if in_dm { DM.to_owned() } else { ROOM.to_owned() },
            in_dm,
            sender_power: 0,
            world_readable: false,
            circle_owner: (!in_dm).then(|| member(0)),
            is_pool: false,
            has_initiatives: false,
        };
        let record =
            cmd.record_id().and_then(|id| self.records.iter().find(|r| r.id == id)).cloned();
        // The room's circle, or the named record's (the only circle here).
        let circle = (!in_dm || record.is_some()).then(|| self.facts());
        let own: Vec<Record> = self
            .records
            .iter()
            .filter(|r| r.giver == sender || r.recipient == sender)
            .cloned()
            .collect();
        let next_id = self.records.iter().map(|r| r.id).max().unwrap_or(0) + 1;
        let world = World {
            sender: &sender,
            now: self.now,
            tz: chrono_tz::UTC,
            room: &room,
            record: record.as_ref(),
            circle: circle.as_ref(),
            record_in_pool: false,
            record_initiative: None,
            joined_circle: who != OUTSIDER,
            own_circle: None,
            mentions: &[],
            own_records: &own,
            next_id,
            network: None,
            reliability: Default::default(),
        };
        let before = self.records.clone();
        let before_owner = self.owner.clone();
        let Ok(decision) = decide_ledger(&cmd, &world) else {
            // A refusal carries no decision, so nothing can be written.
            return Ok(());
        };
        if who == OUTSIDER {
            prop_assert!(
                decision.effects.is_empty(),
                "an outsider changed the circle with {text:?}: {:?}",
                decision.effects
            );
            prop_assert!(
                matches!(decision.reply, Reply::Records { .. }),
                "an outsider was answered {:?}",
                decision.reply
            );
        }
        for write in &decision.effects {
            match write {
                Effect::InsertRecord(r) => {
                    prop_assert!(
                        self.records.iter().all(|o| o.id != r.id),
                        "{text:?} reused #{}",
                        r.id
                    );
                    prop_assert_eq!(r.id, next_id);
                    self.records.push(r.clone());
                }
                Effect::UpdateRecord(r) => {
                    let slot = self.records.iter_mut().find(|o| o.id == r.id);
                    prop_assert!(
                        slot.is_some(),
                        "{text:?} updated a record that does not exist: {r:?}"
                    );
                    *slot.unwrap() = r.clone();
                }
                Effect::SaveProfile(p) => {
                    prop_assert_eq!(&p.member, &self.owner.member);
                    self.owner = p.clone();
                }
                other => prop_assert!(false, "{text:?} wrote {other:?}"),
            }
        }
        check_transitions(&cmd, &sender, &before, &self.records, &before_owner, &self.owner, text)?;
        Ok(())
    }
}

/// Every change from `before` to `after` made by `cmd` from `sender` is one SPEC allows.
fn check_transitions(
    cmd: &Command,
    sender: &MemberId,
    before: &[Record],
    after: &[Record],
    owner_before: &Profile,
    owner_after: &Profile,
    text: &str,
) -> Result<(), TestCaseError> {
    let completed = owner_before.need.level() != owner_after.need.level();
    for new in after {
        let Some(old) = before.iter().find(|o| o.id == new.id) else {
            // A new record: by a supporter, never the owner; an intention only while orange.
            prop_assert!(
                new.giver != new.recipient && new.recipient == member(0),
                "{text:?} made {new:?}"
            );
            prop_assert_eq!(&new.giver, sender);
            prop_assert!(!new.amount.is_zero());
            match new.kind {
                Kind::Intention => {
                    prop_assert_eq!(new.state, State::Active);
                    prop_assert!(
                        matches!(owner_before.need, Need::Orange { .. }),
                        "an intention while not orange: {text:?}"
                    );
                }
                Kind::Obligation => {
                    prop_assert_eq!(new.state, State::Open);
                    prop_assert!(new.due.is_some(), "an obligation without a due date");
                    prop_assert!(!matches!(owner_before.need, Need::Green));
                }
            }
            continue;
        };
        if old == new {
            continue;
        }
        prop_assert_eq!(
            (&old.giver, &old.recipient, &old.room_id),
            (&new.giver, &new.recipient, &new.room_id),
            "{}",
            text
        );
        prop_assert!(old.is_open(), "{text:?} changed a closed record: {old:?} -> {new:?}");
        prop_assert!(
            !(old.kind == Kind::Obligation && new.kind == Kind::Intention),
            "an obligation became an intention: {text:?}"
        );
        match (old.state, new.state) {
            // The giver changes an intention's amount, or commits part of it.
            (State::Active, State::Active) => {
                prop_assert_eq!(sender, &old.giver, "{}", text);
                if matches!(cmd, Command::CommitIntention { .. }) {
                    let obligation = after.iter().find(|r| !before.iter().any(|b| b.id == r.id));
                    prop_assert!(obligation.is_some(), "a partial commit without an obligation");
                    let o = obligation.unwrap();
                    prop_assert_eq!(
                        o.amount.cents() + new.amount.cents(),
                        old.amount.cents(),
                        "a partial commit lost or made money"
                    );
                    prop_assert_eq!(o.kind, Kind::Obligation);
                }
            }
            // The whole intention committed: it becomes the obligation, same amount.
            (State::Active, State::Open) => {
                prop_assert_eq!(sender, &old.giver, "{}", text);
                prop_assert_eq!((old.kind, new.kind), (Kind::Intention, Kind::Obligation));
                prop_assert_eq!(old.amount, new.amount);
            }
            (State::Active, State::Withdrawn) => prop_assert_eq!(sender, &old.giver, "{}", text),
            (State::Open, State::Paid) => prop_assert_eq!(sender, &old.giver, "{}", text),
            (State::Open | State::Paid, State::Fulfilled | State::Forgiven) => {
                prop_assert_eq!(sender, &old.recipient, "{}", text)
            }
            // A red collection completed on the recipient's confirmation: the rest is cancelled.
            (State::Open | State::Paid, State::Cancelled) => {
                prop_assert!(
                    completed && sender == &old.recipient,
                    "cancelled without a completed collection: {text:?}"
                );
            }
            (from, to) => prop_assert!(false, "{text:?} moved #{} from {from:?} to {to:?}", old.id),
        }
        if old.kind == new.kind && new.state.is_open() {
            let changing = matches!(cmd, Command::IntendChange { .. });
            prop_assert!(
                changing || new.amount <= old.amount,
                "{text:?} raised #{} from {} to {}",
                old.id,
                old.amount,
                new.amount
            );
        }
    }
    prop_assert!(
        before.iter().all(|b| after.iter().any(|a| a.id == b.id)),
        "a record disappeared: {text:?}"
    );
    Ok(())
}

/// The figures, summed here from the records independently of `ledger::circle_totals`.
fn check_figures(model: &Model) -> Result<(), TestCaseError> {
    let facts = model.facts();
    let (totals, supporters) = facts.totals();
    let sum = |keep: &dyn Fn(&Record) -> bool| -> i64 {
        model.records.iter().filter(|r| keep(r)).map(|r| r.amount.cents()).sum()
    };
    let counted_fulfilment = |r: &Record| match &model.owner.need {
        Need::Red { deadline, .. } => r.due == Some(*deadline),
        _ => r.changed_at >= model.cycle_start,
    };
    prop_assert_eq!(
        totals.intentions.cents(),
        sum(&|r| r.kind == Kind::Intention && r.state == State::Active)
    );
    prop_assert_eq!(
        totals.obligations.cents(),
        sum(&|r| r.kind == Kind::Obligation && matches!(r.state, State::Open | State::Paid))
    );
    prop_assert_eq!(
        totals.fulfilled.cents(),
        sum(&|r| r.kind == Kind::Obligation
            && r.state == State::Fulfilled
            && counted_fulfilment(r))
    );
    let givers: BTreeSet<&MemberId> = model
        .records
        .iter()
        .filter(|r| r.is_open() || (r.state == State::Fulfilled && counted_fulfilment(r)))
        .map(|r| &r.giver)
        .collect();
    prop_assert_eq!(supporters as usize, givers.len());
    let need = needed(&model.owner.need, &totals);
    prop_assert!(need.cents() >= 0);
    if let Some(requested) = model.owner.need.requested() {
        let expected =
            (requested.cents() - totals.obligations.cents() - totals.fulfilled.cents()).max(0);
        prop_assert_eq!(need.cents(), expected);
    }
    // What `circle` lists adds up to what it shows.
    let view = facts.view();
    let listed = |kind: Kind| {
        view.records.iter().filter(|r| r.kind == kind).map(|r| r.amount.cents()).sum::<i64>()
    };
    prop_assert_eq!(listed(Kind::Intention), view.totals.intentions.cents());
    prop_assert_eq!(listed(Kind::Obligation), view.totals.obligations.cents());
    for r in &model.records {
        prop_assert!(r.amount.cents() >= 0);
        prop_assert!(
            r.kind == Kind::Obligation
                || matches!(
                    r.state,
                    State::Active | State::Withdrawn | State::Expired | State::Cancelled
                )
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn random_command_sequences_keep_the_ledger_consistent(steps in prop::collection::vec(step(), 1..120)) {
        let mut model = Model::new();
        for step in &steps {
            match step {
                Step::Act { action, pick, party, who, in_dm, amount } => {
                    let (sender, text) = model.act(*action, *pick, *party, *who, amount);
                    model.run(sender, *in_dm, &text)?;
                }
                Step::Need(choice) => {
                    model.owner.need = match choice {
                        NeedChoice::Orange(c) => Need::Orange { requested: Amount::from_cents(*c).unwrap(), note: None },
                        NeedChoice::Red(c) => model.owner.need.red(Amount::from_cents(*c).unwrap(), 7, None, model.now),
                    };
                }
                Step::Wait { hours } => model.now += Duration::hours(*hours),
            }
            check_figures(&model)?;
        }
    }
}

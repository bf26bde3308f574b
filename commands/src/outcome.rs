//! What deciding a command produced ([`Outcome`]): the effects to persist and what to say, still
//! structured.
//! `render` turns a [`Reply`] into text, HTML and `org.exodus.result`.

use chrono::{DateTime, Utc};

use crate::Amount;
use crate::ids::{Lang, MemberId};
use crate::ledger::Record;
use crate::profile::{LedgerFacts, Need, PaymentMethod, Profile, Totals};

/// What deciding a command produced, in every family: the effects to apply in the command's
/// transaction (in order), the reply in the room the command came from, a private reply to the
/// sender's DM, and notifications. The bot applies it in one place (`Pipeline::apply`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub effects: Vec<Effect>,
    /// The reply in the room where the command was sent.
    pub reply: Reply,
    /// A private reply sent to the sender's DM with the bot (V8: payment details asked for in a
    /// shared room go there; private lists asked for in a room).
    pub private: Option<Reply>,
    pub notices: Vec<Notice>,
}

impl Outcome {
    /// A reply that changes nothing (reads).
    pub fn read(reply: Reply) -> Outcome {
        Outcome { effects: Vec::new(), reply, private: None, notices: Vec::new() }
    }

    /// A reply with the effects that go with it.
    pub fn new(effects: Vec<Effect>, reply: Reply) -> Outcome {
        Outcome { effects, reply, private: None, notices: Vec::new() }
    }

    /// Writes the member's profile back.
    pub fn save(profile: Profile, reply: Reply) -> Outcome {
        Outcome::new(vec![Effect::SaveProfile(profile)], reply)
    }

    pub fn with_notices(mut self, notices: Vec<Notice>) -> Outcome {
        self.notices = notices;
        self
    }
}

/// A change a command makes, applied by the bot in the command's transaction. Some have
/// consequences that need facts read there (a status change, forgetting a member): the bot reads
/// them and [`crate::consequence`] decides what follows, purely.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Write this profile back.
    SaveProfile(Profile),
    /// The member changed their status (SPEC §3.1, §5): what follows is decided by
    /// [`crate::consequence::status_changed`] on the facts of the transaction.
    StatusChanged { member: MemberId, before: Need, after: Need },
    /// `forget-me confirm`: erase the member's profile, payment details, language and clearing
    /// opt-in; [`crate::consequence::forgotten`] decides what follows.
    Forget(MemberId),
    /// Bind an existing room as the owner's circle (refused when a circle exists already).
    BindCircle { owner: MemberId, room_id: String },
    /// A new record (its `id` was assigned from the next free number).
    InsertRecord(Record),
    /// A record after one of its transitions (`crate::ledger`).
    UpdateRecord(Record),
    /// A change to a pool, its pledges or its claims.
    Pool(crate::pool::PoolWrite),
    /// A change to an initiative or its backings.
    Initiative(crate::initiative::InitiativeWrite),
    /// A member's clearing opt-in, or an obligation kept out of clearing.
    Clearing(crate::clearing::setoff::ClearingWrite),
    /// Matrix: create an encrypted room for the owner's circle, invite them with power 100 and
    /// bind it.
    CreateCircleRoom { owner: MemberId },
    /// Matrix: the bot invites a member to a room.
    Invite { room_id: String, member: MemberId },
    /// Matrix: edit the card of the initiative to show it as it is now.
    EditCard(crate::initiative::InitiativeView),
    /// Matrix: edit the card of this initiative, read again after the command's other effects
    /// (a backing withdrawn), if it is still active.
    RefreshCard(crate::initiative::InitiativeId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusView {
    pub owner: MemberId,
    pub need: Need,
    pub facts: LedgerFacts,
}

/// What `circle` shows: the owner's need, the figures and the open records (V1: only into the
/// circle's room or to its members).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CircleView {
    pub owner: MemberId,
    pub room_id: String,
    pub need: Need,
    pub totals: Totals,
    pub supporters: u32,
    pub records: Vec<Record>,
}

/// Where a notice goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The member's DM with the bot, in their language, unless they turned notifications off.
    Member(MemberId),
    /// A room (a circle's announcements).
    Room(String),
}

/// A notification caused by a command (SPEC §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub target: Target,
    pub reply: Reply,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum PayAction {
    Add,
    Remove,
    Default,
}

/// Which reply about an initiative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitiativeReply {
    /// `propose`: the initiative's card (kept up to date by edits).
    Proposed,
    /// `back`: the sender's backing with the card.
    Backed,
    /// `initiative #I` and `initiative #I goal`: the card as it is.
    Shown,
}

/// What a ledger command did to the record its reply shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordDone {
    /// `intend`: a new intention, or an intention's amount changed.
    Intended,
    /// `commit`: an obligation, new or from an intention.
    Committed,
    /// `withdraw`, `remind`, `paid`, `confirm` or `forgive`.
    Action(crate::command::RecordAction),
}

/// Why a member's pledge to a pool ended; its code is `notice` in `org.exodus.result` (and part of
/// the job's transaction IDs: never change one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum PledgeEnded {
    /// `pool leave` or `pledge 0`.
    Left,
    /// The member left the pool's room.
    LeftRoom,
    /// An overdue pool obligation excluded them.
    Excluded,
    /// The rollover of a pool renewed by hand.
    Lapsed,
}

/// Which notification about a claim; its code is `notice` in `org.exodus.result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum ClaimNotice {
    /// A claim was opened: the members vote on it.
    ClaimOpened,
    /// Its vote window closed with a verdict.
    ClaimDecided,
}

/// Which notification about an initiative; its code is `notice` in `org.exodus.result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum InitiativeNotice {
    /// To the proposer: a member backed it.
    Backed,
    /// A backer left the initiative's room: their backing is withdrawn.
    Left,
    /// Backing reached the goal: the backings became obligations.
    Funded,
    /// The deadline passed before the goal: the backings are cancelled.
    Lapsed,
}

/// Which notification about a record a party gets; its code is `notice` in `org.exodus.result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum RecordNotice {
    /// To the recipient: a new intention for them.
    NewIntention,
    /// To the recipient: an intention's amount changed.
    IntentionChanged,
    /// To the recipient: an intention was withdrawn.
    IntentionWithdrawn,
    /// To the recipient: a new obligation to them.
    NewObligation,
    /// To the giver: `remind`.
    Reminder,
    /// To the recipient: the giver says it is paid (👍 on it confirms).
    PaidReported,
    /// To the giver: the recipient confirmed the payment.
    Confirmed,
    /// To the giver: the recipient forgave the obligation.
    Forgiven,
    /// To the giver: a red collection completed, so their intention was cancelled.
    CollectionCompleteCancelled,
    /// To the giver: an approved claim's share became their obligation.
    PoolObligation,
}

impl RecordNotice {
    /// The Fluent message the notice is written with.
    pub fn message(self) -> &'static str {
        match self {
            RecordNotice::NewIntention => "notice-new-intention",
            RecordNotice::IntentionChanged => "notice-intention-changed",
            RecordNotice::IntentionWithdrawn => "notice-intention-withdrawn",
            RecordNotice::NewObligation => "notice-new-obligation",
            RecordNotice::Reminder => "notice-reminder",
            RecordNotice::PaidReported => "notice-paid-reported",
            RecordNotice::Confirmed => "notice-confirmed",
            RecordNotice::Forgiven => "notice-forgiven",
            RecordNotice::CollectionCompleteCancelled => "notice-collection-cancelled",
            RecordNotice::PoolObligation => "notice-pool-obligation",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Help {
        topic: Option<&'static str>,
    },
    Status(StatusView),
    About(Option<String>),
    /// The member's own payment details; only ever rendered into their DM (V8).
    PayMethods(Vec<PaymentMethod>),
    PaySentByDm,
    /// `pay` in a circle room: how to pay the circle's owner (V8: only into that room).
    CirclePay {
        owner: MemberId,
        methods: Vec<PaymentMethod>,
    },
    PayChanged {
        action: PayAction,
        label: String,
    },
    Lang(Lang),
    Notify(bool),
    ForgetPending,
    ForgetDone,
    /// `circle open`: bound to `room_id`, or (from a DM) a room is being created.
    CircleOpened {
        owner: MemberId,
        room_id: Option<String>,
    },
    Circle(CircleView),
    CircleLink {
        room_id: String,
    },
    CircleInvited {
        member: MemberId,
    },
    /// A ledger command's record; `rest`: what stays an intention after a partial commit.
    Record {
        done: RecordDone,
        record: Record,
        rest: Option<Record>,
    },
    /// A notification about a record to one of its parties.
    Noticed {
        what: RecordNotice,
        record: Record,
    },
    /// A red collection reached its amount (announced in the circle).
    CollectionComplete {
        owner: MemberId,
        collected: Amount,
    },
    /// `mine` / `archive` (with the sender's reliability figures).
    Records {
        records: Vec<Record>,
        reliability: Option<crate::profile::Reliability>,
    },
    /// The owner went green: their open intentions are cancelled (notice to each author).
    IntentionCancelled {
        record: Record,
    },
    /// A member left the circle: their open intentions there are withdrawn (announced in the room).
    LeftCircle {
        member: MemberId,
        withdrawn: Vec<Record>,
    },
    /// `network`: the six relation lists (SPEC §6), already limited to what the asker may see.
    Network(crate::network::Network),
    /// A member's request for help, sent to their circle (orange) or their whole network (red)
    /// when their status changes (SPEC §5): the request and how to join the circle, never a
    /// record.
    HelpRequest(HelpRequest),
    /// A scheduled job's digest for one member (SPEC §4, §5): the records of theirs it changed
    /// or reminds them of.
    Digest {
        job: crate::cycle::Job,
        items: Vec<crate::cycle::DigestItem>,
    },
    /// A red collection reached its deadline before its amount (SPEC §3.2): the owner's status
    /// is back to `status`; open obligations stay payable.
    CollectionEnded {
        owner: MemberId,
        collected: Amount,
        requested: Amount,
        status: crate::profile::Level,
    },
    /// `admin run`: what the job did.
    JobRun {
        job: crate::cycle::Job,
        as_of: DateTime<Utc>,
        report: crate::cycle::JobReport,
    },
    /// `admin stats`.
    Stats(crate::cycle::Stats),
    /// `admin outbox retry|drop`: how many destinations and messages it concerned.
    OutboxChanged {
        action: crate::command::OutboxAction,
        destinations: u64,
        messages: u64,
    },
    /// `pool`: pledges, totals and the claims being voted on (V1: only into the pool's room).
    Pool(crate::pool::PoolView),
    /// `pool create`: the room is bound as a pool with these rules.
    PoolCreated {
        name: String,
        room_id: String,
        rules: Vec<(&'static str, String)>,
    },
    /// `pool rules`.
    PoolRules {
        name: String,
        rules: Vec<(&'static str, String)>,
    },
    /// `pool rule`: announced in the room and to the pledged members.
    PoolRuleChanged {
        name: String,
        key: String,
        from: String,
        to: String,
    },
    /// `pledge`: the member's pledge is now `amount` (was `previous`).
    Pledged {
        name: String,
        member: MemberId,
        amount: Amount,
        previous: Option<Amount>,
    },
    /// A member's pledge is gone, and why.
    PoolLeft {
        name: String,
        member: MemberId,
        pledge: Amount,
        why: PledgeEnded,
    },
    /// `claim` (the claim message members vote on by reacting; `ballot` is `None`) and `vote`
    /// (with the sender's ballot).
    Claim {
        view: crate::pool::ClaimView,
        ballot: Option<crate::pool::Ballot>,
    },
    /// A claim opened or decided, to the pool's room or a member of it.
    ClaimNoticed {
        what: ClaimNotice,
        view: crate::pool::ClaimView,
    },
    /// `propose` (the initiative's card, kept up to date by edits), `back` (with the sender's
    /// backing), `initiative #I` and `initiative #I goal` (V1: only into the initiative's room or
    /// the DM of a member joined to it).
    Initiative {
        kind: InitiativeReply,
        view: crate::initiative::InitiativeView,
        backing: Option<Record>,
    },
    /// `initiatives`: the room's active initiatives.
    Initiatives(Vec<crate::initiative::InitiativeView>),
    /// An initiative was backed (to the proposer), funded or lapsed (to each backer with their
    /// own record, to the proposer and to the room).
    InitiativeNoticed {
        what: InitiativeNotice,
        view: crate::initiative::InitiativeView,
        record: Option<Record>,
    },
    /// `clearing`: the member's opt-in and the last run's changes to their own obligations (DM).
    ClearingState {
        on: bool,
        last: Option<crate::clearing::setoff::LastClearing>,
    },
    /// `clearing on|off`; `changed` false when it already was so.
    ClearingSet {
        on: bool,
        changed: bool,
    },
    /// `keep #N` / `unkeep #N`; `by_other`: the other party keeps it (so it stays out either way).
    Kept {
        record: Record,
        kept: bool,
        by_other: bool,
    },
    /// `admin clearing preview|run`: the figures of a set-off now, applied or not.
    ClearingTotals {
        applied: bool,
        eligible: u64,
        total: Amount,
        cleared: Amount,
        bound: Amount,
        changed: u64,
    },
    /// After a run, to each party: the changes to their own obligations (V1).
    ClearingDigest {
        items: Vec<crate::clearing::setoff::ClearingItem>,
    },
}

/// What travels through a member's network when they ask for help (SPEC §2: the request is not
/// secret, who gave what never leaves the circle).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpRequest {
    pub owner: MemberId,
    pub need: Need,
    pub needed: Amount,
    pub supporters: u32,
    /// The owner's circle room, to ask to join (`None`: the owner has no circle yet).
    pub circle_room: Option<String>,
}

//! One command event in, one committed transaction out (SPEC §8): claim the event ID, move the
//! room cursor, decide, write the effects and the outbox rows, commit. Knows nothing of Matrix:
//! the adapter establishes the facts (membership, power, DM) through [`Rooms`], and the benchmark
//! calls it directly.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use exodus_commands::command::{
    AdminCommand, CircleCommand, Family, OutboxAction, PayCommand, StatusCommand,
};
use exodus_commands::consequence;
use exodus_commands::cycle::{FailingDestination, Job, JobRunView, Stats};
use exodus_commands::ledger::{self, CircleFacts, Cycle, RoomFacts, World};
use exodus_commands::network::{FULFILMENT_CYCLES, NetworkFacts};
use exodus_commands::outcome::{Notice, Target as NoticeTarget};
use exodus_commands::render::{Rendered, Style, render_error, render_reply};
use exodus_commands::{
    Command, CommandError, ErrorCode, Lang, LedgerFacts, MemberId, Parsed, Profile, Reply, decide,
    parse,
};
use exodus_storage::{
    Cursor, EventRef, OutboxMessage, Outcome as Claimed, Priority, Store, StoreError, Tag, Target,
    Tx,
};

use crate::action::Action;
use crate::flood::{Admission, Cooldowns, FloodControl};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod apply;
pub mod clearing;
pub mod initiatives;
pub mod pools;

use apply::Deciding;

/// Settings the pipeline needs from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    pub prefixes: Vec<String>,
    pub unit: String,
    pub default_language: Lang,
    pub timezone: Tz,
}

/// Why a room fact could not be established; the pipeline then denies (SPEC §2.1).
#[derive(Debug, thiserror::Error)]
pub enum RoomFactError {
    /// The bot is not joined to the room (or has not synced it yet): it knows nothing of it.
    #[error("the bot is not joined to {0}")]
    NotJoined(String),
    /// A room or user ID that is not one.
    #[error("not a valid Matrix ID: {0}")]
    InvalidId(String),
    /// The room state could not be read.
    #[error("the room state could not be read: {0}")]
    State(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Room facts the Matrix adapter answers from the homeserver's current room state. An error
/// means the fact could not be established, and the pipeline then denies (SPEC §2.1).
pub trait Rooms: Sync {
    /// `member` is joined to `room_id` now (federated members included).
    fn is_joined(
        &self,
        room_id: &str,
        member: &MemberId,
    ) -> impl Future<Output = Result<bool, RoomFactError>> + Send;
    /// `member`'s power level in `room_id`.
    fn power_level(
        &self,
        room_id: &str,
        member: &MemberId,
    ) -> impl Future<Output = Result<i64, RoomFactError>> + Send;
    /// Anyone can read `room_id`'s history without joining (V9).
    fn world_readable(
        &self,
        room_id: &str,
    ) -> impl Future<Output = Result<bool, RoomFactError>> + Send;
    /// The members joined to `room_id` now.
    fn joined_members(
        &self,
        room_id: &str,
    ) -> impl Future<Output = Result<Vec<MemberId>, RoomFactError>> + Send;
}

/// Where a command came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// A message typed by the sender.
    Message,
    /// A reaction on the bot's message `reacted_to`, standing for `command` (👍 on a paid notice:
    /// `confirm`; 👍 / 👎 on a claim: `vote`); only a successful result is answered (a reaction is
    /// no request to be told off).
    Reaction { reacted_to: String, command: Command },
}

/// A message event that may be a command, with the facts the adapter established about it.
#[derive(Clone, Debug)]
pub struct Incoming<'a> {
    pub event: EventRef,
    pub sender: MemberId,
    /// The command text: the message body without any reply fallback (V4).
    pub body: &'a str,
    /// The room is the sender's DM with the bot.
    pub in_dm: bool,
    /// The sender is joined to the room now (V6).
    pub sender_joined: bool,
    /// Members the message mentions by link or `m.mentions`, never by display name (V5).
    pub mentions: Vec<MemberId>,
    pub via: Via,
}

/// What [`Pipeline::handle_batch`] did: one entry per event committed, in order; `error` is the
/// database error that stopped it before the rest.
#[derive(Debug)]
pub struct BatchOutcome {
    pub handled: Vec<Handled>,
    pub error: Option<StoreError>,
}

/// How many of the next events share a transaction: a run of events that are not circle or
/// ledger commands (those decide on homeserver facts read just before them, so each goes alone)
/// nor admin commands (a job runs in a transaction of its own before them).
fn group_len(parsed: &[Option<Parsed>]) -> usize {
    let ledger = |p: &Option<Parsed>| matches!(p, Some(Parsed { command: Ok(cmd), .. }) if cmd.is_ledger() || matches!(cmd, Command::Admin(_)));
    match parsed.iter().position(ledger) {
        Some(0) => 1,
        Some(n) => n,
        None => parsed.len(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handled {
    /// Not a command: nothing written.
    NotACommand,
    /// Already decided earlier (a replay after a restart, or a second process): nothing written.
    Duplicate,
    /// Recorded and not executed (V6).
    Ignored,
    /// Executed; `ok` is false when the reply is an error.
    Applied { command: String, ok: bool },
    /// Recorded and not executed: the sender had used up their allowance (flood control).
    Refused,
}

/// The failpoint `command-panic` (see [`crate::failpoint`]): a command whose text contains
/// `failpoint-panic` panics inside its transaction, every time (the poison-message test).
fn panic_failpoint(body: &str) {
    if crate::failpoint::armed("command-panic") && body.contains("failpoint-panic") {
        panic!("test failpoint: a command that panics");
    }
}

/// Whether a command's reply may show records or payment details (V8, V9): refused in a room
/// whose history anyone can read. `circle open` and `pool create` refuse such a room themselves.
fn shows_records(cmd: &Command) -> bool {
    use exodus_commands::command::{CircleCommand, PoolCommand};
    match cmd {
        Command::Circle(CircleCommand::Open) | Command::Pool(PoolCommand::Create { .. }) => false,
        Command::Pay(PayCommand::Show) | Command::Clearing(_) => true,
        cmd => cmd.is_ledger(),
    }
}

/// A member's red alert reaches their whole network at most this often (once per collection:
/// changing the amount while red tells the circle only).
const RED_ALERT_EVERY: chrono::Duration = chrono::Duration::hours(24);
/// `remind` of one record, and `circle invite` of one member to one room, at most this often
/// (the default of `limits.repeat_every_seconds`).
const REPEAT_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// The cooldown a command's fan-out is under, if any: `remind #N` (a DM to the giver) and
/// `circle invite <member>` (an invitation) do not repeat at will.
fn cooldown_key(cmd: &Command, incoming: &Incoming<'_>) -> Option<String> {
    use exodus_commands::command::{CircleCommand, RecordAction};
    match cmd {
        Command::Record { action: RecordAction::Remind, id } => Some(format!("remind:{id}")),
        Command::Circle(CircleCommand::Invite { typed: Some(member), .. }) => {
            Some(format!("invite:{}:{member}", incoming.event.room_id))
        }
        _ => None,
    }
}

/// A transaction ID for the `n`th message caused by an event: the same after any restart, so the
/// homeserver drops a resend of a message it already has (SPEC §8).
pub fn txn_id(event_id: &str, n: u32) -> String {
    let digest = Sha256::digest(format!("{event_id}\u{0}{n}").as_bytes());
    format!("exodus-{}", hex::encode(&digest[..16]))
}

/// The content of a reply: an `m.notice` in reply to the command, with `org.exodus.result`.
pub fn notice_content(rendered: &Rendered, in_reply_to: Option<&str>) -> Value {
    let mut content = json!({
        "msgtype": "m.notice",
        "body": rendered.body,
        "format": "org.matrix.custom.html",
        "formatted_body": rendered.html,
        "org.exodus.result": rendered.result,
        "m.mentions": {},
    });
    if let Some(event_id) = in_reply_to {
        content["m.relates_to"] = json!({ "m.in_reply_to": { "event_id": event_id } });
    }
    content
}

/// How many related members a network is followed through (SPEC §6 lists are for people, not
/// for crawling the whole ledger).
const MAX_RELATED: usize = 500;

/// The facts read before the transaction: membership and power come from the homeserver, and
/// asking it must not hold a database lock.
#[derive(Clone, Debug, Default)]
pub(crate) struct Prefetched {
    /// The room the command concerns: a circle's, a pool's or an initiative's (the named
    /// record's, claim's or initiative's, else the command room's).
    pub(crate) room: Option<String>,
    /// The sender is joined to that room now, as the homeserver reports it (V2).
    pub(crate) joined: bool,
    pub(crate) sender_power: i64,
    pub(crate) world_readable: bool,
    /// Members joined to the sender's own circle (for status notifications).
    own_circle_members: Vec<MemberId>,
    /// What `network` is decided on.
    network: Option<NetworkFacts>,
    /// An admin command's answer, the job it asked for already run.
    admin: Option<Result<exodus_commands::Outcome, CommandError>>,
}

/// Messages written in one transaction, numbered for their transaction IDs.
pub(crate) struct Queue<'e> {
    pub(crate) event: &'e EventRef,
    pub(crate) next: u32,
    pub(crate) messages: Vec<OutboxMessage>,
}

impl Queue<'_> {
    /// Queues a message. The first message an event causes, and any to the event's own room, is
    /// its reply (sent before notifications, see `outbox.rs`); the others are notifications.
    pub(crate) fn push(
        &mut self,
        target: Target,
        event_type: &str,
        content: Value,
        tag: Option<Tag>,
    ) {
        let txn_id = txn_id(&self.event.event_id, self.next);
        let reply =
            self.next == 0 || matches!(&target, Target::Room(room) if *room == self.event.room_id);
        let priority = if reply { Priority::Reply } else { Priority::Notice };
        self.next += 1;
        self.messages.push(OutboxMessage {
            txn_id,
            target,
            event_type: event_type.to_owned(),
            content,
            tag,
            priority,
        });
    }

    /// Queues an action for the outbox (see [`crate::action`]).
    pub(crate) fn push_action(&mut self, target: Target, action: Action) {
        let (event_type, content) = action.into_row();
        self.push(target, &event_type, content, None);
    }
}

pub struct Pipeline {
    store: Store,
    settings: Settings,
    /// Who may use `admin` (SPEC §3.6).
    admins: Vec<MemberId>,
    /// Each member's allowance of commands (none: unlimited, as in the benchmarks).
    flood: Option<FloodControl>,
    /// Fan-outs that must not repeat at will: red alerts, `remind`, `circle invite`.
    cooldowns: Cooldowns,
    /// How often one `remind` or `circle invite` may be repeated (zero: at will).
    repeat_every: chrono::Duration,
    /// Test hooks: crashes at a commit, a planted bug (the simulation test).
    #[cfg(feature = "failpoints")]
    hooks: crate::failpoint::Hooks,
}

impl Pipeline {
    pub fn new(store: Store, settings: Settings) -> Pipeline {
        Pipeline {
            store,
            settings,
            admins: Vec::new(),
            flood: None,
            cooldowns: Cooldowns::default(),
            repeat_every: REPEAT_EVERY,
            #[cfg(feature = "failpoints")]
            hooks: Default::default(),
        }
    }

    /// Test hooks (see [`crate::failpoint::Hooks`]).
    #[cfg(feature = "failpoints")]
    pub fn with_hooks(mut self, hooks: crate::failpoint::Hooks) -> Pipeline {
        self.hooks = hooks;
        self
    }

    /// A simulated crash at `point` of a transaction, if the test hook asks for one.
    #[cfg(feature = "failpoints")]
    fn crash_at(
        &self,
        point: crate::failpoint::Point,
        site: &'static str,
    ) -> Result<(), StoreError> {
        match &self.hooks.crash {
            Some(crash) if crash(point, site) => Err(crate::failpoint::crashed(point, site)),
            _ => Ok(()),
        }
    }

    /// Without the feature `failpoints`: never.
    #[cfg(not(feature = "failpoints"))]
    #[inline(always)]
    fn crash_at(
        &self,
        _point: crate::failpoint::Point,
        _site: &'static str,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// The planted bug of the simulation test: replies queued outside the command's transaction.
    #[cfg(feature = "failpoints")]
    fn planted_reply_outside_transaction(&self) -> bool {
        self.hooks.planted_reply_outside_transaction
    }

    /// Without the feature `failpoints`: never.
    #[cfg(not(feature = "failpoints"))]
    #[inline(always)]
    fn planted_reply_outside_transaction(&self) -> bool {
        false
    }

    /// Refuses a member's commands beyond their allowance (admins are not limited).
    pub fn with_flood_control(mut self, flood: FloodControl) -> Pipeline {
        self.flood = Some(flood);
        self
    }

    /// How often one `remind` or `circle invite` may be repeated (zero: at will).
    pub fn with_repeat_every(mut self, every: chrono::Duration) -> Pipeline {
        self.repeat_every = every;
        self
    }

    /// What flood control says of a command of `member`'s.
    fn admit(&self, member: &MemberId, now: DateTime<Utc>) -> Admission {
        match &self.flood {
            Some(flood) if !self.admins.contains(member) => flood.admit(member, now),
            _ => Admission::Admitted,
        }
    }

    /// The admins named in the configuration.
    pub fn with_admins(mut self, admins: Vec<MemberId>) -> Pipeline {
        self.admins = admins;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn parse(&self, body: &str) -> Option<Parsed> {
        parse(body, &self.settings.prefixes)
    }

    /// The command an event stands for: a message's text parsed, a reaction's command as it is.
    pub fn parse_incoming(&self, incoming: &Incoming<'_>) -> Option<Parsed> {
        match &incoming.via {
            Via::Message => self.parse(incoming.body),
            Via::Reaction { command, .. } => {
                Some(Parsed { name: command.name().to_owned(), command: Ok(command.clone()) })
            }
        }
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn style(&self, lang: Lang) -> Style<'_> {
        Style {
            lang,
            unit: &self.settings.unit,
            prefix: self.settings.prefixes.first().map_or("!", String::as_str),
        }
    }

    pub(crate) fn cycle_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        Cycle::of(now, &self.settings.timezone).start(&self.settings.timezone)
    }

    /// Handles one event. A database error leaves nothing written: the caller retries the event
    /// later from the room cursor.
    pub async fn handle<R: Rooms>(
        &self,
        incoming: &Incoming<'_>,
        rooms: &R,
        now: DateTime<Utc>,
    ) -> Result<Handled, StoreError> {
        let mut outcome = self.handle_batch(std::slice::from_ref(incoming), rooms, now).await;
        match (outcome.error, outcome.handled.pop()) {
            (None, Some(handled)) => Ok(handled),
            (Some(e), _) => Err(e),
            (None, None) => Err(StoreError::Corrupt("no outcome for the event".into())),
        }
    }

    /// Handles a room's events in order, as one sync response delivers them (group commit, SPEC
    /// §8): consecutive profile commands share one transaction, with one multi-row statement
    /// for their event claims, one for their cursors, one for their profiles and one for their
    /// replies; a circle or ledger command gets a transaction of its own, with its homeserver
    /// facts read just before it. Every event's effects still commit together with its event
    /// claim and its cursor. After a database error, `handled` holds the events that were
    /// committed (a prefix of `batch`) and the rest is left for a retry from the cursor.
    pub async fn handle_batch<R: Rooms>(
        &self,
        batch: &[Incoming<'_>],
        rooms: &R,
        now: DateTime<Utc>,
    ) -> BatchOutcome {
        let parsed: Vec<Option<Parsed>> = batch.iter().map(|i| self.parse_incoming(i)).collect();
        let mut handled = Vec::with_capacity(batch.len());
        let mut start = 0;
        while start < batch.len() {
            let end = start + group_len(&parsed[start..]);
            let (group, group_parsed) = (&batch[start..end], &parsed[start..end]);
            match self.apply_group(group, group_parsed, rooms, now).await {
                Ok(done) => handled.extend(done),
                Err(e) if group.len() > 1 => {
                    // One at a time, so that only the event that fails waits for the retry.
                    tracing::warn!(error = %e, events = group.len(), "a group of commands failed; applying them one by one");
                    for (one, one_parsed) in group.iter().zip(group_parsed) {
                        match self
                            .apply_group(
                                std::slice::from_ref(one),
                                std::slice::from_ref(one_parsed),
                                rooms,
                                now,
                            )
                            .await
                        {
                            Ok(done) => handled.extend(done),
                            Err(e) => return BatchOutcome { handled, error: Some(e) },
                        }
                    }
                }
                Err(e) => return BatchOutcome { handled, error: Some(e) },
            }
            start = end;
        }
        BatchOutcome { handled, error: None }
    }

    /// Applies a group of events in one transaction (see [`Pipeline::handle_batch`]).
    async fn apply_group<R: Rooms>(
        &self,
        group: &[Incoming<'_>],
        parsed: &[Option<Parsed>],
        rooms: &R,
        now: DateTime<Utc>,
    ) -> Result<Vec<Handled>, StoreError> {
        // Facts from the homeserver first: asking it must not hold a database lock.
        let changing_status: Vec<MemberId> = group
            .iter()
            .zip(parsed)
            .filter(|(i, p)| i.sender_joined && matches!(p, Some(Parsed { command: Ok(Command::Status(s)), .. }) if !matches!(s, StatusCommand::Show)))
            .map(|(i, _)| i.sender.clone())
            .collect();
        let own_circles = if changing_status.is_empty() {
            BTreeMap::new()
        } else {
            self.store.circle_rooms_of(&changing_status).await?
        };
        let mut prefetched = Vec::with_capacity(group.len());
        // V9: a room anyone can read without joining gets no records (it may have become so
        // after it was bound): the commands that would show some are refused there.
        let mut readable = Vec::with_capacity(group.len());
        for (incoming, p) in group.iter().zip(parsed) {
            prefetched.push(match p {
                Some(Parsed { command: Ok(cmd), .. }) if incoming.sender_joined => {
                    self.prefetch(cmd, incoming, rooms, now, &own_circles).await?
                }
                _ => Prefetched::default(),
            });
            readable.push(match p {
                Some(Parsed { command: Ok(cmd), .. })
                    if incoming.sender_joined && !incoming.in_dm && shows_records(cmd) =>
                {
                    // Unknown counts as readable (V9: denied when it cannot be established).
                    rooms.world_readable(&incoming.event.room_id).await.unwrap_or(true)
                }
                _ => false,
            });
        }

        // Flood control, for the commands of joined senders (the others are not executed anyway).
        let admissions: Vec<Admission> = group
            .iter()
            .zip(parsed)
            .map(|(i, p)| {
                if p.is_some() && i.sender_joined {
                    self.admit(&i.sender, now)
                } else {
                    Admission::Admitted
                }
            })
            .collect();
        let claims: Vec<(&EventRef, Claimed)> = group
            .iter()
            .zip(parsed)
            .zip(&admissions)
            .filter(|((_, p), _)| p.is_some())
            .map(|((i, _), a)| {
                let outcome = match (i.sender_joined, a) {
                    (false, _) => Claimed::Ignored,
                    (true, Admission::Refused { .. }) => Claimed::Refused,
                    (true, Admission::Admitted) => Claimed::Applied,
                };
                (&i.event, outcome)
            })
            .collect();
        if claims.is_empty() {
            return Ok(vec![Handled::NotACommand; group.len()]);
        }
        let mut tx = self.store.begin().await?;
        let claimed = tx.claim_events(&claims, now).await?;
        let deciding: Vec<MemberId> = group
            .iter()
            .filter(|i| i.sender_joined && claimed.contains(&i.event.event_id))
            .map(|i| i.sender.clone())
            .collect();
        let needs_totals = group.iter().zip(parsed).any(|(i, p)| {
            i.sender_joined
                && claimed.contains(&i.event.event_id)
                && matches!(p, Some(Parsed { command: Ok(cmd), .. }) if cmd.needs_ledger_facts())
        });
        let rooms_of_group: Vec<String> = group.iter().map(|i| i.event.room_id.clone()).collect();
        tx.preload(&deciding, &rooms_of_group, needs_totals.then(|| self.cycle_start(now))).await?;
        // Going green and `forget-me` cancel the intentions in the sender's favour; a red status
        // is told to the sender's network: read those for the whole group at once.
        let deciding_on = |want: fn(&Command) -> bool| -> Vec<MemberId> {
            group
                .iter()
                .zip(parsed)
                .filter(|(i, p)| {
                    i.sender_joined
                        && claimed.contains(&i.event.event_id)
                        && matches!(p, Some(Parsed { command: Ok(cmd), .. }) if want(cmd))
                })
                .map(|(i, _)| i.sender.clone())
                .collect()
        };
        let cancelling = deciding_on(|c| {
            matches!(c, Command::Status(StatusCommand::Green) | Command::ForgetMe { confirm: true })
        });
        if !cancelling.is_empty() {
            tx.preload_intentions_for(&cancelling).await?;
        }
        let red = deciding_on(|c| matches!(c, Command::Status(StatusCommand::Red { .. })));
        if !red.is_empty() {
            tx.preload_supports(&red, self.support_since(now)).await?;
        }

        let mut results = Vec::with_capacity(group.len());
        let mut messages = Vec::new();
        // Cooldowns of the fan-outs applied, started once the transaction commits.
        let mut used = Vec::new();
        let mut cursors = Vec::new();
        let mut seen = BTreeSet::new();
        for ((((incoming, p), pre), admission), readable) in
            group.iter().zip(parsed).zip(&prefetched).zip(&admissions).zip(&readable)
        {
            let Some(parsed) = p else {
                results.push(Handled::NotACommand);
                continue;
            };
            panic_failpoint(incoming.body);
            let event = &incoming.event;
            // Already decided earlier (a replay after a restart, or a second process).
            if !claimed.contains(&event.event_id) || !seen.insert(event.event_id.as_str()) {
                results.push(Handled::Duplicate);
                continue;
            }
            cursors.push((
                event.room_id.as_str(),
                Cursor { event_id: event.event_id.clone(), origin_ts: event.origin_ts },
            ));
            // V6: nothing is executed for a sender who is not joined to the room.
            if !incoming.sender_joined {
                results.push(Handled::Ignored);
                continue;
            }
            if let Admission::Refused { notify } = admission {
                if *notify && let Some(flood) = &self.flood {
                    let sender = tx
                        .find_profile(&incoming.sender, false)
                        .await?
                        .unwrap_or_else(|| Profile::new(incoming.sender.clone()));
                    let text = exodus_commands::text::Text::new("err-flooded")
                        .num("burst", i64::from(flood.burst()))
                        .num("per_minute", i64::from(flood.per_minute()));
                    let mut queue = Queue { event, next: 0, messages: Vec::new() };
                    self.queue_error(
                        &mut queue,
                        incoming,
                        &parsed.name,
                        &CommandError::new(ErrorCode::LimitExceeded, text),
                        &sender,
                    );
                    messages.extend(queue.messages);
                }
                results.push(Handled::Refused);
                continue;
            }
            let sender = tx.profile_for_update(&incoming.sender).await?;
            let mut queue = Queue { event, next: 0, messages: Vec::new() };
            // Only a bound room (a circle or a pool) has records to show: an unbound one answers
            // as it would anyway (`circle` there is not a circle).
            let bound = *readable && {
                let room = &incoming.event.room_id;
                tx.circle_owner_of(room).await?.is_some() || tx.is_pool_room(room).await?
            };
            if bound {
                let error = CommandError::new(
                    ErrorCode::Forbidden,
                    exodus_commands::text::Text::new("err-room-now-world-readable"),
                );
                self.queue_error(&mut queue, incoming, &parsed.name, &error, &sender);
                messages.extend(queue.messages);
                results.push(Handled::Applied { command: parsed.name.clone(), ok: false });
                continue;
            }
            let cooldown = parsed.command.as_ref().ok().and_then(|cmd| cooldown_key(cmd, incoming));
            if let Some(wait) =
                cooldown.as_deref().and_then(|key| self.cooldowns.wait(key, self.repeat_every, now))
            {
                let minutes = (wait.num_seconds() + 59) / 60;
                let text = exodus_commands::text::Text::new("err-repeated")
                    .arg("command", parsed.name.as_str())
                    .num("minutes", minutes.max(1));
                self.queue_error(
                    &mut queue,
                    incoming,
                    &parsed.name,
                    &CommandError::new(ErrorCode::LimitExceeded, text),
                    &sender,
                );
                messages.extend(queue.messages);
                results.push(Handled::Applied { command: parsed.name.clone(), ok: false });
                continue;
            }
            let ok = match &parsed.command {
                Err(e) => {
                    self.queue_error(&mut queue, incoming, &parsed.name, e, &sender);
                    false
                }
                Ok(cmd) => {
                    let d = Deciding { cmd, incoming, pre, sender: &sender, now };
                    let decided = match cmd.family() {
                        Family::Profile => self.decide_profile(&mut tx, &d).await?,
                        Family::Ledger => self.decide_ledger(&mut tx, &d).await?,
                        Family::Pool => self.decide_pool(&mut tx, &d).await?,
                        Family::Initiative => self.decide_initiative(&mut tx, &d).await?,
                        Family::Clearing => self.decide_clearing(&mut tx, &d).await?,
                        Family::Admin => pre.admin.clone().unwrap_or_else(|| {
                            Err(CommandError::new(
                                ErrorCode::Internal,
                                exodus_commands::text::Text::new("err-internal")
                                    .arg("id", "admin-not-run"),
                            ))
                        }),
                    };
                    match decided {
                        Ok(outcome) => self.apply(&mut tx, &mut queue, &d, outcome).await?,
                        Err(e) => {
                            self.queue_error(&mut queue, incoming, cmd.name(), &e, &sender);
                            false
                        }
                    }
                }
            };
            messages.extend(queue.messages);
            if ok && let Some(key) = cooldown {
                used.push(key);
            }
            results.push(Handled::Applied { command: parsed.name.clone(), ok });
        }
        if cursors.is_empty() {
            tx.rollback().await?;
            return Ok(results);
        }
        tx.set_cursors(&cursors, now).await?;
        let planted = self.planted_reply_outside_transaction();
        if !planted {
            tx.enqueue_all(&messages, now).await?;
        }
        self.crash_at(crate::failpoint::Point::BeforeCommit, "command")?;
        tx.commit().await?;
        self.crash_at(crate::failpoint::Point::AfterCommit, "command")?;
        if planted {
            let mut own = self.store.begin().await?;
            own.enqueue_all(&messages, now).await?;
            own.commit().await?;
        }
        for key in used {
            self.cooldowns.used(key, self.repeat_every, now);
        }
        Ok(results)
    }

    /// Fulfilments since this instant still make a supporter (SPEC §6: the last three cycles).
    fn support_since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let tz = &self.settings.timezone;
        Cycle::of(now, tz).back(FULFILMENT_CYCLES - 1).start(tz)
    }

    /// The relations around `member` and the circle rooms they are joined to now, as the
    /// homeserver reports it (V1; a room whose membership cannot be established counts as not
    /// joined).
    async fn network_facts<R: Rooms>(
        &self,
        member: &MemberId,
        rooms: &R,
        now: DateTime<Utc>,
    ) -> Result<NetworkFacts, StoreError> {
        let supports =
            self.store.network_supports(member, self.support_since(now), MAX_RELATED).await?;
        let others: BTreeSet<String> = supports
            .iter()
            .filter(|s| &s.giver != member && &s.recipient != member)
            .map(|s| s.room_id.clone())
            .collect();
        let mut joined_rooms = BTreeSet::new();
        for room in others {
            if rooms.is_joined(&room, member).await.unwrap_or(false) {
                joined_rooms.insert(room);
            }
        }
        let related: Vec<MemberId> = supports
            .iter()
            .flat_map(|s| [s.giver.clone(), s.recipient.clone()])
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let levels = self.store.levels(&related).await?;
        Ok(NetworkFacts { supports, joined_rooms, levels })
    }

    async fn prefetch<R: Rooms>(
        &self,
        cmd: &Command,
        incoming: &Incoming<'_>,
        rooms: &R,
        now: DateTime<Utc>,
        own_circles: &BTreeMap<MemberId, String>,
    ) -> Result<Prefetched, StoreError> {
        let mut pre = Prefetched::default();
        let room_id = &incoming.event.room_id;
        if let Command::Status(status) = cmd {
            // Showing the status tells nobody anything: only a change has someone to notify.
            if matches!(status, StatusCommand::Show) {
                return Ok(pre);
            }
            if let Some(own) = own_circles.get(&incoming.sender) {
                pre.own_circle_members = rooms.joined_members(own).await.unwrap_or_default();
            }
            return Ok(pre);
        }
        if let Command::Admin(admin) = cmd {
            pre.admin =
                Some(self.admin(admin, incoming, now).await?.map(exodus_commands::Outcome::read));
            return Ok(pre);
        }
        if let Command::Network = cmd {
            if incoming.in_dm {
                pre.network = Some(self.network_facts(&incoming.sender, rooms, now).await?);
            }
            return Ok(pre);
        }
        if !cmd.is_ledger() {
            return Ok(pre);
        }
        if cmd.is_pool() {
            return self.prefetch_pool(cmd, incoming, rooms).await;
        }
        if cmd.is_initiative() {
            return self.prefetch_initiative(cmd, incoming, rooms).await;
        }
        pre.room = match cmd.record_id() {
            Some(id) => self.store.record_room(id).await?,
            None => self.store.circle_owner_of(room_id).await?.map(|_| room_id.clone()),
        };
        pre.joined = joined_now(pre.room.as_deref(), incoming, rooms).await;
        if matches!(cmd, Command::Circle(_)) && !incoming.in_dm {
            pre.sender_power = rooms.power_level(room_id, &incoming.sender).await.unwrap_or(0);
            // Unknown counts as readable: a ledger is not bound where that cannot be ruled out.
            pre.world_readable = rooms.world_readable(room_id).await.unwrap_or(true);
        }
        Ok(pre)
    }

    /// Logs and records a job an admin ran (`admin stats` lists it with the scheduled runs).
    async fn manual_run(
        &self,
        job: &str,
        as_of: DateTime<Utc>,
        incoming: &Incoming<'_>,
        now: DateTime<Utc>,
        report: &exodus_commands::cycle::JobReport,
    ) -> Result<(), StoreError> {
        let admin = incoming.sender.as_str();
        tracing::info!(job, %as_of, admin, %report, "job run by an admin");
        let summary = report.to_string();
        self.store.record_manual_run(job, as_of, admin, now, Utc::now(), &summary).await
    }

    /// `admin run` and `admin stats` (SPEC §3.6), before the command's own transaction: a job
    /// runs in its own. Refused for anyone not named in the configuration. An event already
    /// decided (a replay) runs nothing again.
    async fn admin(
        &self,
        cmd: &AdminCommand,
        incoming: &Incoming<'_>,
        now: DateTime<Utc>,
    ) -> Result<Result<Reply, CommandError>, StoreError> {
        if !self.admins.contains(&incoming.sender) {
            let text = exodus_commands::text::Text::new("err-not-admin");
            return Ok(Err(CommandError::new(ErrorCode::Forbidden, text).with_usage("admin")));
        }
        if self.store.is_processed(&incoming.event.event_id).await? {
            // Never sent: the claim in the transaction finds the event decided and skips it.
            return Ok(Ok(Reply::Stats(Stats::default())));
        }
        Ok(Ok(match cmd {
            AdminCommand::Run { job: Job::Clearing, as_of } => {
                let as_of = as_of.unwrap_or(now);
                let outcome = self.clearing(as_of, true).await?;
                self.manual_run(Job::Clearing.name(), as_of, incoming, now, &outcome.report())
                    .await?;
                outcome.reply(true)
            }
            AdminCommand::Clearing { apply } => {
                let outcome = self.clearing(now, *apply).await?;
                if *apply {
                    self.manual_run(Job::Clearing.name(), now, incoming, now, &outcome.report())
                        .await?;
                }
                outcome.reply(*apply)
            }
            AdminCommand::Run { job, as_of } => {
                let as_of = as_of.unwrap_or(now);
                let report = self.run_job(*job, as_of).await?;
                self.manual_run(job.name(), as_of, incoming, now, &report).await?;
                Reply::JobRun { job: *job, as_of, report }
            }
            AdminCommand::Stats => {
                let runs = self.store.last_job_runs().await?;
                let runs = runs
                    .into_iter()
                    .map(|r| JobRunView {
                        job: r.job,
                        slot: r.slot,
                        runner: r.runner,
                        finished: r.finished,
                        summary: r.summary,
                        manual: r.manual,
                    })
                    .collect();
                let destinations = self
                    .store
                    .failing_destinations(20)
                    .await?
                    .into_iter()
                    .map(|d| FailingDestination {
                        destination: d.destination,
                        failures: d.failures,
                        since: d.failing_since,
                        failed: d.failed.is_some(),
                        pending: d.pending,
                        last_error: d.last_error,
                    })
                    .collect();
                Reply::Stats(Stats { counts: self.store.counts().await?, runs, destinations })
            }
            AdminCommand::Outbox(action) => {
                let (destinations, messages) = match action {
                    OutboxAction::Retry(destination) => {
                        self.store.outbox_retry(destination.as_deref()).await?
                    }
                    OutboxAction::Drop(destination) => {
                        (1, self.store.outbox_drop(destination, now).await?)
                    }
                };
                tracing::info!(?action, admin = %incoming.sender, destinations, messages, "outbox changed by an admin");
                Reply::OutboxChanged { action: action.clone(), destinations, messages }
            }
        }))
    }

    /// The figures `status` shows: the member's circle and their giving and receiving this cycle.
    async fn ledger_facts(
        &self,
        tx: &mut Tx,
        profile: &Profile,
        now: DateTime<Utc>,
    ) -> Result<LedgerFacts, StoreError> {
        let cycle_start = self.cycle_start(now);
        let (given, received) = tx.cycle_totals(&profile.member, cycle_start).await?;
        let reliability = tx.reliability(&profile.member, cycle_start).await?;
        let (circle, supporters) = match tx.circle_room_of(&profile.member).await? {
            Some(room) => {
                let records =
                    tx.circle_records(&room, cycle_start, profile.need.deadline()).await?;
                ledger::circle_totals(&records, &profile.need, cycle_start)
            }
            None => Default::default(),
        };
        Ok(LedgerFacts { circle, supporters, given, received, reliability })
    }

    /// Decides a profile command (SPEC §3.1) on the sender's profile and, for `status`, their
    /// figures; for `pay` in a circle room, on its owner's payment details (V8).
    async fn decide_profile(
        &self,
        tx: &mut Tx,
        d: &Deciding<'_, '_>,
    ) -> Result<Result<exodus_commands::Outcome, CommandError>, StoreError> {
        let (cmd, incoming, before) = (d.cmd, d.incoming, d.sender);
        let facts = if cmd.needs_ledger_facts() {
            self.ledger_facts(tx, before, d.now).await?
        } else {
            LedgerFacts::default()
        };
        // V8: `pay` in a circle room shows how to pay its owner (the sender is joined: V6).
        let circle_owner = match cmd {
            Command::Pay(PayCommand::Show) if !incoming.in_dm => match tx
                .circle_owner_of(&incoming.event.room_id)
                .await?
            {
                Some(owner) if owner == before.member => Some(before.clone()),
                Some(owner) => Some(
                    tx.find_profile(&owner, false).await?.unwrap_or_else(|| Profile::new(owner)),
                ),
                None => None,
            },
            _ => None,
        };
        let ctx = exodus_commands::Ctx {
            sender: &incoming.sender,
            in_dm: incoming.in_dm,
            now: d.now,
            circle_owner: circle_owner.as_ref(),
        };
        Ok(decide(cmd, &ctx, before, &facts))
    }

    /// Decides a circle or ledger command (SPEC §3.2) on the records and the circle it
    /// concerns, read in the transaction (the circle's owner locked: decisions about one circle
    /// are serialised).
    async fn decide_ledger(
        &self,
        tx: &mut Tx,
        d: &Deciding<'_, '_>,
    ) -> Result<Result<exodus_commands::Outcome, CommandError>, StoreError> {
        let (cmd, incoming, pre, sender, now) = (d.cmd, d.incoming, d.pre, d.sender, d.now);
        let tz = self.settings.timezone;
        let cycle_start = self.cycle_start(now);
        let room_owner = tx.circle_owner_of(&incoming.event.room_id).await?;
        let record = match cmd.record_id() {
            Some(id) => tx.record_for_update(id).await?,
            None => None,
        };
        // The circle concerned, read in the transaction (its owner's row locked: decisions about
        // one circle are serialised).
        let circle_room = record
            .as_ref()
            .map(|r| r.room_id.clone())
            .or_else(|| room_owner.as_ref().map(|_| incoming.event.room_id.clone()));
        let circle = match &circle_room {
            Some(room) => match tx.circle_owner_of(room).await? {
                Some(owner) => {
                    let owner = if owner == sender.member {
                        sender.clone()
                    } else {
                        tx.profile_for_update(&owner).await?
                    };
                    let records =
                        tx.circle_records(room, cycle_start, owner.need.deadline()).await?;
                    Some(CircleFacts { owner, room_id: room.clone(), records, cycle_start })
                }
                None => None,
            },
            None => None,
        };
        let record_in_pool = match &record {
            Some(r) if circle.is_none() => tx.is_pool_room(&r.room_id).await?,
            _ => false,
        };
        let record_initiative = match &record {
            Some(r) if circle.is_none() => tx.record_initiative(r.id).await?,
            _ => None,
        };
        let own_circle = tx.circle_room_of(&incoming.sender).await?;
        let own_records = match cmd {
            Command::Mine => tx.member_records(&incoming.sender, true, 200).await?,
            Command::Archive(_) => tx.member_records(&incoming.sender, false, 200).await?,
            _ => Vec::new(),
        };
        let reliability = match cmd {
            Command::Archive(_) => tx.reliability(&incoming.sender, cycle_start).await?,
            _ => Default::default(),
        };
        let creates = matches!(
            cmd,
            Command::Intend { .. } | Command::CommitIntention { .. } | Command::CommitDirect { .. }
        );
        let next_id = if creates { tx.next_record_id().await? } else { 0 };
        let room = RoomFacts {
            room_id: incoming.event.room_id.clone(),
            in_dm: incoming.in_dm,
            sender_power: pre.sender_power,
            world_readable: pre.world_readable,
            circle_owner: room_owner,
            is_pool: tx.is_pool_room(&incoming.event.room_id).await?,
            has_initiatives: matches!(cmd, Command::Circle(CircleCommand::Open))
                && !incoming.in_dm
                && tx.has_initiatives(&incoming.event.room_id).await?,
        };
        // The prefetched membership is about the circle read now only if it is the same room.
        let joined_circle = pre.joined && pre.room == circle_room;
        let world = World {
            sender: &incoming.sender,
            now,
            tz,
            room: &room,
            record: record.as_ref(),
            circle: circle.as_ref(),
            record_in_pool,
            record_initiative,
            joined_circle,
            own_circle: own_circle.as_deref(),
            mentions: &incoming.mentions,
            own_records: &own_records,
            next_id,
            network: pre.network.as_ref(),
            reliability,
        };
        Ok(ledger::decide_ledger(cmd, &world))
    }

    /// The reply to a command, in reply to it (or, for a reaction, to the message reacted to).
    pub(crate) fn reply_content(
        &self,
        command: &str,
        reply: &Reply,
        lang: Lang,
        incoming: &Incoming<'_>,
    ) -> Value {
        let rendered = render_reply(command, reply, &self.style(lang));
        let in_reply_to = match &incoming.via {
            Via::Message => incoming.event.event_id.as_str(),
            Via::Reaction { reacted_to, .. } => reacted_to.as_str(),
        };
        notice_content(&rendered, Some(in_reply_to))
    }

    pub(crate) fn queue_error(
        &self,
        queue: &mut Queue<'_>,
        incoming: &Incoming<'_>,
        command: &str,
        error: &CommandError,
        sender: &Profile,
    ) {
        // A reaction that does not stand for a valid command is just a reaction.
        if matches!(incoming.via, Via::Reaction { .. }) {
            return;
        }
        let lang = sender.lang.unwrap_or(self.settings.default_language);
        let rendered = render_error(command, error, &self.style(lang));
        queue.push(
            Target::Room(incoming.event.room_id.clone()),
            "m.room.message",
            notice_content(&rendered, Some(&incoming.event.event_id)),
            None,
        );
    }

    /// Notifications (SPEC §5): a DM in the member's language unless they turned them off; room
    /// announcements as they are.
    pub(crate) async fn queue_notices(
        &self,
        tx: &mut Tx,
        queue: &mut Queue<'_>,
        command: &str,
        notices: &[Notice],
    ) -> Result<(), StoreError> {
        for notice in notices {
            match &notice.target {
                NoticeTarget::Member(member) => {
                    let profile = tx
                        .find_profile(member, false)
                        .await?
                        .unwrap_or_else(|| Profile::new(member.clone()));
                    if !profile.notify {
                        continue;
                    }
                    let lang = profile.lang.unwrap_or(self.settings.default_language);
                    let rendered = render_reply(command, &notice.reply, &self.style(lang));
                    queue.push(
                        Target::Dm(member.clone()),
                        "m.room.message",
                        notice_content(&rendered, None),
                        apply::reply_tag(&notice.reply),
                    );
                }
                NoticeTarget::Room(room) => {
                    let rendered = render_reply(
                        command,
                        &notice.reply,
                        &self.style(self.settings.default_language),
                    );
                    queue.push(
                        Target::Room(room.clone()),
                        "m.room.message",
                        notice_content(&rendered, None),
                        None,
                    );
                }
            }
        }
        Ok(())
    }

    /// A member left a circle room (SPEC §2.1 V2): their open intentions there are withdrawn and
    /// the room is told; a member who left a pool's room loses their pledge (announced there).
    /// Exactly once per membership event.
    pub async fn member_left(
        &self,
        event: &EventRef,
        member: &MemberId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.begin().await?;
        if !tx.claim_event(event, Claimed::Applied, now).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.set_cursor(
            &event.room_id,
            &Cursor { event_id: event.event_id.clone(), origin_ts: event.origin_ts },
            now,
        )
        .await?;
        let mut queue = Queue { event, next: 0, messages: Vec::new() };
        if let Some(owner) = tx.circle_owner_of(&event.room_id).await? {
            // The owner's row locked: decisions about one circle are serialised.
            let _owner = tx.profile_for_update(&owner).await?;
            let intentions = tx.active_intentions_by(member, &event.room_id).await?;
            let left = consequence::left_circle(&owner, &event.room_id, member, &intentions, now);
            for effect in &left.effects {
                // Leaving only withdraws records.
                let exodus_commands::Effect::UpdateRecord(record) = effect else {
                    return Err(StoreError::Corrupt(format!("leaving a circle: {effect:?}")));
                };
                tx.update_record(record).await?;
            }
            self.queue_notices(&mut tx, &mut queue, "circle", &left.notices).await?;
        }
        self.pool_member_left(&mut tx, &mut queue, &event.room_id, member).await?;
        self.initiative_member_left(&mut tx, &mut queue, &event.room_id, member, now).await?;
        tx.enqueue_all(&queue.messages, now).await?;
        self.crash_at(crate::failpoint::Point::BeforeCommit, "member-left")?;
        tx.commit().await?;
        self.crash_at(crate::failpoint::Point::AfterCommit, "member-left")?;
        Ok(true)
    }

    /// An `internal` error reply for a command whose handling failed again and again (a bug, a
    /// constraint the database enforces, a panic): the event is recorded as failed and the room's
    /// cursor moves past it, so that the room is answered again. The full error is in the log
    /// under `reference`, which the reply names.
    pub async fn fail(
        &self,
        incoming: &Incoming<'_>,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let name: String = self
            .parse_incoming(incoming)
            .map(|p| p.name)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        let error = CommandError::new(
            ErrorCode::Internal,
            exodus_commands::text::Text::new("err-internal").arg("id", reference),
        );
        let mut queue = Queue { event: &incoming.event, next: 0, messages: Vec::new() };
        let mut sender = Profile::new(incoming.sender.clone());
        sender.lang = Some(self.lang_of(&incoming.sender).await);
        self.queue_error(&mut queue, incoming, &name, &error, &sender);
        self.decide_alone(&incoming.event, Claimed::Failed, &queue.messages, now).await.map(drop)
    }

    /// A message that could not be decrypted before the wait for its key ended: the sender is
    /// told it was not executed, in the room, once.
    pub async fn unreadable(
        &self,
        event: &EventRef,
        sender: &MemberId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let error = CommandError::new(
            ErrorCode::Internal,
            exodus_commands::text::Text::new("err-unreadable"),
        );
        let rendered = render_error("", &error, &self.style(self.lang_of(sender).await));
        let mut queue = Queue { event, next: 0, messages: Vec::new() };
        queue.push(
            Target::Room(event.room_id.clone()),
            "m.room.message",
            notice_content(&rendered, Some(&event.event_id)),
            None,
        );
        self.decide_alone(event, Claimed::Ignored, &queue.messages, now).await
    }

    /// An event that is no command (a membership change, a reaction, a redaction) whose handling
    /// failed again and again: recorded as failed and passed over, nobody to answer.
    pub async fn pass_over(&self, event: &EventRef, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.decide_alone(event, Claimed::Failed, &[], now).await.map(drop)
    }

    /// Records `event` as decided with `outcome` in a transaction of its own, the room's cursor
    /// moved past it and `messages` queued; `false` when it was decided already (nothing written).
    async fn decide_alone(
        &self,
        event: &EventRef,
        outcome: Claimed,
        messages: &[OutboxMessage],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.begin().await?;
        if !tx.claim_event(event, outcome, now).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.set_cursor(
            &event.room_id,
            &Cursor { event_id: event.event_id.clone(), origin_ts: event.origin_ts },
            now,
        )
        .await?;
        tx.enqueue_all(messages, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A member's language for a reply outside a command's transaction (the default when the
    /// profile cannot be read: the reply matters more than its language).
    async fn lang_of(&self, member: &MemberId) -> Lang {
        match self.store.profile(member).await {
            Ok(Some(Profile { lang: Some(lang), .. })) => lang,
            _ => self.settings.default_language,
        }
    }
}

/// Whether the sender of `incoming` is joined to `room` now (V2): the event's own room as the sync
/// saw it at the event, another room as the homeserver reports it now (denied when that cannot be
/// established); `None` (no such room) is not joined.
pub(crate) async fn joined_now<R: Rooms>(
    room: Option<&str>,
    incoming: &Incoming<'_>,
    rooms: &R,
) -> bool {
    match room {
        Some(room) if room == incoming.event.room_id => incoming.sender_joined,
        Some(room) => rooms.is_joined(room, &incoming.sender).await.unwrap_or(false),
        None => false,
    }
}

/// Rooms for callers without Matrix (the benchmark, tests): every sender is joined, with power 0,
/// no room is readable without joining, nobody else is in any room.
pub struct NoRooms;

impl Rooms for NoRooms {
    async fn is_joined(&self, _room_id: &str, _member: &MemberId) -> Result<bool, RoomFactError> {
        Ok(true)
    }
    async fn power_level(&self, _room_id: &str, _member: &MemberId) -> Result<i64, RoomFactError> {
        Ok(0)
    }
    async fn world_readable(&self, _room_id: &str) -> Result<bool, RoomFactError> {
        Ok(false)
    }
    async fn joined_members(&self, _room_id: &str) -> Result<Vec<MemberId>, RoomFactError> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_are_stable_and_distinct() {
        assert_eq!(txn_id("$abc", 0), txn_id("$abc", 0));
        assert_ne!(txn_id("$abc", 0), txn_id("$abc", 1));
        assert_ne!(txn_id("$abc", 0), txn_id("$abd", 0));
        assert!(txn_id("$a/b+c", 0).chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }

    async fn pipeline() -> (Pipeline, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::connect(&format!("sqlite://{}", dir.path().join("db").display())).await.unwrap();
        let settings = Settings {
            prefixes: vec!["!".into()],
            unit: "EUR".into(),
            default_language: Lang::En,
            timezone: chrono_tz::UTC,
        };
        (Pipeline::new(store, settings), dir)
    }

    fn incoming(id: &str, body: &'static str, joined: bool) -> Incoming<'static> {
        Incoming {
            event: EventRef { event_id: id.into(), room_id: "!r:x".into(), origin_ts: 1 },
            sender: MemberId::parse("@alice:x").unwrap(),
            body,
            in_dm: false,
            sender_joined: joined,
            mentions: Vec::new(),
            via: Via::Message,
        }
    }

    #[tokio::test]
    async fn a_command_is_applied_once_with_one_reply() {
        let (p, _dir) = pipeline().await;
        let now = Utc::now();
        let inc = incoming("$1", "!status orange 300", true);
        assert_eq!(
            p.handle(&inc, &NoRooms, now).await.unwrap(),
            Handled::Applied { command: "status".into(), ok: true }
        );
        assert_eq!(p.handle(&inc, &NoRooms, now).await.unwrap(), Handled::Duplicate);
        let out = p.store().pending_outbox(10).await.unwrap();
        assert_eq!(out.len(), 1);
        let content = &out[0].message.content;
        assert_eq!(content["msgtype"], "m.notice");
        assert_eq!(content["m.relates_to"]["m.in_reply_to"]["event_id"], "$1");
        assert_eq!(content["org.exodus.result"]["status"], "orange");
        assert_eq!(content["org.exodus.result"]["requested"], "300.00");
        assert_eq!(p.store().cursor("!r:x").await.unwrap().unwrap().event_id, "$1");
    }

    #[tokio::test]
    async fn errors_change_nothing_and_non_members_are_ignored() {
        let (p, _dir) = pipeline().await;
        let now = Utc::now();
        assert_eq!(
            p.handle(&incoming("$1", "!status orange 1.234", true), &NoRooms, now).await.unwrap(),
            Handled::Applied { command: "status".into(), ok: false }
        );
        assert_eq!(
            p.handle(&incoming("$2", "!status orange 5", false), &NoRooms, now).await.unwrap(),
            Handled::Ignored
        );
        assert_eq!(
            p.handle(&incoming("$3", "just chatting", true), &NoRooms, now).await.unwrap(),
            Handled::NotACommand
        );
        assert_eq!(p.store().profile(&MemberId::parse("@alice:x").unwrap()).await.unwrap(), None);
        let out = p.store().pending_outbox(10).await.unwrap();
        assert_eq!(out.len(), 1, "only the error reply");
        assert_eq!(out[0].message.content["org.exodus.result"]["error"], "bad_arguments");
    }

    #[tokio::test]
    async fn a_group_decides_each_command_on_the_state_the_previous_ones_left() {
        let (p, _dir) = pipeline().await;
        let now = Utc::now();
        let batch = [
            incoming("$1", "!status orange 300 rent", true),
            incoming("$2", "just chatting", true),
            incoming("$3", "!lang ru", true),
            incoming("$4", "!status orange 1.234", true),
            incoming("$5", "!status orange 5", false),
            incoming("$1", "!status orange 300 rent", true),
            incoming("$6", "!status", true),
        ];
        let outcome = p.handle_batch(&batch, &NoRooms, now).await;
        assert!(outcome.error.is_none());
        let applied = |ok| Handled::Applied { command: "status".into(), ok };
        assert_eq!(
            outcome.handled,
            vec![
                applied(true),
                Handled::NotACommand,
                Handled::Applied { command: "lang".into(), ok: true },
                applied(false),
                Handled::Ignored,
                Handled::Duplicate,
                applied(true)
            ]
        );
        let out = p.store().pending_outbox(20).await.unwrap();
        let results: Vec<&Value> =
            out.iter().map(|m| &m.message.content["org.exodus.result"]).collect();
        assert_eq!(results.len(), 4, "one reply per executed command: {results:?}");
        let replied_to: Vec<&Value> = out
            .iter()
            .map(|m| &m.message.content["m.relates_to"]["m.in_reply_to"]["event_id"])
            .collect();
        assert_eq!(replied_to, ["$1", "$3", "$4", "$6"]);
        // `status` sees the orange set two commands earlier, in the language set in between.
        assert_eq!(results[3]["status"], "orange");
        assert_eq!(results[3]["requested"], "300.00");
        assert_ne!(out[3].message.content["body"], out[0].message.content["body"]);
        assert_eq!(
            p.store().profile(&MemberId::parse("@alice:x").unwrap()).await.unwrap().unwrap().lang,
            Some(Lang::Ru)
        );
        assert_eq!(p.store().cursor("!r:x").await.unwrap().unwrap().event_id, "$6");
        assert_eq!(
            p.store().processed_count().await.unwrap(),
            5,
            "every command event once, chat not at all"
        );

        // The same events again (a replay after a restart): nothing applied, nothing queued.
        let again = p.handle_batch(&batch, &NoRooms, now).await;
        assert!(again.error.is_none());
        assert!(
            again.handled.iter().all(|h| matches!(h, Handled::Duplicate | Handled::NotACommand)),
            "{:?}",
            again.handled
        );
        assert_eq!(p.store().pending_outbox(20).await.unwrap().len(), 4);
    }

    #[test]
    fn ledger_commands_get_a_transaction_of_their_own() {
        let parsed = |bodies: &[&str]| -> Vec<Option<Parsed>> {
            bodies.iter().map(|b| parse(b, &["!".to_owned()])).collect()
        };
        assert_eq!(group_len(&parsed(&["!status", "hello", "!lang ru", "!about x"])), 4);
        assert_eq!(group_len(&parsed(&["!status", "!intend 5", "!lang ru"])), 1);
        assert_eq!(group_len(&parsed(&["!intend 5", "!lang ru"])), 1);
        assert_eq!(group_len(&parsed(&["!mine", "!mine"])), 1);
        assert_eq!(
            group_len(&parsed(&["!status green", "!about x", "!status red 100 7", "!nonsense"])),
            4
        );
    }

    #[tokio::test]
    async fn payment_details_asked_in_a_room_go_to_the_dm() {
        let (p, _dir) = pipeline().await;
        let now = Utc::now();
        p.handle(&incoming("$1", "!pay add bank IBAN-123", true), &NoRooms, now).await.unwrap();
        p.handle(&incoming("$2", "!pay", true), &NoRooms, now).await.unwrap();
        let out = p.store().pending_outbox(10).await.unwrap();
        assert_eq!(out.len(), 3);
        for m in &out[..2] {
            assert!(
                !m.message.content.to_string().contains("IBAN-123"),
                "details leaked into the room: {m:?}"
            );
            assert_eq!(m.message.target, Target::Room("!r:x".into()));
        }
        assert_eq!(out[2].message.target, Target::Dm(MemberId::parse("@alice:x").unwrap()));
        assert_eq!(
            out[2].message.content["org.exodus.result"]["methods"][0]["details"],
            "IBAN-123"
        );
    }

    /// Flood control: commands beyond the allowance are recorded as refused, change nothing, and
    /// only the first refusal in its window is answered; another member is not affected.
    #[tokio::test]
    async fn commands_beyond_the_allowance_are_refused_without_effect_and_told_once() {
        let (p, _dir) = pipeline().await;
        let p = p.with_flood_control(FloodControl::new(2, 60));
        let now = Utc::now();
        let batch = [
            incoming("$1", "!about one", true),
            incoming("$2", "!about two", true),
            incoming("$3", "!about three", true),
            incoming("$4", "!about four", true),
        ];
        let outcome = p.handle_batch(&batch, &NoRooms, now).await;
        assert!(outcome.error.is_none());
        let applied = Handled::Applied { command: "about".into(), ok: true };
        assert_eq!(outcome.handled, [applied.clone(), applied, Handled::Refused, Handled::Refused]);
        let alice = MemberId::parse("@alice:x").unwrap();
        assert_eq!(p.store().profile(&alice).await.unwrap().unwrap().about.as_deref(), Some("two"));
        let out = p.store().pending_outbox(10).await.unwrap();
        assert_eq!(out.len(), 3, "two replies and one notice");
        assert_eq!(out[2].message.content["org.exodus.result"]["error"], "limit_exceeded");
        assert_eq!(out[2].message.content["m.relates_to"]["m.in_reply_to"]["event_id"], "$3");
        // Refused commands are decided: a replay does nothing.
        assert_eq!(p.handle(&batch[2], &NoRooms, now).await.unwrap(), Handled::Duplicate);
        let bob = Incoming {
            sender: MemberId::parse("@bob:x").unwrap(),
            ..incoming("$5", "!about bob", true)
        };
        assert_eq!(
            p.handle(&bob, &NoRooms, now).await.unwrap(),
            Handled::Applied { command: "about".into(), ok: true }
        );
    }

    /// A command whose handling keeps failing is answered with an internal error naming the
    /// reference, recorded, and its room's cursor moves past it.
    #[tokio::test]
    async fn a_failed_command_is_answered_recorded_and_passed_over() {
        let (p, _dir) = pipeline().await;
        let now = Utc::now();
        let inc = incoming("$poison", "!about x", true);
        p.fail(&inc, "E-0000abcd", now).await.unwrap();
        assert_eq!(p.store().cursor("!r:x").await.unwrap().unwrap().event_id, "$poison");
        assert!(p.store().is_processed("$poison").await.unwrap());
        let out = p.store().pending_outbox(10).await.unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].message.content["org.exodus.result"]["error"], "internal");
        assert!(out[0].message.content["body"].as_str().unwrap().contains("E-0000abcd"));
        assert_eq!(out[0].message.priority, Priority::Reply);
        // Decided once: not again, and the command itself never runs.
        p.fail(&inc, "E-other", now).await.unwrap();
        assert_eq!(p.handle(&inc, &NoRooms, now).await.unwrap(), Handled::Duplicate);
        assert_eq!(p.store().pending_outbox(10).await.unwrap().len(), 1);
    }

    /// A bound room whose history anyone can read (it became so after it was bound) gets no
    /// records: ledger commands and `pay` are refused there, profile commands still work, and
    /// private again it works again. An unbound room answers as before.
    #[tokio::test]
    async fn a_world_readable_circle_room_shows_no_records() {
        struct Readable(std::sync::atomic::AtomicBool);
        impl Rooms for Readable {
            async fn is_joined(
                &self,
                _room_id: &str,
                _member: &MemberId,
            ) -> Result<bool, RoomFactError> {
                Ok(true)
            }
            async fn power_level(
                &self,
                _room_id: &str,
                _member: &MemberId,
            ) -> Result<i64, RoomFactError> {
                Ok(100)
            }
            async fn world_readable(&self, _room_id: &str) -> Result<bool, RoomFactError> {
                Ok(self.0.load(std::sync::atomic::Ordering::Relaxed))
            }
            async fn joined_members(&self, _room_id: &str) -> Result<Vec<MemberId>, RoomFactError> {
                Ok(Vec::new())
            }
        }
        let (p, _dir) = pipeline().await;
        let now = Utc::now();
        let rooms = Readable(true.into());
        let error = |out: &[exodus_storage::PendingMessage]| {
            out.last().unwrap().message.content["org.exodus.result"]["error"].clone()
        };
        assert_eq!(
            p.handle(&incoming("$0", "!circle", true), &rooms, now).await.unwrap(),
            Handled::Applied { command: "circle".into(), ok: false }
        );
        assert_eq!(
            error(&p.store().pending_outbox(50).await.unwrap()),
            "invalid_state",
            "unbound: not a circle, as before"
        );
        rooms.0.store(false, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            p.handle(&incoming("$1", "!circle open", true), &rooms, now).await.unwrap(),
            Handled::Applied { command: "circle".into(), ok: true }
        );
        rooms.0.store(true, std::sync::atomic::Ordering::Relaxed);
        for (n, body) in ["!circle", "!intend 5", "!pay", "!mine"].into_iter().enumerate() {
            let name = body.trim_start_matches('!').split(' ').next().unwrap();
            let handled =
                p.handle(&incoming(&format!("$r{n}"), body, true), &rooms, now).await.unwrap();
            assert_eq!(handled, Handled::Applied { command: name.into(), ok: false }, "{body}");
            assert_eq!(error(&p.store().pending_outbox(50).await.unwrap()), "forbidden", "{body}");
        }
        assert_eq!(
            p.handle(&incoming("$s", "!status", true), &rooms, now).await.unwrap(),
            Handled::Applied { command: "status".into(), ok: true }
        );
        rooms.0.store(false, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            p.handle(&incoming("$2", "!circle", true), &rooms, now).await.unwrap(),
            Handled::Applied { command: "circle".into(), ok: true }
        );
    }
}

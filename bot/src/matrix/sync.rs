//! The bot's own supervised sync loop (SPEC §8, §9).
//!
//! matrix-sdk's `Client::sync` sleeps a second between syncs that return quickly (`delay_sync` in
//! matrix-sdk 0.18's `sync.rs`), which would add a second to every reply, so the loop drives
//! `sync_once` itself and backs off only on errors. matrix-sdk stores its sync token before the
//! caller sees the events, so the token is not the bot's cursor: each room has its own cursor in
//! the database, committed with each command, and a room is caught up from it with `/context` and
//! `/messages` whenever the live timeline might have a gap (start, a `limited` timeline, a retry).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use exodus_commands::MemberId;
use exodus_commands::command::{Command, RecordAction};
use exodus_commands::pool::Vote;
use exodus_storage::{Cursor, EventRef, Tag};
use futures_util::FutureExt as _;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::deserialized_responses::{SyncOrStrippedState, TimelineEvent, TimelineEventKind};
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::api::client::room::get_room_event;
use matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter;
use matrix_sdk::ruma::events::SyncStateEvent;
use matrix_sdk::ruma::events::room::history_visibility::HistoryVisibility;
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::room::power_levels::UserPowerLevel;
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedTransactionId, OwnedUserId, UserId, uint};
use matrix_sdk::sync::SyncResponse;
use matrix_sdk::{Client, Room, RoomMemberships, RoomState};
use serde_json::Value;
use tokio::sync::{Notify, watch};
use tracing::{debug, error, info, instrument, warn};

use crate::BotError;
use crate::classify::{Classified, classify};
use crate::config::InvitePolicy;
use crate::metrics::Metrics;
use crate::pipeline::{Handled, Incoming, Pipeline, RoomFactError, Rooms, Via};

/// How long an undecryptable event holds up its room while waiting for its key.
const UTD_GRACE: Duration = Duration::from_secs(60);
pub const LONG_POLL: Duration = Duration::from_secs(30);
const RETRY_POLL: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub struct Syncer {
    pub client: Client,
    pub pipeline: Arc<Pipeline>,
    pub metrics: Arc<Metrics>,
    pub outbox_wake: Arc<Notify>,
    pub ready: Arc<AtomicBool>,
    pub invite_policy: InvitePolicy,
    pub admins: Vec<MemberId>,
    /// Rooms to catch up from their cursor at the next turn (a gap, an error, a missing key).
    retry: BTreeSet<OwnedRoomId>,
    utd_seen: BTreeMap<String, Instant>,
    invites_tried: BTreeMap<OwnedRoomId, Instant>,
    /// How many times each event's handling failed (see [`MAX_FAILURES`]).
    failures: HashMap<String, u32>,
    /// When the bot first ran on this database: a room joined before it starts at its present.
    first_start: chrono::DateTime<Utc>,
}

/// An event whose handling fails this many times is passed over (a poison message).
const MAX_FAILURES: u32 = 3;

/// A short reference for an error, given to the member and written in the log.
fn reference() -> String {
    format!("E-{:08x}", rand::random::<u32>())
}

/// Why a room's events stopped before the end.
#[derive(Debug)]
enum Stop {
    /// An event could not be decrypted yet; retry later.
    WaitingForKey,
    /// The room's state has not arrived yet (just joined); retry at the next sync.
    NotYet,
    /// The database or the homeserver failed; retry later.
    Failed(String),
}

/// How far a room's events are handled: the last one, and whether the cursor already points at
/// it (false after events that needed no transaction of their own).
struct Progress {
    last: Option<Cursor>,
    cursor_written: bool,
}

/// A command event waiting to be handed to the pipeline with the ones after it.
struct Pending {
    event: EventRef,
    sender: MemberId,
    body: String,
    in_dm: bool,
    sender_joined: bool,
    mentions: Vec<MemberId>,
    via: Via,
}

impl Pending {
    fn incoming(&self) -> Incoming<'_> {
        Incoming {
            event: self.event.clone(),
            sender: self.sender.clone(),
            body: &self.body,
            in_dm: self.in_dm,
            sender_joined: self.sender_joined,
            mentions: self.mentions.clone(),
            via: self.via.clone(),
        }
    }
}

impl Syncer {
    pub fn new(
        client: Client,
        pipeline: Arc<Pipeline>,
        metrics: Arc<Metrics>,
        outbox_wake: Arc<Notify>,
        ready: Arc<AtomicBool>,
        invite_policy: InvitePolicy,
        admins: Vec<MemberId>,
    ) -> Syncer {
        Syncer {
            client,
            pipeline,
            metrics,
            outbox_wake,
            ready,
            invite_policy,
            admins,
            retry: BTreeSet::new(),
            utd_seen: BTreeMap::new(),
            invites_tried: BTreeMap::new(),
            failures: HashMap::new(),
            first_start: chrono::DateTime::<Utc>::MIN_UTC,
        }
    }

    fn settings(&self, timeout: Duration) -> SyncSettings {
        let mut filter = FilterDefinition::default();
        filter.room.timeline.limit = Some(uint!(50));
        SyncSettings::default().filter(Filter::FilterDefinition(filter)).timeout(timeout)
    }

    /// Runs until `shutdown` turns true. Errors are retried with capped exponential backoff, so a
    /// homeserver restart or HTTP 429 only delays the bot; a token the homeserver no longer
    /// accepts ends it with [`BotError::Rejected`].
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Result<(), BotError> {
        let mut backoff = Duration::from_millis(500);
        let mut first = true;
        loop {
            match self.pipeline.store().first_start(Utc::now()).await {
                Ok(at) => {
                    self.first_start = at;
                    break;
                }
                Err(e) => {
                    warn!(error = %e, retry_in = ?backoff, "cannot read the database's first start");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let timeout = if first {
                Duration::ZERO
            } else if self.retry.is_empty() {
                LONG_POLL
            } else {
                RETRY_POLL
            };
            let result = tokio::select! {
                r = self.client.sync_once(self.settings(timeout)) => r,
                _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
            };
            match result {
                Err(e) if e.client_api_error_kind().is_some_and(crate::matrix::rejects) => {
                    error!(error = %e, "the homeserver no longer accepts the bot's access token");
                    return Err(BotError::Rejected(format!("sync: {e}")));
                }
                Ok(response) => {
                    self.metrics.synced(Utc::now());
                    backoff = Duration::from_millis(500);
                    if first {
                        self.start(&response).await;
                        first = false;
                    } else {
                        self.process(response).await;
                    }
                }
                Err(e) => {
                    self.metrics.sync_errors.inc();
                    warn!(error = %e, retry_in = ?backoff, "sync failed");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// After the first sync: catch up every joined room from its cursor, then report healthy.
    async fn start(&mut self, response: &SyncResponse) {
        self.handle_invites().await;
        let mut rooms = self.client.joined_rooms();
        rooms.sort_by(|a, b| a.room_id().cmp(b.room_id()));
        for room in rooms {
            self.catch_up_or_retry(&room).await;
        }
        for room_id in response.rooms.left.keys() {
            self.forget_room(room_id).await;
        }
        info!(
            rooms = self.client.joined_rooms().len(),
            pending = self.retry.len(),
            "caught up; ready"
        );
        self.ready.store(true, Ordering::Release);
    }

    async fn process(&mut self, response: SyncResponse) {
        for room_id in response.rooms.left.keys() {
            self.forget_room(room_id).await;
        }
        self.handle_invites().await;
        let mut retry = std::mem::take(&mut self.retry);
        for (room_id, update) in response.rooms.joined {
            let Some(room) = self.client.get_room(&room_id) else { continue };
            if retry.remove(&room_id)
                || update.timeline.limited
                || self.pipeline.store().cursor(room_id.as_str()).await.ok().flatten().is_none()
            {
                // A gap, a room new to the bot, or a pending retry: read from the cursor.
                self.catch_up_or_retry(&room).await;
                continue;
            }
            if let Err(stop) = self.handle_events(&room, update.timeline.events).await {
                debug!(%room_id, ?stop, "room stopped; catching up from its cursor next turn");
                self.retry.insert(room_id);
            }
        }
        for room_id in retry {
            if let Some(room) = self.client.get_room(&room_id) {
                self.catch_up_or_retry(&room).await;
            }
        }
    }

    async fn catch_up_or_retry(&mut self, room: &Room) {
        if let Err(stop) = self.catch_up(room).await {
            match &stop {
                Stop::WaitingForKey => debug!(room_id = %room.room_id(), "waiting for a room key"),
                Stop::NotYet => debug!(room_id = %room.room_id(), "room state not synced yet"),
                Stop::Failed(e) => {
                    warn!(room_id = %room.room_id(), error = %e, "catch-up failed; will retry")
                }
            }
            self.retry.insert(room.room_id().to_owned());
        }
    }

    /// Reads a room from its cursor to the present, handling every event in order. A room without
    /// a cursor starts at the bot's own join event: history from before the bot joined is never
    /// executed (V7).
    #[instrument(skip_all, fields(room_id = %room.room_id()))]
    async fn catch_up(&mut self, room: &Room) -> Result<(), Stop> {
        if room.state() != RoomState::Joined {
            return Ok(());
        }
        let store = self.pipeline.store().clone();
        let room_id = room.room_id().as_str();
        let cursor = match store.cursor(room_id).await.map_err(|e| Stop::Failed(e.to_string()))? {
            Some(cursor) => cursor,
            None => {
                let mut cursor = self.join_cursor(room).await?;
                if cursor.origin_ts < self.first_start.timestamp_millis() {
                    // Joined before this database existed (an old data_dir next to a new
                    // database): what happened since was never the bot's to execute (V7).
                    if let Some(present) = latest_cursor(room).await? {
                        info!(event_id = %present.event_id, "joined before this database was made: starting at the room's present");
                        cursor = present;
                    }
                }
                info!(event_id = %cursor.event_id, "new room: starting after the bot's join");
                store
                    .init_cursor(room_id, &cursor, Utc::now())
                    .await
                    .map_err(|e| Stop::Failed(e.to_string()))?;
                store
                    .cursor(room_id)
                    .await
                    .map_err(|e| Stop::Failed(e.to_string()))?
                    .unwrap_or(cursor)
            }
        };
        let event_id = OwnedEventId::try_from(cursor.event_id.as_str())
            .map_err(|e| Stop::Failed(e.to_string()))?;
        let context = room
            .event_with_context(&event_id, false, uint!(0), None)
            .await
            .map_err(|e| Stop::Failed(format!("/context: {e}")))?;
        let mut from = context.next_batch_token;
        loop {
            let mut options = MessagesOptions::forward();
            options.from = from.clone();
            options.limit = uint!(100);
            let page = room
                .messages(options)
                .await
                .map_err(|e| Stop::Failed(format!("/messages: {e}")))?;
            if page.chunk.is_empty() {
                return Ok(());
            }
            self.handle_events(room, page.chunk).await?;
            match page.end {
                Some(end) if Some(&end) != from.as_ref() => from = Some(end),
                _ => return Ok(()),
            }
        }
    }

    /// The bot's own membership event in the room, where its cursor starts.
    async fn join_cursor(&self, room: &Room) -> Result<Cursor, Stop> {
        let own = room.own_user_id().to_owned();
        let member =
            room.get_member_no_sync(&own).await.map_err(|e| Stop::Failed(e.to_string()))?;
        let event = member.as_ref().map(|m| m.event());
        match event.and_then(|e| Some((e.event_id()?.to_owned(), e.origin_server_ts()?))) {
            Some((event_id, ts)) => {
                Ok(Cursor { event_id: event_id.to_string(), origin_ts: i64::from(ts.get()) })
            }
            None => Err(Stop::NotYet),
        }
    }

    /// Handles events in order. Stops at the first event that cannot be handled yet, so the room
    /// cursor never passes it. Consecutive commands are handed to the pipeline together, which
    /// applies runs of profile commands in one transaction (group commit).
    async fn handle_events(&mut self, room: &Room, events: Vec<TimelineEvent>) -> Result<(), Stop> {
        let room_id = room.room_id().as_str().to_owned();
        let own = room.own_user_id().as_str().to_owned();
        let mut progress = Progress { last: None, cursor_written: true };
        let mut pending: Vec<Pending> = Vec::new();
        let mut left_members: Vec<MemberId> = Vec::new();
        for event in events {
            let Some(event_id) = event.event_id() else { continue };
            let raw: Value = match serde_json::from_str(event.raw().json().get()) {
                Ok(v) => v,
                Err(e) => {
                    warn!(%event_id, error = %e, "unreadable event skipped");
                    continue;
                }
            };
            let origin_ts = raw["origin_server_ts"].as_i64().unwrap_or_default();
            if matches!(event.kind, TimelineEventKind::UnableToDecrypt { .. }) {
                let first_seen =
                    *self.utd_seen.entry(event_id.to_string()).or_insert_with(Instant::now);
                if first_seen.elapsed() < UTD_GRACE {
                    self.run_pending(&room_id, &mut pending, &mut progress).await?;
                    self.flush_cursor(&room_id, progress.last.as_ref(), progress.cursor_written)
                        .await?;
                    return Err(Stop::WaitingForKey);
                }
                warn!(%event_id, "no key arrived for this event in time; the sender is told it was not executed");
                self.utd_seen.remove(event_id.as_str());
                self.run_pending(&room_id, &mut pending, &mut progress).await?;
                let event_ref = EventRef {
                    event_id: event_id.to_string(),
                    room_id: room_id.clone(),
                    origin_ts,
                };
                match raw["sender"].as_str().filter(|s| *s != own).and_then(MemberId::parse) {
                    Some(sender) => {
                        let told = self.pipeline.unreadable(&event_ref, &sender, Utc::now()).await;
                        self.handled(&room_id, &event_ref, told, &mut progress).await?;
                    }
                    None => progress.cursor_written = false,
                }
                progress.last = Some(Cursor { event_id: event_id.to_string(), origin_ts });
                continue;
            }
            self.utd_seen.remove(event_id.as_str());
            let event_ref =
                EventRef { event_id: event_id.to_string(), room_id: room_id.clone(), origin_ts };
            let classified = classify(&raw, &own);
            let thumbs_up = matches!(classified, Classified::ThumbsUp { .. });
            match classified {
                Classified::Candidate { sender, body, mentions } => {
                    let Some(sender) = MemberId::parse(&sender) else { continue };
                    pending.push(Pending {
                        event: event_ref,
                        in_dm: self.is_dm_of(room, &sender).await.map_err(Stop::Failed)?,
                        sender_joined: joined(room, &sender).await.map_err(Stop::Failed)?,
                        sender,
                        body,
                        mentions: mentions.iter().filter_map(|m| MemberId::parse(m)).collect(),
                        via: Via::Message,
                    });
                    continue;
                }
                Classified::ThumbsUp { sender, target }
                | Classified::ThumbsDown { sender, target } => {
                    // 👍 on the bot's paid notice confirms the obligation; 👍 / 👎 on its claim
                    // message is a vote (SPEC §3, V3). A reaction to anything else is no command.
                    let up = thumbs_up;
                    let known = self
                        .pipeline
                        .store()
                        .sent_message_tag(&target)
                        .await
                        .map_err(|e| Stop::Failed(e.to_string()))?;
                    let tag = match known {
                        Some(tag) => Some(tag),
                        None => self.unmarked_tag(room, &target).await?,
                    };
                    // 👍 on an initiative's card is interest, not a command (SPEC §3.4).
                    let card = match tag {
                        Some(Tag::Initiative(id)) => Some(id),
                        _ => None,
                    };
                    if let (Some(initiative), true, Some(sender)) =
                        (card, up, MemberId::parse(&sender))
                    {
                        self.run_pending(&room_id, &mut pending, &mut progress).await?;
                        let sender_joined = joined(room, &sender).await.map_err(Stop::Failed)?;
                        let change =
                            crate::initiatives::Interest::Shown { initiative, sender_joined };
                        self.handled(
                            &room_id,
                            &event_ref,
                            self.pipeline
                                .initiative_interest(&event_ref, &sender, change, Utc::now())
                                .await,
                            &mut progress,
                        )
                        .await?;
                        progress.last =
                            Some(Cursor { event_id: event_ref.event_id.clone(), origin_ts });
                        continue;
                    }
                    let command = match tag {
                        Some(Tag::Paid(id)) if up => {
                            Some(Command::Record { action: RecordAction::Confirm, id })
                        }
                        Some(Tag::Claim(id)) => {
                            Some(Command::Vote { id, vote: if up { Vote::Yes } else { Vote::No } })
                        }
                        _ => None,
                    };
                    if let (Some(command), Some(sender)) = (command, MemberId::parse(&sender)) {
                        pending.push(Pending {
                            event: event_ref,
                            in_dm: self.is_dm_of(room, &sender).await.map_err(Stop::Failed)?,
                            sender_joined: joined(room, &sender).await.map_err(Stop::Failed)?,
                            sender,
                            body: String::new(),
                            mentions: Vec::new(),
                            via: Via::Reaction { reacted_to: target, command },
                        });
                        continue;
                    }
                    self.run_pending(&room_id, &mut pending, &mut progress).await?;
                    progress.cursor_written = false;
                }
                Classified::Redaction { sender, redacts } => {
                    self.run_pending(&room_id, &mut pending, &mut progress).await?;
                    // Redacting a reaction that cast a vote retracts that vote (V3).
                    let ballot = self
                        .pipeline
                        .store()
                        .ballot_of(&redacts)
                        .await
                        .map_err(|e| Stop::Failed(e.to_string()))?;
                    match (ballot, MemberId::parse(&sender)) {
                        (Some((claim, voter)), Some(sender)) => {
                            self.handled(
                                &room_id,
                                &event_ref,
                                self.pipeline
                                    .vote_redacted(
                                        &event_ref,
                                        &sender,
                                        claim,
                                        &voter,
                                        &redacts,
                                        Utc::now(),
                                    )
                                    .await,
                                &mut progress,
                            )
                            .await?;
                        }
                        (None, Some(sender)) => {
                            // Redacting a 👍 on an initiative's card withdraws the interest it showed.
                            let interest = self
                                .pipeline
                                .store()
                                .interest_of(&redacts)
                                .await
                                .map_err(|e| Stop::Failed(e.to_string()))?;
                            if interest.is_some() {
                                let change =
                                    crate::initiatives::Interest::Withdrawn { redacts: &redacts };
                                self.handled(
                                    &room_id,
                                    &event_ref,
                                    self.pipeline
                                        .initiative_interest(
                                            &event_ref,
                                            &sender,
                                            change,
                                            Utc::now(),
                                        )
                                        .await,
                                    &mut progress,
                                )
                                .await?;
                            } else {
                                progress.cursor_written = false;
                            }
                        }
                        _ => progress.cursor_written = false,
                    }
                }
                Classified::Membership { user, membership } => {
                    self.run_pending(&room_id, &mut pending, &mut progress).await?;
                    let left = matches!(membership.as_str(), "leave" | "ban") && user != own;
                    match MemberId::parse(&user).filter(|_| left) {
                        // V2: leaving a circle withdraws the leaver's open intentions there.
                        Some(member) => {
                            left_members.push(member.clone());
                            self.handled(
                                &room_id,
                                &event_ref,
                                self.pipeline.member_left(&event_ref, &member, Utc::now()).await,
                                &mut progress,
                            )
                            .await?;
                        }
                        None => progress.cursor_written = false,
                    }
                }
                Classified::Skip(_) => {
                    self.run_pending(&room_id, &mut pending, &mut progress).await?;
                    progress.cursor_written = false;
                }
            }
            progress.last = Some(Cursor { event_id: event_id.to_string(), origin_ts });
        }
        self.run_pending(&room_id, &mut pending, &mut progress).await?;
        self.flush_cursor(&room_id, progress.last.as_ref(), progress.cursor_written).await?;
        for member in &left_members {
            self.check_dm_room(room, member).await;
        }
        Ok(())
    }

    /// The tag of the bot's own message `target` when the outbox has sent it and not yet marked
    /// it sent, so that [`exodus_storage::Store::sent_message_tag`] does not know it: between
    /// `PUT /send` returning and the mark, or after a crash between the two until the outbox's
    /// resend. A reaction read then must count all the same, or the cursor passes it and it is
    /// lost. The homeserver gives the event to the device that sent it with the transaction ID it
    /// was sent with (`unsigned.transaction_id`; the bot's device ID never changes), which names
    /// the outbox message ([`exodus_storage::Store::recognise_sent`], which records the send).
    /// Asked only while a tagged message to the room waits for its mark; only an event the bot
    /// itself sent, into this room, counts.
    async fn unmarked_tag(&self, room: &Room, target: &str) -> Result<Option<Tag>, Stop> {
        let store = self.pipeline.store();
        let room_id = room.room_id();
        let failed = |e: exodus_storage::StoreError| Stop::Failed(e.to_string());
        if !store.unmarked_tagged(room_id.as_str()).await.map_err(failed)? {
            return Ok(None);
        }
        let Ok(event_id) = OwnedEventId::try_from(target) else { return Ok(None) };
        // The event as the homeserver has it, not decrypted: `unsigned` is outside the
        // encryption, and only the sender and it are read.
        let request = get_room_event::v3::Request::new(room_id.to_owned(), event_id);
        let event = match self.client.send(request).await {
            Ok(response) => response.event,
            Err(e) => match e.as_client_api_error().map(|e| e.status_code.as_u16()) {
                // Not an event of this room that the bot may read: nothing it sent.
                Some(status) if (400..500).contains(&status) && status != 429 => {
                    debug!(%target, status, "the event reacted to cannot be read");
                    return Ok(None);
                }
                _ => return Err(Stop::Failed(format!("/event: {e}"))),
            },
        };
        let sender = event.get_field::<OwnedUserId>("sender").ok().flatten();
        let unsigned = event.get_field::<Unsigned>("unsigned").ok().flatten();
        let txn_id = match (sender, unsigned.and_then(|u| u.transaction_id)) {
            (Some(sender), Some(txn_id)) if sender == room.own_user_id() => txn_id,
            // Someone else's event, or none the bot's device sent with a transaction ID.
            _ => return Ok(None),
        };
        let tag = store
            .recognise_sent(room_id.as_str(), txn_id.as_str(), target, Utc::now())
            .await
            .map_err(failed)?;
        if let Some(tag) = tag {
            info!(%target, %txn_id, %tag, "a reaction to a message sent but not yet marked sent: recognised by its transaction ID");
        }
        Ok(tag)
    }

    /// Runs the pending commands through the pipeline, counting them, and moves `progress` past
    /// those committed. On an error the cursor is left before the first that was not, to be
    /// retried; an event that failed [`MAX_FAILURES`] times (a bug, a constraint, a panic) is
    /// answered with an `internal` error naming a reference that is in the log, and passed over.
    async fn run_pending(
        &mut self,
        room_id: &str,
        pending: &mut Vec<Pending>,
        progress: &mut Progress,
    ) -> Result<(), Stop> {
        let mut start = 0;
        while start < pending.len() {
            let started = Instant::now();
            let (handled, error) = self.run_guarded(&pending[start..]).await;
            let seconds = started.elapsed().as_secs_f64();
            for (p, handled) in pending[start..].iter().zip(&handled) {
                if *handled != Handled::NotACommand {
                    self.metrics.command_seconds.observe(seconds);
                    let counted = match handled {
                        Handled::Applied { ok: true, .. } => "ok",
                        Handled::Applied { ok: false, .. } => "error",
                        Handled::Ignored => "ignored",
                        Handled::Refused => "flooded",
                        _ => "duplicate",
                    };
                    self.metrics.count_command(counted);
                    self.outbox_wake.notify_one();
                }
                self.failures.remove(&p.event.event_id);
                // A duplicate wrote nothing, so the cursor may still be behind it.
                progress.cursor_written =
                    !matches!(handled, Handled::NotACommand | Handled::Duplicate);
                progress.last = Some(Cursor {
                    event_id: p.event.event_id.clone(),
                    origin_ts: p.event.origin_ts,
                });
            }
            start += handled.len();
            let Some(e) = error else { break };
            let Some(failed) = pending.get(start) else { break };
            let event_id = failed.event.event_id.clone();
            if self.failed_again(&event_id) {
                let reference = reference();
                error!(%event_id, %reference, error = %e, "command failed {MAX_FAILURES} times; answered with an internal error and passed over");
                if self.pipeline.fail(&failed.incoming(), &reference, Utc::now()).await.is_ok() {
                    self.metrics.count_command("failed");
                    self.outbox_wake.notify_one();
                    self.failures.remove(&event_id);
                    progress.cursor_written = true;
                    progress.last = Some(Cursor { event_id, origin_ts: failed.event.origin_ts });
                    start += 1;
                    continue;
                }
            }
            error!(%event_id, error = %e, "event not handled; will retry from the cursor");
            pending.clear();
            self.flush_cursor(room_id, progress.last.as_ref(), progress.cursor_written).await?;
            return Err(Stop::Failed(e));
        }
        pending.clear();
        Ok(())
    }

    /// [`Pipeline::handle_batch`], with a panic turned into an error. After a panic in a batch of
    /// several events they are run again one by one (those committed come back as duplicates), so
    /// that the error is the one event's that panics.
    async fn run_guarded(&self, pending: &[Pending]) -> (Vec<Handled>, Option<String>) {
        match self.run_batch(pending).await {
            Ok((handled, error)) => (handled, error),
            Err(panic) if pending.len() == 1 => (Vec::new(), Some(panic)),
            Err(_) => {
                let mut all = Vec::new();
                for one in pending {
                    match self.run_batch(std::slice::from_ref(one)).await {
                        Ok((handled, None)) => all.extend(handled),
                        Ok((_, Some(e))) | Err(e) => return (all, Some(e)),
                    }
                }
                (all, None)
            }
        }
    }

    async fn run_batch(
        &self,
        pending: &[Pending],
    ) -> Result<(Vec<Handled>, Option<String>), String> {
        let incomings: Vec<Incoming<'_>> = pending.iter().map(Pending::incoming).collect();
        let rooms = MatrixRooms { client: &self.client };
        let batch = std::panic::AssertUnwindSafe(self.pipeline.handle_batch(
            &incomings,
            &rooms,
            Utc::now(),
        ));
        match batch.catch_unwind().await {
            Ok(outcome) => Ok((outcome.handled, outcome.error.map(|e| e.to_string()))),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(format!("panic: {what}"))
            }
        }
    }

    /// After an event handled in a transaction of its own (`result`: whether it was new): the
    /// cursor counts as written when it was, and the outbox wakes; on an error the cursor stays
    /// before the event, which is retried, and passed over after [`MAX_FAILURES`] failures.
    async fn handled(
        &mut self,
        room_id: &str,
        event: &EventRef,
        result: Result<bool, exodus_storage::StoreError>,
        progress: &mut Progress,
    ) -> Result<(), Stop> {
        match result {
            Ok(claimed) => {
                // A duplicate wrote nothing, so the cursor may still be behind it.
                progress.cursor_written = claimed;
                self.failures.remove(&event.event_id);
                self.outbox_wake.notify_one();
                Ok(())
            }
            Err(e) => {
                if self.failed_again(&event.event_id) {
                    let reference = reference();
                    error!(event_id = %event.event_id, %reference, error = %e, "event failed {MAX_FAILURES} times; passed over");
                    self.metrics.count_command("failed");
                    if self.pipeline.pass_over(event, Utc::now()).await.is_ok() {
                        self.failures.remove(&event.event_id);
                        progress.cursor_written = true;
                        return Ok(());
                    }
                }
                error!(event_id = %event.event_id, error = %e, "event not handled; will retry from the cursor");
                self.flush_cursor(room_id, progress.last.as_ref(), progress.cursor_written).await?;
                Err(Stop::Failed(e.to_string()))
            }
        }
    }

    /// Counts a failure of `event_id`: whether it has now failed [`MAX_FAILURES`] times.
    fn failed_again(&mut self, event_id: &str) -> bool {
        if self.failures.len() > 10_000 {
            self.failures.clear();
        }
        let count = self.failures.entry(event_id.to_owned()).or_insert(0);
        *count += 1;
        *count >= MAX_FAILURES
    }

    /// Moves the cursor past events that needed no transaction of their own.
    async fn flush_cursor(
        &self,
        room_id: &str,
        last: Option<&Cursor>,
        written: bool,
    ) -> Result<(), Stop> {
        match last {
            Some(cursor) if !written => self
                .pipeline
                .store()
                .advance_cursor(room_id, cursor, Utc::now())
                .await
                .map_err(|e| Stop::Failed(e.to_string())),
            _ => Ok(()),
        }
    }

    /// Whether the room is the sender's direct chat with the bot: recorded as theirs, and nobody
    /// else in it.
    async fn is_dm_of(&self, room: &Room, sender: &MemberId) -> Result<bool, String> {
        let owner = self
            .pipeline
            .store()
            .dm_owner(room.room_id().as_str())
            .await
            .map_err(|e| e.to_string())?;
        Ok(owner.as_ref() == Some(sender) && room.joined_members_count() <= 2)
    }

    /// A DM room whose member left is forgotten and left; the next DM opens a new one. Decided on
    /// the leave event itself, not on the state store, which may not have the member yet.
    async fn check_dm_room(&self, room: &Room, left: &MemberId) {
        let store = self.pipeline.store();
        let Ok(Some(owner)) = store.dm_owner(room.room_id().as_str()).await else { return };
        if owner == *left {
            info!(room_id = %room.room_id(), member = %owner, "member left their DM; leaving it too");
            let _ = store.forget_dm_room(room.room_id().as_str()).await;
            let _ = room.leave().await;
        }
    }

    /// A room the bot left or was removed from: its cursor goes, so a later re-join starts at the
    /// new join event and never runs what happened in between (V6, V7).
    async fn forget_room(&mut self, room_id: &matrix_sdk::ruma::RoomId) {
        self.retry.remove(room_id);
        let store = self.pipeline.store();
        if let Err(e) = store.forget_cursor(room_id.as_str()).await {
            warn!(%room_id, error = %e, "could not forget the cursor of a left room");
        }
        let _ = store.forget_dm_room(room_id.as_str()).await;
    }

    /// Accepts invites allowed by `invite_policy` and declines the others.
    async fn handle_invites(&mut self) {
        for room in self.client.invited_rooms() {
            let room_id = room.room_id().to_owned();
            if self
                .invites_tried
                .get(&room_id)
                .is_some_and(|t| t.elapsed() < Duration::from_secs(10))
            {
                continue;
            }
            self.invites_tried.insert(room_id.clone(), Instant::now());
            let details = match room.invite_details().await {
                Ok(d) => d,
                Err(e) => {
                    warn!(%room_id, error = %e, "cannot read the invite");
                    continue;
                }
            };
            let inviter = details.inviter_id.to_string();
            if !self.invite_policy.allows(&inviter, &self.admins) {
                info!(%room_id, %inviter, "invite declined by invite_policy");
                let _ = room.leave().await;
                continue;
            }
            let is_direct = match &**details.invitee.event() {
                SyncOrStrippedState::Sync(SyncStateEvent::Original(e)) => e.content.is_direct,
                SyncOrStrippedState::Stripped(e) => e.content.is_direct,
                SyncOrStrippedState::Sync(SyncStateEvent::Redacted(_)) => None,
            }
            .unwrap_or(false);
            match room.join().await {
                Ok(()) => {
                    info!(%room_id, %inviter, is_direct, "joined");
                    self.invites_tried.remove(&room_id);
                    if is_direct && let Some(member) = MemberId::parse(&inviter) {
                        let _ = self
                            .pipeline
                            .store()
                            .set_dm_room(&member, room_id.as_str(), Utc::now())
                            .await;
                    }
                }
                Err(e) => warn!(%room_id, error = %e, "join failed; will retry"),
            }
        }
    }
}

/// What [`Syncer::unmarked_tag`] reads of an event's `unsigned`.
#[derive(serde::Deserialize)]
struct Unsigned {
    /// The transaction ID the event was sent with, given only to the device that sent it.
    transaction_id: Option<OwnedTransactionId>,
}

/// The room's most recent event, as a cursor.
async fn latest_cursor(room: &Room) -> Result<Option<Cursor>, Stop> {
    let mut options = MessagesOptions::backward();
    options.limit = uint!(1);
    let page = room.messages(options).await.map_err(|e| Stop::Failed(format!("/messages: {e}")))?;
    Ok(page.chunk.first().and_then(|event| {
        let event_id = event.event_id()?;
        let raw: Value = serde_json::from_str(event.raw().json().get()).ok()?;
        Some(Cursor {
            event_id: event_id.to_string(),
            origin_ts: raw["origin_server_ts"].as_i64()?,
        })
    }))
}

/// Whether a member is joined to the room now, as the homeserver last reported (V6).
async fn joined(room: &Room, member: &MemberId) -> Result<bool, String> {
    is_member(room, member).await.map_err(|e| e.to_string())
}

async fn is_member(room: &Room, member: &MemberId) -> Result<bool, RoomFactError> {
    let found = room.get_member_no_sync(&user_id(member)?).await.map_err(state_error)?;
    Ok(found.is_some_and(|m| *m.membership() == MembershipState::Join))
}

fn user_id(member: &MemberId) -> Result<OwnedUserId, RoomFactError> {
    UserId::parse(member.as_str()).map_err(|_| RoomFactError::InvalidId(member.to_string()))
}

fn state_error(e: impl std::error::Error + Send + Sync + 'static) -> RoomFactError {
    RoomFactError::State(Box::new(e))
}

/// [`Rooms`] answered from the room state the homeserver sent (the SDK's state store, kept
/// current by the sync). A room the bot is not joined to answers nothing: the pipeline then denies.
pub struct MatrixRooms<'c> {
    pub client: &'c Client,
}

impl MatrixRooms<'_> {
    fn room(&self, room_id: &str) -> Result<Room, RoomFactError> {
        let id = matrix_sdk::ruma::RoomId::parse(room_id)
            .map_err(|_| RoomFactError::InvalidId(room_id.to_owned()))?;
        match self.client.get_room(&id) {
            Some(room) if room.state() == RoomState::Joined => Ok(room),
            _ => Err(RoomFactError::NotJoined(room_id.to_owned())),
        }
    }
}

impl Rooms for MatrixRooms<'_> {
    async fn is_joined(&self, room_id: &str, member: &MemberId) -> Result<bool, RoomFactError> {
        is_member(&self.room(room_id)?, member).await
    }

    async fn power_level(&self, room_id: &str, member: &MemberId) -> Result<i64, RoomFactError> {
        let room = self.room(room_id)?;
        let found = room.get_member_no_sync(&user_id(member)?).await.map_err(state_error)?;
        Ok(match found.map(|m| m.power_level()) {
            Some(UserPowerLevel::Int(level)) => i64::from(level),
            Some(_) => i64::MAX,
            None => 0,
        })
    }

    async fn world_readable(&self, room_id: &str) -> Result<bool, RoomFactError> {
        let room = self.room(room_id)?;
        Ok(room.history_visibility_or_default() == HistoryVisibility::WorldReadable)
    }

    /// The room's joined members but the bot itself (it is nobody's supporter, and a
    /// notification to it would be a DM with itself).
    async fn joined_members(&self, room_id: &str) -> Result<Vec<MemberId>, RoomFactError> {
        let room = self.room(room_id)?;
        let members = room.members_no_sync(RoomMemberships::JOIN).await.map_err(state_error)?;
        let me = self.client.user_id();
        Ok(members
            .iter()
            .filter(|m| Some(m.user_id()) != me)
            .filter_map(|m| MemberId::parse(m.user_id().as_str()))
            .collect())
    }
}

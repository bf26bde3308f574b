//! Sends what the outbox holds, each message with its stable transaction ID (SPEC §8): a crash
//! between commit and send resends it with the same ID, and the homeserver keeps one.
//!
//! Fair on a homeserver with real rate limits (issue 18): order is kept per destination (a room,
//! or a member's DM), not globally. Each round takes the first pending message of every
//! destination ([`Store::outbox_heads`]): replies before notifications before digests, and
//! within each, the destination served longest ago first (round-robin), so no room waits behind
//! another's backlog; a round ends early when a command commits new messages. A 429 pauses the
//! whole account for its `retry_after_ms`. A destination whose sends fail backs off on its own
//! (exponential, capped) while the others go on, and is given up after a bound (`[limits]`),
//! until an admin retries or drops it (`admin outbox`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use exodus_commands::MemberId;
use exodus_storage::{Backoff, PendingMessage, Store, StoreError, Tag, Target};
use futures_util::FutureExt as _;
use matrix_sdk::ruma::api::client::room::create_room;
use matrix_sdk::ruma::api::client::room::create_room::v3::RoomPreset;
use matrix_sdk::ruma::api::error::{ErrorKind, LimitExceededErrorData, RetryAfter};
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedTransactionId, RoomId, UserId};
use matrix_sdk::{Client, Room, RoomState};
use tokio::sync::{Notify, watch};
use tracing::{error, info, warn};

use crate::action::Action;
use crate::digest;
use crate::metrics::Metrics;
use crate::pipeline::Settings;

/// A message that failed this many times with a permanent error (4xx other than 429) is given up.
const MAX_PERMANENT_FAILURES: i32 = 3;
/// How long the outbox pauses after a database error.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Destinations looked at in one round.
const ROUND: i64 = 256;
/// A round is cut short for new messages after this long at the earliest.
const REREAD: Duration = Duration::from_millis(250);
/// The first wait after a destination fails; it doubles with each failure up to the configured
/// maximum.
const FIRST_RETRY: Duration = Duration::from_secs(2);
/// A member's DM invitation is sent again after this long at the earliest (the homeserver keeps
/// trying an unreachable server for about ten seconds after the outbox stopped waiting).
const REINVITE_AFTER: Duration = Duration::from_secs(30);
/// How long the outbox waits for a member's homeserver to take an invitation to their DM.
const INVITE_TIMEOUT: Duration = Duration::from_secs(5);
/// The wait after a 429 that names none.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(5);
/// How long the test failpoint `outbox-late-mark` holds a tagged message's mark.
const LATE_MARK: Duration = Duration::from_secs(15);

enum SendError {
    /// The account is rate-limited: nothing is sent anywhere for this long.
    RateLimited(Duration),
    /// Worth retrying: the network, the homeserver, a federated server that does not answer.
    Transient(String),
    /// The homeserver refuses this message (the bot left the room, …).
    Permanent(String),
}

pub struct Outbox {
    pub client: Client,
    pub store: Store,
    pub wake: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    /// This process, for the outbox lease: of several processes sharing the database one sends
    /// at a time (two would send a message twice and out of order).
    pub runner: String,
    /// The unit and prefixes digests are rendered with when sent ([`crate::digest`]).
    pub settings: Settings,
    /// The longest wait between tries of a failing destination, and when it is given up.
    pub retry_max: Duration,
    pub give_up_after: Duration,
    /// When each member was last invited to their DM: an invitation the homeserver is still
    /// trying to deliver is not sent again before [`REINVITE_AFTER`] (two at once to a server that
    /// is coming back left it holding an invite its room did not know).
    pub invited: std::sync::Mutex<HashMap<String, std::time::Instant>>,
}

/// This process's hold on the outbox lease.
struct Lease {
    until: Option<chrono::DateTime<Utc>>,
}

/// How long the outbox lease lasts without renewal; it is renewed at half of it.
const LEASE: chrono::Duration = chrono::Duration::seconds(30);

/// When each destination was last served (a counter, not a clock): the round-robin order.
#[derive(Default)]
struct Turns {
    served: HashMap<String, u64>,
    next: u64,
}

impl Turns {
    /// Orders a round: by priority, then the destination served longest ago (never: first),
    /// then the message's age.
    fn order(&self, heads: &mut [PendingMessage]) {
        heads.sort_by_key(|p| {
            (
                p.message.priority,
                self.served.get(p.message.target.destination()).copied().unwrap_or(0),
                p.id,
            )
        });
    }

    fn served(&mut self, destination: &str) {
        self.next += 1;
        if self.served.len() > 100_000 {
            // Forget the oldest half; they count as never served, which only moves them ahead.
            let mut turns: Vec<u64> = self.served.values().copied().collect();
            turns.sort_unstable();
            let cut = turns[turns.len() / 2];
            self.served.retain(|_, t| *t > cut);
        }
        self.served.insert(destination.to_owned(), self.next);
    }
}

impl Outbox {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if crate::failpoint::armed("outbox-panic") {
            panic!("test failpoint: the outbox task panics");
        }
        let mut backoff = Duration::from_millis(250);
        let mut lease = Lease { until: None };
        let mut turns = Turns::default();
        loop {
            match self.drain(&mut lease, &mut turns, &mut shutdown).await {
                Ok(()) => {
                    backoff = Duration::from_millis(250);
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        // Rows written by another process sharing the database are picked up
                        // too, and destinations whose wait is over.
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.wait_for(|stop| *stop) => break,
                    }
                }
                Err(e) => {
                    warn!(error = %e, retry_in = ?backoff, "outbox paused");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.wait_for(|stop| *stop) => break,
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            if *shutdown.borrow() {
                break;
            }
        }
        // Another process may take over at once.
        if lease.until.is_some()
            && let Err(e) = self.store.release_lease("outbox", &self.runner).await
        {
            warn!(error = %e, "could not release the outbox lease");
        }
    }

    /// Holds the outbox lease, renewing it when half of it has passed: `false` while another
    /// process holds it.
    async fn hold(&self, lease: &mut Lease) -> Result<bool, StoreError> {
        let now = Utc::now();
        if lease.until.is_some_and(|until| until - now > LEASE / 2) {
            return Ok(true);
        }
        let held = self.store.hold_lease("outbox", &self.runner, now, LEASE).await?;
        if held && lease.until.is_none() {
            info!(runner = %self.runner, "this process sends the outbox");
        }
        lease.until = held.then_some(now + LEASE);
        Ok(held)
    }

    fn backoff(&self) -> Backoff {
        let span = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        Backoff {
            first: span(FIRST_RETRY.min(self.retry_max)),
            max: span(self.retry_max),
            give_up_after: span(self.give_up_after),
        }
    }

    /// Sends rounds of the destinations' next messages until none may be sent now. Sends nothing
    /// while another process holds the lease.
    async fn drain(
        &self,
        lease: &mut Lease,
        turns: &mut Turns,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), StoreError> {
        loop {
            if !self.hold(lease).await? {
                return Ok(());
            }
            let mut heads = self.store.outbox_heads(Utc::now(), ROUND).await?;
            if heads.is_empty() {
                return Ok(());
            }
            turns.order(&mut heads);
            let round = std::time::Instant::now();
            for pending in heads {
                if *shutdown.borrow() || !self.hold(lease).await? {
                    return Ok(());
                }
                let destination = pending.message.target.destination().to_owned();
                turns.served(&destination);
                match self.send(&pending).await {
                    Ok(event_id) => {
                        self.metrics.outbox_sent.inc();
                        if pending.message.tag.is_some() {
                            self.before_mark(&pending).await;
                        }
                        self.store.mark_sent(pending.id, &event_id, Utc::now()).await?;
                        if pending.destination_failures > 0 {
                            info!(%destination, "destination reachable again");
                            self.store.destination_recovered(&destination).await?;
                        }
                    }
                    Err(SendError::RateLimited(wait)) => {
                        // The account, not the destination: everyone waits, and the round
                        // starts over afterwards (replies may have come in meanwhile).
                        self.metrics.outbox_rate_limited.inc();
                        info!(
                            wait_ms = wait.as_millis() as u64,
                            "rate-limited by the homeserver; the outbox waits"
                        );
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                        }
                        break;
                    }
                    Err(SendError::Transient(e)) => {
                        self.metrics.outbox_failed.inc();
                        self.store.mark_failed(pending.id, &e, false, Utc::now()).await?;
                        self.destination_failed(&destination, &e).await?;
                    }
                    Err(SendError::Permanent(e)) => {
                        self.metrics.outbox_failed.inc();
                        let give_up = pending.attempts + 1 >= MAX_PERMANENT_FAILURES;
                        warn!(txn_id = %pending.message.txn_id, error = %e, give_up, "message refused");
                        self.store.mark_failed(pending.id, &e, give_up, Utc::now()).await?;
                        if !give_up {
                            self.destination_failed(&destination, &e).await?;
                        }
                    }
                }
                // A command committed new messages: start a new round, so that its reply does
                // not wait for the rest of this one. Not more often than every REREAD: reading the
                // heads goes over every pending row (100,000 after a rollover).
                if round.elapsed() >= REREAD && self.wake.notified().now_or_never().is_some() {
                    break;
                }
            }
        }
    }

    /// Test failpoints between a tagged message's send and its mark (a paid notice, a claim, a
    /// card: what a reaction may answer), where a reaction to it is read before the outbox
    /// knows the event it made: `outbox-before-mark` aborts the process there (a crash before the
    /// mark; the message is resent after the restart), `outbox-late-mark` waits
    /// [`LATE_MARK`] there (a reaction comes in meanwhile).
    async fn before_mark(&self, pending: &PendingMessage) {
        let txn_id = &pending.message.txn_id;
        if crate::failpoint::armed("outbox-before-mark") {
            error!(failpoint = "outbox-before-mark", %txn_id, "test failpoint reached: aborting");
            std::process::abort();
        }
        if crate::failpoint::armed("outbox-late-mark") {
            warn!(failpoint = "outbox-late-mark", %txn_id, wait = ?LATE_MARK, "test failpoint reached: the mark waits");
            tokio::time::sleep(LATE_MARK).await;
        }
    }

    /// A destination's send failed: it waits (the others go on), and is given up past the bound.
    async fn destination_failed(&self, destination: &str, error: &str) -> Result<(), StoreError> {
        let state =
            self.store.destination_failed(destination, error, Utc::now(), self.backoff()).await?;
        if state.failed {
            warn!(%destination, failures = state.failures, error, "destination given up; `admin outbox retry` sends its messages again");
        } else {
            warn!(%destination, failures = state.failures, retry_at = %state.retry_at, error, "destination failing; its messages wait");
        }
        Ok(())
    }

    async fn send(&self, pending: &PendingMessage) -> Result<String, SendError> {
        let message = &pending.message;
        match Action::of_row(&message.event_type, &message.content) {
            None => self.send_message(message).await,
            Some(Err(e)) => Err(SendError::Permanent(e)),
            Some(Ok(Action::CreateCircle { owner, name })) => self.create_circle(owner, name).await,
            Some(Ok(Action::Invite { user_id })) => self.invite(message, &user_id).await,
            Some(Ok(Action::Edit { tag, new_content })) => {
                self.edit(message, tag, &new_content).await
            }
            Some(Ok(Action::Digest(packed))) => self.digest(message, &packed).await,
        }
    }

    /// Sends a message or state-less event as it is.
    async fn send_message(
        &self,
        message: &exodus_storage::OutboxMessage,
    ) -> Result<String, SendError> {
        let room = match &message.target {
            Target::Room(room_id) => {
                let room_id =
                    RoomId::parse(room_id).map_err(|e| SendError::Permanent(e.to_string()))?;
                match self.client.get_room(&room_id) {
                    Some(room) if room.state() == RoomState::Joined => room,
                    _ => return Err(SendError::Permanent(format!("the bot is not in {room_id}"))),
                }
            }
            Target::Dm(member)
                if self.client.user_id().is_some_and(|me| me.as_str() == member.as_str()) =>
            {
                // Never a DM with itself: there is nobody to tell.
                return Ok(String::new());
            }
            Target::Dm(member) => self.dm_room(member).await?,
        };
        let txn_id: OwnedTransactionId = message.txn_id.as_str().into();
        let response = room
            .send_raw(&message.event_type, message.content.clone())
            .with_transaction_id(&txn_id)
            .await
            .map_err(classify)?;
        Ok(response.response.event_id.to_string())
    }

    /// A job's digest, rendered now from what the job packed ([`crate::digest`]).
    async fn digest(
        &self,
        message: &exodus_storage::OutboxMessage,
        packed: &serde_json::Value,
    ) -> Result<String, SendError> {
        let Target::Dm(member) = &message.target else {
            return Err(SendError::Permanent("a digest not to a member".into()));
        };
        let content = digest::render(member, packed, &self.settings)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let rendered = exodus_storage::OutboxMessage {
            event_type: "m.room.message".into(),
            content,
            ..message.clone()
        };
        self.send_message(&rendered).await
    }

    /// An edit of an earlier message of the bot's (an initiative's card, SPEC §3.4), found by
    /// its tag: `m.replace` with the new content. The message it edits was queued before it, so
    /// it is sent by now; if it never could be, neither can the edit.
    async fn edit(
        &self,
        message: &exodus_storage::OutboxMessage,
        tag: Tag,
        new_content: &serde_json::Value,
    ) -> Result<String, SendError> {
        let Target::Room(room_id) = &message.target else {
            return Err(SendError::Permanent("an edit goes to a room".into()));
        };
        let original = self
            .store
            .tagged_event(room_id, tag)
            .await
            .map_err(|e| SendError::Transient(e.to_string()))?;
        let Some(original) = original else {
            return Err(SendError::Permanent(format!("no sent message tagged {tag} to edit")));
        };
        let star = |key: &str| format!("* {}", new_content[key].as_str().unwrap_or_default());
        let content = serde_json::json!({
            "msgtype": new_content["msgtype"],
            "body": star("body"),
            "format": new_content["format"],
            "formatted_body": star("formatted_body"),
            "m.new_content": new_content,
            "m.relates_to": { "rel_type": "m.replace", "event_id": original },
            "m.mentions": {},
        });
        let edit = exodus_storage::OutboxMessage {
            event_type: "m.room.message".into(),
            content,
            ..message.clone()
        };
        self.send_message(&edit).await
    }

    /// `circle open` from a DM: an encrypted room "Circle of <owner>", the owner invited with
    /// power 100, bound as their circle. Returns the room ID (recorded as the row's event ID).
    async fn create_circle(&self, owner: MemberId, name: String) -> Result<String, SendError> {
        // A retry after the room was made and bound must not make a second one.
        if let Some(room_id) = self
            .store
            .circle_room_of(&owner)
            .await
            .map_err(|e| SendError::Transient(e.to_string()))?
        {
            return Ok(room_id);
        }
        let user =
            UserId::parse(owner.as_str()).map_err(|e| SendError::Permanent(e.to_string()))?;
        let mut request = create_room::v3::Request::new();
        request.name = Some(name);
        request.invite = vec![user.clone()];
        request.preset = Some(RoomPreset::PrivateChat);
        request.initial_state = vec![
            initial_state(
                "m.room.encryption",
                serde_json::json!({"algorithm": "m.megolm.v1.aes-sha2"}),
            )?,
            // Only members read the ledger (V9).
            initial_state(
                "m.room.history_visibility",
                serde_json::json!({"history_visibility": "shared"}),
            )?,
        ];
        request.power_level_content_override = Some(
            // The creator (the bot) must not be listed: since room version 12 it outranks
            // everyone anyway; the owner gets the highest ordinary level.
            raw(&serde_json::json!({ "users": { user.as_str(): 100 } }))?,
        );
        let room = self.client.create_room(request).await.map_err(classify)?;
        let room_id = room.room_id().to_string();
        let bound = async {
            let mut tx = self.store.begin().await?;
            let bound = tx.bind_circle(&owner, &room_id, Utc::now()).await?;
            tx.commit().await?;
            Ok::<_, exodus_storage::StoreError>(bound)
        };
        match bound.await {
            Ok(true) => info!(%owner, %room_id, "created a circle room"),
            Ok(false) => {
                warn!(%owner, %room_id, "the owner already had a circle; the new room stays unbound")
            }
            Err(e) => return Err(SendError::Transient(e.to_string())),
        }
        Ok(room_id)
    }

    /// `circle invite`: the bot invites a member to a room.
    async fn invite(
        &self,
        message: &exodus_storage::OutboxMessage,
        user: &MemberId,
    ) -> Result<String, SendError> {
        let Target::Room(room_id) = &message.target else {
            return Err(SendError::Permanent("invite without a room".into()));
        };
        let room_id = RoomId::parse(room_id).map_err(|e| SendError::Permanent(e.to_string()))?;
        let room = self
            .client
            .get_room(&room_id)
            .ok_or_else(|| SendError::Permanent(format!("the bot is not in {room_id}")))?;
        let user = UserId::parse(user.as_str()).map_err(|e| SendError::Permanent(e.to_string()))?;
        // Already joined or invited: nothing to do (a resend after a crash lands here).
        if let Ok(Some(m)) = room.get_member_no_sync(&user).await
            && matches!(m.membership(), MembershipState::Join | MembershipState::Invite)
        {
            return Ok(format!("invite:{user}"));
        }
        room.invite_user_by_id(&user).await.map_err(classify)?;
        Ok(format!("invite:{user}"))
    }

    /// The member's DM room with the bot, opened when there is none or the member left the old
    /// one. Opened once per member, never once per retry: the room is made without the invite
    /// and recorded first, then the member is invited (is_direct); when the invite fails (their
    /// homeserver is down), the next try invites them to the same room again.
    async fn dm_room(&self, member: &MemberId) -> Result<Room, SendError> {
        let user =
            UserId::parse(member.as_str()).map_err(|e| SendError::Permanent(e.to_string()))?;
        let known =
            self.store.dm_room(member).await.map_err(|e| SendError::Transient(e.to_string()))?;
        if let Some(room) =
            known.and_then(|id| RoomId::parse(&id).ok()).and_then(|id| self.client.get_room(&id))
            && room.state() == RoomState::Joined
        {
            let membership = match room.get_member_no_sync(&user).await {
                Ok(Some(m)) => Some(m.membership().clone()),
                _ => None,
            };
            match membership {
                Some(MembershipState::Join | MembershipState::Invite) => return Ok(room),
                // Never invited yet (the invite failed): invite them again, here, unless the
                // last invitation may still be on its way.
                None => {
                    let last = self
                        .invited
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .get(member.as_str())
                        .copied();
                    if last.is_some_and(|at| at.elapsed() < REINVITE_AFTER) {
                        return Err(SendError::Transient(format!(
                            "the invitation of {user} to their direct chat is on its way"
                        )));
                    }
                    self.invite_to_dm(&room, &user).await?;
                    return Ok(room);
                }
                // They left or were banned: a new room.
                Some(_) => {}
            }
        }
        let mut request = create_room::v3::Request::new();
        request.is_direct = true;
        request.preset = Some(RoomPreset::TrustedPrivateChat);
        request.initial_state = vec![initial_state(
            "m.room.encryption",
            serde_json::json!({"algorithm": "m.megolm.v1.aes-sha2"}),
        )?];
        let room = self.client.create_room(request).await.map_err(classify)?;
        info!(%member, room_id = %room.room_id(), "opened a direct chat");
        self.store
            .set_dm_room(member, room.room_id().as_str(), Utc::now())
            .await
            .map_err(|e| SendError::Transient(e.to_string()))?;
        self.invite_to_dm(&room, &user).await?;
        Ok(room)
    }

    /// Invites the member to their DM, marked as direct (`is_direct` on the invite, and the
    /// bot's `m.direct`). Any failure is the destination's to wait out: the member's own
    /// homeserver may be unreachable.
    async fn invite_to_dm(&self, room: &Room, user: &UserId) -> Result<(), SendError> {
        {
            let mut invited =
                self.invited.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if invited.len() > 10_000 {
                invited.retain(|_, at| at.elapsed() < REINVITE_AFTER);
            }
            invited.insert(user.to_string(), std::time::Instant::now());
        }
        let invite: Raw<matrix_sdk::ruma::events::AnyStateEventContent> =
            raw(&serde_json::json!({ "membership": "invite", "is_direct": true }))?;
        // The homeserver tries an unreachable server for about ten seconds; the outbox, which
        // sends one message at a time, waits at most INVITE_TIMEOUT (an invitation that still goes
        // through is found at the next try).
        let invited = tokio::time::timeout(
            INVITE_TIMEOUT,
            room.send_state_event_raw("m.room.member", user.as_str(), invite),
        )
        .await;
        let Ok(invited) = invited else {
            return Err(SendError::Transient(format!(
                "inviting {user} to their direct chat: no answer within {INVITE_TIMEOUT:?}"
            )));
        };
        match invited {
            Ok(_) => {}
            Err(e) => {
                return Err(match classify(e) {
                    SendError::Permanent(e) => {
                        SendError::Transient(format!("inviting {user} to their direct chat: {e}"))
                    }
                    other => other,
                });
            }
        }
        if let Err(e) = self.client.account().mark_as_dm(room.room_id(), &[user.to_owned()]).await {
            warn!(room_id = %room.room_id(), error = %e, "could not mark the direct chat in m.direct");
        }
        Ok(())
    }
}

/// JSON as the raw Matrix type a request takes.
fn raw<T>(value: &serde_json::Value) -> Result<Raw<T>, SendError> {
    Ok(Raw::new(value).map_err(|e| SendError::Permanent(e.to_string()))?.cast_unchecked())
}

/// A state event of a room being created (`initial_state`).
fn initial_state<T>(event_type: &str, content: serde_json::Value) -> Result<Raw<T>, SendError> {
    raw(&serde_json::json!({ "type": event_type, "state_key": "", "content": content }))
}

fn classify(error: matrix_sdk::Error) -> SendError {
    if let Some(ErrorKind::LimitExceeded(LimitExceededErrorData { retry_after, .. })) =
        error.client_api_error_kind()
    {
        let wait = match retry_after {
            Some(RetryAfter::Delay(d)) => *d,
            Some(RetryAfter::DateTime(at)) => {
                at.duration_since(std::time::SystemTime::now()).unwrap_or_default()
            }
            None => DEFAULT_RATE_LIMIT_WAIT,
        };
        // At least a little: a zero wait would spin.
        return SendError::RateLimited(wait.max(Duration::from_millis(100)));
    }
    match error.as_client_api_error().map(|e| e.status_code.as_u16()) {
        Some(429) => SendError::RateLimited(DEFAULT_RATE_LIMIT_WAIT),
        Some(status) if (400..500).contains(&status) => SendError::Permanent(error.to_string()),
        _ => SendError::Transient(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use exodus_storage::{OutboxMessage, PendingMessage, Priority, Target};

    use super::Turns;

    fn pending(id: i64, room: &str, priority: Priority) -> PendingMessage {
        PendingMessage {
            id,
            attempts: 0,
            destination_failures: 0,
            message: OutboxMessage {
                txn_id: format!("t{id}"),
                target: Target::Room(room.into()),
                event_type: "m.room.message".into(),
                content: serde_json::json!({}),
                tag: None,
                priority,
            },
        }
    }

    /// One room's backlog does not keep another room waiting: after a room is served, a room
    /// served longer ago (or never) comes first, whatever the ages of their messages; replies
    /// always before notices and digests.
    #[test]
    fn rounds_serve_rooms_in_turn_replies_first() {
        let mut turns = Turns::default();
        let ids = |heads: &[PendingMessage]| heads.iter().map(|p| p.id).collect::<Vec<_>>();
        // The busy room's backlog is older than the quiet room's only reply.
        let mut round = vec![
            pending(10, "!quiet:x", Priority::Reply),
            pending(1, "!busy:x", Priority::Reply),
            pending(0, "!dm:x", Priority::Digest),
        ];
        turns.order(&mut round);
        assert_eq!(ids(&round), [1, 10, 0], "nobody served yet: by age");
        turns.served("!busy:x");
        // Its next message comes up in the next round, still older than the quiet room's.
        let mut round = vec![
            pending(2, "!busy:x", Priority::Reply),
            pending(10, "!quiet:x", Priority::Reply),
            pending(0, "!dm:x", Priority::Digest),
        ];
        turns.order(&mut round);
        assert_eq!(
            ids(&round),
            [10, 2, 0],
            "the room never served goes before the one just served"
        );
        turns.served("!quiet:x");
        let mut round = vec![
            pending(3, "!busy:x", Priority::Reply),
            pending(11, "!quiet:x", Priority::Reply),
            pending(5, "!n:x", Priority::Notice),
        ];
        turns.order(&mut round);
        assert_eq!(ids(&round), [3, 11, 5], "busy was served before quiet: busy's turn");
    }
}

//! Sends what the outbox holds, in order, each message with its stable transaction ID (SPEC §8):
//! a crash between commit and send resends it with the same ID, and the homeserver keeps one.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use exodus_commands::MemberId;
use exodus_storage::{PendingMessage, Store, Target};
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::api::client::room::create_room;
use matrix_sdk::ruma::api::client::room::create_room::v3::RoomPreset;
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedTransactionId, RoomId, UserId};
use matrix_sdk::{Client, Room, RoomState};
use tokio::sync::{Notify, watch};
use tracing::{info, warn};

use crate::digest::{self, ACTION_DIGEST};
use crate::metrics::Metrics;
use crate::initiatives::ACTION_EDIT;
use crate::pipeline::{ACTION_CREATE_CIRCLE, ACTION_INVITE, Settings};

/// A message that failed this many times with a permanent error (4xx other than 429) is given up.
const MAX_PERMANENT_FAILURES: i32 = 3;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

enum SendError {
    /// Worth retrying: the network, the homeserver, 429.
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
}

/// This process's hold on the outbox lease.
struct Lease {
    until: Option<chrono::DateTime<Utc>>,
}

/// How long the outbox lease lasts without renewal; it is renewed at half of it.
const LEASE: chrono::Duration = chrono::Duration::seconds(30);

impl Outbox {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(250);
        let mut lease = Lease { until: None };
        loop {
            match self.drain(&mut lease).await {
                Ok(()) => {
                    backoff = Duration::from_millis(250);
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        // Rows written by another process sharing the database are picked up too.
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
    async fn hold(&self, lease: &mut Lease) -> Result<bool, String> {
        let now = Utc::now();
        if lease.until.is_some_and(|until| until - now > LEASE / 2) {
            return Ok(true);
        }
        let held = self.store.hold_lease("outbox", &self.runner, now, LEASE).await.map_err(|e| e.to_string())?;
        if held && lease.until.is_none() {
            info!(runner = %self.runner, "this process sends the outbox");
        }
        lease.until = held.then_some(now + LEASE);
        Ok(held)
    }

    /// Sends pending rows until none is left; stops at the first transient failure so that
    /// messages keep their order. Sends nothing while another process holds the lease.
    async fn drain(&self, lease: &mut Lease) -> Result<(), String> {
        loop {
            if !self.hold(lease).await? {
                return Ok(());
            }
            let batch = self.store.pending_outbox(32).await.map_err(|e| e.to_string())?;
            if batch.is_empty() {
                return Ok(());
            }
            for pending in batch {
                if !self.hold(lease).await? {
                    return Ok(());
                }
                match self.send(&pending).await {
                    Ok(event_id) => {
                        self.metrics.outbox_sent.inc();
                        self.store.mark_sent(pending.id, &event_id, Utc::now()).await.map_err(|e| e.to_string())?;
                    }
                    Err(SendError::Transient(e)) => {
                        self.metrics.outbox_failed.inc();
                        self.store.mark_failed(pending.id, &e, false, Utc::now()).await.map_err(|e| e.to_string())?;
                        return Err(e);
                    }
                    Err(SendError::Permanent(e)) => {
                        self.metrics.outbox_failed.inc();
                        let give_up = pending.attempts + 1 >= MAX_PERMANENT_FAILURES;
                        warn!(txn_id = %pending.message.txn_id, error = %e, give_up, "message refused");
                        self.store.mark_failed(pending.id, &e, give_up, Utc::now()).await.map_err(|e| e.to_string())?;
                        if !give_up {
                            return Err(e);
                        }
                    }
                }
            }
        }
    }

    async fn send(&self, pending: &PendingMessage) -> Result<String, SendError> {
        let message = &pending.message;
        match message.event_type.as_str() {
            ACTION_CREATE_CIRCLE => return self.create_circle(&message.content).await,
            ACTION_INVITE => return self.invite(message).await,
            ACTION_EDIT => return self.edit(message).await,
            ACTION_DIGEST => return self.digest(message).await,
            _ => {}
        }
        self.send_message(message).await
    }

    /// Sends a message or state-less event as it is.
    async fn send_message(&self, message: &exodus_storage::OutboxMessage) -> Result<String, SendError> {
        let room = match &message.target {
            Target::Room(room_id) => {
                let room_id = RoomId::parse(room_id).map_err(|e| SendError::Permanent(e.to_string()))?;
                match self.client.get_room(&room_id) {
                    Some(room) if room.state() == RoomState::Joined => room,
                    _ => return Err(SendError::Permanent(format!("the bot is not in {room_id}"))),
                }
            }
            Target::Dm(member) if self.client.user_id().is_some_and(|me| me.as_str() == member.as_str()) => {
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
    async fn digest(&self, message: &exodus_storage::OutboxMessage) -> Result<String, SendError> {
        let Target::Dm(member) = &message.target else { return Err(SendError::Permanent("a digest not to a member".into())) };
        let content = digest::render(member, &message.content, &self.settings).map_err(SendError::Permanent)?;
        let rendered = exodus_storage::OutboxMessage { event_type: "m.room.message".into(), content, ..message.clone() };
        self.send_message(&rendered).await
    }

    /// An edit of an earlier message of the bot's (an initiative's card, SPEC §3.4), found by
    /// its tag: `m.replace` with the new content. The message it edits was queued before it, so
    /// it is sent by now; if it never could be, neither can the edit.
    async fn edit(&self, message: &exodus_storage::OutboxMessage) -> Result<String, SendError> {
        let Target::Room(room_id) = &message.target else { return Err(SendError::Permanent("an edit goes to a room".into())) };
        let tag = message.content["tag"].as_str().unwrap_or_default();
        let original = self.store.tagged_event(room_id, tag).await.map_err(|e| SendError::Transient(e.to_string()))?;
        let Some(original) = original else { return Err(SendError::Permanent(format!("no sent message tagged {tag} to edit"))) };
        let new_content = &message.content["new_content"];
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
        let edit = exodus_storage::OutboxMessage { event_type: "m.room.message".into(), content, ..message.clone() };
        self.send_message(&edit).await
    }

    /// `circle open` from a DM: an encrypted room "Circle of <owner>", the owner invited with
    /// power 100, bound as their circle. Returns the room ID (recorded as the row's event ID).
    async fn create_circle(&self, content: &serde_json::Value) -> Result<String, SendError> {
        let owner = content["owner"].as_str().and_then(MemberId::parse).ok_or_else(|| SendError::Permanent("no owner".into()))?;
        // A retry after the room was made and bound must not make a second one.
        if let Some(room_id) = self.store.circle_room_of(&owner).await.map_err(|e| SendError::Transient(e.to_string()))? {
            return Ok(room_id);
        }
        let user = UserId::parse(owner.as_str()).map_err(|e| SendError::Permanent(e.to_string()))?;
        let mut request = create_room::v3::Request::new();
        request.name = content["name"].as_str().map(str::to_owned);
        request.invite = vec![user.clone()];
        request.preset = Some(RoomPreset::PrivateChat);
        request.initial_state = vec![
            Raw::new(&serde_json::json!({
                "type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}
            }))
            .map_err(|e| SendError::Permanent(e.to_string()))?
            .cast_unchecked(),
            // Only members read the ledger (V9).
            Raw::new(&serde_json::json!({
                "type": "m.room.history_visibility", "state_key": "", "content": {"history_visibility": "shared"}
            }))
            .map_err(|e| SendError::Permanent(e.to_string()))?
            .cast_unchecked(),
        ];
        request.power_level_content_override = Some(
            // The creator (the bot) must not be listed: since room version 12 it outranks
            // everyone anyway; the owner gets the highest ordinary level.
            Raw::new(&serde_json::json!({ "users": { user.as_str(): 100 } }))
                .map_err(|e| SendError::Permanent(e.to_string()))?
                .cast_unchecked(),
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
            Ok(false) => warn!(%owner, %room_id, "the owner already had a circle; the new room stays unbound"),
            Err(e) => return Err(SendError::Transient(e.to_string())),
        }
        Ok(room_id)
    }

    /// `circle invite`: the bot invites a member to a room.
    async fn invite(&self, message: &exodus_storage::OutboxMessage) -> Result<String, SendError> {
        let Target::Room(room_id) = &message.target else { return Err(SendError::Permanent("invite without a room".into())) };
        let room_id = RoomId::parse(room_id).map_err(|e| SendError::Permanent(e.to_string()))?;
        let room = self.client.get_room(&room_id).ok_or_else(|| SendError::Permanent(format!("the bot is not in {room_id}")))?;
        let user = message.content["user_id"].as_str().ok_or_else(|| SendError::Permanent("no user".into()))?;
        let user = UserId::parse(user).map_err(|e| SendError::Permanent(e.to_string()))?;
        // Already joined or invited: nothing to do (a resend after a crash lands here).
        if let Ok(Some(m)) = room.get_member_no_sync(&user).await
            && matches!(m.membership(), MembershipState::Join | MembershipState::Invite)
        {
            return Ok(format!("invite:{user}"));
        }
        room.invite_user_by_id(&user).await.map_err(classify)?;
        Ok(format!("invite:{user}"))
    }

    /// The member's DM room with the bot, opened (encrypted, the member invited) when there is
    /// none or the member left the old one.
    async fn dm_room(&self, member: &MemberId) -> Result<Room, SendError> {
        let user = UserId::parse(member.as_str()).map_err(|e| SendError::Permanent(e.to_string()))?;
        if let Some(room_id) = self.store.dm_room(member).await.map_err(|e| SendError::Transient(e.to_string()))?
            && let Some(room) = RoomId::parse(&room_id).ok().and_then(|id| self.client.get_room(&id)) {
                let present = match room.get_member_no_sync(&user).await {
                    Ok(Some(m)) => matches!(m.membership(), MembershipState::Join | MembershipState::Invite),
                    _ => false,
                };
                if room.state() == RoomState::Joined && present {
                    return Ok(room);
                }
            }
        let room = self.client.create_dm(&user).await.map_err(classify)?;
        info!(%member, room_id = %room.room_id(), "opened a direct chat");
        self.store
            .set_dm_room(member, room.room_id().as_str(), Utc::now())
            .await
            .map_err(|e| SendError::Transient(e.to_string()))?;
        Ok(room)
    }
}

fn classify(error: matrix_sdk::Error) -> SendError {
    match error.as_client_api_error().map(|e| e.status_code.as_u16()) {
        Some(status) if (400..500).contains(&status) && status != 429 => SendError::Permanent(error.to_string()),
        _ => SendError::Transient(error.to_string()),
    }
}

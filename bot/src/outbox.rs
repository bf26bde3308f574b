//! Sends what the outbox holds, in order, each message with its stable transaction ID (SPEC §8):
//! a crash between commit and send resends it with the same ID, and the homeserver keeps one.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use exodus_commands::MemberId;
use exodus_storage::{PendingMessage, Store, Target};
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::{OwnedTransactionId, RoomId, UserId};
use matrix_sdk::{Client, Room, RoomState};
use tokio::sync::{Notify, watch};
use tracing::{info, warn};

use crate::metrics::Metrics;

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
}

impl Outbox {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(250);
        loop {
            match self.drain().await {
                Ok(()) => {
                    backoff = Duration::from_millis(250);
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        // Rows written by another process sharing the database are picked up too.
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return,
                    }
                }
                Err(e) => {
                    warn!(error = %e, retry_in = ?backoff, "outbox paused");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return,
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Sends pending rows until none is left; stops at the first transient failure so that
    /// messages keep their order.
    async fn drain(&self) -> Result<(), String> {
        loop {
            let batch = self.store.pending_outbox(32).await.map_err(|e| e.to_string())?;
            if batch.is_empty() {
                return Ok(());
            }
            for pending in batch {
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
        let room = match &message.target {
            Target::Room(room_id) => {
                let room_id = RoomId::parse(room_id).map_err(|e| SendError::Permanent(e.to_string()))?;
                match self.client.get_room(&room_id) {
                    Some(room) if room.state() == RoomState::Joined => room,
                    _ => return Err(SendError::Permanent(format!("the bot is not in {room_id}"))),
                }
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

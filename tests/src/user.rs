//! A real Matrix client driven by a test: logs in with matrix-sdk (in-memory store, end-to-end
//! encryption on), syncs in its own background loop, and records every timeline event of every
//! room (decrypted where possible) so that tests can wait for the bot's replies and count them.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use matrix_sdk::config::SyncSettings;
use matrix_sdk::deserialized_responses::{TimelineEvent, TimelineEventKind};
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::api::client::room::create_room;
use matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter;
use matrix_sdk::ruma::events::{AnyInitialStateEvent, AnySyncTimelineEvent};
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{EventId, OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, uint};
use matrix_sdk::sync::SyncResponse;
use matrix_sdk::{Client, Room};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::homeserver::{Homeserver, register};

/// How long a test waits for the bot's reply to a command by default. Generous: the bot runs as
/// a debug build next to two Synapses on a 2-core machine.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(45);
/// How long a test waits for joins, invites and DMs by default.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(45);

/// Long-poll timeout of one `/sync` request of the recording loop.
const SYNC_TIMEOUT: Duration = Duration::from_millis(1000);
/// Poll interval of the waiting helpers (they also wake up on every recorded sync).
const POLL: Duration = Duration::from_millis(50);

/// One timeline event as the test user's client saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub room_id: OwnedRoomId,
    pub event_id: OwnedEventId,
    pub sender: String,
    /// Event type after decryption (`m.room.message`, ...); `m.room.encrypted` if it could
    /// not be decrypted (yet).
    pub event_type: String,
    /// `state_key` for state events.
    pub state_key: Option<String>,
    /// Content after decryption.
    pub content: Value,
    /// The event was encrypted on the wire.
    pub encrypted: bool,
    /// The event is encrypted and could not be decrypted (yet).
    pub undecryptable: bool,
}

impl Recorded {
    /// `content.msgtype` of an `m.room.message`.
    pub fn msgtype(&self) -> Option<&str> {
        (self.event_type == "m.room.message").then(|| self.content["msgtype"].as_str()).flatten()
    }

    /// `content.body`.
    pub fn body(&self) -> Option<&str> {
        self.content["body"].as_str()
    }

    /// The event this one replies to (`m.relates_to.m.in_reply_to.event_id`).
    pub fn in_reply_to(&self) -> Option<&str> {
        self.content["m.relates_to"]["m.in_reply_to"]["event_id"].as_str()
    }

    /// `content["org.exodus.result"]`, the bot's machine-readable result.
    pub fn exodus_result(&self) -> Option<&Value> {
        self.content.get("org.exodus.result")
    }

    /// An `m.notice` carrying an `org.exodus.result`: something the bot said.
    pub fn is_bot_notice(&self) -> bool {
        self.msgtype() == Some("m.notice") && self.exodus_result().is_some()
    }

    fn summary(&self) -> String {
        let what = match (self.event_type.as_str(), self.msgtype()) {
            ("m.room.message", Some(msgtype)) => {
                let body: String = self.body().unwrap_or("").chars().take(120).collect();
                let reply =
                    self.in_reply_to().map(|e| format!(" (reply to {e})")).unwrap_or_default();
                format!("{msgtype} {body:?}{reply}")
            }
            ("m.room.member", _) => format!(
                "m.room.member {} {}",
                self.state_key.as_deref().unwrap_or("?"),
                self.content["membership"].as_str().unwrap_or("?")
            ),
            (t, _) if self.undecryptable => format!("{t} (undecryptable)"),
            (t, _) => t.to_owned(),
        };
        format!("{} {}: {what}", self.event_id, self.sender)
    }
}

/// The bot's reply to a command: an `m.notice` replying to it, with its machine-readable result.
#[derive(Clone, Debug)]
pub struct Reply {
    pub event_id: OwnedEventId,
    pub sender: String,
    /// Human text (`content.body`).
    pub body: String,
    /// `content["org.exodus.result"]`.
    pub result: Value,
    /// Whether the reply was encrypted on the wire.
    pub encrypted: bool,
    /// The full (decrypted) content.
    pub content: Value,
}

impl Reply {
    fn from_recorded(event: &Recorded) -> Reply {
        Reply {
            event_id: event.event_id.clone(),
            sender: event.sender.clone(),
            body: event.body().unwrap_or_default().to_owned(),
            result: event.exodus_result().cloned().unwrap_or(Value::Null),
            encrypted: event.encrypted,
            content: event.content.clone(),
        }
    }

    /// `result.ok`.
    pub fn ok(&self) -> bool {
        self.result["ok"] == json!(true)
    }

    /// `result.error`, the error code of a failed command.
    pub fn error(&self) -> Option<&str> {
        self.result["error"].as_str()
    }

    /// Panics with the reply unless `result.ok` is true and `result.command` is `command`.
    #[track_caller]
    pub fn assert_ok(&self, command: &str) -> &Reply {
        assert_eq!(
            (self.result["command"].as_str(), self.ok()),
            (Some(command), true),
            "expected a successful `{command}` reply, got {:#} with text {:?}",
            self.result,
            self.body
        );
        self
    }

    /// Panics with the reply unless it is `ok: false` with error code `code`, a non-empty
    /// message and a usage.
    #[track_caller]
    pub fn assert_error(&self, code: &str) -> &Reply {
        assert_eq!(
            (self.result["ok"].as_bool(), self.error()),
            (Some(false), Some(code)),
            "expected error `{code}`, got {:#} with text {:?}",
            self.result,
            self.body
        );
        assert!(
            self.result["message"].as_str().is_some_and(|m| !m.trim().is_empty()),
            "error reply without a message: {:#}",
            self.result
        );
        assert!(!self.body.trim().is_empty(), "error reply without text: {:#}", self.result);
        self
    }

    /// Panics unless the reply carries a non-empty `usage`.
    #[track_caller]
    pub fn assert_usage(&self) -> &Reply {
        assert!(
            self.result["usage"].as_str().is_some_and(|u| !u.trim().is_empty()),
            "expected a usage in {:#} (text {:?})",
            self.result,
            self.body
        );
        self
    }
}

/// How a room is created by [`TestUser::create_room`].
#[derive(Clone, Debug, Default)]
pub struct RoomOptions {
    /// Turn on `m.megolm.v1.aes-sha2` from the start.
    pub encrypted: bool,
    /// `m.room.history_visibility`, e.g. `shared`, `invited`, `joined`, `world_readable`.
    pub history_visibility: Option<String>,
    /// Users invited at creation.
    pub invite: Vec<String>,
    /// Mark the room as a direct chat (`is_direct`).
    pub is_direct: bool,
    pub name: Option<String>,
}

#[derive(Clone, Debug)]
struct InviteRecord {
    room_id: OwnedRoomId,
    inviter: String,
    is_direct: bool,
}

/// Everything the sync loop has seen so far.
#[derive(Default)]
pub struct Recording {
    rooms: BTreeMap<OwnedRoomId, Vec<Recorded>>,
    seen: HashSet<OwnedEventId>,
    /// Rooms that appeared as joined in a sync so far.
    joined: HashSet<OwnedRoomId>,
    invites: Vec<InviteRecord>,
    /// Events that could not be decrypted yet, retried after every sync.
    pending_utd: Vec<(OwnedRoomId, OwnedEventId, Raw<AnySyncTimelineEvent>)>,
    /// Last sync error, for diagnostics.
    last_sync_error: Option<String>,
    syncs: u64,
}

impl Recording {
    /// Timeline of `room_id`, in order.
    pub fn events(&self, room_id: &RoomId) -> &[Recorded] {
        self.rooms.get(room_id).map(Vec::as_slice).unwrap_or_default()
    }

    /// Every reply (bot notice) to `event_id` in `room_id`, in timeline order.
    pub fn replies_to(&self, room_id: &RoomId, event_id: &EventId) -> Vec<Reply> {
        self.events(room_id)
            .iter()
            .filter(|e| e.is_bot_notice() && e.in_reply_to() == Some(event_id.as_str()))
            .map(Reply::from_recorded)
            .collect()
    }

    /// Position of `event_id` in the timeline of `room_id`.
    pub fn position(&self, room_id: &RoomId, event_id: &EventId) -> Option<usize> {
        self.events(room_id).iter().position(|e| e.event_id == event_id)
    }

    /// `user_id`'s current membership in `room_id` according to the recorded timeline.
    pub fn membership(&self, room_id: &RoomId, user_id: &str) -> Option<&str> {
        self.events(room_id)
            .iter()
            .rev()
            .find(|e| e.event_type == "m.room.member" && e.state_key.as_deref() == Some(user_id))
            .and_then(|e| e.content["membership"].as_str())
    }

    fn record(&mut self, room_id: &RoomId, event: &TimelineEvent) {
        let Some(event_id) = event.event_id() else { return };
        if !self.seen.insert(event_id.clone()) {
            return;
        }
        let raw = event.raw();
        let json: Value = serde_json::from_str(raw.json().get()).unwrap_or(Value::Null);
        let (encrypted, undecryptable) = match &event.kind {
            TimelineEventKind::Decrypted(_) => (true, false),
            TimelineEventKind::UnableToDecrypt { .. } => (true, true),
            TimelineEventKind::PlainText { .. } => (false, false),
        };
        if undecryptable {
            self.pending_utd.push((room_id.to_owned(), event_id.clone(), raw.clone()));
        }
        self.rooms.entry(room_id.to_owned()).or_default().push(Recorded {
            room_id: room_id.to_owned(),
            event_id,
            sender: json["sender"].as_str().unwrap_or_default().to_owned(),
            event_type: json["type"].as_str().unwrap_or_default().to_owned(),
            state_key: json["state_key"].as_str().map(str::to_owned),
            content: json["content"].clone(),
            encrypted,
            undecryptable,
        });
    }

    fn replace_decrypted(&mut self, room_id: &RoomId, event: &TimelineEvent) {
        let Some(event_id) = event.event_id() else { return };
        let json: Value = serde_json::from_str(event.raw().json().get()).unwrap_or(Value::Null);
        if let Some(slot) =
            self.rooms.get_mut(room_id).and_then(|v| v.iter_mut().find(|e| e.event_id == event_id))
        {
            slot.event_type = json["type"].as_str().unwrap_or_default().to_owned();
            slot.content = json["content"].clone();
            slot.undecryptable = false;
        }
    }

    /// A readable dump of a room's timeline, for failure messages.
    pub fn dump(&self, room_id: &RoomId) -> String {
        let mut out = format!("timeline of {room_id} as recorded ({} syncs", self.syncs);
        if let Some(e) = &self.last_sync_error {
            let _ = write!(out, ", last sync error: {e}");
        }
        out.push_str("):\n");
        for e in self.events(room_id) {
            let _ = writeln!(out, "  {}", e.summary());
        }
        out
    }
}

struct Shared {
    recording: Mutex<Recording>,
    changed: Notify,
    /// Accept every invite automatically (the bot opens DMs by inviting).
    auto_join: std::sync::atomic::AtomicBool,
}

/// A logged-in Matrix user with a background sync loop recording everything it sees.
pub struct TestUser {
    pub client: Client,
    pub user_id: OwnedUserId,
    pub password: String,
    pub hs: Homeserver,
    shared: Arc<Shared>,
    sync_task: JoinHandle<()>,
}

impl Drop for TestUser {
    fn drop(&mut self) {
        self.sync_task.abort();
    }
}

impl TestUser {
    /// Registers `<prefix>-<random>` on `hs`, logs in with an in-memory store and starts the
    /// recording sync loop. Invites are accepted automatically (see
    /// [`TestUser::set_auto_join`]). On a [rate-limited](Homeserver::limited) server the new
    /// account is exempted from the message rate limit first: only the bot is limited there.
    pub async fn login(hs: &Homeserver, prefix: &str) -> Result<TestUser> {
        let (user_id, password) = register(hs, prefix).await?;
        hs.exempt_from_rate_limit(&user_id).await?;
        Self::login_as(hs, &user_id, &password).await
    }

    /// Logs in an existing account (`user_id`, `password`) on `hs` and starts the recording
    /// sync loop, as [`TestUser::login`] does after registering (without exempting it from a
    /// rate limit).
    pub async fn login_as(hs: &Homeserver, user_id: &str, password: &str) -> Result<TestUser> {
        let password = password.to_owned();
        let client = Client::builder()
            .homeserver_url(&hs.url)
            .build()
            .await
            .with_context(|| format!("building a client for {}", hs.url))?;
        client
            .matrix_auth()
            .login_username(user_id, &password)
            .initial_device_display_name("exodus e2e test")
            .send()
            .await
            .with_context(|| format!("logging in {user_id}"))?;
        let user_id: OwnedUserId = user_id.parse()?;

        let shared = Arc::new(Shared {
            recording: Mutex::default(),
            changed: Notify::new(),
            auto_join: true.into(),
        });
        // The first sync uploads the device keys, so that others (the bot) can encrypt for us
        // as soon as we are in a room together.
        let settings = sync_settings();
        let first = client.sync_once(settings.clone()).await.context("first sync")?;
        let settings = settings.token(first.next_batch.clone());
        process_sync(&client, &shared, first).await;
        let sync_task = tokio::spawn(sync_loop(client.clone(), shared.clone(), settings));

        Ok(TestUser { client, user_id, password, hs: hs.clone(), shared, sync_task })
    }

    /// Whether invites are accepted automatically (default: yes).
    pub fn set_auto_join(&self, on: bool) {
        self.shared.auto_join.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Locks and returns what has been recorded so far.
    pub fn recording(&self) -> MutexGuard<'_, Recording> {
        lock(&self.shared)
    }

    /// Waits until `check` returns `Some` on the recording, polling on every sync and every
    /// 50 ms. Fails after `timeout` with `what` and the dump of `room` (if given).
    pub async fn wait_for<T>(
        &self,
        timeout: Duration,
        what: &str,
        room: Option<&RoomId>,
        mut check: impl FnMut(&Recording) -> Option<T>,
    ) -> Result<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            if let Some(found) = check(&self.recording()) {
                return Ok(found);
            }
            if tokio::time::Instant::now() >= deadline {
                let dump = room.map(|r| self.recording().dump(r)).unwrap_or_default();
                bail!("{} timed out after {timeout:?} waiting for {what}\n{dump}", self.user_id);
            }
            let _ = tokio::time::timeout(POLL, notified).await;
        }
    }

    fn room(&self, room_id: &RoomId) -> Result<Room> {
        self.client
            .get_room(room_id)
            .ok_or_else(|| anyhow!("{} does not know room {room_id}", self.user_id))
    }

    /// Creates a room as described by `options`; returns its ID.
    pub async fn create_room(&self, options: RoomOptions) -> Result<OwnedRoomId> {
        let mut request = create_room::v3::Request::new();
        request.preset = Some(create_room::v3::RoomPreset::PrivateChat);
        request.is_direct = options.is_direct;
        request.name = options.name;
        request.invite =
            options.invite.iter().map(|u| u.parse()).collect::<Result<Vec<OwnedUserId>, _>>()?;
        let mut initial_state = Vec::new();
        if options.encrypted {
            initial_state.push(json!({
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }));
        }
        if let Some(visibility) = options.history_visibility {
            initial_state.push(json!({
                "type": "m.room.history_visibility",
                "state_key": "",
                "content": {"history_visibility": visibility},
            }));
        }
        request.initial_state = initial_state
            .iter()
            .map(|v| {
                Ok(Raw::<AnyInitialStateEvent>::from_json(serde_json::value::to_raw_value(v)?))
            })
            .collect::<Result<_, serde_json::Error>>()?;
        let room = self.client.create_room(request).await.context("creating a room")?;
        let room_id = room.room_id().to_owned();
        // Wait until our own sync has seen the room, so that its state (encryption, members)
        // is known locally before anything is sent into it.
        let me = self.user_id.to_string();
        self.wait_for(JOIN_TIMEOUT, "our own join in the new room", Some(&room_id), |r| {
            (r.membership(&room_id, &me) == Some("join")).then_some(())
        })
        .await?;
        Ok(room_id)
    }

    /// Creates a room, invites `invitee` (the bot) and waits until it has joined.
    pub async fn create_room_with(&self, invitee: &str, encrypted: bool) -> Result<OwnedRoomId> {
        let room_id = self
            .create_room(RoomOptions {
                encrypted,
                invite: vec![invitee.to_owned()],
                ..Default::default()
            })
            .await?;
        self.wait_joined(&room_id, invitee, JOIN_TIMEOUT).await?;
        Ok(room_id)
    }

    /// Reacts to `event_id` with `key` (an `m.annotation`).
    pub async fn react(
        &self,
        room_id: &RoomId,
        event_id: &EventId,
        key: &str,
    ) -> Result<OwnedEventId> {
        let content =
            json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}});
        self.send_event(room_id, "m.reaction", content).await.context("reacting")
    }

    /// Sends an event of `event_type` with `content` as it is, whatever its shape (encrypted in
    /// an encrypted room, where the homeserver cannot check it); returns its event ID. Fails with
    /// the homeserver's answer when it refuses the event.
    pub async fn send_event(
        &self,
        room_id: &RoomId,
        event_type: &str,
        content: Value,
    ) -> Result<OwnedEventId> {
        let response =
            self.room(room_id)?.send_raw(event_type, content).await.with_context(|| {
                format!("{} sending an {event_type} into {room_id}", self.user_id)
            })?;
        Ok(response.response.event_id)
    }

    /// Redacts `event_id` (a reaction, say) in `room_id`.
    pub async fn redact(&self, room_id: &RoomId, event_id: &EventId) -> Result<OwnedEventId> {
        let response =
            self.room(room_id)?.redact(event_id, None, None).await.context("redacting")?;
        Ok(response.event_id)
    }

    /// Leaves `room_id`.
    pub async fn leave(&self, room_id: &RoomId) -> Result<()> {
        self.room(room_id)?.leave().await.context("leaving")?;
        Ok(())
    }

    /// Opens a direct chat with `bot` (an `is_direct` invite) and waits until it has joined.
    pub async fn create_dm_with(&self, bot: &str) -> Result<OwnedRoomId> {
        let room_id = self
            .create_room(RoomOptions {
                is_direct: true,
                invite: vec![bot.to_owned()],
                ..Default::default()
            })
            .await?;
        self.wait_joined(&room_id, bot, JOIN_TIMEOUT).await?;
        Ok(room_id)
    }

    /// Invites `user_id` into `room_id`.
    pub async fn invite(&self, room_id: &RoomId, user_id: &str) -> Result<()> {
        let user_id: OwnedUserId = user_id.parse()?;
        self.room(room_id)?.invite_user_by_id(&user_id).await.context("inviting")?;
        Ok(())
    }

    /// Kicks `user_id` out of `room_id`.
    pub async fn kick(&self, room_id: &RoomId, user_id: &str) -> Result<()> {
        let user_id: OwnedUserId = user_id.parse()?;
        self.room(room_id)?.kick_user(&user_id, None).await.context("kicking")?;
        Ok(())
    }

    /// Sends a state event (`m.room.history_visibility`, …) into `room_id`.
    pub async fn send_state(
        &self,
        room_id: &RoomId,
        event_type: &str,
        state_key: &str,
        content: Value,
    ) -> Result<()> {
        self.room(room_id)?
            .send_state_event_raw(event_type, state_key, content)
            .await
            .context("sending a state event")?;
        Ok(())
    }

    /// Invites `member` into `room_id` and waits until both of them have seen the join (the
    /// member's sync loop accepts the invite).
    pub async fn bring_in(&self, room_id: &RoomId, member: &TestUser) -> Result<()> {
        let member_id = member.user_id.as_str();
        self.invite(room_id, member_id).await?;
        self.wait_joined(room_id, member_id, JOIN_TIMEOUT).await?;
        member.wait_joined(room_id, member_id, JOIN_TIMEOUT).await
    }

    /// Joins `room_id` (e.g. a room on another homeserver the user was invited to).
    pub async fn join(&self, room_id: &RoomId) -> Result<()> {
        self.client.join_room_by_id(room_id).await.context("joining")?;
        let me = self.user_id.to_string();
        self.wait_for(JOIN_TIMEOUT, "our own join", Some(room_id), |r| {
            (r.membership(room_id, &me) == Some("join")).then_some(())
        })
        .await
    }

    /// Waits until our client has seen `user_id` join `room_id`.
    pub async fn wait_joined(
        &self,
        room_id: &RoomId,
        user_id: &str,
        timeout: Duration,
    ) -> Result<()> {
        self.wait_for(timeout, &format!("{user_id} to join"), Some(room_id), |r| {
            (r.membership(room_id, user_id) == Some("join")).then_some(())
        })
        .await
    }

    /// Sends an `m.room.message` with `content`; returns its event ID. Waits first until our
    /// own sync has seen us joined (after accepting an invite, the join takes a moment).
    pub async fn send_message(&self, room_id: &RoomId, content: Value) -> Result<OwnedEventId> {
        let me = self.user_id.to_string();
        self.wait_for(JOIN_TIMEOUT, "our own join before sending", Some(room_id), |r| {
            (r.membership(room_id, &me) == Some("join")).then_some(())
        })
        .await?;
        self.send_event(room_id, "m.room.message", content).await
    }

    /// Sends an `m.text` message; returns its event ID.
    pub async fn send_text(&self, room_id: &RoomId, body: &str) -> Result<OwnedEventId> {
        self.send_message(room_id, json!({"msgtype": "m.text", "body": body})).await
    }

    /// Sends an `m.notice` message; returns its event ID.
    pub async fn send_notice(&self, room_id: &RoomId, body: &str) -> Result<OwnedEventId> {
        self.send_message(room_id, json!({"msgtype": "m.notice", "body": body})).await
    }

    /// Sends an edit (`m.replace`) of `original` whose new text is `new_body`. The fallback body
    /// is `new_body` itself, without the usual `* ` marker, so that a bot which only looks at
    /// `body` would take it for a command.
    pub async fn send_edit(
        &self,
        room_id: &RoomId,
        original: &EventId,
        new_body: &str,
    ) -> Result<OwnedEventId> {
        self.send_message(
            room_id,
            json!({
                "msgtype": "m.text",
                "body": new_body,
                "m.new_content": {"msgtype": "m.text", "body": new_body},
                "m.relates_to": {"rel_type": "m.replace", "event_id": original},
            }),
        )
        .await
    }

    /// Sends `body` and waits for the bot's reply to it.
    pub async fn command(&self, room_id: &RoomId, body: &str) -> Result<Reply> {
        let event_id = self.send_text(room_id, body).await?;
        self.wait_reply(room_id, &event_id, REPLY_TIMEOUT)
            .await
            .with_context(|| format!("no reply to {body:?}"))
    }

    /// Waits for the first reply (an `m.notice` with `org.exodus.result` replying to
    /// `event_id`) in `room_id`.
    pub async fn wait_reply(
        &self,
        room_id: &RoomId,
        event_id: &EventId,
        timeout: Duration,
    ) -> Result<Reply> {
        self.wait_for(timeout, &format!("a reply to {event_id}"), Some(room_id), |r| {
            r.replies_to(room_id, event_id).into_iter().next()
        })
        .await
    }

    /// Every reply to `event_id` recorded so far (to count duplicates).
    pub fn replies_to(&self, room_id: &RoomId, event_id: &EventId) -> Vec<Reply> {
        self.recording().replies_to(room_id, event_id)
    }

    /// Waits for an event in `room_id` matching `predicate`.
    pub async fn wait_event(
        &self,
        room_id: &RoomId,
        timeout: Duration,
        what: &str,
        mut predicate: impl FnMut(&Recorded) -> bool,
    ) -> Result<Recorded> {
        self.wait_for(timeout, what, Some(room_id), |r| {
            r.events(room_id).iter().find(|e| predicate(e)).cloned()
        })
        .await
    }

    /// The direct chat `bot` opened with us: waits for its invite, which the sync loop accepts,
    /// and for our join. Returns the first such room.
    pub async fn dm_room_with(&self, bot: &str, timeout: Duration) -> Result<OwnedRoomId> {
        let me = self.user_id.to_string();
        let room_id = self
            .wait_for(timeout, &format!("a DM invite from {bot}"), None, |r| {
                r.invites.iter().find(|i| i.inviter == bot).map(|i| i.room_id.clone())
            })
            .await?;
        self.wait_for(timeout, "our join in the DM", Some(&room_id), |r| {
            (r.membership(&room_id, &me) == Some("join")).then_some(())
        })
        .await?;
        Ok(room_id)
    }

    /// Whether the invite into `room_id` was flagged `is_direct`.
    /// Rooms this user was invited to, in the order the invites arrived.
    /// The rooms `inviter` invited this user to.
    pub fn invites_from(&self, inviter: &str) -> Vec<OwnedRoomId> {
        self.recording()
            .invites
            .iter()
            .filter(|i| i.inviter == inviter)
            .map(|i| i.room_id.clone())
            .collect()
    }

    pub fn invites(&self) -> Vec<OwnedRoomId> {
        self.recording().invites.iter().map(|i| i.room_id.clone()).collect()
    }

    pub fn invite_was_direct(&self, room_id: &RoomId) -> Option<bool> {
        self.recording().invites.iter().find(|i| i.room_id == room_id).map(|i| i.is_direct)
    }

    /// Waits for a bot notice in `room_id` whose result satisfies `predicate`.
    pub async fn wait_notice(
        &self,
        room_id: &RoomId,
        timeout: Duration,
        what: &str,
        mut predicate: impl FnMut(&Value) -> bool,
    ) -> Result<Reply> {
        let event = self
            .wait_event(room_id, timeout, what, |e| {
                e.is_bot_notice() && e.exodus_result().is_some_and(&mut predicate)
            })
            .await?;
        Ok(Reply::from_recorded(&event))
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Recording> {
    shared.recording.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn sync_settings() -> SyncSettings {
    // A large timeline limit so that a burst between two syncs does not produce a gap; gaps
    // that happen anyway are filled from /messages (see `process_sync`).
    let mut filter = FilterDefinition::default();
    filter.room.timeline.limit = Some(uint!(500));
    SyncSettings::default().timeout(SYNC_TIMEOUT).filter(Filter::FilterDefinition(filter))
}

/// Our own loop around `sync_once` (`Client::sync` sleeps a second between requests).
async fn sync_loop(client: Client, shared: Arc<Shared>, mut settings: SyncSettings) {
    let mut failures = 0u32;
    loop {
        match client.sync_once(settings.clone()).await {
            Ok(response) => {
                failures = 0;
                settings = settings.token(response.next_batch.clone());
                process_sync(&client, &shared, response).await;
            }
            Err(e) => {
                failures += 1;
                lock(&shared).last_sync_error = Some(e.to_string());
                let backoff = Duration::from_millis(100 * u64::from(failures.min(20)));
                tokio::time::sleep(backoff).await;
            }
        }
    }
}

async fn process_sync(client: &Client, shared: &Shared, response: SyncResponse) {
    for (room_id, update) in &response.rooms.joined {
        // A limited timeline has a gap before its first event: fill it from /messages. So has
        // the first timeline of a room we just joined: what was sent while we were only invited
        // is history a client pages back to (from another homeserver it is not in the sync at
        // all: our server fetches it from the room's server when asked, as for any client).
        let newly_joined = lock(shared).joined.insert(room_id.clone());
        if (update.timeline.limited || newly_joined)
            && let Some(prev_batch) = &update.timeline.prev_batch
            && let Some(room) = client.get_room(room_id)
        {
            let backfill = backfill(&room, prev_batch, shared).await;
            let mut recording = lock(shared);
            for event in &backfill {
                recording.record(room_id, event);
            }
        }
        let mut recording = lock(shared);
        for event in &update.timeline.events {
            recording.record(room_id, event);
        }
    }

    let me = client.user_id().map(|u| u.to_string()).unwrap_or_default();
    for (room_id, invite) in &response.rooms.invited {
        let mut inviter = String::new();
        let mut is_direct = false;
        for event in &invite.invite_state.events {
            let Ok(json) = serde_json::from_str::<Value>(event.json().get()) else { continue };
            if json["type"] == "m.room.member" && json["state_key"] == me.as_str() {
                inviter = json["sender"].as_str().unwrap_or_default().to_owned();
                is_direct = json["content"]["is_direct"] == json!(true);
            }
        }
        {
            let mut recording = lock(shared);
            if recording.invites.iter().any(|i| &i.room_id == room_id) {
                continue;
            }
            recording.invites.push(InviteRecord { room_id: room_id.clone(), inviter, is_direct });
        }
        if shared.auto_join.load(std::sync::atomic::Ordering::SeqCst) {
            let client = client.clone();
            let room_id = room_id.clone();
            tokio::spawn(async move {
                for attempt in 0..10u64 {
                    match client.join_room_by_id(&room_id).await {
                        Ok(_) => return,
                        Err(e) => {
                            tracing::warn!(%room_id, "accepting an invite failed: {e}");
                            tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
                        }
                    }
                }
            });
        }
    }

    retry_decryption(client, shared).await;

    lock(shared).syncs += 1;
    shared.changed.notify_waiters();
}

/// Pages backwards from `prev_batch` until an event we already recorded (or the start of the
/// room); returns the missing events in timeline order.
async fn backfill(room: &Room, prev_batch: &str, shared: &Shared) -> Vec<TimelineEvent> {
    let mut missing = Vec::new();
    let mut from = Some(prev_batch.to_owned());
    for _ in 0..50 {
        let Some(token) = from.take() else { break };
        let mut options = MessagesOptions::backward().from(token.as_str());
        options.limit = uint!(100);
        let Ok(page) = room.messages(options).await else { break };
        let mut reached_known = false;
        {
            let recording = lock(shared);
            for event in page.chunk {
                if event.event_id().is_some_and(|id| recording.seen.contains(&id)) {
                    reached_known = true;
                    break;
                }
                missing.push(event);
            }
        }
        if reached_known {
            break;
        }
        from = page.end;
    }
    missing.reverse();
    missing
}

async fn retry_decryption(client: &Client, shared: &Shared) {
    let pending = std::mem::take(&mut lock(shared).pending_utd);
    let mut still_pending = Vec::new();
    for (room_id, event_id, raw) in pending {
        let decrypted = match client.get_room(&room_id) {
            Some(room) => room.decrypt_event(raw.cast_ref_unchecked(), None).await.ok(),
            None => None,
        };
        match decrypted {
            Some(event) if matches!(event.kind, TimelineEventKind::Decrypted(_)) => {
                lock(shared).replace_decrypted(&room_id, &event);
            }
            _ => still_pending.push((room_id, event_id, raw)),
        }
    }
    lock(shared).pending_utd.extend(still_pending);
}

//! The simulated homeserver: rooms with their timelines and membership, and what the bot sent,
//! deduplicated by transaction ID as Synapse does for `PUT /rooms/{room}/send/{type}/{txnId}`
//! (one device, so the transaction ID alone keys it). It answers the pipeline's questions about
//! membership and power through [`Rooms`], from its current state.

use std::collections::{BTreeMap, BTreeSet};

use exodus_bot::pipeline::{RoomFactError, Rooms};
use exodus_commands::MemberId;
use serde_json::{Value, json};

/// The bot's user ID.
pub const BOT: &str = "@bot:sim";

/// One timeline event, as the homeserver serves it (the raw JSON the bot's sync classifies).
#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    pub ts: i64,
    pub raw: Value,
}

#[derive(Clone, Debug, Default)]
pub struct Room {
    /// Members joined now (never the bot, which is joined to every room here).
    pub members: BTreeSet<String>,
    pub invited: BTreeSet<String>,
    pub power: BTreeMap<String, i64>,
    /// History readable without joining (V9).
    pub world_readable: bool,
    /// The member whose direct chat with the bot this is.
    pub dm_of: Option<String>,
    pub timeline: Vec<Event>,
}

/// A message the bot sent, as the homeserver holds it (one per transaction ID).
#[derive(Clone, Debug)]
pub struct Sent {
    pub room: String,
    pub event_id: String,
    pub content: Value,
}

#[derive(Debug, Default)]
pub struct Homeserver {
    pub rooms: BTreeMap<String, Room>,
    /// Transaction ID → the event it made: a resend of a known ID makes nothing new.
    pub txns: BTreeMap<String, String>,
    pub sent: Vec<Sent>,
    /// Resends answered from `txns` (the crash between send and mark-sent).
    pub deduplicated: u64,
    next_event: u64,
}

impl Homeserver {
    fn event_id(&mut self) -> String {
        self.next_event += 1;
        format!("$e{}", self.next_event)
    }

    /// A new room the bot is in: its timeline starts with the bot's join (where a room's cursor
    /// starts, V7).
    pub fn create_room(&mut self, room_id: &str, ts: i64) {
        let id = self.event_id();
        let raw = json!({
            "type": "m.room.member", "state_key": BOT, "sender": BOT, "event_id": id,
            "origin_server_ts": ts, "content": {"membership": "join"},
        });
        let room = Room { timeline: vec![Event { id, ts, raw }], ..Room::default() };
        self.rooms.insert(room_id.to_owned(), room);
    }

    fn append(&mut self, room_id: &str, ts: i64, mut raw: Value) -> String {
        let id = self.event_id();
        raw["event_id"] = json!(id);
        raw["origin_server_ts"] = json!(ts);
        let room = self.rooms.get_mut(room_id).expect("a known room");
        room.timeline.push(Event { id: id.clone(), ts, raw });
        id
    }

    /// `member` sends an `m.text` message; returns its event ID.
    pub fn say(
        &mut self,
        room_id: &str,
        member: &str,
        body: &str,
        mentions: &[String],
        ts: i64,
    ) -> String {
        let mut content = json!({ "msgtype": "m.text", "body": body });
        if !mentions.is_empty() {
            content["m.mentions"] = json!({ "user_ids": mentions });
        }
        self.append(
            room_id,
            ts,
            json!({ "type": "m.room.message", "sender": member, "content": content }),
        )
    }

    /// `member` reacts 👍 (`up`) or 👎 to `target`.
    pub fn react(
        &mut self,
        room_id: &str,
        member: &str,
        target: &str,
        up: bool,
        ts: i64,
    ) -> String {
        let key = if up { "\u{1F44D}" } else { "\u{1F44E}" };
        let content = json!({ "m.relates_to": {
            "rel_type": "m.annotation", "event_id": target, "key": key } });
        self.append(
            room_id,
            ts,
            json!({ "type": "m.reaction", "sender": member, "content": content }),
        )
    }

    /// `member` joins or leaves: the state changes at once, the event is in the timeline.
    pub fn set_membership(&mut self, room_id: &str, member: &str, join: bool, ts: i64) -> String {
        let room = self.rooms.get_mut(room_id).expect("a known room");
        if join {
            room.members.insert(member.to_owned());
            room.invited.remove(member);
        } else {
            room.members.remove(member);
        }
        let membership = if join { "join" } else { "leave" };
        self.append(
            room_id,
            ts,
            json!({ "type": "m.room.member", "state_key": member, "sender": member,
                    "content": {"membership": membership} }),
        )
    }

    /// `PUT /send` with a transaction ID: the event made by the first request with this ID.
    pub fn send(
        &mut self,
        room_id: &str,
        txn_id: &str,
        event_type: &str,
        content: &Value,
        ts: i64,
    ) -> Result<String, String> {
        if let Some(event_id) = self.txns.get(txn_id) {
            self.deduplicated += 1;
            return Ok(event_id.clone());
        }
        if !self.rooms.contains_key(room_id) {
            return Err(format!("M_FORBIDDEN: the bot is not in {room_id}"));
        }
        let event_id = self.append(
            room_id,
            ts,
            // The homeserver gives the sending device its transaction ID (`unmarked_tag`).
            json!({
                "type": event_type,
                "sender": BOT,
                "content": content,
                "unsigned": { "transaction_id": txn_id },
            }),
        );
        self.txns.insert(txn_id.to_owned(), event_id.clone());
        self.sent.push(Sent {
            room: room_id.to_owned(),
            event_id: event_id.clone(),
            content: content.clone(),
        });
        Ok(event_id)
    }

    pub fn is_joined(&self, room_id: &str, member: &str) -> bool {
        self.rooms.get(room_id).is_some_and(|r| r.members.contains(member))
    }

    fn room(&self, room_id: &str) -> Result<&Room, RoomFactError> {
        self.rooms.get(room_id).ok_or_else(|| RoomFactError::NotJoined(room_id.to_owned()))
    }
}

impl Rooms for Homeserver {
    async fn is_joined(&self, room_id: &str, member: &MemberId) -> Result<bool, RoomFactError> {
        Ok(self.room(room_id)?.members.contains(member.as_str()))
    }

    async fn power_level(&self, room_id: &str, member: &MemberId) -> Result<i64, RoomFactError> {
        Ok(self.room(room_id)?.power.get(member.as_str()).copied().unwrap_or(0))
    }

    async fn world_readable(&self, room_id: &str) -> Result<bool, RoomFactError> {
        Ok(self.room(room_id)?.world_readable)
    }

    async fn joined_members(&self, room_id: &str) -> Result<Vec<MemberId>, RoomFactError> {
        Ok(self.room(room_id)?.members.iter().filter_map(|m| MemberId::parse(m)).collect())
    }
}

//! One command event in, one committed transaction out (SPEC §8): claim the event ID, move the
//! room cursor, decide, write the effects and the outbox rows, commit. Knows nothing of Matrix:
//! the adapter establishes the facts (membership, DM) and the benchmark calls it directly.

use chrono::{DateTime, Utc};
use exodus_commands::render::{Rendered, Style, render_error, render_reply};
use exodus_commands::{Change, CommandError, ErrorCode, Lang, LedgerFacts, MemberId, Parsed, Reply, decide, parse};
use exodus_storage::{Cursor, EventRef, OutboxMessage, Outcome, Store, StoreError, Target};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Settings the pipeline needs from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    pub prefixes: Vec<String>,
    pub unit: String,
    pub default_language: Lang,
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

pub struct Pipeline {
    store: Store,
    settings: Settings,
}

impl Pipeline {
    pub fn new(store: Store, settings: Settings) -> Pipeline {
        Pipeline { store, settings }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn parse(&self, body: &str) -> Option<Parsed> {
        parse(body, &self.settings.prefixes)
    }

    fn style(&self, lang: Lang) -> Style<'_> {
        Style { lang, unit: &self.settings.unit, prefix: self.settings.prefixes.first().map_or("!", String::as_str) }
    }

    /// Handles one event. A database error leaves nothing written: the caller retries the event
    /// later from the room cursor.
    pub async fn handle(&self, incoming: &Incoming<'_>, now: DateTime<Utc>) -> Result<Handled, StoreError> {
        let Some(parsed) = self.parse(incoming.body) else {
            return Ok(Handled::NotACommand);
        };
        let event = &incoming.event;
        let outcome = if incoming.sender_joined { Outcome::Applied } else { Outcome::Ignored };
        let mut tx = self.store.begin().await?;
        if !tx.claim_event(event, outcome, now).await? {
            tx.rollback().await?;
            return Ok(Handled::Duplicate);
        }
        tx.set_cursor(&event.room_id, &Cursor { event_id: event.event_id.clone(), origin_ts: event.origin_ts }, now).await?;
        // V6: nothing is executed for a sender who is not joined to the room.
        if !incoming.sender_joined {
            tx.commit().await?;
            return Ok(Handled::Ignored);
        }

        let before = tx.profile_for_update(&incoming.sender).await?;
        let mut lang = before.lang.unwrap_or(self.settings.default_language);
        let decided = match &parsed.command {
            Err(e) => Err(e.clone()),
            Ok(cmd) => {
                let ctx = exodus_commands::Ctx { sender: &incoming.sender, in_dm: incoming.in_dm, now };
                // The ledger arrives with circles; until then every member's figures are zero.
                decide(cmd, &ctx, &before, &LedgerFacts::default())
            }
        };
        let mut messages = Vec::new();
        let ok = match decided {
            Ok(decision) => {
                match &decision.change {
                    Change::None => {}
                    Change::Save(after) => {
                        tx.save_profile(&before, after, now).await?;
                        lang = after.lang.unwrap_or(self.settings.default_language);
                    }
                    Change::Erase => {
                        tx.erase_member(&incoming.sender).await?;
                        lang = self.settings.default_language;
                    }
                }
                messages.push(self.reply(event, &parsed.name, &decision.reply, lang));
                if let Some(private) = &decision.private {
                    messages.push(self.private(event, &incoming.sender, &parsed.name, private, lang));
                }
                true
            }
            Err(error) => {
                messages.push(self.error(event, &parsed.name, &error, lang));
                false
            }
        };
        for message in &messages {
            tx.enqueue(message, now).await?;
        }
        tx.commit().await?;
        Ok(Handled::Applied { command: parsed.name, ok })
    }

    fn reply(&self, event: &EventRef, command: &str, reply: &Reply, lang: Lang) -> OutboxMessage {
        let rendered = render_reply(command, reply, &self.style(lang));
        self.to_room(event, 0, &rendered)
    }

    fn error(&self, event: &EventRef, command: &str, error: &CommandError, lang: Lang) -> OutboxMessage {
        let rendered = render_error(command, error, &self.style(lang));
        self.to_room(event, 0, &rendered)
    }

    fn to_room(&self, event: &EventRef, n: u32, rendered: &Rendered) -> OutboxMessage {
        OutboxMessage {
            txn_id: txn_id(&event.event_id, n),
            target: Target::Room(event.room_id.clone()),
            event_type: "m.room.message".to_owned(),
            content: notice_content(rendered, Some(&event.event_id)),
        }
    }

    fn private(&self, event: &EventRef, member: &MemberId, command: &str, reply: &Reply, lang: Lang) -> OutboxMessage {
        let rendered = render_reply(command, reply, &self.style(lang));
        OutboxMessage {
            txn_id: txn_id(&event.event_id, 1),
            target: Target::Dm(member.clone()),
            event_type: "m.room.message".to_owned(),
            content: notice_content(&rendered, None),
        }
    }

    /// An `internal` error reply for a command that could not be handled for a reason other than
    /// the database (it is recorded, so it is not retried forever). The full error is in the log
    /// under `reference`.
    pub async fn fail(&self, incoming: &Incoming<'_>, reference: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let name = self.parse(incoming.body).map(|p| p.name).unwrap_or_default();
        let mut tx = self.store.begin().await?;
        if !tx.claim_event(&incoming.event, Outcome::Applied, now).await? {
            return tx.rollback().await;
        }
        let error = CommandError::new(
            ErrorCode::Internal,
            exodus_commands::text::Text::new("err-internal").arg("id", reference),
        );
        tx.enqueue(&self.error(&incoming.event, &name, &error, self.settings.default_language), now).await?;
        tx.commit().await
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
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("db").display())).await.unwrap();
        let settings = Settings { prefixes: vec!["!".into()], unit: "EUR".into(), default_language: Lang::En };
        (Pipeline::new(store, settings), dir)
    }

    fn incoming(id: &str, body: &'static str, joined: bool) -> Incoming<'static> {
        Incoming {
            event: EventRef { event_id: id.into(), room_id: "!r:x".into(), origin_ts: 1 },
            sender: MemberId::parse("@alice:x").unwrap(),
            body,
            in_dm: false,
            sender_joined: joined,
        }
    }

    #[tokio::test]
    async fn a_command_is_applied_once_with_one_reply() {
        let (p, _dir) = pipeline().await;
        let now = Utc::now();
        let inc = incoming("$1", "!status orange 300", true);
        assert_eq!(p.handle(&inc, now).await.unwrap(), Handled::Applied { command: "status".into(), ok: true });
        assert_eq!(p.handle(&inc, now).await.unwrap(), Handled::Duplicate);
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
        assert_eq!(p.handle(&incoming("$1", "!status orange 1.234", true), now).await.unwrap(), Handled::Applied { command: "status".into(), ok: false });
        assert_eq!(p.handle(&incoming("$2", "!status orange 5", false), now).await.unwrap(), Handled::Ignored);
        assert_eq!(p.handle(&incoming("$3", "just chatting", true), now).await.unwrap(), Handled::NotACommand);
        assert_eq!(p.store().profile(&MemberId::parse("@alice:x").unwrap()).await.unwrap(), None);
        let out = p.store().pending_outbox(10).await.unwrap();
        assert_eq!(out.len(), 1, "only the error reply");
        assert_eq!(out[0].message.content["org.exodus.result"]["error"], "bad_arguments");
    }

    #[tokio::test]
    async fn payment_details_asked_in_a_room_go_to_the_dm() {
        let (p, _dir) = pipeline().await;
        let now = Utc::now();
        p.handle(&incoming("$1", "!pay add bank IBAN-123", true), now).await.unwrap();
        p.handle(&incoming("$2", "!pay", true), now).await.unwrap();
        let out = p.store().pending_outbox(10).await.unwrap();
        assert_eq!(out.len(), 3);
        for m in &out[..2] {
            assert!(!m.message.content.to_string().contains("IBAN-123"), "details leaked into the room: {m:?}");
            assert_eq!(m.message.target, Target::Room("!r:x".into()));
        }
        assert_eq!(out[2].message.target, Target::Dm(MemberId::parse("@alice:x").unwrap()));
        assert_eq!(out[2].message.content["org.exodus.result"]["methods"][0]["details"], "IBAN-123");
    }
}

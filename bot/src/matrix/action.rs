//! What an outbox row asks of the outbox other than sending its content as a message: the row's
//! event type names the action (`org.exodus.action.*`), its content is the action's payload. The
//! two are one serde-tagged enum, [`Action`] (adjacently tagged: `type` is the event type,
//! `content` the payload), so a payload is written and read by the same definition. Rows written
//! by earlier versions have the same form.

use exodus_commands::MemberId;
use exodus_storage::Tag;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The prefix of every action's event type: a row whose type has it is never sent as it is.
pub const PREFIX: &str = "org.exodus.action.";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "content", deny_unknown_fields)]
pub enum Action {
    /// `circle open` from a DM: create an encrypted room named `name`, invite `owner` with power
    /// 100 and bind it as their circle (the row goes to the owner's DM).
    #[serde(rename = "org.exodus.action.create_circle")]
    CreateCircle { owner: MemberId, name: String },
    /// `circle invite`: invite `user_id` to the row's room.
    #[serde(rename = "org.exodus.action.invite")]
    Invite { user_id: MemberId },
    /// Replace the content of the bot's message tagged `tag` in the row's room (an initiative's
    /// card) by `new_content` (`m.replace`).
    #[serde(rename = "org.exodus.action.edit")]
    Edit { tag: Tag, new_content: Value },
    /// A job's digest, packed (see [`crate::digest`]), rendered when it is sent.
    #[serde(rename = "org.exodus.action.digest")]
    Digest(Value),
}

impl Action {
    /// The action a row stands for: `None` for a message to send as it is, an error for a row
    /// of an action's type whose payload does not fit it.
    pub fn of_row(event_type: &str, content: &Value) -> Option<Result<Action, String>> {
        if !event_type.starts_with(PREFIX) {
            return None;
        }
        let tagged = serde_json::json!({ "type": event_type, "content": content });
        Some(serde_json::from_value(tagged).map_err(|e| format!("{event_type}: {e}")))
    }

    /// The row's event type and content, as serde's tagging writes them.
    pub fn into_row(self) -> (String, Value) {
        let tagged = serde_json::to_value(self)
            .expect("member IDs, tags, text and JSON values always serialize");
        let Value::Object(mut tagged) = tagged else { unreachable!("an adjacently tagged enum") };
        let event_type = match tagged.remove("type") {
            Some(Value::String(event_type)) => event_type,
            _ => unreachable!("an adjacently tagged enum has its tag"),
        };
        (event_type, tagged.remove("content").unwrap_or(Value::Null))
    }
}

/// The event type of a digest row (written by the thousand without building an [`Action`]).
pub const DIGEST: &str = "org.exodus.action.digest";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn member(name: &str) -> MemberId {
        MemberId::parse(&format!("@{name}:example.org")).unwrap()
    }

    /// `into_row` writes what `of_row` reads, and what serde's tagging says each type is.
    #[test]
    fn every_action_is_read_back_as_written() {
        let actions = [
            Action::CreateCircle {
                owner: member("ann"),
                name: "Circle of @ann:example.org".into(),
            },
            Action::Invite { user_id: member("bob") },
            Action::Edit { tag: Tag::Initiative(4), new_content: json!({ "body": "card" }) },
            Action::Digest(json!({ "job": "rollover", "lang": "en", "items": [] })),
        ];
        for action in actions {
            let (event_type, content) = action.clone().into_row();
            assert!(event_type.starts_with(PREFIX), "{event_type}");
            if matches!(action, Action::Digest(_)) {
                assert_eq!(event_type, DIGEST);
            }
            assert_eq!(Action::of_row(&event_type, &content), Some(Ok(action)));
        }
    }

    /// Rows of earlier versions, as they were written.
    #[test]
    fn rows_of_earlier_versions_are_read() {
        let row = json!({ "tag": "initiative:7", "new_content": { "body": "x" } });
        assert_eq!(
            Action::of_row("org.exodus.action.edit", &row),
            Some(Ok(Action::Edit { tag: Tag::Initiative(7), new_content: json!({ "body": "x" }) }))
        );
        let row = json!({ "owner": "@ann:example.org", "name": "Circle of @ann:example.org" });
        assert!(matches!(
            Action::of_row("org.exodus.action.create_circle", &row),
            Some(Ok(Action::CreateCircle { .. }))
        ));
    }

    #[test]
    fn a_message_is_no_action_and_a_bad_payload_is_an_error() {
        assert_eq!(Action::of_row("m.room.message", &json!({ "body": "hi" })), None);
        for (event_type, content) in [
            ("org.exodus.action.invite", json!({ "user_id": "not a user" })),
            ("org.exodus.action.invite", json!({})),
            ("org.exodus.action.edit", json!({ "tag": "paid", "new_content": {} })),
            ("org.exodus.action.unknown", json!({})),
        ] {
            assert!(matches!(Action::of_row(event_type, &content), Some(Err(_))), "{content}");
        }
    }
}

//! Which timeline events may be commands (SPEC §2.1 V4), decided on the event JSON alone:
//! only `m.text` messages from others count; edits, notices, emotes, redacted events and the bot's
//! own events never do; in a reply only the reply's own text counts, not the quoted fallback.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    /// A text message that may carry a command; `body` has any reply fallback removed.
    Candidate { sender: String, body: String },
    /// A membership change (the adapter checks DM rooms on these).
    Membership,
    Skip(Skip),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    NotAMessage,
    OwnEvent,
    NotText,
    Edit,
    Redacted,
}

pub fn classify(event: &Value, own_user_id: &str) -> Classified {
    let kind = event["type"].as_str().unwrap_or_default();
    if kind == "m.room.member" {
        return Classified::Membership;
    }
    if kind != "m.room.message" {
        return Classified::Skip(Skip::NotAMessage);
    }
    let sender = event["sender"].as_str().unwrap_or_default();
    if sender == own_user_id {
        return Classified::Skip(Skip::OwnEvent);
    }
    let content = &event["content"];
    if !event["unsigned"]["redacted_because"].is_null() || content.as_object().is_none_or(|c| c.is_empty()) {
        return Classified::Skip(Skip::Redacted);
    }
    let relates_to = &content["m.relates_to"];
    if relates_to["rel_type"] == "m.replace" || !content["m.new_content"].is_null() {
        return Classified::Skip(Skip::Edit);
    }
    if content["msgtype"] != "m.text" {
        return Classified::Skip(Skip::NotText);
    }
    let body = content["body"].as_str().unwrap_or_default();
    let is_reply = !relates_to["m.in_reply_to"].is_null();
    let body = if is_reply { strip_reply_fallback(body) } else { body };
    Classified::Candidate { sender: sender.to_owned(), body: body.to_owned() }
}

/// Removes the quoted lines (`> …`) a client puts before the text of a reply, and the blank line
/// after them.
pub fn strip_reply_fallback(body: &str) -> &str {
    let mut rest = body;
    let mut stripped = false;
    while rest.starts_with('>') {
        stripped = true;
        rest = match rest.find('\n') {
            Some(i) => &rest[i + 1..],
            None => "",
        };
    }
    if stripped {
        rest = rest.strip_prefix('\n').unwrap_or(rest);
    }
    rest
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const BOT: &str = "@bot:x";

    fn message(content: Value) -> Value {
        json!({ "type": "m.room.message", "sender": "@alice:x", "event_id": "$e", "content": content })
    }

    #[test]
    fn plain_text_is_a_candidate() {
        let c = classify(&message(json!({"msgtype": "m.text", "body": "!status"})), BOT);
        assert_eq!(c, Classified::Candidate { sender: "@alice:x".into(), body: "!status".into() });
    }

    #[test]
    fn edits_notices_emotes_own_and_redacted_events_are_skipped() {
        let edit = message(json!({
            "msgtype": "m.text", "body": "* !status orange 5",
            "m.new_content": {"msgtype": "m.text", "body": "!status orange 5"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$orig"}
        }));
        assert_eq!(classify(&edit, BOT), Classified::Skip(Skip::Edit));
        let notice = message(json!({"msgtype": "m.notice", "body": "!status orange 5"}));
        assert_eq!(classify(&notice, BOT), Classified::Skip(Skip::NotText));
        let emote = message(json!({"msgtype": "m.emote", "body": "!status"}));
        assert_eq!(classify(&emote, BOT), Classified::Skip(Skip::NotText));
        let mut own = message(json!({"msgtype": "m.text", "body": "!status"}));
        own["sender"] = json!(BOT);
        assert_eq!(classify(&own, BOT), Classified::Skip(Skip::OwnEvent));
        let redacted = json!({"type": "m.room.message", "sender": "@alice:x", "content": {}, "unsigned": {"redacted_because": {}}});
        assert_eq!(classify(&redacted, BOT), Classified::Skip(Skip::Redacted));
        assert_eq!(classify(&json!({"type": "m.reaction", "content": {}}), BOT), Classified::Skip(Skip::NotAMessage));
    }

    #[test]
    fn a_command_quoted_in_a_reply_fallback_is_not_the_reply() {
        let reply = message(json!({
            "msgtype": "m.text",
            "body": "> <@bob:x> !status orange 500\n> second line\n\nthanks, noted",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}
        }));
        assert_eq!(classify(&reply, BOT), Classified::Candidate { sender: "@alice:x".into(), body: "thanks, noted".into() });
        let reply_with_command = message(json!({
            "msgtype": "m.text",
            "body": "> <@bob:x> hi\n\n!status",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}
        }));
        assert_eq!(classify(&reply_with_command, BOT), Classified::Candidate { sender: "@alice:x".into(), body: "!status".into() });
        // Without a reply relation a leading `>` is just text.
        let quote = message(json!({"msgtype": "m.text", "body": "> !status"}));
        assert_eq!(classify(&quote, BOT), Classified::Candidate { sender: "@alice:x".into(), body: "> !status".into() });
    }
}

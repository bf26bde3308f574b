//! Which timeline events may be commands (SPEC §2.1 V4), decided on the event JSON alone:
//! only `m.text` messages from others count; edits, notices, emotes, redacted events and the bot's
//! own events never do; in a reply only the reply's own text counts, not the quoted fallback.

use matrix_sdk::ruma::MatrixToUri;
use matrix_sdk::ruma::events::room::message::sanitize::remove_plain_reply_fallback;
use matrix_sdk::ruma::matrix_uri::MatrixId;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    /// A text message that may carry a command; `body` has any reply fallback removed;
    /// `mentions`: the users it links to or lists in `m.mentions` (V5), never display names.
    Candidate {
        sender: String,
        body: String,
        mentions: Vec<String>,
    },
    /// A 👍 reaction by someone else on event `target`.
    ThumbsUp {
        sender: String,
        target: String,
    },
    /// A 👎 reaction by someone else on event `target` (a vote against a claim).
    ThumbsDown {
        sender: String,
        target: String,
    },
    /// `sender` redacted event `redacts` (perhaps a reaction that cast a vote).
    Redaction {
        sender: String,
        redacts: String,
    },
    /// A membership change of `user` (the adapter checks DM rooms and circle leaves on these).
    Membership {
        user: String,
        membership: String,
    },
    Skip(Skip),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    NotAMessage,
    OwnEvent,
    NotText,
    Edit,
    Redacted,
    /// Not what any client sends (a body that is no string, an `m.relates_to` of the wrong
    /// shape): never a command, in a plain room as in an encrypted one.
    Malformed,
}

pub fn classify(event: &Value, own_user_id: &str) -> Classified {
    let kind = event["type"].as_str().unwrap_or_default();
    if kind == "m.room.member" {
        return Classified::Membership {
            user: event["state_key"].as_str().unwrap_or_default().to_owned(),
            membership: event["content"]["membership"].as_str().unwrap_or_default().to_owned(),
        };
    }
    if kind == "m.reaction" {
        let sender = event["sender"].as_str().unwrap_or_default();
        let relates_to = &event["content"]["m.relates_to"];
        let key = relates_to["key"].as_str().unwrap_or_default();
        // 👍 / 👎 with or without the emoji variation selector, any skin tone.
        let (thumbs_up, thumbs_down) = (key.starts_with('\u{1F44D}'), key.starts_with('\u{1F44E}'));
        return match (relates_to["rel_type"].as_str(), relates_to["event_id"].as_str()) {
            (Some("m.annotation"), Some(target)) if thumbs_up && sender != own_user_id => {
                Classified::ThumbsUp { sender: sender.to_owned(), target: target.to_owned() }
            }
            (Some("m.annotation"), Some(target)) if thumbs_down && sender != own_user_id => {
                Classified::ThumbsDown { sender: sender.to_owned(), target: target.to_owned() }
            }
            _ => Classified::Skip(Skip::NotAMessage),
        };
    }
    if kind == "m.room.redaction" {
        let sender = event["sender"].as_str().unwrap_or_default();
        // `redacts` is a top-level key up to room version 10, in the content from version 11.
        let redacts = event["redacts"].as_str().or_else(|| event["content"]["redacts"].as_str());
        return match redacts {
            Some(redacts) if sender != own_user_id => {
                Classified::Redaction { sender: sender.to_owned(), redacts: redacts.to_owned() }
            }
            _ => Classified::Skip(Skip::NotAMessage),
        };
    }
    if kind != "m.room.message" {
        return Classified::Skip(Skip::NotAMessage);
    }
    let sender = event["sender"].as_str().unwrap_or_default();
    if sender == own_user_id {
        return Classified::Skip(Skip::OwnEvent);
    }
    let content = &event["content"];
    if !event["unsigned"]["redacted_because"].is_null()
        || content.as_object().is_none_or(|c| c.is_empty())
    {
        return Classified::Skip(Skip::Redacted);
    }
    let relates_to = &content["m.relates_to"];
    let reply_to = &relates_to["m.in_reply_to"];
    let malformed_relation = !(relates_to.is_null() || relates_to.is_object())
        || !(reply_to.is_null() || reply_to["event_id"].is_string())
        || !(relates_to["rel_type"].is_null() || relates_to["rel_type"].is_string());
    let listed = &content["m.mentions"];
    let malformed_text = !content["body"].is_string()
        || !(content["formatted_body"].is_null() || content["formatted_body"].is_string())
        || !(listed.is_null()
            || (listed.is_object()
                && (listed["user_ids"].is_null() || listed["user_ids"].is_array())));
    if malformed_relation || malformed_text {
        return Classified::Skip(Skip::Malformed);
    }
    if relates_to["rel_type"] == "m.replace" || !content["m.new_content"].is_null() {
        return Classified::Skip(Skip::Edit);
    }
    if content["msgtype"] != "m.text" {
        return Classified::Skip(Skip::NotText);
    }
    let body = content["body"].as_str().unwrap_or_default();
    let is_reply = !relates_to["m.in_reply_to"].is_null();
    let body = if is_reply { strip_reply_fallback(body) } else { body };
    Classified::Candidate {
        sender: sender.to_owned(),
        body: body.to_owned(),
        mentions: mentions(content, own_user_id),
    }
}

/// The users a message mentions: `m.mentions.user_ids` and the users that `matrix.to` links in the
/// formatted body point to (a pill's link, not its text, names the member: V5), each link read by
/// ruma's `MatrixToUri` (percent-encoded or not). The bot itself is left out.
pub fn mentions(content: &Value, own_user_id: &str) -> Vec<String> {
    let mut found: Vec<String> = content["m.mentions"]["user_ids"]
        .as_array()
        .map(|ids| ids.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if let Some(html) = content["formatted_body"].as_str() {
        for (at, _) in html.match_indices(MATRIX_TO) {
            let link = &html[at..];
            // The link ends where its attribute's value does; its query (`?via=…`, perhaps
            // HTML-escaped as `&amp;`) never matters for a user.
            let end = link.find(['"', '\'', '?', '>', ' ', '<']).unwrap_or(link.len());
            if let Ok(uri) = MatrixToUri::parse(&link[..end])
                && let MatrixId::User(user) = uri.id()
            {
                found.push(user.to_string());
            }
        }
    }
    found.retain(|id| id != own_user_id);
    found.sort();
    found.dedup();
    found
}

/// Where every `matrix.to` link starts.
const MATRIX_TO: &str = "https://matrix.to/#/";

/// Removes the rich-reply fallback (`> <@sender> …` lines and the blank line after them) a client
/// may put before the text of a reply: ruma's `remove_plain_reply_fallback`.
pub fn strip_reply_fallback(body: &str) -> &str {
    remove_plain_reply_fallback(body)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const BOT: &str = "@bot:x";

    fn message(content: Value) -> Value {
        json!({ "type": "m.room.message", "sender": "@alice:x", "event_id": "$e", "content": content })
    }

    /// Events no client sends but anyone can: never a command, and nothing to panic on.
    #[test]
    fn malformed_messages_are_skipped() {
        for content in [
            json!({"msgtype": "m.text", "body": 5}),
            json!({"msgtype": "m.text", "body": ["!status"]}),
            json!({"msgtype": "m.text", "body": null}),
            json!({"msgtype": "m.text", "body": "!status", "m.relates_to": "x"}),
            json!({"msgtype": "m.text", "body": "!status", "m.relates_to": 5}),
            json!({"msgtype": "m.text", "body": "!status", "m.relates_to": {"m.in_reply_to": "$e"}}),
            json!({"msgtype": "m.text", "body": "!status", "m.relates_to": {"m.in_reply_to": {"event_id": 5}}}),
            json!({"msgtype": "m.text", "body": "!status", "m.relates_to": {"rel_type": 5, "event_id": "$e"}}),
            json!({"msgtype": "m.text", "body": "!status", "format": "org.matrix.custom.html", "formatted_body": 5}),
            json!({"msgtype": "m.text", "body": "!status", "m.mentions": {"user_ids": "@x:y"}}),
            json!({"msgtype": "m.text", "body": "!status", "m.mentions": "@x:y"}),
        ] {
            assert_eq!(
                classify(&message(content.clone()), BOT),
                Classified::Skip(Skip::Malformed),
                "{content}"
            );
        }
        for reaction in [
            json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": "$e"}}),
            json!({"key": "👍"}),
            json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": 5, "key": "👍"}}),
            json!({"m.relates_to": "👍"}),
        ] {
            let event = json!({ "type": "m.reaction", "sender": "@alice:x", "event_id": "$r", "content": reaction });
            assert_eq!(classify(&event, BOT), Classified::Skip(Skip::NotAMessage), "{reaction}");
        }
        // A well-formed reply still counts.
        let reply = json!({"msgtype": "m.text", "body": "> <@b:x> hi\n\n!status", "m.relates_to": {"m.in_reply_to": {"event_id": "$e"}}});
        assert!(matches!(classify(&message(reply), BOT), Classified::Candidate { .. }));
    }

    #[test]
    fn plain_text_is_a_candidate() {
        let c = classify(&message(json!({"msgtype": "m.text", "body": "!status"})), BOT);
        assert_eq!(
            c,
            Classified::Candidate {
                sender: "@alice:x".into(),
                body: "!status".into(),
                mentions: vec![]
            }
        );
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
        assert_eq!(
            classify(&json!({"type": "m.reaction", "content": {}}), BOT),
            Classified::Skip(Skip::NotAMessage)
        );
        let thumbs = |sender: &str, key: &str| {
            json!({"type": "m.reaction", "sender": sender,
            "content": {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$n", "key": key}}})
        };
        assert_eq!(
            classify(&thumbs("@alice:x", "👍️"), BOT),
            Classified::ThumbsUp { sender: "@alice:x".into(), target: "$n".into() }
        );
        assert_eq!(
            classify(&thumbs("@alice:x", "👍🏽"), BOT),
            Classified::ThumbsUp { sender: "@alice:x".into(), target: "$n".into() }
        );
        assert_eq!(
            classify(&thumbs("@alice:x", "👎🏿"), BOT),
            Classified::ThumbsDown { sender: "@alice:x".into(), target: "$n".into() }
        );
        assert_eq!(classify(&thumbs("@alice:x", "❤️"), BOT), Classified::Skip(Skip::NotAMessage));
        assert_eq!(classify(&thumbs(BOT, "👍"), BOT), Classified::Skip(Skip::NotAMessage));
        assert_eq!(classify(&thumbs(BOT, "👎"), BOT), Classified::Skip(Skip::NotAMessage));
    }

    #[test]
    fn redactions_name_the_event_they_remove_in_every_room_version() {
        let v10 = json!({"type": "m.room.redaction", "sender": "@alice:x", "redacts": "$vote", "content": {}});
        let v11 = json!({"type": "m.room.redaction", "sender": "@alice:x", "content": {"redacts": "$vote"}});
        let want = Classified::Redaction { sender: "@alice:x".into(), redacts: "$vote".into() };
        assert_eq!(classify(&v10, BOT), want);
        assert_eq!(classify(&v11, BOT), want);
        let own =
            json!({"type": "m.room.redaction", "sender": BOT, "redacts": "$vote", "content": {}});
        assert_eq!(classify(&own, BOT), Classified::Skip(Skip::NotAMessage));
    }

    #[test]
    fn a_command_quoted_in_a_reply_fallback_is_not_the_reply() {
        let reply = message(json!({
            "msgtype": "m.text",
            "body": "> <@bob:x> !status orange 500\n> second line\n\nthanks, noted",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}
        }));
        assert_eq!(
            classify(&reply, BOT),
            Classified::Candidate {
                sender: "@alice:x".into(),
                body: "thanks, noted".into(),
                mentions: vec![]
            }
        );
        let reply_with_command = message(json!({
            "msgtype": "m.text",
            "body": "> <@bob:x> hi\n\n!status",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}
        }));
        assert_eq!(
            classify(&reply_with_command, BOT),
            Classified::Candidate {
                sender: "@alice:x".into(),
                body: "!status".into(),
                mentions: vec![]
            }
        );
        // Without a reply relation a leading `>` is just text.
        let quote = message(json!({"msgtype": "m.text", "body": "> !status"}));
        assert_eq!(
            classify(&quote, BOT),
            Classified::Candidate {
                sender: "@alice:x".into(),
                body: "> !status".into(),
                mentions: vec![]
            }
        );
    }

    #[test]
    fn mentions_come_from_links_and_m_mentions_never_from_display_names() {
        // A pill whose text is another member's user ID: the link decides (V5).
        let pill = message(json!({
            "msgtype": "m.text",
            "body": "!circle invite @alice:x",
            "format": "org.matrix.custom.html",
            "formatted_body": "!circle invite <a href=\"https://matrix.to/#/%40mallory%3Ay\">@alice:x</a>",
        }));
        let Classified::Candidate { mentions, .. } = classify(&pill, BOT) else {
            panic!("not a candidate")
        };
        assert_eq!(mentions, vec!["@mallory:y".to_owned()]);
        // Links not percent-encoded, with a query, to rooms, and broken ones.
        let links = message(json!({
            "msgtype": "m.text",
            "body": "!circle invite",
            "format": "org.matrix.custom.html",
            "formatted_body": "<a href='https://matrix.to/#/@carol:z?via=z&amp;via=w'>C</a> \
                <a href=\"https://matrix.to/#/!room:z\">R</a> \
                <a href=\"https://matrix.to/#/%40\">broken</a> \
                <a href=\"https://matrix.to/#/@dave:z\">D</a>",
        }));
        let Classified::Candidate { mentions, .. } = classify(&links, BOT) else {
            panic!("not a candidate")
        };
        assert_eq!(mentions, vec!["@carol:z".to_owned(), "@dave:z".to_owned()]);
        let listed = message(
            json!({"msgtype": "m.text", "body": "hi", "m.mentions": {"user_ids": ["@bob:x", BOT]}}),
        );
        let Classified::Candidate { mentions, .. } = classify(&listed, BOT) else {
            panic!("not a candidate")
        };
        assert_eq!(mentions, vec!["@bob:x".to_owned()], "the bot itself is not a mention");
    }
}

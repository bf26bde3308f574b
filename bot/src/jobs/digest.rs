//! A job's digest as the outbox keeps it: what the job did to each of the member's records,
//! packed small, rendered into the member's message only when it is sent (benchmark B3: a
//! rollover queues 100,000 digests in its transaction; rendered there, they were 100,000 messages
//! of about 2.5 KB, formatted and written inside the job's time).
//!
//! The content of an `org.exodus.action.digest` row: `{"job": "rollover", "lang": "en",
//! "items": [[change, id, renews, other party, amount in cents, due (ms) or null, as giver], …]}`,
//! `change` one of [`Marked::code`], `renews` the renewed obligation's number (renewals) or null.
//! The member is the row's recipient. Everything the message shows is in it, so that sending it
//! again (after a crash) shows the same.

use chrono::DateTime;
use exodus_commands::cycle::{DigestItem, Job, Marked, Marking};
use exodus_commands::ledger::RecordId;
use exodus_commands::render::{Style, render_reply};
use exodus_commands::{Amount, Lang, MemberId, Reply};
use exodus_commands::{Code, FromCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pipeline::{Settings, notice_content};

/// The outbox action of a digest rendered when sent.
pub const ACTION_DIGEST: &str = crate::action::DIGEST;

/// The packed content of a member's digest of `job` (`items`: markings and whether the member is
/// the giver), in `lang`, as JSON text (written straight
/// from the markings: a rollover packs 100,000 digests, B3).
pub fn pack<'a>(
    job: Job,
    items: impl IntoIterator<Item = (&'a Marking, bool)>,
    lang: Lang,
) -> String {
    /// change, id, renews, other party, cents, due (ms), as giver.
    type Item<'a> = (&'static str, RecordId, Option<RecordId>, &'a str, i64, Option<i64>, bool);
    #[derive(Serialize)]
    struct Packed<'a> {
        job: &'static str,
        lang: &'static str,
        items: Vec<Item<'a>>,
    }
    let items = items
        .into_iter()
        .map(|(m, as_giver)| {
            let renews = match m.marked {
                Marked::Renewed { from } => Some(from),
                _ => None,
            };
            // A record of one's own (giver and recipient the same) names the member.
            let other = if as_giver { &m.recipient } else { &m.giver };
            (
                m.marked.code(),
                m.id,
                renews,
                other.as_str(),
                m.amount.cents(),
                m.due.map(|d| d.timestamp_millis()),
                as_giver,
            )
        })
        .collect();
    serde_json::to_string(&Packed { job: job.name(), lang: lang.code(), items })
        .expect("text, numbers and booleans serialize")
}

/// A packed digest that cannot be read back: the row is not what [`pack`] writes.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("a packed digest of another shape: {0}")]
    Shape(#[from] serde_json::Error),
    #[error("a digest of the unknown job {0:?}")]
    Job(String),
    #[error("a digest in the unknown language {0:?}")]
    Lang(String),
    #[error("a digest item with the unknown change {0:?}")]
    Change(String),
    #[error("a renewal without the obligation it renews: #{0}")]
    Renewal(RecordId),
    #[error("a digest item with a due date out of range: {0}")]
    Due(i64),
}

/// A packed item read back: change, id, renews, other party, cents, due (ms), as giver.
type PackedItem = (String, RecordId, Option<RecordId>, MemberId, i64, Option<i64>, bool);

/// What [`pack`] writes, read back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Unpacked {
    job: String,
    lang: String,
    items: Vec<PackedItem>,
}

/// The digest `content` packed for `member`: the reply and its language.
pub fn unpack(member: &MemberId, content: &Value) -> Result<(Reply, Lang), DigestError> {
    let packed = Unpacked::deserialize(content)?;
    let job = Job::from_name(&packed.job).ok_or(DigestError::Job(packed.job))?;
    let lang = Lang::from_code(&packed.lang).ok_or(DigestError::Lang(packed.lang))?;
    let items = packed
        .items
        .into_iter()
        .map(|(change, id, renews, other, cents, due, as_giver)| {
            let marked = match change.as_str() {
                "expired" => Marked::Expired,
                "renewed" => Marked::Renewed { from: renews.ok_or(DigestError::Renewal(id))? },
                "overdue" => Marked::Overdue,
                "due" => Marked::Due,
                "unconfirmed" => Marked::Unconfirmed,
                _ => return Err(DigestError::Change(change)),
            };
            let due = due
                .map(|ms| DateTime::from_timestamp_millis(ms).ok_or(DigestError::Due(ms)))
                .transpose()?;
            let amount = Amount::from_stored_cents(cents);
            let (giver, recipient) =
                if as_giver { (member.clone(), other) } else { (other, member.clone()) };
            let marking = Marking { marked, id, giver, recipient, amount, due };
            Ok(DigestItem { marking, as_giver })
        })
        .collect::<Result<Vec<_>, DigestError>>()?;
    Ok((Reply::Digest { job, items }, lang))
}

/// The message `member`'s packed digest becomes: an `m.notice` as any other job message.
pub fn render(
    member: &MemberId,
    content: &Value,
    settings: &Settings,
) -> Result<Value, DigestError> {
    let (reply, lang) = unpack(member, content)?;
    let style = Style {
        lang,
        unit: &settings.unit,
        prefix: settings.prefixes.first().map_or("!", String::as_str),
    };
    Ok(notice_content(&render_reply("notice", &reply, &style), None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use exodus_commands::cycle::digests;
    use serde_json::json;

    fn member(name: &str) -> MemberId {
        MemberId::parse(&format!("@{name}:example.org")).expect("member")
    }

    fn settings() -> Settings {
        Settings {
            prefixes: vec!["!".into()],
            unit: "EUR".into(),
            default_language: Lang::En,
            timezone: chrono_tz::UTC,
        }
    }

    fn marking(
        marked: Marked,
        id: i64,
        giver: &str,
        recipient: &str,
        cents: i64,
        due: Option<i64>,
    ) -> Marking {
        Marking {
            marked,
            id,
            giver: member(giver),
            recipient: member(recipient),
            amount: Amount::from_stored_cents(cents),
            due: due.map(|d| Utc.timestamp_millis_opt(d).single().expect("due")),
        }
    }

    #[test]
    fn a_packed_digest_renders_as_the_digest_itself() {
        let markings = vec![
            marking(Marked::Expired, 3, "ann", "bob", 1_050, None),
            marking(Marked::Renewed { from: 4 }, 9, "carol", "ann", 2_000, None),
            marking(Marked::Overdue, 5, "ann", "carol", 70_000, Some(1_795_608_000_000)),
            marking(Marked::Due, 6, "ann", "bob", 100, Some(1_796_083_200_000)),
            marking(Marked::Unconfirmed, 7, "bob", "ann", 1, Some(1_796_083_200_000)),
            marking(Marked::Expired, 8, "ann", "ann", 500, None),
        ];
        let settings = settings();
        for (who, items) in digests(markings) {
            for lang in [Lang::En, Lang::Ru] {
                let packed: Value = serde_json::from_str(&pack(
                    Job::Rollover,
                    items.iter().map(|i| (&i.marking, i.as_giver)),
                    lang,
                ))
                .expect("json");
                let (reply, unpacked_lang) = unpack(&who, &packed).expect("unpack");
                assert_eq!(unpacked_lang, lang);
                let direct = Reply::Digest { job: Job::Rollover, items: items.clone() };
                assert_eq!(reply, direct, "{who}: {packed}");
                let style = Style { lang, unit: "EUR", prefix: "!" };
                let want = notice_content(&render_reply("notice", &direct, &style), None);
                assert_eq!(render(&who, &packed, &settings).expect("render"), want);
            }
        }
    }

    #[test]
    fn a_packed_digest_is_a_fraction_of_the_rendered_one() {
        let who = member("ann");
        let markings: Vec<Marking> = (0..10)
            .map(|i| marking(Marked::Expired, 100_000 + i, "ann", "bob", 1_500, None))
            .collect();
        let items = digests(markings).remove(&who).expect("ann's digest");
        let packed = pack(Job::Rollover, items.iter().map(|i| (&i.marking, i.as_giver)), Lang::En);
        let rendered = render(&who, &serde_json::from_str(&packed).expect("json"), &settings())
            .expect("render")
            .to_string();
        assert!(
            packed.len() * 3 < rendered.len(),
            "packed {} bytes, rendered {} bytes",
            packed.len(),
            rendered.len()
        );
    }

    #[test]
    fn a_damaged_digest_is_refused_not_sent_half() {
        let who = member("ann");
        for content in [
            json!({}),
            json!({ "job": "rollover", "lang": "en" }),
            json!({ "job": "never", "lang": "en", "items": [] }),
            json!({ "job": "rollover", "lang": "xx", "items": [] }),
            json!({ "job": "rollover", "lang": "en", "items": [["expired", 1, null, "@bob:example.org", 100, null]] }),
            json!({ "job": "rollover", "lang": "en", "items": [["lost", 1, null, "@bob:example.org", 100, null, true]] }),
            json!({ "job": "rollover", "lang": "en", "items": [["renewed", 1, null, "@bob:example.org", 100, null, true]] }),
            json!({ "job": "rollover", "lang": "en", "items": [["expired", 1, null, "bob", 100, null, true]] }),
        ] {
            assert!(unpack(&who, &content).is_err(), "{content}");
        }
    }
}

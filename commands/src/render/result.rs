//! The `org.exodus.result` object every reply carries in its event content (SPEC §3), as types:
//! what these structs serialise to is the wire format, and their doc comments document it.
//!
//! A reply's object is a [`ReplyResult`]: `command` and `ok: true`, then the fields of one
//! [`Fields`] variant at the same level; an error's is an [`ErrorResult`]. Throughout:
//!
//! - amounts are JSON strings with exactly two decimals, `"12.50"`, never numbers ([`Amount`]);
//! - instants are RFC 3339 in UTC to the second, `"2026-03-22T00:00:00Z"` ([`Instant`]);
//! - member IDs are full Matrix user IDs, `"@alice:example.org"`;
//! - the domain's enums are their stable codes (`crate::code`, [`Coded`]);
//! - a field of an `Option` type is `null` when there is nothing, unless its doc says that it is
//!   left out then;
//! - a list cut to fit in one Matrix event (SPEC §8) is followed by `more`, an object saying per
//!   list what was cut ([`Omitted`]); `more` is left out when nothing was.
//!
//! The rendering builds these from a [`crate::Reply`]; they hold nothing but what they serialise.
//! The families: [`profile`] (`help`, `status` and a member's own settings), [`circle`] (a
//! circle, its need and collections), [`ledger`] (records), [`network`], [`pool`] (pools and
//! claims), [`initiative`], [`clearing`], [`jobs`] (the scheduled jobs' digests and `admin`).
//! Each family's types are in `<family>/result.rs` (the circle's in `ledger/result_circle.rs`, the
//! jobs' in `cycle/result.rs`), beside the code that renders it, and are re-exported here: this
//! module holds the envelope and the types the families share.

// The doc comments below are the documentation of the wire format: none may be missing.
#![warn(missing_docs)]

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::{Amount, Code, ErrorCode};

/// A string that is always the same, as a type: serialises as its one value.
macro_rules! constant {
    ($(#[$doc:meta])* $name:ident = $value:literal) => {
        $(#[$doc])*
        #[doc = concat!("Always `\"", $value, "\"`.")]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($value)
            }
        }
    };
}
pub(crate) use constant;

pub use crate::clearing::result as clearing;
pub use crate::cycle::result as jobs;
pub use crate::initiative::result as initiative;
pub use crate::ledger::result as ledger;
pub use crate::ledger::result_circle as circle;
pub use crate::network::result as network;
pub use crate::pool::result as pool;
pub use crate::profile::result as profile;

/// The object of a reply: `{"command": …, "ok": true, …}`.
#[derive(Debug, Serialize)]
pub struct ReplyResult<'a> {
    /// The command replied to (`intend`, `circle`, …); `notice` for a notification, `propose`
    /// for an initiative's card.
    pub command: &'a str,
    /// Always `true`: the command was carried out.
    pub ok: bool,
    /// What the reply says, at the same level as `command` and `ok`.
    #[serde(flatten)]
    pub fields: Fields<'a>,
}

/// The object of an error (SPEC §3): `{"command": …, "ok": false, "error": …, "message": …}`.
#[derive(Debug, Serialize)]
pub struct ErrorResult<'a> {
    /// The command that failed; empty when the message named none.
    pub command: &'a str,
    /// Always `false`.
    pub ok: bool,
    /// `unknown_command`, `bad_arguments`, `not_a_member`, `forbidden`, `not_found`,
    /// `invalid_state`, `limit_exceeded` or `internal`.
    pub error: Coded<ErrorCode>,
    /// What went wrong, in the member's language.
    pub message: String,
    /// The correct usage, one form per line, with the prefix: of the command named, or `help`'s
    /// for an unknown one. Left out when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
}

/// The fields of a reply beside `command` and `ok`, by the [`crate::Reply`] variant rendered
/// (serialised without a tag: only the variant's own fields appear).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Fields<'a> {
    /// `help` and `help <command>`.
    Help(profile::Help),
    /// `status`.
    Status(profile::Status<'a>),
    /// `about`.
    About(profile::About<'a>),
    /// `pay` in the member's DM.
    PayMethods(profile::PayMethods<'a>),
    /// `pay` in a circle room.
    CirclePay(profile::CirclePay<'a>),
    /// `pay` in another shared room.
    PaySentByDm(profile::PaySentByDm),
    /// `pay add|remove|default`.
    PayChanged(profile::PayChanged<'a>),
    /// `lang`.
    Lang(profile::LangSet),
    /// `notify`.
    Notify(profile::Notify),
    /// `forget-me`.
    ForgetPending(profile::ForgetPending),
    /// `forget-me confirm`.
    ForgetDone(profile::ForgetDone),
    /// `circle open`.
    CircleOpened(circle::CircleOpened<'a>),
    /// `circle`.
    Circle(circle::Circle<'a>),
    /// `circle link`.
    CircleLink(circle::CircleLink),
    /// `circle invite`.
    CircleInvited(circle::CircleInvited<'a>),
    /// A red collection reached its amount.
    CollectionComplete(circle::CollectionComplete<'a>),
    /// A red collection reached its deadline first.
    CollectionEnded(circle::CollectionEnded<'a>),
    /// A request for help, to the circle or the network.
    HelpRequest(circle::HelpRequest<'a>),
    /// `intend`, `commit`, `withdraw`, `remind`, `paid`, `confirm`, `forgive`.
    Record(ledger::RecordReply<'a>),
    /// A notification about a record.
    Noticed(ledger::Noticed<'a>),
    /// `mine` and `archive`.
    Records(ledger::Records<'a>),
    /// An intention cancelled as its recipient went green.
    IntentionCancelled(ledger::IntentionCancelled<'a>),
    /// A member left a circle.
    LeftCircle(ledger::LeftCircle<'a>),
    /// `network`.
    Network(network::Network<'a>),
    /// A scheduled job's digest for one member.
    Digest(jobs::Digest<'a>),
    /// `admin run`.
    JobRun(jobs::JobRun),
    /// `admin stats`.
    Stats(jobs::Stats<'a>),
    /// `admin outbox retry|drop`.
    OutboxChanged(jobs::OutboxChanged<'a>),
    /// `pool`.
    Pool(pool::Pool<'a>),
    /// `pool create`.
    PoolCreated(pool::PoolCreated<'a>),
    /// `pool rules`.
    PoolRules(pool::PoolRules<'a>),
    /// `pool rule`.
    PoolRuleChanged(pool::PoolRuleChanged<'a>),
    /// `pledge`.
    Pledged(pool::Pledged<'a>),
    /// A member's pledge is gone.
    PoolLeft(pool::PoolLeft<'a>),
    /// `claim` and `vote`.
    Claim(pool::ClaimReply<'a>),
    /// A claim opened or decided.
    ClaimNoticed(pool::ClaimNoticed<'a>),
    /// `propose`, `initiative #I` and `initiative #I goal`.
    Initiative(initiative::Initiative<'a>),
    /// `back`: the initiative and the sender's backing.
    Backed(initiative::Backed<'a>),
    /// `initiatives`.
    Initiatives(initiative::Initiatives<'a>),
    /// A notification about an initiative.
    InitiativeNoticed(initiative::InitiativeNoticed<'a>),
    /// `clearing`.
    ClearingState(clearing::ClearingState<'a>),
    /// `clearing on|off`.
    ClearingSet(clearing::ClearingSet),
    /// `keep` and `unkeep`.
    Kept(clearing::Kept<'a>),
    /// `admin clearing preview|run`.
    ClearingTotals(clearing::ClearingTotals),
    /// A clearing run's changes, to one party.
    ClearingDigest(clearing::ClearingDigest<'a>),
}

/// An instant: RFC 3339 in UTC to the second, `"2026-03-22T00:00:00Z"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instant(pub DateTime<Utc>);

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One of the domain's enums as its stable code (`crate::code`: `snake_case`, never changed once
/// written): `Coded<Level>` is `"green"`, `"orange"` or `"red"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coded<T>(pub T);

impl<T: Code> Serialize for Coded<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.code())
    }
}

/// `more.<list>` of a list of amounts that was cut (SPEC §8: long lists are cut with totals for
/// the rest, never dropped silently).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Omitted {
    /// How many items were cut.
    pub count: usize,
    /// The sum of their amounts (for a clearing's changes: of what was set off on them).
    pub amount: Amount,
}

/// `more.<list>` of a list of members that was cut (`network`): members carry no amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OmittedMembers {
    /// How many members were cut.
    pub count: usize,
}

/// Turns a result into the JSON the bot puts in the event content.
///
/// The one place the `Result` of serialising is handled. `serde_json::to_value` fails only when a
/// `Serialize` impl returns an error or a map has keys that are not strings; the result types
/// hold nothing but strings, integers, booleans, amounts, member IDs, instants and codes (whose
/// impls never return an error), options, vectors and maps keyed by `&str`, so it cannot fail.
/// Were that ever broken, the reply would still carry an object, an `internal` error naming the
/// cause, rather than nothing (and every reply's snapshot would show it).
pub fn to_value(command: &str, result: &impl Serialize) -> Value {
    match serde_json::to_value(result) {
        Ok(value) => value,
        Err(e) => {
            let mut error = serde_json::Map::new();
            error.insert("command".into(), Value::from(command));
            error.insert("ok".into(), Value::from(false));
            error.insert("error".into(), Value::from(ErrorCode::Internal.code()));
            error.insert("message".into(), Value::from(e.to_string()));
            Value::Object(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use serde_json::json;

    use super::*;
    use crate::MemberId;
    use crate::cycle::Job;
    use crate::network::List;
    use crate::profile::Level;

    #[test]
    fn instants_are_rfc3339_in_utc_to_the_second() {
        let t = Utc.with_ymd_and_hms(2026, 3, 22, 18, 5, 9).unwrap()
            + chrono::Duration::milliseconds(750);
        assert_eq!(serde_json::to_value(Instant(t)).unwrap(), "2026-03-22T18:05:09Z");
    }

    /// The six lists of `network`, and what was cut of them, are keyed by the lists' codes.
    #[test]
    fn network_lists_are_keyed_by_their_codes() {
        let member = MemberId::parse("@alice:example.org").unwrap();
        let mut network = network::Network::default();
        for list in List::ALL {
            network
                .list_mut(list)
                .push(network::Related { member: &member, status: Coded(Level::Red) });
            *network.more.list_mut(list) = Some(OmittedMembers { count: 2 });
        }
        let value = serde_json::to_value(&network).unwrap();
        for list in List::ALL {
            assert_eq!(
                value[list.code()],
                json!([{ "member": "@alice:example.org", "status": "red" }])
            );
            assert_eq!(value["more"][list.code()], json!({ "count": 2 }));
        }
        assert_eq!(value.as_object().unwrap().len(), List::ALL.len() + 1);
        assert!(serde_json::to_value(network::Network::default()).unwrap().get("more").is_none());
    }

    /// A digest's list, and what was cut of it, are keyed by the job's name.
    #[test]
    fn a_digest_is_keyed_by_its_job() {
        for job in Job::ALL {
            let more = Omitted { count: 3, amount: Amount::from_cents(1250).unwrap() };
            let digest = jobs::Digest { job, items: Vec::new(), more: Some(more) };
            assert_eq!(
                serde_json::to_value(&digest).unwrap(),
                json!({ job.name(): [], "more": { job.name(): { "count": 3, "amount": "12.50" } } })
            );
            let digest = jobs::Digest { job, items: Vec::new(), more: None };
            assert_eq!(serde_json::to_value(&digest).unwrap(), json!({ job.name(): [] }));
        }
    }

    /// Should serialising ever fail, the reply still carries an object saying so.
    #[test]
    fn a_result_that_cannot_be_serialised_is_an_internal_error() {
        struct Broken;
        impl Serialize for Broken {
            fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("broken"))
            }
        }
        assert_eq!(
            to_value("status", &Broken),
            json!({ "command": "status", "ok": false, "error": "internal", "message": "broken" })
        );
    }
}

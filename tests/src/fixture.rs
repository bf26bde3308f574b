//! The common starting point of a test: a bot, a member, and a room they share.

use std::time::Duration;

use anyhow::Result;
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, RoomId};
use serde_json::Value;

use crate::bot::{BotOptions, BotProcess};
use crate::homeserver::Homeserver;
use crate::user::{Recording, Reply, TestUser};

/// A bot, a member, and a room the member created and the bot joined.
pub struct BotRoom {
    // Field order is drop order: the bot goes first, printing its log if the test panicked.
    pub bot: BotProcess,
    pub user: TestUser,
    pub room: OwnedRoomId,
}

impl BotRoom {
    /// Starts a bot on A with `options`, logs in a member on A and creates a plain or encrypted
    /// room with the bot in it.
    pub async fn start(options: BotOptions, encrypted: bool) -> Result<BotRoom> {
        Self::start_on(&Homeserver::a(), options, encrypted).await
    }

    /// Like [`BotRoom::start`] with the member (and the room) on `member_hs`.
    pub async fn start_on(
        member_hs: &Homeserver,
        options: BotOptions,
        encrypted: bool,
    ) -> Result<BotRoom> {
        Self::start_with_bot_on(&Homeserver::a(), member_hs, options, encrypted).await
    }

    /// Like [`BotRoom::start_on`] with the bot on `bot_hs` (e.g. [`Homeserver::limited`]).
    pub async fn start_with_bot_on(
        bot_hs: &Homeserver,
        member_hs: &Homeserver,
        options: BotOptions,
        encrypted: bool,
    ) -> Result<BotRoom> {
        let bot = BotProcess::start_new(bot_hs, options).await?;
        let user = TestUser::login(member_hs, "member").await?;
        let room = user.create_room_with(&bot.user_id, encrypted).await?;
        Ok(BotRoom { bot, user, room })
    }

    /// Sends `body` into the room and waits for the bot's reply.
    pub async fn cmd(&self, body: &str) -> Result<Reply> {
        self.user.command(&self.room, body).await
    }
}

/// Sends `body` into `room` and waits for the reply, which must be an error whose code is one of
/// `codes`, with a message and a text. Panics otherwise, naming the command (its first 60
/// characters) and what arrived, or that nothing did. Returns the reply.
pub async fn expect_error(user: &TestUser, room: &RoomId, body: &str, codes: &[&str]) -> Reply {
    let reply = user
        .command(room, body)
        .await
        .unwrap_or_else(|e| panic!("no reply to {body:.60?} (expected an error {codes:?}): {e:#}"));
    let code = reply.error().unwrap_or_default();
    assert!(
        reply.result["ok"] == false && codes.contains(&code),
        "{body:.60?}: expected an error, one of {codes:?}, got {:#} ({:?})",
        reply.result,
        reply.body
    );
    reply.assert_error(code);
    reply
}

/// Waits (up to `timeout`) until each of `commands` (body, event ID), sent into `room`, has a
/// reply; then sends `!status` as a sentinel (a duplicate reply would be sent before its answer)
/// and checks that each command got exactly one reply, the replies in the order of the commands.
/// Returns the replies, one a command. Panics saying which commands were not answered, or which
/// twice or out of order.
pub async fn assert_answered_once_in_order(
    user: &TestUser,
    room: &RoomId,
    commands: &[(String, OwnedEventId)],
    timeout: Duration,
) -> Vec<Reply> {
    let answered = |r: &Recording| {
        commands.iter().filter(|(_, id)| !r.replies_to(room, id).is_empty()).count()
    };
    let all = user
        .wait_for(timeout, "a reply to every command", Some(room), |r| {
            (answered(r) == commands.len()).then_some(())
        })
        .await;
    if let Err(e) = all {
        let recording = user.recording();
        let missing: Vec<&str> = commands
            .iter()
            .filter(|(_, id)| recording.replies_to(room, id).is_empty())
            .map(|(body, _)| body.as_str())
            .collect();
        panic!(
            "{} of {} commands answered within {timeout:?}; not answered: {missing:?}\n{e:#}",
            answered(&recording),
            commands.len()
        );
    }
    let sentinel = user
        .command(room, "!status")
        .await
        .unwrap_or_else(|e| panic!("no reply to the sentinel `!status`: {e:#}"));
    sentinel.assert_ok("status");

    let recording = user.recording();
    let mut last_position = None;
    let mut replies = Vec::new();
    for (body, event_id) in commands {
        let mut all = recording.replies_to(room, event_id);
        assert_eq!(all.len(), 1, "{body:?} ({event_id}) answered {} times: {all:#?}", all.len());
        let reply = all.remove(0);
        // `None` (nothing yet) is before every position.
        let position = recording.position(room, &reply.event_id);
        assert!(
            position > last_position,
            "the reply to {body:?} came before the reply to the previous command\n{}",
            recording.dump(room)
        );
        last_position = position;
        replies.push(reply);
    }
    replies
}

/// Whether `value` is an amount as the bot writes them: a JSON string with exactly two decimals.
pub fn is_amount(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.len() == 2
            && frac.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Whether `text` contains Cyrillic letters (a reply in Russian).
pub fn has_cyrillic(text: &str) -> bool {
    text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
}

/// `admin run <job> as-of <at>` sent by `admin` in `dm`; the result (the reply must be `ok`).
pub async fn admin_run(
    admin: &TestUser,
    dm: &matrix_sdk::ruma::RoomId,
    job: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Value {
    let command =
        format!("!admin run {job} as-of {}", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let reply = admin.command(dm, &command).await.unwrap_or_else(|e| panic!("{command}: {e}"));
    reply.assert_ok("admin");
    reply.result.clone()
}

/// The first notice of the bot's in the DM it opened with `user` whose result `predicate` accepts.
pub async fn bot_dm_notice(
    user: &TestUser,
    bot: &str,
    what: &str,
    mut predicate: impl FnMut(&Value) -> bool,
) -> Value {
    let dm = user
        .dm_room_with(bot, crate::user::JOIN_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    user.wait_notice(&dm, crate::user::REPLY_TIMEOUT, what, |r| predicate(r))
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .result
        .clone()
}

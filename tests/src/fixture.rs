//! The common starting point of a test: a bot, a member, and a room they share.

use anyhow::Result;
use matrix_sdk::ruma::OwnedRoomId;
use serde_json::Value;

use crate::bot::{BotOptions, BotProcess};
use crate::homeserver::Homeserver;
use crate::user::{Reply, TestUser};

/// A bot on homeserver A, a member on `hs`, and a room the member created and the bot joined.
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
    pub async fn start_on(member_hs: &Homeserver, options: BotOptions, encrypted: bool) -> Result<BotRoom> {
        let bot = BotProcess::start_new(&Homeserver::a(), options).await?;
        let user = TestUser::login(member_hs, "member").await?;
        let room = user.create_room_with(&bot.user_id, encrypted).await?;
        Ok(BotRoom { bot, user, room })
    }

    /// Sends `body` into the room and waits for the bot's reply.
    pub async fn cmd(&self, body: &str) -> Result<Reply> {
        self.user.command(&self.room, body).await
    }
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
pub async fn admin_run(admin: &TestUser, dm: &matrix_sdk::ruma::RoomId, job: &str, at: chrono::DateTime<chrono::Utc>) -> Value {
    let command = format!("!admin run {job} as-of {}", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let reply = admin.command(dm, &command).await.unwrap_or_else(|e| panic!("{command}: {e}"));
    reply.assert_ok("admin");
    reply.result.clone()
}

/// The first notice of the bot's in the DM it opened with `user` whose result `predicate` accepts.
pub async fn bot_dm_notice(user: &TestUser, bot: &str, what: &str, mut predicate: impl FnMut(&Value) -> bool) -> Value {
    let dm = user.dm_room_with(bot, crate::user::JOIN_TIMEOUT).await.unwrap_or_else(|e| panic!("{what}: {e}"));
    user.wait_notice(&dm, crate::user::REPLY_TIMEOUT, what, |r| predicate(r)).await.unwrap_or_else(|e| panic!("{what}: {e}")).result.clone()
}

//! A 👍 on the bot's paid notice confirms the obligation even when it is read while the outbox
//! has sent the notice and not yet marked it sent, so that the notice's event is not known by
//! its ID yet: after a crash between the send and the mark (read in the catch-up at the restart,
//! before the outbox's resend), and in the moment between the two without a crash. The bot
//! recognises its own event by the transaction ID the homeserver names to the device that sent
//! it (`unsigned.transaction_id`). A 👍 on someone else's message never counts. The failpoints
//! `outbox-before-mark` and `outbox-late-mark` (`bot/src/outbox.rs`) open those moments; on
//! SQLite and PostgreSQL.
//!
//! Tests fail by panicking so that the bot's log is printed (see `BotProcess`'s `Drop`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use exodus_e2e::*;
use matrix_sdk::ruma::OwnedRoomId;
use serde_json::Value;

/// After a crash the restarted outbox waits for the dead process's lease (up to 30 s) before it
/// sends anything, the confirmation included.
const AFTER_RESTART: Duration = Duration::from_secs(90);

/// What the bot logs when it recognises a message by its transaction ID.
const RECOGNISED: &str = "recognised by its transaction ID";

/// A bot, an owner with an orange circle in `room`, and Bob in it with an open obligation.
struct Circle {
    bot: BotProcess,
    owner: TestUser,
    bob: TestUser,
    room: OwnedRoomId,
    obligation: i64,
}

impl Circle {
    async fn open(options: BotOptions, encrypted: bool) -> Circle {
        init_tracing();
        let bot = BotProcess::start_new(&Homeserver::a(), options).await.unwrap();
        let owner = TestUser::login(&Homeserver::a(), "owner").await.unwrap();
        let room = owner.create_room_with(&bot.user_id, encrypted).await.unwrap();
        owner.command(&room, "!circle open").await.unwrap().assert_ok("circle");
        owner.command(&room, "!status orange 300").await.unwrap().assert_ok("status");
        let bob = TestUser::login(&Homeserver::a(), "bob").await.unwrap();
        owner.bring_in(&room, &bob).await.unwrap();
        let commit = bob.command(&room, "!commit 50").await.unwrap();
        commit.assert_ok("commit");
        let obligation = commit.result["id"].as_i64().unwrap();
        Circle { bot, owner, bob, room, obligation }
    }

    /// Restarts the bot with the failpoint `name` armed.
    async fn arm(&mut self, name: &str) {
        self.bot.stop().await.unwrap();
        self.bot.env.push(("EXODUS_TEST_FAILPOINT".into(), name.into()));
        self.bot.start().await.unwrap();
    }
}

/// Whether a bot notice's result is the confirmation of record `#id`.
fn confirms(id: i64) -> impl Fn(&Value) -> bool {
    move |r: &Value| r["command"] == "confirm" && r["id"] == id
}

/// The bot dies after sending Bob's `paid` reply (tagged: a 👍 on it confirms), before marking
/// it sent. While it is down the owner reacts 👍 to Bob's own message and to the bot's reply. At
/// the restart the catch-up reads both before the outbox resends the reply: the one on the
/// bot's reply confirms, the one on Bob's message does nothing. Encrypted room (the event
/// reacted to is read as the homeserver has it, still encrypted), SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thumbs_up_read_after_a_crash_between_send_and_mark_confirms() {
    let mut c = Circle::open(BotOptions::default(), true).await;
    c.arm("outbox-before-mark").await;
    let paid_cmd = c.bob.send_text(&c.room, &format!("!paid #{}", c.obligation)).await.unwrap();
    let status = c.bot.wait_exit(REPLY_TIMEOUT).await.unwrap();
    assert!(!status.success(), "the failpoint aborts the process: {status}");
    assert!(c.bot.log_tail(200).contains("test failpoint reached"), "{}", c.bot.log_tail(40));
    // The reply reached the homeserver before the crash.
    let paid = c.owner.wait_reply(&c.room, &paid_cmd, REPLY_TIMEOUT).await.unwrap();
    paid.assert_ok("paid");

    c.owner.react(&c.room, &paid_cmd, "👍").await.unwrap();
    c.owner.react(&c.room, &paid.event_id, "👍").await.unwrap();
    c.bot.env.retain(|(key, _)| key != "EXODUS_TEST_FAILPOINT");
    c.bot.start().await.unwrap();

    let confirmed = c
        .owner
        .wait_notice(&c.room, AFTER_RESTART, "the confirmation", confirms(c.obligation))
        .await
        .unwrap();
    assert_eq!(confirmed.result["state"], "fulfilled", "{:#}", confirmed.result);
    assert_eq!(
        confirmed.content["m.relates_to"]["m.in_reply_to"]["event_id"],
        paid.event_id.as_str(),
        "the 👍 on the bot's reply confirmed, not the one on Bob's message"
    );
    assert!(c.bot.log_text().contains(RECOGNISED), "{}", c.bot.log_tail(60));
    // Once the outbox is through: one reply to `paid` (the resend was deduplicated), one
    // confirmation.
    c.owner.command(&c.room, "!help").await.unwrap().assert_ok("help");
    assert_eq!(c.owner.replies_to(&c.room, &paid_cmd).len(), 1, "one reply to paid");
    let is_confirmation = confirms(c.obligation);
    let confirmations = c
        .owner
        .recording()
        .events(&c.room)
        .iter()
        .filter(|e| e.is_bot_notice() && e.exodus_result().is_some_and(&is_confirmation))
        .count();
    assert_eq!(confirmations, 1, "one confirmation");
}

/// No crash: the outbox holds the mark of Bob's `paid` reply for a while after sending it, and
/// the owner's 👍 on it comes in meanwhile: it confirms. PostgreSQL, plain room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thumbs_up_between_the_send_and_its_mark_confirms() {
    let options = BotOptions { database: Database::Postgres, ..Default::default() };
    let mut c = Circle::open(options, false).await;
    c.arm("outbox-late-mark").await;
    let paid = c.bob.command(&c.room, &format!("!paid #{}", c.obligation)).await.unwrap();
    paid.assert_ok("paid");
    c.owner.react(&c.room, &paid.event_id, "👍").await.unwrap();

    let confirmed = c
        .owner
        .wait_notice(&c.room, REPLY_TIMEOUT, "the confirmation", confirms(c.obligation))
        .await
        .unwrap();
    assert_eq!(confirmed.result["state"], "fulfilled", "{:#}", confirmed.result);
    assert!(
        c.bot.log_text().contains(RECOGNISED),
        "the 👍 was not read before the mark: {}",
        c.bot.log_tail(60)
    );
}

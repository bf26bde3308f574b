//! SPEC §8 and V7: every command is applied exactly once and answered exactly once, in order,
//! across a clean stop (SIGTERM) and a crash (SIGKILL) of the bot, on SQLite and PostgreSQL.
//!
//! The commands are deliberately not idempotent: `pay add l<i>` fails if `l<i>` exists and
//! `pay remove l<i>` fails if it does not, so applying any of them twice, or out of order, turns
//! a reply into an error.
//!
//! Tests fail by panicking so that the bot's log is printed (see `BotProcess`'s `Drop`).
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;
use std::time::Duration;

use exodus_e2e::user::Recording;
use exodus_e2e::*;
use matrix_sdk::ruma::{OwnedEventId, RoomId};
use serde_json::json;

/// `pay add l<k/2>` for even `k`, `pay remove l<k/2>` for odd `k`.
fn burst_command(k: usize) -> String {
    if k.is_multiple_of(2) {
        format!("!pay add l{} \"details {}\"", k / 2, k / 2)
    } else {
        format!("!pay remove l{}", k / 2)
    }
}

/// After a sentinel command's reply: each command got exactly one reply, `ok: true`, for the
/// right action and label, and the replies are in command order.
async fn assert_each_applied_once_in_order(
    user: &TestUser,
    room: &RoomId,
    commands: &[(String, OwnedEventId)],
) {
    // Every command answered (the bot may still be catching up when it becomes healthy).
    let replies =
        assert_answered_once_in_order(user, room, commands, Duration::from_secs(90)).await;
    for ((body, _), reply) in commands.iter().zip(&replies) {
        assert!(
            reply.ok(),
            "{body:?} failed (applied twice or out of order?): {:#} {:?}",
            reply.result,
            reply.body
        );
        if body.starts_with("!pay") {
            let (action, label) = if body.starts_with("!pay add") {
                ("add", body.split_whitespace().nth(2).unwrap())
            } else {
                ("remove", body.split_whitespace().nth(2).unwrap())
            };
            assert_eq!(reply.result["action"], action, "{body:?}: {:#}", reply.result);
            assert_eq!(reply.result["label"], label, "{body:?}: {:#}", reply.result);
        }
    }
}

async fn payment_methods_by_dm(t: &BotRoom) -> serde_json::Value {
    let dm = t.user.dm_room_with(&t.bot.user_id, JOIN_TIMEOUT).await.unwrap();
    let reply = t.user.command(&dm, "!pay").await.unwrap();
    reply.assert_ok("pay");
    reply.result["methods"].clone()
}

/// Commands sent while the bot is stopped are executed after it starts, once each, in order.
async fn commands_sent_while_stopped(database: Database) {
    init_tracing();
    let mut t = BotRoom::start(BotOptions { database, ..Default::default() }, false).await.unwrap();
    t.cmd("!status").await.unwrap().assert_ok("status");
    // Opens the DM now, so that the final check does not depend on the restart.
    t.cmd("!pay").await.unwrap().assert_ok("pay");
    t.user.dm_room_with(&t.bot.user_id, JOIN_TIMEOUT).await.unwrap();

    t.bot.stop().await.unwrap();
    let mut commands = Vec::new();
    for body in ["!pay add a \"while down\"", "!pay remove a", "!status orange 150 while down"] {
        commands.push((body.to_owned(), t.user.send_text(&t.room, body).await.unwrap()));
    }
    t.bot.start().await.unwrap();

    assert_each_applied_once_in_order(&t.user, &t.room, &commands).await;
    let status = t.cmd("!status").await.unwrap();
    assert_eq!(
        (&status.result["status"], &status.result["requested"]),
        (&json!("orange"), &json!("150.00"))
    );
    assert_eq!(payment_methods_by_dm(&t).await, json!([]));
}

/// SIGKILL the bot repeatedly in the middle of a burst of 30 commands (each time as soon as it
/// has answered one more of them, then restart it while the burst goes on): every command
/// applied exactly once and answered exactly once, in order.
async fn sigkill_mid_burst(database: Database) {
    init_tracing();
    let mut t = BotRoom::start(BotOptions { database, ..Default::default() }, false).await.unwrap();
    t.cmd("!status").await.unwrap().assert_ok("status");
    t.cmd("!pay").await.unwrap().assert_ok("pay");
    t.user.dm_room_with(&t.bot.user_id, JOIN_TIMEOUT).await.unwrap();

    const BURST: usize = 30;
    const KILLS: usize = 3;
    let BotRoom { bot, user, room } = &mut t;
    let (user, room) = (&*user, &*room);
    let sent: Mutex<Vec<(String, OwnedEventId)>> = Mutex::default();
    let answered = |recording: &Recording| -> usize {
        let sent = sent.lock().unwrap();
        sent.iter().filter(|(_, id)| !recording.replies_to(room, id).is_empty()).count()
    };

    let sender = async {
        for k in 0..BURST {
            let body = burst_command(k);
            let event_id = user.send_text(room, &body).await.unwrap();
            sent.lock().unwrap().push((body, event_id));
        }
    };
    let killer = async {
        let mut kills = 0;
        while kills < KILLS {
            let before = answered(&user.recording());
            let progressed = user
                .wait_for(REPLY_TIMEOUT, "one more answered command", Some(room), |r| {
                    let now = answered(r);
                    let all_done = now == BURST;
                    (now > before || all_done).then_some(now > before && !all_done)
                })
                .await
                .unwrap();
            if !progressed {
                break;
            }
            bot.kill().unwrap();
            kills += 1;
            let answered_now = answered(&user.recording());
            let sent_now = sent.lock().unwrap().len();
            eprintln!("kill {kills}: {answered_now} of {sent_now} sent commands answered");
            bot.start().await.unwrap();
        }
        kills
    };
    let ((), kills) = tokio::join!(sender, killer);
    assert!(kills >= 1, "the bot answered the whole burst before it could be killed");

    let commands = sent.into_inner().unwrap();
    assert_each_applied_once_in_order(&t.user, &t.room, &commands).await;
    assert_eq!(payment_methods_by_dm(&t).await, json!([]), "every label added was removed once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_sent_while_stopped_run_once_in_order_sqlite() {
    commands_sent_while_stopped(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_sent_while_stopped_run_once_in_order_postgres() {
    commands_sent_while_stopped(Database::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_applies_each_command_exactly_once_sqlite() {
    sigkill_mid_burst(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_applies_each_command_exactly_once_postgres() {
    sigkill_mid_burst(Database::Postgres).await;
}

//! Honest operations and exact membership on a real homeserver (issue 18): `/health` tells the
//! truth while the homeserver or the database is down, rejected credentials end the process with
//! their own status, a PostgreSQL restart mid-run loses and doubles nothing, a new database next
//! to an old `data_dir` replays nothing, a room the bot was kicked from and re-invited to while it
//! was down starts at the new join, a circle room made world-readable shows no records until it is
//! private again, and flood control refuses a member's commands beyond the allowance.
//!
//! Tests fail by panicking so that the bot's log is printed (see `BotProcess`'s `Drop`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use exodus_e2e::*;
use serde_json::{Value, json};

/// `/health`: the status code and the JSON body.
async fn health(bot: &BotProcess) -> (u16, Value) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    match http.get(format!("{}/health", bot.http_url())).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        }
        Err(e) => panic!("/health did not answer: {e}"),
    }
}

/// Waits until `/health` answers `status`; returns the body.
async fn health_becomes(bot: &BotProcess, status: u16, timeout: Duration, what: &str) -> Value {
    wait_until(timeout, what, || async {
        let (code, body) = health(bot).await;
        (code == status).then_some(body)
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n{}", bot.log_tail(40)))
}

fn reasons(body: &Value) -> String {
    body["reasons"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; ")).unwrap_or_default()
}

/// Synapse stopped: `/health` turns 503 naming the sync, and 200 again once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_while_the_homeserver_is_down() {
    init_tracing();
    let server = PrivateHomeserver::start("health-hs", 18032).unwrap();
    let bot = BotProcess::start_new(&server.hs, BotOptions::default()).await.unwrap();
    let (code, body) = health(&bot).await;
    assert_eq!((code, &body), (200, &json!({ "status": "ok" })));
    server.stop().unwrap();
    // The long poll is 30 s: past twice that without a successful sync, the bot is unhealthy.
    let body = health_becomes(&bot, 503, Duration::from_secs(150), "/health to answer 503 without the homeserver").await;
    assert_eq!(body["status"], "unhealthy");
    assert!(reasons(&body).contains("no successful sync"), "{body}");
    server.restart().unwrap();
    health_becomes(&bot, 200, Duration::from_secs(90), "/health to answer 200 with the homeserver back").await;
}

/// PostgreSQL stopped: `/health` turns 503 naming the database; started again, 200. Then a burst
/// of commands with `pg_ctl restart` in the middle: each is answered exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_postgres_and_a_restart_mid_run_loses_and_doubles_nothing() {
    init_tracing();
    let pg = PrivatePostgres::start("health-pg", 15433).unwrap();
    let hs = Homeserver::a();
    let bot = BotProcess::start_new(&hs, BotOptions { database_url: Some(pg.url()), ..BotOptions::default() }).await.unwrap();
    let user = TestUser::login(&hs, "pgdown").await.unwrap();
    let room = user.create_room_with(&bot.user_id, false).await.unwrap();
    user.command(&room, "!about before").await.unwrap().assert_ok("about");

    pg.stop().unwrap();
    let body = health_becomes(&bot, 503, Duration::from_secs(30), "/health to answer 503 without the database").await;
    assert!(reasons(&body).contains("database"), "{body}");
    // A command sent while the database is down waits for it.
    let waiting = user.send_text(&room, "!about during").await.unwrap();
    pg.restart_stopped().unwrap();
    health_becomes(&bot, 200, Duration::from_secs(60), "/health to answer 200 with the database back").await;
    user.wait_reply(&room, &waiting, Duration::from_secs(60)).await.unwrap().assert_ok("about");

    let mut sent = Vec::new();
    for n in 0..12 {
        let body = format!("!about burst {n}");
        sent.push((body.clone(), user.send_text(&room, &body).await.unwrap()));
        if n == 5 {
            pg.restart().unwrap();
        }
    }
    assert_answered_once_in_order(&user, &room, &sent, Duration::from_secs(120)).await;
    let about = user.command(&room, "!about").await.unwrap();
    assert_eq!(about.result["about"], "burst 11", "the last command applied last");
}

/// A wrong password: the process exits by itself with status 77 and says why, instead of
/// retrying forever as if the homeserver could not be reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_login_exits_with_its_own_status() {
    init_tracing();
    let hs = Homeserver::a();
    let mut bot = BotProcess::start_new(&hs, BotOptions::default()).await.unwrap();
    bot.stop().await.unwrap();
    // Without the saved session the bot logs in with the (now wrong) password.
    std::fs::remove_file(bot.config.data_dir.join("session.json")).unwrap();
    bot.config.password = Some("not-the-password".into());
    bot.write_config().unwrap();
    bot.spawn().unwrap();
    let status = bot.wait_exit(Duration::from_secs(60)).await.unwrap();
    assert_eq!(status.code(), Some(77), "exit status of a rejected login\n{}", bot.log_tail(20));
    assert!(bot.log_text().contains("rejected the bot's credentials"), "{}", bot.log_tail(20));

    // A revoked token (the saved session logged out): the same.
    let mut bot = BotProcess::start_new(&hs, BotOptions { token_login: true, ..BotOptions::default() }).await.unwrap();
    let token = bot.config.access_token.clone().unwrap();
    bot.stop().await.unwrap();
    post_json(&format!("{}/_matrix/client/v3/logout", hs.url), Some(&token), &json!({}), "logout").await.unwrap();
    bot.spawn().unwrap();
    let status = bot.wait_exit(Duration::from_secs(60)).await.unwrap();
    assert_eq!(status.code(), Some(77), "exit status with a revoked token\n{}", bot.log_tail(20));
}

/// A new database next to an old `data_dir` is a first start: nothing from the rooms' history is
/// executed again, not even what was sent while the bot was down; what comes after is answered.
async fn a_fresh_database_replays_nothing(database: Database) {
    let hs = Homeserver::a();
    let mut bot = BotProcess::start_new(&hs, BotOptions { database, ..BotOptions::default() }).await.unwrap();
    let user = TestUser::login(&hs, "fresh").await.unwrap();
    let room = user.create_room_with(&bot.user_id, false).await.unwrap();
    let first = user.send_text(&room, "!about one").await.unwrap();
    user.wait_reply(&room, &first, REPLY_TIMEOUT).await.unwrap().assert_ok("about");
    bot.stop().await.unwrap();
    let unseen = user.send_text(&room, "!about sent while the database was replaced").await.unwrap();
    bot.replace_database().await.unwrap();
    bot.start().await.unwrap();
    let reply = user.command(&room, "!about").await.unwrap();
    assert_eq!(reply.result["about"], Value::Null, "a new database knows no profile: {}", reply.result);
    assert_eq!(user.replies_to(&room, &first).len(), 1, "a command from before the new database was answered again");
    assert!(user.replies_to(&room, &unseen).is_empty(), "history from before the new database was executed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_database_next_to_an_old_data_dir_replays_nothing_sqlite() {
    init_tracing();
    a_fresh_database_replays_nothing(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_database_next_to_an_old_data_dir_replays_nothing_postgres() {
    init_tracing();
    a_fresh_database_replays_nothing(Database::Postgres).await;
}

/// Kicked while down, a command sent while the bot is out of the room, re-invited: the room starts
/// again at the new join, so the command from while it was out is never executed (V6, V7).
async fn kicked_and_reinvited_while_down(database: Database) {
    let hs = Homeserver::a();
    let mut bot = BotProcess::start_new(&hs, BotOptions { database, ..BotOptions::default() }).await.unwrap();
    let user = TestUser::login(&hs, "kicker").await.unwrap();
    let room = user.create_room_with(&bot.user_id, false).await.unwrap();
    user.command(&room, "!about inside").await.unwrap().assert_ok("about");
    bot.stop().await.unwrap();
    user.kick(&room, &bot.user_id).await.unwrap();
    let outside = user.send_text(&room, "!about while the bot was out").await.unwrap();
    user.invite(&room, &bot.user_id).await.unwrap();
    bot.start().await.unwrap();
    user.wait_joined(&room, &bot.user_id, JOIN_TIMEOUT).await.unwrap();
    let reply = user.command(&room, "!about").await.unwrap();
    assert_eq!(reply.result["about"], "inside", "a command from while the bot was out of the room was executed");
    assert!(user.replies_to(&room, &outside).is_empty(), "a command from while the bot was out was answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kicked_and_reinvited_while_down_starts_at_the_new_join_sqlite() {
    init_tracing();
    kicked_and_reinvited_while_down(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kicked_and_reinvited_while_down_starts_at_the_new_join_postgres() {
    init_tracing();
    kicked_and_reinvited_while_down(Database::Postgres).await;
}

async fn set_history_visibility(user: &TestUser, room: &matrix_sdk::ruma::RoomId, visibility: &str) {
    user.send_state(room, "m.room.history_visibility", "", json!({ "history_visibility": visibility })).await.unwrap();
}

/// A circle room made world-readable after it was bound shows no records: `circle`, `intend` and
/// `pay` are refused there with a warning; private again, it works again (V8, V9).
async fn world_readable_circle(database: Database) {
    let t = BotRoom::start(BotOptions { database, ..BotOptions::default() }, false).await.unwrap();
    t.cmd("!circle open").await.unwrap().assert_ok("circle");
    t.cmd("!status orange 100").await.unwrap().assert_ok("status");
    let friend = TestUser::login(&Homeserver::a(), "friend").await.unwrap();
    t.user.bring_in(&t.room, &friend).await.unwrap();
    friend.command(&t.room, "!intend 10").await.unwrap().assert_ok("intend");
    let shown = t.cmd("!circle").await.unwrap();
    shown.assert_ok("circle");

    set_history_visibility(&t.user, &t.room, "world_readable").await;
    for (who, body) in [(&t.user, "!circle"), (&friend, "!intend 5"), (&friend, "!pay"), (&friend, "!mine")] {
        let reply = expect_error(who, &t.room, body, &["forbidden"]).await;
        assert!(reply.body.contains("without joining"), "{body}: {}", reply.body);
        assert!(!reply.body.contains("10.00"), "{body}: a refusal showed a record: {}", reply.body);
    }
    // Profile commands that show no records still work there.
    friend.command(&t.room, "!status").await.unwrap().assert_ok("status");

    set_history_visibility(&t.user, &t.room, "shared").await;
    let again = t.cmd("!circle").await.unwrap();
    again.assert_ok("circle");
    friend.command(&t.room, "!intend 5").await.unwrap().assert_ok("intend");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_circle_room_made_world_readable_shows_no_records_until_private_again_sqlite() {
    init_tracing();
    world_readable_circle(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_circle_room_made_world_readable_shows_no_records_until_private_again_postgres() {
    init_tracing();
    world_readable_circle(Database::Postgres).await;
}

/// Flood control with the product's defaults (a burst of 30, then 60 a minute): of a member's 40
/// commands sent at once, the burst (and the odd one the refill admits meanwhile) is executed,
/// the rest refused without effect, with one notice; another member is answered.
async fn flood_control(database: Database) {
    let t = BotRoom::start(BotOptions { database, product_limits: true, ..BotOptions::default() }, false).await.unwrap();
    let other = TestUser::login(&Homeserver::a(), "calm").await.unwrap();
    t.user.bring_in(&t.room, &other).await.unwrap();
    // Sent at once (a script), not one after another: the allowance refills at one a second.
    let bodies: Vec<String> = (0..40).map(|n| format!("!about flood {n}")).collect();
    let mut sent: Vec<_> = futures_util::future::join_all(bodies.iter().map(|b| t.user.send_text(&t.room, b)))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // Another member's command after them is answered, and after every reply to the burst (one
    // room's replies keep their order).
    other.command(&t.room, "!status").await.unwrap().assert_ok("status");
    // In the order the homeserver put them in.
    sent.sort_by_key(|event| t.user.recording().position(&t.room, event));
    let mut admitted = Vec::new();
    let mut notices = 0;
    for (n, event) in sent.iter().enumerate() {
        let replies = t.user.replies_to(&t.room, event);
        assert!(replies.len() <= 1, "command {n} answered {} times", replies.len());
        match replies.first() {
            Some(r) if r.ok() => admitted.push(n),
            Some(r) => {
                r.assert_error("limit_exceeded");
                assert!(r.body.contains("faster than I take them"), "{}", r.body);
                notices += 1;
            }
            None => {}
        }
    }
    assert!((30..=34).contains(&admitted.len()), "{} of 40 admitted: {admitted:?}", admitted.len());
    assert_eq!(&admitted[..30], &(0..30).collect::<Vec<_>>()[..], "the burst is the first 30");
    assert_eq!(notices, 1, "one notice for the refused commands");
    // The allowance refills at one a second.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let about = t.cmd("!about").await.unwrap();
    let last = t.user.recording().events(&t.room).iter().find(|e| e.event_id == sent[*admitted.last().unwrap()]).and_then(|e| e.body().map(str::to_owned));
    assert_eq!(about.result["about"].as_str(), last.as_deref().and_then(|b| b.strip_prefix("!about ")), "a refused command took effect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_control_refuses_a_burst_beyond_the_allowance_sqlite() {
    init_tracing();
    flood_control(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_control_refuses_a_burst_beyond_the_allowance_postgres() {
    init_tracing();
    flood_control(Database::Postgres).await;
}

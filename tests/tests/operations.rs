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

/// `/health`: the status code and the JSON body (0 when it does not answer).
async fn health(bot: &BotProcess) -> (u16, Value) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    match http.get(format!("{}/health", bot.http_url())).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        }
        // Not listening yet (waiting for its database at start): no status.
        Err(_) => (0, Value::Null),
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
    body["reasons"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "))
        .unwrap_or_default()
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
    let body = health_becomes(
        &bot,
        503,
        Duration::from_secs(150),
        "/health to answer 503 without the homeserver",
    )
    .await;
    assert_eq!(body["status"], "unhealthy");
    assert!(reasons(&body).contains("no successful sync"), "{body}");
    server.restart().unwrap();
    health_becomes(
        &bot,
        200,
        Duration::from_secs(90),
        "/health to answer 200 with the homeserver back",
    )
    .await;
}

/// PostgreSQL stopped: `/health` turns 503 naming the database; started again, 200. Then a burst
/// of commands with `pg_ctl restart` in the middle: each is answered exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_postgres_and_a_restart_mid_run_loses_and_doubles_nothing() {
    init_tracing();
    let pg = PrivatePostgres::start("health-pg", 15433).unwrap();
    let hs = Homeserver::a();
    let bot = BotProcess::start_new(
        &hs,
        BotOptions { database_url: Some(pg.url()), ..BotOptions::default() },
    )
    .await
    .unwrap();
    let user = TestUser::login(&hs, "pgdown").await.unwrap();
    let room = user.create_room_with(&bot.user_id, false).await.unwrap();
    user.command(&room, "!about before").await.unwrap().assert_ok("about");

    pg.stop().unwrap();
    let body = health_becomes(
        &bot,
        503,
        Duration::from_secs(30),
        "/health to answer 503 without the database",
    )
    .await;
    assert!(reasons(&body).contains("database"), "{body}");
    // A command sent while the database is down waits for it.
    let waiting = user.send_text(&room, "!about during").await.unwrap();
    pg.restart_stopped().unwrap();
    health_becomes(
        &bot,
        200,
        Duration::from_secs(60),
        "/health to answer 200 with the database back",
    )
    .await;
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

    // Down at start: the bot waits for it (logged), instead of exiting.
    let mut bot = bot;
    bot.stop().await.unwrap();
    pg.stop().unwrap();
    bot.spawn().unwrap();
    let log = bot.dir.join("bot.log");
    wait_until(Duration::from_secs(30), "the bot to wait for the database", || async {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("the database does not answer yet")
            .then_some(())
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        bot.is_running(),
        "the bot exited while the database was down at start\n{}",
        bot.log_tail(20)
    );
    pg.restart_stopped().unwrap();
    health_becomes(
        &bot,
        200,
        Duration::from_secs(90),
        "/health to answer 200 once the database is up",
    )
    .await;
    user.command(&room, "!about after").await.unwrap().assert_ok("about");
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
    let mut bot =
        BotProcess::start_new(&hs, BotOptions { token_login: true, ..BotOptions::default() })
            .await
            .unwrap();
    let token = bot.config.access_token.clone().unwrap();
    bot.stop().await.unwrap();
    post_json(&format!("{}/_matrix/client/v3/logout", hs.url), Some(&token), &json!({}), "logout")
        .await
        .unwrap();
    bot.spawn().unwrap();
    let status = bot.wait_exit(Duration::from_secs(60)).await.unwrap();
    assert_eq!(status.code(), Some(77), "exit status with a revoked token\n{}", bot.log_tail(20));
}

/// A task that dies ends the process (the supervisor): with the outbox made to panic (a test
/// hook), the bot does not go on reading commands it could never answer; it exits with status 1
/// and names the task, so that systemd restarts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_dies_ends_the_process() {
    init_tracing();
    let hs = Homeserver::a();
    let mut bot = BotProcess::start_new(&hs, BotOptions::default()).await.unwrap();
    bot.stop().await.unwrap();
    bot.env.push(("EXODUS_TEST_FAILPOINT".into(), "outbox-panic".into()));
    bot.spawn().unwrap();
    let status = bot.wait_exit(Duration::from_secs(60)).await.unwrap();
    let log = bot.log_text();
    assert!(
        log.contains("test failpoint armed"),
        "a build without failpoints\n{}",
        bot.log_tail(20)
    );
    assert_eq!(status.code(), Some(1), "exit status\n{}", bot.log_tail(20));
    assert!(
        log.contains("the outbox task ended: panicked: test failpoint"),
        "the log does not name the task\n{}",
        bot.log_tail(20)
    );
}

/// A new database next to an old `data_dir` is a first start: nothing from the rooms' history is
/// executed again, not even what was sent while the bot was down; what comes after is answered.
async fn a_fresh_database_replays_nothing(database: Database) {
    let hs = Homeserver::a();
    let mut bot =
        BotProcess::start_new(&hs, BotOptions { database, ..BotOptions::default() }).await.unwrap();
    let user = TestUser::login(&hs, "fresh").await.unwrap();
    let room = user.create_room_with(&bot.user_id, false).await.unwrap();
    let first = user.send_text(&room, "!about one").await.unwrap();
    user.wait_reply(&room, &first, REPLY_TIMEOUT).await.unwrap().assert_ok("about");
    bot.stop().await.unwrap();
    let unseen =
        user.send_text(&room, "!about sent while the database was replaced").await.unwrap();
    bot.replace_database().await.unwrap();
    bot.start().await.unwrap();
    let reply = user.command(&room, "!about").await.unwrap();
    assert_eq!(
        reply.result["about"],
        Value::Null,
        "a new database knows no profile: {}",
        reply.result
    );
    assert_eq!(
        user.replies_to(&room, &first).len(),
        1,
        "a command from before the new database was answered again"
    );
    assert!(
        user.replies_to(&room, &unseen).is_empty(),
        "history from before the new database was executed"
    );
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
    let mut bot =
        BotProcess::start_new(&hs, BotOptions { database, ..BotOptions::default() }).await.unwrap();
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
    assert_eq!(
        reply.result["about"], "inside",
        "a command from while the bot was out of the room was executed"
    );
    assert!(
        user.replies_to(&room, &outside).is_empty(),
        "a command from while the bot was out was answered"
    );
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

async fn set_history_visibility(
    user: &TestUser,
    room: &matrix_sdk::ruma::RoomId,
    visibility: &str,
) {
    user.send_state(
        room,
        "m.room.history_visibility",
        "",
        json!({ "history_visibility": visibility }),
    )
    .await
    .unwrap();
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
    for (who, body) in
        [(&t.user, "!circle"), (&friend, "!intend 5"), (&friend, "!pay"), (&friend, "!mine")]
    {
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
    let t = BotRoom::start(
        BotOptions { database, product_limits: true, ..BotOptions::default() },
        false,
    )
    .await
    .unwrap();
    let other = TestUser::login(&Homeserver::a(), "calm").await.unwrap();
    t.user.bring_in(&t.room, &other).await.unwrap();
    // Sent at once (a script), not one after another: the allowance refills at one a second.
    let bodies: Vec<String> = (0..40).map(|n| format!("!about flood {n}")).collect();
    let mut sent: Vec<_> =
        futures_util::future::join_all(bodies.iter().map(|b| t.user.send_text(&t.room, b)))
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
    let last = t
        .user
        .recording()
        .events(&t.room)
        .iter()
        .find(|e| e.event_id == sent[*admitted.last().unwrap()])
        .and_then(|e| e.body().map(str::to_owned));
    assert_eq!(
        about.result["about"].as_str(),
        last.as_deref().and_then(|b| b.strip_prefix("!about ")),
        "a refused command took effect"
    );
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

/// Fan-outs are bounded: a red alert reaches a network member outside the circle once per
/// collection (a change of the amount while red is the circle's news only), and `remind` of one
/// record is refused when repeated within the hour (the product's default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_red_alert_goes_out_once_per_collection_and_remind_does_not_repeat() {
    init_tracing();
    let hs = Homeserver::a();
    let t = BotRoom::start(BotOptions { product_limits: true, ..BotOptions::default() }, false)
        .await
        .unwrap();
    t.cmd("!circle open").await.unwrap().assert_ok("circle");
    t.cmd("!status orange 100").await.unwrap().assert_ok("status");
    let giver = TestUser::login(&hs, "giver").await.unwrap();
    t.user.bring_in(&t.room, &giver).await.unwrap();
    let committed = giver.command(&t.room, "!commit 5").await.unwrap();
    committed.assert_ok("commit");
    let record = committed.result["id"].as_i64().unwrap();
    // Out of the circle, the giver is still in the owner's network (an open obligation).
    giver.leave(&t.room).await.unwrap();
    let owner_id = t.user.user_id.to_string();
    let requests = |r: &Recording, dm: &matrix_sdk::ruma::RoomId| {
        r.events(dm)
            .iter()
            .filter(|e| {
                e.exodus_result().is_some_and(|x| {
                    x["notice"] == "help-request" && x["owner"] == owner_id.as_str()
                })
            })
            .count()
    };

    t.cmd("!status red 200 5 roof").await.unwrap().assert_ok("status");
    bot_dm_notice(&giver, &t.bot.user_id, "the red alert", |r| r["notice"] == "help-request").await;
    t.cmd("!status red 300 5 roof").await.unwrap().assert_ok("status");
    // A reminder after it, as a sentinel: one room's messages arrive in order.
    t.cmd(&format!("!remind #{record}")).await.unwrap().assert_ok("remind");
    bot_dm_notice(&giver, &t.bot.user_id, "the reminder", |r| {
        r["notice"] == "reminder" && r["id"] == record
    })
    .await;
    let dm = giver.dm_room_with(&t.bot.user_id, JOIN_TIMEOUT).await.unwrap();
    assert_eq!(
        requests(&giver.recording(), &dm),
        1,
        "the network heard of one collection twice\n{}",
        giver.recording().dump(&dm)
    );

    let again =
        expect_error(&t.user, &t.room, &format!("!remind #{record}"), &["limit_exceeded"]).await;
    assert!(again.body.contains("min"), "{}", again.body);
}

/// A member whose homeserver is down: the reminder to them waits (their DM is opened once, its
/// invitation retried) while everyone else is answered; past the bound the destination is given
/// up and shown in `admin stats` and `/metrics`; their homeserver back, `admin outbox retry` sends
/// it, exactly once, into one DM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_to_a_member_whose_homeserver_is_down_waits_alone_and_goes_out_once() {
    init_tracing();
    let far_hs = PrivateHomeserver::start_federated("far", 18033, 18453).unwrap();
    let hs = Homeserver::a();
    let admin = TestUser::login(&hs, "admin").await.unwrap();
    let env = vec![
        ("EXODUS_LIMITS__OUTBOX_RETRY_MAX_SECONDS".to_owned(), "2".to_owned()),
        ("EXODUS_LIMITS__OUTBOX_GIVE_UP_AFTER_SECONDS".to_owned(), "15".to_owned()),
    ];
    let options =
        BotOptions { admins: vec![admin.user_id.to_string()], env, ..BotOptions::default() };
    let t = BotRoom::start(options, false).await.unwrap();
    t.cmd("!circle open").await.unwrap().assert_ok("circle");
    t.cmd("!status orange 100").await.unwrap().assert_ok("status");
    let far = TestUser::login(&far_hs.hs, "far").await.unwrap();
    let far_id = far.user_id.to_string();
    t.user.bring_in(&t.room, &far).await.unwrap();
    let committed = far.command(&t.room, "!commit 5").await.unwrap();
    committed.assert_ok("commit");
    let record = committed.result["id"].as_i64().unwrap();
    let admin_dm = admin.create_dm_with(&t.bot.user_id).await.unwrap();
    admin.command(&admin_dm, "!status").await.unwrap().assert_ok("status");

    far_hs.stop().unwrap();
    t.cmd(&format!("!remind #{record}")).await.unwrap().assert_ok("remind");
    // Everyone else is answered meanwhile, promptly.
    for n in 0..3 {
        let asked = std::time::Instant::now();
        t.cmd(&format!("!about still answered {n}")).await.unwrap().assert_ok("about");
        assert!(
            asked.elapsed() < Duration::from_secs(30),
            "answered after {:?} while a DM waits",
            asked.elapsed()
        );
    }
    // Past the bound it is given up, and the admin sees it.
    let failed = wait_until(Duration::from_secs(90), "the destination to be given up", || async {
        let stats = admin.command(&admin_dm, "!admin stats").await.ok()?;
        let destinations = stats.result["destinations"].as_array()?.clone();
        destinations
            .into_iter()
            .find(|d| d["destination"] == far_id.as_str() && d["failed"] == true)
    })
    .await
    .unwrap();
    assert_eq!(failed["pending"], 1, "{failed}");
    let metrics =
        reqwest::get(format!("{}/metrics", t.bot.http_url())).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("exodus_outbox_destinations{state=\"failed\"} 1"), "{metrics}");
    assert!(metrics.contains("exodus_outbox_failed_messages 1"), "{metrics}");

    far_hs.restart().unwrap();
    let retried = admin.command(&admin_dm, &format!("!admin outbox retry {far_id}")).await.unwrap();
    retried.assert_ok("admin");
    assert_eq!(retried.result["destinations"], 1, "{:#}", retried.result);
    // The DM was opened before the member joined it: a federated member's client reads what came
    // before its join from the room's history (`/messages`), as Element does when it opens a room.
    let dm = far.dm_room_with(&t.bot.user_id, Duration::from_secs(120)).await.unwrap();
    let from_bot = || async {
        let room = far.client.get_room(&dm)?;
        let page = room.messages(matrix_sdk::room::MessagesOptions::backward()).await.ok()?;
        let sent = page
            .chunk
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e.raw().json().get()).ok())
            .filter(|e| {
                e["sender"] == t.bot.user_id.as_str()
                    && matches!(e["type"].as_str(), Some("m.room.message" | "m.room.encrypted"))
            })
            .count();
        Some(sent)
    };
    wait_until(Duration::from_secs(90), "the reminder in the DM's history", || async {
        from_bot().await.filter(|n| *n >= 1)
    })
    .await
    .unwrap();
    // A second copy would follow at once: give it the time, then one DM room, one message.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(from_bot().await, Some(1), "the reminder went out more than once");
    let invites_from_bot = far.invites_from(&t.bot.user_id);
    assert_eq!(
        invites_from_bot.len(),
        1,
        "the bot opened more than one DM for one member: {invites_from_bot:?}"
    );
}

/// A poison message: a command whose handling fails every time (here a panic, by a test hook) is
/// tried three times, then answered with an `internal` error whose reference is in the log, and
/// the room moves on: the next command is answered, on SQLite and PostgreSQL.
async fn a_poison_message(database: Database) {
    let env = vec![("EXODUS_TEST_FAILPOINT".to_owned(), "command-panic".to_owned())];
    let t =
        BotRoom::start(BotOptions { database, env, ..BotOptions::default() }, false).await.unwrap();
    t.cmd("!about before").await.unwrap().assert_ok("about");
    let reply = expect_error(&t.user, &t.room, "!about failpoint-panic", &["internal"]).await;
    let reference = reply
        .body
        .split_whitespace()
        .find(|w| w.starts_with("E-"))
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-'))
        .unwrap_or_else(|| panic!("no reference in {:?}", reply.body))
        .to_owned();
    let log = t.bot.log_text();
    assert!(log.contains(&reference), "the reference {reference} is not in the log");
    // The panic hook writes one `panicked at` line a try.
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("panicked at") && l.contains("bot/src/pipeline/"))
            .count(),
        3,
        "tried three times"
    );
    t.cmd("!about after").await.unwrap().assert_ok("about");
    let about = t.cmd("!about").await.unwrap();
    assert_eq!(about.result["about"], "after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_fails_every_time_is_answered_and_passed_over_sqlite() {
    init_tracing();
    a_poison_message(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_fails_every_time_is_answered_and_passed_over_postgres() {
    init_tracing();
    a_poison_message(Database::Postgres).await;
}

/// A message the bot cannot decrypt (here an `m.room.encrypted` event whose session the bot never
/// received): when the wait for its key ends, the sender is told it was not read and not
/// executed, once, and the room answers the next command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecryptable_message_is_answered_when_the_wait_for_its_key_ends() {
    init_tracing();
    let t = BotRoom::start(BotOptions::default(), true).await.unwrap();
    t.cmd("!about before").await.unwrap().assert_ok("about");
    let token = t.user.client.access_token().unwrap();
    let url = format!(
        "{}/_matrix/client/v3/rooms/{}/send/m.room.encrypted/utd-{}",
        t.user.hs.url,
        t.room,
        std::process::id()
    );
    let content = json!({
        "algorithm": "m.megolm.v1.aes-sha2",
        "sender_key": "ORMm7OWtgfFbYEOGro2knVv9uxLrzaSZrHMEcHDy+jw",
        "session_id": "bm8gc3VjaCBzZXNzaW9uIGV4aXN0cyBhbnl3aGVyZSBhdCBhbGw",
        "device_id": "NOSUCHDEVICE",
        "ciphertext": "AwgAEjBV3YyG2C1bTw2WuRkcpxG7vWwUKXaj3o0+7fnJ4RBNNtVYHKNHFxRzb0ZqrEL4FJ6H1f0",
    });
    let response =
        reqwest::Client::new().put(&url).bearer_auth(&token).json(&content).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "sending the undecryptable event: {}",
        response.status()
    );
    let event_id: String =
        response.json::<Value>().await.unwrap()["event_id"].as_str().unwrap().to_owned();
    let event_id: matrix_sdk::ruma::OwnedEventId = event_id.parse().unwrap();
    // The bot waits a minute for the key, then answers.
    let told = t.user.wait_reply(&t.room, &event_id, Duration::from_secs(150)).await.unwrap();
    assert!(told.body.contains("could not decrypt"), "{}", told.body);
    assert_eq!(told.result["ok"], false, "{:#}", told.result);
    t.cmd("!about after").await.unwrap().assert_ok("about");
    assert_eq!(t.user.replies_to(&t.room, &event_id).len(), 1, "told more than once");
}

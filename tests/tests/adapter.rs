//! The Matrix adapter (SPEC §7, §8) against real Synapses: a homeserver restart, HTTP 429 on the
//! bot's sends, login by access token, one device ID across restarts with an encrypted room that
//! keeps working, and the invite policy.
//!
//! Tests fail by panicking so that the bot's log is printed (see `BotProcess`'s `Drop`).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use exodus_e2e::*;
use serde_json::{Value, json};

async fn admin_get(hs: &Homeserver, token: &str, path: &str) -> Value {
    let http = reqwest::Client::new();
    let response = http.get(format!("{}{path}", hs.url)).bearer_auth(token).send().await.unwrap();
    assert!(response.status().is_success(), "GET {path}: {}", response.status());
    response.json().await.unwrap()
}

/// The supervised sync loop outlives its homeserver: Synapse stops, the bot keeps retrying with
/// backoff, Synapse comes back, and a command sent then is answered — as is one sent just before
/// the outage, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_rides_out_a_homeserver_restart() {
    init_tracing();
    let server = PrivateHomeserver::start("restart", 18031).unwrap();
    let mut bot = BotProcess::start_new(&server.hs, BotOptions::default()).await.unwrap();
    let user = TestUser::login(&server.hs, "user").await.unwrap();
    let room = user.create_room_with(&bot.user_id, false).await.unwrap();
    user.command(&room, "!status orange 10").await.unwrap().assert_ok("status");

    server.stop().unwrap();
    // The bot notices (its sync fails) and keeps running.
    let log_path = bot.dir.join("bot.log");
    wait_until(Duration::from_secs(60), "the bot's sync to fail", || async {
        std::fs::read_to_string(&log_path).unwrap_or_default().contains("sync failed").then_some(())
    })
    .await
    .unwrap();
    assert!(bot.is_running(), "the bot exited when its homeserver went away");
    server.restart().unwrap();

    let reply = user.command(&room, "!status orange 20").await.unwrap();
    reply.assert_ok("status");
    assert_eq!(reply.result["requested"], "20.00");
    let again = user.command(&room, "!status").await.unwrap();
    assert_eq!(again.result["requested"], "20.00");
    assert!(bot.is_running());
    bot.stop().await.unwrap();
}

/// HTTP 429: with the bot's messages limited to one a second, a burst of commands is still
/// answered, each exactly once and in order; the burst takes as long as the limit says, so the
/// limit was hit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_replies_are_retried_not_lost_or_doubled() {
    init_tracing();
    let hs = Homeserver::a();
    let bot = BotProcess::start_new(&hs, BotOptions::default()).await.unwrap();
    let user = TestUser::login(&hs, "burst").await.unwrap();
    let room = user.create_room_with(&bot.user_id, false).await.unwrap();
    user.command(&room, "!status").await.unwrap().assert_ok("status");

    let admin = admin_token(&hs).await.unwrap();
    let limit = json!({"messages_per_second": 1, "burst_count": 1});
    let url = format!("{}/_synapse/admin/v1/users/{}/override_ratelimit", hs.url, bot.user_id);
    post_json(&url, Some(&admin), &limit, "override_ratelimit").await.unwrap();

    const BURST: usize = 8;
    let started = Instant::now();
    let mut sent = Vec::new();
    for n in 1..=BURST {
        sent.push((n, user.send_text(&room, &format!("!about burst {n}")).await.unwrap()));
    }
    for (n, event) in &sent {
        let reply = user.wait_reply(&room, event, Duration::from_secs(90)).await.unwrap();
        reply.assert_ok("about");
        assert_eq!(reply.result["about"], format!("burst {n}"));
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(5),
        "{BURST} replies in {elapsed:?}: the rate limit never applied"
    );
    // Nothing doubled, in order.
    let mut last = 0;
    for (_, event) in &sent {
        let replies = user.replies_to(&room, event);
        assert_eq!(replies.len(), 1, "{event}: {} replies", replies.len());
        let at = user.recording().position(&room, &replies[0].event_id).unwrap();
        assert!(at > last, "replies out of order");
        last = at;
    }
    let about = user.command(&room, "!about").await.unwrap();
    assert_eq!(about.result["about"], format!("burst {BURST}"), "the last command applied last");
}

/// Login by access token; the device ID stays the same over restarts (one device on the
/// server), and an encrypted room keeps working after each restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_device_across_restarts_and_encryption_survives_them() {
    init_tracing();
    let hs = Homeserver::a();
    let mut bot =
        BotProcess::start_new(&hs, BotOptions { token_login: true, ..BotOptions::default() })
            .await
            .unwrap();
    assert!(bot.config.password.is_none() && bot.config.access_token.is_some());
    let user = TestUser::login(&hs, "crypto").await.unwrap();
    let room = user.create_room_with(&bot.user_id, true).await.unwrap();
    let admin = admin_token(&hs).await.unwrap();
    let devices_path = format!("/_synapse/admin/v2/users/{}/devices", bot.user_id);
    let device_ids = |devices: &Value| -> Vec<String> {
        let mut ids: Vec<String> = devices["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["device_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let before = device_ids(&admin_get(&hs, &admin, &devices_path).await);
    assert!(before.iter().any(|d| d == BOT_DEVICE_ID), "{before:?}");
    let first = user.command(&room, "!about before").await.unwrap();
    first.assert_ok("about");
    assert!(first.encrypted, "the reply in an encrypted room is encrypted");

    for round in 1..=2 {
        bot.stop().await.unwrap();
        bot.start().await.unwrap();
        let reply = user.command(&room, &format!("!about after restart {round}")).await.unwrap();
        reply.assert_ok("about");
        assert!(reply.encrypted);
        assert_eq!(reply.result["about"], format!("after restart {round}"));
    }
    bot.kill().unwrap();
    bot.start().await.unwrap();
    let reply = user.command(&room, "!about").await.unwrap();
    assert_eq!(
        reply.result["about"], "after restart 2",
        "answered in the encrypted room after SIGKILL"
    );

    // The account's devices (the one registration made, and the bot's) are the same as before:
    // no start logged in a new one.
    let after = device_ids(&admin_get(&hs, &admin, &devices_path).await);
    assert_eq!(after, before, "the bot's devices changed over three starts");
}

/// `invite_policy = "homeservers:<A>"`: an invite from a member of homeserver B is declined, one
/// from homeserver A accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invite_policy_decides_which_invites_are_accepted() {
    init_tracing();
    let (a, b) = (Homeserver::a(), Homeserver::b());
    let policy = format!("homeservers:{}", a.server_name);
    let bot = BotProcess::start_new(
        &a,
        BotOptions { invite_policy: Some(policy), ..BotOptions::default() },
    )
    .await
    .unwrap();
    let far = TestUser::login(&b, "far").await.unwrap();
    let near = TestUser::login(&a, "near").await.unwrap();
    let declined = far
        .create_room(RoomOptions { invite: vec![bot.user_id.clone()], ..RoomOptions::default() })
        .await
        .unwrap();
    far.wait_for(JOIN_TIMEOUT, "the bot to decline", Some(&declined), |r| {
        (r.membership(&declined, &bot.user_id) == Some("leave")).then_some(())
    })
    .await
    .unwrap();
    let accepted = near.create_room_with(&bot.user_id, false).await.unwrap();
    near.command(&accepted, "!status").await.unwrap().assert_ok("status");
    assert_ne!(far.recording().membership(&declined, &bot.user_id), Some("join"));
}

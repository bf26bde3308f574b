//! The monthly cycle (SPEC §4, §3.6) seen from real Matrix clients: a month of an orange circle
//! rolled over with `admin run … as-of`, a red collection that times out, every job run twice, a
//! crash in the middle of the rollover, admin commands refused to others, and two bot processes
//! sharing one PostgreSQL that run each scheduled slot once.
//!
//! Tests fail by panicking so that the bot's log is printed (see `BotProcess`'s `Drop`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use exodus_e2e::*;
use matrix_sdk::ruma::{OwnedRoomId, RoomId};
use serde_json::Value;

/// A bot with an admin, an owner whose circle is the room they created, and its members.
struct Month {
    bot: BotProcess,
    admin: TestUser,
    /// The admin's DM with the bot, where admin commands are sent.
    admin_dm: OwnedRoomId,
    owner: TestUser,
    room: OwnedRoomId,
}

impl Month {
    async fn start(options: BotOptions, need: &str) -> Month {
        init_tracing();
        let hs = Homeserver::a();
        let admin = TestUser::login(&hs, "admin").await.unwrap();
        let options = BotOptions { admins: vec![admin.user_id.to_string()], ..options };
        let bot = BotProcess::start_new(&hs, options).await.unwrap();
        let admin_dm = admin.create_dm_with(&bot.user_id).await.unwrap();
        let owner = TestUser::login(&hs, "owner").await.unwrap();
        let room = owner.create_room_with(&bot.user_id, false).await.unwrap();
        owner.command(&room, "!circle open").await.unwrap().assert_ok("circle");
        owner.command(&room, &format!("!status {need}")).await.unwrap().assert_ok("status");
        Month { bot, admin, admin_dm, owner, room }
    }

    async fn member(&self, name: &str) -> TestUser {
        let user = TestUser::login(&Homeserver::a(), name).await.unwrap();
        self.owner.bring_in(&self.room, &user).await.unwrap();
        user
    }

    /// `admin run <job> as-of <at>`; the result.
    async fn run(&self, job: &str, at: chrono::DateTime<Utc>) -> Value {
        let command =
            format!("!admin run {job} as-of {}", at.to_rfc3339_opts(SecondsFormat::Secs, true));
        let reply = self.admin.command(&self.admin_dm, &command).await.unwrap();
        reply.assert_ok("admin");
        assert_eq!(reply.result["job"], job);
        reply.result
    }
}

fn id(result: &Value) -> i64 {
    result["id"].as_i64().unwrap_or_else(|| panic!("no id in {result:#}"))
}

/// The notices in `room` whose result has a list under `key`, in order.
fn digests(user: &TestUser, room: &RoomId, key: &str) -> Vec<Value> {
    user.recording()
        .events(room)
        .iter()
        .filter(|e| e.is_bot_notice())
        .filter_map(|e| e.exodus_result().filter(|r| r[key].is_array()).map(|r| r[key].clone()))
        .collect()
}

/// Waits for a digest under `key` in `user`'s DM with the bot; its items as (change, id).
async fn wait_digest(user: &TestUser, bot: &str, key: &str) -> (OwnedRoomId, Vec<(String, i64)>) {
    let dm = user.dm_room_with(bot, REPLY_TIMEOUT).await.unwrap();
    let notice = user
        .wait_notice(&dm, REPLY_TIMEOUT, &format!("a {key} digest"), |r| r[key].is_array())
        .await
        .unwrap();
    let items = notice.result[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["change"].as_str().unwrap().to_owned(), i["id"].as_i64().unwrap()))
        .collect();
    (dm, items)
}

/// A round trip through the bot: everything it queued before answering has been sent.
async fn settle(user: &TestUser, room: &RoomId) {
    user.command(room, "!help").await.unwrap().assert_ok("help");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_of_an_orange_circle() {
    let m = Month::start(BotOptions::default(), "orange 300").await;
    let (bob, carol, dave) =
        (m.member("bob").await, m.member("carol").await, m.member("dave").await);
    let bot = m.bot.user_id.clone();

    // December: Bob intends and commits, pays, and the owner confirms; Carol only intends; Dave
    // promises directly and never pays.
    let bob_intention =
        id(&bob.command(&m.room, "!intend 100").await.unwrap().assert_ok("intend").result);
    let carol_intention =
        id(&carol.command(&m.room, "!intend 50").await.unwrap().assert_ok("intend").result);
    let bob_obligation = id(&bob
        .command(&m.room, &format!("!commit #{bob_intention}"))
        .await
        .unwrap()
        .assert_ok("commit")
        .result);
    bob.command(&m.room, &format!("!paid #{bob_obligation}")).await.unwrap().assert_ok("paid");
    m.owner
        .command(&m.room, &format!("!confirm #{bob_obligation}"))
        .await
        .unwrap()
        .assert_ok("confirm");
    let dave_obligation =
        id(&dave.command(&m.room, "!commit 40").await.unwrap().assert_ok("commit").result);

    // Someone who is no admin is refused, and nothing runs.
    let refused =
        bob.command(&m.room, "!admin run rollover as-of 2027-01-01T00:05:00Z").await.unwrap();
    refused.assert_error("forbidden");
    refused.assert_usage();
    bob.command(&m.room, "!admin stats").await.unwrap().assert_error("forbidden");
    // Bad input from the admin: a clear error, nothing run.
    for bad in [
        "!admin run",
        "!admin run payday",
        "!admin run rollover as-of yesterday",
        "!admin run rollover as-of",
        "!admin",
    ] {
        m.admin
            .command(&m.admin_dm, bad)
            .await
            .unwrap()
            .assert_error("bad_arguments")
            .assert_usage();
    }
    let stats = m.admin.command(&m.admin_dm, "!admin stats").await.unwrap();
    stats.assert_ok("admin");
    assert!(
        stats.result["jobs"].as_array().unwrap().iter().all(|j| j["manual"] == false),
        "no admin run yet: {:#}",
        stats.result
    );

    // Three days before the end of December: the month-end reminder, to Dave only (Bob's is
    // fulfilled, Carol's is an intention). Twice: one reminder.
    let reminders = m.run("reminders", "2026-12-29T09:00:00Z".parse().unwrap()).await;
    assert_eq!(
        (reminders["reminded"].as_u64(), reminders["messages"].as_u64()),
        (Some(1), Some(1)),
        "{reminders:#}"
    );
    let (dave_dm, items) = wait_digest(&dave, &bot, "reminders").await;
    assert_eq!(items, [("due".to_owned(), dave_obligation)]);
    let again = m.run("reminders", "2026-12-29T15:00:00Z".parse().unwrap()).await;
    assert_eq!(again["messages"], 0, "{again:#}");

    // The turn of the month.
    let at: chrono::DateTime<Utc> = "2027-01-01T00:05:00Z".parse().unwrap();
    let rollover = m.run("rollover", at).await;
    assert_eq!(
        (
            rollover["expired"].as_u64(),
            rollover["renewed"].as_u64(),
            rollover["overdue"].as_u64(),
            rollover["messages"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(4)),
        "{rollover:#}"
    );
    // Each party hears of its own records only.
    let (_, carol_items) = wait_digest(&carol, &bot, "rollover").await;
    assert_eq!(carol_items, [("expired".to_owned(), carol_intention)]);
    let (_, bob_items) = wait_digest(&bob, &bot, "rollover").await;
    assert_eq!(bob_items.len(), 1, "{bob_items:?}");
    assert_eq!(bob_items[0].0, "renewed");
    let renewal = bob_items[0].1;
    assert!(renewal > dave_obligation, "a new intention: {renewal}");
    let (_, dave_items) = wait_digest(&dave, &bot, "rollover").await;
    assert_eq!(dave_items, [("overdue".to_owned(), dave_obligation)]);
    let (owner_dm, owner_items) = wait_digest(&m.owner, &bot, "rollover").await;
    let mut expected = vec![
        ("expired".to_owned(), carol_intention),
        ("renewed".to_owned(), renewal),
        ("overdue".to_owned(), dave_obligation),
    ];
    expected.sort_by_key(|(change, _)| {
        ["expired", "renewed", "overdue"].iter().position(|c| c == change)
    });
    assert_eq!(owner_items, expected);

    // The same job again: nothing more changes, nothing more is sent.
    let again = m.run("rollover", at + chrono::Duration::hours(2)).await;
    assert_eq!(
        (
            again["expired"].as_u64(),
            again["renewed"].as_u64(),
            again["overdue"].as_u64(),
            again["messages"].as_u64()
        ),
        (Some(0), Some(0), Some(0), Some(0))
    );
    settle(&m.owner, &m.room).await;
    settle(&dave, &dave_dm).await;
    assert_eq!(digests(&m.owner, &owner_dm, "rollover").len(), 1, "one digest for the owner");
    assert_eq!(digests(&dave, &dave_dm, "rollover").len(), 1, "one digest for Dave");

    // The records as the circle shows them now.
    let circle =
        m.owner.command(&m.room, "!circle").await.unwrap().assert_ok("circle").result.clone();
    let state = |record: i64| {
        circle["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == record)
            .map(|r| r["state"].as_str().unwrap().to_owned())
    };
    assert_eq!(state(renewal).as_deref(), Some("active"), "{circle:#}");
    assert_eq!(state(dave_obligation).as_deref(), Some("overdue"), "{circle:#}");
    assert_eq!(
        state(carol_intention),
        None,
        "an expired intention is no longer in the circle: {circle:#}"
    );
    // The renewal is Bob's to commit or withdraw, like any intention.
    bob.command(&m.room, &format!("!commit #{renewal}")).await.unwrap().assert_ok("commit");

    // Reliability figures: in the profile and in `archive overdue`.
    let dave_status = dave.command(&m.room, "!status").await.unwrap();
    assert_eq!(
        dave_status.result["reliability"],
        serde_json::json!({"fulfilled": 0, "overdue": 1, "forgiven": 0})
    );
    let bob_status = bob.command(&m.room, "!status").await.unwrap();
    assert_eq!(
        bob_status.result["reliability"],
        serde_json::json!({"fulfilled": 1, "overdue": 0, "forgiven": 0})
    );
    let archive = dave.command(&dave_dm, "!archive overdue").await.unwrap();
    archive.assert_ok("archive");
    assert_eq!(archive.result["reliability"]["overdue"], 1, "{:#}", archive.result);
    // Paid late and forgiven: the figures follow.
    dave.command(&m.room, &format!("!paid #{dave_obligation}")).await.unwrap().assert_ok("paid");
    m.owner
        .command(&m.room, &format!("!forgive #{dave_obligation}"))
        .await
        .unwrap()
        .assert_ok("forgive");
    let dave_status = dave.command(&m.room, "!status").await.unwrap();
    assert_eq!(
        dave_status.result["reliability"],
        serde_json::json!({"fulfilled": 0, "overdue": 1, "forgiven": 1})
    );

    // `admin stats`: the counts and the admin's runs.
    let stats = m.admin.command(&m.admin_dm, "!admin stats").await.unwrap();
    stats.assert_ok("admin");
    let counts = &stats.result["counts"];
    assert!(
        counts["members"].as_i64().unwrap() >= 1
            && counts["circles"] == 1
            && counts["records"] == 4,
        "{counts:#}"
    );
    assert_eq!(counts["outbox_failed"], 0, "no message was refused: {counts:#}");
    let jobs = stats.result["jobs"].as_array().unwrap();
    let manual = |job: &str| jobs.iter().find(|j| j["job"] == job && j["manual"] == true).cloned();
    let rollover_run =
        manual("rollover").unwrap_or_else(|| panic!("no admin rollover in {jobs:#?}"));
    assert_eq!(rollover_run["runner"], m.admin.user_id.as_str());
    assert_eq!(
        rollover_run["slot"], "2027-01-01T02:05:00Z",
        "the last admin run is shown: {rollover_run:#}"
    );
    assert!(manual("reminders").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_red_collection_that_times_out() {
    let m = Month::start(BotOptions::default(), "orange 200").await;
    // From orange into an emergency of 500 within 3 days; orange comes back after it.
    m.owner.command(&m.room, "!status red 500 3").await.unwrap().assert_ok("status");
    let (bob, carol) = (m.member("bob").await, m.member("carol").await);
    let bot = m.bot.user_id.clone();
    let bob_obligation =
        id(&bob.command(&m.room, "!commit 100").await.unwrap().assert_ok("commit").result);
    bob.command(&m.room, &format!("!paid #{bob_obligation}")).await.unwrap().assert_ok("paid");
    m.owner
        .command(&m.room, &format!("!confirm #{bob_obligation}"))
        .await
        .unwrap()
        .assert_ok("confirm");
    let carol_obligation =
        id(&carol.command(&m.room, "!commit 50").await.unwrap().assert_ok("commit").result);
    let deadline: chrono::DateTime<Utc> = m.owner.command(&m.room, "!status").await.unwrap().result
        ["deadline"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // The daily reminder while the collection runs: Carol's open obligation, to Carol.
    let reminders = m.run("reminders", deadline - chrono::Duration::days(1)).await;
    assert_eq!(
        (reminders["reminded"].as_u64(), reminders["messages"].as_u64()),
        (Some(1), Some(1)),
        "{reminders:#}"
    );
    let (_, items) = wait_digest(&carol, &bot, "reminders").await;
    assert_eq!(items, [("due".to_owned(), carol_obligation)]);

    // An hour before the deadline nothing ends; after it, the collection ends once.
    let early = m.run("deadlines", deadline - chrono::Duration::hours(1)).await;
    assert_eq!(
        (early["collections_ended"].as_u64(), early["overdue"].as_u64()),
        (Some(0), Some(0)),
        "{early:#}"
    );
    let ended = m.run("deadlines", deadline + chrono::Duration::hours(1)).await;
    assert_eq!(
        (ended["collections_ended"].as_u64(), ended["overdue"].as_u64()),
        (Some(1), Some(1)),
        "{ended:#}"
    );
    let again = m.run("deadlines", deadline + chrono::Duration::hours(2)).await;
    assert_eq!(
        (
            again["collections_ended"].as_u64(),
            again["overdue"].as_u64(),
            again["messages"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );

    // The owner hears of it by DM and the circle in its room: 100 of 500, back to orange.
    let owner_dm = m.owner.dm_room_with(&bot, REPLY_TIMEOUT).await.unwrap();
    let ended_notice = |r: &Value| r["notice"] == "collection-ended";
    for (user, room) in [(&m.owner, &owner_dm), (&m.owner, &m.room), (&carol, &m.room)] {
        let notice = user
            .wait_notice(room, REPLY_TIMEOUT, "the collection's end", ended_notice)
            .await
            .unwrap();
        assert_eq!(
            (notice.result["collected"].as_str(), notice.result["requested"].as_str()),
            (Some("100.00"), Some("500.00"))
        );
        assert_eq!(notice.result["status"], "orange");
    }
    let status = m.owner.command(&m.room, "!status").await.unwrap();
    assert_eq!(
        (status.result["status"].as_str(), status.result["requested"].as_str()),
        (Some("orange"), Some("200.00")),
        "{:#}",
        status.result
    );
    // Carol's obligation stays payable, now overdue; she is told so.
    let (carol_dm, items) = wait_digest(&carol, &bot, "deadlines").await;
    assert_eq!(items, [("overdue".to_owned(), carol_obligation)]);
    carol.command(&m.room, &format!("!paid #{carol_obligation}")).await.unwrap().assert_ok("paid");
    settle(&carol, &carol_dm).await;
    let count = |user: &TestUser, room: &RoomId| {
        user.recording()
            .events(room)
            .iter()
            .filter(|e| e.exodus_result().is_some_and(ended_notice))
            .count()
    };
    assert_eq!(count(&m.owner, &owner_dm), 1, "one notice of the end for the owner");
    assert_eq!(count(&m.owner, &m.room), 1, "one announcement in the circle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_in_the_middle_of_rollover_loses_and_doubles_nothing() {
    let mut m = Month::start(BotOptions::default(), "orange 300").await;
    let bob = m.member("bob").await;
    let bot = m.bot.user_id.clone();
    let intention =
        id(&bob.command(&m.room, "!intend 30").await.unwrap().assert_ok("intend").result);
    let obligation =
        id(&bob.command(&m.room, "!commit 20").await.unwrap().assert_ok("commit").result);

    // The bot dies after the rollover's statements, before its commit.
    m.bot.stop().await.unwrap();
    m.bot.env = vec![("EXODUS_TEST_FAILPOINT".into(), "rollover-before-commit".into())];
    m.bot.start().await.unwrap();
    let command = m
        .admin
        .send_text(&m.admin_dm, "!admin run rollover as-of 2027-01-01T00:05:00Z")
        .await
        .unwrap();
    let status = m.bot.wait_exit(REPLY_TIMEOUT).await.unwrap();
    assert!(!status.success(), "the failpoint aborts the process: {status}");
    assert!(m.bot.log_tail(200).contains("test failpoint reached"), "{}", m.bot.log_tail(40));

    // Back without the failpoint: the command is caught up and runs once, as if nothing happened.
    m.bot.env.clear();
    m.bot.start().await.unwrap();
    let reply = m.admin.wait_reply(&m.admin_dm, &command, REPLY_TIMEOUT).await.unwrap();
    reply.assert_ok("admin");
    assert_eq!(
        (
            reply.result["expired"].as_u64(),
            reply.result["overdue"].as_u64(),
            reply.result["messages"].as_u64()
        ),
        (Some(1), Some(1), Some(2)),
        "{:#}",
        reply.result
    );
    let (bob_dm, items) = wait_digest(&bob, &bot, "rollover").await;
    let mut expected = vec![("expired".to_owned(), intention), ("overdue".to_owned(), obligation)];
    expected.sort();
    let mut items = items;
    items.sort();
    assert_eq!(items, expected);
    settle(&bob, &bob_dm).await;
    settle(&m.admin, &m.admin_dm).await;
    assert_eq!(m.admin.replies_to(&m.admin_dm, &command).len(), 1, "answered once");
    assert_eq!(digests(&bob, &bob_dm, "rollover").len(), 1, "one digest");
}

/// Two processes of one bot on one PostgreSQL: every scheduled slot is run by exactly one of
/// them, and a command is answered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_run_each_slot_once() {
    init_tracing();
    let schedules =
        vec![("reminders", "*/2 * * * * *".to_owned()), ("deadlines", "*/3 * * * * *".to_owned())];
    let options = BotOptions { database: Database::Postgres, schedules, ..Default::default() };
    let m = Month::start(options, "red 300 5").await;
    let second = m.bot.second_process("EXODUSBOT2").await.unwrap();
    let bob = m.member("bob").await;
    let obligation =
        id(&bob.command(&m.room, "!commit 25").await.unwrap().assert_ok("commit").result);
    // The scheduled daily reminder reaches Bob, once, whichever process ran it.
    let (bob_dm, items) = wait_digest(&bob, &m.bot.user_id, "reminders").await;
    assert_eq!(items, [("due".to_owned(), obligation)]);
    // Commands still get one answer with two processes syncing.
    let event = bob.send_text(&m.room, "!status").await.unwrap();
    bob.wait_reply(&m.room, &event, REPLY_TIMEOUT).await.unwrap().assert_ok("status");
    // Let both run for a while, then stop them and count.
    tokio::time::sleep(Duration::from_secs(12)).await;
    settle(&bob, &bob_dm).await;
    assert_eq!(bob.replies_to(&m.room, &event).len(), 1, "one reply with two processes");
    assert_eq!(
        digests(&bob, &bob_dm, "reminders").len(),
        1,
        "one reminder a day, however often the job runs"
    );
    let mut m = m;
    let mut second = second;
    m.bot.stop().await.unwrap();
    second.stop().await.unwrap();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&m.bot.config.database_url)
        .await
        .unwrap();
    for job in ["reminders", "deadlines"] {
        let done = format!("job done job=\"{job}\"");
        let (a, b) =
            (m.bot.log_text().matches(&done).count(), second.log_text().matches(&done).count());
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT runner FROM job_runs WHERE job = $1 AND finished_ms IS NOT NULL AND summary <> 'scheduler started'")
                .bind(job)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert!(rows.len() >= 3, "{job}: only {} runs in 12 s", rows.len());
        // Every run a process did is one finished slot: no slot was run twice.
        assert_eq!(
            a + b,
            rows.len(),
            "{job}: the processes ran {a} + {b} times, {} slots finished",
            rows.len()
        );
        let by_second = rows.iter().filter(|(runner,)| runner.starts_with("EXODUSBOT2/")).count();
        assert_eq!(by_second, b, "{job}: {rows:?}");
    }
}
